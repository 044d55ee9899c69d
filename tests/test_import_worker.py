"""Imports run in a worker process bounded in memory and time (``geo_service.bounded``).

A file can keep GDAL or GEOS busy for hours holding the GIL, or make them allocate without end:
run in a thread, it stalls every reader of the server. Here, work that holds the GIL is stopped
at its time limit while the caller's other threads keep running, work that allocates too much
is stopped at its memory limit, both with a message naming the file and the setting; and
through a real server, ``/healthz`` answers in < 200 ms while a slow upload is imported and
then stopped, the store unchanged. The same server closes connections whose request heads
come too slowly (slowloris), and answers 408 to requests whose bodies do, readers still fast.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import geopandas as gpd
import httpx
import numpy as np
import pyogrio
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from hostile.corpus import CASES, Case, write_corpus
from test_api_server import _free_port, _wait_until_up
from test_hostile import KEY, KEY_HASH, X0, Y0, _baseline, snapshot
from typer.testing import CliRunner

from geo_service.api import create_app
from geo_service.bounded import Bounds, WorkerFailureError, run_bounded
from geo_service.cli import app as cli
from geo_service.errors import LimitExceededError, ParameterError
from geo_service.import_worker import SQLITE_WRITE_OPTIONS, import_bounded, import_bounds
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore
from tests.conftest import descendants

#: Longest answer of /healthz while an import runs: what these tests catch is a server
#: stalled by the import (a file refused inside C code holding the GIL stalls it for
#: seconds: a million vertices in GEOS). 0.2 s was missed once (0.28 s) on this 2-core
#: machine loaded by the whole suite, with nothing stalled; 0.5 s still catches half a second.
MAX_READ_SECONDS = 0.5


def _backtrack() -> None:
    # exponential backtracking inside the re module's C code, which never releases the GIL
    re.match(r"(a+)+$", "a" * 64 + "b")


def _allocate(mb: int) -> int:
    return len(bytearray(mb * 1_000_000))


def _refuse() -> None:
    raise ParameterError("crs", "expected EPSG:2154")


def _fail() -> None:
    raise KeyError("locaux")


def _abort() -> None:
    os.kill(os.getpid(), signal.SIGABRT)  # as C++ code does on std::bad_alloc


def _double(value: int) -> int:
    return 2 * value


class _Ticker:
    """A thread noting the time every 10 ms: the longest gap is how long it was stalled."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ticks.append(time.perf_counter())
            time.sleep(0.01)

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def longest_gap(self) -> float:
        return max(b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False))


def test_work_holding_the_gil_is_stopped_at_its_time_limit() -> None:
    run_bounded(_double, 1, bounds=Bounds(memory_mb=2000, timeout_s=30), what="warm-up")
    start = time.perf_counter()
    with _Ticker() as ticker, pytest.raises(LimitExceededError) as refused:
        run_bounded(_backtrack, bounds=Bounds(memory_mb=2000, timeout_s=1.0), what="view.gpkg")
    elapsed = time.perf_counter() - start
    assert refused.value.message.startswith(
        "view.gpkg: not finished after 1 s (GEO_SERVICE_IMPORT_TIMEOUT_S), stopped; "
        "the store is unchanged"
    )
    assert 1.0 <= elapsed < 5.0
    # held in this process, the GIL would stall the ticker for the whole second; on a loaded
    # machine a sleeping thread may wake late, hence half of it
    assert len(ticker.ticks) > 20
    assert ticker.longest_gap < 0.5


def test_work_allocating_too_much_is_stopped_at_its_memory_limit() -> None:
    bounds = Bounds(memory_mb=1000, timeout_s=60)
    with pytest.raises(LimitExceededError, match=r"^big\.tif: needed more than 1000 MB of memory"):
        run_bounded(_allocate, 3000, bounds=bounds, what="big.tif")
    with pytest.raises(LimitExceededError, match=r"GEO_SERVICE_IMPORT_MEMORY_MB"):
        run_bounded(_abort, bounds=bounds, what="big.tif")
    assert run_bounded(_allocate, 100, bounds=bounds, what="small.tif") == 100_000_000


def test_values_and_errors_cross_from_the_worker() -> None:
    bounds = Bounds(memory_mb=2000, timeout_s=60)
    assert run_bounded(_double, 21, bounds=bounds, what="x") == 42
    with pytest.raises(ParameterError) as refused:
        run_bounded(_refuse, bounds=bounds, what="x")
    assert refused.value.parameter == "crs"
    assert refused.value.message == "parameter 'crs': expected EPSG:2154"
    with pytest.raises(WorkerFailureError) as failed:
        run_bounded(_fail, bounds=bounds, what="x")
    assert (failed.value.kind, failed.value.detail) == ("KeyError", "'locaux'")


def _slow_double(value: int) -> int:
    time.sleep(5)
    return 2 * value


def _interrupted_when_answered(monkeypatch: pytest.MonkeyPatch, after_s: float) -> None:
    """Ctrl-C arriving while the caller waits for the worker, ``after_s`` into the wait (or when
    the answer comes, if sooner)."""
    from multiprocessing.connection import Connection

    poll = Connection.poll

    def interrupted(self: Connection, timeout: float | None = 0.0) -> bool:
        if not timeout:
            return poll(self, timeout)
        poll(self, min(timeout, after_s))
        raise KeyboardInterrupt

    monkeypatch.setattr(Connection, "poll", interrupted)


def test_ctrl_c_just_after_the_work_finished_reports_it_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bounds = Bounds(memory_mb=2000, timeout_s=60)
    _interrupted_when_answered(monkeypatch, after_s=60)
    assert run_bounded(_double, 21, bounds=bounds, what="x") == 42  # done: its answer stands
    _interrupted_when_answered(monkeypatch, after_s=0.3)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_bounded(_slow_double, 21, bounds=bounds, what="x")  # stopped, not waited for
    assert time.perf_counter() - start < 3


def _write_later(path: Path) -> None:
    time.sleep(1.0)
    path.write_text("written", "utf-8")


def test_ctrl_c_while_the_worker_is_being_started_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C arriving after the fork server was asked for the worker, before the caller knows
    its pid, is raised once the worker is the caller's: the worker is stopped, never writes."""
    import multiprocessing.forkserver

    read_signed = multiprocessing.forkserver.read_signed

    def interrupted(fd: int) -> int:  # reads the worker's pid
        os.kill(os.getpid(), signal.SIGINT)
        return read_signed(fd)

    written = tmp_path / "written"
    monkeypatch.setattr(multiprocessing.forkserver, "read_signed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_bounded(_write_later, written, bounds=Bounds(memory_mb=2000, timeout_s=60), what="x")
    monkeypatch.undo()
    assert run_bounded(_double, 2, bounds=Bounds(memory_mb=2000, timeout_s=60), what="x") == 4
    time.sleep(1.5)  # past the moment the worker would have written
    assert not written.exists()


def _sqlite_options() -> dict[str, object]:
    """GDAL's SQLite settings of this process (None: not set)."""
    return {name: pyogrio.get_gdal_config_option(name) for name in SQLITE_WRITE_OPTIONS}


def _import_then_sqlite_options(settings: Settings, path: Path) -> dict[str, object]:
    """In a worker: an import, then GDAL's SQLite settings as it left them."""
    from geo_service import import_worker

    import_worker._import(settings, "zones", [path], {})
    return _sqlite_options()


def test_the_sqlite_write_settings_are_the_import_workers_only(
    tmp_path: Path, zones: gpd.GeoDataFrame
) -> None:
    """GDAL's SQLite settings of the imports are process-global: the worker that imports has
    them; its caller (the command, the server, here this test) never does, after imports by
    the function and by the API."""
    path = tmp_path / "zones.gpkg"
    zones.to_file(path)
    settings = Settings(database_url=None, data_dir=tmp_path / "data", api_key_hash=KEY_HASH)
    _, report, _ = import_bounded(settings, "zones", [path])
    assert report.rows_kept == len(zones)
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/layers/zones",
            files=[("file", ("zones.gpkg", path.read_bytes(), "application/geopackage+sqlite3"))],
            headers={"X-API-Key": KEY},
        )
    assert answer.status_code == 200, answer.text
    assert _sqlite_options() == dict.fromkeys(SQLITE_WRITE_OPTIONS)
    in_worker = run_bounded(
        _import_then_sqlite_options,
        settings,
        path,
        bounds=import_bounds(settings),
        what=path.name,
    )
    assert None not in in_worker.values()
    assert in_worker["OGR_SQLITE_CACHE"] == int(SQLITE_WRITE_OPTIONS["OGR_SQLITE_CACHE"])
    assert GeoPackageStore(tmp_path / "data").read_layer("zones")["zone_id"].tolist() == list(
        zones["zone_id"]
    )


#: Premises whose import is stopped while it reads them: it takes several seconds here (300,000
#: took 1.8 s since issue 18, so that a time limit of 1.5 s could stop it while it wrote its
#: temporary file, which a stopped import leaves for the next write to remove).
SLOW_ROWS: Final = 1_000_000


def _premises_csv(path: Path, rows: int) -> Path:
    lines = (
        f"p{i};1;THD30;{5.30 + (i % 1000) * 1e-4:.5f};{43.20 + (i // 1000) * 1e-4:.5f}"
        for i in range(rows)
    )
    path.write_text("premises_id;locaux;down_class;lon;lat\n" + "\n".join(lines) + "\n", "utf-8")
    return path


@contextlib.contextmanager
def _serving(tmp_path: Path, **settings: str) -> Iterator[tuple[str, GeoPackageStore]]:
    """``geo-service serve`` over a small territory, with the settings given
    (``GEO_SERVICE_...``), its URL and its store."""
    store = GeoPackageStore(tmp_path / "data")
    _baseline(store)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "GEO_SERVICE_API_KEY_HASH": KEY_HASH, **settings}
    command = [sys.executable, "-m", "geo_service", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data")]
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url, store
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, GeoPackageStore]]:
    """``geo-service serve`` over a small territory, imports limited to 1.5 s, request heads
    to 1 s, request bodies to 3 s."""
    with _serving(
        tmp_path,
        GEO_SERVICE_IMPORT_TIMEOUT_S="1.5",
        GEO_SERVICE_REQUEST_HEAD_TIMEOUT_S="1",
        GEO_SERVICE_REQUEST_BODY_TIMEOUT_S="3",
    ) as serving:
        yield serving


def _warm_up(reader: httpx.Client) -> None:
    """The server's first write loads the multipart parser and builds validators: once, before
    latencies are measured."""
    reader.get("/healthz")
    refused = reader.post(
        "/layers/zones",
        files=[("file", ("empty.csv", b"", "text/csv"))],
        headers={"X-API-Key": KEY},
    )
    assert refused.status_code == 400, refused.text


def _read_during(uploading: threading.Thread, reader: httpx.Client) -> list[float]:
    """Start ``uploading`` and time ``/healthz`` requests until it ends."""
    latencies: list[float] = []
    uploading.start()
    while uploading.is_alive():
        start = time.perf_counter()
        assert reader.get("/healthz").status_code == 200
        latencies.append(time.perf_counter() - start)
        time.sleep(0.02)
    uploading.join()
    return latencies


def test_readers_stay_fast_while_an_upload_is_imported_then_stopped(
    served: tuple[str, GeoPackageStore], tmp_path: Path
) -> None:
    url, store = served
    csv = _premises_csv(tmp_path / "premises.csv", SLOW_ROWS)
    before = snapshot(store)
    answers: list[httpx.Response] = []

    def upload() -> None:
        with csv.open("rb") as body:
            answers.append(
                httpx.post(
                    f"{url}/layers/premises",
                    files=[("file", ("premises.csv", body, "text/csv"))],
                    headers={"X-API-Key": KEY},
                    timeout=60,
                )
            )

    uploading = threading.Thread(target=upload)
    with httpx.Client(base_url=url, timeout=10) as reader:
        _warm_up(reader)
        latencies = _read_during(uploading, reader)
    (answer,) = answers
    assert answer.status_code == 413, answer.text
    assert answer.json()["description"].startswith(
        "premises.csv: not finished after 1.5 s (GEO_SERVICE_IMPORT_TIMEOUT_S), stopped"
    )
    assert len(latencies) >= 10
    assert max(latencies) < MAX_READ_SECONDS, sorted(latencies)[-5:]
    assert snapshot(store) == before


def test_a_connection_sending_its_head_too_slowly_is_closed(
    served: tuple[str, GeoPackageStore],
) -> None:
    url, _ = served
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        start = time.perf_counter()
        closed = False
        while time.perf_counter() - start < 5:
            try:
                slow.sendall(b"X")  # a header one byte at a time, never ended
            except OSError:
                closed = True
                break
            slow.settimeout(0.3)
            try:
                closed = slow.recv(1024) == b""
            except TimeoutError:
                continue
            if closed:
                break
        elapsed = time.perf_counter() - start
    assert closed
    assert 0.5 < elapsed < 3.0
    # a keep-alive client asking in time is served, its deadline renewed by each answer
    with httpx.Client(base_url=url, timeout=10) as reader:
        for _ in range(4):
            assert reader.get("/healthz").status_code == 200
            time.sleep(0.6)


def test_an_upload_body_sent_too_slowly_is_answered_408_readers_fast(
    served: tuple[str, GeoPackageStore],
) -> None:
    url, store = served
    port = int(url.rsplit(":", 1)[1])
    before = snapshot(store)
    boundary = "slowloris"
    head = (
        f"POST /layers/zones HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        "Content-Length: 100000000\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="zones.csv"\r\nContent-Type: text/csv\r\n\r\nzone_id,name,wkt\n'
    ).encode()
    latencies: list[float] = []
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as slow,
        httpx.Client(base_url=url, timeout=10) as reader,
    ):
        reader.get("/healthz")
        slow.sendall(head)  # the head in time, then the body a byte every 50 ms
        start = time.perf_counter()
        slow.settimeout(0.05)
        answer = b""
        while time.perf_counter() - start < 10:
            try:
                slow.sendall(b"Z")
            except OSError:
                break
            try:
                chunk = slow.recv(65536)
            except TimeoutError:
                chunk = None
            if chunk == b"":
                break  # closed by the server
            answer += chunk or b""
            began = time.perf_counter()
            assert reader.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"connection: close" in status.lower()
    assert body.decode().startswith(
        '{"code":"RequestTimeout","description":"the request body did not arrive within 3 s '
        "(GEO_SERVICE_REQUEST_BODY_TIMEOUT_S; 0.0 MB received)"
    ), body
    assert 2.5 < elapsed < 6.0, elapsed
    assert len(latencies) >= 10
    assert max(latencies) < MAX_READ_SECONDS, sorted(latencies)[-5:]
    assert snapshot(store) == before


#: The corpus files that cost the server the most to refuse (the slowest first: a million
#: vertices takes seconds of GEOS), and those that once froze it (recursive views).
_WORST = (
    "a million vertices",
    "gzip bomb",
    "zip of 20,000 members",
    "ten million and one rows",
    "a million columns",
    "one gigantic line",
    "zip whose directory lies",
    "zip bomb",
    "sparse GeoTIFF of 900 million pixels",
    "GeoPackage layer that is a recursive view",
    "zipped GeoPackage whose layer is a recursive view",
)


def test_readers_stay_fast_while_the_worst_files_of_the_corpus_are_uploaded(
    tmp_path: Path,
) -> None:
    cases = [c for c in CASES if c.name in _WORST]
    assert len(cases) == len(_WORST)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_corpus(corpus, cases)
    with _serving(tmp_path) as (url, store):  # the default limits
        before = snapshot(store)
        latencies: dict[str, list[float]] = {}
        with httpx.Client(base_url=url, timeout=10) as reader:
            _warm_up(reader)
            for case in cases:
                answers: list[httpx.Response] = []

                def upload(case: Case = case, answers: list[httpx.Response] = answers) -> None:
                    files = [
                        ("file", (name, (corpus / name).read_bytes(), "application/octet-stream"))
                        for name in case.files
                    ]
                    answers.append(
                        httpx.post(
                            f"{url}/layers/{case.layer}",
                            files=files,
                            data={"crs": case.crs} if case.crs else {},
                            headers={"X-API-Key": KEY},
                            timeout=120,
                        )
                    )

                latencies[case.name] = _read_during(threading.Thread(target=upload), reader)
                (answer,) = answers
                assert 400 <= answer.status_code < 500, (case.name, answer.text)
                assert re.search(case.expect, answer.json()["description"]), answer.text
        assert snapshot(store) == before
    worst = {name: max(t) for name, t in latencies.items() if t}
    print("longest /healthz per upload:", {n: f"{1000 * t:.0f} ms" for n, t in worst.items()})
    assert sum(len(t) for t in latencies.values()) >= 20
    assert max(worst.values()) < MAX_READ_SECONDS, worst


def _sparse_tif(path: Path, side: int) -> Path:
    profile = {
        "driver": "GTiff",
        "width": side,
        "height": side,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:2154",
        "transform": Affine(10, 0, X0, 0, -10, Y0 + 10 * side),
        "nodata": float("nan"),
        "tiled": True,
        "compress": "deflate",
        "sparse_ok": True,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((256, 256), 50.0, dtype=np.float32), 1, window=((0, 256), (0, 256)))
    return path


def test_an_upload_needing_more_memory_than_its_limit_is_refused(tmp_path: Path) -> None:
    # 15,000 x 15,000 pixels, within the pixel bound, 900 MB once read: past a 1000 MB worker
    tif = _sparse_tif(tmp_path / "coverage.tif", 15_000)
    settings = Settings(
        database_url=None, data_dir=tmp_path / "data", api_key_hash=KEY_HASH, import_memory_mb=1000
    )
    app = create_app(settings)
    store = app.state.workspace.store
    _baseline(store)
    before = snapshot(store)
    with TestClient(app) as client:
        answer = client.post(
            "/layers/coverage",
            files=[("file", ("coverage.tif", tif.read_bytes(), "image/tiff"))],
            headers={"X-API-Key": KEY},
        )
    assert answer.status_code == 413, answer.text
    assert answer.json()["description"].startswith(
        "coverage.tif: needed more than 1000 MB of memory (GEO_SERVICE_IMPORT_MEMORY_MB), stopped"
    )
    assert snapshot(store) == before


def test_the_cli_stops_an_import_past_its_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GeoPackageStore(tmp_path / "data")
    _baseline(store)
    before = snapshot(store)
    csv = _premises_csv(tmp_path / "premises.csv", SLOW_ROWS)
    monkeypatch.setenv("GEO_SERVICE_IMPORT_TIMEOUT_S", "1")
    result = CliRunner().invoke(
        cli, ["import", "premises", str(csv), "--data-dir", str(tmp_path / "data")]
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert output.startswith(
        "Error: premises.csv: not finished after 1 s (GEO_SERVICE_IMPORT_TIMEOUT_S), stopped; "
        "the store is unchanged."
    ), output
    assert snapshot(store) == before


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_input_that_is_not_a_regular_file_is_named_as_such(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        path = tmp_path / "zones.csv"
        os.mkfifo(path)  # opening it to read would block until a writer came
        expected = "is a named pipe (FIFO)"
    else:
        path, expected = Path("/dev/zero"), "is a device"  # endless
    result = CliRunner().invoke(
        cli, ["import", "zones", str(path), "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 2, result.output
    assert " ".join(result.output.split()) == f"Error: {path}: {expected}; expected a data file"


@pytest.mark.parametrize(
    ("target", "when"),
    [
        ("process", "reading"),
        ("process group", "reading"),
        ("process", "starting"),
        ("process group", "starting"),
    ],
)
def test_ctrl_c_during_a_cli_import_says_so_and_leaves_the_store_unchanged(
    target: str, when: str, tmp_path: Path
) -> None:
    store = GeoPackageStore(tmp_path / "data")
    _baseline(store)
    before = snapshot(store)
    csv = _premises_csv(tmp_path / "premises.csv", SLOW_ROWS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    command = [sys.executable, "-m", "geo_service", "import", "premises", str(csv)]
    command += ["--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        # with Ctrl-C's default action, as a terminal gives it: a test suite run in the
        # background (``make test &``) ignores SIGINT, and so would the command, rightly.
        preexec_fn=_default_sigint,
    )
    # Below the command: the resource tracker and the fork server, then the import's worker.
    # "starting": the command and the fork server are loading the importers, the worker is to
    # be created (Ctrl-C while it is: test_ctrl_c_while_the_worker_is_being_started_stops_it);
    # the fork server, which the process group's Ctrl-C reaches too, goes on loading them;
    # "reading" waits until one of them has the file open.
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            _reading(process.pid, csv) if when == "reading" else _loading(process.pid)
        ):
            time.sleep(0.02)
        assert process.poll() is None, process.communicate()
        if target == "process":
            process.send_signal(signal.SIGINT)
        else:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    assert err.strip() == "Interrupted; the store is unchanged.", out + err
    assert "Traceback" not in out + err
    # No worker left running, to write the store after the command said it unchanged: none
    # holds the file open (a worker outliving the command reads it within a second or two).
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert not _holding(csv)
        time.sleep(0.1)
    assert snapshot(store) == before


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _reading(pid: int, path: Path) -> bool:
    """Whether a process below ``pid`` has ``path`` open."""
    for child in descendants(pid):
        try:
            if any(fd.readlink() == path for fd in Path(f"/proc/{child}/fd").iterdir()):
                return True
        except OSError:
            continue
    return False


def _loading(pid: int) -> bool:
    """Whether the fork server below ``pid`` is loading the importers (it has numpy already)."""
    for child in descendants(pid):
        try:
            if b"forkserver" in Path(f"/proc/{child}/cmdline").read_bytes() and (
                "/numpy/" in Path(f"/proc/{child}/maps").read_text()
            ):
                return True
        except OSError:
            continue
    return False


def _holding(path: Path) -> list[int]:
    """The processes that have ``path`` open."""
    holders = []
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if fd.readlink() == path:
                holders.append(int(fd.parent.parent.name))
        except OSError:
            continue
    return holders
