"""A drivable road graph from OpenStreetMap ways, built as OSMnx builds it.

The rules are those of OSMnx 2.1 (``graph_from_xml`` / ``graph_from_polygon`` with
``network_type="drive"``), reimplemented on plain arrays so that an XML or a PBF extract
gives the same graph without building a NetworkX graph:

1. the ways kept are those passing OSMnx's ``drive`` filter (:func:`is_drivable`);
2. each way's consecutive duplicate nodes are dropped; it gives an edge per pair of
   consecutive nodes, forward, and backward unless it is one-way (``oneway`` yes/true/1,
   reversed for -1/reverse, and roundabouts);
3. unless every part is retained, only the largest weakly connected part is kept;
4. the graph is simplified: the interstitial nodes (two neighbours, two or four incident
   edges, in and out) are removed, the edges through them merged into one edge from one
   endpoint (intersection, dead end, one-way change) to the next, with the merged geometry;
   isolated rings (parts without an endpoint) are removed.

Lengths are great-circle lengths (OSMnx's earth radius) summed along each merged edge.
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby, pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

#: OSMnx's ``drive`` filter, as Overpass reads it: a ``highway`` tag, and no tag below
#: matching (unanchored regular expressions, as Overpass's ``!~``).
DRIVE_EXCLUDED: Final[dict[str, str]] = {
    "area": "yes",
    "access": "private",
    "highway": "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|"
    "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|"
    "service|services|steps|track",
    "motor_vehicle": "no",
    "motorcar": "no",
    "service": "alley|driveway|emergency_access|parking|parking_aisle|private",
}
_EXCLUDED: Final = {key: re.compile(pattern) for key, pattern in DRIVE_EXCLUDED.items()}
#: OSMnx's ``oneway`` values meaning one-way, and those meaning against the nodes' order.
ONEWAY: Final = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED: Final = frozenset({"-1", "reverse", "T"})
#: OSMnx's earth radius for great-circle lengths, metres.
EARTH_RADIUS_M: Final = 6_371_009.0


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether a way with ``tags`` passes OSMnx's ``drive`` filter."""
    if "highway" not in tags:
        return False
    return not any(key in tags and pattern.search(tags[key]) for key, pattern in _EXCLUDED.items())


@dataclass(frozen=True)
class Way:
    """An OSM way: its node ids in order and its tags."""

    way_id: int
    nodes: Sequence[int]
    tags: Mapping[str, str]


@dataclass
class SimpleGraph:
    """The simplified graph: its nodes, and its edges as node paths with the ways they follow
    (one way index per step of the path)."""

    nodes: list[int]
    paths: list[list[int]] = field(default_factory=list)
    ways: list[list[int]] = field(default_factory=list)
    #: Ways left out with the parts apart from the largest connected one.
    ways_apart: int = 0

    @property
    def edge_count(self) -> int:
        return len(self.paths)


def one_way(tags: Mapping[str, str]) -> bool:
    """OSMnx's one-way rule for a drivable (not bidirectional) network."""
    return tags.get("oneway") in ONEWAY or tags.get("junction") == "roundabout"


def build_graph(
    ways: Sequence[Way],
    *,
    extra_nodes: Iterable[int] = (),
    retain_all: bool = False,
) -> SimpleGraph:
    """The simplified directed multigraph of ``ways`` (already filtered; every node present),
    with ``extra_nodes`` as nodes without edges (OSMnx's ``graph_from_xml`` keeps every node
    of the file)."""
    # Millions of small containers and no cycle among them: the cyclic garbage collector's
    # passes would take most of the time (measured: 35 s -> 5 s on 80,000 ways).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_graph(ways, extra_nodes, retain_all)
    finally:
        if enabled:
            gc.enable()


def _build_graph(ways: Sequence[Way], extra_nodes: Iterable[int], retain_all: bool) -> SimpleGraph:
    edges: list[tuple[int, int, int]] = []
    for index, way in enumerate(ways):
        refs = [key for key, _ in groupby(way.nodes)]
        single = one_way(way.tags)
        if single and way.tags.get("oneway") in REVERSED:
            refs.reverse()
        steps = list(pairwise(refs))
        edges.extend((u, v, index) for u, v in steps)
        if not single:
            edges.extend((v, u, index) for u, v in steps)
    nodes = list(dict.fromkeys([*extra_nodes, *(n for e in edges for n in e[:2])]))
    apart = 0
    if not retain_all:
        every = {e[2] for e in edges}
        nodes, edges = _largest_part(nodes, edges)
        apart = len(every) - len({e[2] for e in edges})
    graph = _simplify(_Graph(nodes, edges))
    graph.ways_apart = apart
    return graph


class _Graph:
    """A directed multigraph with insertion-ordered adjacency (as NetworkX keeps it)."""

    def __init__(self, nodes: list[int], edges: list[tuple[int, int, int]]) -> None:
        self.nodes = nodes
        self.succ: dict[int, dict[int, list[int]]] = {n: {} for n in nodes}
        self.pred: dict[int, dict[int, list[int]]] = {n: {} for n in nodes}
        self.edges: list[tuple[list[int], list[int]]] = []
        for u, v, way in edges:
            self.add([u, v], [way])

    def add(self, path: list[int], ways: list[int]) -> None:
        u, v = path[0], path[-1]
        number = len(self.edges)
        self.edges.append((path, ways))
        self.succ[u].setdefault(v, []).append(number)
        self.pred[v].setdefault(u, []).append(number)

    def is_endpoint(self, node: int) -> bool:
        """OSMnx's ``_is_endpoint`` (strict: rules 1 to 3)."""
        succ, pred = self.succ[node], self.pred[node]
        neighbours = set(succ) | set(pred)
        if node in neighbours:
            return True
        out_degree = sum(len(e) for e in succ.values())
        in_degree = sum(len(e) for e in pred.values())
        if out_degree == 0 or in_degree == 0:
            return True
        return not (len(neighbours) == 2 and in_degree + out_degree in (2, 4))


def _simplify(graph: _Graph) -> SimpleGraph:
    endpoints = {n for n in graph.nodes if graph.is_endpoint(n)}
    merged: list[tuple[list[int], list[int]]] = []
    removed: set[int] = set()
    for endpoint in endpoints:
        for successor in graph.succ[endpoint]:
            if successor not in endpoints:
                path = _build_path(graph, endpoint, successor, endpoints)
                merged.append((path, _path_ways(graph, path)))
                removed.update(path[1:-1])
    nodes = [n for n in graph.nodes if n not in removed]
    simple = _Graph(nodes, [])
    for path, ways in [*graph.edges, *merged]:
        # as OSMnx removes the interstitial nodes with every edge at them, merged ones too
        if path[0] not in removed and path[-1] not in removed:
            simple.add(path, ways)
    return _without_rings(simple)


def _build_path(graph: _Graph, endpoint: int, first: int, endpoints: set[int]) -> list[int]:
    """OSMnx's ``_build_path``: from ``endpoint`` through ``first`` to the next endpoint."""
    path = [endpoint, first]
    for successor in graph.succ[first]:
        if successor in path:
            continue
        path.append(successor)
        while successor not in endpoints:
            onward = [n for n in graph.succ[successor] if n not in path]
            if len(onward) == 1:
                successor = onward[0]
                path.append(successor)
            elif not onward:
                # the end of a self-looping path closes it; else an OSM digitisation quirk
                return [*path, endpoint] if endpoint in graph.succ[successor] else path
            else:  # pragma: no cover - an interstitial node has one way onward
                raise AssertionError(f"node {successor}: impossible simplification")
        return path
    return path


def _path_ways(graph: _Graph, path: list[int]) -> list[int]:
    """The way of each step of ``path`` (the first edge when several join the two nodes)."""
    return [graph.edges[graph.succ[u][v][0]][1][0] for u, v in pairwise(path)]


def _without_rings(graph: _Graph) -> SimpleGraph:
    """``graph`` without its weakly connected parts that have no endpoint (isolated rings)."""
    labels = _parts(graph.nodes, [(p[0], p[-1]) for p, _ in graph.edges])
    has_endpoint = Counter(
        label for node, label in zip(graph.nodes, labels, strict=True) if graph.is_endpoint(node)
    )
    label_of = dict(zip(graph.nodes, labels, strict=True))
    nodes = [n for n in graph.nodes if has_endpoint[label_of[n]]]
    out = SimpleGraph(nodes)
    for path, ways in graph.edges:
        if has_endpoint[label_of[path[0]]]:
            out.paths.append(path)
            out.ways.append(ways)
    return out


def _parts(nodes: list[int], pairs: Sequence[tuple[int, int]]) -> npt.NDArray[np.int32]:
    """The weakly connected part label of each of ``nodes``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = {n: i for i, n in enumerate(nodes)}
    rows = np.fromiter((index[u] for u, _ in pairs), dtype=np.int64, count=len(pairs))
    cols = np.fromiter((index[v] for _, v in pairs), dtype=np.int64, count=len(pairs))
    matrix = coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(matrix, directed=True, connection="weak")
    return np.asarray(labels, dtype=np.int32)


def _largest_part(
    nodes: list[int], edges: list[tuple[int, int, int]]
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """The nodes and edges of the largest weakly connected part (by nodes)."""
    if not nodes:
        return nodes, edges
    labels = _parts(nodes, [(u, v) for u, v, _ in edges])
    largest = int(np.bincount(labels).argmax())
    keep = {n for n, label in zip(nodes, labels, strict=True) if label == largest}
    return [n for n in nodes if n in keep], [e for e in edges if e[0] in keep]


def great_circle_m(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The great-circle length of each step between consecutive points, metres."""
    phi = np.radians(lat)
    dphi = np.diff(phi)
    dlam = np.radians(np.diff(lon))
    h = np.sin(dphi / 2) ** 2 + np.cos(phi[:-1]) * np.cos(phi[1:]) * np.sin(dlam / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))), dtype=float)


def graph_edges(
    graph: SimpleGraph,
    ways: Sequence[Way],
    coordinates: Mapping[int, tuple[float, float]],
) -> tuple[pd.DataFrame, list[shapely.LineString]]:
    """The ``road_network`` columns and WGS84 lines of ``graph``'s edges: ``length_m`` the
    summed great-circle lengths; ``highway`` and ``name`` those of the way covering most of
    the edge; ``maxspeed_kmh`` the speed giving the edge's travel time when every way of it
    has a readable ``maxspeed`` (one way: its speed), else empty (the highway's default)."""
    rows: list[dict[str, object]] = []
    lines: list[shapely.LineString] = []
    for path, steps in zip(graph.paths, graph.ways, strict=True):
        xy = np.array([coordinates[n] for n in path], dtype=float)
        lengths = great_circle_m(xy[:, 0], xy[:, 1])
        by_way: dict[int, float] = {}
        for way, metres in zip(steps, lengths, strict=True):
            by_way[way] = by_way.get(way, 0.0) + float(metres)
        main = ways[max(by_way, key=lambda w: by_way[w])].tags
        speeds = [speed_kmh(ways[w].tags.get("maxspeed")) for w in by_way]
        total = float(lengths.sum())
        speed: float | None = None
        if all(s is not None for s in speeds):
            hours = sum(m / s for m, s in zip(by_way.values(), speeds, strict=True) if s)
            speed = total / hours if hours > 0 else speeds[0]
        rows.append(
            {
                "from_node": str(path[0]),
                "to_node": str(path[-1]),
                "length_m": round(total, 3),
                "maxspeed_kmh": None if speed is None else round(speed, 1),
                "highway": main.get("highway"),
                "name": next(
                    (ways[w].tags["name"] for w in by_way if "name" in ways[w].tags), None
                ),
            }
        )
        lines.append(shapely.LineString(xy))
    return pd.DataFrame(rows, columns=list(EDGE_COLUMNS)), lines


#: The ``road_network`` columns :func:`graph_edges` gives (``edge_id`` is added by the reader).
EDGE_COLUMNS: Final = ("from_node", "to_node", "length_m", "maxspeed_kmh", "highway", "name")
_SPEED: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?")
_MPH_KMH: Final = 1.609344


def first_value(value: object) -> str | None:
    """A value that OSMnx may have written as a list (``['a', 'b']``): its first."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        parts = [p.strip().strip("'\"") for p in text[1:-1].split(",")]
        text = next((p for p in parts if p), "")
    return text or None


def speed_kmh(value: object) -> float | None:
    """A ``maxspeed`` (``50``, ``30 mph``, ``['50', '70']``) in km/h; None when unreadable."""
    text = first_value(value)
    match = _SPEED.match(text or "")
    if match is None:
        return None
    speed = float(match.group(1)) * (_MPH_KMH if match.group(2) else 1.0)
    return speed if speed > 0 else None
