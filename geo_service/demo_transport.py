"""The transport layers of the synthetic demo territory (see :mod:`geo_service.demo`).

:func:`demo_transport` draws, from the territory and a seed, a fictional motorway across it with
its interchanges, a railway line with its stations (one freight-only), an airport and an
aerodrome, and three public-transport networks as the GTFS import would give them: a bus network
whose stops cluster around each commune's centre (more stops and departures in the larger
communes), a tramway line through the largest commune and its stations' trains, all with
morning-peak departures, and an interurban coach network whose feed has no service days
(departures unknown). Every layer is canonical (:data:`geo_service.model.SCHEMAS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo_service.demo import DemoTerritory
from geo_service.model import CANONICAL_CRS

FloatArray = npt.NDArray[np.float64]

#: Fictional road, date and feeds of the demo networks.
DEMO_MOTORWAY: Final = "A 100"
DEMO_PEAK_DATE: Final = "2026-01-06"
_INTERCHANGE_EVERY_M: Final = 9000.0
_STATION_EVERY_M: Final = 6000.0
_FREIGHT_EVERY: Final = 4
_BUS_SIGMA_M: Final = 900.0
#: Share of the zones a bus line serves, and how far from its centre its stops lie.
_ZONE_BUS_SHARE: Final = 0.6
_ZONE_STOP_SIGMA_M: Final = 250.0
#: Share of the zones with an interurban coach stop (departures unknown).
_ZONE_COACH_SHARE: Final = 0.15
_TRAM_STOPS: Final = 8
_TRAM_SPACING_M: Final = 450.0
_TRAM_DEPARTURES: Final = 16
#: Spacing of the demo's grid of local roads, m; every fourth line is a secondary road.
_GRID_M: Final = 1500.0
_SECONDARY_EVERY: Final = 4


def demo_transport(territory: DemoTerritory, seed: int) -> dict[str, gpd.GeoDataFrame]:
    """The ``road_access``, ``rail_stations``, ``hubs``, ``transit_stops`` and ``road_network``
    layers of
    ``territory``, in Lambert-93; the same territory and seed give identical layers."""
    rng = np.random.default_rng([seed, 17])
    communes = territory.communes
    xmin, ymin, xmax, ymax = communes.total_bounds
    width, height = xmax - xmin, ymax - ymin
    motorway = shapely.LineString(
        [
            (xmin + 0.1 * width, ymin),
            (xmin + 0.55 * width, ymin + 0.45 * height),
            (xmax, ymin + 0.7 * height),
        ]
    )
    railway = shapely.LineString(
        [
            (xmin, ymin + 0.3 * height),
            (xmin + 0.5 * width, ymin + 0.4 * height),
            (xmax, ymin + 0.25 * height),
        ]
    )
    road_access = _interchanges(motorway, communes)
    roads = _road_network(xmin, ymin, xmax, ymax, road_access)
    stations = _stations(railway, communes)
    hubs = _hubs(xmin, ymin, width, height, communes)
    stops = _stops(rng, communes, territory.zones, stations)
    return {
        "road_access": road_access,
        "rail_stations": stations,
        "hubs": hubs,
        "transit_stops": stops,
        "road_network": roads,
    }


def _road_network(
    xmin: float, ymin: float, xmax: float, ymax: float, interchanges: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """A grid of local roads over the territory, and the motorway joining its interchanges
    (each linked to the nearest grid node by a slip road); every road both ways."""
    xs = np.arange(xmin, xmax + 1.0, _GRID_M)
    ys = np.arange(ymin, ymax + 1.0, _GRID_M)
    edges: list[tuple[str, str, str, shapely.LineString]] = []
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= len(xs) or j + dj >= len(ys):
                    continue
                line = j if di else i
                kind = "secondary" if line % _SECONDARY_EVERY == 0 else "tertiary"
                end = (xs[i + di], ys[j + dj])
                edges.append(
                    (f"g{i}_{j}", f"g{i + di}_{j + dj}", kind, shapely.LineString([(x, y), end]))
                )
    points = list(interchanges.geometry)
    for k, here in enumerate(points):
        i = int(np.argmin(np.abs(xs - here.x)))
        j = int(np.argmin(np.abs(ys - here.y)))
        link = shapely.LineString([(here.x, here.y), (xs[i], ys[j])])
        edges.append((f"m{k}", f"g{i}_{j}", "motorway_link", link))
        if k:
            edges.append(
                (f"m{k - 1}", f"m{k}", "motorway", shapely.LineString([points[k - 1], here]))
            )
    both = [*edges, *((b, a, kind, line.reverse()) for a, b, kind, line in edges)]
    return gpd.GeoDataFrame(
        {
            "edge_id": [f"demo-route-{n + 1}" for n in range(len(both))],
            "from_node": [e[0] for e in both],
            "to_node": [e[1] for e in both],
            "length_m": [round(e[3].length, 1) for e in both],
            "maxspeed_kmh": [None] * len(both),
            "highway": [e[2] for e in both],
            "name": [DEMO_MOTORWAY if e[2] == "motorway" else None for e in both],
        },
        geometry=[e[3] for e in both],
        crs=CANONICAL_CRS,
    )


def _along(line: shapely.LineString, every_m: float) -> list[shapely.Point]:
    count = max(3, int(line.length // every_m))
    return [line.interpolate((i + 0.5) / count, normalized=True) for i in range(count)]


def _commune_of(points: list[shapely.Point], communes: gpd.GeoDataFrame) -> list[str]:
    """The name of the commune nearest each point."""
    tree = shapely.STRtree(np.asarray(communes.geometry.values, dtype=object))
    nearest = tree.query_nearest(np.asarray(points, dtype=object), all_matches=False)[1]
    names = communes["name"].astype(str).to_numpy()
    return [str(names[i]) for i in nearest]


def _interchanges(line: shapely.LineString, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    points = _along(line, _INTERCHANGE_EVERY_M)
    names = _commune_of(points, communes)
    return gpd.GeoDataFrame(
        {
            "access_id": [f"demo-ech-{i + 1}" for i in range(len(points))],
            "name": [f"Échangeur n° {i + 1} — {name}" for i, name in enumerate(names)],
            "road": [DEMO_MOTORWAY] * len(points),
            "kind": ["interchange"] * len(points),
        },
        geometry=points,
        crs=CANONICAL_CRS,
    )


def _stations(line: shapely.LineString, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    points = _along(line, _STATION_EVERY_M)
    names = _commune_of(points, communes)
    freight = [(i + 1) % _FREIGHT_EVERY == 0 for i in range(len(points))]
    return gpd.GeoDataFrame(
        {
            "station_id": [f"demo-gare-{i + 1}" for i in range(len(points))],
            "name": [
                f"{'Chantier fret' if is_freight else 'Gare'} {_of(name)}"
                for name, is_freight in zip(names, freight, strict=True)
            ],
            "uic": [f"8799{i + 1:04d}" for i in range(len(points))],
            "passengers": [not f for f in freight],
        },
        geometry=points,
        crs=CANONICAL_CRS,
    )


def _hubs(
    xmin: float, ymin: float, width: float, height: float, communes: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    points = [
        shapely.Point(xmin + 0.12 * width, ymin + 0.15 * height),
        shapely.Point(xmin + 0.8 * width, ymin + 0.85 * height),
    ]
    aerodrome = _commune_of(points[1:], communes)[0]
    return gpd.GeoDataFrame(
        {
            "hub_id": ["demo-aeroport", "demo-aerodrome"],
            "name": ["Aéroport de démonstration Provence", f"Aérodrome {_of(aerodrome)}"],
            "kind": ["airport", "aerodrome"],
            "iata": ["ZZP", None],
            "icao": ["LFZZ", "LFZY"],
        },
        geometry=points,
        crs=CANONICAL_CRS,
    )


def _stops(
    rng: np.random.Generator,
    communes: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    centres = communes.geometry.representative_point()
    population = communes["population"].to_numpy(dtype=float)
    weight = population / population.max()
    zone_points = zones.geometry.representative_point()
    served = rng.random(len(zones)) < _ZONE_BUS_SHARE
    coached = rng.random(len(zones)) < _ZONE_COACH_SHARE
    frames = [
        _bus(rng, centres, weight, zone_points[served]),
        _tram(communes, centres, population),
        _trains(stations),
        _coaches(zone_points[coached]),
    ]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=CANONICAL_CRS)


def _frame(
    feed: str,
    names: list[str],
    modes: str,
    departures: Sequence[int | None],
    x: FloatArray,
    y: FloatArray,
) -> gpd.GeoDataFrame:
    known = any(d is not None for d in departures)
    return gpd.GeoDataFrame(
        {
            "stop_id": [f"{feed}:{i + 1}" for i in range(len(names))],
            "name": names,
            "modes": [modes] * len(names),
            "peak_departures": pd.array(departures, dtype="Int64"),
            "peak_date": [DEMO_PEAK_DATE if known else None] * len(names),
            "feed": [feed] * len(names),
        },
        geometry=shapely.points(x, y),
        crs=CANONICAL_CRS,
    )


def _bus(
    rng: np.random.Generator, centres: gpd.GeoSeries, weight: FloatArray, zones: gpd.GeoSeries
) -> gpd.GeoDataFrame:
    """Stops around each commune's centre (more in the larger ones) and near the zones served."""
    counts = np.rint(2 + 10 * weight).astype(np.int64)
    commune = np.repeat(np.arange(len(centres)), counts)
    x = shapely.get_x(centres.values)[commune] + rng.normal(0, _BUS_SIGMA_M, len(commune))
    y = shapely.get_y(centres.values)[commune] + rng.normal(0, _BUS_SIGMA_M, len(commune))
    departures = rng.poisson(2 + 10 * weight[commune])
    zone = np.repeat(np.arange(len(zones)), rng.integers(1, 4, len(zones)))
    zx = shapely.get_x(zones.values)[zone] + rng.normal(0, _ZONE_STOP_SIGMA_M, len(zone))
    zy = shapely.get_y(zones.values)[zone] + rng.normal(0, _ZONE_STOP_SIGMA_M, len(zone))
    at_zones = rng.poisson(4.0, len(zone))
    names = [f"Arrêt {k + 1}" for k in range(len(commune) + len(zone))]
    every = [int(d) for d in (*departures, *at_zones)]
    return _frame("demo-bus", names, "bus", every, np.r_[x, zx], np.r_[y, zy])


def _tram(
    communes: gpd.GeoDataFrame, centres: gpd.GeoSeries, population: FloatArray
) -> gpd.GeoDataFrame:
    largest = int(np.argmax(population))
    centre = centres.iloc[largest]
    offsets = (np.arange(_TRAM_STOPS) - (_TRAM_STOPS - 1) / 2) * _TRAM_SPACING_M
    town = str(communes["name"].iloc[largest])
    names = [f"{town} — tram {k + 1}" for k in range(_TRAM_STOPS)]
    departures: list[int | None] = [_TRAM_DEPARTURES] * _TRAM_STOPS
    return _frame(
        "demo-tram", names, "tram", departures, centre.x + offsets, centre.y + offsets / 3
    )


def _trains(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    served = stations[stations["passengers"].to_numpy(dtype=bool)]
    names = served["name"].astype(str).tolist()
    departures: list[int | None] = [3 + i % 4 for i in range(len(served))]
    x, y = shapely.get_x(served.geometry.values), shapely.get_y(served.geometry.values)
    return _frame("demo-ter", names, "train", departures, x, y)


def _coaches(zones: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """An interurban coach stop by each of ``zones``, from a feed without service days."""
    x = shapely.get_x(zones.values) + 300.0
    y = shapely.get_y(zones.values)
    names = [f"Car interurbain {k + 1}" for k in range(len(zones))]
    return _frame("demo-cars", names, "coach", [None] * len(zones), x, y)


def _of(name: str) -> str:
    """``de Fonvelle``, ``d'Aubesque`` (French elision before a vowel)."""
    plain = name[:1].upper()
    return f"d'{name}" if plain in "AEIOUYÉÈÊÂÎÔH" else f"de {name}"
