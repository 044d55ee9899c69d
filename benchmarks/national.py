"""National-scale benchmark (``python -m benchmarks --only national [--national-blocks K]``).

Builds the national synthetic territory (:func:`geo_service.partitioned.build_national_demo_store`:
90 blocks of 500 zones and 500,000 premises, i.e. 45,000 zones and 45 million premises as
GeoParquet), then runs ``geo-service analyze --engine dask`` on it in a fresh process, and
reports the wall-clock time and the peak resident memory of the whole process tree (the
command, the dask scheduler and workers), sampled every 0.2 s. Targets (issue 18), at the
full scale only: the analysis takes at most 25 s and 4 GB (:data:`TARGET_SECONDS`,
:data:`TARGET_GB`). ``--national-blocks K`` draws K blocks only (rows of 10). It runs once
whatever ``--repeat``: the build alone takes minutes; ``python -m benchmarks.national --data
DIR`` builds it in DIR and reuses it on the next runs (it is rebuilt when DIR holds another
scale or an unfinished build). There is no in-memory
baseline at this size: reading 1.3 M premises takes about 0.8 GB, so 45 M would need about
28 GB, more than the 24 GB of the machine.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Final

from benchmarks.common import Context, Figure, run_measured
from geo_service.demo import NATIONAL_SCALES, DemoScale, NationalScale
from geo_service.errors import NotFoundError

NAME: Final = "national"
#: Targets of the whole ``analyze --engine dask`` process at the full scale (issue 18).
TARGET_SECONDS: Final = 25.0
TARGET_GB: Final = 4.0
#: The directory of the national demo, reused when built (``--data DIR`` of this module);
#: None: built afresh in the run's scratch directory.
DATA_DIR: Path | None = None
#: The seed of the national demo's build.
SEED: Final = 2154
#: The seconds-long version of the smoke run: 2 blocks of 20 zones and 3,000 premises.
SMOKE_SCALE: Final = NationalScale(
    "national-smoke", 2, 1, DemoScale("smoke-block", 8, 2, 20, 60, 3_000, 24.0, 24.0, 400.0)
)


def national_scale(blocks: int | None, smoke: bool) -> NationalScale:
    """The national scale to run: the full one, ``blocks`` of its blocks, or the smoke one."""
    if smoke:
        return SMOKE_SCALE
    full = NATIONAL_SCALES["national"]
    if blocks is None or blocks >= full.blocks:
        return full
    columns = min(blocks, full.columns)
    return NationalScale(f"national-{blocks}", columns, math.ceil(blocks / columns), full.block)


def run(context: Context) -> list[Figure]:
    """Build the national territory and analyse it on dask, each in a measured process."""
    scale = national_scale(context.national_blocks, context.smoke)
    data_dir = DATA_DIR or Path(context.workdir) / "national"
    print(
        f"scale '{scale.name}': {scale.blocks} blocks, {scale.zones:,} zones, "
        f"{scale.premises:,} premises"
    )
    figures = []
    if DATA_DIR is not None and _built(DATA_DIR, scale):
        print(f"build: reused, {DATA_DIR}")
    else:
        build = run_measured(
            [sys.executable, "-m", "benchmarks.national", "--build", str(data_dir), scale.name],
            log=Path(context.workdir) / "national-build.log",
        )
        _check(build.returncode, build.output, "build")
        print(f"build: {build.seconds:.1f} s, peak {build.peak_bytes / 1e9:.2f} GB (process tree)")
        figures += [
            Figure(NAME, f"national demo build ({_size(scale)})", build.seconds, "s"),
            Figure(NAME, "national demo build peak memory", build.peak_bytes / 1e9, "GB"),
        ]
    env = dict(os.environ)
    env.pop("GEO_SERVICE_DATABASE_URL", None)
    analyze = run_measured(
        [
            sys.executable,
            "-m",
            "geo_service",
            "analyze",
            "--engine",
            "dask",
            "--top",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        log=Path(context.workdir) / "national-analyze.log",
    )
    _check(analyze.returncode, analyze.output, "analysis")
    print(
        f"analyze --engine dask: {analyze.seconds:.1f} s, "
        f"peak {analyze.peak_bytes / 1e9:.2f} GB (process tree)"
    )
    full = scale.name == "national"
    return [
        *figures,
        Figure(
            NAME,
            f"analyze --engine dask ({_size(scale)})",
            analyze.seconds,
            "s",
            target=TARGET_SECONDS if full else None,
        ),
        Figure(
            NAME,
            "analyze --engine dask peak memory",
            analyze.peak_bytes / 1e9,
            "GB",
            target=TARGET_GB if full else None,
        ),
    ]


def _size(scale: NationalScale) -> str:
    return f"{scale.zones:,} zones, {scale.premises / 1e6:g} M premises"


def _built(data_dir: Path, scale: NationalScale) -> bool:
    """Whether ``data_dir`` holds the whole national demo of ``scale``: its premises files and
    its coverage raster (the store's last layer written) record that scale and seed."""
    from geo_service.partitioned import default_premises_dir, premises_meta
    from geo_service.pipeline import COVERAGE
    from geo_service.settings import Settings
    from geo_service.store import GeoPackageStore

    expected = {"scale": scale.name, "seed": SEED}
    store = GeoPackageStore(data_dir)
    try:
        premises = premises_meta(default_premises_dir(Settings(data_dir=data_dir)))
    except NotFoundError:
        return False
    return (
        premises.extra == expected
        and premises.feature_count == scale.premises
        and store.has_layer(COVERAGE)
        and store.layer_meta(COVERAGE).extra == expected
    )


def _check(returncode: int, output: str, what: str) -> None:
    if returncode != 0:
        raise RuntimeError(f"the national {what} failed ({returncode}):\n{output[-3000:]}")


def _build(data_dir: Path, scale_name: str) -> None:
    """Worker: build the national demo store of ``scale_name`` into ``data_dir``."""
    from geo_service.partitioned import build_national_demo_store, default_premises_dir
    from geo_service.settings import Settings
    from geo_service.store import GeoPackageStore

    full = NATIONAL_SCALES["national"]
    if scale_name == SMOKE_SCALE.name:
        scale = SMOKE_SCALE
    elif scale_name == full.name:
        scale = full
    else:
        scale = national_scale(int(scale_name.rsplit("-", 1)[1]), smoke=False)
    settings = Settings(data_dir=data_dir, database_url=None)
    data_dir.mkdir(parents=True, exist_ok=True)
    count = build_national_demo_store(
        GeoPackageStore(data_dir), default_premises_dir(settings), scale=scale, seed=SEED
    )
    print(f"{count:,} premises written")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.national")
    parser.add_argument("--build", nargs=2, metavar=("DIR", "SCALE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--data", metavar="DIR", help="build the national demo in DIR, or reuse it if built"
    )
    known, rest = parser.parse_known_args()
    if known.build:
        _build(Path(known.build[0]), known.build[1])
    else:
        import benchmarks.national
        from benchmarks.__main__ import main

        # this file runs as __main__: the benchmark reads the module benchmarks.national
        benchmarks.national.DATA_DIR = Path(known.data) if known.data else None
        main(["--only", NAME, *rest])
