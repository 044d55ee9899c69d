"""Bounded load test: concurrent readers on 127.0.0.1 while a layer is imported through the API.

``python -m benchmarks.load_test [--clients 100] [--seconds 30] [--scale demo|departement]``
builds and analyses the demo territory in a temporary directory, starts ``geo-service serve``
on a free loopback port with an API key, then runs N client threads (keep-alive
``http.client`` connections, closed loop) for S seconds over a mix of reads: zone items with
paging and bounding boxes, land items, a zone's details, "what is here?", the territory map
and a zone's opinion (JSON). A third of the way in, a writer uploads a second version of the
zones layer (a tenth of the zones dropped, the others renamed) to ``POST /layers/zones`` and
re-runs the analysis with other thresholds (``POST /analysis``).

Every answer is checked: no 5xx, no connection error, and no partial data: an items page's
``numberMatched`` is the zone count of one of the two runs and its features carry the names
of the same version; a zone's status follows the thresholds of the run it reports (so its
properties and its run information come from one analysis); a zone of the first version that
the second dropped may answer 404, nothing else may. The figures: throughput, p50/p99 latency
before, during and after the import (the "before" phase is the baseline of the same run),
and the count of failures, which must be zero. Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import numpy as np

from benchmarks import api_latency
from geo_service import pipeline
from geo_service.api.auth import hash_api_key
from geo_service.model import OUTPUT_CRS
from geo_service.settings import AnalysisParams
from geo_service.store import GeoPackageStore

STARTUP_SECONDS = 900
#: Thresholds of the analysis run in the middle of the test (the first run uses the defaults).
SECOND_RUN = {"served_thd30_share": 0.8, "unserved_bhd8_share": 0.3}
RENAMED = "v2 "


@dataclass
class Territory:
    """What the checks need to know of the two versions of the data."""

    zone_counts: tuple[int, int]
    kept_ids: list[str]
    dropped_ids: list[str]
    here_points: list[tuple[float, float]]
    bboxes: list[str]
    zones_v2: Path


@dataclass
class Tally:
    """Latencies and failures, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[tuple[float, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    zone_counts_seen: set[int] = field(default_factory=set)

    def record(self, start: float, seconds: float) -> None:
        """One answered request."""
        with self.lock:
            self.samples.append((start, seconds))

    def fail(self, message: str) -> None:
        """One failed request (kept for the report)."""
        with self.lock:
            self.failures.append(message)


@dataclass(frozen=True)
class Report:
    """The figures of one load test."""

    clients: int
    seconds: float
    requests: int
    failures: list[str]
    per_second: float
    phases: dict[str, tuple[int, float, float]]
    import_seconds: float
    analysis_seconds: float
    zone_counts_seen: tuple[int, ...] = ()

    def lines(self) -> list[str]:
        """The report, printable."""
        out = [
            f"{self.clients} clients for {self.seconds:.0f} s: {self.requests} requests, "
            f"{self.per_second:.0f} req/s, {len(self.failures)} failed",
            f"import through the API: {self.import_seconds:.2f} s; "
            f"analysis through the API: {self.analysis_seconds:.2f} s; zone counts served: "
            f"{', '.join(str(n) for n in self.zone_counts_seen)}",
        ]
        baseline = self.phases.get("before", (0, float("nan"), float("nan")))
        for phase, (count, p50, p99) in self.phases.items():
            ratio = p99 / baseline[2] if baseline[2] > 0 else float("nan")
            out.append(
                f"  {phase:<7} n={count:<7} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms"
                f"  (p99 {ratio:4.2f} x before)"
            )
        out.extend(f"  FAILED: {message}" for message in self.failures[:10])
        return out


def prepare(data_dir: Path, scale: str) -> Territory:
    """Build and analyse the demo territory, and write the second version of the zones."""
    store = GeoPackageStore(data_dir)
    pipeline.build_demo_store(store, scale=scale)
    pipeline.analyze_store(store, AnalysisParams())
    zones = store.read_layer(pipeline.ZONES)
    rng = np.random.default_rng(9)
    dropped = rng.choice(len(zones), size=max(1, len(zones) // 10), replace=False)
    second = zones.drop(index=zones.index[dropped]).copy()
    second["name"] = RENAMED + second["name"].astype(str)
    path = data_dir / "zones-v2.gpkg"
    second.to_file(path, driver="GPKG", layer="zones")
    results = store.read_layer(pipeline.ZONE_RESULTS).to_crs(OUTPUT_CRS)
    points = results.geometry.representative_point()
    west, south, east, north = results.total_bounds
    boxes = []
    for _ in range(20):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        boxes.append(f"{lon - 0.05:.4f},{lat - 0.05:.4f},{lon + 0.05:.4f},{lat + 0.05:.4f}")
    return Territory(
        zone_counts=(len(zones), len(second)),
        kept_ids=[str(i) for i in second["zone_id"]],
        dropped_ids=[str(zones["zone_id"].iloc[i]) for i in dropped],
        here_points=[(p.x, p.y) for p in points],
        bboxes=boxes,
        zones_v2=path,
    )


def start_server(data_dir: Path, key: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``geo-service serve`` on a free loopback port with the API key's hash configured (and
    no other setting from this environment); returns the process and its port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    env["GEO_SERVICE_API_KEY_HASH"] = hash_api_key(key)
    process, url = api_latency.start_server(data_dir, log, env, STARTUP_SECONDS)
    return process, int(urlsplit(url).port or 0)


# -- the reads and their checks -------------------------------------------------------------

Check = Callable[[int, Any], str | None]


def _items_check(territory: Territory, bbox: bool) -> Check:
    def check(status: int, body: Any) -> str | None:
        if status != 200:
            return f"status {status}"
        if not bbox and body["numberMatched"] not in territory.zone_counts:
            return f"numberMatched {body['numberMatched']} is neither version's count"
        if body["numberReturned"] != len(body["features"]):
            return "numberReturned differs from the features"
        renamed = {f["properties"]["name"].startswith(RENAMED) for f in body["features"]}
        if len(renamed) > 1:
            return "a page mixes zones of both versions"
        first_run = body["numberMatched"] == territory.zone_counts[0]
        if not bbox and renamed == {True} and first_run:
            return "renamed zones with the first version's count"
        return None

    return check


def _zone_check(territory: Territory, zone_id: str) -> Check:
    may_vanish = zone_id in territory.dropped_ids

    def check(status: int, body: Any) -> str | None:
        if status == 404 and may_vanish:
            return None
        if status != 200:
            return f"status {status}"
        thresholds = body["run"]["thresholds"]
        metrics = body["metrics"]
        if body["status_basis"] != "premises" or metrics["share_thd30"] is None:
            return None
        if metrics["share_thd30"] >= thresholds["served_thd30_share"]:
            expected = "served"
        elif metrics["share_bhd8"] < thresholds["unserved_bhd8_share"]:
            expected = "unserved"
        else:
            expected = "underserved"
        if body["status"] != expected:
            return f"status {body['status']} does not follow its run's thresholds ({expected})"
        return None

    return check


def _ok(expected: tuple[int, ...] = (200,)) -> Check:
    def check(status: int, body: Any) -> str | None:
        return None if status in expected else f"status {status}"

    return check


def _requests(territory: Territory, rng: random.Random) -> tuple[str, Check, bool]:
    """One read of the mix: its path, its check, and whether its body is JSON."""
    roll = rng.random()
    ids = territory.kept_ids + territory.dropped_ids
    if roll < 0.35:
        limit = rng.choice((10, 50, 100))
        offset = rng.randrange(0, max(territory.zone_counts), 10)
        bbox = rng.random() < 0.4
        if bbox:
            path = f"/collections/zones/items?limit={limit}&bbox={rng.choice(territory.bboxes)}"
        else:
            path = f"/collections/zones/items?limit={limit}&offset={offset}"
        return path, _items_check(territory, bbox), True
    if roll < 0.45:
        return f"/collections/land/items?limit=20&offset={rng.randrange(0, 200)}", _ok(), True
    if roll < 0.70:
        zone_id = rng.choice(ids)
        return f"/zones/{quote(zone_id, safe='')}", _zone_check(territory, zone_id), True
    if roll < 0.88:
        lon, lat = rng.choice(territory.here_points)
        return f"/here?lon={lon:.6f}&lat={lat:.6f}", _ok(), True
    if roll < 0.94:
        zone_id = rng.choice(ids)
        expected = (200, 404) if zone_id in territory.dropped_ids else (200,)
        return f"/zones/{quote(zone_id, safe='')}/opinion", _ok(expected), True
    return "/maps/territory", _ok(), False


@dataclass
class Deadline:
    """When the clients stop: not before ``at`` (``time.monotonic()``), nor while the writer
    is ``writing`` (it pushes ``at`` back when it is done)."""

    at: float
    writing: bool = True

    def passed(self) -> bool:
        """Whether the clients should stop."""
        return not self.writing and time.monotonic() >= self.at


def _client(port: int, territory: Territory, deadline: Deadline, tally: Tally, seed: int) -> None:
    import json

    rng = random.Random(seed)
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        while not deadline.passed():
            path, check, is_json = _requests(territory, rng)
            start = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                raw = response.read()
            except (OSError, ConnectionError) as exc:
                tally.fail(f"{path}: {type(exc).__name__}: {exc}")
                connection.close()
                connection = HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            tally.record(start, time.perf_counter() - start)
            if response.status >= 500:
                tally.fail(f"{path}: status {response.status}")
                continue
            body: Any = None
            if is_json and response.status == 200:
                body = json.loads(raw)
                if path.startswith("/collections/zones/items") and "bbox=" not in path:
                    with tally.lock:
                        tally.zone_counts_seen.add(int(body["numberMatched"]))
            problem = check(response.status, body)
            if problem:
                tally.fail(f"{path}: {problem}")
    finally:
        connection.close()


def _writer(port: int, key: str, territory: Territory, at: float, times: dict[str, float]) -> None:
    time.sleep(max(0.0, at - time.monotonic()))
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        times["import_start"] = time.perf_counter()
        with territory.zones_v2.open("rb") as handle:
            files = {"file": (territory.zones_v2.name, handle, "application/geopackage+sqlite3")}
            uploaded = client.post("/layers/zones", files=files, headers=headers)
        times["import_end"] = time.perf_counter()
        if uploaded.status_code != 200:
            raise RuntimeError(f"the import failed: {uploaded.status_code} {uploaded.text}")
        analysed = client.post("/analysis", json=SECOND_RUN, headers=headers)
        times["analysis_end"] = time.perf_counter()
        if analysed.status_code != 200:
            raise RuntimeError(f"the analysis failed: {analysed.status_code} {analysed.text}")


def run_load(
    clients: int, seconds: float, scale: str = "demo", workdir: Path | None = None
) -> Report:
    """Run the load test and return its figures (see the module's description)."""
    with tempfile.TemporaryDirectory(prefix="geo-service-load-", dir=workdir) as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        territory = prepare(data_dir, scale)
        print(f"territory '{scale}' built and analysed in {time.perf_counter() - started:.1f} s")
        key = secrets.token_urlsafe(32)
        process, port = start_server(data_dir, key, Path(tmp) / "serve.log")
        try:
            return _run(port, key, territory, clients, seconds)
        finally:
            process.terminate()
            process.wait(timeout=60)


def _warm_up(port: int, territory: Territory) -> None:
    """One request of each kind, so that the "before" phase measures a warm server."""
    rng = random.Random(0)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        page = client.get("/maps/territory")
        if "server" in page.headers:
            raise RuntimeError(f"the server names itself: {page.headers['server']}")
        for _ in range(20):
            client.get(_requests(territory, rng)[0])


def _run(port: int, key: str, territory: Territory, clients: int, seconds: float) -> Report:
    _warm_up(port, territory)
    tally = Tally()
    times: dict[str, float] = {}
    begin = time.monotonic()
    # the load lasts ``seconds``, and at least a third of it past the end of the write, so
    # that the "after" phase exists however long the import and the analysis take
    deadline = Deadline(begin + seconds)
    writer_errors: list[str] = []

    def write() -> None:
        try:
            _writer(port, key, territory, begin + seconds / 3, times)
        except Exception as exc:
            writer_errors.append(str(exc))
        finally:
            deadline.at = max(deadline.at, time.monotonic() + seconds / 3)
            deadline.writing = False

    threads = [
        threading.Thread(target=_client, args=(port, territory, deadline, tally, n))
        for n in range(clients)
    ]
    writer = threading.Thread(target=write)
    start = time.perf_counter()
    for thread in [*threads, writer]:
        thread.start()
    for thread in [*threads, writer]:
        thread.join()
    wall = time.perf_counter() - start
    for message in writer_errors:
        tally.fail(f"writer: {message}")
    return _report(tally, times, clients, seconds, wall)


def _report(
    tally: Tally, times: dict[str, float], clients: int, seconds: float, wall: float
) -> Report:
    import_start = times.get("import_start", float("inf"))
    write_end = times.get("analysis_end", float("inf"))
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": [], "all": []}
    for start, elapsed in tally.samples:
        phase = "before" if start < import_start else "during" if start < write_end else "after"
        phases[phase].append(elapsed * 1000)
        phases["all"].append(elapsed * 1000)
    figures = {
        name: (len(values), float(np.percentile(values, 50)), float(np.percentile(values, 99)))
        for name, values in phases.items()
        if values
    }
    return Report(
        clients=clients,
        seconds=wall,
        requests=len(tally.samples),
        failures=tally.failures,
        per_second=len(tally.samples) / wall,
        phases=figures,
        import_seconds=times.get("import_end", float("nan")) - times.get("import_start", 0.0),
        analysis_seconds=times.get("analysis_end", float("nan")) - times.get("import_end", 0.0),
        zone_counts_seen=tuple(sorted(tally.zone_counts_seen, reverse=True)),
    )


def main(argv: list[str] | None = None) -> int:
    """The command line: run the load test, print its figures, 1 if any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (100)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration in seconds (30)")
    parser.add_argument("--scale", choices=("demo", "departement"), default="demo")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 500 and 1 <= args.seconds <= 600):
        parser.error("--clients must be 1..500 and --seconds 1..600")
    report = run_load(args.clients, args.seconds, args.scale)
    for line in report.lines():
        print(line)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
