""" "What is here?": the zones, commune, nearest building and coverage raster value at a point.

The point (longitude, latitude) is looked up in the STRtrees built once per store version:
the zones and communes collections (CRS84), and the premises in Lambert-93 (distances in
metres).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import shapely

from geo_service import pipeline
from geo_service.analysis.point import (
    DEFAULT_PREMISES_RADIUS_M,
    MAX_PREMISES_RADIUS_M,
    OUTSIDE_STATEMENT,
    Positions,
    containing,
    coverage_at,
    nearest_inside,
    nearest_within,
    project,
)
from geo_service.api.collections import COLLECTIONS
from geo_service.api.features import FeatureIndex, feature_index
from geo_service.api.links import commune_links, zone_links
from geo_service.errors import NotFoundError
from geo_service.model import CANONICAL_CRS
from geo_service.workspace import CacheKey, CacheKind, Workspace

__all__ = ["DEFAULT_PREMISES_RADIUS_M", "MAX_PREMISES_RADIUS_M", "what_is_here", "zone_refs"]

T = TypeVar("T")


def _premises_tree(workspace: Workspace) -> shapely.STRtree:
    """STRtree of the premises in Lambert-93 (for distances in metres)."""

    def build() -> shapely.STRtree:
        frame = workspace.layer(pipeline.PREMISES)
        if frame.crs is not None and frame.crs != CANONICAL_CRS:
            frame = frame.to_crs(CANONICAL_CRS)
        return shapely.STRtree(np.asarray(frame.geometry.values, dtype=object))

    tree: shapely.STRtree = workspace.cached(
        CacheKey(CacheKind.API, "here:premises"), pipeline.PREMISES, build
    )
    return tree


def _optional(read: Callable[[], T]) -> T | None:
    """``read()``, or None when the layer it needs is not in the store."""
    try:
        return read()
    except NotFoundError:
        return None


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
    found = [] if zones is None else zone_refs(zones, containing(zones.tree, here), base)
    commune = None if communes is None else _commune(communes, base, here)
    inside = commune is not None or bool(found)
    return {
        "lon": lon,
        "lat": lat,
        "in_territory": inside,
        "statement": None if inside else OUTSIDE_STATEMENT,
        "zones": found,
        "commune": commune,
        "nearest_premises": _nearest_premises(workspace, lon, lat, radius_m),
        "coverage": _coverage(workspace, lon, lat),
        "transport": nearest_inside(
            inside,
            shapely.points(*project(lon, lat, CANONICAL_CRS)),
            pipeline.transport_layers(workspace.optional_layer, roads=False),
        ),
        "synthetic": bool(meta and meta.synthetic),
    }


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
    found = containing(index.tree, here)
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
    here = shapely.points(*project(lon, lat, CANONICAL_CRS))
    found = nearest_within(tree, here, radius_m)
    if found is None:
        return None
    position, distance = found
    nearest = np.array([position], dtype=np.intp)
    index = feature_index(workspace, COLLECTIONS["premises"])
    props = index.properties(nearest)[0]
    return {
        "id": str(index.ids[nearest[0]]),
        "distance_m": round(distance, 2),
        "locaux": props["locaux"],
        "down_class": props["down_class"],
        "best_techno": props["best_techno"],
        "ftth": props["ftth"],
    }


def _coverage(workspace: Workspace, lon: float, lat: float) -> dict[str, Any] | None:
    raster = workspace.raster()
    if raster is None:
        return None
    return coverage_at(raster, lon, lat)
