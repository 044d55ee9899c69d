"""The GeoPackage store: round trips, provenance, and atomic replacement of layers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from geo_service.errors import NotFoundError, ParameterError
from geo_service.model import LayerMeta
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer


def meta(name: str, source: str = "test") -> LayerMeta:
    return LayerMeta(
        name=name, kind="zones", title="Zones", source=source, data_date=date(2026, 1, 1)
    )


def test_layer_round_trip_with_provenance(tmp_path: Path, zones) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones", "inventaire.gpkg"))
    back = store.read_layer("zones")
    assert list(back["zone_id"]) == ["A", "B", "C", "D"]
    assert back.crs.equals("EPSG:2154")
    stored = store.layer_meta("zones")
    assert (stored.source, stored.data_date, stored.feature_count) == (
        "inventaire.gpkg",
        date(2026, 1, 1),
        4,
    )
    assert [m.name for m in store.list_layers()] == ["zones"]
    assert (tmp_path / "store" / "zones.gpkg").is_file(), "one GeoPackage per layer, for QGIS"


def test_bbox_limits_the_features_read(tmp_path: Path, zones) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones"))
    xmin, ymin = zones.total_bounds[:2]
    assert list(store.read_layer("zones", bbox=(xmin, ymin, xmin + 50, ymin + 50))["zone_id"]) == [
        "A"
    ]


def test_raster_round_trip(tmp_path: Path, coverage) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_raster("coverage", coverage, meta("coverage"))
    back = store.read_raster("coverage")
    assert np.array_equal(back.data, coverage.data, equal_nan=True)
    assert back.transform == coverage.transform
    assert store.layer_meta("coverage").feature_count == 20


def test_replacing_changes_the_version(tmp_path: Path, zones) -> None:
    store = GeoPackageStore(tmp_path)
    assert store.version("zones") is None
    store.write_layer("zones", zones, meta("zones"))
    first = store.version("zones")
    store.write_layer("zones", zones.head(2), meta("zones"))
    assert store.version("zones") != first
    assert len(store.read_layer("zones")) == 2


def test_failed_write_leaves_the_previous_layer_intact(
    tmp_path: Path, zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones", "v1"))
    real_write = pyogrio.write_dataframe

    def half_write(frame, path, **kwargs):
        real_write(frame.head(1), path, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", half_write)
    with pytest.raises(Exception, match="disk full"):
        store.write_layer("zones", zones.head(2), meta("zones", "v2"))
    assert len(store.read_layer("zones")) == 4
    assert store.layer_meta("zones").source == "v1"
    assert [p.name for p in (tmp_path / "store").iterdir() if p.suffix == ".gpkg"] == ["zones.gpkg"]


_KILLED_WRITER = """
import sys, numpy as np, geopandas as gpd
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer
from geo_service.model import LayerMeta
n = 3_000_000
rng = np.random.default_rng(0)
frame = gpd.GeoDataFrame({"zone_id": np.arange(n).astype(str), "name": "x"},
    geometry=gpd.points_from_xy(890000 + rng.random(n), 6250000 + rng.random(n)), crs=2154)
print("writing", flush=True)
GeoPackageStore(sys.argv[1]).write_layer(
    "zones", frame, LayerMeta(name="zones", kind="zones", title="t", source="v2"))
print("done", flush=True)
"""


def test_import_killed_half_way_leaves_the_previous_layer(tmp_path: Path, zones) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones", "v1"))
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".zones.tmp-") for p in (tmp_path / "store").iterdir()):
        assert time.monotonic() < deadline, "the writer never started writing"
        assert writer.poll() is None, "the writer ended before it could be killed"
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert len(store.read_layer("zones")) == 4
    assert store.layer_meta("zones").source == "v1"
    store.write_layer("land", zones, meta("land"))  # the next write clears the leftovers
    assert not [p for p in (tmp_path / "store").iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("name", ["../evil", "Zones", "", "a" * 64, "zones;drop", "1zones"])
def test_layer_names_are_checked(tmp_path: Path, zones, name: str) -> None:
    with pytest.raises(ParameterError, match="is not a valid layer name"):
        GeoPackageStore(tmp_path).write_layer(name, zones, meta("x"))


def test_missing_layers_are_not_found(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path)
    with pytest.raises(NotFoundError, match="layer 'zones' is not in the GeoPackage store"):
        store.read_layer("zones")
    with pytest.raises(NotFoundError):
        store.delete_layer("zones")
    assert store.list_layers() == []


def test_delete_layer(tmp_path: Path, zones) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones"))
    store.delete_layer("zones")
    assert not store.has_layer("zones")


def test_stored_premises_keep_their_types(tmp_path: Path, premises) -> None:
    store = GeoPackageStore(tmp_path)
    premises, _ = validate_layer("premises", premises, "premises.gpkg")
    store.write_layer("premises", premises, meta("premises"))
    back = store.read_layer("premises")
    assert back["locaux"].tolist() == premises["locaux"].tolist()
    assert back["ftth"].tolist()[:2] == [True, False]
    assert back["ftth"].isna().tolist() == [False, False, True, False, False, False]
    assert isinstance(back, gpd.GeoDataFrame)
