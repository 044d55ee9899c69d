"""Latency of the JSON API (``python -m benchmarks --only api``, or this module alone).

Builds and analyses the demo territory at the given scale in a temporary directory, starts
``geo-service serve`` on 127.0.0.1 (a free port), and measures p50/p99 latency of
``/collections/zones/items?limit=100`` and of ``/here?lon=..&lat=..`` at concurrency 1 and 32
(closed loop: each of N client threads sends its next request when the previous one is
answered; bounded in requests and in time). Baselines measured in the same run:

- ``/healthz`` over the same server and load: the floor of HTTP + framework overhead;
- a straightforward uncached implementation, in-process and without HTTP: read the zone
  results from the store, reproject, serialise 100 features (``GeoDataFrame.to_json``); and
  for the point query, read the layers and overlay the point with ``sjoin``/``sjoin_nearest``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import httpx
import numpy as np
import shapely

from benchmarks.common import Context, Figure, format_table, free_port
from geo_service import pipeline
from geo_service.model import OUTPUT_CRS
from geo_service.settings import AnalysisParams
from geo_service.store import GeoPackageStore

ZONES_ITEMS = "/collections/zones/items?limit=100"
HERE = "/here?lon=..&lat=.."
STARTUP_SECONDS = 600
SCENARIO_SECONDS = 60.0
TARGET_P99_MS = 50.0
NAME = "api"


@dataclass(frozen=True)
class Figures:
    """Latencies of one scenario, in milliseconds, and the throughput."""

    p50: float
    p99: float
    requests: int
    per_second: float


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``."""
    return float(np.percentile(np.asarray(values), q))


def load(base: str, paths: list[str], concurrency: int, requests: int, warmup: int = 0) -> Figures:
    """Send ``requests`` GETs over ``concurrency`` keep-alive connections; latencies in ms.

    Each client thread (stdlib ``http.client``, light enough not to dominate the figures)
    cycles through ``paths``; its first ``warmup`` requests are not measured. The run stops
    after :data:`SCENARIO_SECONDS` whatever the count.
    """
    address = urlsplit(base)
    latencies: list[float] = []
    spans: list[tuple[float, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_client = max(1, requests // concurrency)
    deadline = time.monotonic() + SCENARIO_SECONDS

    def client(number: int) -> None:
        connection = HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        try:
            for i in range(warmup + per_client):
                if time.monotonic() > deadline:
                    return
                path = paths[(number * per_client + i) % len(paths)]
                start = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                end = time.perf_counter()
                with lock:
                    if response.status != 200:
                        errors.append(f"{path}: {response.status}")
                    if i >= warmup:
                        latencies.append((end - start) * 1000)
                        spans.append((start, end))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return Figures(
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        requests=len(latencies),
        per_second=len(latencies) / wall,
    )


def timed(work: Callable[[], object], repeat: int) -> Figures:
    """p50/p99 of ``work()`` run ``repeat`` times in-process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return Figures(percentile(times, 50), percentile(times, 99), repeat, 1000 / np.mean(times))


def naive_zone_items(store: GeoPackageStore) -> str:
    """The zones page the straightforward way: read, reproject, serialise."""
    zones = store.read_layer(pipeline.ZONE_RESULTS).to_crs(OUTPUT_CRS)
    text: str = zones.head(100).to_json()
    return text


def naive_here(store: GeoPackageStore, lon: float, lat: float) -> dict[str, object]:
    """The point query the straightforward way: read the layers, ``sjoin`` the point."""
    point = gpd.GeoDataFrame(geometry=[shapely.Point(lon, lat)], crs=OUTPUT_CRS).to_crs("EPSG:2154")
    zones = gpd.sjoin(point, store.read_layer(pipeline.ZONE_RESULTS), predicate="within")
    communes = gpd.sjoin(point, store.read_layer(pipeline.COMMUNES), predicate="within")
    x, y = point.geometry.iloc[0].x, point.geometry.iloc[0].y
    nearby = store.read_layer(pipeline.PREMISES, bbox=(x - 500, y - 500, x + 500, y + 500))
    nearest = gpd.sjoin_nearest(point, nearby, max_distance=500) if len(nearby) else None
    return {"zones": len(zones), "communes": len(communes), "nearest": nearest is not None}


def here_paths(store: GeoPackageStore, count: int, seed: int = 7) -> list[str]:
    """Point queries: half inside zones, half anywhere in the territory (deterministic)."""
    zones = store.read_layer(pipeline.ZONE_RESULTS).to_crs(OUTPUT_CRS)
    rng = np.random.default_rng(seed)
    inside = zones.geometry.representative_point().sample(
        n=min(count // 2, len(zones)), random_state=seed
    )
    min_lon, min_lat, max_lon, max_lat = zones.total_bounds
    points = [(p.x, p.y) for p in inside]
    while len(points) < count:
        points.append((rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)))
    return [f"/here?lon={lon:.6f}&lat={lat:.6f}" for lon, lat in points]


def start_server(
    data_dir: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
    startup_seconds: float = STARTUP_SECONDS,
) -> tuple[subprocess.Popen[bytes], str]:
    """``geo-service serve`` on a free loopback port; returns the process and its URL once it
    answers. ``env`` is its environment (default: this one, without
    ``GEO_SERVICE_DATABASE_URL`` so that it serves the GeoPackage store of ``data_dir``)."""
    port = free_port()
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "GEO_SERVICE_DATABASE_URL"}
    command = [sys.executable, "-m", "geo_service", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()}")
        try:
            answer = httpx.get(f"{url}/healthz", timeout=2)
            # /healthz answers "loading" while the server loads its layers: wait for them.
            if answer.status_code == 200 and answer.json().get("status") == "ok":
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"the server did not answer within {startup_seconds} s")


def _rss_gib(pid: int) -> float:
    """Resident memory of process ``pid`` in GiB (Linux), NaN when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def _row(label: str, figures: Figures) -> str:
    return (
        f"{label:<40} p50 {figures.p50:8.2f} ms  p99 {figures.p99:8.2f} ms"
        f"  {figures.per_second:7.0f} req/s  n={figures.requests}"
    )


def run(context: Context) -> list[Figure]:
    """Serve the context's territory and measure every scenario ``repeat`` times (medians)."""
    data_dir = Path(context.data_dir)
    store = GeoPackageStore(data_dir)
    points = here_paths(store, 200)
    start = time.perf_counter()
    process, url = start_server(data_dir, Path(context.workdir) / "serve.log")
    print(f"server: up (layers loaded, indexes built) in {time.perf_counter() - start:.1f} s")
    print(f"server memory (RSS): {_rss_gib(process.pid):.2f} GiB")
    scenarios = {
        "/healthz": ["/healthz"],
        ZONES_ITEMS: [ZONES_ITEMS],
        HERE: points,
    }
    served: dict[tuple[str, int], Figures] = {}
    print(
        f"{context.requests} requests per scenario, {context.repeat} runs each "
        "(closed loop, keep-alive clients); medians of the runs"
    )
    try:
        for concurrency in (1, 32):
            print(f"concurrency {concurrency}")
            for label, paths in scenarios.items():
                runs = [
                    load(url, paths, concurrency, context.requests, warmup=3)
                    for _ in range(context.repeat)
                ]
                figures = Figures(
                    p50=float(np.median([r.p50 for r in runs])),
                    p99=float(np.median([r.p99 for r in runs])),
                    requests=sum(r.requests for r in runs),
                    per_second=float(np.median([r.per_second for r in runs])),
                )
                served[(label, concurrency)] = figures
                print(_row(label, figures))
    finally:
        process.terminate()
        process.wait(timeout=30)
    lon, lat = (float(part.split("=")[1]) for part in points[0].split("?")[1].split("&"))
    naive_runs = max(3, context.repeat * 3)
    naive = {
        ZONES_ITEMS: timed(lambda: naive_zone_items(store), naive_runs),
        HERE: timed(lambda: naive_here(store, lon, lat), naive_runs),
    }
    print("straightforward uncached implementation, in-process (no HTTP), concurrency 1")
    for label, figures in naive.items():
        print(_row(label, figures))
    out = []
    for label, short in ((ZONES_ITEMS, "zones items"), (HERE, "here")):
        for concurrency in (1, 32):
            figures = served[(label, concurrency)]
            floor = served[("/healthz", concurrency)]
            target = (
                context.target(TARGET_P99_MS) if (label, concurrency) == (ZONES_ITEMS, 32) else None
            )
            out += [
                Figure(
                    NAME,
                    f"{short} p50, concurrency {concurrency}",
                    figures.p50,
                    "ms",
                    naive[label].p50 if concurrency == 1 else None,
                    note="baseline: straightforward, in-process" if concurrency == 1 else "",
                ),
                Figure(
                    NAME,
                    f"{short} p99, concurrency {concurrency}",
                    figures.p99,
                    "ms",
                    naive[label].p99 if concurrency == 1 else floor.p99,
                    target,
                    note="baseline: straightforward"
                    if concurrency == 1
                    else "baseline: /healthz, the HTTP floor",
                ),
            ]
    out.append(
        Figure(
            NAME,
            "zones items throughput, concurrency 32",
            served[(ZONES_ITEMS, 32)].per_second,
            "req/s",
            served[("/healthz", 32)].per_second,
            higher_is_better=True,
            note="baseline: /healthz",
        )
    )
    return out


def main() -> None:
    """Build the data, start the server, measure and print the figures (:func:`run`, once)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_latency", description=__doc__)
    parser.add_argument("--scale", default="departement", choices=["demo", "departement"])
    parser.add_argument("--requests", type=int, default=640, help="requests per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "territory"
        store = GeoPackageStore(data_dir)
        start = time.perf_counter()
        pipeline.build_demo_store(store, scale=args.scale)
        pipeline.analyze_store(store, AnalysisParams())
        print(
            f"data: '{args.scale}' demo built and analysed in {time.perf_counter() - start:.1f} s"
        )
        context = Context(
            scale=args.scale,
            repeat=1,
            smoke=False,
            workdir=Path(tmp),
            data_dir=data_dir,
            database_url=None,
            buildings=0,
            baseline_buildings=0,
            requests=args.requests,
            national_blocks=None,
        )
        print(format_table(run(context)))


if __name__ == "__main__":
    main()
