"""What every benchmark shares: timing, memory of a process tree, and the figures' table."""

from __future__ import annotations

import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its baseline (same run) and its target, if any.

    ``ratio`` compares with the baseline so that above 1 is better: baseline / value when
    lower is better (times, sizes), value / baseline otherwise (throughput). ``target`` is a
    bound on ``value``: an upper bound when lower is better, a lower bound otherwise.
    """

    workload: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: float | None = None
    note: str = ""
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline, None without a baseline."""
        if self.baseline is None or self.value <= 0 or self.baseline <= 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    @property
    def verdict(self) -> str:
        """PASS or MISS against the target, "" without one."""
        if self.target is None:
            return ""
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if met else "MISS"


@dataclass(frozen=True)
class Context:
    """What the workloads share: sizes, repetitions, and the territory built for them.

    ``data_dir`` holds a GeoPackage store with the demo territory of ``scale`` built and
    analysed; ``workdir`` is a scratch directory removed at the end of the run.
    """

    scale: str
    repeat: int
    smoke: bool
    workdir: Path
    data_dir: Path
    database_url: str | None
    buildings: int
    baseline_buildings: int
    requests: int
    national_blocks: int | None

    @property
    def targets_apply(self) -> bool:
        """Whether the targets of issue 7 apply: département scale, not a smoke run."""
        return self.scale == "departement" and not self.smoke

    def target(self, value: float) -> float | None:
        """``value`` when the targets apply, else None (figures shown without verdict)."""
        return value if self.targets_apply else None


def free_port() -> int:
    """A TCP port free on the loopback interface (for a server started by a benchmark)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    """Median wall-clock time of ``work`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Measured:
    """A command's wall-clock time, the peak resident memory of its process tree, its output."""

    seconds: float
    peak_bytes: int
    returncode: int
    output: str


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of ``process`` and all its descendants, in bytes."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_measured(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    interval: float = 0.2,
    timeout: float = 3600.0,
) -> Measured:
    """Run ``command``, sampling the resident memory of its whole process tree (the command
    and every process it starts, e.g. dask workers) every ``interval`` seconds."""
    start = time.perf_counter()
    with subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    ) as child:
        watched = psutil.Process(child.pid)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                try:
                    peak = max(peak, tree_rss(watched))
                except psutil.NoSuchProcess:
                    return
                stop.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            output, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            output, _ = child.communicate()
        stop.set()
        sampler.join()
    seconds = time.perf_counter() - start
    if log is not None:
        log.write_text(output)
    return Measured(seconds, peak, child.returncode, output)


def format_table(figures: Sequence[Figure]) -> str:
    """Every figure with its baseline, ratio, target and verdict, as a plain-text table."""
    header = ("workload", "figure", "value", "baseline", "ratio", "target", "verdict")
    rows = [header]
    for f in figures:
        rows.append(
            (
                f.workload,
                f.name + (f" ({f.note})" if f.note else ""),
                _amount(f.value, f.unit),
                "—" if f.baseline is None else _amount(f.baseline, f.unit),
                "—" if f.ratio is None else f"{f.ratio:.1f} x",
                "—"
                if f.target is None
                else f"{'≥' if f.higher_is_better else '≤'} {_amount(f.target, f.unit)}",
                f.verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _amount(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit in ("GB", "MB"):
        return f"{value:.2f} {unit}"
    if unit == "x":
        return f"{value:.1f} x"
    if unit == "req/s":
        return f"{value:.0f} req/s"
    return f"{value:g} {unit}"
