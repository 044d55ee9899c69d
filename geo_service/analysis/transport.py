"""Transport access of each zone: nearest interchange, station and airport, stops within walking
distance, and an access class with French reasons.

Distances are straight lines in Lambert-93 from the zone's perimeter (0 when the facility is
inside the zone), labelled "à vol d'oiseau" wherever they are shown. A measure whose layer is
not loaded stays unknown (null), never 0.

The access class (:class:`~geo_service.model.AccessClass`) combines two sides, each good, fair,
poor or unknown, by the thresholds of :class:`~geo_service.settings.AnalysisParams`:

- public transport: good with at least ``access_good_departures`` morning-peak departures at
  the stops within ``transit_walk_m``, or a métro, tram or train stop among them, or a passenger
  station within ``access_good_rail_km``; fair with any other stop within walking distance; poor
  with none (unknown without the ``transit_stops`` layer, unless a station is near);
- road: good within ``access_good_road_km`` of a motorway interchange, poor beyond
  ``access_poor_road_km``, fair between (unknown without the ``road_access`` layer).

The zone is *good* when both sides are good, *poor* when every known side is poor, *unknown*
when no side is known, *fair* otherwise. The airport is reported, not classed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo_service.analysis.overlay import in_lambert93
from geo_service.analysis.reasons import REASONS_SEPARATOR
from geo_service.analysis.roads import road_distances, road_graph
from geo_service.formatting import NNBSP, fr_kilometres, fr_minutes, fr_number, plural, quoted
from geo_service.model import TRANSIT_MODES, AccessClass
from geo_service.settings import AnalysisParams

METRES_PER_KM: Final = 1000.0
#: Modes whose stop within walking distance makes public transport good whatever its count.
HEAVY_MODES: Final = frozenset({"metro", "tram", "train"})
#: French names of the modes, in :data:`~geo_service.model.TRANSIT_MODES` order.
MODE_LABELS: Final[dict[str, str]] = {
    "bus": "bus",
    "coach": "car",
    "tram": "tramway",
    "metro": "métro",
    "train": "train",
    "ferry": "navette maritime",
    "cable": "transport par câble",
    "other": "autre mode",
}
#: The transport columns of the zone results, in the fields registry's order.
TRANSPORT_COLUMNS: Final = (
    *(
        f"{prefix}_{suffix}"
        for prefix in ("road_access", "rail_station", "airport")
        for suffix in ("km", "name", "road_km", "drive_min")
    ),
    "transit_stops",
    "transit_modes",
    "transit_peak_departures",
    "transit_stops_unknown",
    "access_class",
    "access_reasons",
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TransportLayers:
    """The transport layers an analysis reads; any of them may be absent (None)."""

    transit_stops: gpd.GeoDataFrame | None = None
    rail_stations: gpd.GeoDataFrame | None = None
    road_access: gpd.GeoDataFrame | None = None
    hubs: gpd.GeoDataFrame | None = None
    road_network: gpd.GeoDataFrame | None = None


def transport_access(
    zones: gpd.GeoDataFrame,
    layers: TransportLayers | None = None,
    params: AnalysisParams | None = None,
) -> pd.DataFrame:
    """The transport columns (:data:`TRANSPORT_COLUMNS`) of each zone.

    Parameters
    ----------
    zones
        Zones (any CRS; measured in Lambert-93).
    layers
        The canonical ``transit_stops``, ``rail_stations``, ``road_access`` and ``hubs`` layers
        (any of them None when not loaded).
    params
        Thresholds (defaults when None).

    Returns
    -------
    One row per zone, indexed like ``zones``.
    """
    layers = layers or TransportLayers()
    params = params or AnalysisParams()
    zones = in_lambert93(zones)
    geoms = np.asarray(zones.geometry.values, dtype=object)
    out = pd.DataFrame(index=zones.index)
    graph = None if layers.road_network is None else road_graph(layers.road_network)
    for prefix, facilities in _facilities(layers):
        km, names = nearest(geoms, facilities)
        out[f"{prefix}_km"] = km
        out[f"{prefix}_name"] = pd.Series(names, index=zones.index, dtype=object)
        road_km, minutes = (
            (np.full(len(geoms), np.nan), np.full(len(geoms), np.nan))
            if graph is None
            else road_distances(graph, geoms, facilities)
        )
        out[f"{prefix}_road_km"] = road_km
        out[f"{prefix}_drive_min"] = minutes
    stops = stops_within(geoms, layers.transit_stops, params.transit_walk_m)
    for column in stops.columns:
        out[column] = stops[column].to_numpy()
    road = _road_side(_by_road_else_straight(out, "road_access"), params)
    transit = _transit_side(out, stops["_heavy"].to_numpy(dtype=bool), params)
    out["access_class"] = _combine(road, transit)
    out["access_reasons"] = [
        REASONS_SEPARATOR.join(s[:1].upper() + s[1:] for s in access_sentences(row, params))
        for row in out.to_dict("records")
    ]
    return out[list(TRANSPORT_COLUMNS)]


def nearest(
    zone_geoms: npt.NDArray[np.object_], facilities: gpd.GeoDataFrame | None
) -> tuple[FloatArray, list[str | None]]:
    """Straight-line distance (km) from each zone to its nearest facility, and that one's name;
    NaN and None when ``facilities`` is None or empty (one STRtree query for all zones)."""
    n = len(zone_geoms)
    km = np.full(n, np.nan)
    names: list[str | None] = [None] * n
    if facilities is None or n == 0:
        return km, names
    facilities = in_lambert93(facilities)
    facilities = facilities[~(facilities.geometry.isna() | facilities.geometry.is_empty)]
    if len(facilities) == 0:
        return km, names
    tree = shapely.STRtree(np.asarray(facilities.geometry.values, dtype=object))
    (zone_idx, facility_idx), metres = tree.query_nearest(
        zone_geoms, return_distance=True, all_matches=False
    )
    km[zone_idx] = np.round(metres / METRES_PER_KM, 3)
    labels = facilities["name"].astype("string").to_numpy(dtype=object, na_value=None)
    for zone, facility in zip(zone_idx.tolist(), facility_idx.tolist(), strict=True):
        names[zone] = labels[facility]
    return km, names


#: The facilities :func:`nearest_facilities` answers, by the prefix of their result columns.
FACILITIES: Final = ("road_access", "rail_station", "airport")


def nearest_facilities(
    point: shapely.Geometry, layers: TransportLayers
) -> dict[str, dict[str, object] | None]:
    """The nearest motorway interchange, passenger station and airport to ``point`` (Lambert-93):
    their ``name`` and straight-line ``distance_km``, None where the layer is absent or empty."""
    out: dict[str, dict[str, object] | None] = {}
    for prefix, facilities in _facilities(layers):
        km, names = nearest(np.asarray([point], dtype=object), facilities)
        out[prefix] = None if np.isnan(km[0]) else {"name": names[0], "distance_km": km[0]}
    return out


def _facilities(layers: TransportLayers) -> list[tuple[str, gpd.GeoDataFrame | None]]:
    """Each facility of :data:`FACILITIES` and the features it is looked for among."""
    return [
        ("road_access", layers.road_access),
        ("rail_station", _passenger_stations(layers.rail_stations)),
        ("airport", _airports(layers.hubs)),
    ]


def stops_within(
    zone_geoms: npt.NDArray[np.object_], stops: gpd.GeoDataFrame | None, walk_m: float
) -> pd.DataFrame:
    """Stops within ``walk_m`` metres of each zone: their count, modes, known morning-peak
    departures and the count of stops whose departures are unknown (all null without the
    layer). Column ``_heavy`` says whether a métro, tram or train stop is among them."""
    n = len(zone_geoms)
    out = pd.DataFrame(
        {
            "transit_stops": pd.array([None] * n, dtype="Int64"),
            "transit_modes": pd.Series([None] * n, dtype=object),
            "transit_peak_departures": pd.array([None] * n, dtype="Int64"),
            "transit_stops_unknown": pd.array([None] * n, dtype="Int64"),
            "_heavy": np.zeros(n, dtype=bool),
        }
    )
    if stops is None:
        return out
    stops = in_lambert93(stops)
    stop_geoms = np.asarray(stops.geometry.values, dtype=object)
    zone_idx, stop_idx = shapely.STRtree(stop_geoms).query(
        zone_geoms, predicate="dwithin", distance=walk_m
    )
    departures = pd.to_numeric(stops.get("peak_departures"), errors="coerce")
    if departures is None:
        departures = pd.Series(np.nan, index=stops.index)
    known = departures.notna().to_numpy()[stop_idx]
    counts = departures.fillna(0.0).to_numpy(dtype=float)[stop_idx]
    found = np.bincount(zone_idx, minlength=n)
    known_found = np.bincount(zone_idx, weights=known, minlength=n)
    summed = np.bincount(zone_idx, weights=counts * known, minlength=n)
    out["transit_stops"] = pd.array(found, dtype="Int64")
    out["transit_stops_unknown"] = pd.array(found - known_found.astype(np.int64), dtype="Int64")
    # No stop: no departure (0); stops whose departures are all unknown: unknown.
    peak = np.where((found > 0) & (known_found == 0), np.nan, np.rint(summed))
    out["transit_peak_departures"] = pd.array(
        [None if np.isnan(v) else int(v) for v in peak], dtype="Int64"
    )
    modes = stops["modes"].astype("string").fillna("").to_numpy(dtype=object)[stop_idx]
    by_zone: list[set[str]] = [set() for _ in range(n)]
    for zone, text in zip(zone_idx.tolist(), modes.tolist(), strict=True):
        by_zone[zone].update(m.strip() for m in str(text).split(",") if m.strip())
    out["transit_modes"] = pd.Series([_modes_text(m) for m in by_zone], dtype=object)
    out["_heavy"] = np.array([bool(m & HEAVY_MODES) for m in by_zone], dtype=bool)
    return out


def access_sentences(row: dict[str, object], params: AnalysisParams) -> list[str]:
    """The French sentences explaining one zone's access (its transport columns)."""
    return [
        _distance_sentence(
            row,
            "road_access",
            "échangeur autoroutier",
            "échangeur autoroutier le plus proche inconnu (aucun échangeur chargé)",
        ),
        _distance_sentence(
            row,
            "rail_station",
            "gare voyageurs",
            "gare voyageurs la plus proche inconnue (aucune gare chargée)",
        ),
        _stops_sentence(row, params),
        _distance_sentence(
            row, "airport", "aéroport", "aéroport le plus proche inconnu (aucun aéroport chargé)"
        ),
    ]


def _distance_sentence(row: dict[str, object], prefix: str, what: str, unknown: str) -> str:
    km = _number(row[f"{prefix}_km"])
    if km is None:
        return unknown
    name = row.get(f"{prefix}_name")
    named = f" {quoted(str(name))}" if isinstance(name, str) and name else ""
    where = "dans la zone" if km == 0 else f"à {fr_kilometres(km)} à vol d'oiseau"
    road = _number(row.get(f"{prefix}_road_km"))
    if road is None:
        return f"{what}{named} {where}"
    minutes = _number(row.get(f"{prefix}_drive_min"))
    drive = "" if minutes is None else f", {fr_minutes(minutes)}"
    return f"{what}{named} {where} (le plus proche par la route : {fr_kilometres(road)}{drive})"


def _stops_sentence(row: dict[str, object], params: AnalysisParams) -> str:
    walk = f"{fr_number(params.transit_walk_m)}{NNBSP}m"
    stops = _number(row["transit_stops"])
    if stops is None:
        return (
            f"arrêts de transport en commun à moins de {walk} non renseignés (aucun arrêt chargé)"
        )
    if stops == 0:
        return f"aucun arrêt de transport en commun à moins de {walk}"
    text = f"{plural(int(stops), 'arrêt')} de transport en commun à moins de {walk}"
    if row.get("transit_modes"):
        labels = [MODE_LABELS.get(m, m) for m in str(row["transit_modes"]).split(",")]
        text += f" ({', '.join(labels)})"
    departures = _number(row["transit_peak_departures"])
    unknown = int(_number(row["transit_stops_unknown"]) or 0)
    if departures is None:
        return f"{text}, départs entre 7 h et 9 h inconnus (horaires non fournis)"
    counted = plural(int(departures), "départ")
    if unknown:
        return (
            f"{text}, au moins {counted} entre 7 h et 9 h "
            f"({plural(unknown, 'arrêt')} sans horaires connus)"
        )
    return f"{text}, {counted} entre 7 h et 9 h"


def _by_road_else_straight(out: pd.DataFrame, prefix: str) -> pd.Series:
    """The distance to the nearest ``prefix`` facility by road where known, else straight."""
    road: pd.Series = out[f"{prefix}_road_km"].where(
        out[f"{prefix}_road_km"].notna(), out[f"{prefix}_km"]
    )
    return road


def _road_side(km: pd.Series, params: AnalysisParams) -> npt.NDArray[np.object_]:
    values = km.to_numpy(dtype=float)
    side = np.where(
        values <= params.access_good_road_km,
        AccessClass.GOOD.value,
        np.where(
            values > params.access_poor_road_km, AccessClass.POOR.value, AccessClass.FAIR.value
        ),
    ).astype(object)
    side[np.isnan(values)] = AccessClass.UNKNOWN.value
    return side


def _transit_side(
    out: pd.DataFrame, heavy: npt.NDArray[np.bool_], params: AnalysisParams
) -> npt.NDArray[np.object_]:
    stops = out["transit_stops"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    departures = (
        out["transit_peak_departures"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    )
    rail = _by_road_else_straight(out, "rail_station").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        good = heavy | (departures >= params.access_good_departures)
        good |= rail <= params.access_good_rail_km
    side = np.full(len(out), AccessClass.UNKNOWN.value, dtype=object)
    side[stops == 0] = AccessClass.POOR.value
    side[stops > 0] = AccessClass.FAIR.value
    side[good] = AccessClass.GOOD.value
    return side


def _combine(
    road: npt.NDArray[np.object_], transit: npt.NDArray[np.object_]
) -> npt.NDArray[np.object_]:
    unknown = AccessClass.UNKNOWN.value
    out = np.full(len(road), AccessClass.FAIR.value, dtype=object)
    both_good = (road == AccessClass.GOOD.value) & (transit == AccessClass.GOOD.value)
    poor_or_unknown = np.isin(road, [AccessClass.POOR.value, unknown]) & np.isin(
        transit, [AccessClass.POOR.value, unknown]
    )
    out[both_good] = AccessClass.GOOD.value
    out[poor_or_unknown] = AccessClass.POOR.value
    out[(road == unknown) & (transit == unknown)] = unknown
    return out


def _passenger_stations(stations: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The stations open to passengers (those not known to be closed to them)."""
    if stations is None or "passengers" not in stations.columns:
        return stations
    closed = stations["passengers"].astype("boolean").eq(False).fillna(False)
    return stations[~closed.to_numpy(dtype=bool)]


def _airports(hubs: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The hubs that are airports with scheduled flights."""
    if hubs is None:
        return None
    airport = hubs["kind"].astype("string").eq("airport").fillna(False)
    return hubs[airport.to_numpy(dtype=bool)]


def _modes_text(modes: set[str]) -> str | None:
    if not modes:
        return None
    order = {mode: i for i, mode in enumerate(TRANSIT_MODES)}
    return ",".join(sorted(modes, key=lambda m: (order.get(m, len(order)), m)))


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number
