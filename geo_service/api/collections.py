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
from geo_service.analysis.status import StatusBasis
from geo_service.errors import NotFoundError
from geo_service.model import SPEED_CLASSES, TECHNOLOGIES, ZoneStatus
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


_SHARES: Final = (
    _number("share_bhd8", "Share of locaux with at least 8 Mbit/s (BHD8), 0-1."),
    _number("share_thd30", "Share of locaux with at least 30 Mbit/s (THD30), 0-1."),
    _number("share_thd100", "Share of locaux with at least 100 Mbit/s, 0-1."),
    _number("share_thd1g", "Share of locaux with at least 1 Gbit/s, 0-1."),
    _number("share_ftth", "Share of locaux where fibre to the premises is available, 0-1."),
)
_STATUSES: Final = tuple(s.value for s in ZoneStatus)

ZONE_PROPERTIES: Final = (
    _text("zone_id", "Zone identifier."),
    _text("name", "Name of the activity zone."),
    _text("commune_insee", "INSEE code of the zone's commune."),
    _text("epci_siren", "SIREN of the zone's EPCI (intercommunality)."),
    _text("kind", "Kind of zone (ZAE, ZAC, parc d'activités, ...)."),
    _text("vocation", "Vocation of the zone (industrielle, commerciale, mixte, ...)."),
    _text("state", "State of the zone (existante, en projet, ...)."),
    _number("area_ha", "Area of the zone in hectares (Lambert-93)."),
    _count("premises", "Buildings in the zone."),
    _count("locaux", "Locaux (premises units) in the zone."),
    *_SHARES,
    _number("raster_share_bhd8", "Share of the known raster area at >= 8 Mbit/s, 0-1."),
    _number("raster_share_thd30", "Share of the known raster area at >= 30 Mbit/s, 0-1."),
    _number("raster_valid_share", "Share of the zone's area with known raster pixels, 0-1."),
    _number("available_land_ha", "Available business land in the zone, hectares."),
    _count("available_plots", "Available plots in the zone."),
    _choice("status", "Broadband status of the zone.", _STATUSES),
    _choice("status_basis", "What decided the status.", tuple(b.value for b in StatusBasis)),
    _number("priority", "Priority 0-100 (flagged zones; 0 when served, null when unknown)."),
    _count("rank", "Rank among the flagged zones (1 = highest priority).", queryable=True),
    Property("reasons", "array", "Sentences (French) explaining the status and priority."),
)

_AGGREGATES: Final = (
    _count("zones", "Activity zones."),
    *(_count(f"zones_{s}", f"Activity zones whose status is {s}.") for s in _STATUSES),
    _number("area_ha", "Summed area of the zones, hectares."),
    _count("premises", "Buildings in the zones."),
    _count("locaux", "Locaux in the zones."),
    _number("available_land_ha", "Available business land in the zones, hectares."),
    _count("available_plots", "Available plots in the zones."),
    *_SHARES,
    _number("priority_max", "Highest priority among the zones."),
)

COMMUNE_PROPERTIES: Final = (
    _text("commune_insee", "INSEE code of the commune."),
    _text("name", "Name of the commune."),
    _text("epci_siren", "SIREN of the commune's EPCI."),
    _count("population", "Population."),
    *_AGGREGATES,
)

EPCI_PROPERTIES: Final = (
    _text("epci_siren", "SIREN of the EPCI (intercommunality)."),
    _text("name", "Name of the EPCI."),
    _count("communes", "Communes of the EPCI."),
    _count("population", "Population."),
    *_AGGREGATES,
)

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
