"""Points as columns: WKB and GeoArrow point arrays decoded in bulk, GeoParquet read so.

A layer of a million premises is a million points; making a shapely object of each costs
about a second, and reading their coordinates is all the analysis, the validation and the
GeoPackage writer need. The WKB of a plain 2D little-endian point is always the same 21 bytes
(byte order, type, x, y): :data:`POINT_WKB` reads a column of them as one array of records in
place. GeoArrow's ``point`` encoding (GeoParquet 1.1) holds x and y as columns already.
Anything else (other geometries, 3D, big endian) is left to shapely by the callers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: A 2D little-endian point's WKB as a record (packed): byte order, geometry type, x, y.
POINT_WKB: Final = np.dtype([("byte_order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
#: Bytes of a 2D point in WKB (21).
POINT_WKB_BYTES: Final = POINT_WKB.itemsize
#: The byte order (little endian) and geometry type (Point) of :data:`POINT_WKB`.
LITTLE_ENDIAN: Final = 1
WKB_POINT: Final = 1
#: GeoParquet's encoding names: WKB, and GeoArrow's separated points (a struct of x and y).
GEOPARQUET_WKB: Final = "WKB"
GEOPARQUET_POINT: Final = "point"

Coordinates = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PointTable:
    """A layer of points as columns: the attributes, x and y (NaN where a feature has no
    location: NULL or empty geometry) row by row, and the CRS."""

    frame: pd.DataFrame
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    crs: str | None


def point_coordinates(column: pa.ChunkedArray) -> tuple[Coordinates, Coordinates] | None:
    """x and y of a column of plain 2D points, WKB (little endian) or GeoArrow ``point``
    (NaN where null or empty); None when a value is anything else."""
    x, y = np.full(len(column), np.nan), np.full(len(column), np.nan)
    start = 0
    for chunk in column.chunks:
        storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
        stop = start + len(storage)
        if pa.types.is_struct(storage.type):
            found = _struct_coordinates(storage)
            if found is None:
                return None
            x[start:stop], y[start:stop] = found
            start = stop
            continue
        valid = valid_mask(storage)
        records = point_records(storage, valid)
        if records is None:
            return None
        points = records.view(POINT_WKB)[:, 0]  # x and y read in place, unaligned
        rows = slice(start, stop) if storage.null_count == 0 else np.flatnonzero(valid) + start
        x[rows], y[rows] = points["x"], points["y"]
        start = stop
    return x, y


def _struct_coordinates(storage: pa.StructArray) -> tuple[Coordinates, Coordinates] | None:
    """x and y of GeoArrow points (a struct of exactly x and y; NaN where null)."""
    names = [storage.type.field(i).name for i in range(storage.type.num_fields)]
    if names != ["x", "y"]:
        return None  # xyz, xym: not plain 2D points
    valid = valid_mask(storage)

    def coordinate(name: str) -> Coordinates:
        values = storage.field(name)
        if not pa.types.is_floating(values.type):
            raise ValueError
        numbers = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        return np.where(valid, numbers, np.nan)

    try:
        return coordinate("x"), coordinate("y")
    except ValueError:
        return None


def valid_mask(storage: pa.Array) -> npt.NDArray[np.bool_]:
    """Which values of ``storage`` are not null."""
    if storage.null_count == 0:
        return np.ones(len(storage), dtype=bool)
    return np.asarray(storage.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def point_records(storage: pa.Array, valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8] | None:
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


def point_wkb(xy: npt.NDArray[np.float64]) -> pa.Array:
    """The WKB of 2D points (little endian, as ``shapely.to_wkb`` writes them on this
    machine) as one Arrow binary array."""
    records = np.empty(len(xy), dtype=POINT_WKB)
    records["byte_order"], records["kind"] = LITTLE_ENDIAN, WKB_POINT
    records["x"], records["y"] = xy[:, 0], xy[:, 1]
    offsets = np.arange(0, (len(xy) + 1) * POINT_WKB_BYTES, POINT_WKB_BYTES, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(xy), [None, pa.py_buffer(offsets), pa.py_buffer(records.view(np.uint8))]
    )


def geoparquet_geometry(schema: pa.Schema) -> tuple[str, str, str | None]:
    """The primary geometry column of a GeoParquet schema, its encoding and its CRS (a
    PROJJSON or other text pyproj reads; absent means OGC:CRS84, null none). Raises
    KeyError, TypeError or ValueError when the schema has no GeoParquet metadata."""
    return _primary_geometry(_geo_metadata(schema))


def _geo_metadata(schema: pa.Schema) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((schema.metadata or {})[b"geo"])
    return found


def _primary_geometry(geo: dict[str, Any]) -> tuple[str, str, str | None]:
    name = geo["primary_column"]
    column = geo["columns"][name]
    crs = column.get("crs", "OGC:CRS84")
    text = json.dumps(crs) if isinstance(crs, dict) else crs
    return name, column.get("encoding", GEOPARQUET_WKB), text


def read_geoparquet_points(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    read_dictionary: Sequence[str] = (),
) -> PointTable | None:
    """The attributes (``columns`` of them that the file has, default all; as GeoPandas'
    ``read_parquet`` gives them) and the x and y of a GeoParquet file of plain 2D points,
    WKB or GeoArrow-encoded, without a geometry object per point; None when the file holds
    anything else (other geometries, several geometry columns, Z). ``read_dictionary``:
    text columns read as categories (faster when few distinct values). Errors of pyarrow
    (not Parquet, no GeoParquet metadata) are raised as they are."""
    schema = pq.read_schema(path)
    geo = _geo_metadata(schema)
    geometry, encoding, crs = _primary_geometry(geo)
    if encoding not in (GEOPARQUET_WKB, GEOPARQUET_POINT) or len(geo["columns"]) != 1:
        return None
    names = [c for c in schema.names if c != geometry]
    if columns is not None:
        names = [c for c in columns if c in names]
    dictionary = [c for c in read_dictionary if c in names]
    table = pq.read_table(path, columns=[*names, geometry], read_dictionary=dictionary or None)
    coordinates = point_coordinates(table.column(geometry))
    if coordinates is None:
        return None
    frame = table.drop_columns([geometry]).to_pandas()
    return PointTable(frame, coordinates[0], coordinates[1], crs)
