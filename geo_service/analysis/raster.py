"""Coverage raster statistics per zone, exact (pixels weighed by their covered part)."""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from geo_service.model import CANONICAL_CRS, CLASS_MIN_MBPS, CoverageRaster

RASTER_COLUMNS: Final = ("raster_share_bhd8", "raster_share_thd30", "raster_valid_share")
_THRESHOLDS: Final = {"bhd8": CLASS_MIN_MBPS["BHD8"], "thd30": CLASS_MIN_MBPS["THD30"]}


def raster_coverage(zones: gpd.GeoDataFrame, raster: CoverageRaster | None) -> pd.DataFrame:
    """Area-weighted raster coverage of each zone.

    Returns
    -------
    One row per zone (same index as ``zones``):

    - ``raster_valid_share``: share of the zone's area covered by pixels with a value;
    - ``raster_share_bhd8`` / ``raster_share_thd30``: share of that known part where the speed
      is at least 8 / 30 Mbit/s (NaN when no pixel of the zone is known).

    Pixels cut by a zone's outline count for the fraction of their area inside it. All NaN
    when ``raster`` is None.
    """
    out = pd.DataFrame(np.nan, index=zones.index, columns=list(RASTER_COLUMNS))
    if raster is None or len(zones) == 0:
        return out
    if not CRS.from_user_input(raster.crs).equals(CANONICAL_CRS):
        raise ValueError("coverage raster must be in Lambert-93; read it with read_coverage_raster")
    data, bounds = _north_up(raster)
    valid = np.isfinite(data)
    unknown = np.float32(np.nan)  # 1, 0 or NaN made as float32 (not float64 then cast)
    sources = [
        NumPyRasterSource(
            np.where(valid, data >= mbps, unknown).astype(np.float32, copy=False),
            *bounds,
            nodata=np.nan,
            name=name,
        )
        for name, mbps in _THRESHOLDS.items()
    ]
    vectors = gpd.GeoDataFrame(geometry=zones.geometry.values, crs=zones.crs)
    stats = exact_extract(sources, vectors, ["count", "sum"], output="pandas")
    valid_cells = stats["thd30_count"].to_numpy(dtype=float)
    zone_area = shapely.area(np.asarray(zones.geometry.values))
    with np.errstate(invalid="ignore", divide="ignore"):
        known = valid_cells > 0
        denominator = np.where(known, valid_cells, 1.0)
        for name in _THRESHOLDS:
            share = stats[f"{name}_sum"].to_numpy(dtype=float) / denominator
            out[f"raster_share_{name}"] = np.where(known, np.clip(share, 0.0, 1.0), np.nan)
        valid_share = valid_cells * raster.pixel_area / zone_area
        out["raster_valid_share"] = np.clip(np.where(zone_area > 0, valid_share, 0.0), 0.0, 1.0)
    return out


def _north_up(raster: CoverageRaster) -> tuple[npt.NDArray[np.float32], tuple[float, ...]]:
    t = raster.transform
    if t.b != 0 or t.d != 0:
        raise ValueError("rotated coverage rasters are not supported; reproject it first")
    data = raster.data if t.e < 0 else raster.data[::-1]
    return data, raster.bounds
