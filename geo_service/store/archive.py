"""The opinion archive of a store: insert-only records, each with the files it was rendered to.

An archived opinion is one entry: an id, when it was archived, what it is about (kind and
subject id), its record (JSON text, see :mod:`geo_service.opinions.record`) and its rendered
files (name, media type, bytes, sha256). An entry is written whole in one transaction (all its
files or nothing) and never changed: the archives have no update nor delete, and their tables
refuse ``UPDATE`` and ``DELETE`` (triggers), so that an opinion is served byte for byte as it
was given. The GeoPackage store keeps its archive in the SQLite file
``<data_dir>/store/opinions.sqlite``; the PostGIS store in tables ``opinion_records`` and
``opinion_files`` of its schema (:mod:`geo_service.store._pg_archive`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from geo_service.errors import NotFoundError, ParameterError, StoreError
from geo_service.store.disk import write_error

#: Archive ids: ``20261203-125143-3f9a1c2b`` (UTC date and time of archiving, 8 random hex).
ENTRY_ID: Final = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")
_FILE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
IMMUTABLE: Final = "archived opinions are immutable"


@dataclass(frozen=True)
class ArchiveFile:
    """One rendered file of an archived opinion."""

    name: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class ArchiveEntry:
    """What the archive keeps of one opinion besides its files."""

    id: str
    created_at: datetime
    kind: str
    subject_id: str | None
    record: str


def check_entry_id(entry_id: str) -> str:
    """``entry_id`` if it has the form of an archive id; NotFoundError otherwise."""
    if not ENTRY_ID.match(entry_id):
        raise NotFoundError(
            f"no archived opinion '{entry_id}' (ids look like 20261203-125143-3f9a1c2b)"
        )
    return entry_id


def check_files(files: Sequence[ArchiveFile]) -> None:
    """ParameterError unless the files have distinct safe names (at least one file)."""
    if not files:
        raise ParameterError("files", "an archived opinion needs at least one rendered file")
    names = [f.name for f in files]
    bad = [n for n in names if not _FILE_NAME.match(n)]
    if bad:
        raise ParameterError("files", f"unsafe archived file names: {', '.join(bad)}")
    if len(set(names)) != len(names):
        raise ParameterError("files", f"archived file names repeat: {', '.join(names)}")


def checked_content(entry_id: str, name: str, content: bytes, sha256: str) -> bytes:
    """``content`` if its SHA-256 is the one archived; StoreError (the archive is damaged)."""
    if hashlib.sha256(content).hexdigest() != sha256:
        raise StoreError(
            f"archived file '{name}' of opinion '{entry_id}' does not match its sha256 {sha256}"
        )
    return content


class OpinionArchive(ABC):
    """Insert-only archive of opinions (see the module's docstring)."""

    @abstractmethod
    def insert(self, entry: ArchiveEntry, files: Sequence[ArchiveFile]) -> None:
        """Archive ``entry`` with its files in one transaction; StoreError if the id exists."""

    @abstractmethod
    def entries(self, kind: str | None = None, subject_id: str | None = None) -> list[ArchiveEntry]:
        """The archived entries (of ``kind`` and ``subject_id`` when given), oldest first."""

    @abstractmethod
    def entry(self, entry_id: str) -> ArchiveEntry:
        """The entry ``entry_id``; NotFoundError if absent."""

    @abstractmethod
    def file(self, entry_id: str, name: str) -> ArchiveFile:
        """File ``name`` of entry ``entry_id``, checked against its sha256; NotFoundError."""


_SQLITE_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS opinion_records (
        id text PRIMARY KEY,
        created_at text NOT NULL,
        kind text NOT NULL,
        subject_id text,
        record text NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS opinion_files (
        opinion_id text NOT NULL REFERENCES opinion_records (id),
        name text NOT NULL,
        media_type text NOT NULL,
        sha256 text NOT NULL,
        content blob NOT NULL,
        PRIMARY KEY (opinion_id, name)
    )""",
    "CREATE INDEX IF NOT EXISTS opinion_records_subject ON opinion_records (kind, subject_id)",
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_immutable_{action.lower()} BEFORE {action} ON "
        f"{table} BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
        for table in ("opinion_records", "opinion_files")
        for action in ("UPDATE", "DELETE")
    ),
)


class SQLiteArchive(OpinionArchive):
    """The archive as one SQLite file (the GeoPackage store's), created on the first insert.

    Writers take SQLite's write lock (``BEGIN IMMEDIATE``, waiting up to 30 s for another
    writer); the journal is a write-ahead log, so readers are never blocked.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        #: Whether this archive made sure of its file's schema (once per archive object).
        self._created = False

    @contextlib.contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        if not create and not self.path.is_file():
            yield None
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise write_error(self.path.parent, "the opinion archive", exc, 0) or StoreError(
                f"cannot open the opinion archive {self.path}: {exc}"
            ) from exc
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            if create and not (self._created and self.path.is_file()):
                _write_ahead_log(conn)
                # under the write lock (waited for): each statement on its own would start
                # as a read and fail at once ('database is locked') if another writer
                # committed meanwhile, as WAL mode does not wait for a stale read to write
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SQLITE_SCHEMA:
                    conn.execute(statement)
                conn.execute("COMMIT")
                self._created = True
            yield conn
        except sqlite3.Error as exc:
            raise (
                create and write_error(self.path.parent, "the opinion archive", exc, 0)
            ) or StoreError(f"opinion archive {self.path}: {exc}") from exc
        finally:
            conn.close()

    def insert(self, entry: ArchiveEntry, files: Sequence[ArchiveFile]) -> None:
        check_entry_id(entry.id)
        check_files(files)
        with self._connection(create=True) as conn:
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO opinion_records (id, created_at, kind, subject_id, record) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        entry.id,
                        entry.created_at.isoformat(),
                        entry.kind,
                        entry.subject_id,
                        entry.record,
                    ),
                )
                conn.executemany(
                    "INSERT INTO opinion_files (opinion_id, name, media_type, sha256, content) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(entry.id, f.name, f.media_type, f.sha256, f.content) for f in files],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def entries(self, kind: str | None = None, subject_id: str | None = None) -> list[ArchiveEntry]:
        query = "SELECT id, created_at, kind, subject_id, record FROM opinion_records"
        clauses, args = entry_filters(kind, subject_id, "?")
        with self._connection(create=False) as conn:
            if conn is None:
                return []
            found = conn.execute(f"{query}{clauses} ORDER BY created_at, id", args).fetchall()
        return [entry_of(row) for row in found]

    def entry(self, entry_id: str) -> ArchiveEntry:
        check_entry_id(entry_id)
        with self._connection(create=False) as conn:
            row = None
            if conn is not None:
                row = conn.execute(
                    "SELECT id, created_at, kind, subject_id, record FROM opinion_records "
                    "WHERE id = ?",
                    (entry_id,),
                ).fetchone()
        if row is None:
            raise NotFoundError(f"no archived opinion '{entry_id}'")
        return entry_of(row)

    def file(self, entry_id: str, name: str) -> ArchiveFile:
        check_entry_id(entry_id)
        with self._connection(create=False) as conn:
            row = None
            if conn is not None:
                row = conn.execute(
                    "SELECT media_type, sha256, content FROM opinion_files "
                    "WHERE opinion_id = ? AND name = ?",
                    (entry_id, name),
                ).fetchone()
        if row is None:
            raise NotFoundError(f"archived opinion '{entry_id}' has no file '{name}'")
        media_type, sha256, content = row
        return ArchiveFile(name, media_type, checked_content(entry_id, name, content, sha256))


#: How long a new archive's connections wait for another one switching it to its WAL journal.
_BUSY_TIMEOUT_S: Final = 30.0


def _write_ahead_log(conn: sqlite3.Connection) -> None:
    """Switch the archive to its write-ahead log, waiting for the other connections: the
    switch takes an exclusive lock without SQLite's busy handler, so that two writers
    creating the archive at once failed with 'database is locked' at once (about one test
    run in ten with eight threads; the switch is done once, later ones change nothing)."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.2)


def entry_filters(
    kind: str | None, subject_id: str | None, mark: str
) -> tuple[str, tuple[str, ...]]:
    """WHERE clause (with ``mark`` placeholders) and arguments of an entries query."""
    clauses = []
    args: list[str] = []
    if kind is not None:
        clauses.append(f"kind = {mark}")
        args.append(kind)
    if subject_id is not None:
        clauses.append(f"subject_id = {mark}")
        args.append(subject_id)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def entry_of(row: Sequence[object]) -> ArchiveEntry:
    entry_id, created_at, kind, subject_id, record = row
    created = (
        created_at if isinstance(created_at, datetime) else datetime.fromisoformat(str(created_at))
    )
    return ArchiveEntry(
        id=str(entry_id),
        created_at=created,
        kind=str(kind),
        subject_id=None if subject_id is None else str(subject_id),
        record=record if isinstance(record, str) else json.dumps(record, ensure_ascii=False),
    )
