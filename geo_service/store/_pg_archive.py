"""The PostGIS store's opinion archive: tables ``opinion_records`` and ``opinion_files``.

Created by migration 2 (:mod:`geo_service.store._pg_schema`), with triggers refusing
``UPDATE``, ``DELETE`` and ``TRUNCATE``; an entry and its files are inserted in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from psycopg import sql
from psycopg.types.json import Jsonb

from geo_service.errors import NotFoundError
from geo_service.store._pg_schema import OPINION_FILES, OPINION_RECORDS, Connection
from geo_service.store.archive import (
    ArchiveEntry,
    ArchiveFile,
    OpinionArchive,
    check_entry_id,
    check_files,
    checked_content,
    entry_filters,
    entry_of,
)


class Transaction(Protocol):
    """The store's transactions: ``action`` named in errors, ``writes`` when it writes."""

    def __call__(
        self, action: str, *, writes: bool = False
    ) -> AbstractContextManager[Connection]: ...


class PostGISArchive(OpinionArchive):
    """The archive in schema ``schema``, through the store's pooled transactions."""

    def __init__(self, schema: str, transaction: Transaction) -> None:
        self._records = sql.Identifier(schema, OPINION_RECORDS)
        self._files = sql.Identifier(schema, OPINION_FILES)
        self._transaction = transaction

    def insert(self, entry: ArchiveEntry, files: Sequence[ArchiveFile]) -> None:
        check_entry_id(entry.id)
        check_files(files)
        with self._transaction(f"cannot archive opinion '{entry.id}'", writes=True) as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (id, created_at, kind, subject_id, record) "
                    "VALUES (%s, %s, %s, %s, %s)"
                ).format(self._records),
                (
                    entry.id,
                    entry.created_at,
                    entry.kind,
                    entry.subject_id,
                    Jsonb(json.loads(entry.record)),
                ),
            )
            with conn.cursor() as cursor:
                cursor.executemany(
                    sql.SQL(
                        "INSERT INTO {} (opinion_id, name, media_type, sha256, content) "
                        "VALUES (%s, %s, %s, %s, %s)"
                    ).format(self._files),
                    [(entry.id, f.name, f.media_type, f.sha256, f.content) for f in files],
                )

    def entries(self, kind: str | None = None, subject_id: str | None = None) -> list[ArchiveEntry]:
        clauses, args = entry_filters(kind, subject_id, "%s")
        query = sql.SQL(
            "SELECT id, created_at, kind, subject_id, record FROM {}"
            + clauses
            + " ORDER BY created_at, id"
        ).format(self._records)
        with self._transaction("cannot list the archived opinions") as conn:
            found = conn.execute(query, args).fetchall()
        return [entry_of(row) for row in found]

    def entry(self, entry_id: str) -> ArchiveEntry:
        check_entry_id(entry_id)
        row = self._one(
            sql.SQL("SELECT id, created_at, kind, subject_id, record FROM {} WHERE id = %s"),
            self._records,
            (entry_id,),
            f"cannot read archived opinion '{entry_id}'",
        )
        if row is None:
            raise NotFoundError(f"no archived opinion '{entry_id}'")
        return entry_of(row)

    def file(self, entry_id: str, name: str) -> ArchiveFile:
        check_entry_id(entry_id)
        row = self._one(
            sql.SQL(
                "SELECT media_type, sha256, content FROM {} WHERE opinion_id = %s AND name = %s"
            ),
            self._files,
            (entry_id, name),
            f"cannot read archived opinion '{entry_id}'",
        )
        if row is None:
            raise NotFoundError(f"archived opinion '{entry_id}' has no file '{name}'")
        media_type, sha256, content = row
        content = checked_content(entry_id, name, bytes(content), sha256)
        return ArchiveFile(name, media_type, content)

    def _one(
        self, query: sql.SQL, table: sql.Identifier, args: tuple[str, ...], action: str
    ) -> tuple[Any, ...] | None:
        with self._transaction(action) as conn:
            return conn.execute(query.format(table), args).fetchone()
