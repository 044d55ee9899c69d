"""The command line loads heavy modules only in the commands that use them (issue 18)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    "dask_geopandas",
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
#: Modules that the in-memory analysis (pipeline, workspace, export) must not load.
ENGINES = ("dask", "dask_geopandas", "distributed", "weasyprint", "matplotlib", "folium")


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


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert _loaded_after("import geo_service.cli", HEAVY) == []


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
