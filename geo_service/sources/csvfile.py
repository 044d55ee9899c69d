"""Reading delimited text files whatever their encoding and separator."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from geo_service.errors import InputError, format_rows
from geo_service.sources.feature_bound import check_file_lines

_ENCODINGS: Final = ("utf-8-sig", "cp1252", "latin-1")
_SEPARATORS: Final = (";", ",", "\t", "|")


@dataclass(frozen=True)
class CsvDialect:
    """How a delimited text file is written."""

    encoding: str
    separator: str


#: Longest line accepted in a delimited text file (a WKT polygon of 100,000 vertices fits).
MAX_LINE_BYTES: Final = 16 * 1024 * 1024
#: Most columns accepted in a delimited text file.
MAX_COLUMNS: Final = 10_000


def detect_dialect(path: Path, *, skip_lines: int = 0) -> CsvDialect:
    """Detect the encoding (UTF-8, else Windows-1252/Latin-1) and the separator of ``path``.

    Refuses a file with a line longer than :data:`MAX_LINE_BYTES` or a header of more than
    :data:`MAX_COLUMNS` columns before anything is parsed.
    """
    raw = _read_bytes(path)
    _check_line_lengths(path, raw)
    encoding, text = _decode(raw)
    _, separator = _header(path, _first_lines(text, skip_lines + 50)[skip_lines:])
    return CsvDialect(encoding=encoding, separator=separator)


def _check_line_lengths(path: Path, raw: bytes) -> None:
    if len(raw) <= MAX_LINE_BYTES:
        return
    breaks = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == ord("\n"))
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(raw)]])
    lengths = ends - starts
    longest = int(np.argmax(lengths))
    if lengths[longest] > MAX_LINE_BYTES:
        raise InputError(
            f"{path}: line {longest + 1} is {int(lengths[longest]):,} bytes long; expected "
            f"lines of at most {MAX_LINE_BYTES // (1024 * 1024)} MiB (one feature per line)"
        )


def _header(path: Path, lines: Iterable[str]) -> tuple[str, str]:
    """The header (first non-empty line of ``lines``) and its separator (``,`` if none is found).

    Refuses an empty file, or a header of more than :data:`MAX_COLUMNS` columns.
    """
    header = next((line for line in lines if line.strip()), "")
    if not header:
        raise InputError(f"{path}: the file is empty; expected a header line and rows")
    counts = {sep: _count_outside_quotes(header, sep) for sep in _SEPARATORS}
    separator = max(_SEPARATORS, key=lambda s: counts[s])
    if counts[separator] == 0:
        separator = ","
    columns = counts[separator] + 1
    if columns > MAX_COLUMNS:
        raise InputError(
            f"{path}: the header has {columns:,} columns; expected at most {MAX_COLUMNS:,}"
        )
    return header, separator


def _first_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]``, splitting only the start of ``text``."""
    size = 1 << 16
    while True:
        lines = text[:size].splitlines()
        if len(lines) > count or size >= len(text):  # the last line of a cut may be partial
            return lines[:count]
        size *= 4


def read_csv_table(
    path: Path, *, skip_lines: int = 0, dialect: CsvDialect | None = None
) -> pd.DataFrame:
    """Read ``path`` as text columns (no type guessing), with its encoding and separator detected.

    Column names are stripped of surrounding spaces and quotes. ``skip_lines`` title lines
    above the header are ignored. A file of more rows than ``GEO_SERVICE_MAX_FEATURES``
    (:mod:`~geo_service.sources.feature_bound`, from its line count) is refused before parsing.
    """
    check_file_lines(path, header_lines=skip_lines + 1)
    dialect = dialect or detect_dialect(path, skip_lines=skip_lines)
    try:
        frame = pd.read_csv(
            path,
            sep=dialect.separator,
            encoding=dialect.encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skiprows=skip_lines,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"{path}: cannot be read as a '{dialect.separator}'-separated text file in "
            f"{dialect.encoding} ({_first_line(exc)}); expected one header line then one row "
            "per feature with the same number of fields"
        ) from exc
    _refuse_duplicate_names(path, dialect, skip_lines)
    _refuse_other_separators(path, frame, dialect.separator)
    frame.columns = [str(c).strip().strip('"').strip() for c in frame.columns]
    return frame


def _refuse_other_separators(path: Path, frame: pd.DataFrame, separator: str) -> None:
    """Refuse rows written with another separator than the header's (``a,b,c`` under
    ``x;y;z``): read as one field, they would lose every column but the first."""
    if frame.shape[1] < 2 or frame.empty:
        return
    alone = frame.iloc[:, 1:].isna().all(axis=1).to_numpy()
    if not alone.any():
        return
    first = frame.iloc[:, 0].where(alone, "").fillna("").astype(str)
    for other in (s for s in _SEPARATORS if s != separator):
        wrong = (first.str.count(re.escape(other)) == frame.shape[1] - 1).to_numpy() & alone
        if wrong.any():
            rows = [int(i) + 1 for i in np.flatnonzero(wrong)]
            raise InputError(
                f"{path}: {format_rows(rows)} ({len(rows) / len(frame):.0%} of the rows) "
                f"{'is' if len(rows) == 1 else 'are'} separated by {other!r} where the header "
                f"uses {separator!r} (lines written by different tools?); expected one "
                "separator throughout the file"
            )


def _refuse_duplicate_names(path: Path, dialect: CsvDialect, skip_lines: int) -> None:
    """Refuse a header naming a column twice (pandas would silently rename one ``name.1``)."""
    header = pd.read_csv(
        path,
        sep=dialect.separator,
        encoding=dialect.encoding,
        dtype=str,
        header=None,
        nrows=1,
        keep_default_na=False,
        skiprows=skip_lines,
        skipinitialspace=True,
    )
    seen: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(header.iloc[0].tolist() if len(header) else [], start=1):
        name = str(raw).strip().strip('"').strip()
        key = name.lower()
        if key and key in seen:
            first, first_name = seen[key]
            raise InputError(
                f"{path}: columns {first} '{first_name}' and {number} '{name}' have the same "
                "name; expected each column named once (rename or remove one)"
            )
        seen.setdefault(key, (number, name))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc


def _decode(raw: bytes) -> tuple[str, str]:
    """The first of :data:`_ENCODINGS` in which ``raw`` is valid, and the decoded text."""
    *strict, fallback = _ENCODINGS
    for encoding in strict:
        try:
            return encoding, raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return fallback, raw.decode(fallback)  # Latin-1 decodes any bytes


def _count_outside_quotes(line: str, separator: str) -> int:
    try:
        row = next(csv.reader(io.StringIO(line), delimiter=separator))
    except (csv.Error, StopIteration):
        return 0
    return len(row) - 1


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


#: Bytes read from the start of a file to find its header line.
_HEAD_BYTES: Final = 1 << 16
_GZIP_MAGIC: Final = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """Whether ``path`` is gzip-compressed (by its first bytes, whatever its name)."""
    try:
        with path.open("rb") as handle:
            return handle.read(2) == _GZIP_MAGIC
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc


def read_csv_header(path: Path) -> tuple[CsvDialect, tuple[str, ...]]:
    """The dialect and the column names of a delimited text file, gzipped or not.

    Only the first 64 KiB are read, so this is cheap on files of any size. The header is the
    first non-empty line; names are stripped of spaces and quotes, and empty names become
    ``unnamed: N`` as pandas names them.
    """
    head = _read_head(path)
    if len(head) >= _HEAD_BYTES and b"\n" not in head.lstrip(b"\r\n"):
        raise InputError(
            f"{path}: the header line is longer than {_HEAD_BYTES // 1024} KiB; expected a "
            f"header of column names (at most {MAX_COLUMNS:,} columns)"
        )
    encoding = next(e for e in _ENCODINGS if _decodes_prefix(head, e))
    header, separator = _header(path, head.decode(encoding, errors="replace").splitlines())
    fields = next(csv.reader(io.StringIO(header), delimiter=separator))
    names = tuple(
        name if name else f"unnamed: {i}"
        for i, name in enumerate(f.strip().strip('"').strip() for f in fields)
    )
    return CsvDialect(encoding=encoding, separator=separator), names


def _read_head(path: Path) -> bytes:
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read(_HEAD_BYTES)
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot be read ({exc}); expected a text or .gz file") from exc


def _decodes_prefix(raw: bytes, encoding: str) -> bool:
    """Whether ``raw`` decodes, ignoring a multi-byte character cut at its end."""
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data"
    return True
