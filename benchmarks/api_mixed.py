"""Cheap requests while expensive ones run (``python -m benchmarks --only api-mixed``).

Serves the territory with ``geo-service serve`` (a whole process) and times cheap requests —
``/healthz`` and one zone, alternately, on one keep-alive connection — first on an idle
server (the baseline of the same run), then while four clients keep asking for expensive
pages: 1000 premises in a box over most of the territory, each at a new offset so that no
page comes from the cache. Target: the cheap requests' p99 stays under 50 ms under that load.
"""

from __future__ import annotations

import threading
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from benchmarks.api_latency import percentile, start_server
from benchmarks.common import Context, Figure
from geo_service import pipeline
from geo_service.model import OUTPUT_CRS
from geo_service.store import GeoPackageStore

NAME = "api-mixed"
TARGET_P99_MS = 50.0
EXPENSIVE_CLIENTS = 4


def _cheap_latencies(url: str, zone_id: str, seconds: float) -> list[float]:
    address = urlsplit(url)
    connection = HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)
    paths = ("/healthz", f"/collections/zones/items/{zone_id}")
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            path = paths[len(latencies) % 2]
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")
            time.sleep(0.01)
    finally:
        connection.close()
    return latencies


def _expensive_client(url: str, bbox: str, stop: threading.Event, times: list[float]) -> None:
    address = urlsplit(url)
    connection = HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=120)
    offset = 0
    try:
        while not stop.is_set():
            path = f"/collections/premises/items?bbox={bbox}&limit=1000&offset={offset}"
            start = time.perf_counter()
            connection.request("GET", path)
            connection.getresponse().read()
            times.append((time.perf_counter() - start) * 1000)
            offset += 997
    finally:
        connection.close()


def run(context: Context) -> list[Figure]:
    """Idle and loaded latencies of cheap requests, and the expensive pages' own."""
    data_dir = Path(context.data_dir)
    zones = pipeline.load_results(GeoPackageStore(data_dir)).zones.to_crs(OUTPUT_CRS)
    west, south, east, north = zones.total_bounds
    bbox = f"{west:.5f},{south:.5f},{east:.5f},{north:.5f}"
    seconds = 1.0 if context.smoke else 20.0  # a smoke run shows it works, not its figures
    process, url = start_server(data_dir, Path(context.workdir) / "serve-mixed.log")
    try:
        _cheap_latencies(url, str(zones.zone_id.iloc[0]), 1.0)  # warm up
        idle = _cheap_latencies(url, str(zones.zone_id.iloc[0]), seconds)
        stop = threading.Event()
        expensive: list[float] = []
        clients = [
            threading.Thread(target=_expensive_client, args=(url, bbox, stop, expensive))
            for _ in range(EXPENSIVE_CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(1.0)
        loaded = _cheap_latencies(url, str(zones.zone_id.iloc[0]), seconds)
        stop.set()
        for client in clients:
            client.join()
    finally:
        process.terminate()
        process.wait(timeout=30)
    idle_p99, loaded_p99 = percentile(idle, 99), percentile(loaded, 99)
    print(
        f"cheap requests, idle server:   p50 {percentile(idle, 50):6.1f} ms  p99 {idle_p99:6.1f} ms"
    )
    print(
        f"cheap requests, {EXPENSIVE_CLIENTS} expensive clients: "
        f"p50 {percentile(loaded, 50):6.1f} ms  p99 {loaded_p99:6.1f} ms  (n={len(loaded)})"
    )
    print(
        f"expensive pages (1000 premises in {bbox}): p50 {float(np.median(expensive)):.0f} ms, "
        f"{len(expensive)} served"
    )
    return [
        Figure(
            NAME,
            "cheap request p99 under expensive load",
            loaded_p99,
            "ms",
            baseline=idle_p99,
            target=context.target(TARGET_P99_MS),
            note=f"baseline: idle server; {EXPENSIVE_CLIENTS} clients of 1000-premises pages",
        ),
        Figure(NAME, "expensive page p50", float(np.median(expensive)), "ms"),
    ]
