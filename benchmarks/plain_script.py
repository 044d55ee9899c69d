"""The straightforward whole-process pipelines, run as ``python -m benchmarks.plain_script``:

- ``STORE OUT``: read the store's GeoPackage layers and the coverage GeoTIFF with geopandas and
  rasterio, compute the per-zone figures of :func:`benchmarks.baseline.baseline_zone_metrics`
  and write them as CSV;
- ``files ZONES PREMISES LAND RASTER OUT``: the same from files (GeoParquet or anything
  ``geopandas.read_file`` opens);
- ``import SOURCE TARGET``: read a premises file and write it as a GeoPackage layer
  (``geopandas.read_parquet`` or ``read_file``, then ``to_file``), no validation.

What a plain geopandas script would do, timed as a whole process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import rasterio

from benchmarks.baseline import baseline_zone_metrics
from geo_service.model import CoverageRaster


def read(path: Path) -> gpd.GeoDataFrame:
    """A vector file read the plain way."""
    return gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)


def analyse(zones: Path, premises: Path, land: Path, raster_path: Path, out: Path) -> None:
    """Read, analyse and write the CSV."""
    with rasterio.open(raster_path) as src:
        raster = CoverageRaster(src.read(1).astype("float32"), src.transform)
    metrics = baseline_zone_metrics(read(zones), read(premises), read(land), raster)
    metrics.to_csv(out)


def main(argv: list[str]) -> None:
    """Dispatch on the form of the arguments (see the module's description)."""
    if argv[0] == "files":
        zones, premises, land, raster, out = (Path(a) for a in argv[1:6])
        analyse(zones, premises, land, raster, out)
    elif argv[0] == "import":
        read(Path(argv[1])).to_file(Path(argv[2]), driver="GPKG")
    else:
        store, out = Path(argv[0]), Path(argv[1])
        analyse(
            store / "zones.gpkg",
            store / "premises.gpkg",
            store / "land.gpkg",
            store / "coverage.tif",
            out,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
