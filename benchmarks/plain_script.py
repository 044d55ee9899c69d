"""The straightforward whole-process pipeline: ``python -m benchmarks.plain_script STORE OUT``.

Reads the store's GeoPackage layers and the coverage GeoTIFF with geopandas and rasterio,
computes the per-zone figures of :func:`benchmarks.baseline.baseline_zone_metrics` and writes
them as CSV: what a plain geopandas script would do, timed as a whole process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import rasterio

from benchmarks.baseline import baseline_zone_metrics
from geo_service.model import CoverageRaster


def main(store: Path, out: Path) -> None:
    """Read, analyse and write the CSV."""
    zones = gpd.read_file(store / "zones.gpkg")
    premises = gpd.read_file(store / "premises.gpkg")
    land = gpd.read_file(store / "land.gpkg")
    with rasterio.open(store / "coverage.tif") as src:
        raster = CoverageRaster(src.read(1).astype("float32"), src.transform)
    baseline_zone_metrics(zones, premises, land, raster).to_csv(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
