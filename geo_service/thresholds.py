"""The thresholds and weights of the analysis, declared once as plain data.

Each declaration gives a field's name, default, bounds, CLI flag and help text. The pydantic
models of :mod:`geo_service.settings` (``AnalysisFields`` and, through it, the settings, the
analysis parameters and the write API's request) take their fields from here, and so does the
``analyze`` command's options; this module imports nothing heavy, so that ``geo-service --help``
does not load pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypedDict

#: Largest priority weight, and largest half-saturation values (land in ha, locaux).
_MAX_WEIGHT: Final = 1e6
_MAX_HALF: Final = 1e9
#: Largest distance threshold of the transport access, in km (more than a département's span).
_MAX_KM: Final = 500.0


class Bounds(TypedDict, total=False):
    """Bounds of a numeric field, as pydantic's ``Field`` takes them."""

    ge: float
    gt: float
    le: float
    lt: float


@dataclass(frozen=True)
class Threshold:
    """One threshold or weight of the analysis."""

    name: str
    default: float
    #: The CLI flag without its dashes (``weight-gap``).
    flag: str
    description: str
    bounds: Bounds

    @property
    def option(self) -> str:
        """The CLI flag (``--weight-gap``)."""
        return f"--{self.flag}"

    @property
    def low(self) -> float | None:
        """The lower bound, inclusive or not."""
        return self.bounds.get("ge", self.bounds.get("gt"))

    @property
    def high(self) -> float | None:
        """The upper bound, inclusive or not."""
        return self.bounds.get("le", self.bounds.get("lt"))


THRESHOLDS: Final[tuple[Threshold, ...]] = (
    Threshold(
        "served_thd30_share",
        0.95,
        "served-thd30-share",
        "Share of locaux at >= 30 Mbit/s from which a zone is served.",
        Bounds(ge=0.0, le=1.0),
    ),
    Threshold(
        "unserved_bhd8_share",
        0.5,
        "unserved-bhd8-share",
        "Share of locaux at >= 8 Mbit/s below which a zone not served is unserved.",
        Bounds(ge=0.0, le=1.0),
    ),
    Threshold(
        "min_raster_valid_share",
        0.5,
        "min-raster-valid-share",
        "Share of a zone without premises that the raster must know for it to decide.",
        Bounds(ge=0.0, le=1.0),
    ),
    Threshold(
        "priority_weight_gap",
        0.5,
        "weight-gap",
        "Priority weight of the coverage gap.",
        Bounds(ge=0.0, le=_MAX_WEIGHT),
    ),
    Threshold(
        "priority_weight_land",
        0.3,
        "weight-land",
        "Priority weight of the available land.",
        Bounds(ge=0.0, le=_MAX_WEIGHT),
    ),
    Threshold(
        "priority_weight_locaux",
        0.2,
        "weight-locaux",
        "Priority weight of the locaux.",
        Bounds(ge=0.0, le=_MAX_WEIGHT),
    ),
    Threshold(
        "priority_land_half_ha",
        5.0,
        "land-half-ha",
        "Available hectares at which the land score is one half.",
        Bounds(gt=0.0, le=_MAX_HALF),
    ),
    Threshold(
        "priority_locaux_half",
        100.0,
        "locaux-half",
        "Locaux at which the locaux score is one half.",
        Bounds(gt=0.0, le=_MAX_HALF),
    ),
    # Transport access (geo_service.analysis.transport).
    Threshold(
        "transit_walk_m",
        500.0,
        "transit-walk-m",
        "Walking distance from a zone's perimeter within which public-transport stops count, m.",
        Bounds(gt=0.0, le=5000.0),
    ),
    Threshold(
        "access_good_departures",
        8.0,
        "good-departures",
        "Morning-peak (07:00-09:00) departures within walking distance from which a zone's "
        "public transport is good.",
        Bounds(ge=0.0, le=100_000.0),
    ),
    Threshold(
        "access_good_rail_km",
        2.0,
        "good-rail-km",
        "Straight-line distance to a passenger rail station within which a zone's public "
        "transport is good, km.",
        Bounds(ge=0.0, le=_MAX_KM),
    ),
    Threshold(
        "access_good_road_km",
        5.0,
        "good-road-km",
        "Straight-line distance to a motorway interchange within which a zone's road access is "
        "good, km.",
        Bounds(ge=0.0, le=_MAX_KM),
    ),
    Threshold(
        "access_poor_road_km",
        15.0,
        "poor-road-km",
        "Straight-line distance to a motorway interchange beyond which a zone's road access is "
        "poor, km.",
        Bounds(ge=0.0, le=_MAX_KM),
    ),
    Threshold(
        "priority_weight_access",
        0.0,
        "weight-access",
        "Priority weight of the transport access (poor 1, fair 0.5, good 0; 0: the broadband "
        "ranking alone).",
        Bounds(ge=0.0, le=_MAX_WEIGHT),
    ),
)

#: The declarations by field name.
BY_NAME: Final[dict[str, Threshold]] = {t.name: t for t in THRESHOLDS}
