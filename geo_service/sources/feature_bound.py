"""The most features (rows) one import may read: ``GEO_SERVICE_MAX_FEATURES``.

Every reader of imported files checks its count against one bound, set once for the whole
import by :func:`~geo_service.pipeline.import_layer` (:func:`features_bounded`), so that no
reader, however it reads (GDAL, pandas, pyarrow's streaming reader, gtfs-kit, XML), escapes
it. The count is taken cheaply before reading wherever a file gives it: GDAL's header count
(GeoPackage, Shapefile, FlatGeobuf), Parquet metadata, the line count of a text file (counted
by blocks of bytes, never decoded). A gzipped table has no such count: its rows are counted
as they stream, and the reading stops at the bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Final

from geo_service.errors import InputError
from geo_service.settings import DEFAULT_MAX_FEATURES

_BOUND: ContextVar[int] = ContextVar("geo_service_max_features", default=DEFAULT_MAX_FEATURES)
_BLOCK: Final = 1 << 24
_ADVICE: Final = "(GEO_SERVICE_MAX_FEATURES): split the file, or raise the limit"


@contextmanager
def features_bounded(most: int) -> Iterator[None]:
    """Within the block, readers accept at most ``most`` features per file (or table)."""
    token = _BOUND.set(most)
    try:
        yield
    finally:
        _BOUND.reset(token)


def max_features() -> int:
    """The bound in force (:data:`~geo_service.settings.DEFAULT_MAX_FEATURES` outside an
    import)."""
    return _BOUND.get()


def check_count(source: str | Path, count: int | None, known_from: str) -> None:
    """Refuse ``source`` when its ``count`` of features (None: unknown) exceeds the bound.

    ``known_from`` says where the count was read (``"lines"``, ``"metadata"``...).
    """
    most = _BOUND.get()
    if count is not None and count > most:
        raise InputError(
            f"{source}: {count:,} features (from its {known_from}); expected at most {most:,} "
            f"{_ADVICE}"
        )


def check_streamed(source: str | Path, rows: int) -> None:
    """Stop a reading that has already met more than the bound's ``rows`` (files without a
    count: gzipped tables, XML)."""
    most = _BOUND.get()
    if rows > most:
        raise InputError(
            f"{source}: more than {most:,} features (reading stopped there); expected at most "
            f"{most:,} {_ADVICE}"
        )


def check_lines(source: str | Path, handle: IO[bytes], *, header_lines: int = 1) -> None:
    """Refuse a text stream of more than the bound's lines after its ``header_lines``: the
    bytes are counted by blocks, never decoded (the stream is read to its end)."""
    lines, last = 0, b"\n"
    while block := handle.read(_BLOCK):
        lines += block.count(b"\n")
        last = block[-1:]
    check_count(source, lines + (last != b"\n") - header_lines, "lines")


def check_file_lines(path: Path, *, header_lines: int = 1) -> None:
    """:func:`check_lines` of the file ``path``."""
    try:
        with path.open("rb") as handle:
            check_lines(path, handle, header_lines=header_lines)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
