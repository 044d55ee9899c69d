"""Premises read and validated as coordinates give what the geometries' path gives (issue 18).

A GeoParquet file of points is read without a shapely object per point
(:func:`geo_service.sources.vector.read_point_layer_file`, ``validate_points``); every file
here is also read the way it was before (``read_vector`` then ``validate_layer``), and both
must give the same layer, the same report, or the same refusal word for word.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import X0, Y0
from pyproj import CRS, Transformer

from geo_service import pipeline
from geo_service.errors import InputError
from geo_service.model import in_france
from geo_service.point_arrays import PointTable
from geo_service.settings import AnalysisParams
from geo_service.sources import read_layer_file, read_point_layer_file
from geo_service.sources.formats import choose_format, import_options
from geo_service.store import GeoPackageStore
from geo_service.store.gpkg_write import arrow_points
from geo_service.validation import (
    LayerReport,
    _inner_outline,
    _points_in_france,
    _to_lonlat,
    validate_points,
)

Outcome = tuple[pd.DataFrame, np.ndarray, np.ndarray, str, dict[str, object]] | str


def _premises(n: int = 200) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    classes = np.array(["THD1G", "HD3", "BHD8", "THD30", "INEL", "THD100"])
    return gpd.GeoDataFrame(
        {
            "premises_id": [f"p{k:04d}" for k in range(n)],
            "locaux": rng.integers(1, 9, n),
            "down_class": classes[rng.integers(0, len(classes), n)],
            "ftth": rng.integers(0, 2, n).astype(bool),
            "commune_insee": rng.choice(["13001", "13055", "2A004"], n),
            "extra": np.arange(n),
        },
        geometry=shapely.points(X0 + rng.uniform(0, 5_000, n), Y0 + rng.uniform(0, 5_000, n)),
        crs="EPSG:2154",
    )


def _report(report: LayerReport) -> dict[str, object]:
    return dict(vars(report))


def _by_geometries(path: Path, crs: str | None) -> Outcome:
    try:
        frame, report = read_layer_file("premises", path, crs=crs)
    except InputError as exc:
        return str(exc)
    values = np.asarray(frame.geometry.array, dtype=object)
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return (
        attributes,
        shapely.get_x(values),
        shapely.get_y(values),
        frame.crs.to_string(),
        (_report(report)),
    )


def _by_coordinates(path: Path, crs: str | None) -> Outcome:
    try:
        found = read_point_layer_file("premises", path, crs=crs)
    except InputError as exc:
        return str(exc)
    assert found is not None, "read as geometries, not as coordinates"
    points, report = found
    return points.frame, points.x, points.y, str(points.crs), _report(report)


def _assert_same(path: Path, crs: str | None = None) -> Outcome:
    expected, found = _by_geometries(path, crs), _by_coordinates(path, crs)
    if isinstance(expected, str) or isinstance(found, str):
        assert found == expected
        return found
    pd.testing.assert_frame_equal(found[0], expected[0])
    np.testing.assert_array_equal(found[1], expected[1])  # the same numbers, to the bit
    np.testing.assert_array_equal(found[2], expected[2])
    assert found[3:] == expected[3:]
    return found


def _nan_point(frame: gpd.GeoDataFrame, rows: list[int], x: float, y: float) -> None:
    values = np.asarray(frame.geometry.array, dtype=object)
    values[rows] = shapely.points(x, y)
    frame.geometry = gpd.GeoSeries(values, crs=frame.crs)


Change = Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame | None]


def _missing(frame: gpd.GeoDataFrame) -> None:
    values = np.asarray(frame.geometry.array, dtype=object)
    values[[3, 50]] = None
    values[7] = shapely.Point()  # empty
    frame.geometry = gpd.GeoSeries(values, crs=frame.crs)


CHANGES: dict[str, Change] = {
    "valid": lambda f: None,
    "missing geometries": _missing,
    "every geometry missing": lambda f: f.set_geometry([None] * len(f), crs=f.crs),
    "nan x": lambda f: _nan_point(f, [5, 9], np.nan, Y0),
    "infinite y": lambda f: _nan_point(f, [11], X0, np.inf),
    "no crs": lambda f: f.set_crs(None, allow_override=True),
    "wgs84": lambda f: f.to_crs("EPSG:4326"),
    "outside France": lambda f: _nan_point(f, [2, 4], X0 + 3e6, Y0),
    "swapped lon lat": lambda f: f.to_crs("EPSG:4326").set_geometry(
        shapely.points(
            shapely.get_y(f.to_crs("EPSG:4326").geometry.values),
            shapely.get_x(f.to_crs("EPSG:4326").geometry.values),
        ),
        crs="EPSG:4326",
    ),
    "lambert labelled as degrees": lambda f: f.set_crs("EPSG:4326", allow_override=True),
    "missing column": lambda f: f.drop(columns="locaux"),
    "duplicate ids": lambda f: f.assign(premises_id=["p1", "p1", *f["premises_id"][2:]]),
    "bad locaux": lambda f: f.assign(locaux=[0, *f["locaux"][1:]]),
    "bad class": lambda f: f.assign(down_class=["FAST", *f["down_class"][1:]]),
    "lower-case class": lambda f: f.assign(down_class=f["down_class"].str.lower()),
    "numeric insee": lambda f: f.assign(commune_insee=[1001.0] * len(f)),
    "bad insee": lambda f: f.assign(commune_insee=["ABCDE"] * len(f)),
    "text booleans": lambda f: f.assign(ftth=np.where(f["ftth"], "oui", "non")),
    "ids as floats": lambda f: f.assign(premises_id=np.arange(len(f), dtype=float)),
}


#: How each file is written: GeoParquet (WKB, GeoArrow), GeoPackage, FlatGeobuf, Shapefile.
WRITERS: dict[str, Callable[[gpd.GeoDataFrame, Path], Path]] = {
    "parquet-wkb": lambda f, d: _written(d / "p.parquet", f.to_parquet),
    "parquet-geoarrow": lambda f, d: _written(
        d / "p.parquet", lambda p: f.to_parquet(p, geometry_encoding="geoarrow")
    ),
    "gpkg": lambda f, d: _written(d / "p.gpkg", f.to_file),
    "fgb": lambda f, d: _written(d / "p.fgb", f.to_file),
    "shp": lambda f, d: _written(d / "p.shp", f.to_file),
}


#: What GDAL or GeoPandas cannot write: no all-missing GeoArrow column, no NULL geometry in a
#: FlatGeobuf with its index, no NaN in a Shapefile.
UNWRITABLE = {
    ("every geometry missing", "parquet-geoarrow"),
    ("missing geometries", "fgb"),
    ("every geometry missing", "fgb"),
    ("nan x", "shp"),
    ("infinite y", "shp"),
}


def _written(path: Path, write: Callable[[Path], object]) -> Path:
    write(path)
    return path


@pytest.mark.parametrize(
    ("change", "written"),
    [
        (change, written)
        for change in CHANGES
        for written in WRITERS
        if (change, written) not in UNWRITABLE
    ],
)
def test_coordinates_give_what_geometries_give(tmp_path: Path, change: str, written: str) -> None:
    frame = _premises()
    changed = CHANGES[change](frame)
    frame = frame if changed is None else changed
    path = WRITERS[written](frame, tmp_path)
    found = _assert_same(path)
    if change == "valid":
        assert not isinstance(found, str)
        assert len(found[0]) == 200
    if change in ("no crs", "outside France", "duplicate ids", "bad class", "missing column"):
        assert isinstance(found, str)  # a refusal, the same one


def test_crs_option_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "premises.parquet"
    _premises().set_crs(None, allow_override=True).to_parquet(path)
    assert not isinstance(_assert_same(path, crs="EPSG:2154"), str)
    assert isinstance(_assert_same(path, crs="EPSG:4326"), str)  # Lambert-93 as degrees
    assert _assert_same(path, crs="not a crs") == _by_geometries(path, "not a crs")


@pytest.mark.parametrize(
    "geometry",
    [
        shapely.Point(X0, Y0, 10.0),  # 3D: its Z dropped (and said) by the geometries' path
        shapely.box(X0, Y0, X0 + 10, Y0 + 10),  # not a point
    ],
)
def test_other_geometries_are_read_as_geometries(
    tmp_path: Path, geometry: shapely.Geometry
) -> None:
    frame = _premises(3)
    frame.geometry = gpd.GeoSeries([geometry] * 3, crs=frame.crs)
    path = tmp_path / "premises.parquet"
    frame.to_parquet(path)
    assert read_point_layer_file("premises", path) is None


def test_other_formats_are_read_as_geometries(tmp_path: Path) -> None:
    path = tmp_path / "premises.geojson"
    _premises(3).to_file(path)
    assert read_point_layer_file("premises", path) is None
    two = tmp_path / "two.gpkg"
    _premises(3).to_file(two, layer="a")
    _premises(3).to_file(two, layer="b")
    with pytest.raises(InputError, match="holds several layers"):
        read_point_layer_file("premises", two)
    found = read_point_layer_file("premises", two, layer="b")
    assert found is not None
    assert len(found[0].x) == 3
    nothing = PointTable(pd.DataFrame(), np.empty(0), np.empty(0), None)
    with pytest.raises(ValueError, match="not layers of points alone"):
        validate_points("zones", nothing, "z")


def test_import_stores_what_the_geometries_path_stored(tmp_path: Path) -> None:
    """The generic format reads the premises as coordinates and the GeoPackage written from
    them is the one written from the validated frame (same rows, types, geometry, R-tree)."""
    path = tmp_path / "premises.parquet"
    _premises().to_crs("EPSG:4326").to_parquet(path)
    fmt = choose_format("premises", [path])
    data, report = fmt.read([path], import_options({}, None, None))
    assert isinstance(data, PointTable)
    assert report.rows_kept == 200
    by_coordinates = GeoPackageStore(tmp_path / "a")
    pipeline.import_files(by_coordinates, "premises", [path], data_date=pd.Timestamp(0).date())
    by_geometries = GeoPackageStore(tmp_path / "b")
    frame, _ = read_layer_file("premises", path)
    assert arrow_points(frame) is not None  # the frame too is written by the bulk path
    meta = by_coordinates.layer_meta("premises")
    by_geometries.write_layer("premises", frame, meta)
    a, b = by_coordinates.read_layer("premises"), by_geometries.read_layer("premises")
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    assert by_coordinates.layer_meta("premises") == by_geometries.layer_meta("premises")
    info = [pyogrio.read_info(s.path("premises")) for s in (by_coordinates, by_geometries)]
    for key in ("fields", "dtypes", "geometry_type", "crs", "features", "total_bounds"):
        assert np.array_equal(np.asarray(info[0][key]), np.asarray(info[1][key])), key
    box = (X0 + 1_000, Y0 + 1_000, X0 + 2_000, Y0 + 2_000)  # through the R-tree
    assert len(by_coordinates.read_layer("premises", bbox=box)) == len(
        by_geometries.read_layer("premises", bbox=box)
    )


def test_files_analysis_reads_premises_as_coordinates(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    zones_path, parquet, geojson = (tmp_path / n for n in ("z.gpkg", "p.parquet", "p.geojson"))
    zones.to_file(zones_path)
    premises.to_parquet(parquet)
    premises.to_file(geojson)  # GeoJSON: read as geometries
    results = []
    for path in (parquet, geojson):
        inputs, reports = pipeline.read_input_files(zones=zones_path, premises=path)
        assert (inputs.premises_points is not None) == (path == parquet)
        assert inputs.metas["premises"].feature_count == 6
        assert [r.rows_kept for r in reports] == [4, 6]
        results.append(pipeline.analyze_inputs(inputs, AnalysisParams()).zones)
    columns = [c for c in results[0].columns if c != "geometry"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(results[0][columns]), pd.DataFrame(results[1][columns])
    )
    assert results[0]["locaux"].tolist() == [4, 2, 0, 6]


@pytest.mark.parametrize("code", ["EPSG:2154", "EPSG:32631", "EPSG:3857", "EPSG:27572"])
def test_fast_in_france_test_agrees_with_the_transformation(code: str) -> None:
    """Points inside the traced outline are taken as in France without being transformed:
    none of them may be outside, even a metre from the box's edges."""
    crs = CRS.from_user_input(code)
    inner = _inner_outline(crs)
    assert inner is not None
    rng = np.random.default_rng(3)
    n = 50_000
    lon = np.concatenate([rng.uniform(-11, 11.5, n), np.full(n, -9.9), np.full(n, 10.4)])
    lat = np.concatenate(
        [rng.uniform(40, 52.5, n), rng.uniform(41, 51.6, n), rng.uniform(41, 51.6, n)]
    )
    edge_lon, edge_lat = rng.uniform(-9.9, 10.4, 2 * n), np.repeat([41.0, 51.6], n)
    lon, lat = np.concatenate([lon, edge_lon]), np.concatenate([lat, edge_lat])
    lon += rng.uniform(-1e-5, 1e-5, len(lon))  # about a metre either side of the edges
    lat += rng.uniform(-1e-5, 1e-5, len(lat))
    x, y = Transformer.from_crs("OGC:CRS84", crs, always_xy=True).transform(lon, lat)
    xy = np.column_stack([x, y])
    exact = in_france(*_to_lonlat(xy, crs))
    sure = shapely.contains_xy(inner, x, y)
    assert not (sure & ~exact).any()
    assert sure[:n].mean() > 0.5  # most points of the area need no transformation
    np.testing.assert_array_equal(_points_in_france(xy, crs), exact)
    assert _inner_outline(CRS.from_user_input("EPSG:4326")) is None  # degrees: compared as such
