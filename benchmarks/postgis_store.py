"""PostGIS store benchmark: ``python -m benchmarks.postgis_store [--scale S] [--repeat N]``.

Writes and reads the premises of the demo territory (1.3 M points at département scale) in
the PostGIS store of ``GEO_SERVICE_TEST_DATABASE_URL`` (a scratch schema, dropped at the end)
and, as the baseline measured in the same run, in the GeoPackage store.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.__main__ import median_seconds
from geo_service import pipeline
from geo_service.demo import build_demo
from geo_service.store import GeoPackageStore, Store
from geo_service.store.postgis import PostGISStore, drop_schema
from geo_service.validation import validate_layer


def _figures(store: Store, premises: object, repeat: int) -> tuple[float, float, float]:
    meta = pipeline.layer_meta(pipeline.PREMISES, source="benchmark")
    write = median_seconds(lambda: store.write_layer("premises", premises, meta), repeat)
    read = median_seconds(lambda: store.read_layer("premises"), repeat)
    xmin, ymin, xmax, ymax = store.read_layer("premises", columns=[]).total_bounds
    box = (xmin, ymin, xmin + (xmax - xmin) / 10, ymin + (ymax - ymin) / 10)
    window = median_seconds(lambda: store.read_layer("premises", bbox=box), repeat)
    return write, read, window


def main() -> None:
    """Print write and read times of the premises layer on both stores."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.postgis_store")
    parser.add_argument("--scale", default="departement", choices=["demo", "departement"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("GEO_SERVICE_TEST_DATABASE_URL")
    if not url:
        raise SystemExit("set GEO_SERVICE_TEST_DATABASE_URL (see .ci/postgis.sh)")
    start = time.perf_counter()
    premises, _ = validate_layer(
        "premises", build_demo(args.scale).premises, f"demo {args.scale} premises"
    )
    print(f"data: {len(premises):,} premises built in {time.perf_counter() - start:.1f} s")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    postgis = PostGISStore(url, schema)
    try:
        ours = _figures(postgis, premises, args.repeat)
    finally:
        postgis.close()
        drop_schema(url, schema)
    with tempfile.TemporaryDirectory() as tmp:
        base = _figures(GeoPackageStore(Path(tmp)), premises, args.repeat)
    for label, mine, theirs in zip(
        ("write (atomic replacement)", "read whole layer", "read a bbox (1 % of the area)"),
        ours,
        base,
        strict=True,
    ):
        print(
            f"{label:30s} PostGIS {mine:6.2f} s   GeoPackage {theirs:6.2f} s   "
            f"ratio {mine / theirs:5.2f}"
        )


if __name__ == "__main__":
    main()
