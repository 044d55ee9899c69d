"""The transport layers of the territory map: interchanges, passenger stations, airports and
hubs, public-transport stops sized by their morning-peak departures; off when the map opens.

Tooltips are French and HTML-escaped here (the map script inserts them as they are).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import geopandas as gpd

from geo_service.analysis.transport import MODE_LABELS
from geo_service.formatting import plural
from geo_service.maps import style
from geo_service.maps.geojson import clean, feature_collection, map_geometries
from geo_service.maps.layers import legend_entries


@dataclass(frozen=True)
class FacilityStyle:
    """How one transport layer is drawn and named."""

    #: Name in the layer control and title of its legend section.
    name: str
    #: Label of its legend entry.
    label: str
    colour: str
    radius: float
    note: str | None = None


#: The transport layers drawn, in drawing order (stops first, under the rest).
FACILITY_STYLES: Final[dict[str, FacilityStyle]] = {
    "transit_stops": FacilityStyle(
        "Transports : arrêts de transport en commun",
        "Arrêt (taille : départs de 7 h à 9 h)",
        "#762A83",
        3.0,
        "Cercle pâle : départs inconnus (réseau sans calendrier de service).",
    ),
    "rail_stations": FacilityStyle(
        "Transports : gares voyageurs", "Gare ouverte aux voyageurs", "#0072B2", 6.0
    ),
    "road_access": FacilityStyle(
        "Transports : échangeurs autoroutiers", "Échangeur autoroutier", "#222222", 6.0
    ),
    "hubs": FacilityStyle(
        "Transports : aéroports et plateformes", "Aéroport, aérodrome, port", "#8C510A", 8.0
    ),
}
_MAX_STOP_RADIUS: Final = 12.0
_HUB_WORDS: Final = {
    "airport": "Aéroport",
    "aerodrome": "Aérodrome",
    "port": "Port",
    "logistics": "Plateforme logistique",
}


@dataclass(frozen=True)
class FacilityLayer:
    """One transport layer ready for the map: its store layer, GeoJSON text and count."""

    layer: str
    json: str
    count: int


def facility_layers(frames: Mapping[str, gpd.GeoDataFrame | None]) -> tuple[FacilityLayer, ...]:
    """The map layers of the transport layers given (absent or empty ones skipped)."""
    out = []
    for layer in FACILITY_STYLES:
        frame = frames.get(layer)
        if frame is None:
            continue
        if layer == "rail_stations" and "passengers" in frame.columns:
            closed = frame["passengers"].astype("boolean").eq(False).fillna(False)
            frame = frame[~closed.to_numpy(dtype=bool)]
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if len(frame) == 0:
            continue
        props = [
            _properties(layer, row) for row in frame.drop(columns="geometry").to_dict("records")
        ]
        out.append(
            FacilityLayer(layer, feature_collection(map_geometries(frame), props), len(props))
        )
    return tuple(out)


def facility_config(layer: str) -> dict[str, Any]:
    """Config of a transport layer's script: its colour and default marker radius."""
    drawn = FACILITY_STYLES[layer]
    return {
        "colour": drawn.colour,
        "radius": drawn.radius,
        "stroke": "#1a1a1a",
        "opacity": style.FACILITY_OPACITY,
        "unknownOpacity": style.FACILITY_UNKNOWN_OPACITY,
    }


def legend_section(layer: FacilityLayer) -> dict[str, Any]:
    """The legend section of a transport layer (shown while the layer is on)."""
    drawn = FACILITY_STYLES[layer.layer]
    section: dict[str, Any] = {
        "title": drawn.name,
        "layer": layer.layer,
        "entries": legend_entries(
            [
                style.LegendEntry(
                    f"{drawn.label} ({layer.count})", drawn.colour, opacity=style.FACILITY_OPACITY
                )
            ],
            round_swatch=True,
        ),
    }
    if drawn.note:
        section["note"] = drawn.note
    return section


def _properties(layer: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """``t``: escaped French tooltip; for stops ``r`` radius by departures, ``u`` unknown."""
    name = str(clean(row.get("name")) or "sans nom")
    if layer == "transit_stops":
        return _stop(name, row)
    if layer == "rail_stations":
        return {"t": escape(f"Gare {name}", quote=False)}
    if layer == "road_access":
        road = clean(row.get("road"))
        return {"t": escape(f"Échangeur {name}" + (f" ({road})" if road else ""), quote=False)}
    kind = _HUB_WORDS.get(str(clean(row.get("kind"))), "Plateforme")
    code = clean(row.get("iata")) or clean(row.get("icao"))
    return {"t": escape(f"{kind} {name}" + (f" ({code})" if code else ""), quote=False)}


def _stop(name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    modes = [MODE_LABELS.get(m, m) for m in str(clean(row.get("modes")) or "").split(",") if m]
    departures = clean(row.get("peak_departures"))
    if departures is None:
        served = "départs de 7 h à 9 h inconnus"
        radius, unknown = FACILITY_STYLES["transit_stops"].radius, 1
    else:
        count = int(float(departures))
        served = f"{plural(count, 'départ')} de 7 h à 9 h"
        radius = min(_MAX_STOP_RADIUS, FACILITY_STYLES["transit_stops"].radius + math.sqrt(count))
        unknown = 0
    text = f"Arrêt {name}" + (f" ({', '.join(modes)})" if modes else "") + f" · {served}"
    return {"t": escape(text, quote=False), "r": round(radius, 1), "u": unknown}
