"""Connections to PostgreSQL and the numbered migrations of the PostGIS store's schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from geo_service.errors import ParameterError, StoreError

CATALOG: Final = "layer_catalog"
RASTERS: Final = "rasters"
VERSIONS: Final = "schema_version"

Connection = psycopg.Connection[tuple[Any, ...]]

#: Numbered migrations, oldest first; ``{schema}`` stands for the store's schema identifier.
#: Never edit a released migration: add the next number.
MIGRATIONS: Final[tuple[tuple[int, str, tuple[str, ...]], ...]] = (
    (
        1,
        "layer catalog and rasters",
        (
            """CREATE TABLE {schema}.layer_catalog (
                name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{{0,62}}$'),
                kind text NOT NULL CHECK (kind IN ('vector', 'raster', 'table')),
                meta jsonb NOT NULL,
                version uuid NOT NULL,
                columns jsonb NOT NULL DEFAULT '[]',
                geometry jsonb,
                updated_at timestamptz NOT NULL DEFAULT now()
            )""",
            """CREATE TABLE {schema}.rasters (
                name text PRIMARY KEY
                    REFERENCES {schema}.layer_catalog (name) ON DELETE CASCADE,
                tiff bytea NOT NULL
            )""",
            "COMMENT ON TABLE {schema}.layer_catalog IS "
            "'geo-service: one row per layer (provenance, version, column types)'",
            "COMMENT ON TABLE {schema}.rasters IS "
            "'geo-service: rasters as GeoTIFF files (export the tiff column to a .tif file)'",
        ),
    ),
    (
        2,
        "opinion archive",
        (
            """CREATE TABLE {schema}.opinion_records (
                id text PRIMARY KEY CHECK (id ~ '^[0-9]{{8}}-[0-9]{{6}}-[0-9a-f]{{8}}$'),
                created_at timestamptz NOT NULL,
                kind text NOT NULL,
                subject_id text,
                record jsonb NOT NULL
            )""",
            """CREATE TABLE {schema}.opinion_files (
                opinion_id text NOT NULL REFERENCES {schema}.opinion_records (id),
                name text NOT NULL,
                media_type text NOT NULL,
                sha256 text NOT NULL,
                content bytea NOT NULL,
                PRIMARY KEY (opinion_id, name)
            )""",
            "CREATE INDEX opinion_records_subject ON {schema}.opinion_records "
            "(kind, subject_id, created_at)",
            """CREATE FUNCTION {schema}.opinion_archive_immutable() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'archived opinions are immutable'; END $$""",
            *(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {{schema}}.{table} "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.opinion_archive_immutable()"
                for table in ("opinion_records", "opinion_files")
            ),
            *(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {{schema}}.{table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.opinion_archive_immutable()"
                for table in ("opinion_records", "opinion_files")
            ),
            "COMMENT ON TABLE {schema}.opinion_records IS "
            "'geo-service: archived opinions, insert-only (record: figures, thresholds, vintages)'",
            "COMMENT ON TABLE {schema}.opinion_files IS "
            "'geo-service: the rendered files of the archived opinions, insert-only'",
        ),
    ),
)
OPINION_RECORDS: Final = "opinion_records"
OPINION_FILES: Final = "opinion_files"


def describe_database(url: str) -> str:
    """``database 'db' on host:port as 'user'``, for messages (never the password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ParameterError(
            "database_url",
            "is not a valid PostgreSQL URL; expected postgresql://user:password@host:port/dbname",
        ) from None
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    text = f"database '{params.get('dbname') or params.get('user') or '?'}' on {host}:{port}"
    if params.get("user"):
        text += f" as '{params['user']}'"
    return text


def reason(exc: BaseException, url: str) -> str:
    """A database error on one line, with the URL's password (if any) blanked out."""
    text = " ".join(str(exc).split())
    password = conninfo_to_dict(url).get("password") if url else None
    if password:
        text = text.replace(str(password), "***")
    return text


def configure(conn: Connection) -> None:
    """Session settings the CSV exchange relies on: ISO dates, UTC, exact floats."""
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET extra_float_digits = 3")
    conn.commit()


@contextlib.contextmanager
def connect(url: str, kwargs: dict[str, Any] | None = None) -> Iterator[Connection]:
    """An autocommit connection to ``url``; connection and SQL failures become StoreError."""
    where = describe_database(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10, **(kwargs or {}))
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the PostGIS {where}: {reason(exc, url)}") from exc
    try:
        configure(conn)
        yield conn
    except psycopg.Error as exc:
        raise StoreError(f"PostGIS {where}: {reason(exc, url)}") from exc
    finally:
        conn.close()


def ensure_postgis(conn: Connection, where: str) -> None:
    """Check that PostGIS is installed in the database, installing it when allowed."""
    row = conn.execute("SELECT to_regtype('geometry') IS NOT NULL").fetchone()
    if row is not None and row[0]:
        return
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as exc:
        raise StoreError(
            f"the PostGIS extension is not installed in the {where} and this user cannot "
            f"install it ({reason(exc, '')}); ask an administrator to run "
            "'CREATE EXTENSION postgis' in that database"
        ) from exc


def schema_version(conn: Connection, schema: str) -> int:
    """The last migration applied to ``schema`` (0 when the schema or its table is absent)."""
    table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(VERSIONS))
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table.as_string(conn),)).fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute(sql.SQL("SELECT coalesce(max(version), 0) FROM {}").format(table))
    value = found.fetchone()
    return int(value[0]) if value else 0


def migrate(conn: Connection, schema: str) -> list[int]:
    """Apply the missing :data:`MIGRATIONS` to ``schema`` (created if absent); the ones applied.

    ``conn`` must be in autocommit mode. Writes nothing when the schema is up to date; runs
    under an advisory lock, so that processes opening the store together do not race; raises
    StoreError when the schema was migrated by a newer geo-service.
    """
    latest = MIGRATIONS[-1][0]
    current = schema_version(conn, schema)
    if current > latest:
        raise StoreError(
            f"schema '{schema}' is at version {current}, newer than this geo-service "
            f"understands ({latest}); upgrade geo-service"
        )
    if current == latest:
        return []
    ident = sql.Identifier(schema)
    applied = []
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"geo-service migrations {schema}",),
        )
        if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (version integer PRIMARY KEY, "
                "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident, sql.Identifier(VERSIONS))
        )
        current = schema_version(conn, schema)
        for number, description, statements in MIGRATIONS:
            if number <= current:
                continue
            for statement in statements:
                conn.execute(sql.SQL(statement).format(schema=ident))
            conn.execute(
                sql.SQL("INSERT INTO {}.{} (version, description) VALUES (%s, %s)").format(
                    ident, sql.Identifier(VERSIONS)
                ),
                (number, description),
            )
            applied.append(number)
    return applied
