"""Broadband coverage of the premises in each zone, as locaux-weighted shares."""

from __future__ import annotations

from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo_service.analysis.overlay import zone_feature_pairs
from geo_service.model import BHD8, THD1G, THD30, THD100, class_rank

#: Share columns and the lowest class rank that satisfies each.
SHARE_THRESHOLDS: Final[dict[str, int]] = {
    "share_bhd8": BHD8,
    "share_thd30": THD30,
    "share_thd100": THD100,
    "share_thd1g": THD1G,
}
PREMISES_COLUMNS: Final = ("premises", "locaux", *SHARE_THRESHOLDS, "share_ftth")


def premises_coverage(zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> pd.DataFrame:
    """Premises, locaux and coverage shares of each zone.

    Parameters
    ----------
    zones
        Zones in Lambert-93.
    premises
        Canonical premises (``locaux``, ``down_class``, optional ``ftth``) in Lambert-93.

    Returns
    -------
    One row per zone (same index as ``zones``): ``premises`` (buildings), ``locaux``,
    ``share_bhd8`` ... ``share_thd1g`` (share of locaux whose class is at least BHD8 ...
    THD1G) and ``share_ftth`` (share of locaux with fibre available, among those where it is
    known). Shares are NaN where the zone has no premises.
    """
    zone_idx, prem_idx = zone_feature_pairs(zones.geometry, premises.geometry)
    n = len(zones)
    locaux = premises["locaux"].to_numpy(dtype=float)[prem_idx]
    ranks = class_rank(premises["down_class"])[prem_idx]
    total = np.bincount(zone_idx, weights=locaux, minlength=n)
    out = pd.DataFrame(index=zones.index)
    out["premises"] = np.bincount(zone_idx, minlength=n).astype(np.int64)
    out["locaux"] = total.astype(np.int64)
    for column, rank in SHARE_THRESHOLDS.items():
        out[column] = _ratio(
            np.bincount(zone_idx, weights=locaux * (ranks >= rank), minlength=n), total
        )
    out["share_ftth"] = _ftth_share(premises, zone_idx, prem_idx, locaux, n)
    return out


def _ftth_share(
    premises: gpd.GeoDataFrame,
    zone_idx: npt.NDArray[np.intp],
    prem_idx: npt.NDArray[np.intp],
    locaux: npt.NDArray[np.float64],
    n: int,
) -> npt.NDArray[np.float64]:
    if "ftth" not in premises.columns:
        return np.full(n, np.nan)
    ftth = pd.array(premises["ftth"].to_numpy(), dtype="boolean")[prem_idx]
    known = ~np.asarray(ftth.isna())
    fibre = np.asarray(ftth.fillna(False), dtype=bool)
    return _ratio(
        np.bincount(zone_idx, weights=locaux * fibre, minlength=n),
        np.bincount(zone_idx, weights=locaux * known, minlength=n),
    )


def _ratio(part: npt.NDArray[Any], whole: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)
