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
)

#: The declarations by field name.
BY_NAME: Final[dict[str, Threshold]] = {t.name: t for t in THRESHOLDS}
