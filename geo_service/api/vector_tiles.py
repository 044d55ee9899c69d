"""Mapbox Vector Tiles of a collection, on the WebMercatorQuad tile matrix set.

A tile is made on request from the collection's in-memory features
(:class:`~geo_service.api.features.FeatureIndex`): the features meeting the tile (spatial index
in CRS84), projected to Web Mercator once per index, simplified to a tenth of a pixel of the
zoom level, clipped to the tile with a small buffer, in tile coordinates (4096 per side) and
encoded by ``mapbox-vector-tile``. Past :data:`MAX_POINTS` points in one tile (premises seen
from far), one point per cell of a coarser grid is kept, so that a tile stays small and quick
whatever the zoom. Tiles are cached per index (a new store version starts afresh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import mapbox_vector_tile
import numpy as np
import numpy.typing as npt
import shapely

from geo_service.api.features import FeatureIndex, PageCache
from geo_service.crs import WEB_MERCATOR, from_crs84
from geo_service.errors import NotFoundError, ParameterError

#: Half the side of the Web Mercator square, in metres.
ORIGIN: Final = 20037508.342789244
EXTENT: Final = 4096
#: Tile coordinates kept beyond each edge (so that strokes do not end at the border).
BUFFER: Final = 64
MAX_ZOOM: Final = 22
#: Points per tile beyond which they are thinned to one per cell of a 256 grid.
MAX_POINTS: Final = 20_000
TILE_CACHE_BYTES: Final = 128 * 1024 * 1024
MVT: Final = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class Tile:
    """An encoded tile (``size`` for the cache)."""

    data: bytes

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.data)


def check_tile(z: int, y: int, x: int) -> None:
    """NotFound/Parameter errors for a tile outside the matrix set."""
    if not 0 <= z <= MAX_ZOOM:
        raise ParameterError("tileMatrix", f"expected a zoom level from 0 to {MAX_ZOOM}; got {z}")
    side = 2**z
    if not (0 <= x < side and 0 <= y < side):
        raise NotFoundError(f"no tile {z}/{y}/{x}: rows and columns run from 0 to {side - 1}")


def tile_bounds(z: int, y: int, x: int) -> tuple[float, float, float, float]:
    """The tile's Web Mercator bounds (west, south, east, north)."""
    size = 2 * ORIGIN / 2**z
    west = -ORIGIN + x * size
    north = ORIGIN - y * size
    return west, north - size, west + size, north


def _lonlat(mx: float, my: float) -> tuple[float, float]:
    lon = mx / ORIGIN * 180.0
    lat = math.degrees(math.atan(math.sinh(my / ORIGIN * math.pi)))
    return lon, lat


class TileMaker:
    """Makes and caches the tiles of one collection's features."""

    def __init__(self, index: FeatureIndex, layer: str, properties: tuple[str, ...]) -> None:
        self.index = index
        self.layer = layer
        self.properties = properties
        self.cache: PageCache[Tile] = PageCache(TILE_CACHE_BYTES)
        self._mercator: npt.NDArray[Any] | None = None
        self._points = bool(
            index.size and np.all(shapely.get_type_id(index.geometries[:1000]) == 0)
        )

    def tile(self, z: int, y: int, x: int) -> bytes:
        """The encoded tile z/y/x (cached)."""
        check_tile(z, y, x)
        return self.cache.get((z, y, x), lambda: Tile(self._make(z, y, x))).data

    def _mercator_geometries(self) -> npt.NDArray[Any]:
        if self._mercator is None:
            projected = from_crs84(self.index.geometries, WEB_MERCATOR)
            self._mercator = np.asarray(projected, dtype=object)
        return self._mercator

    def _make(self, z: int, y: int, x: int) -> bytes:
        west, south, east, north = tile_bounds(z, y, x)
        margin = (east - west) * BUFFER / EXTENT
        lon0, lat0 = _lonlat(west - margin, south - margin)
        lon1, lat1 = _lonlat(east + margin, north + margin)
        positions = self.index.tree.query(shapely.box(lon0, lat0, lon1, lat1))
        positions = np.sort(positions).astype(np.intp)
        if len(positions) == 0:
            return bytes(mapbox_vector_tile.encode([{"name": self.layer, "features": []}]))
        geometries = self._mercator_geometries()[positions]
        scale = EXTENT / (east - west)

        def to_tile(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.column_stack([(xy[:, 0] - west) * scale, (north - xy[:, 1]) * scale])

        local = shapely.transform(geometries, to_tile)
        if not self._points:
            local = shapely.simplify(local, 0.1 * EXTENT / 256, preserve_topology=True)
            area = shapely.box(-BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
            local = shapely.intersection(local, area)
        else:
            positions, local = self._thinned(positions, local)
        keep = ~(shapely.is_missing(local) | shapely.is_empty(local))
        positions, local = positions[keep], local[keep]
        ids = self.index.ids[positions].tolist()
        rows = self.index.properties(positions, self.properties)
        features = [
            {"geometry": geometry, "properties": _clean({"id": fid, **props})}
            for geometry, fid, props in zip(local.tolist(), ids, rows, strict=True)
        ]
        layer = {"name": self.layer, "features": features}
        options = {"y_coord_down": True, "extents": EXTENT, "check_winding_order": True}
        return bytes(mapbox_vector_tile.encode([layer], default_options=options))

    def _thinned(
        self, positions: npt.NDArray[np.intp], local: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
        if len(positions) <= MAX_POINTS:
            return positions, local
        cells = np.floor(shapely.get_coordinates(local) / (EXTENT / 256)).astype(np.int64)
        _, first = np.unique(cells[:, 0] * 1_000_003 + cells[:, 1], return_index=True)
        first = np.sort(first)
        return positions[first], local[first]


def _clean(properties: dict[str, Any]) -> dict[str, Any]:
    """MVT holds no nulls: missing values are left out (unknown, never 0)."""
    return {k: v for k, v in properties.items() if v is not None}


def crs84_bounds(z: int, y: int, x: int) -> tuple[float, float, float, float]:
    """The tile's bounds in CRS84 (for its metadata)."""
    west, south, east, north = tile_bounds(z, y, x)
    lon0, lat0 = _lonlat(west, south)
    lon1, lat1 = _lonlat(east, north)
    return lon0, lat0, lon1, lat1
