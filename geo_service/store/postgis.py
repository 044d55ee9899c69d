"""The shared-server store: layers as PostGIS tables, for a chamber with many users.

Layout, in one schema (``geo_service`` by default):

- one table per vector layer, named after the layer: a ``fid bigint`` primary key (the row
  order), one typed column per attribute and, when the layer has geometries, a
  ``geom geometry(<type>, <srid>)`` column with a GiST index. QGIS opens these tables directly;
- ``layer_catalog``: one row per layer (``kind`` vector, raster or table; ``meta``, the
  provenance as :class:`~geo_service.model.LayerMeta` JSON; ``version``, a UUID changed by every
  replacement; ``columns`` and ``geometry``, what :meth:`PostGISStore.read_layer` needs to give
  back the pandas dtypes, geometry type and CRS that were written);
- ``rasters``: each raster as the bytes of a GeoTIFF (export it with
  ``SELECT tiff FROM geo_service.rasters WHERE name = 'coverage'``);
- ``schema_version``: the numbered migrations applied (see :mod:`geo_service.store._pg_schema`).
  Opening a store applies the missing ones; opening an up-to-date schema writes nothing.

A layer is replaced in one transaction: its rows are bulk-loaded (``COPY``) into a new table,
which is indexed, then the old table is dropped, the new one renamed and the catalog updated,
and the transaction commits. Several layers written together (:meth:`PostGISStore.write_layers`,
the three result layers) are replaced in one transaction, their tables locked in name order, as
:meth:`PostGISStore.read_layers` locks them: a reader of several layers sees all of them old or
all new. Readers lock the layer's table before reading its catalog row, so
they see the old layer or the new one, never a mix; an import that fails or is killed half-way
rolls back and leaves the previous layer untouched. Writers of one layer queue on an advisory
lock. SQL is composed with :mod:`psycopg.sql` identifiers only, and layer names are checked by
:func:`~geo_service.store.base.check_layer_name`.

Reading gives back the dtypes written: numpy integers, nullable Int64, bool and nullable
boolean, floats (NaN is stored as NULL), strings (``str``, ``string``, ``object``),
``category``, dates (``datetime.date`` objects) and timestamps (to the microsecond, time zones
kept). A frame without an active geometry column is stored as a plain table (kind ``table``)
and read back as a :class:`pandas.DataFrame`; ``bbox`` is then ignored, as in the GeoPackage
store, and so are unknown names in ``columns``. Polygons mixed with MultiPolygons are stored as
MultiPolygons (likewise for points and lines), as the GeoPackage store does.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import psycopg
import rasterio
import rasterio.io
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from geo_service.cql import GEOMETRY, attributes
from geo_service.errors import NotFoundError, ParameterError, StoreError
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.store import _pg_rows as rows
from geo_service.store._pg_archive import PostGISArchive
from geo_service.store._pg_schema import (
    CATALOG,
    OPINION_FILES,
    OPINION_RECORDS,
    RASTERS,
    VERSIONS,
    Connection,
    configure,
    connect,
    describe_database,
    ensure_postgis,
    migrate,
    reason,
)
from geo_service.store.archive import OpinionArchive
from geo_service.store.base import (
    LayerUpdate,
    PointTable,
    Store,
    VectorLayer,
    as_frame,
    check_layer_name,
    geotiff_profile,
    is_layer_name,
    raster_of,
)
from geo_service.store.cql_sql import where_clause

#: Layer names that would clash with the store's own tables.
RESERVED_NAMES: Final = frozenset({CATALOG, RASTERS, VERSIONS, OPINION_RECORDS, OPINION_FILES})
APPLICATION_NAME: Final = "geo-service"


class PostGISStore(Store):
    """Layers as tables of a PostGIS database, in schema ``schema`` (see the module's docstring).

    Parameters
    ----------
    database_url
        ``postgresql://user:password@host:port/dbname`` (any libpq connection URI).
    schema
        Schema holding the layer tables and the catalog; created and migrated on opening.
    pool_size
        Most connections kept open at once (the API serves its requests from this pool).
    """

    def __init__(
        self, database_url: str, schema: str = "geo_service", *, pool_size: int = 8
    ) -> None:
        self.schema = check_layer_name(schema)
        self._url = database_url
        self._where = describe_database(database_url)
        self._schema = sql.Identifier(schema)
        with connect(database_url, {"application_name": APPLICATION_NAME}) as conn:
            ensure_postgis(conn, self._where)
            migrate(conn, schema)
        self._pool_key = (database_url, max(1, pool_size))
        self._pool = _shared_pools.take(self._pool_key)
        self._closed = False

    def describe(self) -> str:
        return f"PostGIS store (schema '{self.schema}' of {self._where})"

    def close(self) -> None:
        """Give back this store's share of the connection pool (closed when no store uses it)."""
        if not self._closed:
            self._closed = True
            _shared_pools.give_back(self._pool_key)

    # -- writing -------------------------------------------------------------------------
    def write_layer(self, name: str, frame: VectorLayer, meta: LayerMeta) -> None:
        self._check_name(name)
        with self._transaction(f"cannot write layer '{name}'", writes=True) as conn:
            self._lock_layer(conn, name)
            self._write_locked(conn, name, as_frame(frame), meta)

    def write_layers(self, layers: Mapping[str, tuple[VectorLayer, LayerMeta]]) -> None:
        names = sorted(layers)
        for name in names:
            self._check_name(name)
        with self._transaction(f"cannot write layers {', '.join(names)}", writes=True) as conn:
            for name in names:  # in name order, as every writer and reader of several layers
                self._lock_layer(conn, name)
            staged = [
                self._stage(conn, name, as_frame(layers[name][0]), layers[name][1])
                for name in names
            ]
            self._lock_tables(conn, names, "ACCESS EXCLUSIVE", missing_ok=True)
            for switch in staged:
                switch()

    def update_layer(self, name: str, update: LayerUpdate) -> None:
        self._check_name(name)
        with self._transaction(f"cannot update layer '{name}'", writes=True) as conn:
            self._lock_layer(conn, name)
            # READ COMMITTED: each statement from here sees what the previous holder committed.
            found = self._catalog_row(conn, name)
            if found is None:
                frame, meta = update(None, None)
            else:
                layout = rows.Layout.from_catalog(found[0], found[1])
                stored = rows.frame_of(rows.copy_out(conn, self._table(name), layout, None), layout)
                frame, meta = update(stored, self._meta_in(conn, name))
            self._write_locked(conn, name, frame, meta)

    def _write_locked(
        self, conn: Connection, name: str, frame: gpd.GeoDataFrame, meta: LayerMeta
    ) -> None:
        """Replace vector layer ``name`` by ``frame`` inside ``conn``'s transaction (locked)."""
        self._stage(conn, name, frame, meta)()

    def _stage(
        self, conn: Connection, name: str, frame: gpd.GeoDataFrame, meta: LayerMeta
    ) -> Callable[[], None]:
        """Load ``frame`` into a new table inside ``conn``'s transaction; the function returned
        puts it in place of layer ``name``'s table and records it in the catalog."""
        meta = meta.model_copy(update={"name": name, "feature_count": len(frame)})
        geometries = rows.active_geometry(frame)
        layout = rows.layout_of(frame, geometries, name)
        if geometries is not None and layout.geometry is not None:
            geometries = rows.promoted(geometries, layout.geometry)
        version = uuid.uuid4().hex
        new = self._table(f"_new_{version[:24]}")
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(new, rows.column_definitions(layout)))
        rows.copy_rows(conn, new, frame, geometries, layout)
        _create_indexes(conn, new, f"{name[:40]}_{version[:8]}", layout)
        conn.execute(sql.SQL("ANALYZE {}").format(new))

        def switch() -> None:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(name)))
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new, sql.Identifier(name)))
            self._record(conn, name, layout.kind, meta, version, layout)

        return switch

    def write_raster(self, name: str, raster: CoverageRaster, meta: LayerMeta) -> None:
        self.write_rasters({name: (raster, meta)})

    def write_rasters(self, rasters: Mapping[str, tuple[CoverageRaster, LayerMeta]]) -> None:
        names = sorted(rasters)
        for name in names:
            self._check_name(name)
        tiffs = {name: _geotiff_bytes(rasters[name][0]) for name in names}
        with self._transaction(f"cannot write rasters {', '.join(names)}", writes=True) as conn:
            for name in names:  # in name order, as every writer of several layers
                self._lock_layer(conn, name)
            for name in names:
                raster, meta = rasters[name]
                height, width = raster.shape
                meta = meta.model_copy(update={"name": name, "feature_count": height * width})
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(name)))
                layout = rows.Layout((), None)
                self._record(conn, name, "raster", meta, uuid.uuid4().hex, layout)
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (name, tiff) VALUES (%s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET tiff = EXCLUDED.tiff"
                    ).format(self._table(RASTERS)),
                    (name, tiffs[name]),
                )

    def delete_layer(self, name: str) -> None:
        check_layer_name(name)
        with self._transaction(f"cannot delete layer '{name}'", writes=True) as conn:
            self._lock_layer(conn, name)
            found = conn.execute(
                sql.SQL("SELECT 1 FROM {} WHERE name = %s").format(self._table(CATALOG)), (name,)
            ).fetchone()
            if found is None:
                raise self._not_found(name)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(name)))
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE name = %s").format(self._table(CATALOG)), (name,)
            )

    def _record(
        self,
        conn: Connection,
        name: str,
        kind: str,
        meta: LayerMeta,
        version: str,
        layout: rows.Layout,
    ) -> None:
        """Insert or update the catalog row of layer ``name``."""
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (name, kind, meta, version, columns, geometry, updated_at) "
                "VALUES (%s, %s, %s::jsonb, %s::uuid, %s::jsonb, %s::jsonb, now()) "
                "ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, meta = EXCLUDED.meta, "
                "version = EXCLUDED.version, columns = EXCLUDED.columns, "
                "geometry = EXCLUDED.geometry, updated_at = EXCLUDED.updated_at"
            ).format(self._table(CATALOG)),
            (
                name,
                kind,
                meta.model_dump_json(),
                version,
                layout.columns_json(),
                layout.geometry_json(),
            ),
        )
        if kind != "raster":
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE name = %s").format(self._table(RASTERS)), (name,)
            )

    # -- reading -------------------------------------------------------------------------
    def read_layer(
        self,
        name: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        columns: list[str] | None = None,
    ) -> gpd.GeoDataFrame:
        check_layer_name(name)
        box = _checked_bbox(bbox)
        with self._transaction(f"cannot read layer '{name}'") as conn:
            layout = self._locked_layout(conn, name).only(columns)
            data = rows.copy_out(conn, self._table(name), layout, box)
        return rows.frame_of(data, layout)

    def read_points(self, name: str, columns: list[str] | None = None) -> PointTable | None:
        check_layer_name(name)
        with self._transaction(f"cannot read layer '{name}'") as conn:
            layout = self._locked_layout(conn, name).only(columns)
            points = layout.geometry is not None and layout.geometry.is_points
            data = rows.copy_out(conn, self._table(name), layout, None) if points else None
        if data is None:
            return super().read_points(name, columns)
        return rows.point_table_of(data, layout)

    def filter_ids(
        self, name: str, condition: Any, id_column: str
    ) -> tuple[str | None, list[str] | None]:
        """The version of vector layer ``name`` and the ids (``id_column``, as text) of the rows
        a checked CQL2 filter keeps, read in one transaction; ids None when the filter names a
        column the table lacks (the caller evaluates it otherwise)."""
        check_layer_name(name)
        with self._transaction(f"cannot filter layer '{name}'") as conn:
            layout = self._locked_layout(conn, name)
            columns = {c.name for c in layout.columns}
            version_row = conn.execute(
                sql.SQL("SELECT version::text FROM {} WHERE name = %s").format(
                    self._table(CATALOG)
                ),
                (name,),
            ).fetchone()
            version = None if version_row is None else str(version_row[0])
            wanted = attributes(condition) - {GEOMETRY}
            if layout.geometry is None or not (wanted | {id_column}) <= columns:
                return version, None
            where, params = where_clause(condition, rows.GEOM, layout.geometry.srid)
            found = conn.execute(
                sql.SQL("SELECT {}::text FROM {} WHERE {}").format(
                    sql.Identifier(id_column), self._table(name), where
                ),
                params,
            ).fetchall()
        return version, [str(row[0]) for row in found]

    def read_raster(self, name: str) -> CoverageRaster:
        check_layer_name(name)
        row = self._row_of(name, "tiff", RASTERS, f"cannot read raster '{name}'")
        if row is None:
            raise self._not_found(name)
        try:
            with rasterio.io.MemoryFile(bytes(row[0])) as mem, mem.open() as src:
                return raster_of(src)
        except rasterio.errors.RasterioError as exc:
            raise StoreError(
                f"cannot read raster '{name}' in the {self.describe()}: {exc}"
            ) from exc

    def read_layers(self, names: Sequence[str]) -> dict[str, tuple[gpd.GeoDataFrame, LayerMeta]]:
        wanted = sorted(set(names))
        for name in wanted:
            check_layer_name(name)
        with self._transaction(f"cannot read layers {', '.join(wanted)}") as conn:
            # Every table locked at once, in name order as writers of several layers lock
            # them: no write_layers can switch some of them while they are read.
            for name in wanted:
                if self._catalog_row(conn, name) is None:
                    raise self._not_found(name)
            self._lock_tables(conn, wanted, "ACCESS SHARE")
            found: dict[str, tuple[gpd.GeoDataFrame, LayerMeta]] = {}
            for name in wanted:
                row = self._catalog_row(conn, name)
                if row is None:
                    raise self._not_found(name)
                layout = rows.Layout.from_catalog(row[0], row[1])
                data = rows.copy_out(conn, self._table(name), layout, None)
                found[name] = (rows.frame_of(data, layout), self._meta_in(conn, name))
        return {name: found[name] for name in names}

    def _lock_tables(
        self, conn: Connection, names: Sequence[str], mode: str, *, missing_ok: bool = False
    ) -> None:
        """Lock the tables of layers ``names`` in ``mode``, in the order given."""
        for name in names:
            try:
                with conn.transaction():  # a savepoint: a missing table does not end the rest
                    conn.execute(
                        sql.SQL("LOCK TABLE {} IN {} MODE").format(self._table(name), sql.SQL(mode))
                    )
            except psycopg.errors.UndefinedTable:
                if not missing_ok:
                    raise self._not_found(name) from None

    def layer_meta(self, name: str) -> LayerMeta:
        check_layer_name(name)
        with self._transaction(f"cannot read the description of layer '{name}'") as conn:
            return self._meta_in(conn, name)

    def _meta_in(self, conn: Connection, name: str) -> LayerMeta:
        row = conn.execute(
            sql.SQL("SELECT meta::text FROM {} WHERE name = %s").format(self._table(CATALOG)),
            (name,),
        ).fetchone()
        if row is None:
            raise self._not_found(name)
        return LayerMeta.model_validate_json(row[0])

    def list_layers(self) -> list[LayerMeta]:
        with self._transaction("cannot list the layers") as conn:
            found = conn.execute(
                sql.SQL("SELECT meta::text FROM {} ORDER BY name").format(self._table(CATALOG))
            ).fetchall()
        return [LayerMeta.model_validate_json(text) for (text,) in found]

    def opinion_archive(self) -> OpinionArchive:
        return PostGISArchive(self.schema, self._transaction)

    def version(self, name: str) -> str | None:
        if not is_layer_name(name):
            return None
        row = self._row_of(
            name, "version::text", CATALOG, f"cannot read the version of layer '{name}'"
        )
        return None if row is None else str(row[0])

    def versions(self, names: Iterable[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = dict.fromkeys(names)
        wanted = [name for name in found if is_layer_name(name)]
        if not wanted:
            return found
        with self._transaction("cannot read the versions of the layers") as conn:
            rows = conn.execute(
                sql.SQL("SELECT name, version::text FROM {} WHERE name = ANY(%s)").format(
                    self._table(CATALOG)
                ),
                (wanted,),
            ).fetchall()
        found.update({str(name): str(version) for name, version in rows})
        return found

    def _row_of(self, name: str, column: str, table: str, action: str) -> tuple[Any, ...] | None:
        """``column`` (an SQL expression) of layer ``name``'s row in the store's ``table``."""
        with self._transaction(action) as conn:
            return conn.execute(
                sql.SQL("SELECT {} FROM {} WHERE name = %s").format(
                    sql.SQL(column), self._table(table)
                ),
                (name,),
            ).fetchone()

    def _locked_layout(self, conn: Connection, name: str) -> rows.Layout:
        """The layout of vector layer ``name``, whose table stays locked until the transaction ends.

        The table is locked before its catalog row is read again: a replacement committed in
        between is then seen whole (new table and new catalog row), and none can start.
        """
        if self._catalog_row(conn, name) is None:
            raise self._not_found(name)
        try:
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(self._table(name)))
        except psycopg.errors.UndefinedTable:
            raise self._not_found(name) from None
        row = self._catalog_row(conn, name)
        if row is None:
            raise self._not_found(name)
        return rows.Layout.from_catalog(row[0], row[1])

    def _catalog_row(self, conn: Connection, name: str) -> tuple[Any, ...] | None:
        """(columns, geometry) of vector layer or table ``name``, None if absent or a raster."""
        return conn.execute(
            sql.SQL("SELECT columns, geometry FROM {} WHERE name = %s AND kind <> 'raster'").format(
                self._table(CATALOG)
            ),
            (name,),
        ).fetchone()

    # -- helpers -------------------------------------------------------------------------
    def _table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(self._schema, sql.Identifier(name))

    def _check_name(self, name: str) -> None:
        check_layer_name(name)
        if name in RESERVED_NAMES:
            raise ParameterError(
                "layer",
                f"'{name}' is reserved by the PostGIS store (its own table); choose another name",
            )

    def _lock_layer(self, conn: Connection, name: str) -> None:
        """Queue behind any other writer of layer ``name`` (until the transaction ends)."""
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"geo-service layer {self.schema}.{name}",),
        )

    def _not_found(self, name: str) -> NotFoundError:
        return NotFoundError(f"layer '{name}' is not in the {self.describe()}")

    @contextlib.contextmanager
    def _transaction(self, action: str, *, writes: bool = False) -> Iterator[Connection]:
        """A pooled connection inside one transaction (``writes``: one that writes); database
        errors become StoreError."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.errors.DependentObjectsStillExist as exc:
            detail = " ".join(str(exc.diag.message_detail or "").split())
            raise StoreError(
                f"{action} in the {self.describe()}: other database objects depend on its table "
                f"({detail}); drop them first (geo-service never drops them)"
            ) from exc
        except PoolTimeout as exc:
            raise StoreError(f"{action}: cannot connect to the PostGIS {self._where}") from exc
        except psycopg.Error as exc:
            plain = _plain_refusal(exc, action, self.describe(), self.schema, writes)
            raise plain or StoreError(
                f"{action} in the {self.describe()}: {reason(exc, self._url)}"
            ) from exc


#: SQLSTATEs of a database that refuses writes: read-only transaction (a standby, or
#: ``default_transaction_read_only``).
_READ_ONLY_STATES: Final = frozenset({"25006"})


def _plain_refusal(
    exc: psycopg.Error, action: str, store: str, schema: str, writes: bool
) -> StoreError | None:
    """What a refused transaction means for its user, in one line (it rolled back, so
    nothing was written): the role lacks the rights (to write, or to read), the server's disk
    is full, or the database is read-only. None for other errors."""
    primary = " ".join(str(exc.diag.message_primary or exc).split()[:40])
    unchanged = "The store is unchanged"
    if isinstance(exc, psycopg.errors.InsufficientPrivilege) and writes:
        return StoreError(
            f"{action}: the database user of the {store} may not write there ({primary}); "
            f"grant it CREATE on schema '{schema}' and INSERT, UPDATE, DELETE on its tables, "
            f"or set GEO_SERVICE_DATABASE_URL to a role with write rights. {unchanged}"
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return StoreError(
            f"{action}: the database user of the {store} may not read there ({primary}); "
            f"grant it USAGE on schema '{schema}' and SELECT on its tables, or set "
            "GEO_SERVICE_DATABASE_URL to a role that can"
        )
    if isinstance(exc, psycopg.errors.DiskFull):
        return StoreError(
            f"disk full on the database server: {action} in the {store} ({primary}); free "
            f"space on the disk of the server's data directory and retry. {unchanged}"
        )
    if exc.sqlstate in _READ_ONLY_STATES:
        return StoreError(
            f"{action}: the {store} is read-only ({primary}; a standby server, or "
            f"default_transaction_read_only); point GEO_SERVICE_DATABASE_URL at the primary "
            f"server. {unchanged}"
        )
    return None


@dataclass
class _SharedPool:
    pool: ConnectionPool[Connection]
    users: int


class _SharedPools:
    """One connection pool per database URL and size, shared by the stores of a process.

    Stores opened and never closed (each CLI command opens one) then cost no extra
    connections; a pool is closed when its last store is, or at exit. Pools are never left to
    the garbage collector, which could run their clean-up in one of their own threads.
    """

    def __init__(self) -> None:
        self._pools: dict[tuple[str, int], _SharedPool] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)

    def take(self, key: tuple[str, int]) -> ConnectionPool[Connection]:
        with self._lock:
            shared = self._pools.get(key)
            if shared is None or shared.pool.closed:
                url, size = key
                pool: ConnectionPool[Connection] = ConnectionPool(
                    url,
                    kwargs={"application_name": APPLICATION_NAME, "connect_timeout": 10},
                    min_size=1,
                    max_size=size,
                    open=True,
                    configure=configure,
                    check=ConnectionPool.check_connection,
                    timeout=10.0,
                    name=APPLICATION_NAME,
                )
                shared = self._pools[key] = _SharedPool(pool, 0)
            shared.users += 1
            return shared.pool

    def give_back(self, key: tuple[str, int]) -> None:
        with self._lock:
            shared = self._pools.get(key)
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            del self._pools[key]
        shared.pool.close()

    def close_all(self) -> None:
        with self._lock:
            pools = [shared.pool for shared in self._pools.values()]
            self._pools.clear()
        for pool in pools:
            pool.close()


_shared_pools = _SharedPools()


def drop_schema(database_url: str, schema: str) -> None:
    """Remove ``schema`` and everything geo-service stored in it (tests and administrators)."""
    check_layer_name(schema)
    with connect(database_url) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _create_indexes(
    conn: Connection, table: sql.Composable, stem: str, layout: rows.Layout
) -> None:
    """Primary key on ``fid`` and, for a vector layer, a GiST index on ``geom``."""
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")  # bulk index builds
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
            table, sql.Identifier(f"{stem}_pkey"), sql.Identifier(rows.FID)
        )
    )
    if layout.geometry is not None:
        conn.execute(
            sql.SQL("CREATE INDEX {} ON {} USING gist ({})").format(
                sql.Identifier(f"{stem}_geom"), table, sql.Identifier(rows.GEOM)
            )
        )


def _geotiff_bytes(raster: CoverageRaster) -> bytes:
    profile = geotiff_profile(raster)
    with rasterio.io.MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(raster.data.astype(np.float32), 1)
        return bytes(mem.read())


def _checked_bbox(
    bbox: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)):
        raise ParameterError("bbox", f"expected four finite numbers, got {bbox!r}")
    return (values[0], values[1], values[2], values[3])
