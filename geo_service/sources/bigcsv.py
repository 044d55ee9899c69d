"""Streaming large delimited files (millions of rows, gzipped or not) with pyarrow.

Producers' national and departmental tables (ARCEP buildings and eligibility) are too large
for pandas' text reader: :func:`scan_csv` streams only the columns it is asked for, as text,
batch by batch, and hands each batch to a reducer, so memory stays bounded by the batch size
and the reducers' results. The encoding is UTF-8, else Windows-1252, else Latin-1; lines with
the wrong number of fields are refused all at once with their line numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from geo_service.errors import InputError
from geo_service.sources.archive import check_expansion
from geo_service.sources.csvfile import CsvDialect, is_gzip, read_csv_header
from geo_service.sources.feature_bound import check_file_lines, check_streamed

T = TypeVar("T")
#: Encodings tried in order when a file is not valid UTF-8.
_ENCODINGS: Final = ("utf8", "cp1252", "latin-1")
_BLOCK_SIZE: Final = 8 << 20
_MAX_BAD_LINES: Final = 1000


def header_columns(path: Path) -> tuple[CsvDialect, dict[str, str]]:
    """The dialect of ``path`` and its columns, by lower-case name (value: name in the file)."""
    dialect, names = read_csv_header(path)
    return dialect, {name.lower(): name for name in names}


def missing_columns(columns: dict[str, str], required: Sequence[str]) -> list[str]:
    """Names of ``required`` (lower-case) absent from ``columns``."""
    return [name for name in required if name not in columns]


def describe_missing(path: Path, missing: Sequence[str], columns: dict[str, str]) -> str:
    """One sentence naming the missing columns of ``path`` and the columns it has."""
    found = ", ".join(columns.values()) or "none"
    return f"{path.name}: missing column(s) {', '.join(repr(c) for c in missing)} (found: {found})"


def scan_csv(
    path: Path,
    columns: dict[str, str],
    reduce: Callable[[pa.RecordBatch, int], T],
    *,
    separator: str,
    dictionary: Sequence[str] = (),
) -> list[T]:
    """Stream the text columns ``columns`` of ``path`` through ``reduce``, batch by batch.

    Parameters
    ----------
    path
        Delimited text file, gzipped or not (detected from its first bytes).
    columns
        Columns to read: canonical lower-case name -> name in the file. Batches carry the
        canonical names, every column as text (nulls for empty fields).
    dictionary
        Canonical names of columns with few distinct values (codes, classes), read as
        dictionary-encoded text: each batch then holds its distinct values once.
    reduce
        Called with each batch and the 0-based index of its first data row; its results
        are returned in order.
    separator
        Field separator.

    Raises
    ------
    InputError
        When lines have the wrong number of fields (all listed), the file is unreadable, or
        it is gzipped and expands like a "gzip bomb" (checked at every block read), or it
        holds more rows than ``GEO_SERVICE_MAX_FEATURES`` (from its line count before reading;
        a gzipped file, counted as it streams, is stopped at the bound).
    """
    if not is_gzip(path):
        check_file_lines(path)
    last_error: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            try:
                return _scan(path, columns, reduce, separator, encoding, dictionary, True)
            except _BadLinesError:
                # parallel parsing does not number lines: read again to name them
                return _scan(path, columns, reduce, separator, encoding, dictionary, False)
        except _BadLinesError as exc:
            raise _bad_lines(path, exc.lines, separator) from None
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc) and "utf8" not in str(exc).lower():
                raise _unreadable(path, exc, separator) from exc
            last_error = exc
    raise _unreadable(path, last_error or ValueError("unknown encoding"), separator)


class _BadLinesError(Exception):
    def __init__(self, lines: list[int]) -> None:
        super().__init__(f"{len(lines)} bad lines")
        self.lines = lines


def _scan(
    path: Path,
    columns: dict[str, str],
    reduce: Callable[[pa.RecordBatch, int], T],
    separator: str,
    encoding: str,
    dictionary: Sequence[str],
    threads: bool,
) -> list[T]:
    bad_lines: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_lines.append(-1 if row.number is None else int(row.number))
        if len(bad_lines) > _MAX_BAD_LINES:
            return "error"
        return "skip"

    names = list(columns.values())
    text = pa.dictionary(pa.int32(), pa.string())
    types = {columns[c]: text if c in dictionary else pa.string() for c in columns}
    results: list[T] = []
    first = 0
    with _input(path) as source:
        reader = pacsv.open_csv(
            source.stream,
            read_options=pacsv.ReadOptions(
                encoding=encoding, block_size=_BLOCK_SIZE, use_threads=threads
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=separator, invalid_row_handler=on_invalid, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                column_types=types,
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
        renames = list(columns)
        try:
            for batch in reader:
                batch = batch.select(names).rename_columns(renames)
                check_streamed(path, first + batch.num_rows)
                results.append(reduce(batch, first))
                first += batch.num_rows
        except pa.ArrowInvalid:
            if len(bad_lines) > _MAX_BAD_LINES:
                raise _BadLinesError(bad_lines) from None
            raise
    if bad_lines:
        raise _BadLinesError(bad_lines)
    return results


class _Source:
    """The text stream of a file; a gzipped one is inflated through :meth:`read`, which
    counts the expanded bytes and stops a "gzip bomb" after a few blocks."""

    def __init__(self, path: Path, raw: pa.NativeFile, gzipped: bool) -> None:
        self.path = path
        self.raw = raw
        self.expanded = 0
        self._inflate = pa.CompressedInputStream(raw, "gzip") if gzipped else None
        self.stream: pa.NativeFile = pa.PythonFile(self, mode="r") if gzipped else raw

    def read(self, size: int = -1) -> bytes:
        """Expanded bytes (called by pyarrow through :class:`pyarrow.PythonFile`).

        Raises
        ------
        InputError
            When the data expands like a bomb (:func:`check_expansion`).
        """
        assert self._inflate is not None
        data: bytes = self._inflate.read(size if size >= 0 else None)
        self.expanded += len(data)
        check_expansion(self.path, self.raw.tell(), self.expanded)
        return data

    def close(self) -> None:
        """Close the file."""
        self.raw.close()

    @property
    def closed(self) -> bool:
        """Whether the file is closed (asked by :class:`pyarrow.PythonFile`)."""
        return bool(self.raw.closed)


@contextmanager
def _input(path: Path) -> Iterator[_Source]:
    try:
        source = _Source(path, pa.OSFile(str(path)), is_gzip(path))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from exc
    try:
        yield source
    finally:
        source.close()


def _bad_lines(path: Path, lines: list[int], separator: str) -> InputError:
    known = sorted(n for n in lines if n >= 0)
    shown = ", ".join(str(n) for n in known[:5])
    more = len(lines) - min(len(known), 5)
    where = f"lines {shown}" + (f" and {more} more" if more > 0 else "") if known else ""
    return InputError(
        f"{path}: {len(lines)} line(s) with the wrong number of fields"
        f"{' (' + where + ')' if where else ''}; expected every line to have as many "
        f"'{separator}'-separated fields as the header"
    )


def _unreadable(path: Path, exc: Exception, separator: str) -> InputError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"{path}: cannot be read as a '{separator}'-separated text file ({text}); expected "
        "a header line then one row per line, UTF-8 or Windows-1252, gzipped or not"
    )
