"""The OGC API collections: which store layer each one serves, and its typed properties.

Each :class:`CollectionSpec` says where its features come from, which column is the feature
id, and the properties on the wire with their type, description, and whether they can be used
as an equality filter (*queryable*) or in ``sortby`` (*sortable*). The OpenAPI document, the
``/queryables`` answers and the item filters are all generated from these specs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import geopandas as gpd

from geo_service import pipeline
from geo_service.analysis.fields import (
    COMMUNE_FIELDS,
    EPCI_FIELDS,
    ZONE_FIELDS,
    ResultField,
    core,
)
from geo_service.errors import NotFoundError
from geo_service.model import HUB_KINDS, ROAD_ACCESS_KINDS, SPEED_CLASSES, TECHNOLOGIES
from geo_service.workspace import Workspace

PropertyType = Literal["string", "integer", "number", "boolean", "array"]
#: The value of an equality filter, typed by its property.
FilterValue = str | int | float | bool


@dataclass(frozen=True)
class Property:
    """A feature property on the wire."""

    name: str
    type: PropertyType
    description: str
    queryable: bool = False
    sortable: bool = False
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CollectionSpec:
    """An OGC API collection served from one store layer."""

    id: str
    layer: str
    id_column: str
    properties: tuple[Property, ...]
    load: Callable[[Workspace], gpd.GeoDataFrame]
    #: Whether every feature's JSON is prepared in memory (small collections), or each page's
    #: JSON is made on request (premises: 1.3 million features at département scale).
    precompute: bool = True

    @property
    def queryables(self) -> tuple[Property, ...]:
        """The properties usable as equality filters."""
        return tuple(p for p in self.properties if p.queryable)

    @property
    def sortables(self) -> tuple[str, ...]:
        """The properties usable in ``sortby``."""
        return tuple(p.name for p in self.properties if p.sortable)

    def property(self, name: str) -> Property:
        """The property called ``name``."""
        return next(p for p in self.properties if p.name == name)


def _text(name: str, description: str, *, sortable: bool = True) -> Property:
    return Property(name, "string", description, queryable=True, sortable=sortable)


def _choice(name: str, description: str, values: tuple[str, ...]) -> Property:
    return Property(name, "string", description, queryable=True, sortable=True, enum=values)


def _count(name: str, description: str, *, queryable: bool = False) -> Property:
    return Property(name, "integer", description, queryable=queryable, sortable=True)


def _number(name: str, description: str) -> Property:
    return Property(name, "number", description, sortable=True)


def _result(field: ResultField) -> Property:
    """The property serving a result field (declared in :mod:`geo_service.analysis.fields`)."""
    return Property(
        field.name,
        field.dtype,
        field.description,
        queryable=field.queryable,
        sortable=field.sortable,
        enum=field.enum,
    )


# The columns of optional layers (mobile coverage, ARCEP commune figures) are served as extra
# properties when the results have them.
ZONE_PROPERTIES: Final = tuple(_result(f) for f in core(ZONE_FIELDS))
COMMUNE_PROPERTIES: Final = tuple(_result(f) for f in core(COMMUNE_FIELDS))
EPCI_PROPERTIES: Final = tuple(_result(f) for f in core(EPCI_FIELDS))

LAND_PROPERTIES: Final = (
    _text("plot_id", "Plot identifier."),
    Property("available", "boolean", "Available for sale or lease.", queryable=True, sortable=True),
    _text("status", "Status of the plot (disponible, occupé, réservé, friche, ...)."),
    _text("source", "Origin of the record (terrain-eco, friche, ...)."),
    _number("area_ha", "Area in hectares."),
)

PREMISES_PROPERTIES: Final = (
    _text("premises_id", "Building identifier.", sortable=False),
    _count("locaux", "Locaux (premises units) in the building.", queryable=True),
    _choice("down_class", "Best ARCEP download speed class.", SPEED_CLASSES),
    _choice("best_techno", "Technology of the best offer.", TECHNOLOGIES),
    Property("ftth", "boolean", "Fibre to the premises available.", queryable=True, sortable=True),
    _text("commune_insee", "INSEE code of the commune."),
)


TRANSIT_STOP_PROPERTIES: Final = (
    _text("stop_id", "Stop identifier, prefixed by its feed."),
    _text("name", "Name of the stop or station."),
    _text("modes", "Modes serving the stop, comma-separated (bus, coach, tram, metro, train...)."),
    _count(
        "peak_departures",
        "Departures 07:00-09:00 on the representative weekday (null: unknown).",
        queryable=True,
    ),
    _text("peak_date", "Representative weekday of the counted departures (YYYY-MM-DD)."),
    _text("feed", "GTFS feed of the stop."),
)

RAIL_STATION_PROPERTIES: Final = (
    _text("station_id", "Station identifier (UIC code when known)."),
    _text("name", "Name of the station."),
    _text("uic", "UIC code."),
    Property(
        "passengers",
        "boolean",
        "Open to passengers (null: unknown).",
        queryable=True,
        sortable=True,
    ),
    _text("commune_insee", "INSEE code of the commune."),
)

ROAD_ACCESS_PROPERTIES: Final = (
    _text("access_id", "Identifier of the access point."),
    _text("name", "Name of the interchange or exit."),
    _text("road", "Motorway or road served."),
    _choice("kind", "Kind of access point.", ROAD_ACCESS_KINDS),
)

HUB_PROPERTIES: Final = (
    _text("hub_id", "Identifier."),
    _text("name", "Name."),
    _choice("kind", "Kind of hub.", HUB_KINDS),
    _text("iata", "IATA code of the airport."),
    _text("icao", "ICAO code of the airport or aerodrome."),
)


def _zone_results(workspace: Workspace) -> gpd.GeoDataFrame:
    return workspace.results().zones


def _commune_results(workspace: Workspace) -> gpd.GeoDataFrame:
    return workspace.results().communes


def _epci_results(workspace: Workspace) -> gpd.GeoDataFrame:
    return workspace.results().epcis


def _layer(name: str) -> Callable[[Workspace], gpd.GeoDataFrame]:
    def load(workspace: Workspace) -> gpd.GeoDataFrame:
        return workspace.layer(name)

    return load


COLLECTIONS: Final[dict[str, CollectionSpec]] = {
    spec.id: spec
    for spec in (
        CollectionSpec("zones", pipeline.ZONE_RESULTS, "zone_id", ZONE_PROPERTIES, _zone_results),
        CollectionSpec(
            "communes",
            pipeline.COMMUNE_RESULTS,
            "commune_insee",
            COMMUNE_PROPERTIES,
            _commune_results,
        ),
        CollectionSpec(
            "epcis", pipeline.EPCI_RESULTS, "epci_siren", EPCI_PROPERTIES, _epci_results
        ),
        CollectionSpec("land", pipeline.LAND, "plot_id", LAND_PROPERTIES, _layer(pipeline.LAND)),
        CollectionSpec(
            "premises",
            pipeline.PREMISES,
            "premises_id",
            PREMISES_PROPERTIES,
            _layer(pipeline.PREMISES),
            precompute=False,
        ),
        *(
            CollectionSpec(layer, layer, id_column, properties, _layer(layer))
            for layer, id_column, properties in (
                (pipeline.TRANSIT_STOPS, "stop_id", TRANSIT_STOP_PROPERTIES),
                (pipeline.RAIL_STATIONS, "station_id", RAIL_STATION_PROPERTIES),
                (pipeline.ROAD_ACCESS, "access_id", ROAD_ACCESS_PROPERTIES),
                (pipeline.HUBS, "hub_id", HUB_PROPERTIES),
            )
        ),
    )
}


def collection_spec(collection_id: str) -> CollectionSpec:
    """The spec of collection ``collection_id``; raises NotFoundError for an unknown id."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFoundError(
            f"no collection '{collection_id}'; the collections are {', '.join(COLLECTIONS)}"
        ) from None
