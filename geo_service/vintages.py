"""Dated vintages of the coverage layers: labels, their order, and where each one is stored.

A vintage is a quarter, written ``2026-T1`` (ARCEP publishes quarterly). The current vintage
of a layer is the layer itself (``premises``); an older one is kept read-only as layer
``premises__v2017_t3`` until it is dropped. This module imports nothing heavy.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from geo_service.errors import ParameterError

#: The layers kept in dated vintages (the coverage and transport layers).
VINTAGED_LAYERS: Final = (
    "premises",
    "commune_coverage",
    "coverage",
    "mobile_sites",
    "mobile_coverage",
    "ftth_deployment",
    "transit_stops",
    "rail_stations",
    "road_access",
    "hubs",
)
_LABEL: Final = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*[Tt]([1-4])\s*$")
_REVERSED: Final = re.compile(r"^\s*[Tt]([1-4])\s*[-_ ]?\s*(\d{4})\s*$")
_ARCHIVED: Final = re.compile(r"^(?P<layer>[a-z][a-z0-9_]*?)__v(?P<year>\d{4})_t(?P<q>[1-4])$")


def parse_vintage(text: str, parameter: str = "--vintage") -> str:
    """The vintage label of ``text`` (``2026-T1``; ``T1 2026`` and ``2026t1`` are read too)."""
    if match := _LABEL.match(text):
        return f"{match.group(1)}-T{match.group(2)}"
    if match := _REVERSED.match(text):
        return f"{match.group(2)}-T{match.group(1)}"
    raise ParameterError(parameter, f"'{text}' is not a vintage; expected a quarter as 2026-T1")


def vintage_of_date(day: date) -> str:
    """The vintage (quarter) holding ``day``: 2018-03-31 -> ``2018-T1``."""
    return f"{day.year}-T{(day.month - 1) // 3 + 1}"


def vintage_key(label: str) -> tuple[int, int]:
    """Sort key of a vintage label (year, quarter)."""
    year, quarter = parse_vintage(label).split("-T")
    return int(year), int(quarter)


def is_vintaged(layer: str) -> bool:
    """Whether ``layer`` is kept in vintages."""
    return layer in VINTAGED_LAYERS


def check_vintaged(layer: str, parameter: str = "--vintage") -> None:
    """ParameterError naming ``parameter`` when ``layer`` is not kept in vintages."""
    if not is_vintaged(layer):
        raise ParameterError(
            parameter,
            f"layer '{layer}' is not kept in vintages; the vintaged layers are "
            f"{', '.join(VINTAGED_LAYERS)}",
        )


def archived_name(layer: str, vintage: str) -> str:
    """The store layer holding an older vintage: ``premises`` 2017-T3 -> ``premises__v2017_t3``."""
    year, quarter = vintage_key(vintage)
    return f"{layer}__v{year}_t{quarter}"


def split_archived_name(name: str) -> tuple[str, str] | None:
    """(layer, vintage) of an archived vintage's store name, None for any other name."""
    match = _ARCHIVED.match(name)
    if match is None or not is_vintaged(match.group("layer")):
        return None
    return match.group("layer"), f"{match.group('year')}-T{match.group('q')}"
