"""What a territory map shows: its view (statuses, one commune), read from the parameters,
and which zones that view holds. Without folium: the viewport route
(``GET /maps/territory/zones``) loads only this and :mod:`geo_service.maps.viewport`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np

from geo_service.errors import NotFoundError, ParameterError
from geo_service.model import ZoneStatus

#: Simplification tolerance (metres, Lambert-93) of the zones in the territory view.
ZONE_TOLERANCE_M: Final = 5.0
_INSEE: Final = re.compile(r"^(\d{5}|2[AB]\d{3})$")


@dataclass(frozen=True)
class TerritoryView:
    """Filters of the territory map: statuses to show (all when empty) and one commune."""

    statuses: tuple[str, ...] = ()
    commune: str | None = None

    def key(self) -> str:
        """A stable text for cache keys."""
        return f"status={','.join(self.statuses)};commune={self.commune or ''}"


def parse_statuses(value: str | None) -> tuple[str, ...]:
    """Statuses of a ``status`` parameter (comma-separated); ParameterError if unknown."""
    if value is None or not value.strip():
        return ()
    known = [s.value for s in ZoneStatus]
    statuses = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    wrong = [s for s in statuses if s not in known]
    if wrong:
        raise ParameterError(
            "status",
            f"unknown status {', '.join(repr(w) for w in wrong)}; expected one or more of "
            f"{', '.join(known)}, separated by commas",
        )
    return statuses


def parse_commune(value: str | None, communes: Mapping[str, Any]) -> str | None:
    """The INSEE code of a ``commune`` parameter: ParameterError if malformed, NotFoundError if
    no such commune was analysed (as ``/communes/{insee}`` answers)."""
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if not _INSEE.match(code):
        raise ParameterError(
            "commune", f"'{value}' is not an INSEE commune code; expected 5 characters, e.g. 13001"
        )
    if code not in communes:
        raise NotFoundError(f"no commune {code} in the analysed territory; /summary lists them")
    return code


def view_mask(zones: gpd.GeoDataFrame, view: TerritoryView) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which of ``zones`` ``view`` shows (its statuses, its commune)."""
    mask = np.ones(len(zones), dtype=bool)
    if view.statuses:
        mask &= zones["status"].isin(view.statuses).to_numpy()
    if view.commune:
        mask &= (zones["commune_insee"].astype("string") == view.commune).fillna(False).to_numpy()
    return mask
