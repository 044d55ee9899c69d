"""Canonical layers: their names, columns, coordinate systems and the ARCEP speed classes.

Every source is turned into one of these layers (DESIGN.md, "Canonical layers"); the
validation of a layer against its schema lives in :mod:`geo_service.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from affine import Affine
from pydantic import BaseModel, ConfigDict, Field

#: All measurement happens in Lambert-93.
CANONICAL_CRS: Final = "EPSG:2154"
#: GeoJSON and maps are in longitude/latitude order (WGS84).
OUTPUT_CRS: Final = "OGC:CRS84"
#: Lon/lat box of Lambert-93's area of use (metropolitan France and Corsica), with a margin.
FRANCE_LONLAT_BOUNDS: Final = (-9.9, 41.0, 10.4, 51.6)

#: ARCEP download speed classes, worst to best, with their lower bound in Mbit/s.
SPEED_CLASSES: Final[tuple[str, ...]] = ("INEL", "HD05", "HD3", "BHD8", "THD30", "THD100", "THD1G")
CLASS_MIN_MBPS: Final[dict[str, float]] = {
    "INEL": 0.0,
    "HD05": 0.5,
    "HD3": 3.0,
    "BHD8": 8.0,
    "THD30": 30.0,
    "THD100": 100.0,
    "THD1G": 1000.0,
}
#: ARCEP technology codes (``code_techno``).
TECHNOLOGIES: Final[tuple[str, ...]] = ("FO", "COAX", "CU", "THDR", "HDR", "4GF", "SAT")
BHD8: Final = SPEED_CLASSES.index("BHD8")
THD30: Final = SPEED_CLASSES.index("THD30")
THD100: Final = SPEED_CLASSES.index("THD100")
THD1G: Final = SPEED_CLASSES.index("THD1G")


class LayerKind(StrEnum):
    """The kinds of canonical layer."""

    ZONES = "zones"
    PREMISES = "premises"
    LAND = "land"
    COMMUNES = "communes"
    COVERAGE = "coverage"
    # Transport access (DESIGN.md, "Next topics"): points validated against SCHEMAS.
    TRANSIT_STOPS = "transit_stops"
    RAIL_STATIONS = "rail_stations"
    ROAD_ACCESS = "road_access"
    HUBS = "hubs"
    ROAD_NETWORK = "road_network"
    # Complementary layers (no schema in SCHEMAS: their importers validate them).
    FTTH_DEPLOYMENT = "ftth_deployment"
    MOBILE_SITES = "mobile_sites"
    MOBILE_COVERAGE = "mobile_coverage"
    COMMUNE_COVERAGE = "commune_coverage"


#: Public-transport modes of the ``transit_stops`` layer (from GTFS ``route_type``).
TRANSIT_MODES: Final[tuple[str, ...]] = (
    "bus",
    "coach",
    "tram",
    "metro",
    "train",
    "ferry",
    "cable",
    "other",
)
#: Kinds of the ``hubs`` layer: ``airport`` has scheduled flights (an IATA code),
#: ``aerodrome`` does not; ports and logistics platforms.
HUB_KINDS: Final[tuple[str, ...]] = ("airport", "aerodrome", "port", "logistics")
#: Kinds of the ``road_access`` layer.
ROAD_ACCESS_KINDS: Final[tuple[str, ...]] = ("interchange", "motorway_link", "junction")


class ZoneStatus(StrEnum):
    """Broadband status of an activity zone."""

    SERVED = "served"
    UNDERSERVED = "underserved"
    UNSERVED = "unserved"
    UNKNOWN = "unknown"


#: French words of each zone status, agreeing with « zone »: singular, plural. The maps' labels,
#: the result fields' labels and the opinions' sentences are made from them.
STATUS_WORDS: Final[dict[str, tuple[str, str]]] = {
    ZoneStatus.SERVED: ("bien desservie", "bien desservies"),
    ZoneStatus.UNDERSERVED: ("mal desservie", "mal desservies"),
    ZoneStatus.UNSERVED: ("non desservie", "non desservies"),
    ZoneStatus.UNKNOWN: ("indéterminée", "indéterminées"),
}


class AccessClass(StrEnum):
    """Transport access class of an activity zone (see :mod:`geo_service.analysis.transport`)."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"


#: French words of each access class, agreeing with « zone »: singular, plural (maps, opinions,
#: result labels).
ACCESS_WORDS: Final[dict[str, tuple[str, str]]] = {
    AccessClass.GOOD: ("bien desservie", "bien desservies"),
    AccessClass.FAIR: ("partiellement desservie", "partiellement desservies"),
    AccessClass.POOR: ("mal desservie", "mal desservies"),
    AccessClass.UNKNOWN: ("de desserte inconnue", "de desserte inconnue"),
}


@dataclass(frozen=True)
class LayerSchema:
    """Columns and geometries of a canonical vector layer."""

    kind: LayerKind
    id_column: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    geometry_types: frozenset[str]
    extra_geometry_types: frozenset[str] = field(default_factory=frozenset)

    @property
    def columns(self) -> tuple[str, ...]:
        """Required then optional columns, in canonical order."""
        return self.required + self.optional

    @property
    def points_alone(self) -> bool:
        """Whether the layer's geometries are points and nothing else (premises, stops...):
        such a layer can be read and validated as coordinates."""
        return self.geometry_types | self.extra_geometry_types == {"Point"}


POLYGONAL: Final = frozenset({"Polygon", "MultiPolygon"})

SCHEMAS: Final[dict[LayerKind, LayerSchema]] = {
    LayerKind.ZONES: LayerSchema(
        LayerKind.ZONES,
        "zone_id",
        ("zone_id", "name"),
        ("commune_insee", "epci_siren", "kind", "vocation", "state"),
        POLYGONAL,
    ),
    LayerKind.PREMISES: LayerSchema(
        LayerKind.PREMISES,
        "premises_id",
        ("premises_id", "locaux", "down_class"),
        ("best_techno", "ftth", "commune_insee"),
        frozenset({"Point"}),
    ),
    LayerKind.LAND: LayerSchema(
        LayerKind.LAND,
        "plot_id",
        ("plot_id", "available"),
        ("status", "source", "area_ha"),
        POLYGONAL,
        extra_geometry_types=frozenset({"Point"}),
    ),
    LayerKind.COMMUNES: LayerSchema(
        LayerKind.COMMUNES,
        "commune_insee",
        ("commune_insee", "name"),
        ("epci_siren", "epci_name", "population"),
        POLYGONAL,
    ),
    LayerKind.TRANSIT_STOPS: LayerSchema(
        LayerKind.TRANSIT_STOPS,
        "stop_id",
        ("stop_id", "name", "modes"),
        ("peak_departures", "peak_date", "feed"),
        frozenset({"Point"}),
    ),
    LayerKind.RAIL_STATIONS: LayerSchema(
        LayerKind.RAIL_STATIONS,
        "station_id",
        ("station_id", "name"),
        ("uic", "passengers", "commune_insee"),
        frozenset({"Point"}),
    ),
    LayerKind.ROAD_ACCESS: LayerSchema(
        LayerKind.ROAD_ACCESS,
        "access_id",
        ("access_id", "name"),
        ("road", "kind"),
        frozenset({"Point"}),
    ),
    LayerKind.HUBS: LayerSchema(
        LayerKind.HUBS,
        "hub_id",
        ("hub_id", "name", "kind"),
        ("iata", "icao"),
        frozenset({"Point"}),
    ),
    LayerKind.ROAD_NETWORK: LayerSchema(
        LayerKind.ROAD_NETWORK,
        "edge_id",
        ("edge_id", "from_node", "to_node"),
        ("length_m", "maxspeed_kmh", "highway", "name"),
        frozenset({"LineString"}),
    ),
}


def schema_of(layer: str) -> LayerSchema | None:
    """The canonical schema of the layer named ``layer`` (None for other layers: coverage,
    results, mobile data...)."""
    kind = next((k for k in SCHEMAS if k.value == layer), None)
    return None if kind is None else SCHEMAS[kind]


class LayerMeta(BaseModel):
    """Provenance of a stored layer: where it comes from, its licence and the date of its data."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    title: str
    source: str
    licence: str = "non précisée"
    attribution: str = ""
    data_date: date | None = None
    imported_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    feature_count: int = 0
    synthetic: bool = False
    vintage: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class CoverageRaster:
    """A coverage raster: maximum download speed in Mbit/s per pixel, NaN where unknown.

    ``data`` is a 2-D float32 array whose first row is the northern edge; ``transform`` maps
    pixel (col, row) to coordinates in ``crs``.
    """

    data: npt.NDArray[np.float32]
    transform: Affine
    crs: str = CANONICAL_CRS

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (int(self.data.shape[0]), int(self.data.shape[1]))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in ``crs``."""
        rows, cols = self.shape
        x0, y0 = self.transform @ (0, 0)
        x1, y1 = self.transform @ (cols, rows)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in squared CRS units."""
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)


def class_rank(values: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Rank of each ARCEP class in :data:`SPEED_CLASSES` (0 = INEL ... 6 = THD1G), -1 if unknown."""
    if not isinstance(values, pd.Series | pd.Index):
        values = np.asarray(values, dtype=object)
    # factorize the few distinct values, then rank them: ~6x faster than a Categorical
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    ranks = [SPEED_CLASSES.index(u) if u in SPEED_CLASSES else -1 for u in uniques]
    lookup = np.array([*ranks, -1], dtype=np.int8)  # code -1 (missing) takes the last
    return np.asarray(lookup[codes], dtype=np.int8)


def in_france(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Whether each point lies in :data:`FRANCE_LONLAT_BOUNDS` (NaN is outside)."""
    xmin, ymin, xmax, ymax = FRANCE_LONLAT_BOUNDS
    with np.errstate(invalid="ignore"):
        return np.asarray((lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax))


def speed_class_rank(mbps: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Rank in :data:`SPEED_CLASSES` of the ARCEP class of each download speed in Mbit/s
    (the best class whose lower bound it reaches), -1 for NaN or a negative speed."""
    speeds = np.asarray(mbps, dtype=float)
    bounds = np.array([CLASS_MIN_MBPS[c] for c in SPEED_CLASSES])
    idx = np.searchsorted(bounds, np.nan_to_num(speeds, nan=-1.0), side="right") - 1
    return np.asarray(np.where(np.isnan(speeds), -1, idx), dtype=np.int64)


def speed_to_class(mbps: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """The ARCEP class of each download speed in Mbit/s (None for NaN)."""
    names = np.array((*SPEED_CLASSES, None), dtype=object)
    return np.asarray(names[speed_class_rank(mbps)], dtype=object)
