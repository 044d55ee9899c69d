"""Short French sentences that explain each zone's status and priority."""

from __future__ import annotations

import math
from typing import Any, Final

import pandas as pd

from geo_service.analysis.commune_coverage import commune_reason
from geo_service.analysis.fields import PRIORITY_DECIMALS
from geo_service.analysis.status import StatusBasis
from geo_service.formatting import GE, MBPS, NNBSP, fr_hectares, fr_number, fr_percent, plural
from geo_service.model import ZoneStatus
from geo_service.settings import AnalysisParams

#: Separator of the sentences in the ``reasons`` column (French typography: thin space before ;).
REASONS_SEPARATOR: Final = f"{NNBSP}; "


def split_reasons(text: str | None) -> list[str]:
    """The sentences of a ``reasons`` value."""
    if not text or (isinstance(text, float) and math.isnan(text)):
        return []
    return [part for part in str(text).split(REASONS_SEPARATOR) if part]


def zone_reasons(
    metrics: pd.DataFrame,
    shares: pd.DataFrame,
    status: pd.Series,
    priority: pd.DataFrame,
    params: AnalysisParams,
    *,
    has_raster: bool,
) -> pd.Series:
    """One ``reasons`` text per zone (sentences joined by :data:`REASONS_SEPARATOR`)."""
    rows = pd.concat([metrics, shares, priority[["priority"]]], axis=1)
    rows["status"] = status
    texts = [
        REASONS_SEPARATOR.join(_capitalised(_sentences(row, params, has_raster)))
        for row in rows.to_dict("records")
    ]
    return pd.Series(texts, index=metrics.index, name="reasons", dtype=object)


def _sentences(row: dict[str, Any], params: AnalysisParams, has_raster: bool) -> list[str]:
    basis = row["basis"]
    if basis == StatusBasis.PREMISES:
        out = _premises_sentences(row)
    elif basis == StatusBasis.RASTER:
        # Both shares that decide the status (THD30 for served, BHD8 for unserved) are given,
        # so that "0 % à ≥ 30 Mbit/s" beside "mal desservie" reads as the rule decided it.
        out = [
            "aucun local recensé : statut estimé d'après la carte de couverture "
            f"({fr_percent(row['thd30'])} de la surface renseignée à {GE}30{MBPS}, "
            f"{fr_percent(row['bhd8'])} à {GE}8{MBPS})"
        ]
    elif basis == StatusBasis.COMMUNE:
        out = [commune_reason(row, has_raster=has_raster)]
    elif has_raster:
        out = [
            "aucun local recensé et carte de couverture insuffisante "
            f"({fr_percent(row['raster_valid_share'])} de la surface renseignée, "
            f"{fr_percent(params.min_raster_valid_share)} requis)"
        ]
    else:
        out = ["aucun local recensé et aucune carte de couverture"]
    out.append(_land_sentence(row))
    if row["status"] in (ZoneStatus.UNDERSERVED, ZoneStatus.UNSERVED):
        out.append(_priority_sentence(row))
    return out


def _premises_sentences(row: dict[str, Any]) -> list[str]:
    thd30, bhd8 = row["thd30"], row["bhd8"]
    if row["status"] == ZoneStatus.SERVED:
        out = [f"{fr_percent(thd30)} des locaux ont accès au très haut débit ({GE}30{MBPS})"]
    else:
        out = [f"{fr_percent(1 - thd30)} des locaux sans très haut débit (<{NNBSP}30{MBPS})"]
    if row["status"] == ZoneStatus.UNSERVED:
        out.append(f"{fr_percent(1 - bhd8)} des locaux sans bon haut débit (<{NNBSP}8{MBPS})")
    if not math.isnan(row["share_ftth"]):
        out.append(
            f"fibre optique (FttH) disponible pour {fr_percent(row['share_ftth'])} des locaux"
        )
    out.append(
        f"{plural(int(row['locaux']), 'local', 'locaux')} dans "
        f"{plural(int(row['premises']), 'bâtiment')}"
    )
    return out


def _land_sentence(row: dict[str, Any]) -> str:
    plots = int(row["available_plots"])
    if plots == 0:
        return "aucun foncier disponible recensé"
    return (
        f"{fr_hectares(row['available_land_ha'])} de foncier disponible "
        f"({plural(plots, 'parcelle')})"
    )


def _priority_sentence(row: dict[str, Any]) -> str:
    factors = [
        f"écart de couverture {fr_percent(1 - row['thd30'])}",
        f"{fr_hectares(row['available_land_ha'])} disponibles",
    ]
    if row["locaux"] > 0:
        factors.append(plural(int(row["locaux"]), "local", "locaux"))
    return f"priorité {fr_number(row['priority'], PRIORITY_DECIMALS)}/100 : {', '.join(factors)}"


def _capitalised(sentences: list[str]) -> list[str]:
    return [s[:1].upper() + s[1:] for s in sentences]
