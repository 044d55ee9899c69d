"""The zones of a territory map shown by viewport, from a workspace (``GET
/maps/territory/zones``): what each request needs of every zone (map geometry, bounds,
search key, commune names) computed once per version of the results.

Loads no drawing module (folium, branca, matplotlib): a viewport request costs the filtering
and the GeoJSON of the zones it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.maps.geojson import map_geometries
from geo_service.maps.layers import commune_names
from geo_service.maps.popups import Links
from geo_service.maps.view import (
    ZONE_TOLERANCE_M,
    TerritoryView,
    parse_commune,
    parse_statuses,
    view_mask,
)
from geo_service.maps.viewport import (
    MAX_FEATURES,
    BBox,
    ViewportZones,
    zone_features_in,
    zone_search_key,
)
from geo_service.workspace import CacheKey, CacheKind, Workspace


@dataclass(frozen=True)
class ZoneLookup:
    """Per zone of the results (in their order): bounds of its map geometry (WGS84, one row
    of ``minx, miny, maxx, maxy``) and search key."""

    bounds: np.ndarray[Any, np.dtype[np.float64]]
    keys: np.ndarray[Any, np.dtype[np.object_]]


def territory_view(workspace: Workspace, status: str | None, commune: str | None) -> TerritoryView:
    """The view asked for by ``status`` and ``commune`` parameters (ParameterError if invalid)."""
    names = zone_names(workspace)
    return TerritoryView(statuses=parse_statuses(status), commune=parse_commune(commune, names))


def zone_geometries(
    workspace: Workspace, result: AnalysisResult
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """The zones' simplified WGS84 geometries, computed once per version of the results."""
    return workspace.cached(
        CacheKey(CacheKind.MAP, "zone-geometries"),
        pipeline.ZONE_RESULTS,
        lambda: map_geometries(result.zones, tolerance=ZONE_TOLERANCE_M),
    )


def zone_names(workspace: Workspace) -> dict[str, str]:
    """INSEE code → name of the analysed communes, computed once per version of the results."""
    return workspace.cached(
        CacheKey(CacheKind.MAP, "commune-names"),
        pipeline.ZONE_RESULTS,
        lambda: commune_names(workspace.results()),
    )


def zone_lookup(workspace: Workspace, result: AnalysisResult) -> ZoneLookup:
    """The bounds and search keys of every zone, computed once per version of the results."""

    def build() -> ZoneLookup:
        names = zone_names(workspace)
        zones = result.zones
        keys = [
            zone_search_key(name, zid, code, names)
            for name, zid, code in zip(
                zones["name"], zones["zone_id"], zones["commune_insee"], strict=True
            )
        ]
        return ZoneLookup(
            bounds=shapely.bounds(zone_geometries(workspace, result)),
            keys=np.array(keys, dtype=object),
        )

    return workspace.cached(CacheKey(CacheKind.MAP, "zone-lookup"), pipeline.ZONE_RESULTS, build)


def territory_zones(
    workspace: Workspace,
    view: TerritoryView,
    links: Links | None,
    *,
    bboxes: Sequence[BBox] | None = None,
    query: str | None = None,
    zone_id: str | None = None,
    limit: int = MAX_FEATURES,
) -> ViewportZones:
    """The zones of ``view`` that a territory map shown by viewport asks for: those meeting
    ``bboxes`` (and matching ``query`` or ``zone_id``), drawn as on the inline map."""
    result = workspace.results()
    mask = view_mask(result.zones, view)
    lookup = zone_lookup(workspace, result)
    return zone_features_in(
        result.zones[mask],
        zone_geometries(workspace, result)[mask],
        zone_names(workspace),
        links,
        bboxes=bboxes,
        query=query,
        zone_id=zone_id,
        limit=limit,
        bounds=lookup.bounds[mask],
        keys=lookup.keys[mask],
    )
