"""The opinion record (issue 20): every opinion written archived unchanged, on both stores;
the « Évolution depuis l'avis du … » section of a later opinion on the same subject."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.api.auth import hash_api_key
from geo_service.cli import app as cli_app
from geo_service.errors import NotFoundError, ParameterError, StoreError
from geo_service.formatting import GE, MBPS, NNBSP
from geo_service.model import LayerMeta
from geo_service.opinions import record as opinion_record
from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
from geo_service.opinions.evolution import change_text, evolution
from geo_service.opinions.model import KeyFigure, Opinion, OpinionKind
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore, Store
from geo_service.store.archive import ArchiveEntry, ArchiveFile
from geo_service.store.postgis import PostGISStore
from geo_service.validation import validate_layer
from geo_service.workspace import Workspace

KEY = "a-test-key-of-the-record-0123456789"


def _entry(entry_id: str, kind: str = "zone", subject_id: str | None = "A") -> ArchiveEntry:
    return ArchiveEntry(
        id=entry_id,
        created_at=datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
        kind=kind,
        subject_id=subject_id,
        record='{"x": 1}',
    )


def _id(n: int) -> str:
    return f"20261203-120000-{n:08x}"


def _settings(store: Store, tmp_path: Path) -> Settings:
    if isinstance(store, PostGISStore):
        return Settings(
            database_url=store._url, database_schema=store.schema, data_dir=tmp_path / "data"
        )
    assert isinstance(store, GeoPackageStore)
    return Settings(database_url=None, data_dir=store.root.parent)


def _premises_meta(vintage: str, day: date) -> LayerMeta:
    return LayerMeta(
        name="premises",
        kind="premises",
        title="Locaux (ARCEP)",
        source="test",
        data_date=day,
        vintage=vintage,
    )


def _stored(store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> None:
    """Zones A-D, premises of vintage 2025-T4, analysed."""
    zones, _ = validate_layer("zones", zones, "zones.gpkg")
    store.write_layer(
        "zones", zones, LayerMeta(name="zones", kind="zones", title="Zones", source="test")
    )
    premises, _ = validate_layer("premises", premises, "premises.gpkg")
    pipeline.store_vintage(
        store, "premises", premises, _premises_meta("2025-T4", date(2025, 12, 31))
    )
    pipeline.analyze_store(store, AnalysisParams())


def _upgraded(premises: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Zone B's building (p2) and zone A's HD3 one upgraded to fibre (vintage 2026-T1)."""
    newer = premises.copy()
    newer.loc[newer["premises_id"].isin(["p2", "p3"]), "down_class"] = "THD1G"
    newer.loc[newer["premises_id"].isin(["p2", "p3"]), "ftth"] = True
    return newer


# -- the archive of each store --------------------------------------------------------------


def test_an_entry_and_its_files_round_trip(store: Store) -> None:
    archive = store.opinion_archive()
    assert archive.entries() == []
    pdf = ArchiveFile("avis-zone-A.pdf", "application/pdf", b"%PDF-1.7 \x00\xff binary")
    archive.insert(_entry(_id(1)), [pdf])
    archive.insert(_entry(_id(2), "commune", "13001"), [pdf])
    assert [e.id for e in archive.entries()] == [_id(1), _id(2)]
    assert [e.id for e in archive.entries("zone", "A")] == [_id(1)]
    back = archive.file(_id(1), "avis-zone-A.pdf")
    assert back.content == pdf.content
    assert back.sha256 == hashlib.sha256(pdf.content).hexdigest()
    assert archive.entry(_id(2)).subject_id == "13001"
    with pytest.raises(NotFoundError):
        archive.entry(_id(3))
    with pytest.raises(NotFoundError):
        archive.file(_id(1), "other.pdf")
    with pytest.raises(NotFoundError):
        archive.entry("../../etc/passwd")


def test_an_id_is_archived_once_and_a_refused_entry_leaves_nothing(store: Store) -> None:
    archive = store.opinion_archive()
    one = ArchiveFile("a.md", "text/markdown", b"first")
    archive.insert(_entry(_id(1)), [one])
    with pytest.raises(StoreError):
        archive.insert(_entry(_id(1)), [ArchiveFile("a.md", "text/markdown", b"second")])
    assert archive.file(_id(1), "a.md").content == b"first"
    with pytest.raises(ParameterError, match="repeat"):
        archive.insert(_entry(_id(2)), [one, one])
    with pytest.raises(ParameterError, match="unsafe"):
        archive.insert(_entry(_id(2)), [ArchiveFile("../x.md", "text/markdown", b"")])
    # A file that fails once the record row is inserted rolls the whole entry back.
    broken = ArchiveFile("b.md", "text/markdown", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        archive.insert(_entry(_id(3)), [one, broken])
    assert [e.id for e in archive.entries()] == [_id(1)]


def test_archived_rows_refuse_update_and_delete(store: Store) -> None:
    archive = store.opinion_archive()
    archive.insert(_entry(_id(1)), [ArchiveFile("a.md", "text/markdown", b"first")])
    statements = (
        "UPDATE {s}opinion_files SET content = {b}",
        "DELETE FROM {s}opinion_files",
        "UPDATE {s}opinion_records SET subject_id = 'B'",
        "DELETE FROM {s}opinion_records",
    )
    if isinstance(store, GeoPackageStore):
        for statement in statements:
            with (
                sqlite3.connect(store.root / "opinions.sqlite") as conn,
                pytest.raises(sqlite3.IntegrityError, match="immutable"),
            ):
                conn.execute(statement.format(s="", b="x'00'"))
    else:
        assert isinstance(store, PostGISStore)
        for statement in (*statements, "TRUNCATE {s}opinion_files"):
            with (
                psycopg.connect(store._url) as conn,
                pytest.raises(psycopg.errors.RaiseException, match="immutable"),
            ):
                conn.execute(statement.format(s=f'"{store.schema}".', b="'\\x00'::bytea"))
    assert archive.file(_id(1), "a.md").content == b"first"
    assert [e.subject_id for e in archive.entries()] == ["A"]


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    archive = store.opinion_archive()
    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            for n in range(start, start + 10):
                archive.insert(_entry(_id(n)), [ArchiveFile("a.md", "text/markdown", b"%d" % n)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(100 * t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = archive.entries()
    assert len(found) == 40
    assert all(archive.file(e.id, "a.md").content == b"%d" % int(e.id[-8:], 16) for e in found)


def _insert_at_once(archive: Any, writers: int, each: int) -> list[BaseException]:
    """``writers`` threads inserting ``each`` entries into ``archive``, all starting at the
    same moment; the errors they met."""
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(first: int) -> None:
        try:
            start.wait()
            for n in range(first, first + each):
                archive.insert(_entry(_id(n)), [ArchiveFile("a.md", "text/markdown", b"%d" % n)])
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(100 * t,)) for t in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_writers_creating_the_archive_at_once_lose_nothing(tmp_path: Path) -> None:
    """Eight writers insert at the same moment into an archive that does not exist yet: its
    switch to a write-ahead log, which SQLite does not wait for, failed one round in ten."""
    for round_ in range(30):
        archive = GeoPackageStore(tmp_path / str(round_)).opinion_archive()
        assert _insert_at_once(archive, 8, 2) == [], f"round {round_}"
        assert len(archive.entries()) == 16


# -- opinions archived and compared ---------------------------------------------------------


def test_a_second_opinion_compares_with_the_first_served_unchanged(
    store: Store, tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    workspace = Workspace(_settings(store, tmp_path), store)
    subject = Subject(OpinionKind.ZONE, "B")
    first = opinion_document(
        workspace, subject, OpinionFormat.MD, on=date(2026, 1, 15), archive=True
    )
    assert first.record is not None
    assert first.record.vintages == {"premises": "2025-T4"}
    assert first.record.previous_id is None
    assert "Évolution" not in first.content.decode()
    stated = first.record.figure("share_thd30")
    assert stated is not None
    assert stated.value == 0.0  # B: one HD3 building

    validated, _ = validate_layer("premises", _upgraded(premises), "premises.gpkg")
    pipeline.store_vintage(
        store, "premises", validated, _premises_meta("2026-T1", date(2026, 3, 31))
    )
    pipeline.analyze_store(store, AnalysisParams())
    second = opinion_document(
        workspace, subject, OpinionFormat.MD, on=date(2026, 4, 20), archive=True
    )
    assert second.record is not None
    assert second.record.previous_id == first.record.id
    assert second.record.vintages == {"premises": "2026-T1"}
    text = second.content.decode()
    assert "## Évolution depuis l'avis du 15 janvier 2026" in text
    assert f"avis n° {first.record.id}" in text
    assert f"| Locaux à {GE}30{MBPS} | 0{NNBSP}% | 100{NNBSP}% | \\+100,0{NNBSP}points |" in text
    assert "Statut : zone mal desservie le 15 janvier 2026, zone bien desservie aujourd'hui" in text
    assert "2025-T4 → 2026-T1" in text

    # The first opinion is served from the record byte for byte.
    again = store.opinion_archive().file(first.record.id, first.record.files[0].name)
    assert again.content == first.content
    assert again.sha256 == first.record.files[0].sha256
    listed = opinion_record.records(store, OpinionKind.ZONE, "B")
    assert [r.id for r in listed] == [first.record.id, second.record.id]


def test_unknown_then_or_now_is_an_unknown_change(
    store: Store, tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    workspace = Workspace(_settings(store, tmp_path), store)
    subject = Subject(OpinionKind.ZONE, "B")
    first = opinion_document(workspace, subject, OpinionFormat.JSON, archive=True).record
    assert first is not None
    draft = opinion_document(workspace, subject, OpinionFormat.JSON)
    assert draft.record is None  # a draft is not archived
    assert len(opinion_record.records(store)) == 1
    today = Opinion.model_validate_json(draft.content)
    assert today.evolution is not None
    assert today.evolution.previous_id == first.id

    def unknown(figures: list[KeyFigure]) -> list[KeyFigure]:
        return [
            f.model_copy(update={"value": None, "text": "—"}) if f.column == "share_thd30" else f
            for f in figures
        ]

    then_unknown = first.model_copy(update={"figures": unknown(first.figures)})
    now_unknown = today.model_copy(update={"key_figures": unknown(today.key_figures)})
    for now, then in ((today, then_unknown), (now_unknown, first)):
        line = next(x for x in evolution(now, then, {}).lines if x.column == "share_thd30")
        assert line.change == "inconnue"
        assert line.delta is None
        assert "—" in (line.then, line.now)


def test_change_texts() -> None:
    assert change_text(0.5, "%") == "+0,5\u202fpoint"
    assert change_text(-12.25, "%") == "\u221212,2\u202fpoints"
    assert change_text(3, "") == "+3"
    assert change_text(0.0, "ha") == "sans changement"
    assert change_text(1.5, "ha") == "+1,5\u202fha"


# -- CLI and API ----------------------------------------------------------------------------


def test_cli_archives_every_opinion_and_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zones: gpd.GeoDataFrame, premises
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("GEO_SERVICE_DATA_DIR", str(data))
    monkeypatch.delenv("GEO_SERVICE_DATABASE_URL", raising=False)
    store = GeoPackageStore(data)
    _stored(store, zones, premises)
    runner = CliRunner()
    out = tmp_path / "avis.md"
    done = runner.invoke(cli_app, ["opinion", "--zone", "B", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "Archived in the opinion record as" in done.output
    (record,) = opinion_record.records(store)
    assert record.files[0].sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    listed = runner.invoke(cli_app, ["opinions", "list"])
    assert listed.exit_code == 0, listed.output
    assert "1 archived opinion." in listed.output
    copy = tmp_path / "copy.md"
    shown = runner.invoke(cli_app, ["opinions", "show", record.id, "--out", str(copy)])
    assert shown.exit_code == 0, shown.output
    assert copy.read_bytes() == out.read_bytes()
    missing = runner.invoke(cli_app, ["opinions", "show", "20990101-000000-00000000"])
    assert missing.exit_code == 2
    assert "no archived opinion" in missing.output


def test_api_writes_lists_and_serves_the_record(
    store: Store, tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    settings = _settings(store, tmp_path).model_copy(update={"api_key_hash": hash_api_key(KEY)})
    with TestClient(create_app(settings)) as client:
        body = {"kind": "zone", "id": "B", "format": "md"}
        assert client.post("/opinions", json=body).status_code == 401
        headers = {"X-API-Key": KEY}
        created = client.post("/opinions", json=body, headers=headers)
        assert created.status_code == 201, created.text
        record = created.json()
        assert created.headers["location"].endswith(f"/opinions/{record['id']}")
        assert record["subject_id"] == "B"
        assert record["vintages"] == {"premises": "2025-T4"}
        listed = client.get("/opinions").json()
        assert listed["count"] == 1
        assert listed["opinions"][0]["id"] == record["id"]
        assert client.get("/opinions", params={"kind": "commune"}).json()["count"] == 0
        assert client.get(f"/opinions/{record['id']}").json() == record
        served = client.get(f"/opinions/{record['id']}/file")
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == record["files"][0]["sha256"]
        assert served.headers["etag"] == f'"{record["files"][0]["sha256"]}"'
        assert client.get("/opinions/20990101-000000-00000000").status_code == 404
        assert client.get("/opinions/nope/file").status_code == 404
        refused = client.post("/opinions", json={"kind": "zone"}, headers=headers)
        assert refused.status_code == 400
        assert "zone_id" in refused.text
        unknown = client.post("/opinions", json={"kind": "zone", "id": "Q"}, headers=headers)
        assert unknown.status_code == 404
        again = client.post("/opinions", json=body, headers=headers).json()
        assert again["previous_id"] == record["id"]
        assert client.get(f"/opinions/{record['id']}/file").content == served.content
