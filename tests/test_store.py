"""The layer stores (GeoPackage and PostGIS): round trips, provenance, atomic replacement.

Tests taking the ``store`` fixture run on both backends; the PostGIS ones need
GEO_SERVICE_TEST_DATABASE_URL (see ``.ci/postgis.sh``) and skip without it, except in CI.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.cli import app
from geo_service.errors import NotFoundError, ParameterError, StoreError
from geo_service.model import LayerMeta
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore, Store, open_store
from geo_service.store import _pg_rows as pg_rows
from geo_service.store._pg_schema import MIGRATIONS
from geo_service.store.postgis import PostGISStore
from geo_service.validation import validate_layer
from tests.conftest import X0, Y0, box, point, small_filesystem


def meta(name: str, source: str = "test") -> LayerMeta:
    return LayerMeta(
        name=name, kind="zones", title="Zones", source=source, data_date=date(2026, 1, 1)
    )


#: The PostGIS store's own tables (catalog, rasters, migrations, opinion archive).
_OWN_TABLES = ["layer_catalog", "opinion_files", "opinion_records", "rasters", "schema_version"]


def _tables(store: PostGISStore) -> list[str]:
    with psycopg.connect(store._url) as conn:
        found = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (store.schema,)
        ).fetchall()
    return [name for (name,) in found]


# -- both backends -----------------------------------------------------------------------
def test_layer_round_trip_with_provenance(store: Store, zones) -> None:
    store.write_layer("zones", zones, meta("zones", "inventaire.gpkg"))
    back = store.read_layer("zones")
    assert isinstance(back, gpd.GeoDataFrame)
    assert list(back.columns) == [*zones.columns.drop("geometry"), "geometry"]
    assert list(back["zone_id"]) == ["A", "B", "C", "D"]
    assert back.crs.equals("EPSG:2154")
    assert back.geometry.geom_equals(zones.geometry).all()
    stored = store.layer_meta("zones")
    assert (stored.name, stored.source, stored.data_date, stored.feature_count) == (
        "zones",
        "inventaire.gpkg",
        date(2026, 1, 1),
        4,
    )
    assert [m.name for m in store.list_layers()] == ["zones"]


def test_single_and_multi_polygons_are_stored_as_multi_polygons(store: Store, zones) -> None:
    store.write_layer("zones", zones, meta("zones"))
    assert set(store.read_layer("zones").geom_type) == {"MultiPolygon"}
    store.write_layer("one", zones.head(3), meta("one"))
    assert set(store.read_layer("one").geom_type) == {"Polygon"}


def test_bbox_keeps_the_features_that_intersect_it(store: Store, zones) -> None:
    store.write_layer("zones", zones, meta("zones"))
    assert list(store.read_layer("zones", bbox=(X0, Y0, X0 + 50, Y0 + 50))["zone_id"]) == ["A"]
    # inside the envelope of the two parts of D, but in neither part
    gap = (X0 + 120, Y0 + 320, X0 + 170, Y0 + 370)
    assert store.read_layer("zones", bbox=gap).empty
    assert list(
        store.read_layer("zones", bbox=(X0 + 250, Y0 + 50, X0 + 450, Y0 + 350)).zone_id
    ) == [
        "B",
        "C",
        "D",
    ]


def test_columns_selects_attributes_in_the_layer_order(store: Store, zones) -> None:
    store.write_layer("zones", zones, meta("zones"))
    back = store.read_layer("zones", columns=["name", "zone_id", "no_such_column"])
    assert list(back.columns) == ["zone_id", "name", "geometry"]
    assert list(store.read_layer("zones", columns=[]).columns) == ["geometry"]


def test_raster_round_trip(store: Store, coverage) -> None:
    store.write_raster("coverage", coverage, meta("coverage"))
    back = store.read_raster("coverage")
    assert np.array_equal(back.data, coverage.data, equal_nan=True)
    assert back.transform == coverage.transform
    assert back.crs == "EPSG:2154"
    assert store.layer_meta("coverage").feature_count == 20
    with pytest.raises(NotFoundError):
        store.read_layer("coverage")


def test_a_raster_and_a_vector_layer_of_one_name_replace_each_other(
    store: Store, zones, coverage
) -> None:
    store.write_layer("coverage", zones, meta("coverage", "v1"))
    store.write_raster("coverage", coverage, meta("coverage", "v2"))
    assert store.read_raster("coverage").shape == (2, 10)
    with pytest.raises(NotFoundError):
        store.read_layer("coverage")
    store.write_layer("coverage", zones, meta("coverage", "v3"))
    assert len(store.read_layer("coverage")) == 4
    with pytest.raises(NotFoundError):
        store.read_raster("coverage")
    assert [(m.name, m.source) for m in store.list_layers()] == [("coverage", "v3")]


def test_replacing_changes_the_version(store: Store, zones) -> None:
    assert store.version("zones") is None
    store.write_layer("zones", zones, meta("zones"))
    first = store.version("zones")
    assert first is not None
    assert store.version("zones") == first
    store.write_layer("zones", zones.head(2), meta("zones"))
    assert store.version("zones") != first
    assert len(store.read_layer("zones")) == 2
    assert store.layer_meta("zones").feature_count == 2


def test_a_layer_replaced_by_another_writer_is_described_anew(tmp_path: Path, zones) -> None:
    """The GeoPackage store reads a file's metadata once per version of the file."""
    reader, writer = GeoPackageStore(tmp_path), GeoPackageStore(tmp_path)
    writer.write_layer("zones", zones, meta("zones", source="first"))
    assert reader.layer_meta("zones").source == "first"
    assert len(reader.read_layer("zones")) == len(zones)
    writer.write_layer("zones", zones.head(2), meta("zones", source="second"))
    assert reader.layer_meta("zones").source == "second"
    assert reader.layer_meta("zones").feature_count == 2


def test_failed_write_leaves_the_previous_layer_intact(
    store: Store, zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_layer("zones", zones, meta("zones", "v1"))
    version = store.version("zones")
    if isinstance(store, GeoPackageStore):
        real_write = pyogrio.write_dataframe

        def half_write(frame, path, **kwargs):
            real_write(frame.head(1), path, **kwargs)
            raise OSError("disk full")

        monkeypatch.setattr(pyogrio, "write_dataframe", half_write)
    else:
        real_copy = pg_rows.copy_rows

        def half_copy(conn, table, frame, geometries, layout):
            real_copy(conn, table, frame.head(1), geometries.head(1), layout)
            raise OSError("disk full")

        monkeypatch.setattr(pg_rows, "copy_rows", half_copy)
    with pytest.raises(Exception, match="disk full"):
        store.write_layer("zones", zones.head(2), meta("zones", "v2"))
    assert len(store.read_layer("zones")) == 4
    assert store.layer_meta("zones").source == "v1"
    assert store.version("zones") == version
    if isinstance(store, GeoPackageStore):
        assert [p.name for p in store.root.iterdir() if p.suffix == ".gpkg"] == ["zones.gpkg"]
    else:
        assert isinstance(store, PostGISStore)
        assert _tables(store) == [*_OWN_TABLES, "zones"]


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        pyogrio.errors.DataSourceError("sqlite3_step() failed: database or disk is full"),
        OSError(errno.EROFS, "Read-only file system", "/data/store/.zones.tmp.gpkg"),
    ],
    ids=["enospc", "gdal-full", "read-only"],
)
def test_a_full_disk_or_a_read_only_store_is_said_plainly(
    failure: Exception, tmp_path: Path, zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones", "v1"))
    before = (store.root / "zones.gpkg").read_bytes()

    def failing(*_: object, **__: object) -> None:
        raise failure

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(StoreError) as refused:
        store.write_layer("zones", zones.head(2), meta("zones", "v2"))
    if isinstance(failure, OSError) and failure.errno == errno.EROFS:
        assert refused.value.message.startswith(
            "/data/store/.zones.tmp.gpkg: cannot be written (Read-only file system); the "
            "store's directory must be writable by this user"
        )
    else:
        assert refused.value.message.startswith(
            f"disk full: writing layer 'zones' in {store.root} needed more than the "
        )
        assert " MB free there (the layer takes about 0.0 MB); " in refused.value.message
    assert refused.value.message.endswith("The store is unchanged")
    assert (store.root / "zones.gpkg").read_bytes() == before


_KILLED_WRITER = """
import os, sys, numpy as np, geopandas as gpd
from geo_service.model import LayerMeta
n = 1_000_000
rng = np.random.default_rng(0)
frame = gpd.GeoDataFrame({"zone_id": np.arange(n).astype(str), "name": "x"},
    geometry=gpd.points_from_xy(890000 + rng.random(n), 6250000 + rng.random(n)), crs=2154)
if sys.argv[1] == "gpkg":
    from geo_service.store import GeoPackageStore
    store = GeoPackageStore(sys.argv[2])
else:
    from geo_service.store.postgis import PostGISStore
    store = PostGISStore(os.environ["KILLED_WRITER_DATABASE_URL"], sys.argv[2])
print("writing", flush=True)
store.write_layer("zones", frame, LayerMeta(name="zones", kind="zones", title="t", source="v2"))
print("done", flush=True)
"""


def _writing(store: Store) -> bool:
    """Whether another process is half-way through writing layer 'zones' in ``store``."""
    if isinstance(store, GeoPackageStore):
        return any(p.name.startswith(".zones.tmp-") for p in store.root.iterdir())
    assert isinstance(store, PostGISStore)
    with psycopg.connect(store._url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE 'COPY %%' AND query LIKE %s",
            (f'%"{store.schema}"%',),
        ).fetchone()
    return bool(row and row[0])


def test_import_killed_half_way_leaves_the_previous_layer(store: Store, zones) -> None:
    store.write_layer("zones", zones, meta("zones", "v1"))
    version = store.version("zones")
    if isinstance(store, GeoPackageStore):
        args, env = ["gpkg", str(store.root.parent)], dict(os.environ)
    else:
        assert isinstance(store, PostGISStore)
        args = ["postgis", store.schema]
        env = {**os.environ, "KILLED_WRITER_DATABASE_URL": store._url}
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 60
        while not _writing(store):
            assert time.monotonic() < deadline, "the writer never started writing"
            assert writer.poll() is None, "the writer ended before it could be killed"
            time.sleep(0.05)
        time.sleep(0.3)
        assert writer.poll() is None, "the writer ended before it could be killed"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert len(store.read_layer("zones")) == 4
    assert store.layer_meta("zones").source == "v1"
    assert store.version("zones") == version
    store.write_layer("land", zones, meta("land"))  # the next write clears the leftovers
    store.write_layer("zones", zones.head(1), meta("zones", "v3"))  # and is not blocked
    assert store.layer_meta("zones").source == "v3"
    if isinstance(store, GeoPackageStore):
        assert not [p for p in store.root.iterdir() if ".tmp-" in p.name]
    else:
        assert isinstance(store, PostGISStore)
        assert _tables(store) == sorted([*_OWN_TABLES, "land", "zones"])


def test_readers_see_the_old_or_the_new_layer_never_a_mix(store: Store) -> None:
    sizes = {0: 3000, 1: 1200}

    def generation(i: int) -> gpd.GeoDataFrame:
        n = sizes[i % 2]
        return gpd.GeoDataFrame(
            {"gen": np.full(n, i), "premises_id": [f"p{k}" for k in range(n)]},
            geometry=gpd.points_from_xy(X0 + np.arange(n), np.full(n, Y0)),
            crs="EPSG:2154",
        )

    store.write_layer("premises", generation(0), meta("premises"))
    done = threading.Event()
    errors: list[BaseException] = []

    def replace() -> None:
        try:
            for i in range(1, 13):
                store.write_layer("premises", generation(i), meta("premises"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=replace)
    writer.start()
    reads, seen = 0, set()
    while not done.is_set() or reads < 3:
        frame = store.read_layer("premises")
        gens = frame["gen"].unique()
        assert len(gens) == 1, f"a read mixed generations {gens}"
        assert len(frame) == sizes[int(gens[0]) % 2]
        assert frame["premises_id"].iloc[-1] == f"p{len(frame) - 1}"
        seen.add(int(gens[0]))
        reads += 1
    writer.join()
    assert not errors
    assert store.read_layer("premises")["gen"].iloc[0] == 12
    assert len(seen) >= 2, "the reader should have seen several generations"


def test_write_layers_replaces_several_layers_in_one_step(store: Store) -> None:
    """A reader of several layers sees all of one write_layers or all of the next, never a mix."""
    names = ("zone_results", "commune_results", "epci_results")

    def generation(i: int, k: int) -> gpd.GeoDataFrame:
        n = 400 + 300 * ((i + k) % 3)
        return gpd.GeoDataFrame(
            {"gen": np.full(n, i), "id": [f"r{j}" for j in range(n)]},
            geometry=gpd.points_from_xy(X0 + np.arange(n), np.full(n, Y0 + k)),
            crs="EPSG:2154",
        )

    def layers(i: int) -> dict[str, tuple[gpd.GeoDataFrame, LayerMeta]]:
        return {
            name: (generation(i, k), meta(name).model_copy(update={"source": f"run {i}"}))
            for k, name in enumerate(names)
        }

    store.write_layers(layers(0))
    done = threading.Event()
    errors: list[BaseException] = []

    def replace() -> None:
        try:
            for i in range(1, 9):
                store.write_layers(layers(i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=replace)
    writer.start()
    reads, seen = 0, set()
    while not done.is_set() or reads < 3:
        found = store.read_layers(names)
        assert list(found) == list(names)
        gens = {int(g) for frame, _ in found.values() for g in frame["gen"].unique()}
        assert len(gens) == 1, f"a read mixed runs {gens}"
        (gen,) = gens
        for k, name in enumerate(names):
            frame, about = found[name]
            assert len(frame) == len(generation(gen, k))
            assert about.source == f"run {gen}"
            assert about.feature_count == len(frame)
        seen.add(gen)
        reads += 1
    writer.join()
    assert not errors
    assert {store.read_layer(n)["gen"].iloc[0] for n in names} == {8}
    assert len(seen) >= 2, "the reader should have seen several runs"
    with pytest.raises(NotFoundError):
        store.read_layers(["zone_results", "absent"])


def test_a_failed_write_layers_leaves_every_layer_as_it_was(
    store: Store, zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_layers({"zones": (zones, meta("zones")), "land": (zones, meta("land"))})
    before = {name: store.version(name) for name in ("zones", "land")}
    calls: list[int] = []
    if isinstance(store, GeoPackageStore):
        real_write = pyogrio.write_dataframe

        def second_fails(frame, path, **kwargs):
            calls.append(1)
            real_write(frame.head(1), path, **kwargs)
            if len(calls) == 2:
                raise OSError("disk full")

        monkeypatch.setattr(pyogrio, "write_dataframe", second_fails)
    else:
        real_copy = pg_rows.copy_rows

        def second_fails(conn, table, frame, geometries, layout):
            calls.append(1)
            real_copy(conn, table, frame.head(1), geometries.head(1), layout)
            if len(calls) == 2:
                raise OSError("disk full")

        monkeypatch.setattr(pg_rows, "copy_rows", second_fails)
    with pytest.raises((StoreError, OSError), match="disk full"):
        store.write_layers({"land": (zones, meta("land")), "zones": (zones, meta("zones"))})
    assert len(calls) == 2
    assert {name: store.version(name) for name in ("zones", "land")} == before
    assert len(store.read_layer("land")) == len(zones)
    assert len(store.read_layer("zones")) == len(zones)


def test_versions_of_several_layers_at_once(store: Store, zones, coverage) -> None:
    store.write_layer("zones", zones, meta("zones"))
    store.write_raster("coverage", coverage, meta("coverage"))
    versions = store.versions(["zones", "coverage", "absent", "../bad"])
    assert versions == {
        "zones": store.version("zones"),
        "coverage": store.version("coverage"),
        "absent": None,
        "../bad": None,
    }
    assert versions["zones"] is not None
    assert versions["coverage"] is not None


@pytest.mark.parametrize("name", ["../evil", "Zones", "", "a" * 64, "zones;drop", "1zones"])
def test_layer_names_are_checked(store: Store, zones, name: str) -> None:
    with pytest.raises(ParameterError, match="is not a valid layer name"):
        store.write_layer(name, zones, meta("x"))
    with pytest.raises(ParameterError, match="is not a valid layer name"):
        store.read_layer(name)
    assert store.version(name) is None


def test_missing_layers_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"layer 'zones' is not in the .*store"):
        store.read_layer("zones")
    with pytest.raises(NotFoundError):
        store.read_raster("coverage")
    with pytest.raises(NotFoundError):
        store.layer_meta("zones")
    with pytest.raises(NotFoundError):
        store.delete_layer("zones")
    assert store.list_layers() == []
    assert not store.has_layer("zones")


def test_delete_layer(store: Store, zones, coverage) -> None:
    store.write_layer("zones", zones, meta("zones"))
    store.write_raster("coverage", coverage, meta("coverage"))
    store.delete_layer("zones")
    store.delete_layer("coverage")
    assert not store.has_layer("zones")
    assert not store.has_layer("coverage")
    assert store.list_layers() == []


def test_stored_premises_keep_their_types(store: Store, premises) -> None:
    premises, _ = validate_layer("premises", premises, "premises.gpkg")
    store.write_layer("premises", premises, meta("premises"))
    back = store.read_layer("premises")
    assert isinstance(back, gpd.GeoDataFrame)
    assert back["locaux"].tolist() == premises["locaux"].tolist()
    assert back["ftth"].tolist()[:2] == [True, False]
    assert back["ftth"].isna().tolist() == [False, False, True, False, False, False]
    assert back.geometry.geom_equals_exact(premises.geometry.reset_index(drop=True), 0).all()


def test_result_columns_keep_their_nulls(store: Store) -> None:
    results = gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002", "13003"],
            "name": ["Aix", "", None],
            "rank": pd.array([2, None, 1], dtype="Int64"),
            "share_thd30": [0.25, np.nan, 1.0],
            "ftth": pd.array([True, None, False], dtype="boolean"),
            "zones": [3, 0, 1],
        },
        geometry=[box(0, 0, 10, 10), None, box(20, 0, 10, 10)],
        crs="EPSG:2154",
    )
    store.write_layer("commune_results", results, meta("commune_results"))
    back = store.read_layer("commune_results")
    assert back["name"].tolist()[:2] == ["Aix", ""]
    assert pd.isna(back["name"].iloc[2])
    assert back["rank"].isna().tolist() == [False, True, False]
    assert back["rank"].dropna().astype(int).tolist() == [2, 1]
    assert back["share_thd30"].isna().tolist() == [False, True, False]
    assert back["ftth"].isna().tolist() == [False, True, False]
    assert back["zones"].tolist() == [3, 0, 1]
    assert back.geometry.isna().tolist() == [False, True, False]
    assert back.geometry.iloc[2].equals(box(20, 0, 10, 10))


@pytest.mark.parametrize("as_geodataframe", [False, True])
def test_a_table_without_geometry_is_read_back_as_a_dataframe(
    store: Store, as_geodataframe: bool
) -> None:
    table = pd.DataFrame(
        {"commune_insee": ["13001", "13002"], "establishments": [12, 40], "share": [0.5, 0.25]}
    )
    frame = gpd.GeoDataFrame(table) if as_geodataframe else table
    store.write_layer("establishments", frame, meta("establishments"))
    back = store.read_layer("establishments")
    assert type(back) is pd.DataFrame
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert back["establishments"].dtype == np.int64
    assert len(store.read_layer("establishments", bbox=(0, 0, 1, 1))) == 2  # bbox is ignored
    assert list(store.read_layer("establishments", columns=["share"]).columns) == ["share"]
    assert store.layer_meta("establishments").feature_count == 2


def test_empty_layers_round_trip(store: Store, zones) -> None:
    store.write_layer("zones", zones.iloc[:0], meta("zones"))
    back = store.read_layer("zones")
    assert len(back) == 0
    assert "zone_id" in back.columns
    assert store.layer_meta("zones").feature_count == 0


# -- PostGIS specifics -------------------------------------------------------------------
@pytest.fixture
def postgis(database_url: str, postgis_schema: str) -> Iterator[PostGISStore]:
    store = PostGISStore(database_url, postgis_schema)
    yield store
    store.close()


def test_both_backends_give_back_the_dtypes_of_results(store: Store) -> None:
    frame = gpd.GeoDataFrame(
        {
            "rank": pd.array([1, None, 3], dtype="Int64"),
            "ftth": pd.array([True, None, False], dtype="boolean"),
            "status": pd.Series(["served", None, "unknown"], dtype=object),
            "name": pd.Series(["a", "b", None], dtype="str"),
            "locaux": np.array([1, 2, 3], dtype=np.int64),
            "share": [0.5, np.nan, 1.0],
            "available": [True, False, True],
        },
        geometry=[point(0, 0), point(1, 1), None],
        crs="EPSG:2154",
    )
    store.write_layer("results", frame, meta("results"))
    back = store.read_layer("results")
    assert dict(back.dtypes.astype(str)) == dict(frame.dtypes.astype(str))
    assert back["status"].tolist() == ["served", None, "unknown"]
    assert back["rank"].isna().tolist() == [False, True, False]


def test_postgis_gives_back_the_dtypes_written(postgis: PostGISStore) -> None:
    n = 4
    frame = gpd.GeoDataFrame(
        {
            "int64": np.array([1, -2, 2**62, 0], dtype=np.int64),
            "int32": np.array([1, 2, 3, 4], dtype=np.int32),
            "uint8": np.array([0, 1, 2, 255], dtype=np.uint8),
            "nullable_int": pd.array([1, None, 3, None], dtype="Int64"),
            "flag": [True, False, True, False],
            "nullable_flag": pd.array([True, None, False, None], dtype="boolean"),
            "ratio": [0.1, np.nan, 1 / 3, np.inf],
            "ratio32": np.array([0.1, 0.2, np.nan, 4.5], dtype=np.float32),
            "text": pd.Series(['a,"b"', "", None, "ligne 1\nligne 2 é"], dtype="str"),
            "objects": pd.Series(["x", None, "", "\\N"], dtype=object),
            "strings": pd.array(["x", None, "NULL", "y"], dtype="string"),
            "category": pd.Categorical(["FO", "CU", None, "FO"]),
            "day": [date(2026, 1, 31), None, date(1999, 12, 1), date(2024, 2, 29)],
            "moment": pd.to_datetime(
                ["2026-01-01 10:00:00.123456", None, "2020-02-29", "2000-01-01"], format="ISO8601"
            ),
            "moment_utc": pd.to_datetime(
                [datetime(2026, 1, 1, 9, tzinfo=UTC), None, datetime(2025, 6, 1, tzinfo=UTC), None]
            ).tz_convert("Europe/Paris"),
        },
        geometry=[point(0, 0), None, point(1.5, 2.25), shapely.Point()],
        crs="EPSG:2154",
    )
    assert len(frame) == n
    postgis.write_layer("everything", frame, meta("everything"))
    back = postgis.read_layer("everything")
    assert dict(back.dtypes.astype(str)) == dict(frame.dtypes.astype(str))
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")),
        pd.DataFrame(frame.drop(columns="geometry")),
        check_exact=True,
    )
    assert back["objects"].tolist() == ["x", None, "", "\\N"]
    assert back.geometry.iloc[0].equals(point(0, 0))
    assert back.geometry.iloc[1] is None
    assert back.geometry.iloc[2].equals(point(1.5, 2.25))
    assert back.geometry.iloc[3].is_empty


def test_postgis_keeps_floats_exactly(postgis: PostGISStore) -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.random(500) * 10.0 ** rng.integers(-300, 300, 500), [5e-324]])
    x, y = X0 + rng.random(len(values)) * 1e4, Y0 + rng.random(len(values)) * 1e4
    frame = gpd.GeoDataFrame({"value": values}, geometry=gpd.points_from_xy(x, y), crs="EPSG:2154")
    polygons = gpd.GeoDataFrame(
        {"value": values}, geometry=gpd.points_from_xy(x, y).buffer(3), crs="EPSG:2154"
    )
    postgis.write_layer("points", frame, meta("points"))
    postgis.write_layer("polygons", polygons, meta("polygons"))
    points_back, polygons_back = postgis.read_layer("points"), postgis.read_layer("polygons")
    assert np.array_equal(points_back["value"].to_numpy(), values)
    assert points_back.geometry.geom_equals_exact(frame.geometry, 0).all()
    assert polygons_back.geometry.geom_equals_exact(polygons.geometry, 0).all()


def test_a_fresh_schema_is_migrated_and_reopening_is_a_no_op(
    database_url: str, postgis_schema: str
) -> None:
    def versions() -> list[tuple[int, datetime, int]]:
        with psycopg.connect(database_url) as conn:
            return conn.execute(  # type: ignore[return-value]
                f'SELECT version, applied_at, xmin::text::bigint FROM "{postgis_schema}"'
                ".schema_version ORDER BY version"
            ).fetchall()

    PostGISStore(database_url, postgis_schema).close()
    first = versions()
    assert [v for v, _, _ in first] == [number for number, _, _ in MIGRATIONS]
    store = PostGISStore(database_url, postgis_schema)
    try:
        assert versions() == first, "re-opening an up-to-date schema must write nothing"
        assert _tables(store) == _OWN_TABLES
    finally:
        store.close()


def test_a_schema_from_a_newer_geo_service_is_refused(
    database_url: str, postgis_schema: str
) -> None:
    PostGISStore(database_url, postgis_schema).close()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            f'INSERT INTO "{postgis_schema}".schema_version (version, description) '
            "VALUES (999, 'from the future')"
        )
    with pytest.raises(StoreError, match="version 999, newer than this geo-service"):
        PostGISStore(database_url, postgis_schema)


def test_postgis_tables_open_in_qgis(postgis: PostGISStore, premises) -> None:
    store = postgis
    premises, _ = validate_layer("premises", premises, "premises.gpkg")
    store.write_layer("premises", premises, meta("premises"))
    with psycopg.connect(store._url) as conn:
        columns = conn.execute(
            "SELECT type, srid, coord_dimension FROM geometry_columns "
            "WHERE f_table_schema = %s AND f_table_name = 'premises'",
            (store.schema,),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'premises'",
            (store.schema,),
        ).fetchall()
        kinds = conn.execute(
            f'SELECT kind FROM "{store.schema}".layer_catalog WHERE name = %s', ("premises",)
        ).fetchall()
    assert columns == [("POINT", 2154, 2)]
    assert any("USING gist (geom)" in d for (d,) in indexes)
    assert any("(fid)" in d and "UNIQUE" in d for (d,) in indexes)
    assert kinds == [("vector",)]


def test_postgis_refuses_its_own_table_names(postgis: PostGISStore, zones) -> None:
    store = postgis
    for name in _OWN_TABLES:
        with pytest.raises(ParameterError, match="reserved by the PostGIS store"):
            store.write_layer(name, zones, meta(name))
    with pytest.raises(StoreError, match="column 'fid' is reserved"):
        store.write_layer("zones", zones.assign(fid=1), meta("zones"))


def test_a_view_on_a_layer_blocks_its_replacement_with_a_clear_message(
    postgis: PostGISStore, zones
) -> None:
    postgis.write_layer("zones", zones, meta("zones", "v1"))
    with psycopg.connect(postgis._url) as conn:
        conn.execute(
            f'CREATE VIEW "{postgis.schema}".zones_a AS SELECT * FROM "{postgis.schema}".zones'
        )
    with pytest.raises(
        StoreError, match=r"cannot write layer 'zones'.*view \S+zones_a depends.*drop them first"
    ):
        postgis.write_layer("zones", zones.head(1), meta("zones", "v2"))
    assert postgis.layer_meta("zones").source == "v1"
    assert len(postgis.read_layer("zones")) == 4


def test_the_pool_shares_its_connections_and_replaces_broken_ones(
    database_url: str, postgis_schema: str, zones
) -> None:
    store = PostGISStore(database_url, postgis_schema, pool_size=2)
    again = PostGISStore(database_url, postgis_schema, pool_size=2)
    assert again._pool is store._pool, "stores of one database share their pool"
    again.close()
    try:
        store.write_layer("zones", zones, meta("zones"))
        counts: list[int] = []
        lock = threading.Lock()

        def read() -> None:
            for _ in range(5):
                n = len(store.read_layer("zones"))
                with lock:
                    counts.append(n)

        threads = [threading.Thread(target=read) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert counts == [4] * 30
        assert 1 <= store._pool.get_stats()["pool_size"] <= 2
        with store._pool.connection() as first, store._pool.connection() as second:
            pids = {first.info.backend_pid, second.info.backend_pid}
        with psycopg.connect(database_url) as conn:
            for pid in pids:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert len(store.read_layer("zones")) == 4
    finally:
        store.close()
    assert store._pool.closed


def test_connection_failures_name_the_database_but_not_the_password() -> None:
    url = "postgresql://someone:s3cr3t-word@127.0.0.1:1/chamber"
    with pytest.raises(StoreError) as caught:
        PostGISStore(url)
    message = str(caught.value)
    assert "database 'chamber' on 127.0.0.1:1 as 'someone'" in message
    assert "s3cr3t-word" not in message


def test_open_store_chooses_the_backend_from_the_settings(
    tmp_path: Path, database_url: str, postgis_schema: str
) -> None:
    assert isinstance(open_store(Settings(data_dir=tmp_path)), GeoPackageStore)
    with pytest.raises(ParameterError, match="database_url"):
        open_store(Settings(data_dir=tmp_path, database_url="mysql://x@y/z"))
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    password = str(params.get("password") or "")
    if password in (params.get("user"), params.get("dbname")):
        password = ""  # the test database's password is also its name: nothing to check
    for url in (database_url, database_url.replace("postgresql://", "postgres://", 1)):
        store = open_store(
            Settings(data_dir=tmp_path, database_url=url, database_schema=postgis_schema)
        )
        try:
            assert isinstance(store, PostGISStore)
            assert f"schema '{postgis_schema}'" in store.describe()
            assert not password or password not in store.describe()
        finally:
            store.close()


def test_the_cli_uses_postgis_when_configured(
    postgis: PostGISStore, zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgis.write_layer("zones", zones, meta("zones", "inventaire-zae.gpkg"))
    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", postgis._url)
    monkeypatch.setenv("GEO_SERVICE_DATABASE_SCHEMA", postgis.schema)
    result = CliRunner().invoke(app, ["layers"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "PostGIS store" in result.output
    assert "inventaire-zae.gpkg" in result.output


@pytest.fixture(scope="module")
def demo_results_gpkg(tmp_path_factory: pytest.TempPathFactory) -> GeoPackageStore:
    store = GeoPackageStore(tmp_path_factory.mktemp("demo-gpkg"))
    pipeline.build_demo_store(store)
    pipeline.analyze_store(store, AnalysisParams())
    return store


def test_the_demo_analyses_the_same_on_both_backends(
    database_url: str, postgis_schema: str, demo_results_gpkg: GeoPackageStore
) -> None:
    store = PostGISStore(database_url, postgis_schema)
    try:
        pipeline.build_demo_store(store)
        pipeline.analyze_store(store, AnalysisParams())
        for name in (*pipeline.INPUT_LAYERS, *pipeline.RESULT_LAYERS):
            if name == pipeline.COVERAGE or not demo_results_gpkg.has_layer(name):
                continue
            ours, theirs = store.read_layer(name), demo_results_gpkg.read_layer(name)
            assert list(ours.columns) == list(theirs.columns), name
            pd.testing.assert_frame_equal(
                pd.DataFrame(ours.drop(columns="geometry")).astype(object).where(ours.notna()),
                pd.DataFrame(theirs.drop(columns="geometry")).astype(object).where(theirs.notna()),
                check_dtype=False,
                obj=name,
            )
            assert ours.geometry.geom_equals_exact(theirs.geometry, 1e-9).all(), name
        raster = store.read_raster(pipeline.COVERAGE)
        assert np.array_equal(
            raster.data, demo_results_gpkg.read_raster(pipeline.COVERAGE).data, equal_nan=True
        )
    finally:
        store.close()


# -- GeoPackage specifics ----------------------------------------------------------------
def test_geopackage_store_writes_one_file_per_layer_for_qgis(tmp_path: Path, zones) -> None:
    store = GeoPackageStore(tmp_path)
    store.write_layer("zones", zones, meta("zones"))
    assert (tmp_path / "store" / "zones.gpkg").is_file()
    assert store.path("zones") == tmp_path / "store" / "zones.gpkg"


# -- PostGIS: a role without write rights, a full disk on the server ----------------------------


def _revoke_writes(database_url: str, schema: str) -> None:
    """Take from the test role its rights to create tables in ``schema`` and to write the
    tables there (an owner may revoke its own privileges): a role that can only read."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'REVOKE CREATE ON SCHEMA "{schema}" FROM CURRENT_USER')
        conn.execute(
            f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA "{schema}" '
            "FROM CURRENT_USER"
        )


def _restore_writes(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'GRANT ALL ON SCHEMA "{schema}" TO CURRENT_USER')
        conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO CURRENT_USER')


def _snapshot(store: PostGISStore) -> tuple[list[str], str | None, list[str]]:
    return _tables(store), store.version("zones"), sorted(store.read_layer("zones")["zone_id"])


def test_a_postgis_role_without_write_rights_is_said_plainly(
    database_url: str, postgis_schema: str, zones, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = PostGISStore(database_url, postgis_schema)
    try:
        store.write_layer("zones", zones, meta("zones", "v1"))
        before = _snapshot(store)
        _revoke_writes(database_url, postgis_schema)
        try:
            for write in (
                lambda: store.write_layer("zones", zones.head(2), meta("zones", "v2")),
                lambda: store.update_layer("zones", lambda f, m: (f.head(1), m)),
                lambda: store.delete_layer("zones"),
            ):
                with pytest.raises(StoreError) as refused:
                    write()
                message = refused.value.message
                assert "the database user of the PostGIS store (schema" in message, message
                assert "may not write there (permission denied for " in message, message
                assert "LINE 1" not in message
                assert "\n" not in message
                assert message.endswith(
                    f"grant it CREATE on schema '{postgis_schema}' and INSERT, UPDATE, DELETE "
                    "on its tables, or set GEO_SERVICE_DATABASE_URL to a role with write "
                    "rights. The store is unchanged"
                )
            assert _snapshot(store) == before  # readable, and nothing half-written
            # Through the command line: one line, exit status 2, the store unchanged.
            monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", database_url)
            monkeypatch.setenv("GEO_SERVICE_DATABASE_SCHEMA", postgis_schema)
            path = tmp_path / "zones.geojson"
            zones.head(3).to_file(path)
            result = CliRunner().invoke(app, ["import", "zones", str(path)])
            assert result.exit_code == 2, result.output
            said = " ".join(result.output.split())
            assert "may not write there (permission denied for schema" in said, said
            assert "Traceback" not in result.output
            assert "Internal error" not in said
            assert _snapshot(store) == before
            # Through the API: 503 with the same sentence, not 500.
            from fastapi.testclient import TestClient

            from geo_service.api import create_app
            from geo_service.api.auth import hash_api_key

            key = "postgis-read-only-test-key-0123456789"
            settings = Settings(
                database_url=database_url,
                database_schema=postgis_schema,
                api_key_hash=hash_api_key(key),
                data_dir=tmp_path / "api",
            )
            with TestClient(create_app(settings)) as client:
                answer = client.post(
                    "/layers/zones",
                    files=[("file", ("zones.geojson", path.read_bytes(), "application/geo+json"))],
                    headers={"Authorization": f"Bearer {key}"},
                )
            assert answer.status_code == 503, answer.text
            assert "may not write there (permission denied for schema" in answer.text
            assert _snapshot(store) == before
        finally:
            _restore_writes(database_url, postgis_schema)
    finally:
        store.close()


def test_a_full_disk_on_the_postgis_server_is_said_plainly(
    database_url: str, postgis_schema: str, zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostGISStore(database_url, postgis_schema)
    try:
        store.write_layer("zones", zones, meta("zones", "v1"))
        before = _snapshot(store)
        copy_rows = pg_rows.copy_rows

        def filling(conn: psycopg.Connection, *args: object) -> None:
            copy_rows(conn, *args)  # type: ignore[arg-type]
            # What the server answers when it cannot extend a table's file.
            raise psycopg.errors.DiskFull(
                'could not extend file "base/16384/2619": No space left on device'
            )

        monkeypatch.setattr(pg_rows, "copy_rows", filling)
        with pytest.raises(StoreError) as refused:
            store.write_layer("zones", zones.head(2), meta("zones", "v2"))
        message = refused.value.message
        assert message.startswith(
            "disk full on the database server: cannot write layer 'zones' in the PostGIS store"
        ), message
        assert "No space left on device" in message
        assert message.endswith(
            "free space on the disk of the server's data directory and retry. The store is "
            "unchanged"
        )
        monkeypatch.undo()
        assert _snapshot(store) == before  # the staged table rolled back with the rest
    finally:
        store.close()


# -- GeoPackage: a real full disk, a real read-only directory, through the CLI and the API ------


def _api_key() -> tuple[str, str]:
    from geo_service.api.auth import hash_api_key

    key = "store-fault-test-key-0123456789abcdef"
    return key, hash_api_key(key)


def _upload_to(data_dir: Path, layer: str, path: Path) -> Any:
    from fastapi.testclient import TestClient

    from geo_service.api import create_app

    key, key_hash = _api_key()
    settings = Settings(database_url=None, data_dir=data_dir, api_key_hash=key_hash)
    with TestClient(create_app(settings)) as client:
        return client.post(
            f"/layers/{layer}",
            files=[("file", (path.name, path.read_bytes(), "text/csv"))],
            data={"crs": "EPSG:2154"},
            headers={"Authorization": f"Bearer {key}"},
        )


def _store_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.name != ".lock"}


def _zones_csv(path: Path) -> Path:
    square = f"POLYGON (({X0} {Y0}, {X0 + 100} {Y0}, {X0 + 100} {Y0 + 100}, {X0} {Y0}))"
    path.write_text(f"zone_id;name;wkt\nZ1;Zone 1;{square}\n")
    return path


def test_a_really_full_disk_is_said_plainly_by_the_cli_and_the_api(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", "3m") as small:
        data = ["--data-dir", str(small), "--crs", "EPSG:2154"]
        zones = _zones_csv(tmp_path / "zones.csv")
        assert CliRunner().invoke(app, ["import", "zones", str(zones), *data]).exit_code == 0
        rows = "\n".join(f"p{i};1;THD30;{X0 + i % 900};{Y0 + i // 900}" for i in range(100_000))
        big = tmp_path / "premises.csv"  # 2.6 MB of text: more than the store's disk can take
        big.write_text(f"premises_id;locaux;down_class;x;y\n{rows}\n")
        before = _store_bytes(small / "store")
        result = CliRunner().invoke(app, ["import", "premises", str(big), *data])
        said = " ".join(result.output.split())
        assert result.exit_code == 2, said
        # GDAL says only that a ROLLBACK failed, its file truncated: the space free (at most
        # the 3 MB of the disk) is less than the layer takes (its GeoPackage: 11.3 MB)
        assert re.match(
            rf"Error: disk full: writing layer 'premises' in {re.escape(str(small / 'store'))} "
            r"needed more than the [0-3]\.\d MB free there \(the layer takes about 1[0-4]\.\d MB\)",
            said,
        ), said
        assert said.endswith(
            "free space there or set GEO_SERVICE_DATA_DIR to a larger disk. The store is unchanged"
        ), said
        assert _store_bytes(small / "store") == before
        answer = _upload_to(small, "premises", big)
        assert answer.status_code == 503, answer.text
        assert answer.json()["description"].startswith("disk full: writing layer 'premises'")
        assert _store_bytes(small / "store") == before


@contextlib.contextmanager
def _read_only(root: Path) -> Iterator[None]:
    """``root`` made read-only for this user: immutable for root (who writes through
    permissions), mode 555 for others; skipped where neither is possible."""
    if os.geteuid() == 0:
        frozen = subprocess.run(["chattr", "+i", str(root)], capture_output=True)
        if frozen.returncode != 0:
            pytest.skip("cannot make a directory read-only for root here (chattr +i)")
        thaw = ["chattr", "-i", str(root)]
    else:
        root.chmod(0o555)
        thaw = ["chmod", "755", str(root)]
    try:
        yield
    finally:
        subprocess.run(thaw, check=True)


def test_a_really_read_only_store_is_said_plainly_by_the_cli_and_the_api(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data"), "--crs", "EPSG:2154"]
    zones = _zones_csv(tmp_path / "zones.csv")
    assert CliRunner().invoke(app, ["import", "zones", str(zones), *data]).exit_code == 0
    root = tmp_path / "data" / "store"
    before = _store_bytes(root)
    with _read_only(root):
        result = CliRunner().invoke(app, ["import", "zones", str(zones), *data])
        said = " ".join(result.output.split())
        assert result.exit_code == 2, said
        pattern = (
            rf"^Error: {re.escape(str(root))}(/\S+)?: cannot be written \((Permission denied|"
            r"Operation not permitted)\); the store's directory must be writable by this user "
            r"\(set GEO_SERVICE_DATA_DIR to a writable one\)\. The store is unchanged$"
        )
        assert re.match(pattern, said), said
        assert _store_bytes(root) == before
        answer = _upload_to(tmp_path / "data", "zones", zones)
        assert answer.status_code == 503, answer.text
        assert re.match(pattern.removeprefix("^Error: "), answer.json()["description"])
        assert _store_bytes(root) == before


def test_the_opinion_archive_on_a_full_disk_or_a_read_only_directory_says_so(
    tmp_path: Path,
) -> None:
    from geo_service.store.archive import ArchiveEntry, ArchiveFile, SQLiteArchive

    def entry(n: int) -> ArchiveEntry:
        stamp = datetime(2026, 12, 3, 12, 0, n, tzinfo=UTC)
        return ArchiveEntry(f"20261203-1200{n:02d}-0000000{n}", stamp, "zone", "Z1", "{}")

    big = [ArchiveFile("avis.pdf", "application/pdf", os.urandom(3_000_000))]
    small_file = [ArchiveFile("avis.json", "application/json", b"{}")]
    with small_filesystem(tmp_path / "small", "2m") as small:
        archive = SQLiteArchive(small / "store" / "opinions.sqlite")
        with pytest.raises(StoreError) as full:
            archive.insert(entry(1), big)
        assert full.value.message.startswith(
            f"disk full: writing the opinion archive in {small / 'store'} needed more than the "
        ), full.value.message
        assert archive.entries() == []  # nothing half-written
    root = tmp_path / "data" / "store"
    root.mkdir(parents=True)
    archive = SQLiteArchive(root / "opinions.sqlite")
    with _read_only(root):
        with pytest.raises(StoreError) as read_only:
            archive.insert(entry(3), small_file)
        assert re.match(
            rf"{re.escape(str(root))}: cannot be written \((Permission denied|Operation not "
            r"permitted)\); the store's directory must be writable by this user",
            read_only.value.message,
        ), read_only.value.message


def test_a_postgis_role_that_may_not_read_is_told_what_to_grant(
    database_url: str, postgis_schema: str, zones
) -> None:
    store = PostGISStore(database_url, postgis_schema)
    try:
        store.write_layer("zones", zones, meta("zones"))
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'REVOKE SELECT ON "{postgis_schema}".zones FROM CURRENT_USER')
        try:
            with pytest.raises(StoreError) as refused:
                store.read_layer("zones")
        finally:
            _restore_writes(database_url, postgis_schema)
        message = refused.value.message
        assert message.startswith("cannot read layer 'zones': the database user of the PostGIS")
        assert "may not read there (permission denied for table zones); grant it USAGE on " in (
            message
        )
        assert message.endswith(
            "SELECT on its tables, or set GEO_SERVICE_DATABASE_URL to a role that can"
        )
        assert len(store.read_layer("zones")) == len(zones)
    finally:
        store.close()
