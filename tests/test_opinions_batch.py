"""Opinions on every flagged zone rendered by several processes (issue 18)."""

from __future__ import annotations

import gc
import os
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import geopandas as gpd
import pypdf
import pytest
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.cli import app as cli_app
from geo_service.model import CoverageRaster
from geo_service.opinions import batch
from geo_service.opinions import record as opinion_record
from geo_service.opinions.document import Document, OpinionFormat
from geo_service.opinions.model import OpinionKind
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.workspace import Workspace


@pytest.fixture
def workspace(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame, coverage: CoverageRaster
) -> Workspace:
    store = GeoPackageStore(tmp_path / "data")
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="t"))
    store.write_layer("premises", premises, pipeline.layer_meta("premises", source="t"))
    store.write_raster("coverage", coverage, pipeline.layer_meta("coverage", source="t"))
    pipeline.analyze_store(store, AnalysisParams())
    return Workspace(Settings(data_dir=tmp_path / "data", database_url=None), store)


def _flagged(workspace: Workspace) -> list[str]:
    flagged = [str(z) for z in workspace.results().flagged()["zone_id"]]
    assert len(flagged) >= 2, flagged
    return flagged


def test_the_zones_are_rendered_by_worker_processes_in_order(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def where(_: object, index: int) -> Document:
        return Document(f"{index} {os.getpid()}".encode(), "text/plain", str(index))

    monkeypatch.setattr(batch, "_render", where)
    flagged = _flagged(workspace)
    zones = [*flagged, *flagged, *flagged]
    documents = list(
        batch.zone_documents(workspace, workspace.results(), zones, OpinionFormat.JSON, jobs=2)
    )
    assert [d.filename for d in documents] == [str(k) for k in range(len(zones))]
    pids = {int(d.content.split()[1]) for d in documents}
    assert os.getpid() not in pids
    assert batch._BATCH is None


@pytest.mark.parametrize("fmt", [OpinionFormat.HTML, OpinionFormat.JSON])
def test_documents_are_the_same_with_one_or_two_processes(
    workspace: Workspace, fmt: OpinionFormat
) -> None:
    result = workspace.results()
    flagged = _flagged(workspace)
    alone = list(batch.zone_documents(workspace, result, flagged, fmt, jobs=1))
    shared = list(batch.zone_documents(workspace, result, flagged, fmt, jobs=2))
    assert alone == shared
    assert [d.filename for d in alone] == [f"avis-zone-{z}.{fmt.value}" for z in flagged]


def test_the_cli_writes_and_archives_every_flagged_opinion_with_jobs(
    workspace: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "avis"
    data_dir = str(workspace.settings.data_dir)
    answer = CliRunner().invoke(
        cli_app,
        [
            *("opinion", "--all-flagged", "--format", "md", "--jobs", "2"),
            *("--out", str(out), "--data-dir", data_dir),
        ],
    )
    assert answer.exit_code == 0, answer.output
    flagged = _flagged(workspace)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"avis-zone-{z}.md" for z in flagged)
    archived = opinion_record.records(workspace.store, OpinionKind.ZONE)
    assert sorted(str(r.subject_id) for r in archived) == sorted(flagged)
    refused = CliRunner().invoke(
        cli_app, ["opinion", "--all-flagged", "--jobs", "0", "--out", str(out / "0")]
    )
    assert refused.exit_code == 2
    assert "--jobs" in refused.output


def _pdf_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(BytesIO(content)).pages]


def test_pdfs_are_the_same_with_one_or_two_processes_and_the_collector_is_restored(
    workspace: Workspace,
) -> None:
    """The workers inherit the loaded objects frozen out of the garbage collector and collect
    once per document: the same PDFs as one process renders, the collector as it was after."""
    result = workspace.results()
    flagged = _flagged(workspace)[:2]
    alone = list(batch.zone_documents(workspace, result, flagged, OpinionFormat.PDF, jobs=1))
    shared = list(batch.zone_documents(workspace, result, flagged, OpinionFormat.PDF, jobs=2))
    assert [_pdf_text(d.content) for d in alone] == [_pdf_text(d.content) for d in shared]
    assert all(d.content.startswith(b"%PDF-") for d in shared)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_pdfs_rendered_on_two_threads_at_once(workspace: Workspace) -> None:
    """The API renders on several threads: each has its own font configuration (a Pango font
    map is not shared between threads) and renders the same PDF as the main thread."""
    from geo_service.opinions.document import Subject, opinion_document

    subject = Subject(OpinionKind.ZONE, _flagged(workspace)[0])
    expected = _pdf_text(opinion_document(workspace, subject, OpinionFormat.PDF).content)
    with ThreadPoolExecutor(2) as pool:
        rendered = list(
            pool.map(lambda _: opinion_document(workspace, subject, OpinionFormat.PDF), range(4))
        )
    assert all(_pdf_text(d.content) == expected for d in rendered)
