"""Geometries written as text in producers' tables: WKT, GeoJSON and R's ``c(lon, lat)``.

The CNIG standards put GeoJSON (``site_geomsurf``, ``terr_geomsurf``) or WKT (``geompoint``,
``geomsurf``) in a column of a CSV file; Cartofriches' national list writes points the way R
prints a vector: ``c(5.51706696897107, 45.8807218999131)``. Rings that are not closed (the
CNIG example's last point differs from its first by 7 mm) are closed and counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import shape

from geo_service.model import CANONICAL_CRS, OUTPUT_CRS
from geo_service.sources.tabular import text_values

_EWKT: Final = re.compile(r"^\s*SRID=(\d+);(.*)$", re.IGNORECASE | re.DOTALL)
_R_NUMBER: Final = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_R_VECTOR: Final = re.compile(rf"^\s*c\(\s*{_R_NUMBER}\s*,\s*{_R_NUMBER}\s*\)\s*$")

GeomArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TextGeometries:
    """Geometries parsed from a text column.

    Attributes
    ----------
    geoms
        One geometry per row, None where the value is missing or unreadable.
    bad
        Rows whose value is given but is not a geometry.
    closed
        Rows whose polygon rings had to be closed.
    srid
        The EPSG code of ``SRID=...;`` prefixes, when every prefixed value gives the same one.
    """

    geoms: GeomArray
    bad: BoolArray
    closed: BoolArray
    srid: int | None = None


def geometries_from_text(values: pd.Series) -> TextGeometries:
    """Parse WKT (``SRID=`` prefixes allowed), GeoJSON objects and ``c(lon, lat)`` points."""
    text = text_values(values)
    n = len(text)
    geoms = np.full(n, None, dtype=object)
    bad = np.zeros(n, dtype=bool)
    closed = np.zeros(n, dtype=bool)
    srids: set[int] = set()
    wkt_rows: list[int] = []
    wkt_texts: list[str] = []
    for i, value in enumerate(text):
        if value is None:
            continue
        if value.startswith("{"):
            geoms[i], closed[i] = _from_geojson(value)
            bad[i] = geoms[i] is None
            continue
        vector = _R_VECTOR.match(value)
        if vector:
            geoms[i] = shapely.Point(float(vector.group(1)), float(vector.group(2)))
            continue
        ewkt = _EWKT.match(value)
        if ewkt:
            srids.add(int(ewkt.group(1)))
            value = ewkt.group(2)
        wkt_rows.append(i)
        wkt_texts.append(value)
    if wkt_rows:
        with np.errstate(invalid="ignore"):  # NaN coordinates: refused by the validation
            parsed = shapely.from_wkt(np.array(wkt_texts, dtype=object), on_invalid="ignore")
        rows = np.array(wkt_rows)
        geoms[rows] = parsed
        bad[rows] = pd.isna(parsed)
    return TextGeometries(geoms, bad, closed, srids.pop() if len(srids) == 1 else None)


def guess_crs(geoms: GeomArray) -> str:
    """CRS84 when every coordinate looks like degrees, else Lambert-93 (the CNIG standards' CRS)."""
    present = np.array([g is not None for g in geoms], dtype=bool)
    if not present.any():
        return OUTPUT_CRS
    bounds = shapely.bounds(geoms[present])
    degrees = (np.abs(bounds[:, [0, 2]]) <= 180).all() and (np.abs(bounds[:, [1, 3]]) <= 90).all()
    return OUTPUT_CRS if bool(degrees) else CANONICAL_CRS


def _from_geojson(text: str) -> tuple[shapely.Geometry | None, bool]:
    try:
        obj = json.loads(text)
        if obj.get("type") == "Feature":
            obj = obj.get("geometry") or {}
        obj, closed = _close_rings(obj)
        geom = shape(obj)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, shapely.GEOSException):
        return None, False
    return (None, False) if geom.is_empty else (geom, closed)


def _close_rings(obj: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    kind = obj.get("type")
    coords = obj.get("coordinates")
    if kind == "Polygon":
        rings, closed = _closed_polygon(coords)
        return {"type": kind, "coordinates": rings}, closed
    if kind == "MultiPolygon":
        parts = [_closed_polygon(polygon) for polygon in coords or []]
        return {"type": kind, "coordinates": [p for p, _ in parts]}, any(c for _, c in parts)
    return obj, False


def _closed_polygon(rings: Any) -> tuple[list[list[Any]], bool]:
    out: list[list[Any]] = []
    closed = False
    for ring in rings or []:
        ring = list(ring)
        if len(ring) >= 3 and list(ring[0]) != list(ring[-1]):
            ring.append(ring[0])
            closed = True
        out.append(ring)
    return out, closed
