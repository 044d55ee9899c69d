"""Before/after of the import and the files analysis, whole processes interleaved in one run.

``python -m benchmarks.interleaved FILES OLD_TREE [--rounds N]`` runs, ``N`` rounds, each one
after the other: ``geo-service import premises FILES/premises.parquet`` with the code of
``OLD_TREE`` (a ``git worktree`` of the commit before, on ``PYTHONPATH``) then with this tree's,
then the plain ``read_parquet`` + ``to_file`` script; then ``geo-service analyze --zones ...
--premises ... --land ... --raster ... --out`` with each code, then the plain files script
(:mod:`benchmarks.plain_script`). ``FILES`` holds ``zones.parquet``, ``premises.parquet``,
``land.parquet`` and ``coverage.tif`` (the département store's layers, as
:mod:`benchmarks.whole_process` exports them). Prints each run, then the minimum, median and
peak memory of each command. On a shared machine, only figures of the same run compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import run_measured


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def _commands(files: Path, work: Path) -> dict[str, tuple[list[str], bool]]:
    """Each command, and whether it runs geo-service (with the old or the new code)."""
    cli = str(Path(sys.executable).with_name("geo-service"))
    premises = str(files / "premises.parquet")
    layers = [str(files / n) for n in ("zones.parquet", "premises.parquet", "land.parquet")]
    raster = str(files / "coverage.tif")
    options = [*sum(zip(["--zones", "--premises", "--land"], layers, strict=True), ())]
    analyze = [cli, "analyze", *options, "--raster", raster, "--top", "0", "--out"]
    plain = [sys.executable, "-m", "benchmarks.plain_script"]
    return {
        "import": ([cli, "import", "premises", premises], True),
        "import baseline": ([*plain, "import", premises, str(work / "plain.gpkg")], False),
        "files": ([*analyze, str(work / "out.parquet")], True),
        "files baseline": ([*plain, "files", *layers, raster, str(work / "plain.csv")], False),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path)
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    here = str(Path(__file__).resolve().parents[1])
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    times: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load", _load(), flush=True)
        for round_ in range(args.rounds):
            for name, (command, ours) in _commands(args.files, work).items():
                trees = [("old", str(args.old_tree)), ("new", here)] if ours else [("", here)]
                for label, tree in trees:
                    key = f"{name} {label}".strip()
                    env = {**clean, "PYTHONPATH": tree, "GEO_SERVICE_DATA_DIR": str(work / key)}
                    measured = run_measured(command, env=env)
                    if measured.returncode != 0:
                        raise SystemExit(f"{key} failed:\n{measured.output[-2000:]}")
                    times.setdefault(key, []).append(measured.seconds)
                    peaks[key] = max(peaks.get(key, 0), measured.peak_bytes)
                    print(f"round {round_} {key:18}{measured.seconds:7.2f}s  load {_load()}")
        print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load", _load())
    for key, seconds in times.items():
        print(
            f"{key:18} min {min(seconds):6.2f}s  median {statistics.median(seconds):6.2f}s"
            f"  peak {peaks[key] / 1e9:.2f} GB"
        )


if __name__ == "__main__":
    main()
