"""Opinions on many zones at once (``geo-service opinion --all-flagged``), on several cores.

This process reads what every document needs once: the analysis results, the store's record
(earlier opinions, for the « Évolution » sections), the layers of the static maps, and imports
matplotlib and WeasyPrint (its stylesheet parsed, its fonts set up). Worker processes forked
from it (``fork`` start method) inherit all of it and only render, each a share of the zones,
without touching the store (no database connection crosses a fork), their garbage collector
passing over what they inherited; this process archives the documents in the record as they
come, in the zones' order. Without ``fork`` (not Linux), or with one job, the zones are
rendered here one after the other. The documents are the same either way.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo_service.analysis import AnalysisResult
from geo_service.errors import GeoServiceError
from geo_service.opinions.document import (
    Document,
    OpinionFormat,
    PreparedOpinion,
    Subject,
    archived,
    map_layers,
    prepare_opinion,
    render_document,
)
from geo_service.opinions.model import OpinionKind
from geo_service.opinions.pdf import load_renderer
from geo_service.workspace import Workspace

if TYPE_CHECKING:
    from geo_service.opinions.staticmap import MapLayers


@dataclass(frozen=True)
class _Batch:
    """What the workers render (inherited through ``fork``)."""

    prepared: Sequence[PreparedOpinion]
    fmt: OpinionFormat
    layers: MapLayers | None


_BATCH: _Batch | None = None


def default_jobs() -> int:
    """Worker processes by default: the cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def zone_documents(
    workspace: Workspace,
    result: AnalysisResult,
    zone_ids: Sequence[str],
    fmt: OpinionFormat,
    *,
    jobs: int = 1,
    archive: bool = False,
) -> Iterator[Document]:
    """The opinion on each of ``zone_ids`` rendered in ``fmt``, in their order, by ``jobs``
    processes, archived in the store's record when ``archive`` (see the module's description);
    the same documents as :func:`~geo_service.opinions.document.opinion_document` gives."""
    prepared = [prepare_opinion(workspace, result, Subject(OpinionKind.ZONE, z)) for z in zone_ids]
    needs_map = fmt in (OpinionFormat.HTML, OpinionFormat.PDF)
    batch = _Batch(prepared, fmt, map_layers(workspace, result) if needs_map else None)
    for item, document in zip(prepared, _rendered(batch, jobs), strict=True):
        yield archived(workspace, result, item, document) if archive else document


def _rendered(batch: _Batch, jobs: int) -> Iterator[Document]:
    jobs = min(jobs, len(batch.prepared))
    if batch.fmt == OpinionFormat.PDF:
        # WeasyPrint, the stylesheet and the fonts loaded once for every worker; if they are
        # missing, each document says so (render_pdf).
        with contextlib.suppress(GeoServiceError):
            load_renderer()
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        with _collector_skips_loaded():
            yield from (_render(batch, k) for k in range(len(batch.prepared)))
        return
    global _BATCH  # read by the forked workers
    _BATCH = batch
    try:
        with _collector_skips_loaded():  # in the workers, inherited frozen
            pool = multiprocessing.get_context("fork").Pool(jobs)
        with pool:
            yield from pool.imap(_render_inherited, range(len(batch.prepared)))
    finally:
        _BATCH = None


@contextlib.contextmanager
def _collector_skips_loaded() -> Iterator[None]:
    """Within, the cyclic garbage collector passes over the objects that exist on entry (the
    results, the map layers, the modules: 250,000 objects on the demo), which its full passes
    traversed a few times per document (12 % of the rendering time), and in a forked worker
    touched, copying their memory pages; the objects made within are collected as usual.
    Objects frozen before (by the caller) stay frozen."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def _render_inherited(index: int) -> Document:
    assert _BATCH is not None, "worker started without its batch"
    return _render(_BATCH, index)


def _render(batch: _Batch, index: int) -> Document:
    with _collected_after():
        return render_document(batch.prepared[index], batch.fmt, batch.layers)


@contextlib.contextmanager
def _collected_after() -> Iterator[None]:
    """The cyclic garbage collector run once after the work within instead of as it allocates:
    a PDF's layout makes objects by the hundred thousand, which its automatic passes traversed
    again and again while they lived (7 % of the rendering time once the inherited objects
    are frozen); one pass at the end frees the document's cycles all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()
