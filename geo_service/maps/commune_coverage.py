"""The communes filled by their ARCEP statistics: the coverage seen where no building is known.

When the analysis had the ``commune_coverage`` layer (ARCEP commune statistics), the commune
results carry each commune's own figures (``arcep_share_thd30``, ``arcep_share_ftth``...,
see :mod:`geo_service.analysis.commune_coverage`). The territory map then fills each commune
by its share of locaux at ≥ 30 Mbit/s or, where ARCEP only gives the FTTH deployment (the
2018 observatory), by its share of locaux connectable to fibre, with the ramp of the coverage
hexagons; its legend says which share. The layer is on when the map opens only when there
are no premises (no hexagons) to show coverage building by building.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import pandas as pd

from geo_service.analysis import AnalysisResult
from geo_service.formatting import GBPS, GE, MBPS, fr_date, fr_number, fr_percent, plural
from geo_service.maps import style
from geo_service.maps.geojson import clean, packed_layer
from geo_service.maps.layers import legend_entries
from geo_service.maps.popups import arcep_period, period_label, text
from geo_service.settings import AnalysisParams

#: Name of the layer in the layer control.
LAYER_NAME: Final = "Couverture communale (Arcep)"
#: The shares a commune can be filled by, preferred first: key, result column, French label.
MEASURES: Final = (
    ("thd30", "arcep_share_thd30", f"locaux à {GE}30{MBPS}"),
    ("ftth", "arcep_share_ftth", "locaux raccordables à la fibre (FttH)"),
)
#: The figures of a commune's popup: result column, French label (shares unless ``locaux``).
FIGURES: Final = (
    ("arcep_locaux", "Locaux (Arcep)"),
    ("arcep_share_bhd8", f"Locaux à {GE}8{MBPS}"),
    ("arcep_share_thd30", f"Locaux à {GE}30{MBPS}"),
    ("arcep_share_thd100", f"Locaux à {GE}100{MBPS}"),
    ("arcep_share_thd1g", f"Locaux à {GE}1{GBPS}"),
    ("arcep_share_ftth", "Locaux raccordables à la fibre (FttH)"),
)
_PERIODS_SHOWN: Final = 3


@dataclass(frozen=True)
class CommuneCoverageLayer:
    """The packed commune polygons and what the legend says about them.

    ``json`` is a packed layer (see :func:`~geo_service.maps.geojson.packed_layer`) with, per
    commune, ``v`` the share it is filled by (null when unknown), ``t`` its tooltip and ``p``
    its popup (escaped HTML). ``measured`` counts the communes filled by each measure of
    :data:`MEASURES` (``none``: without figures); ``periods`` are the periods of the figures.
    """

    json: str
    count: int
    measured: dict[str, int]
    periods: tuple[str, ...]


def commune_coverage_layer(
    result: AnalysisResult, geometries: np.ndarray[Any, np.dtype[np.object_]]
) -> CommuneCoverageLayer | None:
    """The communes of ``result`` filled by their ARCEP share, or None when they have none.

    Parameters
    ----------
    result
        The analysis; its commune results carry the ``arcep_*`` columns when the
        ``commune_coverage`` layer was analysed.
    geometries
        The WGS84 map geometries of the result's communes that have a geometry, in order
        (see :func:`geo_service.maps.territory.commune_geometries`).
    """
    communes = result.communes
    communes = pd.DataFrame(communes[communes.geometry.notna()].drop(columns="geometry"))
    if len(communes) == 0 or len(communes) != len(geometries):
        return None
    values = pd.Series(np.nan, index=communes.index)
    measure = pd.Series("none", index=communes.index, dtype=object)
    for key, column, _ in reversed(MEASURES):
        if column in communes.columns:
            share = pd.to_numeric(communes[column], errors="coerce").astype(float)
            values = share.where(share.notna(), values)
            measure = measure.where(share.isna(), key)
    if values.isna().all():
        return None
    source = _source(result)
    rows = communes.to_dict("records")
    props: dict[str, list[Any]] = {
        "v": [None if np.isnan(v) else round(float(v), 3) for v in values],
        "t": [_tooltip(row, m) for row, m in zip(rows, measure, strict=True)],
        "p": [_popup(row, m, source) for row, m in zip(rows, measure, strict=True)],
    }
    periods = communes["arcep_period"] if "arcep_period" in communes.columns else pd.Series()
    return CommuneCoverageLayer(
        json=packed_layer(geometries, props),
        count=len(rows),
        measured={key: int((measure == key).sum()) for key in ("thd30", "ftth", "none")},
        periods=tuple(sorted({str(p) for p in periods if clean(p) is not None})),
    )


def legend_section(layer: CommuneCoverageLayer, params: AnalysisParams) -> dict[str, Any]:
    """The legend section of the layer: the share it shows, its classes and its period."""
    thd30, ftth = layer.measured["thd30"], layer.measured["ftth"]
    label = MEASURES[0][2] if thd30 else MEASURES[1][2]
    entries = [replace(e, opacity=style.COMMUNE_OPACITY) for e in style.share_entries(params)]
    if layer.measured["none"]:
        entries.append(
            style.LegendEntry(
                "Pas de statistique communale",
                style.NO_COMMUNE_FIGURES,
                stroke="#9e9e9e",
                opacity=style.NO_COMMUNE_FIGURES_OPACITY,
            )
        )
    note = f"Part des {label} de chaque commune"
    if thd30 and ftth:
        note += (
            f" ; à défaut ({plural(ftth, 'commune')}), part des {MEASURES[1][2]}"
            ", le très haut débit n'y étant pas mesuré"
        )
    elif ftth:
        note += ", le très haut débit n'étant pas mesuré par ces statistiques"
    periods = [arcep_period(p) or p for p in layer.periods[:_PERIODS_SHOWN]]
    if periods:
        more = ", …" if len(layer.periods) > _PERIODS_SHOWN else ""
        note += f" ({', '.join(periods)}{more})"
    return {
        "title": f"{LAYER_NAME} : {label}",
        "layer": "commune_coverage",
        "entries": legend_entries(entries),
        "note": f"{note} ; plus foncé : moins bien couvert.",
    }


def _tooltip(row: dict[str, Any], measure: str) -> str:
    head = f"<strong>{text(_name(row))}</strong> ({text(str(row['commune_insee']))})"
    if measure == "none":
        return f"{head}<br>Pas de statistique communale de l'Arcep"
    column, label = next((c, label) for key, c, label in MEASURES if key == measure)
    period = arcep_period(clean(row.get("arcep_period")))
    when = f", {period}" if period else ""
    return f"{head}<br>{text(fr_percent(float(row[column])))} des {text(label)} (Arcep{when})"


def _popup(row: dict[str, Any], measure: str, source: str) -> str | None:
    if measure == "none":
        return None
    period = period_label(clean(row.get("arcep_period")))
    lines = []
    for column, label in FIGURES:
        value = clean(row.get(column))
        if value is None:
            continue
        shown = fr_number(int(value)) if column == "arcep_locaux" else fr_percent(float(value))
        lines.append(f'<tr><th>{text(label)}</th><td data-field="{column}">{text(shown)}</td></tr>')
    if period:
        lines.append(f'<tr><th>Période</th><td data-field="arcep_period">{text(period)}</td></tr>')
    colour = next(label for key, _, label in MEASURES if key == measure)
    return (
        '<div class="gs-popup gs-commune-popup">'
        f"<h3>{text(_name(row))}</h3>"
        f'<p class="gs-sub">Commune · code INSEE {text(str(row["commune_insee"]))}</p>'
        f'<p class="gs-basis">Statistiques communales de l\'Arcep ; couleur sur la carte : '
        f"part des {text(colour)}.</p>"
        f'<table class="gs-figures">{"".join(lines)}</table>'
        f'<p class="gs-sub">Source : {text(source)}</p></div>'
    )


def _name(row: dict[str, Any]) -> str:
    name = clean(row.get("name"))
    return str(name) if name is not None else str(row["commune_insee"])


def _source(result: AnalysisResult) -> str:
    meta = result.run.inputs.get("commune_coverage")
    if meta is None:
        return "Arcep, statistiques communales"
    dated = f", données du {fr_date(meta.data_date)}" if meta.data_date else ""
    return f"{meta.title}{dated} ({meta.licence})"
