"""Which commune holds a zone: the one rule shared by the analysis and the imports.

A zone belongs to the commune polygon that holds a point on its surface (its representative
point, always inside it, unlike a centroid); a zone outside every polygon has none. The
analysis locates the zones whose file gave no commune (:mod:`geo_service.analysis`), and the
BD TOPO importer names the zones of an edition without ``INSEE_COM`` after the commune found
so (:mod:`geo_service.sources.ign`).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd


def locate_in_communes(
    zones: gpd.GeoSeries | gpd.GeoDataFrame, communes: gpd.GeoDataFrame, columns: list[str]
) -> pd.DataFrame:
    """``columns`` of the commune holding each zone (indexed like ``zones``; missing where
    no commune holds it or the zone has no geometry). ``communes`` is reprojected to the
    zones' CRS when they differ."""
    geometry = zones.geometry if isinstance(zones, gpd.GeoDataFrame) else zones
    present = geometry.notna() & ~geometry.is_empty
    if communes.crs is not None and geometry.crs is not None and communes.crs != geometry.crs:
        communes = communes.to_crs(geometry.crs)
    points = gpd.GeoDataFrame(
        geometry=geometry[present].make_valid().representative_point(), crs=geometry.crs
    )
    joined = gpd.sjoin(points, communes[[*columns, "geometry"]], predicate="within")
    joined = joined[~joined.index.duplicated()]
    return joined[columns].reindex(geometry.index)
