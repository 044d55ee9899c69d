"""Transport-access benchmark: what the access of every zone adds to a département's analysis.

Times :func:`geo_service.analysis.transport.transport_access` on the département demo (500
zones, its stops, stations, interchanges and airport): straight-line distances only, then with
a regional-size road graph (a 250 m grid over the territory: about 170,000 nodes and 690,000
directed edges). Target (issue 17): ≤ 3 s added to the analysis with the road graph.

    python -m benchmarks --only transport      (part of every ``python -m benchmarks`` run)
    python -m benchmarks.transport [--step-m 250]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import shapely

from benchmarks.common import Context, Figure
from geo_service.analysis.transport import TransportLayers, transport_access
from geo_service.demo import build_demo
from geo_service.demo_transport import demo_transport
from geo_service.model import CANONICAL_CRS

TARGET_SECONDS: Final = 3.0
NAME = "transport"
#: Grid spacing of the road graph: regional size, and a seconds-long smoke run.
STEP_M: Final = 250.0
SMOKE_STEP_M: Final = 2000.0


def grid_roads(bounds: tuple[float, float, float, float], step: float) -> gpd.GeoDataFrame:
    """A square grid of two-way residential streets ``step`` metres apart over ``bounds``."""
    xmin, ymin, xmax, ymax = bounds
    xs, ys = np.arange(xmin, xmax, step), np.arange(ymin, ymax, step)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(len(xs)), np.arange(len(ys)), indexing="ij"))
    starts, ends, lines = [], [], []
    for di, dj in ((1, 0), (0, 1)):
        ok = (i + di < len(xs)) & (j + dj < len(ys))
        i0, j0 = i[ok], j[ok]
        starts.append(i0 * len(ys) + j0)
        ends.append((i0 + di) * len(ys) + j0 + dj)
        a = np.stack([xs[i0], ys[j0]], axis=1)
        b = np.stack([xs[i0 + di], ys[j0 + dj]], axis=1)
        lines.append(shapely.linestrings(np.stack([a, b], axis=1)))
    u, v, geoms = np.concatenate(starts), np.concatenate(ends), np.concatenate(lines)
    both = len(u) * 2
    return gpd.GeoDataFrame(
        {
            "edge_id": np.arange(both).astype(str),
            "from_node": np.r_[u, v].astype(str),
            "to_node": np.r_[v, u].astype(str),
            "length_m": np.full(both, step),
            "maxspeed_kmh": np.nan,
            "highway": "residential",
        },
        geometry=np.r_[geoms, shapely.reverse(geoms)],
        crs=CANONICAL_CRS,
    )


def stored_layers(
    data_dir: Path,
) -> tuple[gpd.GeoDataFrame, TransportLayers, tuple[float, float, float, float]]:
    """The zones, the transport layers and the communes' bounds (the road grid's extent, as
    in :func:`main`) of the benchmark's territory store."""
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(data_dir)
    layers = TransportLayers(
        *(
            store.read_layer(name) if store.has_layer(name) else None
            for name in ("transit_stops", "rail_stations", "road_access", "hubs")
        )
    )
    zones = store.read_layer("zones")
    extent = store.read_layer("communes") if store.has_layer("communes") else zones
    return zones, layers, tuple(extent.total_bounds)


def run(context: Context) -> list[Figure]:
    """Time the transport access of the territory's zones, straight-line and by road."""
    zones, base, bounds = stored_layers(Path(context.data_dir))
    step = SMOKE_STEP_M if context.smoke else STEP_M
    roads = grid_roads(bounds, step)
    nodes = len(set(roads["from_node"]))
    by_road_layers = TransportLayers(
        base.transit_stops, base.rail_stations, base.road_access, base.hubs, roads
    )
    straight, by_road = [], []
    for _ in range(context.repeat):
        start = time.perf_counter()
        transport_access(zones, base)
        straight.append(time.perf_counter() - start)
        start = time.perf_counter()
        transport_access(zones, by_road_layers)
        by_road.append(time.perf_counter() - start)
    graph = f"{len(zones)} zones; grid road graph {nodes:,} nodes, {len(roads):,} edges"
    print(f"transport: {graph}")
    return [
        Figure(NAME, "access, straight lines", statistics.median(straight), "s", note=graph),
        Figure(
            NAME,
            "access with a road graph",
            statistics.median(by_road),
            "s",
            baseline=statistics.median(straight),
            target=context.target(TARGET_SECONDS),
            note="baseline: straight lines only",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-m", type=float, default=250.0, help="grid spacing of the roads")
    args = parser.parse_args()
    territory = build_demo("departement")
    layers = demo_transport(territory, 2154)
    base = TransportLayers(
        layers["transit_stops"], layers["rail_stations"], layers["road_access"], layers["hubs"]
    )
    roads = grid_roads(tuple(territory.communes.total_bounds), args.step_m)
    nodes = len(set(roads["from_node"]))
    print(f"{len(territory.zones)} zones, {len(layers['transit_stops'])} stops")
    print(f"road graph: {nodes:,} nodes, {len(roads):,} directed edges")
    start = time.perf_counter()
    transport_access(territory.zones, base)
    straight = time.perf_counter() - start
    start = time.perf_counter()
    with_roads = TransportLayers(
        base.transit_stops, base.rail_stations, base.road_access, base.hubs, roads
    )
    transport_access(territory.zones, with_roads)
    by_road = time.perf_counter() - start
    verdict = "PASS" if by_road <= TARGET_SECONDS else "MISS"
    print(f"transport access, straight lines   {straight:6.2f} s")
    print(
        f"transport access, with road graph  {by_road:6.2f} s "
        f"(target ≤ {TARGET_SECONDS} s: {verdict})"
    )


if __name__ == "__main__":
    main()
