""" "What is here?" at a point: the zones and commune containing it, the nearest building within
a radius and the coverage raster's value there.

The API answers from spatial indexes it keeps per store version, with the pieces below; the
CLI (``geo-service here``) and the notebooks call :func:`what_is_here` on the layers.
Longitudes and latitudes are WGS84 (CRS84 order); distances are in metres (Lambert-93).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer

from geo_service.analysis.overlay import in_lambert93
from geo_service.analysis.transport import FACILITIES, TransportLayers, nearest_facilities
from geo_service.limits import DEFAULT_PREMISES_RADIUS_M as DEFAULT_PREMISES_RADIUS_M
from geo_service.limits import MAX_PREMISES_RADIUS_M as MAX_PREMISES_RADIUS_M
from geo_service.model import CANONICAL_CRS, OUTPUT_CRS, CoverageRaster, speed_to_class

Positions = npt.NDArray[np.intp]


@lru_cache(maxsize=8)
def _transformer(crs: str) -> Transformer:
    # pyproj transformers are thread-safe (pyproj >= 3.1).
    return Transformer.from_crs(OUTPUT_CRS, crs, always_xy=True)


def project(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """(lon, lat) in CRS84 to ``crs``."""
    x, y = _transformer(crs).transform(lon, lat)
    return float(x), float(y)


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


def coverage_at(raster: CoverageRaster, lon: float, lat: float) -> dict[str, Any]:
    """``mbps``, the raster's speed at the point (None: unknown), and its ARCEP ``speed_class``."""
    mbps = raster_value(raster, *project(lon, lat, raster.crs))
    speed_class = None if mbps is None else speed_to_class([mbps])[0]
    # The class is decided on the raster's value; the speed is given to 0.1 Mbit/s.
    return {"mbps": None if mbps is None else round(mbps, 1), "speed_class": speed_class}


def containing(tree: shapely.STRtree, point: shapely.Geometry) -> Positions:
    """Positions of the tree's geometries that intersect ``point``, in order."""
    return np.sort(tree.query(point, predicate="intersects")).astype(np.intp)


def nearest_within(
    tree: shapely.STRtree, point: shapely.Geometry, radius: float
) -> tuple[int, float] | None:
    """Position of the tree's geometry nearest to ``point`` within ``radius``, and its
    distance; None when there is none."""
    found, distances = tree.query_nearest(
        point, max_distance=radius, return_distance=True, all_matches=False
    )
    if len(found) == 0:
        return None
    return int(found[0]), float(distances[0])


@dataclass(frozen=True)
class Here:
    """What is at a point (see :func:`what_is_here`)."""

    lon: float
    lat: float
    #: Rows of the zone results whose outline holds the point, in their order.
    zones: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The row of the commune holding the point, if any.
    commune: dict[str, Any] | None = None
    #: The nearest building's row and its ``distance_m``, if one is within the radius.
    nearest_premises: dict[str, Any] | None = None
    #: The coverage raster's ``mbps`` and ``speed_class`` there (None: no raster).
    coverage: dict[str, Any] | None = None
    #: The nearest interchange, station and airport (``name``, straight-line ``distance_km``)
    #: by :data:`~geo_service.analysis.transport.FACILITIES` prefix (None: layer absent, or
    #: the point outside the territory).
    transport: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def in_territory(self) -> bool:
        """Whether the point lies in an analysed commune or zone."""
        return self.commune is not None or len(self.zones) > 0


#: What is said of a point in no analysed commune nor zone (API and CLI).
OUTSIDE_STATEMENT: Final = (
    "Hors du territoire chargé : ce point n'est dans aucune commune ni zone d'activités "
    "analysée ; les équipements de transport les plus proches n'y sont pas cherchés (seuls "
    "ceux du territoire sont chargés) et les valeurs absentes ne sont pas mesurées."
)


def nearest_inside(
    inside: bool, point: shapely.Geometry, layers: TransportLayers
) -> dict[str, dict[str, Any] | None]:
    """The nearest facilities of ``layers`` to ``point`` (Lambert-93), none outside the
    territory: the layers hold the territory's facilities only, so from a point elsewhere
    « the nearest interchange at 650 km » would not be the nearest one."""
    if not inside:
        return dict.fromkeys(FACILITIES)
    return nearest_facilities(point, layers)


def _rows(frame: gpd.GeoDataFrame, positions: Positions) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns=frame.geometry.name).iloc[positions])


def _point_in(frame: gpd.GeoDataFrame, lon: float, lat: float) -> shapely.Point:
    crs = OUTPUT_CRS if frame.crs is None else frame.crs.to_string()
    return shapely.points(*project(lon, lat, crs))


def what_is_here(
    lon: float,
    lat: float,
    *,
    zones: gpd.GeoDataFrame | None = None,
    communes: gpd.GeoDataFrame | None = None,
    premises: gpd.GeoDataFrame | None = None,
    raster: CoverageRaster | None = None,
    radius_m: float = DEFAULT_PREMISES_RADIUS_M,
    transport: TransportLayers | None = None,
) -> Here:
    """The zone results and commune containing (lon, lat), the nearest building within
    ``radius_m`` metres, the raster's speed there and the nearest transport facilities; each
    part is left empty without its layer."""
    found_zones = pd.DataFrame()
    if zones is not None:
        tree = shapely.STRtree(np.asarray(zones.geometry.values, dtype=object))
        found_zones = _rows(zones, containing(tree, _point_in(zones, lon, lat)))
    commune = None
    if communes is not None:
        tree = shapely.STRtree(np.asarray(communes.geometry.values, dtype=object))
        found = containing(tree, _point_in(communes, lon, lat))
        if len(found):
            commune = _rows(communes, found[:1]).iloc[0].to_dict()
    building = None
    if premises is not None:
        metric = premises if premises.crs is None else in_lambert93(premises)
        tree = shapely.STRtree(np.asarray(metric.geometry.values, dtype=object))
        here = shapely.points(*project(lon, lat, CANONICAL_CRS))
        nearest = nearest_within(tree, here, radius_m)
        if nearest is not None:
            position, distance = nearest
            building = _rows(metric, np.array([position], dtype=np.intp)).iloc[0].to_dict()
            building["distance_m"] = round(distance, 2)
    inside = commune is not None or len(found_zones) > 0
    return Here(
        lon=lon,
        lat=lat,
        zones=found_zones,
        commune=commune,
        nearest_premises=building,
        coverage=None if raster is None else coverage_at(raster, lon, lat),
        transport=nearest_inside(
            inside,
            shapely.points(*project(lon, lat, CANONICAL_CRS)),
            transport or TransportLayers(),
        ),
    )
