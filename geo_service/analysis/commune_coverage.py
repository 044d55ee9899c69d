"""ARCEP commune statistics in the analysis: the status of zones nothing else describes.

A zone with no premises and no usable raster has no status of its own. When the
``commune_coverage`` layer (ARCEP commune statistics, see
:mod:`geo_service.sources.arcep_communes`) covers its commune, the zone takes its commune's
shares, with ``status_basis = "commune"`` and a reason that says so:

- with Ma connexion internet's wired shares, ``share_thd30`` and ``share_bhd8`` decide as for
  premises;
- with the FTTH observatory alone, the share of premises connectable to fibre stands for the
  very-high-speed share (a lower bound: fibre is at least 100 Mbit/s, but copper and cable
  may also reach 30 Mbit/s) and the good-broadband share is unknown, so such a zone is served
  or underserved, never unserved.

Zone codes are matched through :func:`geo_service.insee.fold_arrondissements` (a zone in
13203 finds Marseille's 13055). Commune results gain the commune's own ARCEP figures
(``arcep_share_thd30``...), whatever decided the status of their zones.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

from geo_service.analysis.fields import COMMUNE_FIELDS, ZONE_FIELDS, from_source
from geo_service.analysis.status import StatusBasis, commune_estimate
from geo_service.formatting import GE, MBPS, fr_date, fr_percent
from geo_service.insee import fold_arrondissements
from geo_service.model import LayerKind

#: Columns added to the zone results: the ARCEP figures of the zone's commune.
ZONE_COMMUNE_COLUMNS: Final = from_source(ZONE_FIELDS, LayerKind.COMMUNE_COVERAGE)
#: Columns added to the commune results: the commune's own ARCEP figures.
COMMUNE_ARCEP_COLUMNS: Final = from_source(COMMUNE_FIELDS, LayerKind.COMMUNE_COVERAGE)
#: Result column -> ``commune_coverage`` column, for the zones and for the communes.
_ZONE_FIGURES: Final = {c: c.removeprefix("commune_") for c in ZONE_COMMUNE_COLUMNS}
_COMMUNE_FIGURES: Final = {c: c.removeprefix("arcep_") for c in COMMUNE_ARCEP_COLUMNS}
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def commune_figures(codes: pd.Series, commune_coverage: pd.DataFrame) -> pd.DataFrame:
    """The ``commune_coverage`` row of each code's commune (arrondissements folded).

    Returns
    -------
    One row per code (same index), the layer's columns; NaN where the commune has no row.
    """
    table = pd.DataFrame(commune_coverage.drop(columns="geometry", errors="ignore"))
    table = table.assign(commune_insee=fold_arrondissements(table["commune_insee"]))
    table = table.drop_duplicates("commune_insee").set_index("commune_insee")
    figures = table.reindex(fold_arrondissements(codes).to_numpy())
    figures.index = codes.index
    return figures


def zone_commune_coverage(zones: pd.DataFrame, commune_coverage: pd.DataFrame) -> pd.DataFrame:
    """:data:`ZONE_COMMUNE_COLUMNS` of each zone, by its ``commune_insee``."""
    codes = zones["commune_insee"] if "commune_insee" in zones.columns else None
    if codes is None:
        codes = pd.Series(None, index=zones.index, dtype=object)
    return _result_columns(commune_figures(codes, commune_coverage), _ZONE_FIGURES)


def with_commune_basis(shares: pd.DataFrame, commune: pd.DataFrame) -> pd.DataFrame:
    """:func:`~geo_service.analysis.status.effective_shares` completed by the communes' figures.

    Zones whose basis is ``none`` and whose commune has a THD30 share (or, failing it, a
    fibre share) get basis ``commune``, ``thd30`` from that share and ``bhd8`` from the
    commune's BHD8 share (NaN with fibre figures only).
    """
    thd30 = commune["commune_share_thd30"].to_numpy(dtype=float)
    ftth = commune["commune_share_ftth"].to_numpy(dtype=float)
    estimate = commune_estimate(thd30, ftth)
    use = (shares["basis"] == StatusBasis.NONE.value).to_numpy() & ~np.isnan(estimate)
    out = shares.copy()
    out.loc[use, "basis"] = StatusBasis.COMMUNE.value
    out.loc[use, "thd30"] = estimate[use]
    out.loc[use, "bhd8"] = commune["commune_share_bhd8"].to_numpy(dtype=float)[use]
    return out


def commune_reason(row: dict[str, Any], *, has_raster: bool) -> str:
    """The French sentence explaining a status estimated from the commune's figures."""
    missing = (
        "aucun local recensé et carte de couverture insuffisante"
        if has_raster
        else "aucun local recensé"
    )
    period = _period(row.get("commune_period"))
    when = f" ({period})" if period else ""
    thd30 = row.get("commune_share_thd30")
    if _known(thd30):
        figures = f"{fr_percent(thd30)} des locaux de la commune à {GE}30{MBPS}"
        if _known(row.get("commune_share_bhd8")):
            figures += f" et {fr_percent(row['commune_share_bhd8'])} à {GE}8{MBPS}"
    else:
        figures = (
            f"fibre optique (FttH) raccordable pour {fr_percent(row['commune_share_ftth'])} "
            "des locaux de la commune, le bon haut débit n'y étant pas mesuré"
        )
    return (
        f"{missing} : statut estimé d'après les statistiques communales de l'Arcep{when}, {figures}"
    )


def commune_arcep_columns(
    commune_results: pd.DataFrame, commune_coverage: pd.DataFrame
) -> pd.DataFrame:
    """:data:`COMMUNE_ARCEP_COLUMNS` of each commune result, by its ``commune_insee``."""
    figures = commune_figures(commune_results["commune_insee"], commune_coverage)
    return _result_columns(figures, _COMMUNE_FIGURES)


def _result_columns(figures: pd.DataFrame, sources: dict[str, str]) -> pd.DataFrame:
    """The result columns named by ``sources`` (result column -> layer column): the
    ``period`` as text, the other figures as floats."""
    out = pd.DataFrame(index=figures.index)
    for target, source in sources.items():
        out[target] = _texts(figures, source) if source == "period" else _floats(figures, source)
    return out


def _floats(figures: pd.DataFrame, column: str) -> pd.Series:
    if column not in figures.columns:
        return pd.Series(np.nan, index=figures.index)
    return pd.to_numeric(figures[column], errors="coerce").astype(float)


def _texts(figures: pd.DataFrame, column: str) -> pd.Series:
    if column not in figures.columns:
        return pd.Series(None, index=figures.index, dtype=object)
    values = figures[column].astype(object)
    return values.where(values.notna(), None)


def _known(value: object) -> bool:
    return isinstance(value, int | float) and not math.isnan(float(value))


def _period(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    if _ISO_DATE.match(value):
        return f"données du {fr_date(date.fromisoformat(value))}"
    return value.strip()
