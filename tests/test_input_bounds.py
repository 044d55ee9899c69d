"""Bounds on what one import may cost: pixels of a raster, memory of the worst refused files.

The hostile corpus (tests/hostile/) checks each refusal's message and that the store is left
unchanged; here, what those bounds are made of (the setting that sets them, the reading in
stripes) and the peak memory of the heaviest refused files, imported in a separate process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from hostile.corpus import CASES, write_corpus
from typer.testing import CliRunner

from geo_service.cli import app
from geo_service.errors import InputError
from geo_service.sources import raster as raster_source
from geo_service.sources.raster import read_coverage_raster
from tests.conftest import X0, Y0, descendants

#: Peak memory allowed to a refused import (resident set of the whole CLI process).
MAX_REFUSED_RSS_BYTES = 2 * 10**9
#: The refused cases that would cost the most memory if they were read whole.
HEAVIEST = (
    "sparse GeoTIFF of 900 million pixels",
    "zip whose directory lies",
    "zip bomb",
    "gzip bomb",
    "gzipped OSM XML bomb",
    "a million vertices",
    "ten million and one rows",
    "a million columns",
    "one gigantic line",
)


def _tif(path: Path, data: np.ndarray, nodata: float | None = None) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": str(data.dtype),
        "crs": "EPSG:2154",
        "transform": Affine(50, 0, X0, 0, -50, Y0),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def test_a_raster_is_read_in_stripes_with_nodata_as_nan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = np.arange(7 * 5, dtype=np.int16).reshape(7, 5)
    data[3, 2] = data[6, 4] = -1
    _tif(tmp_path / "c.tif", data, nodata=-1)
    monkeypatch.setattr(raster_source, "_STRIPE_PIXELS", 10)  # stripes of two rows
    raster = read_coverage_raster(tmp_path / "c.tif")
    assert raster.data.dtype == np.float32
    expected = data.astype(np.float32)
    expected[data == -1] = np.nan
    np.testing.assert_array_equal(raster.data, expected)


def test_the_pixel_bound_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tif(tmp_path / "c.tif", np.full((20, 30), 50.0, dtype=np.float32))
    assert read_coverage_raster(tmp_path / "c.tif", max_pixels=600).shape == (20, 30)
    with pytest.raises(InputError, match=r"30 x 20 pixels \(600\); expected at most 599 pixels"):
        read_coverage_raster(tmp_path / "c.tif", max_pixels=599)
    monkeypatch.setenv("GEO_SERVICE_MAX_RASTER_PIXELS", "599")
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["import", "coverage", str(tmp_path / "c.tif"), "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 2, result.output
    assert "at most 599 pixels" in result.output
    assert not (data_dir / "store" / "coverage.tif").exists()


def test_the_bound_applies_once_in_lambert93(tmp_path: Path) -> None:
    # 10 x 10 pixels in degrees: once in Lambert-93, a few more (the box turns).
    with rasterio.open(
        tmp_path / "w.tif",
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(0.01, 0, 5.4, 0, -0.01, 43.4),
    ) as dst:
        dst.write(np.full((10, 10), 30.0, dtype=np.float32), 1)
    with pytest.raises(InputError, match=r"w\.tif: .* pixels once in Lambert-93 .*at most 100"):
        read_coverage_raster(tmp_path / "w.tif", max_pixels=100)


def _peak_rss(pid: int) -> int | None:
    """VmHWM (the high-water mark of resident memory) of process ``pid``, in bytes."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    if "VmHWM:" not in status:  # a zombie
        return None
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


@pytest.mark.parametrize("name", HEAVIEST)
def test_the_heaviest_refused_files_stay_under_2_gb(name: str, tmp_path: Path) -> None:
    """The import runs in a worker forked by a fork server, below the command: the peak of each
    of these processes is read while they run (VmHWM only grows, so the last reading is the
    peak but for an allocation in the last milliseconds). The worker is also limited to 2000 MB
    of address space (at least its resident memory), and must still give the case's own
    refusal: an import needing more would be refused for its memory instead."""
    (case,) = [c for c in CASES if c.name == name]
    write_corpus(tmp_path, (case,))
    args = ["import", case.layer, *(str(tmp_path / f) for f in case.files)]
    if case.format:
        args += ["--format", case.format]
    if case.crs:
        args += ["--crs", case.crs]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    env["GEO_SERVICE_DATA_DIR"] = str(tmp_path / "data")
    env["GEO_SERVICE_IMPORT_MEMORY_MB"] = str(MAX_REFUSED_RSS_BYTES // 10**6)
    command = subprocess.Popen(
        [sys.executable, "-m", "geo_service", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peaks: dict[int, int] = {}
    while command.poll() is None:
        for pid in {command.pid, *descendants(command.pid)}:
            peak = _peak_rss(pid)
            if peak is not None:
                peaks[pid] = max(peak, peaks.get(pid, 0))
        time.sleep(0.01)
    output = " ".join(command.communicate()[0].split())
    assert command.returncode == 2, output
    assert re.search(case.expect, output), output
    assert len(peaks) >= 3, peaks  # the command, its resource tracker and fork server, ...workers
    peak = max(peaks.values())
    print(f"{name}: peak {peak / 1e6:,.0f} MB (largest of {len(peaks)} processes)")
    assert peak < MAX_REFUSED_RSS_BYTES, f"{name}: peak {peak / 1e9:.2f} GB"


@pytest.mark.parametrize("suffix", [".gpkg", ".csv", ".parquet", ".shp"])
def test_the_feature_bound_is_checked_before_reading(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"zone_id": [f"Z{i}" for i in range(30)], "name": ["Zone"] * 30},
        geometry=[shapely.box(X0 + 10 * i, Y0, X0 + 10 * i + 5, Y0 + 5) for i in range(30)],
        crs="EPSG:2154",
    )
    path = tmp_path / f"zones{suffix}"
    if suffix == ".csv":
        frame.assign(wkt=frame.geometry.to_wkt()).drop(columns="geometry").to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path)
    known_from = {".csv": "lines", ".parquet": "Parquet metadata"}.get(suffix, "metadata")
    data = ["--data-dir", str(tmp_path / "data"), "--crs", "EPSG:2154"]
    monkeypatch.setenv("GEO_SERVICE_MAX_FEATURES", "29")
    refused = CliRunner().invoke(app, ["import", "zones", str(path), *data])
    assert refused.exit_code == 2, refused.output
    assert " ".join(refused.output.split()) == (
        f"Error: {path}: 30 features (from its {known_from}); expected at most 29 "
        "(GEO_SERVICE_MAX_FEATURES): split the file, or raise the limit"
    )
    monkeypatch.setenv("GEO_SERVICE_MAX_FEATURES", "30")
    accepted = CliRunner().invoke(app, ["import", "zones", str(path), *data])
    assert accepted.exit_code == 0, accepted.output


_FIXTURES = Path(__file__).parent / "fixtures"


def _zipped_feed(tmp_path: Path) -> Path:
    import zipfile

    path = tmp_path / "tiny.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for table in sorted((_FIXTURES / "transport" / "gtfs_tiny").iterdir()):
            archive.write(table, table.name)
    return path


#: Readers that do not go through read_vector: (layer, files, rows of the largest table, the
#: file named by the refusal, how the count is said). Each is held to the same bound.
_OTHER_READERS = {
    "CNIG friches (CSV)": (
        "land",
        ["opendata/cnig-friches.csv"],
        3,
        "cnig-friches.csv",
        "3 features (from its lines)",
    ),
    "Cartofriches list (CSV)": (
        "land",
        ["opendata/cartofriches-liste-latin1.csv"],
        5,
        "cartofriches-liste-latin1.csv",
        "5 features (from its lines)",
    ),
    "ARCEP MCI (plain CSV)": (
        "premises",
        ["arcep/base_imb_84.csv", "arcep/actuel_84.csv"],
        3,
        "actuel_84.csv",
        "3 features (from its lines)",
    ),
    "ARCEP MCI (gzipped)": (
        "premises",
        ["arcep/base_imb_13.csv.gz", "arcep/actuel_13.csv.gz"],
        22,
        "actuel_13.csv.gz",
        "more than 21 features (reading stopped there)",
    ),
    "GTFS folder": (
        "transit_stops",
        ["transport/gtfs_tiny"],
        16,
        "stop_times.txt",
        "16 features (from its lines)",
    ),
    "GTFS zip": ("transit_stops", ["zip"], 16, "tiny.zip (stop_times.txt)", "16 features"),
}


@pytest.mark.parametrize("case", list(_OTHER_READERS))
def test_readers_outside_read_vector_are_held_to_the_feature_bound(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer, names, rows, named, said = _OTHER_READERS[case]
    files = [str(_zipped_feed(tmp_path) if n == "zip" else _FIXTURES / n) for n in names]
    data_dir = tmp_path / "data"
    command = ["import", layer, *files, "--data-dir", str(data_dir)]
    monkeypatch.setenv("GEO_SERVICE_MAX_FEATURES", str(rows - 1))
    refused = CliRunner().invoke(app, command)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.output.split())
    assert f"{named}: {said}" in message, message
    assert f"expected at most {rows - 1} (GEO_SERVICE_MAX_FEATURES)" in message
    assert not (data_dir / "store" / f"{layer}.gpkg").exists()
    monkeypatch.setenv("GEO_SERVICE_MAX_FEATURES", str(rows))
    accepted = CliRunner().invoke(app, command)
    assert accepted.exit_code == 0, accepted.output


def test_xml_road_files_stop_at_the_feature_bound(tmp_path: Path) -> None:
    from geo_service.sources.feature_bound import features_bounded
    from geo_service.sources.formats import ImportOptions
    from geo_service.sources.roads import read_osm_xml

    nodes = "".join(f'<node id="{i}" lat="43.{40 + i}" lon="5.{40 + i}"/>' for i in range(1, 5))
    ways = "".join(  # three roads from node 1: none merged into another by simplification
        f'<way id="{i}"><nd ref="1"/><nd ref="{i + 1}"/><tag k="highway" v="primary"/></way>'
        for i in range(1, 4)
    )
    path = tmp_path / "roads.osm"
    path.write_text(f'<?xml version="1.0"?><osm version="0.6">{nodes}{ways}</osm>')
    with features_bounded(3):
        frame, _ = read_osm_xml([path], ImportOptions())
    assert len(frame) == 6  # three two-way roads
    with (
        features_bounded(2),
        pytest.raises(InputError, match=r"roads\.osm: more than 2 features \(reading stopped"),
    ):
        read_osm_xml([path], ImportOptions())
