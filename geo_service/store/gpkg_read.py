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

#: A 2D little-endian point's WKB as a record (packed): byte order, geometry type, x, y.
POINT_WKB: Final = np.dtype([("byte_order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
#: Bytes of a 2D point in WKB (21).
POINT_WKB_BYTES: Final = POINT_WKB.itemsize
#: The byte order (little endian) and geometry type (Point) of :data:`POINT_WKB`.
LITTLE_ENDIAN: Final = 1
WKB_POINT: Final = 1
#: pyarrow turns strings into pandas' string dtype itself from version 19 (pyogrio maps them
#: for older ones); below it, the frame is left to ``read_dataframe``.
_PYARROW_STRINGS: Final = 19

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
    geometry_name = meta["geometry_name"]
    if not _arrow_is_enough(meta, table):
        return pyogrio.read_dataframe(path, bbox=bbox, columns=columns, use_arrow=True)
    geometry = geometries_from_wkb(table.column(geometry_name))
    frame = table.drop_columns([geometry_name]).to_pandas()
    frame["geometry"] = geometry
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=meta["crs"])


def _arrow_is_enough(meta: dict[str, object], table: pa.Table) -> bool:
    """Whether the Arrow table converts to pandas as ``read_dataframe`` would convert it
    without the extra steps it takes for datetime and JSON fields."""
    if int(pa.__version__.split(".")[0]) < _PYARROW_STRINGS:
        return False
    geometry_name = meta["geometry_name"]
    if not geometry_name or geometry_name not in table.column_names:
        return False
    dtypes = [str(d) for d in meta["dtypes"] if d is not None]  # type: ignore[attr-defined]
    subtypes = list(meta["ogr_subtypes"])  # type: ignore[call-overload]
    return not any(d.startswith("datetime") for d in dtypes) and "OFSTJSON" not in subtypes


def read_gpkg_points(
    path: Path, *, columns: list[str] | None = None
) -> tuple[pd.DataFrame, Coordinates, Coordinates, str | None] | None:
    """The attributes (as :func:`read_gpkg_frame` gives them) and the x and y coordinates
    (NaN for a NULL or empty point) of a layer of plain 2D points, and its CRS, without a
    geometry object per point; None when the layer holds anything else."""
    meta, table = pyogrio.read_arrow(path, columns=columns)
    geometry_name = meta["geometry_name"]
    if not _arrow_is_enough(meta, table):
        return None
    coordinates = point_coordinates(table.column(geometry_name))
    if coordinates is None:
        return None
    frame = table.drop_columns([geometry_name]).to_pandas()
    return frame, coordinates[0], coordinates[1], meta["crs"]


def point_coordinates(column: pa.ChunkedArray) -> tuple[Coordinates, Coordinates] | None:
    """x and y of a WKB column of plain 2D little-endian points (NaN where null or empty);
    None when a value is anything else."""
    x, y = np.full(len(column), np.nan), np.full(len(column), np.nan)
    start = 0
    for chunk in column.chunks:
        storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
        valid = _valid(storage)
        records = _point_records(storage, valid)
        if records is None:
            return None
        stop = start + len(storage)
        points = records.view(POINT_WKB)[:, 0]  # x and y read in place, unaligned
        rows = slice(start, stop) if storage.null_count == 0 else np.flatnonzero(valid) + start
        x[rows], y[rows] = points["x"], points["y"]
        start = stop
    return x, y


def _valid(storage: pa.Array) -> npt.NDArray[np.bool_]:
    if storage.null_count == 0:
        return np.ones(len(storage), dtype=bool)
    return np.asarray(storage.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


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
    valid = storage.is_valid().to_numpy(zero_copy_only=False)
    records = _point_records(storage, valid)
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


def _point_records(storage: pa.Array, valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8] | None:
    """The WKB of the valid values as rows of :data:`POINT_WKB_BYTES` bytes when every one is a
    2D little-endian point; None otherwise."""
    if pa.types.is_large_binary(storage.type):
        offset_type: type[np.signedinteger] = np.int64
    elif pa.types.is_binary(storage.type):
        offset_type = np.int32
    else:
        return None
    offsets_buffer, data_buffer = storage.buffers()[1:3]
    if offsets_buffer is None or data_buffer is None:
        return None
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[
        storage.offset : storage.offset + len(storage) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    if valid.all():  # the values are contiguous: one view of the buffer
        if not (np.diff(offsets) == POINT_WKB_BYTES).all():
            return None
        records = data[offsets[0] : offsets[-1]].reshape(-1, POINT_WKB_BYTES)
    else:
        starts = offsets[:-1][valid]
        if not np.array_equal(offsets[1:][valid] - starts, np.full(len(starts), POINT_WKB_BYTES)):
            return None
        records = data[starts[:, None] + np.arange(POINT_WKB_BYTES)]
    heads = records.view(POINT_WKB)[:, 0]  # read in place
    if not ((heads["byte_order"] == LITTLE_ENDIAN).all() and (heads["kind"] == WKB_POINT).all()):
        return None
    return records
