"""An import run in a worker process bounded by the settings' import limits.

``geo-service import`` and ``POST /layers/{layer}`` both import through :func:`import_bounded`:
the files are read, validated and stored by :func:`geo_service.pipeline.import_files` in a child
process limited to ``GEO_SERVICE_IMPORT_MEMORY_MB`` of address space and stopped after
``GEO_SERVICE_IMPORT_TIMEOUT_S`` seconds (:mod:`geo_service.bounded`), so that no file can hang
the command or the server, or exhaust the machine's memory; the store is unchanged when it is
stopped.

This module loads neither the pipeline, the store nor the formats itself (the functions that
use them import them), so that ``geo-service import`` can start the workers' fork server, which
loads them, before it loads them itself (:func:`start`): both interpreters import at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_service import bounded
from geo_service.bounded import Bounds, preload, run_bounded
from geo_service.format_modules import FORMAT_MODULES

if TYPE_CHECKING:
    from geo_service.settings import Settings
    from geo_service.sources.formats import ImportFormat
    from geo_service.validation import LayerReport

# the child imports with every format loaded already
preload(__name__, *FORMAT_MODULES)


def start() -> None:
    """Start the workers' fork server now, rather than at the first import, then load the
    formats here while it loads them there (seconds, that a server would otherwise spend on its
    event loop and a command before its import)."""
    bounded.start()
    from geo_service.sources.formats import all_formats  # seconds of imports: after the start

    all_formats()


def import_bounds(settings: Settings) -> Bounds:
    """The limits of one import under ``settings``."""
    return Bounds(memory_mb=settings.import_memory_mb, timeout_s=settings.import_timeout_s)


def import_bounded(
    settings: Settings, layer: str, paths: Sequence[Path], **kwargs: Any
) -> tuple[ImportFormat, LayerReport, str | None]:
    """:func:`geo_service.pipeline.import_files` of ``paths`` into the store of ``settings``,
    in a bounded worker process; the format, the report and the stored layer's version.

    Raises what ``import_files`` raises, :class:`~geo_service.errors.LimitExceededError` naming
    the files when the import is stopped, and
    :class:`~geo_service.bounded.WorkerFailureError` when it failed unexpectedly.
    """
    from geo_service.sources.formats import all_formats

    paths = [Path(p) for p in paths]
    names = ", ".join(p.name for p in paths)
    name, report, version = run_bounded(
        _import, settings, layer, paths, kwargs, bounds=import_bounds(settings), what=names
    )
    (fmt,) = (f for f in all_formats() if f.name == name)
    return fmt, report, version


def _import(
    settings: Settings, layer: str, paths: list[Path], kwargs: dict[str, Any]
) -> tuple[str, LayerReport, str | None]:
    """The work of the worker process (loaded in its fork server already)."""
    from geo_service import pipeline
    from geo_service.store import open_store

    store = open_store(settings)
    try:
        fmt, report = pipeline.import_files(store, layer, paths, **kwargs)
        return fmt.name, report, store.version(layer)
    finally:
        store.close()
