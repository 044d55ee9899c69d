"""The territory map's vintage view: zone statuses at each older vintage, and progress since.

After ``analyze --history`` the territory map gets, off when it opens, one layer per older
vintage (« Statuts au 2017-T3 »: each zone in the colour of its status then, computed with the
same thresholds) and a « Progrès depuis … » layer colouring the change of the zones' share of
locaux at ≥ 30 Mbit/s since the reference vintage; the layer control is the vintage selector.
Each layer has its legend section. Tooltips are escaped; a share unknown then or now is an
unknown change (grey), never a change from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.formatting import GE, MBPS, fr_percent, fr_points
from geo_service.maps import style
from geo_service.maps.geojson import clean, feature_collection
from geo_service.maps.layers import legend_entries, zone_styles
from geo_service.settings import AnalysisParams

#: Progress classes of the change of the ≥ 30 Mbit/s share (points), and their colours.
PROGRESS_CLASSES: Final = (
    ("down", "Recul", "#b2182b"),
    ("flat", "Stable (moins de 1 point d'écart)", "#d9d9d9"),
    ("up", "Progrès de 1 à 20 points", "#c2a5cf"),
    ("upmore", "Progrès de 20 points ou plus", "#762a83"),
    ("unknown", "Évolution inconnue", "#999999"),
)


@dataclass(frozen=True)
class VintageLayer:
    """One layer of the vintage view: its key, name, features, styles and legend section."""

    key: str
    name: str
    features: str
    styles: dict[str, dict[str, Any]]
    legend: dict[str, Any]


def progress_class(points: float | None) -> str:
    """The progress class of a change of ``points`` (None: unknown)."""
    if points is None:
        return "unknown"
    if points <= -1:
        return "down"
    if points < 1:
        return "flat"
    return "up" if points < 20 else "upmore"


def _number(value: Any) -> float | None:
    """A number of a table cell, None where missing (NaN, NA)."""
    found = clean(value)
    return None if found is None else float(found)


def _progress_styles() -> dict[str, dict[str, Any]]:
    return {
        key: {
            "fillColor": colour,
            "fillOpacity": style.ZONE_OPACITY,
            "color": "#555555",
            "weight": 1,
            "opacity": 1,
            "dashArray": None,
        }
        for key, _, colour in PROGRESS_CLASSES
    }


def vintage_layers(
    zones: gpd.GeoDataFrame,
    geometries: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]],
    history: pd.DataFrame | None,
    vintages: Sequence[str],
    since: str | None,
    params: AnalysisParams,
) -> list[VintageLayer]:
    """The vintage view of the ``zones`` shown (with their WGS84 ``geometries``): empty
    without a history of at least two vintages."""
    if history is None or len(vintages) < 2 or "zone_id" not in history.columns:
        return []
    ids = [str(z) for z in zones["zone_id"]]
    names = dict(zip(ids, (str(n) for n in zones["name"]), strict=True))
    layers = []
    for vintage in vintages[:-1]:
        rows = history[history["vintage"] == vintage]
        found = {str(r["zone_id"]): r for r in rows.to_dict("records")}
        props = [
            _status_props(zone_id, names[zone_id], vintage, found.get(zone_id)) for zone_id in ids
        ]
        key = f"vintage_{vintage.replace('-', '_').lower()}"
        layers.append(
            VintageLayer(
                key=key,
                name=f"Statuts au {vintage}",
                features=feature_collection(geometries, props),
                styles=zone_styles(),
                legend={
                    "title": f"Statut des zones au {vintage}",
                    "layer": key,
                    "entries": legend_entries(style.status_entries(params)),
                    "note": "Statuts calculés avec les mêmes seuils que ceux d'aujourd'hui "
                    "(analyse de l'historique).",
                },
            )
        )
    reference = since or vintages[0]
    changes = zones["share_thd30_since"] if "share_thd30_since" in zones.columns else None
    props = []
    for i, zone_id in enumerate(ids):
        change = _number(changes.iloc[i]) if changes is not None else None
        points = 100.0 * change if change is not None else None
        now = _number(zones["share_thd30"].iloc[i]) if "share_thd30" in zones.columns else None
        text = fr_points(points) if points is not None else "évolution inconnue"
        tooltip = (
            f"<strong>{escape(names[zone_id])}</strong><br>"
            f"{GE}30{MBPS} : {escape(fr_percent(now))} ({escape(text)} depuis {escape(reference)})"
        )
        props.append({"id": zone_id, "s": progress_class(points), "t": tooltip, "p": None, "q": ""})
    layers.append(
        VintageLayer(
            key="progress",
            name=f"Progrès depuis {reference} (locaux à {GE}30{MBPS})",
            features=feature_collection(geometries, props),
            styles=_progress_styles(),
            legend={
                "title": f"Progrès depuis {reference} : locaux à {GE}30{MBPS}",
                "layer": "progress",
                "entries": legend_entries(
                    [style.LegendEntry(label, colour) for _, label, colour in PROGRESS_CLASSES]
                ),
                "note": f"Écart de la part des locaux à {GE}30{MBPS} entre {reference} et "
                f"{vintages[-1]}, en points.",
            },
        )
    )
    return layers


def _status_props(
    zone_id: str, name: str, vintage: str, row: Mapping[str, Any] | None
) -> dict[str, Any]:
    status = str(row.get("status")) if row is not None and row.get("status") else "unknown"
    share = _number(row.get("share_thd30")) if row is not None else None
    label = style.STATUS_LABELS.get(status, status)
    tooltip = (
        f"<strong>{escape(name)}</strong><br>{escape(vintage)} : {escape(label)} · "
        f"{GE}30{MBPS} : {escape(fr_percent(share))}"
    )
    return {"id": zone_id, "s": status, "t": tooltip, "p": None, "q": ""}
