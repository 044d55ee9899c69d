"""Benchmark command: ``python -m benchmarks [--scale demo|departement] [--repeat N]``.

Builds the data with the demo generator, runs each workload several times and prints the
median time with its ratio against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.baseline import baseline_zone_metrics
from geo_service import pipeline
from geo_service.settings import AnalysisParams
from geo_service.store import GeoPackageStore


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    """Median wall-clock time of ``work`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmarks and print their figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", default="departement", choices=["demo", "departement"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = GeoPackageStore(Path(tmp))
        start = time.perf_counter()
        pipeline.build_demo_store(store, scale=args.scale)
        print(f"data: '{args.scale}' demo built and stored in {time.perf_counter() - start:.1f} s")
        inputs = pipeline.load_inputs(store)
        print(
            f"      {len(inputs.zones)} zones, {len(inputs.premises):,} premises, "
            f"{0 if inputs.land is None else len(inputs.land)} plots"
        )
        load = median_seconds(lambda: pipeline.load_inputs(store), args.repeat)
        ours = median_seconds(
            lambda: pipeline.analyze_inputs(inputs, AnalysisParams()), args.repeat
        )
        assert inputs.land is not None
        assert inputs.raster is not None
        base = median_seconds(
            lambda: baseline_zone_metrics(
                inputs.zones, inputs.premises, inputs.land, inputs.raster
            ),
            args.repeat,
        )
        print(f"load layers from the store      {load:7.2f} s")
        print(f"analyze (geo-service)           {ours:7.2f} s")
        print(f"analyze (straightforward)       {base:7.2f} s")
        print(f"speed-up against the baseline   {base / ours:7.1f} x")


if __name__ == "__main__":
    main()
