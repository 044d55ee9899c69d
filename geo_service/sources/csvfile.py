"""Reading delimited text files whatever their encoding and separator."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from geo_service.errors import InputError

_ENCODINGS: Final = ("utf-8-sig", "cp1252", "latin-1")
_SEPARATORS: Final = (";", ",", "\t", "|")


@dataclass(frozen=True)
class CsvDialect:
    """How a delimited text file is written."""

    encoding: str
    separator: str


def detect_dialect(path: Path, *, skip_lines: int = 0) -> CsvDialect:
    """Detect the encoding (UTF-8, else Windows-1252/Latin-1) and the separator of ``path``."""
    raw = _read_bytes(path)
    encoding = next(e for e in _ENCODINGS if _decodes(raw, e))
    lines = raw.decode(encoding).splitlines()[skip_lines : skip_lines + 50]
    header = next((line for line in lines if line.strip()), "")
    if not header:
        raise InputError(f"{path}: the file is empty; expected a header line and rows")
    counts = {sep: _count_outside_quotes(header, sep) for sep in _SEPARATORS}
    separator = max(_SEPARATORS, key=lambda s: counts[s])
    if counts[separator] == 0:
        separator = ","
    return CsvDialect(encoding=encoding, separator=separator)


def read_csv_table(
    path: Path, *, skip_lines: int = 0, dialect: CsvDialect | None = None
) -> pd.DataFrame:
    """Read ``path`` as text columns (no type guessing), with its encoding and separator detected.

    Column names are stripped of surrounding spaces and quotes. ``skip_lines`` title lines
    above the header are ignored.
    """
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
    frame.columns = [str(c).strip().strip('"').strip() for c in frame.columns]
    return frame


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _count_outside_quotes(line: str, separator: str) -> int:
    try:
        row = next(csv.reader(io.StringIO(line), delimiter=separator))
    except (csv.Error, StopIteration):
        return 0
    return len(row) - 1


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
