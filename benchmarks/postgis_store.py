"""PostGIS benchmark (``python -m benchmarks --only postgis``; needs a PostGIS database).

Run on ``--database-url`` or ``GEO_SERVICE_TEST_DATABASE_URL`` (``.ci/postgis.sh`` exports
it), in a scratch schema dropped at the end:

- **overlay**: the zone/premises overlay of the analysis (premises, locaux and the
  locaux-weighted shares of each zone) done in PostGIS as the baseline, by one SQL query over
  tables with a GiST index (``ST_Intersects`` join, ``GROUP BY`` zone), against geo-service's
  :func:`~geo_service.analysis.coverage.premises_coverage` on the same layers in memory; the
  two answers are checked equal;
- **store**: writing and reading the premises layer in the PostGIS store, against the
  GeoPackage store as the baseline.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from benchmarks.common import Context, Figure, median_seconds
from geo_service import pipeline
from geo_service.analysis.coverage import SHARE_COLUMNS, premises_coverage
from geo_service.store import GeoPackageStore, Store
from geo_service.store.postgis import PostGISStore, drop_schema

NAME: Final = "postgis"

OVERLAY_SQL: Final = """
SELECT z.fid,
       count(p.fid) AS premises,
       coalesce(sum(p.locaux), 0) AS locaux,
       coalesce(sum(p.locaux) FILTER (WHERE p.down_class IN ('BHD8', 'THD30', 'THD100',
           'THD1G')), 0)::float8 / nullif(sum(p.locaux), 0) AS share_bhd8,
       coalesce(sum(p.locaux) FILTER (WHERE p.down_class IN ('THD30', 'THD100', 'THD1G')),
           0)::float8 / nullif(sum(p.locaux), 0) AS share_thd30,
       coalesce(sum(p.locaux) FILTER (WHERE p.down_class IN ('THD100', 'THD1G')), 0)::float8
           / nullif(sum(p.locaux), 0) AS share_thd100,
       coalesce(sum(p.locaux) FILTER (WHERE p.down_class = 'THD1G'), 0)::float8
           / nullif(sum(p.locaux), 0) AS share_thd1g,
       coalesce(sum(p.locaux) FILTER (WHERE p.ftth), 0)::float8
           / nullif(sum(p.locaux) FILTER (WHERE p.ftth IS NOT NULL), 0) AS share_ftth
FROM {zones} AS z
LEFT JOIN {premises} AS p ON ST_Intersects(z.geom, p.geom)
GROUP BY z.fid
ORDER BY z.fid
"""


def postgis_overlay(url: str, schema: str) -> pd.DataFrame:
    """The per-zone premises figures computed by PostGIS in one query (fid order)."""
    query = sql.SQL(OVERLAY_SQL).format(
        zones=sql.Identifier(schema, pipeline.ZONES),
        premises=sql.Identifier(schema, pipeline.PREMISES),
    )
    with psycopg.connect(url) as conn:
        rows = conn.execute(query).fetchall()
    columns = ["fid", "premises", "locaux", *SHARE_COLUMNS]
    return pd.DataFrame(rows, columns=columns).set_index("fid")


def _store_figures(
    store: Store, premises: gpd.GeoDataFrame, repeat: int
) -> tuple[float, float, float]:
    meta = pipeline.layer_meta(pipeline.PREMISES, source="benchmark")
    write = median_seconds(lambda: store.write_layer(pipeline.PREMISES, premises, meta), repeat)
    read = median_seconds(lambda: store.read_layer(pipeline.PREMISES), repeat)
    xmin, ymin, xmax, ymax = premises.total_bounds
    box = (xmin, ymin, xmin + (xmax - xmin) / 10, ymin + (ymax - ymin) / 10)
    window = median_seconds(lambda: store.read_layer(pipeline.PREMISES, bbox=box), repeat)
    return write, read, window


def run(context: Context) -> list[Figure]:
    """Time the overlay in PostGIS and in geo-service, and the PostGIS store's writes/reads."""
    url = context.database_url
    if not url:
        raise RuntimeError("no PostGIS database (--database-url or GEO_SERVICE_TEST_DATABASE_URL)")
    local = GeoPackageStore(Path(context.data_dir))
    zones = local.read_layer(pipeline.ZONES)
    premises = local.read_layer(pipeline.PREMISES)
    print(f"data: {len(zones)} zones, {len(premises):,} premises")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    postgis = PostGISStore(url, schema)
    try:
        start = time.perf_counter()
        postgis.write_layer(pipeline.ZONES, zones, pipeline.layer_meta("zones", source="bench"))
        print(f"zones written to PostGIS in {time.perf_counter() - start:.1f} s")
        write, read, window = _store_figures(postgis, premises, context.repeat)
        sql_seconds = median_seconds(lambda: postgis_overlay(url, schema), context.repeat)
        answer = postgis_overlay(url, schema)
    finally:
        postgis.close()
        drop_schema(url, schema)
    ours = median_seconds(lambda: premises_coverage(zones, premises), context.repeat)
    _check_same(premises_coverage(zones, premises), answer)
    print("overlay answers agree (premises, locaux, shares of every zone)")
    with _scratch_store(context) as gpkg:
        base_write, base_read, base_window = _store_figures(gpkg, premises, context.repeat)
    print(f"overlay: geo-service {ours:.3f} s, PostGIS one SQL query {sql_seconds:.3f} s")
    for label, mine, theirs in (
        ("write", write, base_write),
        ("read", read, base_read),
        ("bbox", window, base_window),
    ):
        print(f"store {label:<6} PostGIS {mine:6.2f} s   GeoPackage {theirs:6.2f} s")
    return [
        Figure(
            NAME,
            "zone overlay (premises shares)",
            ours,
            "s",
            sql_seconds,
            note="baseline: PostGIS, GiST, one SQL query",
        ),
        Figure(NAME, "PostGIS store: write premises", write, "s", base_write, note="vs GeoPackage"),
        Figure(NAME, "PostGIS store: read premises", read, "s", base_read, note="vs GeoPackage"),
        Figure(
            NAME, "PostGIS store: read 1 % bbox", window, "s", base_window, note="vs GeoPackage"
        ),
    ]


@contextmanager
def _scratch_store(context: Context) -> Iterator[GeoPackageStore]:
    """A GeoPackage store in a fresh folder of the context's work directory."""
    folder = Path(context.workdir) / f"gpkg-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        yield GeoPackageStore(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    theirs = theirs.reset_index(drop=True)
    ours = ours.reset_index(drop=True)
    for column in ("premises", "locaux"):
        if not np.array_equal(ours[column].to_numpy(), theirs[column].to_numpy(dtype=np.int64)):
            raise AssertionError(f"PostGIS and geo-service disagree on {column}")
    for column in SHARE_COLUMNS:
        np.testing.assert_allclose(
            ours[column].to_numpy(dtype=float),
            theirs[column].to_numpy(dtype=float),
            rtol=1e-12,
            equal_nan=True,
            err_msg=f"PostGIS and geo-service disagree on {column}",
        )


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
