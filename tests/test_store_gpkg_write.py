"""The GeoPackage store's bulk write of points gives the file ``pyogrio.write_dataframe``
gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import X0, Y0, box, point

from geo_service.point_arrays import point_wkb
from geo_service.store.gpkg_write import arrow_points, write_gpkg_frame

_METADATA = {"GEO_SERVICE_META": "{}", "GEO_SERVICE_DTYPES": "{}"}


def _points(n: int = 50) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    return gpd.GeoDataFrame(
        {
            "premises_id": [f"p{i}" for i in range(n)],
            "locaux": rng.integers(1, 30, n),
            "down_class": pd.Series(["THD1G", None] * (n // 2), dtype="str"),
            "best_techno": pd.Series([None] * n, dtype=object),
            "ftth": pd.array([True, None] * (n // 2), dtype="boolean"),
            "share": rng.random(n),
        },
        geometry=[point(x, y) for x, y in rng.random((n, 2)) * 5000],
        crs="EPSG:2154",
    )


def _schema(path: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        contents = db.execute(
            "SELECT table_name, data_type, identifier, srs_id, min_x, min_y, max_x, max_y "
            "FROM gpkg_contents"
        ).fetchall()
        columns = db.execute("SELECT * FROM gpkg_geometry_columns").fetchall()
        extensions = db.execute("SELECT * FROM gpkg_extensions ORDER BY 1, 2, 3").fetchall()
        index = db.execute("SELECT * FROM rtree_layer_geom ORDER BY id").fetchall()
    return [*rows, *contents, *columns, *extensions, *index]


def _info(path: Path) -> dict[str, object]:
    return {
        k: v.tolist() if isinstance(v, np.ndarray) else v
        for k, v in pyogrio.read_info(path).items()
    }


def _both(tmp_path: Path, frame: gpd.GeoDataFrame) -> tuple[Path, Path]:
    ours, theirs = tmp_path / "ours.gpkg", tmp_path / "theirs.gpkg"
    write_gpkg_frame(frame, ours, "layer", _METADATA)
    pyogrio.write_dataframe(
        frame, theirs, layer="layer", driver="GPKG", layer_metadata=_METADATA, use_arrow=True
    )
    return ours, theirs


def test_points_are_written_as_write_dataframe_writes_them(tmp_path: Path) -> None:
    frame = _points()
    assert arrow_points(frame) is not None  # the bulk path
    ours, theirs = _both(tmp_path, frame)
    assert _schema(ours) == _schema(theirs)
    assert _info(ours) == _info(theirs)
    a = pyogrio.read_dataframe(ours, use_arrow=True)
    b = pyogrio.read_dataframe(theirs, use_arrow=True)
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    with sqlite3.connect(ours) as x, sqlite3.connect(theirs) as y:
        query = "SELECT * FROM layer ORDER BY fid"
        assert x.execute(query).fetchall() == y.execute(query).fetchall()


def test_point_wkb_is_shapelys() -> None:
    xy = np.array([[X0, Y0], [-1.5, 2e-9], [1e12, -0.0]])
    assert point_wkb(xy).to_pylist() == list(shapely.to_wkb(shapely.points(xy)))


@pytest.mark.parametrize(
    "geometry",
    [
        shapely.Point(),
        None,
        shapely.Point(X0, Y0, 12.0),
        shapely.Point(X0, np.nan),
        box(X0, Y0, 10, 10),
        shapely.MultiPoint([(X0, Y0), (X0 + 1, Y0)]),
    ],
    ids=["empty", "null", "3d", "nan", "polygon", "multipoint"],
)
def test_other_geometries_are_left_to_write_dataframe(
    tmp_path: Path, geometry: shapely.Geometry | None
) -> None:
    frame = _points(4)
    frame.loc[1, "geometry"] = geometry
    assert arrow_points(frame) is None
    ours, theirs = _both(tmp_path, frame)
    assert _schema(ours) == _schema(theirs)


def test_object_columns_other_than_text_are_left_to_write_dataframe() -> None:
    frame = _points(4)
    frame["mixed"] = pd.Series([1, "a", None, 2.5], dtype=object)
    assert arrow_points(frame) is None
    frame = _points(4).assign(when=pd.Timestamp("2026-01-01", tz="Europe/Paris"))
    assert arrow_points(frame) is None
