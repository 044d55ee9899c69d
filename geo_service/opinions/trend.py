"""The territory synthesis' page on coverage over time: persistent gaps, most improved zones.

Pure: analysis results carrying the history fields (``analyze --history``: ``persistent``,
``share_thd30_since``) in, a :class:`~geo_service.opinions.model.Trend` out (None without
history). Vintages are named; a share unknown then or now is never counted as a change.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from geo_service.analysis import AnalysisResult
from geo_service.formatting import GE, MBPS, fr_percent, fr_points, plural
from geo_service.opinions.common import commune_name, commune_names, value
from geo_service.opinions.model import Trend, TrendLine
from geo_service.opinions.wording import status_label

#: Most improved zones listed.
IMPROVED_LISTED: Final = 10


def _true(value: Any) -> bool:
    """Whether a nullable boolean cell is true (NA and False are not)."""
    return isinstance(value, bool | np.bool_) and bool(value)


def _line(row: dict[str, Any], names: dict[str, str]) -> TrendLine:
    now = value(row, "share_thd30")
    change = value(row, "share_thd30_since")
    then = now - change if now is not None and change is not None else None
    return TrendLine(
        zone_id=str(row["zone_id"]),
        name=str(row.get("name") or row["zone_id"]),
        commune=commune_name(row.get("commune_insee"), names),
        status_label=status_label(row.get("status")),
        then=fr_percent(then),
        now=fr_percent(now),
        change=fr_points(100.0 * change) if change is not None else "inconnue",
    )


def territory_trend(result: AnalysisResult) -> Trend | None:
    """The trend page of the territory synthesis; None when the results have no history."""
    vintages = list(result.run.vintages)
    zones = result.zones
    if len(vintages) < 2 or "persistent" not in zones.columns:
        return None
    since = result.run.since or vintages[0]
    latest = vintages[-1]
    names = commune_names(result)
    rows = zones.drop(columns=zones.geometry.name).to_dict("records")
    persistent = [_line(r, names) for r in rows if _true(r.get("persistent"))]
    gains = [(change, r) for r in rows if (change := value(r, "share_thd30_since")) is not None]
    improved = [
        _line(r, names)
        for change, r in sorted(gains, key=lambda item: (-item[0], str(item[1]["zone_id"])))
        if change > 0
    ][:IMPROVED_LISTED]
    unknown = len(rows) - len(gains)
    summary = [
        f"Millésimes analysés avec les mêmes seuils : {', '.join(vintages)} ; référence {since}.",
        f"{plural(len(persistent), 'zone signalée', 'zones signalées')} (mal ou non desservies) "
        f"à chaque millésime depuis {since}.",
        f"{plural(sum(1 for c, _ in gains if c > 0), 'zone')} dont la part des "
        f"locaux à {GE}30{MBPS} a progressé depuis {since}.",
    ]
    if unknown:
        summary.append(
            f"{plural(unknown, 'zone')} sans part connue à l'un des deux millésimes : "
            "évolution inconnue."
        )
    return Trend(
        title=f"Évolution de la couverture de {since} à {latest}",
        since=since,
        latest=latest,
        vintages=vintages,
        summary=summary,
        persistent=persistent,
        improved=improved,
    )
