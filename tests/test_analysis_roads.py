"""Road distances and drive times on a road graph, checked against networkx."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from conftest import box, point

from geo_service.analysis.roads import (
    DEFAULT_SPEEDS_KMH,
    MAX_SNAP_M,
    SNAP_SPEED_KMH,
    road_distances,
    road_graph,
)
from geo_service.model import CANONICAL_CRS


def _grid(size: int, seed: int) -> gpd.GeoDataFrame:
    """A size x size grid 500 m apart, random lengths and speeds, some one-way streets and a
    few duplicate edges."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(size):
        for j in range(size):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= size or j + dj >= size:
                    continue
                a, b = f"n{i}_{j}", f"n{i + di}_{j + dj}"
                length = 500.0 * rng.uniform(1.0, 1.6)
                speed = float(rng.choice([30.0, 50.0, 90.0]))
                one_way = rng.random() < 0.15
                rows.append((a, b, length, speed, (i, j), (i + di, j + dj)))
                if not one_way:
                    rows.append((b, a, length, speed, (i + di, j + dj), (i, j)))
    rows.append(("n0_0", "n0_1", 10_000.0, 30.0, (0, 0), (0, 1)))  # a longer duplicate
    return gpd.GeoDataFrame(
        {
            "edge_id": [f"e{k}" for k in range(len(rows))],
            "from_node": [r[0] for r in rows],
            "to_node": [r[1] for r in rows],
            "length_m": [r[2] for r in rows],
            "maxspeed_kmh": [r[3] for r in rows],
        },
        geometry=[
            shapely.LineString(
                [point(500 * r[4][0], 500 * r[4][1]), point(500 * r[5][0], 500 * r[5][1])]
            )
            for r in rows
        ],
        crs=CANONICAL_CRS,
    )


def _networkx(edges: gpd.GeoDataFrame, weight: str) -> nx.DiGraph:
    graph = nx.DiGraph()
    for row in edges.to_dict("records"):
        value = row["length_m"] if weight == "m" else row["length_m"] / (row["maxspeed_kmh"] / 3.6)
        u, v = row["from_node"], row["to_node"]
        if not graph.has_edge(u, v) or graph[u][v]["w"] > value:
            graph.add_edge(u, v, w=value)
    return graph


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_road_distances_and_times_agree_with_networkx(seed: int) -> None:
    edges = _grid(8, seed)
    graph = road_graph(edges)
    # Facilities exactly on nodes, zones as small squares around other nodes (one node inside).
    facilities = gpd.GeoDataFrame(
        {"name": ["F1", "F2"]}, geometry=[point(0, 3500), point(3500, 500)], crs=CANONICAL_CRS
    )
    targets = ["n0_7", "n7_1"]
    zone_nodes = [(2, 2), (5, 6), (7, 7), (0, 0)]
    zones = np.asarray(
        [box(500 * i - 10, 500 * j - 10, 20, 20) for i, j in zone_nodes], dtype=object
    )
    km, minutes = road_distances(graph, zones, facilities)
    for weight, got, unit in (("m", km, 1000.0), ("s", minutes, 60.0)):
        reference = _networkx(edges, weight).reverse()
        lengths = nx.multi_source_dijkstra_path_length(reference, set(targets), weight="w")
        for k, (i, j) in enumerate(zone_nodes):
            expected = lengths.get(f"n{i}_{j}", np.inf) / unit
            if np.isinf(expected):
                assert np.isnan(got[k])
            else:
                assert got[k] == pytest.approx(expected, abs=1e-3 if weight == "m" else 0.05)


def test_snapping_steps_count_and_far_points_are_not_reached() -> None:
    edges = gpd.GeoDataFrame(
        {
            "edge_id": ["a", "b"],
            "from_node": ["1", "2"],
            "to_node": ["2", "1"],
            "highway": ["residential", "residential"],
        },
        geometry=[
            shapely.LineString([point(0, 0), point(1000, 0)]),
            shapely.LineString([point(1000, 0), point(0, 0)]),
        ],
        crs=CANONICAL_CRS,
    )
    graph = road_graph(edges)
    facility = gpd.GeoDataFrame(geometry=[point(1000, 300)], crs=CANONICAL_CRS)
    zones = np.asarray([box(-50, -50, 100, 100), box(0, MAX_SNAP_M + 500, 10, 10)], dtype=object)
    km, minutes = road_distances(graph, zones, facility)
    # Zone 1 holds node 1 (step 0): 1000 m of residential street plus the 300 m step.
    assert km[0] == pytest.approx(1.3)
    speed = DEFAULT_SPEEDS_KMH["residential"] / 3.6
    expected = (1000 / speed + 300 / (SNAP_SPEED_KMH / 3.6)) / 60
    assert minutes[0] == pytest.approx(expected, abs=0.05)
    assert np.isnan(km[1])
    assert np.isnan(minutes[1])
    none, _ = road_distances(graph, zones, None)
    assert np.isnan(none).all()
