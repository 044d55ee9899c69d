""" "What is here?": the zones, commune, nearest building and coverage raster value at a point.

The point (longitude, latitude) is looked up in the STRtrees built once per store version:
the zones and communes collections (CRS84), and the premises in Lambert-93 (distances in
metres).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final, TypeVar

import numpy as np
import shapely
from pyproj import Transformer

from geo_service import pipeline
from geo_service.api.collections import COLLECTIONS
from geo_service.api.features import FeatureIndex, Positions, feature_index
from geo_service.api.links import commune_links, zone_links
from geo_service.errors import NotFoundError
from geo_service.model import CANONICAL_CRS, CLASS_MIN_MBPS, OUTPUT_CRS, CoverageRaster
from geo_service.workspace import Workspace

T = TypeVar("T")

#: Default and largest search radius of the nearest building, in metres.
DEFAULT_PREMISES_RADIUS_M: Final = 500.0
MAX_PREMISES_RADIUS_M: Final = 10_000.0


@lru_cache(maxsize=8)
def _transformer(crs: str) -> Transformer:
    # pyproj transformers are thread-safe (pyproj >= 3.1).
    return Transformer.from_crs(OUTPUT_CRS, crs, always_xy=True)


def _project(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """(lon, lat) in CRS84 to ``crs``."""
    x, y = _transformer(crs).transform(lon, lat)
    return float(x), float(y)


def _premises_tree(workspace: Workspace) -> shapely.STRtree:
    """STRtree of the premises in Lambert-93 (for distances in metres)."""

    def build() -> shapely.STRtree:
        frame = workspace.layer(pipeline.PREMISES)
        if frame.crs is not None and frame.crs != CANONICAL_CRS:
            frame = frame.to_crs(CANONICAL_CRS)
        return shapely.STRtree(np.asarray(frame.geometry.values, dtype=object))

    tree: shapely.STRtree = workspace.cached("api:here:premises", pipeline.PREMISES, build)
    return tree


def _optional(read: Callable[[], T]) -> T | None:
    """``read()``, or None when the layer it needs is not in the store."""
    try:
        return read()
    except NotFoundError:
        return None


def speed_class(mbps: float) -> str:
    """The ARCEP class of a download speed."""
    return max(
        (name for name, low in CLASS_MIN_MBPS.items() if mbps >= low),
        key=lambda name: CLASS_MIN_MBPS[name],
    )


def raster_value(raster: CoverageRaster, x: float, y: float) -> float | None:
    """The raster's speed at (x, y) in its CRS, or None (outside, or unknown pixel)."""
    inverse = ~raster.transform
    col = inverse.a * x + inverse.b * y + inverse.c
    row = inverse.d * x + inverse.e * y + inverse.f
    rows, cols = raster.shape
    if not (0 <= row < rows and 0 <= col < cols):
        return None
    found = float(raster.data[int(row), int(col)])
    return found if math.isfinite(found) else None


def what_is_here(
    workspace: Workspace, base: str, lon: float, lat: float, radius_m: float
) -> dict[str, Any]:
    """The zones containing the point, its commune, the nearest building within ``radius_m``
    and the coverage raster's value there (see :class:`geo_service.api.models.HereResult`).

    Zones and communes are looked up in the collections' CRS84 indexes, the nearest building
    in Lambert-93.
    """
    here = shapely.points(lon, lat)
    zones = _optional(lambda: feature_index(workspace, COLLECTIONS["zones"]))
    communes = _optional(lambda: feature_index(workspace, COLLECTIONS["communes"]))
    meta = _optional(lambda: workspace.meta(pipeline.ZONE_RESULTS))
    return {
        "lon": lon,
        "lat": lat,
        "zones": [] if zones is None else zone_refs(zones, _containing(zones, here), base),
        "commune": None if communes is None else _commune(communes, base, here),
        "nearest_premises": _nearest_premises(workspace, lon, lat, radius_m),
        "coverage": _coverage(workspace, lon, lat),
        "synthetic": bool(meta and meta.synthetic),
    }


def _containing(index: FeatureIndex, here: shapely.Point) -> Positions:
    return np.sort(index.tree.query(here, predicate="intersects")).astype(np.intp)


def zone_refs(zones: FeatureIndex, positions: Positions, base: str) -> list[dict[str, Any]]:
    """The zones at ``positions`` of the zones collection, briefly (see
    :class:`geo_service.api.models.ZoneRef`), with their links under the service URL ``base``."""
    return [
        {
            "id": props["zone_id"],
            "name": props["name"],
            "status": props["status"],
            "priority": props["priority"],
            "rank": props["rank"],
            "links": zone_links(base, props["zone_id"]),
        }
        for props in zones.properties(positions)
    ]


def _commune(index: FeatureIndex, base: str, here: shapely.Point) -> dict[str, Any] | None:
    found = _containing(index, here)
    if len(found) == 0:
        return None
    props = index.properties(found[:1])[0]
    insee = props["commune_insee"]
    return {
        "commune_insee": insee,
        "name": props["name"],
        "epci_siren": props["epci_siren"],
        "links": commune_links(base, insee),
    }


def _nearest_premises(
    workspace: Workspace, lon: float, lat: float, radius_m: float
) -> dict[str, Any] | None:
    tree = _optional(lambda: _premises_tree(workspace))
    if tree is None:
        return None
    here = shapely.points(*_project(lon, lat, CANONICAL_CRS))
    found, distances = tree.query_nearest(
        here, max_distance=radius_m, return_distance=True, all_matches=False
    )
    if len(found) == 0:
        return None
    nearest = np.array([int(found[0])], dtype=np.intp)
    index = feature_index(workspace, COLLECTIONS["premises"])
    props = index.properties(nearest)[0]
    return {
        "id": str(index.ids[nearest[0]]),
        "distance_m": round(float(distances[0]), 2),
        "locaux": props["locaux"],
        "down_class": props["down_class"],
        "best_techno": props["best_techno"],
        "ftth": props["ftth"],
    }


def _coverage(workspace: Workspace, lon: float, lat: float) -> dict[str, Any] | None:
    raster = workspace.raster()
    if raster is None:
        return None
    x, y = _project(lon, lat, raster.crs)
    mbps = raster_value(raster, x, y)
    return {"mbps": mbps, "speed_class": None if mbps is None else speed_class(mbps)}
