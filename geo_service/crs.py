"""OGC API - Features Part 2: coordinate reference systems by reference.

The features are held in CRS84 (longitude, latitude). A request may ask for its coordinates
in another supported CRS (``crs``) and give its ``bbox`` in one (``bbox-crs``); the response
says which in its ``Content-Crs`` header. Each CRS is named by its OGC URI, and its axis order
is the one its definition gives: EPSG:4326 is latitude, longitude; CRS84 longitude, latitude;
Lambert-93 (EPSG:2154) and Web Mercator (EPSG:3857) easting, northing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

from geo_service.errors import ParameterError

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class SupportedCrs:
    """A CRS the API serves: its URI, its pyproj code, axis order and decimals on the wire."""

    uri: str
    code: str
    #: Whether coordinates are written (and bboxes read) latitude first.
    lat_first: bool
    geographic: bool
    decimals: int


CRS84: Final = SupportedCrs(
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84", False, True, 6
)
EPSG_4326: Final = SupportedCrs(
    "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326", True, True, 6
)
LAMBERT_93: Final = SupportedCrs(
    "http://www.opengis.net/def/crs/EPSG/0/2154", "EPSG:2154", False, False, 2
)
WEB_MERCATOR: Final = SupportedCrs(
    "http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:3857", False, False, 2
)
#: Every CRS served, the default (CRS84) first.
SUPPORTED: Final = (CRS84, EPSG_4326, LAMBERT_93, WEB_MERCATOR)
#: The CRS the store keeps the layers in (``storageCrs``).
STORAGE: Final = LAMBERT_93
_BY_NAME: Final = {
    **{c.uri: c for c in SUPPORTED},
    **{c.code: c for c in SUPPORTED},
    "[EPSG:4326]": EPSG_4326,
    "[EPSG:2154]": LAMBERT_93,
    "[EPSG:3857]": WEB_MERCATOR,
    "[OGC:CRS84]": CRS84,
}


def parse_crs(value: str | None, parameter: str) -> SupportedCrs:
    """The CRS named by ``value`` (an OGC URI, a safe CURIE, or ``EPSG:n``); CRS84 if None."""
    if value is None:
        return CRS84
    found = _BY_NAME.get(value.strip())
    if found is None:
        raise ParameterError(
            parameter,
            f"unsupported CRS {value!r}; expected one of {', '.join(c.uri for c in SUPPORTED)}",
        )
    return found


def crs_uris() -> list[str]:
    """The URIs of every supported CRS (a collection's ``crs`` list)."""
    return [c.uri for c in SUPPORTED]


@lru_cache(maxsize=16)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def from_crs84(geometries: npt.NDArray[Any], crs: SupportedCrs) -> npt.NDArray[Any]:
    """CRS84 geometries in ``crs``, in its axis order, rounded to its decimals."""
    transformer = None if crs is CRS84 else _transformer(CRS84.code, crs.code)

    def convert(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if transformer is not None:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        if crs.lat_first:
            xy = xy[:, ::-1]
        return np.round(xy, crs.decimals)

    return shapely.transform(geometries, convert)


def to_crs84(geometry: Any, crs: SupportedCrs) -> Any:
    """A geometry given in ``crs`` (in its axis order) in CRS84."""
    if crs is CRS84:
        return geometry
    transformer = _transformer(crs.code, CRS84.code)

    def convert(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if crs.lat_first:
            xy = xy[:, ::-1]
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, convert)


def bbox_to_crs84(numbers: list[float], crs: SupportedCrs, text: str) -> list[BBox]:
    """The CRS84 box(es) of a ``bbox`` given in ``crs`` (two when it crosses the antimeridian)."""
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if crs.lat_first:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    min_x, min_y, max_x, max_y = numbers
    if crs.geographic:
        return _geographic_boxes(min_x, min_y, max_x, max_y, text)
    if min_x > max_x or min_y > max_y:
        raise ParameterError("bbox", f"expected minX,minY,maxX,maxY with min <= max; got {text!r}")
    west, south, east, north = _transformer(crs.code, CRS84.code).transform_bounds(
        min_x, min_y, max_x, max_y, densify_pts=21
    )
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise ParameterError("bbox", f"the box {text!r} lies outside the area of {crs.uri}")
    return [(max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))]


def _geographic_boxes(
    min_lon: float, min_lat: float, max_lon: float, max_lat: float, text: str
) -> list[BBox]:
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise ParameterError("bbox", f"longitudes must lie in [-180, 180]; got {text!r}")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise ParameterError("bbox", f"latitudes must lie in [-90, 90]; got {text!r}")
    if min_lat > max_lat:
        raise ParameterError("bbox", f"minLat must not exceed maxLat; got {text!r}")
    if min_lon > max_lon:
        return [(min_lon, min_lat, 180.0, max_lat), (-180.0, min_lat, max_lon, max_lat)]
    return [(min_lon, min_lat, max_lon, max_lat)]


def content_crs_header(crs: SupportedCrs) -> dict[str, str]:
    """The ``Content-Crs`` header of a response in ``crs``."""
    return {"Content-Crs": f"<{crs.uri}>"}
