"""Whole-process benchmark: commands as users run them, beside a plain geopandas script.

Each command runs in a fresh process (Python start-up, imports, reading, validation, analysis
and writing included), ``--repeat`` times; the figures are the minimum and the median wall-clock
times. The baseline, run as a whole process in the same run, is :mod:`benchmarks.plain_script`:
read the store's GeoPackage layers with geopandas, ``sjoin``, ``groupby`` with Python functions,
one raster mask per zone, write a CSV. Targets (issue 18, département scale): ``geo-service
analyze`` on the store ≤ 0.5 × the baseline and ≤ 2.0 s; ``geo-service --help`` ≤ 0.4 s.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from benchmarks.common import Context, Figure, run_measured

NAME: Final = "whole"
TARGET_RATIO: Final = 0.5
TARGET_ANALYZE_SECONDS: Final = 2.0
TARGET_HELP_SECONDS: Final = 0.4


def _cli() -> str:
    return str(Path(sys.executable).with_name("geo-service"))


def _times(command: Sequence[str], env: dict[str, str], repeat: int) -> tuple[float, float, int]:
    """(minimum, median) seconds of ``command`` over ``repeat`` fresh processes, peak RSS."""
    seconds, peaks = [], []
    for _ in range(repeat):
        measured = run_measured(command, env=env)
        if measured.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{measured.output[-2000:]}")
        seconds.append(measured.seconds)
        peaks.append(measured.peak_bytes)
    return min(seconds), statistics.median(seconds), max(peaks)


def run(context: Context) -> list[Figure]:
    """Time the whole processes and their baseline."""
    env = {**os.environ, "GEO_SERVICE_DATA_DIR": str(context.data_dir)}
    repeat = context.repeat
    out = context.workdir / "baseline.csv"
    base_min, base_med, base_peak = _times(
        [
            sys.executable,
            "-m",
            "benchmarks.plain_script",
            str(context.data_dir / "store"),
            str(out),
        ],
        env,
        repeat,
    )
    ana_min, ana_med, ana_peak = _times([_cli(), "analyze", "--top", "0"], env, repeat)
    help_min, help_med, _ = _times([_cli(), "--help"], env, repeat)
    print(f"{'':36}{'min':>9}{'median':>9}{'peak RSS':>10}")
    print(
        f"{'baseline (plain geopandas script)':36}{base_min:8.2f}s{base_med:8.2f}s"
        f"{base_peak / 1e9:8.2f}GB"
    )
    print(
        f"{'geo-service analyze (store)':36}{ana_min:8.2f}s{ana_med:8.2f}s"
        f"{ana_peak / 1e9:8.2f}GB   {ana_med / base_med:.2f} x the baseline"
    )
    print(f"{'geo-service --help':36}{help_min:8.2f}s{help_med:8.2f}s")
    ratio = ana_med / base_med
    return [
        Figure(
            NAME,
            "geo-service analyze on the store, whole process (median)",
            ana_med,
            "s",
            baseline=base_med,
            target=context.target(TARGET_ANALYZE_SECONDS),
        ),
        Figure(
            NAME,
            "analyze on the store / plain script, whole processes",
            ratio,
            "x",
            target=context.target(TARGET_RATIO),
        ),
        Figure(
            NAME,
            "geo-service analyze peak RSS",
            ana_peak / 1e9,
            "GB",
            baseline=base_peak / 1e9,
            target=context.target(1.0),
        ),
        Figure(
            NAME,
            "geo-service --help, whole process (median)",
            help_med,
            "s",
            target=context.target(TARGET_HELP_SECONDS),
        ),
    ]


if __name__ == "__main__":
    from benchmarks.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
