"""Wire models: the JSON documents of the API, for the OpenAPI document and its validators.

OGC API - Features documents keep the specification's spelling (``numberMatched``,
``conformsTo``, ``itemType``); geo-service's own fields are snake_case. Feature property models
are generated from the collection specs (:mod:`geo_service.api.collections`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from geo_service.api.collections import CollectionSpec, Property

_PY_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[str],
}


class Link(BaseModel):
    """A link to another resource."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    """The landing page: what the service is and where its parts are."""

    title: str
    description: str
    synthetic: bool = Field(description="Whether the data served is the synthetic demo territory.")
    links: list[Link]


class Conformance(BaseModel):
    """The conformance classes the service implements."""

    conformsTo: list[str]  # noqa: N815 - OGC spelling


class SpatialExtent(BaseModel):
    """Bounding box of the collection (CRS84)."""

    bbox: list[list[float]]
    crs: str


class TemporalExtent(BaseModel):
    """Dates of the collection's data."""

    interval: list[list[str | None]]
    trs: str


class Extent(BaseModel):
    """Spatial and temporal extent."""

    spatial: SpatialExtent | None = None
    temporal: TemporalExtent | None = None


class Collection(BaseModel):
    """A feature collection and where its items are."""

    id: str
    title: str
    description: str
    links: list[Link]
    extent: Extent | None = None
    itemType: Literal["feature"]  # noqa: N815 - OGC spelling
    crs: list[str] = Field(description="URIs of the CRSs the items can be served in (`crs`).")
    storageCrs: str = Field(  # noqa: N815 - OGC spelling
        description="URI of the CRS the data is stored in."
    )
    synthetic: bool
    source: str
    licence: str
    attribution: str
    data_date: date | None
    feature_count: int


class Collections(BaseModel):
    """Every collection of the service."""

    links: list[Link]
    collections: list[Collection]


class Geometry(BaseModel):
    """A GeoJSON geometry, in CRS84 unless the request's `crs` asked for another CRS."""

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any]


def _property_field(prop: Property) -> tuple[Any, Any]:
    # Not required: the items' `properties` parameter leaves the others out.
    python_type: Any = _PY_TYPES[prop.type]
    if prop.enum is not None:
        python_type = Literal.__getitem__(prop.enum)
    if prop.type == "array":
        return (python_type, Field(default_factory=list, description=prop.description))
    return (python_type | None, Field(default=None, description=prop.description))


def _feature_models(spec: CollectionSpec) -> tuple[type[BaseModel], type[BaseModel]]:
    stem = spec.id.capitalize()
    fields: dict[str, Any] = {prop.name: _property_field(prop) for prop in spec.properties}
    # Extra columns (optional metrics, e.g. mobile coverage) are served too: allow them.
    properties = create_model(f"{stem}Properties", __config__=ConfigDict(extra="allow"), **fields)
    feature_fields: dict[str, Any] = {
        "type": (Literal["Feature"], ...),
        "id": (str, Field(description=f"The feature id ({spec.id_column}).")),
        "geometry": (Geometry | None, ...),
        "properties": (properties, ...),
        "links": (list[Link], Field(default_factory=list)),
    }
    feature = create_model(f"{stem}Feature", **feature_fields)
    collection_fields: dict[str, Any] = {
        "type": (Literal["FeatureCollection"], ...),
        "numberMatched": (int, Field(description="Features matching the query.")),
        "numberReturned": (int, Field(description="Features in this page.")),
        "limit": (
            int,
            Field(description="Page size served: the requested `limit`, capped at the maximum."),
        ),
        "timeStamp": (datetime, Field(description="When the response was made.")),
        "synthetic": (bool, Field(description="Whether the data is the synthetic demo territory.")),
        "links": (list[Link], ...),
        "features": (list[feature], ...),
    }
    collection = create_model(f"{stem}FeatureCollection", **collection_fields)
    return feature, collection


#: Feature and FeatureCollection models of each collection, by collection id.
FEATURE_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {}


def feature_models(spec: CollectionSpec) -> tuple[type[BaseModel], type[BaseModel]]:
    """The (Feature, FeatureCollection) models of a collection."""
    if spec.id not in FEATURE_MODELS:
        FEATURE_MODELS[spec.id] = _feature_models(spec)
    return FEATURE_MODELS[spec.id]


class AnyFeature(BaseModel):
    """A GeoJSON feature of any collection (see each collection's items for its properties)."""

    type: Literal["Feature"]
    id: str
    geometry: Geometry | None
    properties: dict[str, Any]
    links: list[Link] = []


class Queryables(BaseModel):
    """JSON Schema of the properties usable as filters of a collection's items."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    properties: dict[str, dict[str, Any]]
    additionalProperties: bool  # noqa: N815 - JSON Schema spelling
    queryables: list[dict[str, str]] = Field(
        default_factory=list,
        description="The same properties as the draft's list of ids (read by GDAL).",
    )


# -- domain endpoints ------------------------------------------------------------------------


class InputInfo(BaseModel):
    """Provenance of one input layer of the analysis."""

    title: str
    source: str
    licence: str
    attribution: str
    data_date: date | None
    imported_at: datetime
    feature_count: int
    synthetic: bool


class RunOut(BaseModel):
    """How the results were made: when, with which thresholds and weights, from which data."""

    analyzed_at: datetime
    thresholds: dict[str, float] = Field(description="Thresholds and weights of the analysis.")
    inputs: dict[str, InputInfo] = Field(description="Input layers by name.")
    synthetic: bool


class ZoneMetrics(BaseModel):
    """What was measured in a zone."""

    area_ha: float | None
    premises: int | None
    locaux: int | None
    share_bhd8: float | None
    share_thd30: float | None
    share_thd100: float | None
    share_thd1g: float | None
    share_ftth: float | None
    raster_share_bhd8: float | None
    raster_share_thd30: float | None
    raster_valid_share: float | None
    available_land_ha: float | None
    available_plots: int | None


class ZoneDetail(BaseModel):
    """One activity zone: identity, metrics, status, priority and the reasons, with its run."""

    id: str
    name: str | None
    commune_insee: str | None
    epci_siren: str | None
    kind: str | None
    vocation: str | None
    state: str | None
    status: str | None
    status_basis: str | None
    priority: float | None
    rank: int | None
    reasons: list[str]
    metrics: ZoneMetrics
    bbox: list[float] | None = Field(description="Bounding box of the zone (CRS84).")
    synthetic: bool
    run: RunOut
    links: list[Link]


class ZoneRef(BaseModel):
    """A zone, briefly."""

    id: str
    name: str | None
    status: str | None
    priority: float | None
    rank: int | None
    links: list[Link]


class CommuneRef(BaseModel):
    """A commune, briefly."""

    commune_insee: str
    name: str | None
    epci_siren: str | None
    links: list[Link]


class NearestPremises(BaseModel):
    """The building nearest to a point and its coverage."""

    id: str
    distance_m: float
    locaux: int | None
    down_class: str | None
    best_techno: str | None
    ftth: bool | None


class RasterValue(BaseModel):
    """The coverage raster at a point."""

    mbps: float | None = Field(description="Maximum download speed, Mbit/s (null: unknown).")
    speed_class: str | None = Field(description="ARCEP class of that speed.")


class NearestFacility(BaseModel):
    """The nearest facility of a kind to a point."""

    name: str | None
    distance_km: float = Field(description="Straight-line distance (Lambert-93), km.")


class NearestTransport(BaseModel):
    """The nearest motorway interchange, passenger rail station and airport (null: no layer)."""

    road_access: NearestFacility | None = None
    rail_station: NearestFacility | None = None
    airport: NearestFacility | None = None


class HereResult(BaseModel):
    """What is at a point: zones, commune, nearest building, coverage raster."""

    lon: float
    lat: float
    in_territory: bool = Field(description="Whether the point lies in an analysed commune or zone.")
    statement: str | None = Field(
        description="A French sentence when the point is outside the loaded territory."
    )
    zones: list[ZoneRef]
    commune: CommuneRef | None
    nearest_premises: NearestPremises | None
    coverage: RasterValue | None
    transport: NearestTransport = Field(
        default_factory=NearestTransport,
        description="Nearest interchange, station and airport, straight-line distances.",
    )
    synthetic: bool


class OlderVintage(BaseModel):
    """An older vintage of a coverage layer, kept read-only."""

    vintage: str
    name: str = Field(description="Store layer holding it, e.g. premises__v2017_t3.")
    data_date: date | None
    imported_at: datetime
    feature_count: int
    read_only: bool = True


class LayerInfo(BaseModel):
    """A stored layer and its provenance."""

    name: str
    title: str
    description: str
    kind: str
    source: str
    licence: str
    attribution: str
    data_date: date | None
    imported_at: datetime
    feature_count: int
    synthetic: bool
    vintage: str | None = Field(
        default=None, description="Vintage (quarter) of a coverage layer's current data."
    )
    older_vintages: list[OlderVintage] = Field(
        default_factory=list,
        description="Older vintages of the layer kept read-only (oldest first).",
    )
    links: list[Link]


class Layers(BaseModel):
    """The layer catalogue."""

    layers: list[LayerInfo]
    synthetic: bool


class CommuneSummary(BaseModel):
    """One commune's zones by status and its main figures."""

    commune_insee: str
    name: str | None
    epci_siren: str | None
    zones: int
    zones_served: int
    zones_underserved: int
    zones_unserved: int
    zones_unknown: int
    locaux: int
    share_thd30: float | None
    available_land_ha: float
    priority_max: float | None
    links: list[Link]


class Summary(BaseModel):
    """The territory in figures: zones by status, per commune, and the run."""

    zones: int
    by_status: dict[str, int] = Field(description="Zones by status.")
    locaux_by_status: dict[str, int] = Field(description="Locaux in the zones, by zone status.")
    flagged: int = Field(description="Underserved and unserved zones.")
    available_land_ha: float
    communes: list[CommuneSummary]
    synthetic: bool
    run: RunOut


class CommuneDetail(BaseModel):
    """A commune's figures (the properties of its feature) and its zones by priority."""

    commune_insee: str
    name: str | None
    figures: dict[str, Any] = Field(
        description="The commune's properties, as in /collections/communes/items."
    )
    zones: list[ZoneRef] = Field(description="Its zones, flagged ones by rank first.")
    synthetic: bool
    run: RunOut
    links: list[Link]


class Health(BaseModel):
    """Liveness of the service (``loading`` while ``geo-service serve`` loads the store: the
    answer of :mod:`geo_service.api.starting`; other requests wait meanwhile)."""

    status: Literal["ok", "loading"]
    analysed: bool | None = Field(
        description="Whether the store holds analysis results (null while loading)."
    )
