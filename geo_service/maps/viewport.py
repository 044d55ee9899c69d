"""The territory map by viewport, for territories too large to inline every zone.

Above :attr:`~geo_service.maps.page.Viewport.inline_max` zones, the served territory map
carries only an overview: the zones counted by H3 cell (:func:`zone_cells`, each cell in the
colour of its most frequent status, flagged statuses first on a tie). From
:data:`MIN_ZOOM` on, the map script asks the server for the zones of the viewport
(``GET /maps/territory/zones?bbox=…``, :func:`zone_features_in`), with the same properties,
styles, tooltips and popups as the inline zones (:func:`zone_features`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from geo_service.formatting import fr_number, plural
from geo_service.maps import style
from geo_service.maps.geojson import clean, feature_collection
from geo_service.maps.popups import Links, search_key, zone_popup, zone_tooltip
from geo_service.model import STATUS_WORDS

#: Zoom from which the map shows the zones themselves (a département-sized view or smaller).
MIN_ZOOM: Final = 10
#: Finest H3 resolution of the overview cells (about 250 km² each), coarsened until the
#: overview has at most :data:`MAX_CELLS` cells.
CELL_RESOLUTION: Final = 5
MAX_CELLS: Final = 2000
#: Most zones one viewport request returns (the map says when there are more).
MAX_FEATURES: Final = 5000

BBox = tuple[float, float, float, float]


def zone_search_key(name: object, zone_id: object, code: object, names: Mapping[str, str]) -> str:
    """What the map's search compares for a zone: its name, id, commune name and code."""
    insee = clean(code)
    commune = names.get(str(insee)) if insee is not None else None
    return search_key(name, zone_id, commune, insee)


def zone_features(
    zones: gpd.GeoDataFrame,
    geometries: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]],
    names: Mapping[str, str],
    links: Links | None,
) -> str:
    """The zones as the map script draws them: a GeoJSON FeatureCollection (WGS84
    ``geometries``) with per zone its id, status, tooltip, popup and search key."""
    props = []
    for row in zones.drop(columns="geometry").to_dict("records"):
        code = clean(row.get("commune_insee"))
        commune = names.get(str(code)) if code is not None else None
        props.append(
            {
                "id": str(row["zone_id"]),
                "s": str(row["status"]),
                "t": zone_tooltip(row, commune),
                "p": zone_popup(row, commune, links),
                "q": zone_search_key(row["name"], row["zone_id"], code, names),
            }
        )
    return feature_collection(geometries, props)


@dataclass(frozen=True)
class ViewportZones:
    """The zones of one viewport request: their features, how many matched, how many came."""

    features: str
    matched: int
    returned: int

    def as_json(self) -> str:
        """The FeatureCollection with ``numberMatched`` and ``numberReturned``."""
        head = self.features[: -len("]}")]
        return f'{head}],"numberMatched":{self.matched},"numberReturned":{self.returned}}}'


def zone_features_in(
    zones: gpd.GeoDataFrame,
    geometries: np.ndarray[Any, np.dtype[np.object_]],
    names: Mapping[str, str],
    links: Links | None,
    *,
    bboxes: Sequence[BBox] | None = None,
    query: str | None = None,
    zone_id: str | None = None,
    limit: int = MAX_FEATURES,
    bounds: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    keys: Sequence[str] | np.ndarray[Any, np.dtype[np.object_]] | None = None,
) -> ViewportZones:
    """The zones (of a view, with their WGS84 ``geometries``) meeting one of ``bboxes``,
    whose search key holds ``query`` or whose id is ``zone_id``; at most ``limit``, the
    flagged first (then by rank and id), so a truncated answer still shows what matters.

    ``bounds`` (of ``geometries``) and ``keys`` (:func:`zone_search_key` of each zone), when
    given, are those computed once for every request (else computed here)."""
    mask = np.ones(len(zones), dtype=bool)
    if bboxes:
        if bounds is None:
            bounds = shapely.bounds(geometries)
        inside = np.zeros(len(zones), dtype=bool)
        for west, south, east, north in bboxes:
            inside |= (
                (bounds[:, 0] <= east)
                & (bounds[:, 2] >= west)
                & (bounds[:, 1] <= north)
                & (bounds[:, 3] >= south)
            )
        mask &= inside
    if zone_id is not None:
        mask &= (zones["zone_id"].astype(str) == zone_id).to_numpy()
    if query:
        wanted = search_key(query)
        if keys is None:
            keys = [
                zone_search_key(name, zid, code, names)
                for name, zid, code in zip(
                    zones["name"], zones["zone_id"], zones["commune_insee"], strict=True
                )
            ]
        mask &= np.fromiter((wanted in key for key in keys), dtype=bool, count=len(keys))
    positions = np.flatnonzero(mask)
    matched = len(positions)
    if matched > limit:
        ranks = zones["rank"].to_numpy(dtype=float, na_value=np.inf)[positions]
        positions = positions[np.argsort(ranks, kind="stable")[:limit]]
        positions.sort()
    chosen = zones.iloc[positions]
    return ViewportZones(
        zone_features(chosen, geometries[positions], names, links), matched, len(positions)
    )


def zone_cells(zones: gpd.GeoDataFrame, geometries: np.ndarray[Any, np.dtype[np.object_]]) -> str:
    """The overview of ``zones``: per H3 cell holding zones (by their WGS84 ``geometries``'
    representative points), the cell's hexagon, its zones by status, the most frequent
    status (``s``; flagged statuses first on a tie) and a French tooltip (``t``)."""
    points = shapely.point_on_surface(geometries)
    valid = ~shapely.is_missing(points) & ~shapely.is_empty(points)
    finest = np.array(
        [
            h3.latlng_to_cell(y, x, CELL_RESOLUTION)
            for x, y in zip(shapely.get_x(points[valid]), shapely.get_y(points[valid]), strict=True)
        ],
        dtype=object,
    )
    cells = _coarsened(finest)
    statuses = zones["status"].astype(str).to_numpy()[valid]
    order = [status.value for status in style.STATUS_ORDER]
    table = pd.crosstab(pd.Series(cells, name="cell"), pd.Series(statuses, name="status"))
    table = table.reindex(columns=order, fill_value=0)
    # the most frequent status, flagged statuses first on a tie (columns in legend order)
    dominant = table.columns.to_numpy()[table.to_numpy().argmax(axis=1)]
    hexagons, props = [], []
    for cell, status, counts in zip(table.index, dominant, table.to_numpy(), strict=True):
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
        hexagons.append(shapely.Polygon(ring))
        found = {s: int(n) for s, n in zip(order, counts, strict=True) if n > 0}
        props.append({"s": str(status), "t": _cell_tooltip(found)})
    return feature_collection(hexagons, props)


def _coarsened(
    cells: np.ndarray[Any, np.dtype[np.object_]],
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """``cells`` replaced by their parents, resolution after resolution, until at most
    :data:`MAX_CELLS` distinct ones remain (or resolution 0)."""
    resolution = CELL_RESOLUTION
    unique = sorted(set(cells.tolist()))
    while len(unique) > MAX_CELLS and resolution > 0:
        resolution -= 1
        parent = {cell: h3.cell_to_parent(cell, resolution) for cell in unique}
        cells = np.array([parent[c] for c in cells.tolist()], dtype=object)
        unique = sorted(set(parent.values()))
    return cells


def _cell_tooltip(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    parts = [
        f"{fr_number(n)} {STATUS_WORDS[s][0] if n < 2 else STATUS_WORDS[s][1]}"
        for s, n in counts.items()
    ]
    zones = plural(total, "zone d'activités", "zones d'activités")
    return f"{zones} : {', '.join(parts)} — zoomez pour les afficher"
