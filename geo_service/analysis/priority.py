"""Priority (0-100) of non-served zones: where broadband would unlock the most land and business."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from geo_service.analysis.fields import PRIORITY_DECIMALS
from geo_service.model import AccessClass, ZoneStatus
from geo_service.settings import AnalysisParams

FLAGGED = (ZoneStatus.UNDERSERVED.value, ZoneStatus.UNSERVED.value)


#: Access score of each access class in the priority (unknown: the component is left out).
ACCESS_SCORES: Final = {
    AccessClass.POOR.value: 1.0,
    AccessClass.FAIR.value: 0.5,
    AccessClass.GOOD.value: 0.0,
}


def priority_scores(
    metrics: pd.DataFrame,
    shares: pd.DataFrame,
    status: pd.Series,
    params: AnalysisParams,
    access: pd.Series | None = None,
) -> pd.DataFrame:
    """Priority of each zone and its three component scores.

    ``priority = 100 * (w_gap * gap + w_land * land + w_locaux * locaux) / (w_gap + w_land +
    w_locaux)`` where, each in [0, 1]:

    - ``gap = 1 - thd30`` (the share without very-high-speed broadband, from the premises or,
      failing them, the raster);
    - ``land = L / (L + params.priority_land_half_ha)`` with ``L`` the available hectares;
    - ``locaux = N / (N + params.priority_locaux_half)`` with ``N`` the locaux of the zone.

    With ``params.priority_weight_access`` > 0 and the zones' ``access`` classes, a fourth
    component :data:`ACCESS_SCORES` joins the weighted mean (left out, with its weight, where
    the access is unknown). Served zones get 0, unknown zones NaN. ``rank`` orders flagged
    zones by decreasing priority (1 = first), ties broken by ``zone_id``.
    """
    gap = 1.0 - shares["thd30"].to_numpy(dtype=float)
    land_ha = metrics["available_land_ha"].to_numpy(dtype=float)
    locaux = metrics["locaux"].to_numpy(dtype=float)
    land = land_ha / (land_ha + params.priority_land_half_ha)
    business = locaux / (locaux + params.priority_locaux_half)
    weights = (
        params.priority_weight_gap,
        params.priority_weight_land,
        params.priority_weight_locaux,
    )
    total = weights[0] * gap + weights[1] * land + weights[2] * business
    weight = np.full(len(gap), sum(weights))
    if access is not None and params.priority_weight_access > 0:
        reached = access.map(ACCESS_SCORES).to_numpy(dtype=float)
        known = ~np.isnan(reached)
        total = total + np.where(known, params.priority_weight_access * reached, 0.0)
        weight = weight + np.where(known, params.priority_weight_access, 0.0)
    score = 100.0 * total / weight
    flagged = status.isin(FLAGGED).to_numpy()
    served = (status == ZoneStatus.SERVED.value).to_numpy()
    priority = np.where(flagged, np.round(score, PRIORITY_DECIMALS), np.where(served, 0.0, np.nan))
    out = pd.DataFrame(
        {"priority": priority, "gap_score": gap, "land_score": land, "locaux_score": business},
        index=metrics.index,
    )
    out["rank"] = _rank(out["priority"].where(flagged), metrics["zone_id"])
    return out


def _rank(priority: pd.Series, zone_id: pd.Series) -> pd.Series:
    order = pd.DataFrame({"p": priority, "id": zone_id.astype(str)}).dropna(subset=["p"])
    order = order.sort_values(["p", "id"], ascending=[False, True])
    rank = pd.Series(pd.NA, index=priority.index, dtype="Int64")
    rank[order.index] = np.arange(1, len(order) + 1)
    return rank
