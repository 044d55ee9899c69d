"""Reading a GeoPackage layer through Arrow, with 2D points decoded in bulk.

:func:`read_gpkg_frame` gives the same frame as ``pyogrio.read_dataframe(..., use_arrow=True)``
(same columns, dtypes, values, geometry and CRS) at a fraction of its cost for point layers:
the attributes go from the Arrow table to pandas without the geometry column (which
``read_dataframe`` turns into 1.3 M Python ``bytes`` first), and the WKB of plain 2D points
(21 bytes each: byte order, type, x, y) is read as one array of coordinates, the points made by
one vectorised call instead of parsing each WKB. Any other geometry (polygons, 3D points, big
endian or NaN coordinates, which WKB readers turn into empty points) is parsed by
``shapely.from_wkb`` as ``read_dataframe`` does, so the result is always the same; layers with
datetime or JSON fields, and tables without geometry, are read by ``read_dataframe`` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from geo_service.point_arrays import point_coordinates, point_records, valid_mask

#: pyarrow turns strings into pandas' string dtype itself from version 19 (pyogrio maps them
#: for older ones); below it, the frame is left to ``read_dataframe``.
_PYARROW_STRINGS: Final = 19

#: The column pyogrio's Arrow read gives an unnamed geometry.
_UNNAMED_GEOMETRY: Final = "wkb_geometry"

Geometries = npt.NDArray[np.object_]
Coordinates = npt.NDArray[np.float64]


def read_gpkg_frame(
    path: Path,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    columns: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """The layer of ``path`` as ``pyogrio.read_dataframe(path, bbox=, columns=,
    use_arrow=True)`` gives it (see the module's description)."""
    meta, table = pyogrio.read_arrow(path, bbox=bbox, columns=columns)
    geometry_name = _geometry_column(meta)
    if not _arrow_is_enough(meta, table):
        return pyogrio.read_dataframe(path, bbox=bbox, columns=columns, use_arrow=True)
    geometry = geometries_from_wkb(table.column(geometry_name))
    frame = table.drop_columns([geometry_name]).to_pandas()
    frame["geometry"] = geometry
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=meta["crs"])


def _geometry_column(meta: dict[str, object]) -> str:
    """The geometry column of an Arrow read: the layer's, or the name pyogrio gives a layer's
    unnamed geometry (FlatGeobuf, Shapefile)."""
    return str(meta["geometry_name"] or _UNNAMED_GEOMETRY)


def _arrow_is_enough(meta: dict[str, object], table: pa.Table) -> bool:
    """Whether the Arrow table converts to pandas as ``read_dataframe`` would convert it
    without the extra steps it takes for datetime and JSON fields."""
    if int(pa.__version__.split(".")[0]) < _PYARROW_STRINGS:
        return False
    geometry_name = _geometry_column(meta)
    if not geometry_name or geometry_name not in table.column_names:
        return False
    dtypes = [str(d) for d in meta["dtypes"] if d is not None]  # type: ignore[attr-defined]
    subtypes = list(meta["ogr_subtypes"])  # type: ignore[call-overload]
    return not any(d.startswith("datetime") for d in dtypes) and "OFSTJSON" not in subtypes


def read_gpkg_points(
    path: Path | str, *, layer: str | None = None, columns: list[str] | None = None
) -> tuple[pd.DataFrame, Coordinates, Coordinates, str | None] | None:
    """The attributes (as :func:`read_gpkg_frame` gives them) and the x and y coordinates
    (NaN for a NULL or empty point) of a layer of plain 2D points, and its CRS, without a
    geometry object per point; None when the layer holds anything else. Any vector file
    GDAL reads through Arrow will do (FlatGeobuf, Shapefile...)."""
    meta, table = pyogrio.read_arrow(path, layer=layer, columns=columns)
    geometry_name = _geometry_column(meta)
    if not _arrow_is_enough(meta, table):
        return None
    coordinates = point_coordinates(table.column(geometry_name))
    if coordinates is None:
        return None
    frame = table.drop_columns([geometry_name]).to_pandas()
    return frame, coordinates[0], coordinates[1], meta["crs"]


def geometries_from_wkb(column: pa.ChunkedArray) -> Geometries:
    """Shapely geometries (None where null) of a WKB column, as ``shapely.from_wkb`` reads
    them; plain 2D little-endian points are made from their coordinates in bulk."""
    parts = [_chunk_geometries(chunk) for chunk in column.chunks]
    if not parts:
        return np.empty(0, dtype=object)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _chunk_geometries(chunk: pa.Array) -> Geometries:
    storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
    out = np.full(len(storage), None, dtype=object)
    valid = valid_mask(storage)
    records = point_records(storage, valid)
    if records is None:
        out[valid] = shapely.from_wkb(storage.filter(valid).to_numpy(zero_copy_only=False))
        return out
    xy = records[:, 5:].copy().view("<f8")
    plain = ~np.isnan(xy).any(axis=1)
    positions = np.flatnonzero(valid)
    out[positions[plain]] = shapely.points(xy[plain])
    if not plain.all():  # NaN coordinates: WKB readers make empty points of them
        out[positions[~plain]] = shapely.from_wkb([bytes(r) for r in records[~plain]])
    return out
