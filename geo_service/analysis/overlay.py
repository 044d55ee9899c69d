"""Which features lie in which zone: vectorised STRtree queries, no Python loop over features."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from geo_service.model import CANONICAL_CRS

IntArray = npt.NDArray[np.intp]


def in_lambert93(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in Lambert-93 (the CRS in which everything is measured)."""
    if frame.crs is None:
        raise ValueError("layer has no CRS; validate it first (geo_service.validation)")
    return frame if frame.crs.equals(CANONICAL_CRS) else frame.to_crs(CANONICAL_CRS)


def zone_feature_pairs(zones: gpd.GeoSeries, features: gpd.GeoSeries) -> tuple[IntArray, IntArray]:
    """Positions ``(zone, feature)`` of every feature that intersects a zone.

    A feature on a zone's boundary intersects it; a feature in two overlapping zones is paired
    with both. The tree is built on the zones (few) and queried with the features (many),
    which is about three times faster than the reverse for a million points.
    """
    if len(zones) == 0 or len(features) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    tree = shapely.STRtree(np.asarray(zones.values))
    feature_idx, zone_idx = tree.query(np.asarray(features.values), predicate="intersects")
    return zone_idx.astype(np.intp), feature_idx.astype(np.intp)
