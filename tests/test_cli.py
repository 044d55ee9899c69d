"""The geo-service command line: analyse files or the store, exports, errors without tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import point
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.analysis import analyze
from geo_service.cli import app
from geo_service.export import export_results, read_exported_metadata

runner = CliRunner(env={"COLUMNS": "200"})
RESULT_COLUMNS = [
    "zone_id",
    "name",
    "area_ha",
    "premises",
    "locaux",
    "share_bhd8",
    "share_thd30",
    "share_thd100",
    "share_thd1g",
    "share_ftth",
    "raster_share_thd30",
    "raster_valid_share",
    "available_land_ha",
    "available_plots",
    "status",
    "priority",
    "reasons",
]


@pytest.fixture
def files(tmp_path: Path, zones, premises, coverage) -> dict[str, Path]:
    import rasterio

    paths = {
        "zones": tmp_path / "zones.geojson",
        "premises": tmp_path / "premises.gpkg",
        "raster": tmp_path / "coverage.tif",
    }
    zones.to_crs(4326).to_file(paths["zones"], driver="GeoJSON")
    premises.assign(ftth=premises["ftth"].astype("boolean")).to_file(paths["premises"])
    with rasterio.open(
        paths["raster"],
        "w",
        driver="GTiff",
        width=10,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:2154",
        transform=coverage.transform,
        nodata=float("nan"),
    ) as dst:
        dst.write(coverage.data, 1)
    return paths


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_analyze_files_to_csv_gives_one_row_per_zone(tmp_path: Path, files) -> None:
    out = tmp_path / "results.csv"
    result = invoke(
        "analyze",
        "--zones",
        str(files["zones"]),
        "--premises",
        str(files["premises"]),
        "--raster",
        str(files["raster"]),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"zone_id": str})
    assert list(table["zone_id"]) == ["A", "B", "C", "D"]
    assert all(column in table.columns for column in RESULT_COLUMNS)
    assert table.set_index("zone_id")["status"].to_dict() == {
        "A": "underserved",
        "B": "underserved",
        "C": "unserved",
        "D": "underserved",
    }
    meta = read_exported_metadata(out)
    assert meta["params"]["served_thd30_share"] == 0.95
    assert set(meta["inputs"]) == {"zones", "premises", "coverage"}
    assert meta["inputs"]["zones"]["source"] == "zones.geojson"
    assert meta["inputs"]["zones"]["data_date"] is not None
    assert "Zones signalées par priorité" in result.output


def test_thresholds_from_the_command_line(tmp_path: Path, files) -> None:
    out = tmp_path / "results.csv"
    result = invoke(
        "analyze",
        "--zones",
        str(files["zones"]),
        "--premises",
        str(files["premises"]),
        "--served-thd30-share",
        "0.7",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out).set_index("zone_id")
    assert table.loc["A", "status"] == "served"
    assert table.loc["D", "status"] == "served"
    assert read_exported_metadata(out)["params"]["served_thd30_share"] == 0.7


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_exports_by_extension(tmp_path: Path, files, suffix: str) -> None:
    out = tmp_path / f"results{suffix}"
    result = invoke(
        "analyze",
        "--zones",
        str(files["zones"]),
        "--premises",
        str(files["premises"]),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    frame = gpd.read_parquet(out) if suffix == ".parquet" else gpd.read_file(out, layer=0)
    assert len(frame) == 4
    assert set(RESULT_COLUMNS) <= set(frame.columns)
    expected_crs = "OGC:CRS84" if suffix == ".geojson" else "EPSG:2154"
    assert frame.crs.equals(expected_crs) or frame.crs.to_epsg() in (4326, 2154)
    assert read_exported_metadata(out)["params"]["unserved_bhd8_share"] == 0.5
    if suffix == ".geojson":
        data = json.loads(out.read_text())
        ring = data["features"][0]["geometry"]["coordinates"][0]
        assert all(len(str(c).split(".")[-1]) <= 6 for xy in ring for c in xy)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv", ".parquet"])
def test_exports_keep_the_optional_columns_and_their_layers(
    tmp_path: Path, zones, premises, suffix: str
) -> None:
    statistics = pd.DataFrame(
        {"commune_insee": ["13002"], "share_bhd8": [0.9], "share_thd30": [0.6], "period": ["T1"]}
    )
    sites = gpd.GeoDataFrame(
        {"operator_code": ["ORA"], "site_4g": [True]}, geometry=[point(50, 50)], crs="EPSG:2154"
    )
    inputs = {
        name: pipeline.layer_meta(name, source=f"{name}.csv")
        for name in ("zones", "premises", "commune_coverage", "mobile_sites")
    }
    result = analyze(
        zones, premises, commune_coverage=statistics, mobile_sites=sites, inputs=inputs
    )
    optional = ["commune_share_thd30", "commune_period", "mobile_4g_sites_1km"]
    assert set(optional) <= set(result.zones.columns)
    out = export_results(result, tmp_path / f"results{suffix}")
    if suffix == ".csv":
        frame = pd.read_csv(out)
    elif suffix == ".parquet":
        frame = gpd.read_parquet(out)
    else:
        frame = gpd.read_file(out, layer=0)
    assert set(optional) <= set(frame.columns)
    assert frame.set_index("zone_id").loc["C", "commune_period"] == "T1"
    assert set(read_exported_metadata(out)["inputs"]) == set(inputs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--zones", "{premises}", "--premises", "{premises}"],
            "missing required column(s) 'zone_id', 'name'",
        ),
        (["--zones", "{zones}", "--premises", "{missing}"], "file not found"),
        (["--zones", "{zones}"], "analysing files needs both --zones and --premises"),
        (
            ["--zones", "{zones}", "--premises", "{premises}", "--out", "{dir}/r.xlsx"],
            "unsupported extension; expected one of .gpkg, .geojson, .csv, .parquet",
        ),
        (
            ["--zones", "{zones}", "--premises", "{premises}", "--raster", "{zones}"],
            "cannot be read as a raster",
        ),
    ],
    ids=["wrong-layer", "missing-file", "no-premises", "bad-out", "bad-raster"],
)
def test_bad_input_exits_with_a_one_paragraph_error(tmp_path, files, args, message) -> None:
    values = {
        **{k: str(v) for k, v in files.items()},
        "missing": str(tmp_path / "nope.gpkg"),
        "dir": str(tmp_path),
    }
    result = runner.invoke(app, ["analyze", *(a.format(**values) for a in args)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_threshold_out_of_range_is_refused() -> None:
    result = runner.invoke(app, ["analyze", "--served-thd30-share", "1.5"])
    assert result.exit_code == 2
    assert "--served-thd30-share" in result.output


def test_analyze_on_an_empty_store_builds_the_demo_and_lists_flagged_zones(data_dir: Path) -> None:
    result = invoke("analyze", "--top", "5")
    assert result.exit_code == 0, result.output
    assert "building the synthetic demo territory" in result.output
    assert "Données synthétiques" in result.output
    assert "Zones signalées par priorité (5 premières sur" in result.output
    assert "des locaux sans très haut débit" in " ".join(result.output.split()) or (
        "statut estimé" in result.output
    )
    layers = invoke("layers")
    for name in ("zones", "premises", "land", "communes", "coverage", "zone_results"):
        assert name in layers.output
    coverage_row = next(line for line in layers.output.splitlines() if " coverage " in line)
    assert "pixels" in coverage_row
    assert "features" not in coverage_row
    zones_row = next(line for line in layers.output.splitlines() if " zones " in line)
    assert "60 features" in zones_row


def test_layers_prints_titles_as_text_not_markup(data_dir: Path) -> None:
    from geo_service.model import LayerMeta
    from geo_service.settings import Settings
    from geo_service.store import open_store

    store = open_store(Settings(data_dir=data_dir, database_url=None))
    frame = gpd.GeoDataFrame(
        {"zone_id": ["Z1"], "name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:2154"
    )
    meta = LayerMeta(name="zones", kind="vector", title="Zones [v2] [bold]x[/bold]", source="s")
    store.write_layer("zones", frame, meta)
    output = invoke("layers").output
    assert "[v2]" in output
    assert "[bold]x[/bold]" in output


def test_import_then_analyze_the_store(data_dir: Path, files) -> None:
    assert invoke("import", "zones", str(files["zones"]), "--date", "2025-06-30").exit_code == 0
    assert invoke("import", "premises", str(files["premises"])).exit_code == 0
    assert invoke("import", "coverage", str(files["raster"])).exit_code == 0
    result = invoke("analyze", "--out", str(data_dir.parent / "out.geojson"))
    assert result.exit_code == 0, result.output
    meta = read_exported_metadata(data_dir.parent / "out.geojson")
    assert meta["inputs"]["zones"]["data_date"] == "2025-06-30"
    assert meta["synthetic"] is False


def test_refused_import_leaves_the_store_unchanged(data_dir: Path, files, tmp_path) -> None:
    assert invoke("import", "zones", str(files["zones"])).exit_code == 0
    before = (data_dir / "store" / "zones.gpkg").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("zone_id,name,lon,lat\nz,Z,-70,45\n")
    result = runner.invoke(app, ["import", "zones", str(bad)])
    assert result.exit_code == 2
    assert "Point geometries" in result.output or "outside metropolitan France" in result.output
    assert (data_dir / "store" / "zones.gpkg").read_bytes() == before


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "geo_service",
            "analyze",
            "--zones",
            str(tmp_path / "z.gpkg"),
            "--premises",
            str(tmp_path / "p.gpkg"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "z.gpkg: file not found" in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


def test_import_append_adds_land_from_another_producer(data_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "terrains.csv", tmp_path / "friches.csv"
    first.write_text("plot_id,available,area_ha,lon,lat\nt1,oui,1.5,5.40,43.30\n", "utf-8")
    second.write_text("plot_id,available,area_ha,lon,lat\nf1,oui,2.0,5.41,43.31\n", "utf-8")
    assert invoke("import", "land", str(first)).exit_code == 0
    result = invoke("import", "land", str(second), "--append")
    assert result.exit_code == 0, result.output
    assert "Layer 'land' extended" in result.output
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(data_dir)
    assert sorted(store.read_layer("land")["plot_id"]) == ["f1", "t1"]
    meta = store.layer_meta("land")
    assert meta.source == "terrains.csv ; friches.csv"
    assert [part["source"] for part in meta.extra["parts"]] == ["terrains.csv", "friches.csv"]
    before = (data_dir / "store" / "land.gpkg").read_bytes()
    again = runner.invoke(app, ["import", "land", str(second), "--append"])
    assert again.exit_code == 2
    assert "plot_id value(s) already in the stored 'land' layer ('f1')" in again.output
    assert (data_dir / "store" / "land.gpkg").read_bytes() == before


def test_library_warnings_print_as_one_line_each(data_dir: Path, tmp_path: Path) -> None:
    import sqlite3

    plain = tmp_path / "plain.gpkg"
    with sqlite3.connect(plain) as connection:
        connection.execute("CREATE TABLE t (a)")
    completed = subprocess.run(
        [sys.executable, "-m", "geo_service", "import", "zones", str(plain)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GEO_SERVICE_DATA_DIR": str(data_dir)},
    )
    assert completed.returncode == 2
    warnings = [line for line in completed.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [f"Warning: GPKG: bad application_id=0x00000000 on '{plain}'"]
    assert "RuntimeWarning" not in completed.stderr
    assert "plain.gpkg: cannot be read as a vector file" in completed.stderr


def test_here_prints_zone_commune_and_building_names_escaped(tmp_path: Path) -> None:
    """`here` shows the data's names as they are written: escape sequences (clear the screen,
    set the window title, move the cursor, blink) as their escapes, Rich markup as text."""
    square = (
        "POLYGON ((890000 6250000, 890100 6250000, 890100 6250100, 890000 6250100, 890000 6250000))"
    )
    big = (
        "POLYGON ((889000 6249000, 891000 6249000, 891000 6251000, 889000 6251000, 889000 6249000))"
    )
    files = {
        "zones.csv": "zone_id;name;wkt\n"
        f'Z[v2];"Zone \x1b[2J[bold red]effacée[/] \x1b]0;titre\x07";{square}\n',
        "communes.csv": f'commune_insee;name;wkt\n13055;"Marseille\x1b[1A\x1b[K[/]]";{big}\n',
        "premises.csv": "premises_id;locaux;down_class;x;y\n"
        "[link=http://x]P1[/link]\x1b[5m;3;THD30;890050;6250050\n",
    }
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
        layer = name.removesuffix(".csv")
        imported = runner.invoke(
            app, ["import", layer, str(tmp_path / name), "--crs", "EPSG:2154", *data]
        )
        assert imported.exit_code == 0, imported.output
    assert runner.invoke(app, ["analyze", *data]).exit_code == 0
    # (890050, 6250050) in Lambert-93: inside the zone, on the building
    here = runner.invoke(app, ["here", "5.342092", "43.324236", *data])
    assert here.exit_code == 0, here.output
    assert "\x1b" not in here.output
    lines = here.output.splitlines()
    assert lines[1] == "Zone Z[v2] Zone \\x1b[2J[bold red]effacée[/] \\x1b]0;titre\\x07: served"
    assert lines[2] == "Commune: Marseille\\x1b[1A\\x1b[K[/]] (13055)"
    assert lines[3].startswith(
        "Nearest building: [link=http://x]P1[/link]\\x1b[5m at 0.0 m, 3 locaux"
    )


def test_data_strings_print_escaped(tmp_path: Path) -> None:
    """File names and zone names keep their brackets (no Rich markup) and show their control
    characters escaped (no terminal escape sequence reaches the terminal)."""
    square = "POLYGON ((890000 6250000, 890100 6250000, 890100 6250100, 890000 6250000))"
    good = tmp_path / "zones[v2].csv"
    good.write_text(f"zone_id;name;wkt\nZ1;Zone \x1b[2Jeffacée;{square}\n", "utf-8")
    bad = tmp_path / "bad\x1b[31m[red].csv"
    bad.write_text(f"zone_id;name;wkt\nZ/1;Zone;{square}\n", "utf-8")
    runner = CliRunner()
    data = ["--crs", "EPSG:2154", "--data-dir", str(tmp_path / "data")]
    imported = runner.invoke(app, ["import", "zones", str(good), *data])
    assert imported.exit_code == 0, imported.output
    assert "zones[v2].csv: 1 rows read" in imported.output
    refused = runner.invoke(app, ["import", "zones", str(bad), *data])
    assert refused.exit_code == 2
    assert "bad\\x1b[31m[red].csv: column 'zone_id'" in refused.output
    here = runner.invoke(app, ["here", "5.3706", "43.2965", "--data-dir", str(tmp_path / "data")])
    for output in (imported.output, refused.output, here.output):
        assert "\x1b" not in output


def test_at_80_columns_layers_and_analyze_cut_no_value_short(
    analysed_demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns `layers` cut titles, sources and licences to "Territoi…" and `analyze`
    cut the access class to "Partielleme…": every value is now printed whole."""
    from geo_service.model import ACCESS_WORDS
    from geo_service.store import GeoPackageStore

    data = tmp_path / "data"
    shutil.copytree(analysed_demo_dir, data)  # analyze writes its results
    monkeypatch.setenv("GEO_SERVICE_DATA_DIR", str(data))
    narrow = CliRunner(env={"COLUMNS": "80"})  # the console reads it on each print
    layers = narrow.invoke(app, ["layers"], catch_exceptions=False).output
    assert "…" not in layers
    lines = layers.splitlines()
    for meta in GeoPackageStore(data).list_layers():
        assert meta.name in lines
        assert f"  title: {meta.title}" in lines
        assert any(line.startswith("  licence: ") and meta.licence in line for line in lines)
    analysis = narrow.invoke(app, ["analyze", "--top", "0"], catch_exceptions=False).output
    assert "…" not in analysis
    for words in ACCESS_WORDS.values():
        assert words[0].capitalize() in analysis


def _command_texts() -> list[tuple[str, str]]:
    """Every command's help and every option's help, as ``(where, text)``."""
    import typer.main

    texts: list[tuple[str, str]] = []

    def walk(command: Any, path: str, context: Any) -> None:
        texts.append((path, command.help or ""))
        for param in command.params:
            help_text = getattr(param, "help", None)
            if help_text:
                texts.append((f"{path} {param.name}", help_text))
        if hasattr(command, "list_commands"):  # a group (typer bundles its own click)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, f"{path} {name}", type(context)(sub, parent=context, info_name=name))

    root = typer.main.get_command(app)
    walk(root, "geo-service", root.make_context("geo-service", [], resilient_parsing=True))
    return texts


def test_help_texts_print_whole() -> None:
    # --help is drawn with rich markup: a "[default: …]" in a help text was read as a style
    # tag and vanished from the printed help ("Data directory of the store .").
    from rich.text import Text

    texts = _command_texts()
    assert len(texts) > 50
    swallowed = [(where, text) for where, text in texts if Text.from_markup(text).plain != text]
    assert swallowed == []


def test_data_dir_help_names_its_default() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "GEO_SERVICE_DATA_DIR" in result.output


def test_access_table_gives_medians_per_zone_not_sums() -> None:
    # A stop within walking distance of two zones counts in both: the table summed the zones'
    # departures (here 40 + 40 + 4 = 84 for 2 stops); it gives each class's median per zone.
    from geo_service import cli

    zones = pd.DataFrame(
        {
            "access_class": ["fair", "fair", "fair", "poor"],
            "road_access_km": [1.0, 2.0, 9.0, 20.0],
            "rail_station_km": [3.0, 4.0, 5.0, 30.0],
            "transit_stops": [1, 1, 1, 0],
            "transit_peak_departures": [40, 40, 4, 0],
        }
    )
    with cli.console.capture() as captured:
        cli._print_access(zones)
    rows = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
        for line in captured.get().splitlines()
        if line.startswith("│") and line.split("│")[1].strip()
    }
    assert rows["Partiellement desservie"] == ["3", "2,0", "4,0", "3", "40"]
    assert rows["Mal desservie"] == ["1", "20,0", "30,0", "0", "0"]
    assert rows["De desserte inconnue"] == ["0", "—", "—", "0", "—"]
