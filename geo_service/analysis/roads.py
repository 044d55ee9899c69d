"""Distances and drive times by road from each zone to the nearest facility of a kind.

The ``road_network`` layer's directed edges make a sparse graph (``scipy.sparse``); for each
facility kind, one shortest-path computation from all its facilities at once (a virtual source
joined to each facility's nearest node, on the reversed graph) gives every node's distance to
the nearest facility, never one query per zone. A zone's road distance is the least, over the
graph nodes inside it and its nearest node, of the straight step to that node plus the node's
distance. Facilities and zones farther than :data:`MAX_SNAP_M` from the graph are not reached
(unknown, not far).

Drive times use each edge's ``maxspeed_kmh``, else a speed by its ``highway`` category
(:data:`DEFAULT_SPEEDS_KMH`); the straight steps to and from the graph count at
:data:`SNAP_SPEED_KMH`. The fastest route and the shortest one are computed separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo_service.analysis.overlay import in_lambert93

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Farthest a zone or facility may lie from the graph's nearest node to be reached, m.
MAX_SNAP_M: Final = 2000.0
#: Speed of the straight steps between the graph and a zone or facility, km/h.
SNAP_SPEED_KMH: Final = 20.0
#: Speed of an edge without ``maxspeed_kmh``, by OSM ``highway`` category, km/h.
DEFAULT_SPEEDS_KMH: Final[dict[str, float]] = {
    "motorway": 110.0,
    "motorway_link": 60.0,
    "trunk": 90.0,
    "trunk_link": 50.0,
    "primary": 70.0,
    "primary_link": 40.0,
    "secondary": 60.0,
    "secondary_link": 40.0,
    "tertiary": 50.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 20.0,
    "service": 20.0,
}
DEFAULT_SPEED_KMH: Final = 40.0
_SECONDS_PER_HOUR: Final = 3600.0
#: Weight of a zero-length edge (csgraph would read an explicit 0 as no edge).
_TINY: Final = 1e-6


@dataclass(frozen=True)
class RoadGraph:
    """The road network reversed (an edge v -> u for each edge u -> v), as coordinate arrays of
    its edges weighted in metres and in seconds, and its nodes."""

    rows: IntArray
    cols: IntArray
    metres: FloatArray
    seconds: FloatArray
    nodes: npt.NDArray[np.object_]
    tree: shapely.STRtree

    @property
    def size(self) -> int:
        """The number of nodes."""
        return len(self.nodes)


def road_graph(edges: gpd.GeoDataFrame) -> RoadGraph:
    """The graph of a ``road_network`` layer; duplicate edges keep their shortest and fastest."""
    edges = in_lambert93(edges)
    lines = np.asarray(edges.geometry.values, dtype=object)
    n_edges = len(edges)
    index, ids = pd.factorize(
        np.concatenate([edges["from_node"].astype(str), edges["to_node"].astype(str)])
    )
    source, target = index[:n_edges].astype(np.intp), index[n_edges:].astype(np.intp)
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    last = np.r_[np.flatnonzero(np.diff(owner)), len(owner) - 1]
    first = np.r_[0, last[:-1] + 1]
    xy = np.empty((len(ids), 2))
    xy[target] = coords[last]
    xy[source] = coords[first]
    length = pd.to_numeric(_column(edges, "length_m"), errors="coerce").to_numpy(dtype=float)
    length = np.where(np.isfinite(length), length, shapely.length(lines))
    seconds = length / (_speeds(edges) / _SECONDS_PER_HOUR * 1000.0)
    rows, cols, metres = _least(target, source, length)
    # The same pairs in the same order: only the weights (and which duplicate is least) differ.
    _, _, least_seconds = _least(target, source, seconds)
    nodes = np.asarray(shapely.points(xy), dtype=object)
    return RoadGraph(rows, cols, metres, least_seconds, nodes, shapely.STRtree(nodes))


def road_distances(
    graph: RoadGraph,
    zone_geoms: npt.NDArray[np.object_],
    facilities: gpd.GeoDataFrame | None,
) -> tuple[FloatArray, FloatArray]:
    """Road distance (km) and drive time (minutes) from each zone to its nearest facility by
    road; NaN where no facility is given, or the zone or every facility is off the graph."""
    n = len(zone_geoms)
    unknown = np.full(n, np.nan)
    if facilities is None or len(facilities) == 0 or graph.size == 0 or n == 0:
        return unknown, unknown.copy()
    points = np.asarray(in_lambert93(facilities).geometry.values, dtype=object)
    (_, node_idx), snap = graph.tree.query_nearest(points, return_distance=True, all_matches=False)
    near = snap <= MAX_SNAP_M
    node_idx, snap = node_idx[near], snap[near]
    if len(node_idx) == 0:
        return unknown, unknown.copy()
    metres = _from_sources(graph, graph.metres, node_idx, snap)
    seconds = _from_sources(graph, graph.seconds, node_idx, snap / _snap_speed())
    zone_idx, candidate, step = _zone_candidates(graph, zone_geoms)
    km = _best(zone_idx, metres[candidate] + step, n) / 1000.0
    minutes = _best(zone_idx, seconds[candidate] + step / _snap_speed(), n) / 60.0
    return np.round(km, 3), np.round(minutes, 1)


def _snap_speed() -> float:
    """:data:`SNAP_SPEED_KMH` in metres per second."""
    return SNAP_SPEED_KMH * 1000.0 / _SECONDS_PER_HOUR


def _speeds(edges: pd.DataFrame) -> FloatArray:
    given = pd.to_numeric(_column(edges, "maxspeed_kmh"), errors="coerce")
    highway = _column(edges, "highway").astype("string")
    default = highway.map(DEFAULT_SPEEDS_KMH).astype(float).fillna(DEFAULT_SPEED_KMH)
    speed = given.where(given > 0, default).to_numpy(dtype=float)
    return np.asarray(speed, dtype=float)


def _column(edges: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of ``edges``, all null when absent (an optional canonical column)."""
    if name in edges.columns:
        return edges[name]
    return pd.Series(None, index=edges.index, dtype=object)


def _least(
    source: IntArray, target: IntArray, weight: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """The edges (source, target) sorted, each pair once with its least weight (at least
    :data:`_TINY`: csgraph reads an explicit 0 as no edge)."""
    order = np.lexsort((weight, target, source))
    source, target, weight = source[order], target[order], weight[order]
    first = np.ones(len(source), dtype=bool)
    first[1:] = (source[1:] != source[:-1]) | (target[1:] != target[:-1])
    return source[first], target[first], np.maximum(weight[first], _TINY)


def _from_sources(
    graph: RoadGraph, weights: FloatArray, nodes: IntArray, offsets: FloatArray
) -> FloatArray:
    """Every node's least ``offset + path`` to one of ``nodes`` in the original direction: one
    Dijkstra on the reversed graph from a virtual node joined to each of ``nodes`` (several
    facilities at a node: the least offset)."""
    # scipy only when a road network is analysed (about 0.5 s of every run's start otherwise)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = graph.size
    virtual = pd.Series(offsets).groupby(nodes).min()
    rows = np.concatenate([graph.rows, np.full(len(virtual), n)])
    cols = np.concatenate([graph.cols, virtual.index.to_numpy(dtype=np.intp)])
    values = np.concatenate([weights, np.maximum(virtual.to_numpy(dtype=float), _TINY)])
    matrix = csr_matrix((values, (rows, cols)), shape=(n + 1, n + 1))
    found: FloatArray = dijkstra(matrix, directed=True, indices=n)
    return found[:n]


def _zone_candidates(
    graph: RoadGraph, zone_geoms: npt.NDArray[np.object_]
) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs (zone, node, straight step): the nodes inside each zone (step 0) and its nearest
    node, within :data:`MAX_SNAP_M`."""
    inside_zone, inside_node = graph.tree.query(zone_geoms, predicate="intersects")
    (near_zone, near_node), step = graph.tree.query_nearest(
        zone_geoms, return_distance=True, all_matches=False
    )
    close = step <= MAX_SNAP_M
    zone_idx = np.concatenate([inside_zone, near_zone[close]]).astype(np.intp)
    node_idx = np.concatenate([inside_node, near_node[close]]).astype(np.intp)
    steps = np.concatenate([np.zeros(len(inside_zone)), step[close]])
    return zone_idx, node_idx, steps


def _best(zone_idx: IntArray, totals: FloatArray, n: int) -> FloatArray:
    best = np.full(n, np.inf)
    np.minimum.at(best, zone_idx, totals)
    return np.where(np.isfinite(best), best, np.nan)
