"""The benchmark command: ``python -m benchmarks`` (``make bench``).

Builds the synthetic territory with the demo generator (``--scale``), runs every workload
``--repeat`` times and prints median figures, each with its ratio against a baseline measured
in the same run, then one table of every figure with its target and PASS/MISS:

- ``import``: ARCEP « Ma connexion internet » import of a département (1.3 M buildings);
- ``analyze``: the analysis at the given scale, against a straightforward geopandas pipeline;
- ``api``: p50/p99 latency of the JSON API at concurrency 1 and 32 (bounded load on 127.0.0.1);
- ``maps``: territory map build time and HTML size, against plain folium;
- ``postgis``: the zone overlay in PostGIS (GiST index, one SQL query) and the PostGIS store,
  when a database is given (``--database-url`` or ``GEO_SERVICE_TEST_DATABASE_URL``);
- ``transport``: the transport access of every zone, straight-line and with a regional-size
  road graph (a 250 m grid, ~690,000 edges): at most 3 s added (issue 17);
- ``whole``: ``geo-service analyze`` on the store and ``--help`` as whole processes, beside a
  plain geopandas script run as a whole process (minimum and median);
- ``national``: 45,000 zones and 45 M premises analysed on dask, time and peak memory (only
  when asked: ``--only national`` or ``--national``; it takes about 10 minutes).
- ``national-map``: the territory map of 45,000 zones by viewport (page size, build, the zones
  of a département view, first render in Chromium) against every zone inlined (only when
  asked: ``--only national-map``; about 4 minutes).

``--smoke`` runs a seconds-long version of every workload (tiny data, one run), so that CI
checks the benchmarks keep working. ``--check`` exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Final

import psutil

from benchmarks import (
    analyze,
    api_latency,
    api_mixed,
    arcep_import,
    maps,
    national,
    national_map,
    postgis_store,
    transport,
    whole_process,
)
from benchmarks.common import Context, Figure, format_table

Workload = Callable[[Context], list[Figure]]

WORKLOADS: Final[dict[str, Workload]] = {
    arcep_import.NAME: arcep_import.run,
    analyze.NAME: analyze.run,
    api_latency.NAME: api_latency.run,
    api_mixed.NAME: api_mixed.run,
    maps.NAME: maps.run,
    postgis_store.NAME: postgis_store.run,
    transport.NAME: transport.run,
    national.NAME: national.run,
    national_map.NAME: national_map.run,
    whole_process.NAME: whole_process.run,
}
#: Workloads run by default (national only when asked: it takes minutes).
DEFAULT: Final = (
    arcep_import.NAME,
    analyze.NAME,
    api_latency.NAME,
    api_mixed.NAME,
    maps.NAME,
    postgis_store.NAME,
    transport.NAME,
    whole_process.NAME,
)
#: Workloads that read the territory built at the start of the run.
_NEED_TERRITORY: Final = (
    analyze.NAME,
    api_latency.NAME,
    api_mixed.NAME,
    maps.NAME,
    postgis_store.NAME,
    transport.NAME,
    whole_process.NAME,
)
_PACKAGES: Final = ("geopandas", "shapely", "pyarrow", "pandas", "numpy", "dask", "fastapi")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", default="departement", choices=["demo", "departement"])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each workload (median)")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(WORKLOADS),
        metavar="WORKLOAD",
        help=f"run this workload only (repeatable): {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--national", action="store_true", help="also run the national workload")
    parser.add_argument(
        "--national-blocks",
        type=int,
        default=None,
        help="blocks of the national territory (500 zones, 500,000 premises each; default 90)",
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every workload")
    parser.add_argument("--database-url", default=None, help="PostGIS database of the postgis run")
    parser.add_argument(
        "--arcep-buildings", type=int, default=1_300_000, help="buildings of the ARCEP import"
    )
    parser.add_argument(
        "--arcep-baseline-buildings",
        type=int,
        default=100_000,
        help="buildings of the ARCEP baseline run (its time is scaled to --arcep-buildings)",
    )
    parser.add_argument(
        "--requests", type=int, default=640, help="requests per API scenario and run"
    )
    parser.add_argument("--profile", action="store_true", help="profile one analysis run")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> list[str]:
    """The workloads to run, in the order of :data:`WORKLOADS`."""
    if args.only:
        wanted = set(args.only)
    elif args.smoke:
        wanted = set(WORKLOADS)
    else:
        wanted = set(DEFAULT) | ({national.NAME} if args.national else set())
    return [name for name in WORKLOADS if name in wanted]


def machine() -> str:
    """One paragraph on the machine and the versions measured."""
    memory = psutil.virtual_memory().total / 1024**3
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    packages = ", ".join(f"{name} {version(name)}" for name in _PACKAGES)
    return (
        f"machine: {psutil.cpu_count(logical=True)} cores, {memory:.1f} GiB, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}\n"
        f"         {packages}\n"
        f"         {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
        f"load average {load}"
    )


def build_territory(scale: str, data_dir: Path) -> None:
    """Build and analyse the demo territory of ``scale`` into a GeoPackage store."""
    from geo_service import pipeline
    from geo_service.settings import AnalysisParams
    from geo_service.store import GeoPackageStore

    store = GeoPackageStore(data_dir)
    start = time.perf_counter()
    pipeline.build_demo_store(store, scale=scale)
    built = time.perf_counter() - start
    pipeline.analyze_store(store, AnalysisParams())
    print(
        f"data: '{scale}' demo territory built and stored in {built:.1f} s, analysed and "
        f"results stored in {time.perf_counter() - start - built:.1f} s"
    )


def profile_analysis(data_dir: Path) -> None:
    """Print pyinstrument's call tree of one analysis of the territory."""
    from pyinstrument import Profiler

    from geo_service import pipeline
    from geo_service.settings import AnalysisParams
    from geo_service.store import GeoPackageStore

    inputs = pipeline.load_inputs(GeoPackageStore(data_dir))
    with Profiler(interval=0.001) as profiler:
        pipeline.analyze_inputs(inputs, AnalysisParams())
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the selected workloads and print their figures."""
    args = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows when written to a file
    if args.smoke:
        args.scale, args.repeat, args.requests = "demo", 1, 64
        args.arcep_buildings, args.arcep_baseline_buildings = 20_000, 5_000
    names = selected(args)
    url = args.database_url or os.environ.get("GEO_SERVICE_TEST_DATABASE_URL") or None
    print(machine())
    if postgis_store.NAME in names and not url:
        print("postgis: skipped (no --database-url nor GEO_SERVICE_TEST_DATABASE_URL)\n")
        names.remove(postgis_store.NAME)
    print(f"workloads: {', '.join(names)}; scale '{args.scale}', {args.repeat} run(s) each\n")
    figures: list[Figure] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="geo-service-bench-") as tmp:
        work = Path(tmp)
        data_dir = work / "territory"
        if any(name in _NEED_TERRITORY for name in names):
            build_territory(args.scale, data_dir)
        context = Context(
            scale=args.scale,
            repeat=max(1, args.repeat),
            smoke=args.smoke,
            workdir=work,
            data_dir=data_dir,
            database_url=url,
            buildings=args.arcep_buildings,
            baseline_buildings=args.arcep_baseline_buildings,
            requests=args.requests,
            national_blocks=args.national_blocks,
        )
        for name in names:
            print(f"\n== {name} ==")
            start = time.perf_counter()
            try:
                figures += WORKLOADS[name](context)
            except Exception:
                traceback.print_exc(file=sys.stdout)
                failed.append(name)
                print(f"{name}: FAILED")
                continue
            print(f"({name}: {time.perf_counter() - start:.1f} s)")
        if args.profile and data_dir.exists():
            print("\n== profile of one analysis ==")
            profile_analysis(data_dir)
    print("\n== figures ==")
    print(format_table(figures))
    missed = [f for f in figures if f.verdict == "MISS"]
    print(
        f"\n{len(figures)} figures, {sum(f.verdict == 'PASS' for f in figures)} targets met, "
        f"{len(missed)} missed; workloads failed: {', '.join(failed) or 'none'}"
    )
    if failed or (args.check and missed):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
