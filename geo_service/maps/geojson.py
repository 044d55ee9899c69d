"""Compact GeoJSON for maps: simplified in Lambert-93, reprojected to WGS84, rounded, minified.

The text is meant to be embedded in a ``<script>``: ``</`` is written ``<\\/`` and ``<!--``
as ``\\u003c!--``, so no string can close the script element or change how the HTML parser
reads it (the strings themselves arrive HTML-escaped where they are meant as HTML).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.model import CANONICAL_CRS, OUTPUT_CRS

#: Decimal places of longitudes and latitudes (1e-5 degree is about one metre).
COORDINATE_DIGITS: Final = 5
_SCRIPT_ESCAPES: Final = {
    "</": "<\\/",
    "<!--": "\\u003c!--",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: Any) -> str:
    """``value`` as minified JSON that is safe inside an HTML ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in _SCRIPT_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def map_geometries(
    frame: gpd.GeoDataFrame, *, tolerance: float = 0.0, digits: int = COORDINATE_DIGITS
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """The geometries of ``frame`` simplified by ``tolerance`` metres, in WGS84, rounded.

    Simplification happens in Lambert-93 (so the tolerance is in metres) and keeps every
    geometry non-empty; coordinates are rounded to ``digits`` decimal places.
    """
    series = frame.geometry
    if series.crs is not None and str(series.crs) != CANONICAL_CRS:
        series = series.to_crs(CANONICAL_CRS)
    geoms = np.asarray(series.values, dtype=object)
    if tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    wgs84 = gpd.GeoSeries(geoms, crs=CANONICAL_CRS).to_crs(OUTPUT_CRS)
    return np.asarray(
        shapely.transform(np.asarray(wgs84.values, dtype=object), lambda c: np.round(c, digits)),
        dtype=object,
    )


def feature_collection(
    geometries: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]],
    properties: Sequence[Mapping[str, Any]],
) -> str:
    """A minified GeoJSON FeatureCollection, safe inside a ``<script>``.

    Parameters
    ----------
    geometries
        Shapely geometries, already in WGS84 (see :func:`map_geometries`).
    properties
        One mapping of JSON-serialisable properties per geometry.
    """
    if len(geometries) != len(properties):
        raise ValueError("one properties mapping is needed per geometry")
    texts = shapely.to_geojson(np.asarray(geometries, dtype=object))
    features = [
        f'{{"type":"Feature","geometry":{geometry},"properties":{script_json(dict(props))}}}'
        for geometry, props in zip(texts.tolist(), properties, strict=True)
        if geometry is not None
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def bounds_latlon(
    geometries: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]],
) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of WGS84 geometries (Leaflet's order), or None."""
    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) == 0:
        return None
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        return None
    return [
        [round(float(ymin), 6), round(float(xmin), 6)],
        [round(float(ymax), 6), round(float(xmax), 6)],
    ]


def clean(value: Any) -> Any:
    """A JSON-friendly scalar: NaN and NA become None, numpy numbers become Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def packed_layer(
    geometries: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]],
    properties: Mapping[str, Sequence[Any]],
    *,
    digits: int = COORDINATE_DIGITS,
) -> str:
    """Many small polygons (or points) in a compact form, safe inside a ``<script>``.

    ``{"scale": 10**digits, "g": [...], "p": {name: [value per feature]}}``: ``g`` holds, per
    feature, its polygons, each a list of rings, each ring a flat list of integer
    ``[dlon, dlat, ...]`` steps (units of ``1/scale`` degree) from the previous vertex of the
    layer, without the closing vertex; a point is one ring of one vertex. About three times
    smaller than GeoJSON for land plots and hexagons; the map script unpacks it.

    Parameters
    ----------
    geometries
        Polygons, multipolygons or points in WGS84.
    properties
        Columns of per-feature values (each as long as ``geometries``).
    """
    scale = 10**digits
    previous = np.zeros(2, dtype=np.int64)
    features: list[list[list[list[int]]]] = []
    for geom in geometries:
        polygons = []
        for part in shapely.get_parts(geom):
            if part.geom_type == "Point":
                rings = [np.asarray(part.coords)]
            else:
                rings = [np.asarray(r.coords)[:-1] for r in (part.exterior, *part.interiors)]
            encoded = []
            for ring in rings:
                if len(ring) == 0:
                    continue
                points = np.rint(ring[:, :2] * scale).astype(np.int64)
                steps = np.diff(np.vstack([previous, points]), axis=0)
                previous = points[-1]
                encoded.append(steps.ravel().tolist())
            polygons.append(encoded)
        features.append(polygons)
    for name, values in properties.items():
        if len(values) != len(features):
            raise ValueError(f"property '{name}' needs one value per geometry")
    return script_json(
        {"scale": scale, "g": features, "p": {k: list(v) for k, v in properties.items()}}
    )
