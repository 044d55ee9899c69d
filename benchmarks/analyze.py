"""Analysis benchmark: ``analyze`` of the demo territory against a straightforward pipeline.

Times :func:`geo_service.pipeline.analyze_inputs` (every zone metric, status, priority,
reasons, commune and EPCI sums) on the layers loaded from the store, and, as the baseline in
the same run, :func:`benchmarks.baseline.baseline_zone_metrics` (``sjoin`` then ``groupby``
with Python functions, ``overlay`` for the land, one raster mask per zone), which computes
fewer figures. Targets (issue 7, département scale): ≤ 3 s, at least 2 × the baseline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

from benchmarks.baseline import baseline_zone_metrics
from benchmarks.common import Context, Figure, median_seconds
from geo_service import pipeline
from geo_service.settings import AnalysisParams
from geo_service.store import GeoPackageStore

TARGET_SECONDS: Final = 3.0
TARGET_SPEEDUP: Final = 2.0
NAME: Final = "analyze"


def run(context: Context) -> list[Figure]:
    """Time the analysis and its baseline on the context's territory."""
    store = GeoPackageStore(Path(context.data_dir))
    start = time.perf_counter()
    # As geo-service analyze reads them: the premises as coordinates (issue 18); the
    # baseline gets them as geometries.
    inputs = pipeline.load_inputs(store, points=True)
    print(f"layers loaded from the store in {time.perf_counter() - start:.2f} s")
    geometries = pipeline.load_inputs(store)
    plots = 0 if inputs.land is None else len(inputs.land)
    print(f"{len(inputs.zones)} zones, {len(geometries.premises):,} premises, {plots:,} plots")
    load = median_seconds(lambda: pipeline.load_inputs(store, points=True), context.repeat)
    ours = median_seconds(lambda: pipeline.analyze_inputs(inputs, AnalysisParams()), context.repeat)
    if inputs.land is None or inputs.raster is None:
        raise RuntimeError("the benchmark territory needs land and a coverage raster")
    land, raster = inputs.land, inputs.raster
    base = median_seconds(
        lambda: baseline_zone_metrics(inputs.zones, geometries.premises, land, raster),
        context.repeat,
    )
    print(f"load layers from the store        {load:7.2f} s")
    print(f"analyze (geo-service)             {ours:7.2f} s")
    print(f"analyze (straightforward)         {base:7.2f} s")
    print(f"speed-up against the baseline     {base / ours:7.1f} x")
    return [
        Figure(NAME, "load layers from the store", load, "s"),
        Figure(NAME, "analyze", ours, "s", baseline=base, target=context.target(TARGET_SECONDS)),
        Figure(
            NAME,
            "analyze speed-up over the baseline",
            base / ours,
            "x",
            target=context.target(TARGET_SPEEDUP),
            higher_is_better=True,
        ),
    ]


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
