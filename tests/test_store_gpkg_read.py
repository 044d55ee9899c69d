"""The GeoPackage store's Arrow read gives exactly what ``pyogrio.read_dataframe`` gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from conftest import X0, Y0, box, point
from geopandas.testing import assert_geodataframe_equal

from geo_service import pipeline
from geo_service.analysis.coverage import PREMISES_COLUMNS
from geo_service.point_arrays import point_coordinates
from geo_service.store import Store
from geo_service.store.gpkg_read import geometries_from_wkb, read_gpkg_frame


def _written(tmp_path: Path, frame: gpd.GeoDataFrame | pd.DataFrame) -> Path:
    path = tmp_path / "layer.gpkg"
    pyogrio.write_dataframe(frame, path, layer="layer", driver="GPKG", use_arrow=True)
    return path


def _assert_same_geometries(ours: gpd.GeoSeries, theirs: gpd.GeoSeries) -> None:
    a, b = np.asarray(ours.array, dtype=object), np.asarray(theirs.array, dtype=object)
    assert (shapely.is_missing(a) == shapely.is_missing(b)).all()
    present = ~shapely.is_missing(b)
    assert (shapely.is_empty(a[present]) == shapely.is_empty(b[present])).all()
    assert list(shapely.to_wkb(a[present])) == list(shapely.to_wkb(b[present]))


def _assert_as_read_dataframe(path: Path, **options: object) -> gpd.GeoDataFrame:
    ours = read_gpkg_frame(path, **options)  # type: ignore[arg-type]
    theirs = pyogrio.read_dataframe(path, use_arrow=True, **options)
    assert type(ours) is type(theirs)
    if isinstance(theirs, gpd.GeoDataFrame):
        # Attributes compared as plain frames, geometries by their WKB (a point with a NaN
        # coordinate is never "equal" to itself as a geometry).
        name = theirs.geometry.name
        assert ours.geometry.name == name
        assert ours.crs == theirs.crs
        pd.testing.assert_frame_equal(
            pd.DataFrame(ours.drop(columns=name)), pd.DataFrame(theirs.drop(columns=name))
        )
        _assert_same_geometries(ours.geometry, theirs.geometry)
    else:
        pd.testing.assert_frame_equal(ours, theirs)
    assert list(ours.dtypes.astype(str)) == list(theirs.dtypes.astype(str))
    return ours


def _points_with_holes() -> gpd.GeoDataFrame:
    """Points, a NULL geometry, an empty point, a NaN coordinate, nullable attributes."""
    return gpd.GeoDataFrame(
        {
            "premises_id": ["p1", "p2", "p3", "p4", None, "p6"],
            "locaux": [3, 1, 2, 5, 1, 7],
            "down_class": ["THD1G", "HD3", None, "THD30", "INEL", "BHD8"],
            "ftth": [True, False, None, False, False, True],
        },
        geometry=[
            point(10.125, 10.5),
            None,
            shapely.Point(),
            point(-3.25, 1e-9),
            shapely.Point(X0 + 1, np.nan),
            point(1e6, 2e6),
        ],
        crs="EPSG:2154",
    )


def test_points_nulls_and_empties_read_as_read_dataframe(tmp_path: Path) -> None:
    frame = _assert_as_read_dataframe(_written(tmp_path, _points_with_holes()))
    assert frame.geometry.isna().tolist() == [False, True, False, False, False, False]
    assert frame.geometry.iloc[2].is_empty
    assert frame.geometry.iloc[0].x == X0 + 10.125


def test_columns_and_bbox_read_as_read_dataframe(tmp_path: Path) -> None:
    path = _written(tmp_path, _points_with_holes())
    selected = _assert_as_read_dataframe(path, columns=["locaux", "ftth"])
    assert list(selected.columns) == ["locaux", "ftth", "geometry"]
    boxed = _assert_as_read_dataframe(path, bbox=(X0, Y0, X0 + 20, Y0 + 20))
    assert boxed["premises_id"].tolist() == ["p1"]
    _assert_as_read_dataframe(path, bbox=(0.0, 0.0, 1.0, 1.0))  # nothing in it


@pytest.mark.parametrize(
    "geometries",
    [
        [box(0, 0, 10, 10), shapely.MultiPolygon([box(20, 0, 5, 5), box(40, 0, 5, 5)]), None],
        [shapely.Point(X0, Y0, 12.5), shapely.Point(X0 + 1, Y0 + 1, 0.0), None],
        [shapely.LineString([(X0, Y0), (X0 + 5, Y0 + 5)]), point(1, 1), None],
    ],
    ids=["polygons", "3d-points", "mixed"],
)
def test_other_geometries_read_as_read_dataframe(
    tmp_path: Path, geometries: list[shapely.Geometry | None]
) -> None:
    frame = gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=geometries, crs="EPSG:2154")
    _assert_as_read_dataframe(_written(tmp_path, frame))


def test_datetime_fields_and_tables_read_as_read_dataframe(tmp_path: Path) -> None:
    stamped = gpd.GeoDataFrame(
        {"at": [dt.datetime(2026, 1, 2, 3, 4, 5), None], "n": [1, 2]},
        geometry=[point(0, 0), point(1, 1)],
        crs="EPSG:2154",
    )
    _assert_as_read_dataframe(_written(tmp_path, stamped))
    table = pd.DataFrame({"commune_insee": ["13001", "13002"], "n": [1, 2]})
    (tmp_path / "layer.gpkg").unlink()
    _assert_as_read_dataframe(_written(tmp_path, table))


def test_points_are_decoded_across_chunks_and_slices() -> None:
    values = [point(1, 2), None, point(3, 4), shapely.Point(), point(5, 6), point(7, 8)]
    wkb = pa.array([None if g is None else shapely.to_wkb(g) for g in values], type=pa.binary())
    column = pa.chunked_array([wkb.slice(0, 2), wkb.slice(2, 3), wkb.slice(5)])
    expected = shapely.from_wkb(np.array(wkb.to_pylist(), dtype=object))
    _assert_same_geometries(gpd.GeoSeries(geometries_from_wkb(column)), gpd.GeoSeries(expected))
    big = pa.array([shapely.to_wkb(point(1, 2), byte_order=0)], type=pa.large_binary())
    assert shapely.equals_exact(geometries_from_wkb(pa.chunked_array([big]))[0], point(1, 2), 0)


def test_point_coordinates_across_chunks_and_slices() -> None:
    values = [point(1, 2), None, point(3, 4), shapely.Point(), point(5, 6), point(7, 8)]
    wkb = pa.array([None if g is None else shapely.to_wkb(g) for g in values], type=pa.binary())
    column = pa.chunked_array([wkb.slice(0, 2), wkb.slice(2, 3), wkb.slice(5)])
    found = point_coordinates(column)
    assert found is not None
    nan = np.nan
    np.testing.assert_array_equal(found[0], [X0 + 1, nan, X0 + 3, nan, X0 + 5, X0 + 7])
    np.testing.assert_array_equal(found[1], [Y0 + 2, nan, Y0 + 4, nan, Y0 + 6, Y0 + 8])
    line = pa.array([shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)]))], type=pa.binary())
    assert point_coordinates(pa.chunked_array([wkb, line])) is None


def test_plain_points_are_made_from_their_coordinates_without_parsing_wkb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = [point(1, 2), None, point(3.5, -4)]
    wkb = pa.array([None if g is None else shapely.to_wkb(g) for g in values], type=pa.binary())

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("WKB parsed value by value")

    monkeypatch.setattr(shapely, "from_wkb", refuse)
    decoded = geometries_from_wkb(pa.chunked_array([wkb]))
    assert decoded[1] is None
    assert shapely.equals_exact(decoded[[0, 2]], np.array(values)[[0, 2]], 0).all()


def test_the_analysis_reads_only_the_premises_columns_it_uses(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="t"))
    store.write_layer("premises", premises, pipeline.layer_meta("premises", source="t"))
    read = pipeline.load_inputs(store).premises
    assert list(read.columns) == [*PREMISES_COLUMNS, "geometry"]
    whole = store.read_layer("premises")
    assert_geodataframe_equal(read, whole[list(read.columns)], check_less_precise=False)


@pytest.mark.parametrize(
    ("dtype", "nodata"),
    [("float32", float("nan")), ("float32", -1.0), ("int16", -1), ("float32", None)],
)
def test_a_stored_raster_reads_as_its_masked_pixels(
    tmp_path: Path, dtype: str, nodata: Any
) -> None:
    """NaN-nodata float32 GeoTIFFs (as stored) are read without their mask, the same pixels."""
    import rasterio
    from rasterio.transform import from_origin

    from geo_service.store.base import raster_of

    pixels = np.array([[1, 2, -1], [4, -1, 6]], dtype=dtype)
    if dtype == "float32":
        pixels[0, 0] = np.nan
    profile = {"driver": "GTiff", "width": 3, "height": 2, "count": 1, "dtype": dtype}
    path = tmp_path / "r.tif"
    with rasterio.open(
        path, "w", **profile, crs="EPSG:2154", transform=from_origin(X0, Y0, 50, 50), nodata=nodata
    ) as out:
        out.write(pixels, 1)
    with rasterio.open(path) as src:
        expected = src.read(1, masked=True).astype(np.float32).filled(np.nan)
        found = raster_of(src).data
    assert found.dtype == np.float32
    np.testing.assert_array_equal(found, expected)
