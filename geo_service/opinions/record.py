"""The chamber's opinion record: every opinion given, archived with what it stated.

An :class:`OpinionRecord` keeps an opinion's id, date and subject, the key figures and the
thresholds it stated, the vintages and data dates of its inputs, and its rendered files with
their sha256. Records live in the store's insert-only archive
(:mod:`geo_service.store.archive`): once archived, an opinion and its files never change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from geo_service.model import LayerMeta
from geo_service.opinions.model import KeyFigure, Opinion, OpinionKind, PriorityLevels
from geo_service.settings import AnalysisParams
from geo_service.store import Store
from geo_service.store.archive import ArchiveEntry, ArchiveFile


class ArchivedFile(BaseModel):
    """One rendered file of an archived opinion."""

    name: str
    media_type: str
    sha256: str = Field(description="Hex SHA-256 of the file's bytes.")
    size: int = Field(description="Size in bytes.")


class OpinionRecord(BaseModel):
    """What the record keeps of one opinion (JSON metadata of ``GET /opinions/{id}``)."""

    id: str = Field(description="Archive id: UTC date and time of archiving, 8 random hex.")
    created_at: datetime = Field(description="When the opinion was archived (UTC).")
    date: dt.date = Field(description="The date printed on the opinion.")
    kind: OpinionKind
    subject_id: str | None = Field(description="zone_id, INSEE code, or None (territory).")
    subject: str
    title: str
    status: str | None = None
    status_label: str | None = None
    recommendation: str = Field(description="The recommendation label (French).")
    level: int | None = Field(default=None, description="Recommendation level (1, 2, 3).")
    figures: list[KeyFigure] = Field(description="The key figures the opinion stated.")
    params: AnalysisParams = Field(description="The thresholds and weights of the analysis.")
    levels: PriorityLevels
    analyzed_at: datetime
    vintages: dict[str, str] = Field(
        default_factory=dict, description="Vintage of each vintaged input layer (2026-T1)."
    )
    data_dates: dict[str, dt.date] = Field(
        default_factory=dict, description="Date of the data of each dated input layer."
    )
    synthetic: bool
    previous_id: str | None = Field(
        default=None, description="The earlier opinion its « Évolution » section compared with."
    )
    files: list[ArchivedFile]

    def figure(self, column: str) -> KeyFigure | None:
        """The figure the opinion stated from analysis column ``column`` (None if absent)."""
        return next((f for f in self.figures if f.column == column), None)


def new_record_id(now: datetime) -> str:
    """An archive id: ``20261203-125143-3f9a1c2b`` (``now`` in UTC, then 8 random hex)."""
    return f"{now.astimezone(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def input_vintages(inputs: Mapping[str, LayerMeta]) -> dict[str, str]:
    """The vintage of each input layer that has one."""
    return {name: meta.vintage for name, meta in sorted(inputs.items()) if meta.vintage}


def input_dates(inputs: Mapping[str, LayerMeta]) -> dict[str, dt.date]:
    """The data date of each input layer that has one."""
    return {name: meta.data_date for name, meta in sorted(inputs.items()) if meta.data_date}


def record_of(
    opinion: Opinion,
    files: Sequence[ArchiveFile],
    inputs: Mapping[str, LayerMeta],
    *,
    record_id: str,
    created_at: datetime,
    previous_id: str | None = None,
) -> OpinionRecord:
    """The record of ``opinion`` rendered to ``files``, from input layers ``inputs``."""
    return OpinionRecord(
        id=record_id,
        created_at=created_at,
        date=opinion.date,
        kind=opinion.kind,
        subject_id=opinion.subject_id,
        subject=opinion.subject,
        title=opinion.title,
        status=opinion.status,
        status_label=opinion.status_label,
        recommendation=opinion.recommendation.label,
        level=opinion.recommendation.level,
        figures=opinion.key_figures,
        params=opinion.params,
        levels=opinion.levels,
        analyzed_at=opinion.analyzed_at,
        vintages=input_vintages(inputs),
        data_dates=input_dates(inputs),
        synthetic=opinion.synthetic,
        previous_id=previous_id,
        files=[
            ArchivedFile(name=f.name, media_type=f.media_type, sha256=f.sha256, size=len(f.content))
            for f in files
        ],
    )


def archive(store: Store, record: OpinionRecord, files: Sequence[ArchiveFile]) -> OpinionRecord:
    """Insert ``record`` and its files into the store's archive (one transaction)."""
    entry = ArchiveEntry(
        id=record.id,
        created_at=record.created_at,
        kind=record.kind.value,
        subject_id=record.subject_id,
        record=record.model_dump_json(),
    )
    store.opinion_archive().insert(entry, files)
    return record


def records(
    store: Store, kind: OpinionKind | None = None, subject_id: str | None = None
) -> list[OpinionRecord]:
    """The archived opinions (on ``kind`` / ``subject_id`` when given), oldest first."""
    entries = store.opinion_archive().entries(kind.value if kind is not None else None, subject_id)
    return [OpinionRecord.model_validate_json(e.record) for e in entries]


def record(store: Store, record_id: str) -> OpinionRecord:
    """The archived opinion ``record_id`` (NotFoundError if absent)."""
    return OpinionRecord.model_validate_json(store.opinion_archive().entry(record_id).record)


def latest(store: Store, kind: OpinionKind, subject_id: str | None) -> OpinionRecord | None:
    """The most recent archived opinion on the subject, None if there is none."""
    found = records(store, kind, subject_id)
    if kind == OpinionKind.TERRITORY:
        found = [r for r in found if r.subject_id is None]
    return found[-1] if found else None
