"""Available commercial land in each zone."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis.overlay import zone_feature_pairs

SQUARE_METRES_PER_HECTARE = 10_000.0


def available_land(zones: gpd.GeoDataFrame, land: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Hectares and number of available plots in each zone.

    A polygon plot counts for the area of its intersection with the zone (a plot across two
    zones counts in both, for its part in each); a point plot (a brownfield given as a point)
    counts for its declared ``area_ha`` in the zone that contains it.

    Returns
    -------
    One row per zone (same index as ``zones``): ``available_land_ha`` and ``available_plots``.
    """
    n = len(zones)
    hectares = np.zeros(n)
    plots = np.zeros(n, dtype=np.int64)
    if land is not None and len(land):
        available = land[land["available"].to_numpy(dtype=bool)]
        is_point = (available.geom_type == "Point").to_numpy()
        polygons, points = available[~is_point], available[is_point]
        zone_idx, plot_idx = zone_feature_pairs(zones.geometry, polygons.geometry)
        areas = shapely.area(
            shapely.intersection(
                np.asarray(zones.geometry.values)[zone_idx],
                np.asarray(polygons.geometry.values)[plot_idx],
            )
        )
        inside = areas > 0
        square_metres = np.bincount(zone_idx[inside], weights=areas[inside], minlength=n)
        hectares += square_metres / SQUARE_METRES_PER_HECTARE
        plots += np.bincount(zone_idx[inside], minlength=n)
        zone_idx, point_idx = zone_feature_pairs(zones.geometry, points.geometry)
        declared = points["area_ha"].to_numpy(dtype=float, na_value=0.0)[point_idx]
        hectares += np.bincount(zone_idx, weights=declared, minlength=n)
        plots += np.bincount(zone_idx, minlength=n)
    return pd.DataFrame(
        {"available_land_ha": hectares, "available_plots": plots}, index=zones.index
    )
