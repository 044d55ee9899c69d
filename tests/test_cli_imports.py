"""The command line loads heavy modules only in the commands that use them (issue 18)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

#: Modules that '--help' must not load: the data stack, the settings and every optional engine.
HEAVY = (
    "pandas",
    "geopandas",
    "numpy",
    "shapely",
    "pyproj",
    "pyogrio",
    "rasterio",
    "pydantic",
    "dask",
    "distributed",
    "weasyprint",
    "matplotlib",
    "folium",
    "fastapi",
    "uvicorn",
    "psycopg",
    "exactextract",
    "h3",
)
#: Modules that the in-memory analysis (pipeline, workspace, export) must not load (scipy:
#: only when a road network is analysed).
ENGINES = (
    "dask",
    "distributed",
    "weasyprint",
    "matplotlib",
    "folium",
    "scipy",
)


def _loaded_after(code: str, candidates: tuple[str, ...]) -> list[str]:
    """Run ``code`` in a fresh interpreter; the ``candidates`` it left in ``sys.modules``."""
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {list(candidates)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


#: The import workers' module (multiprocessing, ctypes, sockets): only for the imports.
WORKERS = ("geo_service.bounded", "multiprocessing")


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert _loaded_after("import geo_service.cli", (*HEAVY, *WORKERS)) == []


@pytest.mark.parametrize("args", [["--help"], ["analyze", "--help"], ["opinion", "--help"]])
def test_help_loads_no_heavy_module(args: list[str]) -> None:
    # Typer itself loads pydantic to check the ranges of a command's numeric options.
    heavy = HEAVY if args == ["--help"] else tuple(m for m in HEAVY if m != "pydantic")
    code = (
        "from geo_service.cli import app\n"
        "try:\n"
        f"    app({args!r}, prog_name='geo-service')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    )
    assert _loaded_after(code, heavy) == []


def test_in_memory_analysis_loads_no_optional_engine() -> None:
    code = "import geo_service.pipeline, geo_service.workspace, geo_service.export"
    assert _loaded_after(code, ENGINES) == []


def test_analyze_on_the_store_checks_for_national_premises_without_dask(tmp_path: Path) -> None:
    """'geo-service analyze' looks for GeoParquet premises on every run, without loading dask."""
    code = (
        "from pathlib import Path\n"
        "from geo_service.cli import _check_premises_in_store\n"
        "from geo_service.settings import Settings\n"
        "from geo_service.store import GeoPackageStore\n"
        f"root = Path({str(tmp_path)!r})\n"
        "_check_premises_in_store(GeoPackageStore(root), Settings(data_dir=root))\n"
    )
    assert _loaded_after(code, ENGINES) == []


def test_analyze_on_the_store_loads_neither_an_engine_nor_the_opinions(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    """'geo-service analyze --top 0' (no flagged zone printed) loads no opinion module, no
    import worker, no file reader, validation nor export, and no scipy without a road
    network."""
    from geo_service import pipeline
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="t"))
    store.write_layer("premises", premises, pipeline.layer_meta("premises", source="t"))
    code = (
        "from geo_service.cli import app\n"
        "try:\n"
        f"    app(['analyze', '--top', '0', '--data-dir', {str(tmp_path)!r}], prog_name='g')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    )
    files = ("geo_service.sources", "geo_service.validation", "geo_service.export")  # not --out
    assert _loaded_after(code, (*ENGINES, *WORKERS, *files, "geo_service.opinions")) == []
    assert store.has_layer(pipeline.ZONE_RESULTS)


def test_invalid_setting_is_still_one_line(tmp_path: Path) -> None:
    """Pydantic is imported lazily: its errors are still reported without a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "geo_service", "layers"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"GEO_SERVICE_PORT": "not-a-port", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr
    assert "invalid setting" in done.stderr
    assert "Traceback" not in done.stderr


#: Modules the API loads only for the routes that draw or print.
DRAWING = ("matplotlib", "folium", "branca", "weasyprint")


def test_the_api_loads_drawing_modules_only_for_the_routes_that_need_them(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    from geo_service import pipeline
    from geo_service.settings import AnalysisParams
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="t"))
    store.write_layer("premises", premises, pipeline.layer_meta("premises", source="t"))
    pipeline.analyze_store(store, AnalysisParams())
    code = (
        "from pathlib import Path\n"
        "from fastapi.testclient import TestClient\n"
        "from geo_service.api import create_app\n"
        "from geo_service.api.app import warm_up\n"
        "from geo_service.settings import Settings\n"
        f"app = create_app(Settings(data_dir=Path({str(tmp_path)!r}), database_url=None))\n"
        "warm_up(app)\n"
        "client = TestClient(app)\n"
        "for path in ('/healthz', '/collections/zones/items?limit=2', '/zones/A',\n"
        "             '/zones/A/opinion?f=json', '/maps/territory/zones?bbox=-5,41,10,52&q=a'):\n"
        "    assert client.get(path).status_code == 200, path\n"
        "served = [m for m in DRAWING if m in sys.modules]\n"
        "assert client.get('/maps/territory').status_code == 200\n"
        "mapped = [m for m in DRAWING if m in sys.modules]\n"
        "assert client.get('/zones/A/opinion?f=html').status_code == 200\n"
        "drawn = [m for m in DRAWING if m in sys.modules]\n"
        "print(json.dumps([served, mapped, drawn]))\n"
    )
    probe = f"import json, sys\nDRAWING = {list(DRAWING)!r}\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    served, mapped, drawn = json.loads(done.stdout.strip().splitlines()[-1])
    assert served == []
    assert "folium" in mapped
    assert "matplotlib" not in mapped
    assert "matplotlib" in drawn
    assert "weasyprint" not in drawn


def test_the_server_front_loads_neither_the_application_nor_the_data_stack() -> None:
    """'geo-service serve' listens (and answers /healthz) before the application is loaded."""
    code = "import geo_service.api.starting, geo_service.api.server"
    assert _loaded_after(code, (*HEAVY[:8], "fastapi", "geo_service.api.app")) == []


def test_the_api_builds_the_cql2_text_grammar_on_the_first_text_filter() -> None:
    code = (
        "import geo_service.api.app\n"
        "loaded = 'pygeofilter.parsers.cql2_text' in sys.modules\n"
        "from geo_service.cql import parse_filter\n"
        "from geo_service.crs import CRS84\n"
        "parse_filter(\"name = 'a'\", None, CRS84, {'name': 'string'})\n"
        "assert not loaded and 'pygeofilter.parsers.cql2_text' in sys.modules\n"
    )
    assert _loaded_after(code, ("lark",)) == ["lark"]


def test_a_failed_import_worker_is_reported_as_it_raised() -> None:
    """The CLI names a worker's failure without importing the workers' module itself."""
    from geo_service.bounded import WorkerFailureError
    from geo_service.cli import _failure

    assert _failure(WorkerFailureError("ValueError", "boom")) == "ValueError: boom"
    assert _failure(KeyError("x")) == "KeyError: 'x'"


#: What 'geo-service import' loads itself while the workers' fork server loads it too (not
#: pydantic, which Typer loads to run a command).
IMPORTERS = (
    "pandas",
    "geopandas",
    "pyogrio",
    "geo_service.pipeline",
    "geo_service.store",
    "geo_service.sources.formats",
    "geo_service.validation",
)


def test_the_import_command_starts_the_fork_server_before_loading_the_importers(
    tmp_path: Path, zones: gpd.GeoDataFrame
) -> None:
    """'geo-service import' starts the workers' fork server first, with every module it
    preloads named, and loads the importers itself only then: both interpreters import at
    once. The moment is that of the fork server's creation (multiprocessing.util's spawn)."""
    from geo_service.format_modules import FORMAT_MODULES

    path = tmp_path / "zones.gpkg"
    zones.to_file(path)
    code = (
        "import json, os, sys\n"
        "import multiprocessing.util as util\n"
        "spawned = []\n"
        "spawn = util.spawnv_passfds\n"
        "def recorded(path, args, passfds):\n"
        f"    loaded = [m for m in {list(IMPORTERS)!r} if m in sys.modules]\n"
        "    spawned.append((' '.join(map(os.fsdecode, args)), loaded))\n"
        "    return spawn(path, args, passfds)\n"
        "util.spawnv_passfds = recorded\n"
        "from geo_service.cli import app\n"
        "try:\n"
        f"    app(['import', 'zones', {str(path)!r}, '--data-dir', {str(tmp_path / 'd')!r}],\n"
        "        prog_name='geo-service')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(json.dumps([s for s in spawned if 'forkserver' in s[0]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Layer 'zones' replaced" in done.stdout
    ((command, loaded),) = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []
    preloaded = ["geo_service.pipeline", "geo_service.store", "geo_service.import_worker"]
    missing = [m for m in (*preloaded, *FORMAT_MODULES) if repr(m) not in command]
    assert missing == []
