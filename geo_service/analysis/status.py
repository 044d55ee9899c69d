"""Status of each zone (served, underserved, unserved, unknown) from its coverage shares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo_service.model import ZoneStatus
from geo_service.settings import AnalysisParams


class StatusBasis(StrEnum):
    """What decided a zone's status."""

    PREMISES = "premises"
    RASTER = "raster"
    COMMUNE = "commune"
    NONE = "none"


def effective_shares(metrics: pd.DataFrame, params: AnalysisParams) -> pd.DataFrame:
    """The BHD8 and THD30 shares that decide each zone's status, and where they come from.

    The premises decide when the zone has locaux; otherwise the raster decides when at least
    ``params.min_raster_valid_share`` of the zone has known pixels; otherwise nothing does.

    Returns
    -------
    Columns ``basis`` (:class:`StatusBasis`), ``bhd8`` and ``thd30`` (NaN when basis is none).
    """
    has_premises = metrics["locaux"].to_numpy() > 0
    raster_ok = (
        ~has_premises
        & (metrics["raster_valid_share"].fillna(0.0).to_numpy() >= params.min_raster_valid_share)
        & metrics["raster_share_thd30"].notna().to_numpy()
    )
    basis = np.where(
        has_premises,
        StatusBasis.PREMISES.value,
        np.where(raster_ok, StatusBasis.RASTER.value, StatusBasis.NONE.value),
    )
    out = pd.DataFrame({"basis": basis}, index=metrics.index)
    for name in ("bhd8", "thd30"):
        out[name] = np.where(
            has_premises,
            metrics[f"share_{name}"].to_numpy(dtype=float),
            np.where(raster_ok, metrics[f"raster_share_{name}"].to_numpy(dtype=float), np.nan),
        )
    return out


def classify(shares: pd.DataFrame, params: AnalysisParams) -> pd.Series:
    """Status of each zone from :func:`effective_shares`.

    Served when ``thd30 >= params.served_thd30_share``; else unserved when
    ``bhd8 < params.unserved_bhd8_share``; else underserved; unknown without a basis.
    """
    thd30 = shares["thd30"].to_numpy(dtype=float)
    bhd8 = shares["bhd8"].to_numpy(dtype=float)
    status = np.select(
        [np.isnan(thd30), thd30 >= params.served_thd30_share, bhd8 < params.unserved_bhd8_share],
        [ZoneStatus.UNKNOWN.value, ZoneStatus.SERVED.value, ZoneStatus.UNSERVED.value],
        default=ZoneStatus.UNDERSERVED.value,
    )
    return pd.Series(status, index=shares.index, name="status", dtype=object)


def commune_estimate(
    thd30: npt.NDArray[np.float64], ftth: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The share of a commune's locaux at ≥ 30 Mbit/s that decides a zone's status from the
    commune's figures: the THD30 share, or where it is unknown (FTTH observatory alone) the
    share connectable to fibre, a lower bound."""
    return np.asarray(np.where(np.isnan(thd30), ftth, thd30), dtype=float)


def effective_share(row: Mapping[str, Any], column: str) -> float | None:
    """The share ``column`` (``share_bhd8``, ``share_thd30``) that decided a zone result's
    status, as :func:`effective_shares` and the commune fallback chose it: of its premises,
    else of the raster's known area (``raster_<column>``), else of its commune
    (``commune_<column>``, THD30 by :func:`commune_estimate`); None where unknown."""
    basis = row.get("status_basis")
    if basis == StatusBasis.RASTER.value:
        return _number(row.get(f"raster_{column}"))
    if basis == StatusBasis.COMMUNE.value:
        share = _number(row.get(f"commune_{column}"))
        if column != "share_thd30":
            return share
        ftth = _number(row.get("commune_share_ftth"))
        nan = float("nan")
        estimate = commune_estimate(
            np.array([nan if share is None else share]), np.array([nan if ftth is None else ftth])
        )
        return _number(estimate[0])
    return _number(row.get(column))


def thd30_lower_bound(row: Mapping[str, Any]) -> bool:
    """Whether the THD30 share that decided a zone result's status is only a lower bound: its
    commune's share connectable to fibre standing for the commune's unknown THD30 share."""
    return (
        row.get("status_basis") == StatusBasis.COMMUNE.value
        and _number(row.get("commune_share_thd30")) is None
        and _number(row.get("commune_share_ftth")) is not None
    )


def _number(raw: object) -> float | None:
    if raw is None:
        return None
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
