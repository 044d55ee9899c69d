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


def zone_point_pairs(
    zones: gpd.GeoSeries, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[IntArray, IntArray]:
    """Positions ``(zone, point)`` of every point ``(x[i], y[i])`` that intersects a zone: the
    pairs :func:`zone_feature_pairs` gives for the points as geometries (boundaries included,
    NaN coordinates in no zone), without making a geometry of each point.

    The points are sorted by x once (the order of points of equal x does not matter: the pairs
    are the same); each zone tests those of its bounding box with ``shapely.intersects_xy`` on
    its prepared geometry.
    """
    order = np.argsort(x)  # NaN last: in no zone's x range
    xs, ys = x[order], y[order]
    geometries = np.asarray(zones.values)
    bounds = shapely.bounds(geometries)
    zone_parts, point_parts = [], []
    for k, geometry in enumerate(geometries):
        if geometry is None or np.isnan(bounds[k]).any():
            continue
        low = int(np.searchsorted(xs, bounds[k, 0], side="left"))
        high = int(np.searchsorted(xs, bounds[k, 2], side="right"))
        strip = ys[low:high]
        candidates = low + np.flatnonzero((strip >= bounds[k, 1]) & (strip <= bounds[k, 3]))
        if not len(candidates):
            continue
        shapely.prepare(geometry)
        hits = candidates[shapely.intersects_xy(geometry, xs[candidates], ys[candidates])]
        point_parts.append(order[hits])
        zone_parts.append(np.full(len(hits), k, dtype=np.intp))
    if not zone_parts:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    return np.concatenate(zone_parts), np.concatenate(point_parts).astype(np.intp)
