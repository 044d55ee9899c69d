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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from geo_service import bounded
from geo_service.bounded import Bounds, preload, run_bounded
from geo_service.format_modules import FORMAT_MODULES

if TYPE_CHECKING:
    from geo_service.settings import Settings
    from geo_service.sources.formats import ImportFormat
    from geo_service.validation import LayerReport

# the child imports with every format loaded already
preload(__name__, *FORMAT_MODULES)

#: GDAL settings of its SQLite driver (GeoPackage) for the import's writes, set in the worker
#: process only (:func:`_import`): they are process-global, and the worker ends with its import,
#: while a server or an in-process caller (tests, notebooks) would keep them for every file it
#: opens. A page cache of 512 MB, so that SQLite's pager does not spill its cache to the file
#: while the 1.3 M premises' GeoPackage (164 MB) is written (the worker's peak: 0.91 GB of RSS
#: and 2.4 GB of address space instead of 0.77 and 2.3, within the 4,000 MB of
#: GEO_SERVICE_IMPORT_MEMORY_MB; benchmarks/README.md), and no syncs while the file is
#: written: the GeoPackage store writes each layer into a new temporary file,
#: fsyncs it, renames it over the old one and fsyncs the folder
#: (``GeoPackageStore._replace_all_locked``), so an import stopped half-way leaves a temporary
#: file that is never renamed (the next write removes it), and the file renamed is on disk
#: whole. Input GeoPackages are only read. No other store is touched: the PostGIS store writes
#: through psycopg, the opinion archive through Python's sqlite3. The rollback journal stays:
#: without it (OGR_SQLITE_JOURNAL=OFF) and with this cache, a disk filling up during the write
#: made GDAL abort the worker ("terminate called without an active exception"), reported as
#: out of memory instead of the disk full (tests/test_store.py, a 3 MB filesystem).
SQLITE_WRITE_OPTIONS: Final[Mapping[str, str]] = {
    "OGR_SQLITE_CACHE": "512",
    "OGR_SQLITE_SYNCHRONOUS": "OFF",
}


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
    import pyogrio

    from geo_service import pipeline
    from geo_service.store import open_store

    pyogrio.set_gdal_config_options(dict(SQLITE_WRITE_OPTIONS))
    store = open_store(settings)
    try:
        fmt, report = pipeline.import_files(store, layer, paths, **kwargs)
        return fmt.name, report, store.version(layer)
    finally:
        store.close()
