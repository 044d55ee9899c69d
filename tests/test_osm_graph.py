"""The OSM road graph is built and simplified as OSMnx builds it: compared with osmnx itself
on random extracts (one-way streets, roundabouts, loops, rings, repeated nodes), and the drive
filter on hand-picked tags."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from geo_service.sources.osm_graph import Way, build_graph, great_circle_m, is_drivable

ox = pytest.importorskip("osmnx")


def random_extract(seed: int) -> tuple[list[int], list[Way]]:
    rng = random.Random(seed)
    side = 7
    nodes = [r * side + c + 1 for r in range(side) for c in range(side)]
    ways: list[Way] = []
    for way_id in range(1, rng.randint(4, 16)):
        node = rng.choice(nodes)
        path = [node]
        for _ in range(rng.randint(1, 8)):
            r, c = divmod(node - 1, side)
            dr, dc = rng.choice([(0, 1), (1, 0), (0, -1), (-1, 0)])
            r, c = min(max(r + dr, 0), side - 1), min(max(c + dc, 0), side - 1)
            node = r * side + c + 1
            path.append(node)
        if rng.random() < 0.15:
            path.append(path[0])  # a loop
        if rng.random() < 0.1:
            path.insert(1, path[0])  # a repeated node
        tags = {"highway": "residential"}
        oneway = rng.choice(["", "", "yes", "-1", "no", "roundabout"])
        if oneway == "roundabout":
            tags["junction"] = "roundabout"
        elif oneway:
            tags["oneway"] = oneway
        ways.append(Way(way_id, path, tags))
    # an isolated ring
    ring = [1001, 1002, 1003, 1001]
    ways.append(Way(999, ring, {"highway": "residential", "oneway": "yes"}))
    return [*nodes, 1001, 1002, 1003], ways


def write_xml(path: Path, nodes: list[int], ways: list[Way]) -> None:
    parts = ['<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">']
    for n in nodes:
        parts.append(f'<node id="{n}" lat="{45 + n / 1000:.6f}" lon="{4 + (n % 7) / 100:.6f}"/>')
    for way in ways:
        refs = "".join(f'<nd ref="{n}"/>' for n in way.nodes)
        tags = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in way.tags.items())
        parts.append(f'<way id="{way.way_id}">{refs}{tags}</way>')
    parts.append("</osm>")
    path.write_text("".join(parts), encoding="utf-8")


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("retain_all", [True, False])
def test_graph_matches_osmnx(tmp_path: Path, seed: int, retain_all: bool) -> None:
    nodes, ways = random_extract(seed)
    xml = tmp_path / "extract.osm"
    write_xml(xml, nodes, ways)
    expected = ox.graph_from_xml(xml, retain_all=retain_all)
    graph = build_graph(ways, extra_nodes=nodes, retain_all=retain_all)
    assert sorted(graph.nodes) == sorted(expected.nodes)
    ends = Counter((p[0], p[-1]) for p in graph.paths)
    assert ends == Counter((u, v) for u, v, _ in expected.edges(keys=True))


def test_merged_lengths_are_osmnx_great_circle_lengths(tmp_path: Path) -> None:
    nodes, ways = random_extract(3)
    xml = tmp_path / "extract.osm"
    write_xml(xml, nodes, ways)
    expected = ox.graph_from_xml(xml, retain_all=True)
    coords = {n: (4 + (n % 7) / 100, 45 + n / 1000) for n in nodes}
    graph = build_graph(ways, extra_nodes=nodes, retain_all=True)
    ours = sorted(
        round(float(great_circle_m(*zip(*(coords[n] for n in p), strict=True)).sum()), 3)
        for p in graph.paths
    )
    theirs = sorted(round(d["length"], 3) for *_, d in expected.edges(data=True))
    assert ours == pytest.approx(theirs, abs=0.01)


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "primary"}, True),
        ({"highway": "residential", "oneway": "yes"}, True),
        ({"highway": "motorway_link"}, True),
        ({"highway": "service"}, False),
        ({"highway": "footway"}, False),
        ({"highway": "track"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_drive_filter(tags: dict[str, str], drivable: bool) -> None:
    assert is_drivable(tags) is drivable
