"""Query parameters: typed, documented FastAPI dependencies (the OpenAPI document is the manual).

Values FastAPI cannot check by type alone (a bounding box, a time interval, a sort list) are
parsed here and refused with a :class:`~geo_service.errors.ParameterError` naming the parameter.
Every route also refuses query parameters it does not declare
(:func:`reject_unknown_parameters`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Final, Literal

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from geo_service.crs import CRS84, SUPPORTED, SupportedCrs, bbox_to_crs84
from geo_service.errors import ParameterError

#: Default and maximum page sizes of ``/collections/{id}/items``.
DEFAULT_LIMIT: Final = 10
MAX_LIMIT: Final = 1000
MAX_OFFSET: Final = 2**31 - 1

OutputFormat = Literal["json", "html"]

BBox = tuple[float, float, float, float]

_CRS_LIST: Final = ", ".join(f"`{c.uri}`" for c in SUPPORTED)
CrsQuery = Annotated[
    str | None,
    Query(
        description=(
            "CRS of the coordinates of the response (OGC API - Features Part 2), one of "
            f"{_CRS_LIST}; default CRS84 (longitude, latitude). EPSG:4326 is written latitude "
            "first, as its definition says; the `Content-Crs` header names the CRS served."
        ),
        examples=["http://www.opengis.net/def/crs/EPSG/0/2154"],
    ),
]
FilterQuery = Annotated[
    str | None,
    Query(
        alias="filter",
        description=(
            "A CQL2 filter (OGC API - Features Part 3) on the queryables "
            "(`/collections/{collectionId}/queryables`): comparisons, `LIKE` (`%` any text, "
            "`_` one character), `IN`, `BETWEEN`, `IS NULL`, `AND`/`OR`/`NOT`, and spatial "
            "functions such as `S_INTERSECTS(geometry, BBOX(5.2,43.2,5.6,43.5))` "
            "or `S_WITHIN(geometry, POLYGON((...)))`."
        ),
        examples=["status = 'unserved' AND available_land_ha > 2"],
    ),
]
FilterLangQuery = Annotated[
    Literal["cql2-text", "cql2-json", "cql-text"] | None,
    Query(
        alias="filter-lang",
        description=(
            "Language of `filter`: `cql2-text` (default) or `cql2-json`; `cql-text`, the draft's "
            "name that GDAL's OAPIF driver sends, is read as `cql2-text`."
        ),
    ),
]
FilterCrsQuery = Annotated[
    str | None,
    Query(
        alias="filter-crs",
        description="CRS of the geometries in `filter` (as for `crs`); default CRS84.",
    ),
]
PropertiesQuery = Annotated[
    str | None,
    Query(
        description=(
            "Only these properties in each feature (comma-separated names); the id is always given."
        ),
        examples=["name,status,priority"],
    ),
]
SkipGeometryQuery = Annotated[
    bool,
    Query(alias="skipGeometry", description="Leave each feature's geometry out (`null`)."),
]
BBoxCrsQuery = Annotated[
    str | None,
    Query(
        alias="bbox-crs",
        description=f"CRS of `bbox`, one of {_CRS_LIST}; default CRS84.",
    ),
]

FormatQuery = Annotated[
    OutputFormat | None,
    Query(
        description=(
            "Output format: `json` (GeoJSON / JSON) or `html`. Without it, a browser asking for "
            "text/html gets HTML and every other client JSON."
        )
    ),
]
LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_OFFSET,
        description=(
            f"Number of features per page (default {DEFAULT_LIMIT}). A larger value than "
            f"{MAX_LIMIT} is served {MAX_LIMIT} features per page, as the response's `limit` "
            "says; follow the `next` links for the rest."
        ),
    ),
]
OffsetQuery = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        description="Number of matching features to skip (paging; see the `next` link).",
    ),
]
BBoxQuery = Annotated[
    str | None,
    Query(
        description=(
            "Bounding box, in longitude/latitude (CRS84) unless `bbox-crs` says otherwise: "
            "`minLon,minLat,maxLon,maxLat` (6 numbers with heights are accepted, heights "
            "ignored). Returns the features whose geometry intersects the box; minLon > maxLon "
            "crosses the antimeridian."
        ),
        examples=["5.2,43.2,5.6,43.5"],
    ),
]
DatetimeQuery = Annotated[
    str | None,
    Query(
        description=(
            "Date-time or interval (RFC 3339: `2026-01-01T00:00:00Z`, `2025-01-01/2026-12-31`, "
            "`../2026-06-30`). Features carry the date of their data: all match when it falls in "
            "the interval, none otherwise."
        )
    ),
]


@dataclass(frozen=True)
class Interval:
    """A closed time interval; None ends are open."""

    start: datetime | None
    end: datetime | None

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in the interval."""
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end]`` meets the interval."""
        return (self.start is None or self.start <= end) and (self.end is None or start <= self.end)


def parse_bbox(text: str | None, crs: SupportedCrs = CRS84) -> list[BBox] | None:
    """The CRS84 boxes of a ``bbox`` value given in ``crs`` (two when it crosses the
    antimeridian), or None."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError(
            "bbox",
            f"expected 4 numbers 'minLon,minLat,maxLon,maxLat' (or 6 with heights); got {text!r}",
        )
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise ParameterError(
            "bbox", f"expected numbers separated by commas; got {text!r}"
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise ParameterError("bbox", f"expected finite numbers; got {text!r}")
    return bbox_to_crs84(numbers, crs, text)


def parse_datetime(text: str | None) -> Interval | None:
    """The interval of a ``datetime`` value (an instant is a zero-length interval), or None."""
    if text is None:
        return None
    if not text.strip():
        raise ParameterError(
            "datetime",
            "is empty; expected an RFC 3339 date-time, a date or an interval 'start/end' "
            "(omit the parameter for no time filter)",
        )
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 2:
            raise ParameterError("datetime", f"expected 'start/end'; got {text!r}")
        start, end = (_moment(part, end=i == 1) for i, part in enumerate(parts))
        if start is not None and end is not None and start > end:
            raise ParameterError("datetime", f"the start is after the end in {text!r}")
        return Interval(start, end)
    instant = _moment(text, end=False)
    if instant is None:
        raise ParameterError("datetime", "'..' is only allowed as an end of an interval")
    return Interval(instant, _moment(text, end=True))


def _moment(text: str, *, end: bool) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ParameterError(
            "datetime", f"expected an RFC 3339 date-time or date; got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_sortby(text: str | None, sortable: tuple[str, ...]) -> list[tuple[str, bool]]:
    """``(property, descending)`` pairs of a ``sortby`` value such as ``-priority,name``."""
    if text is None:
        return []
    if not text.strip():
        raise ParameterError(
            "sortby",
            f"is empty; expected a comma-separated list of {', '.join(sortable)} "
            "(omit the parameter for the stored order)",
        )
    keys: list[tuple[str, bool]] = []
    for raw in text.split(","):
        item = raw.strip()
        descending = item.startswith("-")
        name = item.lstrip("+-").strip()
        if name not in sortable:
            raise ParameterError(
                "sortby",
                f"cannot sort by {name!r}; expected a comma-separated list of "
                f"{', '.join(sortable)}, each optionally prefixed by '-' (descending)",
            )
        keys.append((name, descending))
    return keys


def parse_properties(text: str | None, served: Sequence[str]) -> tuple[str, ...] | None:
    """The property names of a ``properties`` value, in the served order (None: all)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in served]
    if unknown or not names:
        raise ParameterError(
            "properties",
            f"unknown property {unknown[0]!r}; "
            if unknown
            else f"is empty; expected comma-separated names among {', '.join(served)}",
        )
    chosen = set(names)
    return tuple(name for name in served if name in chosen)


def wants_html(request: Request, f: OutputFormat | None) -> bool:
    """Whether to answer in HTML: ``f=html``, or no ``f`` and an Accept header preferring HTML."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    html_at = accept.find("text/html")
    json_at = accept.find("json")
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


def declared_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names a route declares (with its dependencies')."""
    cached: frozenset[str] | None = getattr(route, "_geo_service_query_names", None)
    if cached is None:
        cached = frozenset(_query_names(route.dependant))
        route._geo_service_query_names = cached  # type: ignore[attr-defined]
    return cached


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_parameters(request: Request) -> None:
    """Refuse query parameters the route does not declare (400 naming them)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = declared_parameters(route)
    unknown = [name for name in request.query_params if name not in declared]
    if unknown:
        accepted = ", ".join(sorted(declared)) or "none"
        raise ParameterError(
            unknown[0],
            f"unknown query parameter (this endpoint accepts: {accepted})",
        )
