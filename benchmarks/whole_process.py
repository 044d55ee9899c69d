"""Whole-process benchmark: commands as users run them, each beside a straightforward baseline.

Each command runs in a fresh process (Python start-up, imports, reading, validation, analysis
and writing included), ``--repeat`` times; the figures are the minimum and the median
wall-clock times and the peak memory of the process tree. Each has a baseline run as a whole
process in the same run, and the same work done inside this process (no start-up, imports
already made) as a second column:

- ``geo-service analyze`` on the store, and on files (``--zones --premises --land --raster
  --out``, GeoParquet): baseline :mod:`benchmarks.plain_script` (read with geopandas,
  ``sjoin``, ``groupby`` with Python functions, one raster mask per zone, CSV written);
- ``geo-service import premises`` of the territory's premises as GeoParquet: baseline
  ``plain_script import`` (``read_parquet`` then ``to_file``, no validation);
- ``geo-service serve`` until it answers ``/healthz`` (at once, ``"loading"``), and until it
  has loaded its layers (``/healthz`` says ``"ok"``): baseline :mod:`benchmarks.plain_server`
  (the zone results and premises read with geopandas, FastAPI and uvicorn, then listening);
- ``geo-service opinion --all-flagged`` on the demo territory (PDF; JSON in ``--smoke``),
  each run on a copy of the store as it was before any opinion (the same documents each time):
  baseline one ``geo-service opinion --zone`` process per flagged zone, as a shell loop would
  run them (three timed, one in ``--smoke``, scaled to the flagged count); the in-process
  figure is one run (none in ``--smoke``);
- ``geo-service --help``.

Targets (issue 18, département scale): analyze on the store ≤ 0.5 × the baseline and ≤ 2.0 s,
peak ≤ 1 GB; on files ≤ 0.5 × the baseline; import ≤ 4 s; serve ≤ 5 s; opinions ≤ 8 s;
``--help`` ≤ 0.4 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from benchmarks.common import Context, Figure, free_port, median_seconds, run_measured

NAME: Final = "whole"
TARGET_RATIO: Final = 0.5
TARGET_ANALYZE_SECONDS: Final = 2.0
TARGET_HELP_SECONDS: Final = 0.4
TARGET_IMPORT_SECONDS: Final = 4.0
TARGET_SERVE_SECONDS: Final = 5.0
TARGET_OPINIONS_SECONDS: Final = 8.0
#: Single-zone opinion processes timed for the opinions' baseline.
BASELINE_OPINIONS: Final = 3
_READY_SECONDS: Final = 300.0
#: Pause between the questions whether a server that answers is loaded.
_LOADED_POLL_S: Final = 0.5


@dataclass(frozen=True)
class Timed:
    """Wall-clock minimum and median of fresh processes, and their peak memory (bytes)."""

    minimum: float
    median: float
    peak: int

    def scaled(self, factor: float) -> Timed:
        """These times multiplied by ``factor`` (the memory is that of one process)."""
        return Timed(self.minimum * factor, self.median * factor, self.peak)


def _cli() -> str:
    return str(Path(sys.executable).with_name("geo-service"))


def _times(
    command: Sequence[str],
    env: dict[str, str],
    repeat: int,
    before: Callable[[], None] | None = None,
) -> Timed:
    """:class:`Timed` of ``command`` over ``repeat`` fresh processes, each after ``before``
    (untimed) when given."""
    seconds, peaks = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        measured = run_measured(command, env=env)
        if measured.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{measured.output[-2000:]}")
        seconds.append(measured.seconds)
        peaks.append(measured.peak_bytes)
    return Timed(min(seconds), statistics.median(seconds), max(peaks))


def _ready_times(
    command: Callable[[int], list[str]], env: dict[str, str], repeat: int, log: Path
) -> tuple[Timed, Timed]:
    """:class:`Timed` of a server started by ``command(port)`` until ``/healthz`` first answers
    200 (asked every 20 ms), and until it answers that the server is loaded (any other status
    than ``"loading"``: geo-service answers ``/healthz`` while it loads its layers), asked
    every :data:`_LOADED_POLL_S` as a health probe would: asked 50 times a second, the answers
    compete with the loading for the interpreter and it takes up to twice as long."""
    first, loaded = [], []
    for _ in range(repeat):
        port = free_port()
        start = time.perf_counter()
        with log.open("w") as output:
            process = subprocess.Popen(
                command(port), stdout=output, stderr=subprocess.STDOUT, env=env
            )
        url = f"http://127.0.0.1:{port}/healthz"
        try:
            first.append(_wait_ready(process, url, log, loaded=False) - start)
            loaded.append(_wait_ready(process, url, log, loaded=True) - start)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return (
        Timed(min(first), statistics.median(first), 0),
        Timed(min(loaded), statistics.median(loaded), 0),
    )


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, *, loaded: bool) -> float:
    pause = _LOADED_POLL_S if loaded else 0.02
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()[-2000:]}")
        try:
            answer = httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.02)
            continue
        if answer.status_code == 200 and not (loaded and answer.json().get("status") == "loading"):
            return time.perf_counter()
        time.sleep(pause)
    raise RuntimeError(f"{url} did not answer within {_READY_SECONDS} s")


@dataclass(frozen=True)
class Row:
    """One command: its whole-process times, its baseline's and the in-process median."""

    label: str
    timed: Timed
    baseline: Timed | None
    in_process: float | None
    baseline_label: str = ""


def _print(rows: Sequence[Row]) -> None:
    print(
        f"{'':44}{'min':>9}{'median':>9}{'peak RSS':>10}{'in-process':>12}"
        f"{'baseline min':>14}{'median':>9}{'ratio':>8}"
    )
    for row in rows:
        peak = f"{row.timed.peak / 1e9:8.2f}GB" if row.timed.peak else f"{'—':>10}"
        inner = f"{row.in_process:11.2f}s" if row.in_process is not None else f"{'—':>12}"
        base = (
            f"{row.baseline.minimum:13.2f}s{row.baseline.median:8.2f}s"
            f"{row.timed.median / row.baseline.median:7.2f}x"
            if row.baseline is not None
            else ""
        )
        print(f"{row.label:44}{row.timed.minimum:8.2f}s{row.timed.median:8.2f}s{peak}{inner}{base}")
        if row.baseline_label:
            print(f"{'':4}baseline: {row.baseline_label}")


def _prepare_files(context: Context) -> dict[str, Path]:
    """The territory's zones, premises and land as GeoParquet, and its coverage GeoTIFF."""
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(context.data_dir)
    folder = context.workdir / "files"
    folder.mkdir(exist_ok=True)
    files = {}
    for name in ("zones", "premises", "land"):
        files[name] = folder / f"{name}.parquet"
        store.read_layer(name).to_parquet(files[name])
    files["raster"] = folder / "coverage.tif"
    shutil.copyfile(store.path("coverage"), files["raster"])
    return files


def _demo_dir(context: Context) -> Path:
    """A store with the demo territory analysed: the context's at demo scale, else built."""
    if context.scale == "demo":
        return context.data_dir
    from geo_service import pipeline
    from geo_service.settings import AnalysisParams
    from geo_service.store import GeoPackageStore

    data_dir = context.workdir / "demo"
    store = GeoPackageStore(data_dir)
    pipeline.build_demo_store(store, scale="demo")
    pipeline.analyze_store(store, AnalysisParams())
    return data_dir


def _store_analysis(context: Context, env: dict[str, str]) -> Row:
    from geo_service import pipeline
    from geo_service.settings import AnalysisParams
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(context.data_dir)
    baseline = _times(
        [
            sys.executable,
            "-m",
            "benchmarks.plain_script",
            str(context.data_dir / "store"),
            str(context.workdir / "baseline.csv"),
        ],
        env,
        context.repeat,
    )
    timed = _times([_cli(), "analyze", "--top", "0"], env, context.repeat)
    inner = median_seconds(lambda: pipeline.analyze_store(store, AnalysisParams()), context.repeat)
    return Row("geo-service analyze (store)", timed, baseline, inner, "plain geopandas script")


def _files_analysis(context: Context, env: dict[str, str], files: dict[str, Path]) -> Row:
    from geo_service import pipeline
    from geo_service.settings import AnalysisParams

    names = ("zones", "premises", "land", "raster")
    baseline = _times(
        [
            sys.executable,
            "-m",
            "benchmarks.plain_script",
            "files",
            *(str(files[n]) for n in names),
            str(context.workdir / "baseline-files.csv"),
        ],
        env,
        context.repeat,
    )
    out = context.workdir / "results.parquet"
    options = [arg for n in names for arg in (f"--{n}", str(files[n]))]
    timed = _times(
        [_cli(), "analyze", *options, "--out", str(out), "--top", "0"], env, context.repeat
    )

    def in_process() -> None:
        inputs, _ = pipeline.read_input_files(
            zones=files["zones"],
            premises=files["premises"],
            land=files["land"],
            raster=files["raster"],
        )
        pipeline.analyze_inputs(inputs, AnalysisParams()).zones.to_parquet(out)

    inner = median_seconds(in_process, context.repeat)
    return Row("geo-service analyze (GeoParquet files)", timed, baseline, inner, "plain script")


def _premises_import(context: Context, env: dict[str, str], files: dict[str, Path]) -> Row:
    from geo_service import pipeline
    from geo_service.store import GeoPackageStore

    source = str(files["premises"])
    baseline = _times(
        [
            sys.executable,
            "-m",
            "benchmarks.plain_script",
            "import",
            source,
            str(context.workdir / "plain-premises.gpkg"),
        ],
        env,
        context.repeat,
    )
    target = context.workdir / "import"
    timed = _times(
        [_cli(), "import", "premises", source],
        {**env, "GEO_SERVICE_DATA_DIR": str(target)},
        context.repeat,
    )
    store = GeoPackageStore(target)
    inner = median_seconds(
        lambda: pipeline.import_files(store, "premises", [files["premises"]]), context.repeat
    )
    return Row(
        "geo-service import premises (GeoParquet)",
        timed,
        baseline,
        inner,
        "read_parquet + to_file GPKG, no validation",
    )


def _serve(context: Context, env: dict[str, str]) -> tuple[Row, Row]:
    from geo_service.api import create_app
    from geo_service.api.app import warm_up
    from geo_service.settings import Settings

    log = context.workdir / "serve-ready.log"
    store = str(context.data_dir / "store")
    _, baseline = _ready_times(
        lambda port: [sys.executable, "-m", "benchmarks.plain_server", store, str(port)],
        env,
        context.repeat,
        log,
    )
    first, loaded = _ready_times(
        lambda port: [_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env,
        context.repeat,
        log,
    )
    settings = Settings(data_dir=context.data_dir, database_url=None)
    inner = median_seconds(lambda: warm_up(create_app(settings)), context.repeat)
    served = "zone results and premises read with geopandas, FastAPI + uvicorn"
    return (
        Row("geo-service serve until /healthz answers", first, baseline, None, served),
        Row("geo-service serve until loaded", loaded, baseline, inner, served),
    )


def _opinions(context: Context, env: dict[str, str]) -> Row:
    from geo_service import pipeline
    from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
    from geo_service.opinions.model import OpinionKind
    from geo_service.settings import Settings
    from geo_service.store import GeoPackageStore
    from geo_service.workspace import Workspace

    pristine = context.workdir / "demo-before-opinions"
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(_demo_dir(context), pristine)
    data_dir = context.workdir / "demo-opinions"
    demo_env = {**env, "GEO_SERVICE_DATA_DIR": str(data_dir)}
    fmt = OpinionFormat.JSON if context.smoke else OpinionFormat.PDF
    flagged = [str(z) for z in pipeline.load_results(GeoPackageStore(pristine)).flagged().zone_id]
    out = context.workdir / "opinions"

    def fresh() -> None:
        """The store as before any opinion: every run writes the same documents (a second
        run would add to each the « Évolution » since the first, a page more)."""
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.copytree(pristine, data_dir)
        shutil.rmtree(out, ignore_errors=True)

    timed = _times(
        [_cli(), "opinion", "--all-flagged", "--out", str(out), "--format", fmt.value],
        demo_env,
        context.repeat,
        fresh,
    )
    fresh()
    shown = flagged[: 1 if context.smoke else BASELINE_OPINIONS]
    one = [
        _times(
            [_cli(), "opinion", "--zone", zone, "--out", str(out / f"one.{fmt.value}")],
            demo_env,
            1,
        )
        for zone in shown
    ]
    per_zone = Timed(
        min(t.minimum for t in one),
        statistics.median(t.median for t in one),
        max(t.peak for t in one),
    )
    baseline = per_zone.scaled(len(flagged))

    def in_process() -> None:
        workspace = Workspace(Settings(data_dir=data_dir, database_url=None))
        result = workspace.results()
        for zone in flagged:
            opinion_document(workspace, Subject(OpinionKind.ZONE, zone), fmt, result=result)

    fresh()
    inner = None if context.smoke else median_seconds(in_process, 1)  # minutes: once
    return Row(
        f"geo-service opinion --all-flagged ({len(flagged)} {fmt.value.upper()}, demo)",
        timed,
        baseline,
        inner,
        f"one 'geo-service opinion --zone' process per zone ({len(shown)} timed, "
        f"× {len(flagged) / len(shown):.1f})",
    )


def run(context: Context) -> list[Figure]:
    """Time the whole processes and their baselines."""
    env = {k: v for k, v in os.environ.items() if k != "GEO_SERVICE_DATABASE_URL"}
    env["GEO_SERVICE_DATA_DIR"] = str(context.data_dir)
    files = _prepare_files(context)
    store = _store_analysis(context, env)
    on_files = _files_analysis(context, env, files)
    imported = _premises_import(context, env, files)
    answering, served = _serve(context, env)
    opinions = _opinions(context, env)
    helped = Row("geo-service --help", _times([_cli(), "--help"], env, context.repeat), None, None)
    _print([store, on_files, imported, answering, served, opinions, helped])
    return [
        *_figures(
            store, "geo-service analyze on the store", TARGET_ANALYZE_SECONDS, context, ratio=True
        ),
        Figure(
            NAME,
            "geo-service analyze peak RSS",
            store.timed.peak / 1e9,
            "GB",
            baseline=None if store.baseline is None else store.baseline.peak / 1e9,
            target=context.target(1.0),
        ),
        *_figures(on_files, "geo-service analyze on GeoParquet files", None, context, ratio=True),
        *_figures(imported, "geo-service import premises", TARGET_IMPORT_SECONDS, context),
        *_figures(
            answering, "geo-service serve until the first answer", TARGET_SERVE_SECONDS, context
        ),
        *_figures(served, "geo-service serve until loaded", None, context),
        *_figures(opinions, "opinion --all-flagged", TARGET_OPINIONS_SECONDS, context),
        *_figures(helped, "geo-service --help", TARGET_HELP_SECONDS, context),
    ]


def _figures(
    row: Row, name: str, target: float | None, context: Context, *, ratio: bool = False
) -> list[Figure]:
    """The median of ``row`` with its baseline and target, the baseline ratio (target
    :data:`TARGET_RATIO`) when ``ratio``, and the in-process median."""
    base = None if row.baseline is None else row.baseline.median
    figures = [
        Figure(
            NAME,
            f"{name}, whole process (median)",
            row.timed.median,
            "s",
            baseline=base,
            target=None if target is None else context.target(target),
        )
    ]
    if ratio and base is not None:
        figures.append(
            Figure(
                NAME,
                f"{name} / plain script, whole processes",
                row.timed.median / base,
                "x",
                target=context.target(TARGET_RATIO),
            )
        )
    if row.in_process is not None:
        figures.append(Figure(NAME, f"{name}, in-process (median)", row.in_process, "s"))
    return figures


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
