"""A straightforward geopandas pipeline, the baseline the vectorised analysis is measured against.

It computes the same per-zone figures the obvious way: ``sjoin`` then ``groupby`` with Python
functions, ``overlay`` for the land, and one ``rasterio.mask`` per zone for the raster (which
counts whole pixels whose centre is inside, so it is not exact).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.features import geometry_mask

from geo_service.model import CLASS_MIN_MBPS, SPEED_CLASSES, CoverageRaster


def baseline_zone_metrics(
    zones: gpd.GeoDataFrame,
    premises: gpd.GeoDataFrame,
    land: gpd.GeoDataFrame,
    raster: CoverageRaster,
) -> pd.DataFrame:
    """Per-zone shares, land and raster figures, computed the straightforward way."""
    joined = gpd.sjoin(premises, zones[["zone_id", "geometry"]], predicate="within")
    rank = {name: i for i, name in enumerate(SPEED_CLASSES)}

    def shares(group: pd.DataFrame) -> pd.Series:
        weights = group["locaux"]
        ranks = group["down_class"].map(rank)
        total = weights.sum()
        return pd.Series(
            {
                "premises": len(group),
                "locaux": total,
                "share_bhd8": weights[ranks >= 3].sum() / total,
                "share_thd30": weights[ranks >= 4].sum() / total,
                "share_thd100": weights[ranks >= 5].sum() / total,
                "share_thd1g": weights[ranks >= 6].sum() / total,
            }
        )

    metrics = joined.groupby("zone_id").apply(shares, include_groups=False)
    available = land[land["available"].astype(bool) & (land.geom_type != "Point")]
    pieces = gpd.overlay(
        zones[["zone_id", "geometry"]], available[["geometry"]], how="intersection"
    )
    metrics["available_land_ha"] = pieces.groupby("zone_id").apply(
        lambda g: g.geometry.area.sum() / 10_000, include_groups=False
    )
    metrics = metrics.reindex(zones["zone_id"])
    metrics["raster_share_thd30"] = [_raster_share(geom, raster) for geom in zones.geometry]
    return metrics


def _raster_share(geometry: object, raster: CoverageRaster) -> float:
    inside = ~geometry_mask([geometry], out_shape=raster.shape, transform=raster.transform)
    values = raster.data[inside]
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    return float((values >= CLASS_MIN_MBPS["THD30"]).mean())
