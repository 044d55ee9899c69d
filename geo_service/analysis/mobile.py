"""Mobile coverage of each zone: share of its area with good 4G per operator, and nearby sites.

"Good" 4G is ARCEP's two best coverage levels, TBC ("très bonne couverture", indoors) and BC
("bonne couverture", outdoors and in most buildings); CL ("couverture limitée") is not good.
The coverage maps are the operators' simulations published by ARCEP (``mobile_coverage``
layer); a zone outside the imported maps counts as not covered.
"""

from __future__ import annotations

import re
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo_service.analysis.overlay import in_lambert93

#: Coverage levels that count as good coverage.
GOOD_LEVELS: Final = ("TBC", "BC")
#: Prefix of the per-operator share columns; the best operator's share has the suffix ``best``.
SHARE_PREFIX: Final = "mobile_4g_good_share_"
BEST_SHARE: Final = f"{SHARE_PREFIX}best"
#: Distance from a zone within which 4G sites are counted, in metres.
SITE_RADIUS_M: Final = 1000.0
SITES_COUNT: Final = "mobile_4g_sites_1km"
OPERATORS_COUNT: Final = "mobile_4g_operators_1km"


def operator_slug(label: str) -> str:
    """Column-name form of an operator's name: ``Bouygues Telecom`` -> ``bouygues_telecom``."""
    plain = re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")
    return plain or "unknown"


def mobile_coverage_shares(
    zones: gpd.GeoDataFrame, coverage: gpd.GeoDataFrame, *, techno: str = "4G"
) -> pd.DataFrame:
    """Share of each zone's area with good ``techno`` coverage, per operator and for the best.

    Parameters
    ----------
    zones
        Zones (any CRS; measured in Lambert-93).
    coverage
        The ``mobile_coverage`` layer: polygons with ``operator``, ``techno``, ``level``
        (TBC, BC, CL) and optionally ``usage`` (data polygons are used when there are some).

    Returns
    -------
    One row per zone (same index as ``zones``): ``mobile_4g_good_share_<operator>`` for each
    operator of the maps (in [0, 1]) and ``mobile_4g_good_share_best``, the best of them
    (NaN when the maps hold no ``techno`` polygon).
    """
    zones = in_lambert93(zones)
    out = pd.DataFrame(index=zones.index)
    zone_geoms = np.asarray(zones.geometry.values, dtype=object)
    areas = shapely.area(zone_geoms)
    good = _good_polygons(in_lambert93(coverage), techno)
    if len(zone_geoms) == 0 or len(good) == 0:
        out[BEST_SHARE] = np.nan
        return out
    xmin, ymin, xmax, ymax = zones.total_bounds
    slugs = good["operator"].fillna(good["operator_code"]).astype(str).map(operator_slug)
    for slug in sorted(slugs.unique()):
        geoms = np.asarray(good.geometry.values, dtype=object)[(slugs == slug).to_numpy()]
        clipped = shapely.clip_by_rect(geoms, xmin, ymin, xmax, ymax)
        covered = _covered_area(zone_geoms, shapely.union_all(clipped))
        out[f"{SHARE_PREFIX}{slug}"] = _share(covered, areas)
    out[BEST_SHARE] = out.max(axis=1, skipna=True)
    return out


def mobile_site_counts(
    zones: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, radius: float = SITE_RADIUS_M
) -> pd.DataFrame:
    """4G sites within ``radius`` metres of each zone (inside counts), and their operators.

    Returns
    -------
    One row per zone: ``mobile_4g_sites_1km`` (sites) and ``mobile_4g_operators_1km``
    (distinct operators among them).
    """
    zones = in_lambert93(zones)
    sites = in_lambert93(sites)
    has_4g = sites["site_4g"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    site_geoms = np.asarray(sites.geometry.values, dtype=object)[has_4g]
    operators = sites["operator_code"].astype(str).to_numpy()[has_4g]
    n = len(zones)
    out = pd.DataFrame(index=zones.index)
    if n == 0 or len(site_geoms) == 0:
        out[SITES_COUNT] = np.zeros(n, dtype=np.int64)
        out[OPERATORS_COUNT] = np.zeros(n, dtype=np.int64)
        return out
    tree = shapely.STRtree(np.asarray(zones.geometry.values, dtype=object))
    site_idx, zone_idx = tree.query(site_geoms, predicate="dwithin", distance=radius)
    out[SITES_COUNT] = np.bincount(zone_idx, minlength=n).astype(np.int64)
    codes, operator_idx = np.unique(operators[site_idx], return_inverse=True)
    pairs = np.unique(zone_idx.astype(np.int64) * len(codes) + operator_idx)
    out[OPERATORS_COUNT] = np.bincount(pairs // len(codes), minlength=n).astype(np.int64)
    return out


def _good_polygons(coverage: gpd.GeoDataFrame, techno: str) -> gpd.GeoDataFrame:
    level = coverage["level"].astype(str).str.upper()
    same = coverage["techno"].astype(str).str.upper() == techno.upper()
    selected = coverage[level.isin(GOOD_LEVELS) & same]
    if "usage" in selected.columns:
        usage = selected["usage"].astype("string").str.lower()
        if (usage == "data").any():
            selected = selected[(usage == "data").fillna(False).to_numpy(dtype=bool)]
    return selected[~selected.geometry.isna()]


def _covered_area(
    zone_geoms: npt.NDArray[np.object_], covered: shapely.Geometry
) -> npt.NDArray[np.float64]:
    """Area of each zone inside ``covered``, summed over its disjoint parts (STRtree pairs)."""
    parts = shapely.get_parts(covered)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return np.zeros(len(zone_geoms))
    tree = shapely.STRtree(parts)
    zone_idx, part_idx = tree.query(zone_geoms, predicate="intersects")
    pieces = shapely.area(shapely.intersection(zone_geoms[zone_idx], parts[part_idx]))
    covered_area: npt.NDArray[np.float64] = np.bincount(
        zone_idx, weights=pieces, minlength=len(zone_geoms)
    ).astype(np.float64)
    return covered_area


def _share(
    part: npt.NDArray[np.float64], whole: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)
    return np.clip(ratio, 0.0, 1.0)
