"""Frames to PostGIS rows and back: column types, bulk ``COPY`` in CSV, dtype restoration.

Rows travel as CSV through ``COPY``: Arrow writes and parses it in C, and PostgreSQL's CSV
tells NULL (an empty field) from the empty string (``""``). Geometries go in as hex EWKB
(with their SRID) and come back as hex WKB, or as x and y columns for a layer of 2-D points
(much faster to rebuild).
"""

from __future__ import annotations

import binascii
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from psycopg import sql

from geo_service.errors import StoreError
from geo_service.store._pg_schema import Connection
from geo_service.store.base import PointTable, restore_dtype

FID: Final = "fid"
GEOM: Final = "geom"
MAX_IDENTIFIER_BYTES: Final = 63
_COPY_BATCH: Final = 100_000

#: SQL type of a stored column -> Arrow type of the values sent, and of the CSV text read back.
_SENT: Final[dict[str, pa.DataType]] = {
    "bigint": pa.int64(),
    "numeric": pa.string(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "text": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}
_READ: Final[dict[str, pa.DataType]] = {**_SENT, "timestamptz": pa.timestamp("us")}
#: What ``pandas.api.types.infer_dtype`` says of an object column -> its SQL type.
_OBJECT_SQL_TYPES: Final[dict[str, str]] = {
    "string": "text",
    "empty": "text",
    "boolean": "boolean",
    "integer": "bigint",
    "floating": "double precision",
    "mixed-integer-float": "double precision",
    "date": "date",
}
_GEOMETRY_NAMES: Final[dict[int, str]] = {
    0: "Point",
    1: "LineString",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
#: Single geometry type -> (its shapely type id, its multi type, the multi's constructor).
_PROMOTIONS: Final[dict[str, tuple[int, str, Callable[..., Any]]]] = {
    "Point": (0, "MultiPoint", shapely.multipoints),
    "LineString": (1, "MultiLineString", shapely.multilinestrings),
    "Polygon": (3, "MultiPolygon", shapely.multipolygons),
}


@dataclass(frozen=True)
class Column:
    """An attribute column: its name, the pandas dtype written and its SQL type."""

    name: str
    dtype: str
    sql: str


@dataclass(frozen=True)
class Geometry:
    """The geometry column of a vector layer: type, SRID, CRS and whether it has Z."""

    type: str
    srid: int
    crs: str | None
    has_z: bool

    @property
    def sql(self) -> sql.Composable:
        """The column's SQL type, constrained to the type and SRID when the data allow it."""
        if self.has_z and not self.type.endswith("Z"):  # 2-D and 3-D mixed
            return sql.SQL("geometry")
        return sql.SQL("geometry({}, {})").format(sql.SQL(self.type), sql.Literal(self.srid))

    @property
    def is_points(self) -> bool:
        """Whether the layer holds 2-D points only (read back from x and y)."""
        return self.type == "Point" and not self.has_z


@dataclass(frozen=True)
class Layout:
    """What the catalog records of a vector layer or table, to give back what was written."""

    columns: tuple[Column, ...]
    geometry: Geometry | None

    @property
    def kind(self) -> str:
        """``vector``, or ``table`` for a layer without geometry."""
        return "vector" if self.geometry is not None else "table"

    def columns_json(self) -> str:
        """The columns, as stored in the catalog."""
        return json.dumps([asdict(c) for c in self.columns])

    def geometry_json(self) -> str | None:
        """The geometry column, as stored in the catalog."""
        return None if self.geometry is None else json.dumps(asdict(self.geometry))

    @classmethod
    def from_catalog(cls, columns: list[dict[str, Any]], geometry: dict[str, Any] | None) -> Layout:
        """The layout recorded in the catalog."""
        return cls(
            tuple(Column(**c) for c in columns),
            None if geometry is None else Geometry(**geometry),
        )

    def only(self, names: list[str] | None) -> Layout:
        """This layout with only the columns ``names`` (in the layer's order; None: all)."""
        if names is None:
            return self
        keep = set(names)
        return Layout(tuple(c for c in self.columns if c.name in keep), self.geometry)


# -- writing -----------------------------------------------------------------------------
def active_geometry(frame: pd.DataFrame) -> gpd.GeoSeries | None:
    """The active geometry column of ``frame``, None for a plain table."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return None
    name = frame._geometry_column_name
    if name is None or name not in frame.columns:
        return None
    return frame[name]


def layout_of(frame: pd.DataFrame, geometries: gpd.GeoSeries | None, layer: str) -> Layout:
    """The columns and geometry of ``frame`` as stored; StoreError for what cannot be kept."""
    geometry_name = None if geometries is None else geometries.name
    columns = []
    seen: set[str] = set()
    for label in frame.columns:
        if geometries is not None and label == geometry_name:
            continue
        name = str(label)
        if name in (FID, GEOM):
            raise StoreError(
                f"layer '{layer}': column '{name}' is reserved by the PostGIS store; rename it"
            )
        if len(name.encode()) > MAX_IDENTIFIER_BYTES or name in seen:
            raise StoreError(
                f"layer '{layer}': column '{name}' is longer than PostgreSQL's 63 bytes "
                "or appears twice"
            )
        seen.add(name)
        series = frame[label]
        columns.append(Column(name, str(series.dtype), _sql_type(series, layer)))
    geometry = None if geometries is None else _geometry_of(geometries)
    return Layout(tuple(columns), geometry)


def _sql_type(series: pd.Series, layer: str) -> str:
    dtype = series.dtype
    if isinstance(dtype, gpd.array.GeometryDtype):
        raise StoreError(
            f"layer '{layer}': column '{series.name}' holds geometries; a layer has one "
            "geometry column"
        )
    if isinstance(dtype, pd.CategoricalDtype):
        return _sql_type(series.astype(dtype.categories.dtype), layer)
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "numeric" if str(dtype).lower() == "uint64" else "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in _OBJECT_SQL_TYPES:
            return _OBJECT_SQL_TYPES[inferred]
        raise StoreError(
            f"layer '{layer}': column '{series.name}' holds {inferred} values; the store keeps "
            "text, numbers, booleans, dates and timestamps"
        )
    raise StoreError(
        f"layer '{layer}': column '{series.name}' has type {dtype}, which the store cannot keep"
    )


def _geometry_of(geometries: gpd.GeoSeries) -> Geometry:
    values = np.asarray(geometries.array, dtype=object)
    present = values[~shapely.is_missing(values)]
    names = sorted({_GEOMETRY_NAMES[int(i)] for i in np.unique(shapely.get_type_id(present))})
    if len(names) == 1:
        kind = names[0]
    elif len(names) == 2 and names[1] in _PROMOTIONS and names[0] == _PROMOTIONS[names[1]][1]:
        kind = names[0]  # e.g. ["MultiPolygon", "Polygon"]: single parts are made multi
    else:
        kind = "Geometry"
    has_z = shapely.has_z(present)
    if len(present) and has_z.all():
        kind += "Z"
    crs = geometries.crs
    srid = (crs.to_epsg() or 0) if crs is not None else 0
    return Geometry(kind, srid, None if crs is None else crs.to_string(), bool(has_z.any()))


def promoted(geometries: gpd.GeoSeries, geometry: Geometry) -> gpd.GeoSeries:
    """``geometries`` with single parts made multi when the layer's type is a multi type."""
    base = geometry.type.removesuffix("Z")
    for type_id, multi, build in _PROMOTIONS.values():
        if multi != base:
            continue
        values = np.asarray(geometries.array, dtype=object).copy()
        mask = shapely.get_type_id(values) == type_id
        if mask.any():
            values[mask] = build(values[mask], indices=np.arange(int(mask.sum())))
            return gpd.GeoSeries(values, index=geometries.index, crs=geometries.crs)
    return geometries


def column_definitions(layout: Layout) -> sql.Composed:
    """The column list of ``CREATE TABLE`` for ``layout`` (``fid`` first, ``geom`` last)."""
    parts = [sql.SQL("{} bigint NOT NULL").format(sql.Identifier(FID))]
    parts += [
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql)) for c in layout.columns
    ]
    if layout.geometry is not None:
        parts.append(sql.SQL("{} {}").format(sql.Identifier(GEOM), layout.geometry.sql))
    return sql.SQL(", ").join(parts)


def copy_rows(
    conn: Connection,
    table: sql.Composable,
    frame: pd.DataFrame,
    geometries: gpd.GeoSeries | None,
    layout: Layout,
) -> None:
    """Bulk-load ``frame`` into ``table`` with ``COPY ... FROM STDIN`` (``fid`` = row number)."""
    names = [FID, *(c.name for c in layout.columns)]
    if layout.geometry is not None:
        names.append(GEOM)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        table, sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    labels = [str(label) for label in frame.columns]
    positions = [labels.index(c.name) for c in layout.columns]
    options = pacsv.WriteOptions(include_header=False)
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(frame), _COPY_BATCH):
            stop = min(start + _COPY_BATCH, len(frame))
            arrays = [pa.array(np.arange(start, stop, dtype=np.int64))]
            arrays += [
                _arrow_values(frame.iloc[start:stop, i], c)
                for i, c in zip(positions, layout.columns, strict=True)
            ]
            if geometries is not None and layout.geometry is not None:
                arrays.append(_ewkb_hex(geometries.iloc[start:stop], layout.geometry.srid))
            batch = pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))])
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())


def _arrow_values(series: pd.Series, column: Column) -> pa.Array:
    try:
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if column.sql == "numeric":
            return pa.array(series.astype(str), type=pa.string())
        if column.sql == "timestamptz":
            series = series.dt.tz_convert("UTC")
        return pa.array(series, type=_SENT[column.sql], from_pandas=True, safe=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise StoreError(f"column '{column.name}' cannot be stored as {column.sql}: {exc}") from exc


def _ewkb_hex(geometries: gpd.GeoSeries, srid: int) -> pa.Array:
    values = np.asarray(geometries.array, dtype=object)
    if srid:
        values = shapely.set_srid(values, srid)
    return pa.array(shapely.to_wkb(values, hex=True, include_srid=bool(srid)), type=pa.string())


# -- reading -----------------------------------------------------------------------------
def copy_out(
    conn: Connection,
    table: sql.Composable,
    layout: Layout,
    bbox: tuple[float, float, float, float] | None,
) -> pa.Table:
    """The rows of ``table`` in ``fid`` order, as Arrow columns (see :func:`frame_of`)."""
    expressions: list[sql.Composable] = [sql.Identifier(FID)]
    types: list[pa.DataType] = [pa.int64()]
    for column in layout.columns:
        ident = sql.Identifier(column.name)
        if column.sql == "timestamptz":
            expressions.append(sql.SQL("({} AT TIME ZONE 'UTC')").format(ident))
        else:
            expressions.append(ident)
        types.append(_READ[column.sql])
    where: sql.Composable = sql.SQL("")
    if layout.geometry is not None:
        geom = sql.Identifier(GEOM)
        if layout.geometry.is_points:
            expressions += [
                sql.SQL("ST_X({})").format(geom),
                sql.SQL("ST_Y({})").format(geom),
                sql.SQL("{} IS NULL").format(geom),
            ]
            types += [pa.float64(), pa.float64(), pa.bool_()]
        else:
            expressions.append(sql.SQL("encode(ST_AsBinary({}), 'hex')").format(geom))
            types.append(pa.string())
        if bbox is not None:
            where = sql.SQL(" WHERE ST_Intersects({}, ST_MakeEnvelope({}, {}, {}, {}, {}))").format(
                geom, *(sql.Literal(v) for v in bbox), sql.Literal(layout.geometry.srid)
            )
    statement = sql.SQL(
        "COPY (SELECT {} FROM {}{} ORDER BY {}) TO STDOUT WITH (FORMAT csv)"
    ).format(sql.SQL(", ").join(expressions), table, where, sql.Identifier(FID))
    buffer = io.BytesIO()
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            buffer.write(block)
    names = [f"c{i}" for i in range(len(types))]
    if not buffer.tell():
        return pa.table([pa.array([], type=t) for t in types], names=names)
    return pacsv.read_csv(
        io.BytesIO(buffer.getbuffer()),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(zip(names, types, strict=True)),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def frame_of(data: pa.Table, layout: Layout) -> gpd.GeoDataFrame:
    """The (Geo)DataFrame, with the dtypes recorded in ``layout``, of rows read by copy_out."""
    frame = _attributes(data, layout)
    count = len(layout.columns)
    if layout.geometry is None:
        return frame
    if layout.geometry.is_points:
        values = _points(data.column(count + 1), data.column(count + 2), data.column(count + 3))
    else:
        values = _from_hex_wkb(data.column(count + 1))
    geometries = gpd.GeoSeries(values, index=frame.index, crs=layout.geometry.crs)
    return gpd.GeoDataFrame(frame, geometry=geometries)


def point_table_of(data: pa.Table, layout: Layout) -> PointTable:
    """The rows of a layer of 2-D points read by copy_out as columns: attributes, x and y
    (NaN where NULL or empty), without a geometry per row."""
    assert layout.geometry is not None
    assert layout.geometry.is_points
    count = len(layout.columns)
    x = data.column(count + 1).to_numpy(zero_copy_only=False).astype(float)
    y = data.column(count + 2).to_numpy(zero_copy_only=False).astype(float)
    return PointTable(_attributes(data, layout), x, y, layout.geometry.crs)


def _attributes(data: pa.Table, layout: Layout) -> pd.DataFrame:
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    count = len(layout.columns)
    converted = data.select(list(range(1, count + 1))).to_pandas(types_mapper=nullable.get)
    return pd.DataFrame(
        {c.name: _restored(converted.iloc[:, i], c) for i, c in enumerate(layout.columns)},
        index=pd.RangeIndex(data.num_rows),
    )


def _points(
    x: pa.ChunkedArray, y: pa.ChunkedArray, missing: pa.ChunkedArray
) -> npt.NDArray[np.object_]:
    xs = x.to_numpy(zero_copy_only=False).astype(float)
    ys = y.to_numpy(zero_copy_only=False).astype(float)
    values = np.asarray(shapely.points(xs, ys), dtype=object)
    empty = np.isnan(xs)
    values[empty] = shapely.from_wkt("POINT EMPTY")
    values[missing.to_numpy(zero_copy_only=False).astype(bool)] = None
    return values


def _from_hex_wkb(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    texts = column.to_numpy(zero_copy_only=False)
    wkb = np.array([None if t is None else binascii.unhexlify(t) for t in texts], dtype=object)
    return np.asarray(shapely.from_wkb(wkb), dtype=object)


def _restored(values: pd.Series, column: Column) -> pd.Series:
    if column.sql == "timestamptz":
        dtype = pd.api.types.pandas_dtype(column.dtype)
        return values.dt.tz_localize("UTC").dt.tz_convert(dtype.tz).astype(dtype)
    return restore_dtype(values, column.dtype)
