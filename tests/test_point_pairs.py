"""Premises summed from their coordinates give what their geometries give (issue 18)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import X0, Y0, box, point
from geopandas.testing import assert_geodataframe_equal

from geo_service import pipeline
from geo_service.analysis.coverage import coverage_sums, point_coverage_sums
from geo_service.analysis.overlay import zone_feature_pairs, zone_point_pairs
from geo_service.settings import AnalysisParams
from geo_service.store import Store


def _pairs(zone_idx: np.ndarray, point_idx: np.ndarray) -> list[tuple[int, int]]:
    return sorted(zip(zone_idx.tolist(), point_idx.tolist(), strict=True))


def test_point_pairs_are_the_geometry_pairs_boundaries_holes_and_overlaps_included() -> None:
    holed = shapely.Polygon(
        box(600, 0, 300, 300).exterior.coords, [box(700, 100, 100, 100).exterior.coords]
    )
    zones = gpd.GeoSeries(
        [
            box(0, 0, 100, 100),
            box(50, 0, 100, 100),  # overlaps the first
            shapely.MultiPolygon([box(300, 0, 50, 50), box(400, 0, 50, 50)]),
            holed,
            None,
            shapely.Polygon(),
        ],
        crs="EPSG:2154",
    )
    rng = np.random.default_rng(7)
    x = np.concatenate([X0 + rng.uniform(-50, 950, 3000), [X0 + 100, X0, X0 + 750, np.nan]])
    y = np.concatenate([Y0 + rng.uniform(-50, 350, 3000), [Y0 + 50, Y0 + 100, Y0 + 150, 1.0]])
    points = shapely.points(x, y)
    points[np.isnan(x)] = shapely.Point()
    expected = zone_feature_pairs(zones, gpd.GeoSeries(points))
    found = zone_point_pairs(zones, x, y)
    assert _pairs(*found) == _pairs(*expected)
    pairs = set(_pairs(*found))
    assert (0, 3000) in pairs
    assert (1, 3000) in pairs
    assert (0, 3001) in pairs  # on a corner
    assert not any(p == 3002 for _, p in pairs)  # in the hole
    assert not any(p == 3003 for _, p in pairs)  # no location
    assert zone_point_pairs(zones, np.empty(0), np.empty(0))[0].size == 0


def test_point_sums_are_the_geometry_sums(
    zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    x, y = shapely.get_x(premises.geometry.values), shapely.get_y(premises.geometry.values)
    attributes = pd.DataFrame(premises.drop(columns="geometry"))
    found = point_coverage_sums(zones.geometry, x, y, attributes)
    expected = coverage_sums(zones.geometry, premises)
    assert (found.values == expected.values).all()


@pytest.fixture
def edge_premises(premises: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The premises, with one on the edge of zone A, one on its corner,
    one without location, one empty."""
    extra = gpd.GeoDataFrame(
        {
            "premises_id": ["e1", "e2", "e3", "e4"],
            "locaux": [4, 2, 9, 3],
            "down_class": ["THD30", "BHD8", "THD1G", "HD3"],
            "ftth": [True, None, False, True],
        },
        geometry=[point(100, 50), point(0, 0), None, shapely.Point()],
        crs="EPSG:2154",
    )
    return gpd.GeoDataFrame(pd.concat([premises, extra], ignore_index=True), crs="EPSG:2154")


def test_the_store_reads_points_as_coordinates(
    store: Store, edge_premises: gpd.GeoDataFrame
) -> None:
    store.write_layer("premises", edge_premises, pipeline.layer_meta("premises", source="t"))
    table = store.read_points("premises", ["locaux", "ftth"])
    assert table is not None
    whole = store.read_layer("premises")
    assert list(table.frame.columns) == ["locaux", "ftth"]
    pd.testing.assert_frame_equal(table.frame, pd.DataFrame(whole[["locaux", "ftth"]]))
    located = whole.geometry.values[:-2]
    np.testing.assert_array_equal(table.x[:-2], shapely.get_x(located))
    np.testing.assert_array_equal(table.y[:-2], shapely.get_y(located))
    assert np.isnan(table.x[-2:]).all()
    assert np.isnan(table.y[-2:]).all()
    assert table.crs is not None
    assert "2154" in table.crs


def test_the_store_reads_no_points_of_polygons(store: Store, zones: gpd.GeoDataFrame) -> None:
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="t"))
    assert store.read_points("zones") is None


def test_the_analysis_of_the_store_is_the_same_from_coordinates(
    store: Store, zones: gpd.GeoDataFrame, edge_premises: gpd.GeoDataFrame
) -> None:
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="t"))
    store.write_layer("premises", edge_premises, pipeline.layer_meta("premises", source="t"))
    inputs = pipeline.load_inputs(store, points=True)
    assert inputs.premises_points is not None
    assert len(inputs.premises) == 0
    from_points = pipeline.analyze_inputs(inputs, AnalysisParams())
    from_geometries = pipeline.analyze_inputs(pipeline.load_inputs(store), AnalysisParams())
    assert_geodataframe_equal(from_points.zones, from_geometries.zones)
    assert_geodataframe_equal(from_points.communes, from_geometries.communes)
    assert from_points.zones["premises"].sum() > 0
