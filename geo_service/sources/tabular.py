"""Columns and values of producers' tables: names, French numbers, dates, title lines.

Official French files name the same thing in many ways (``Code commune``, ``code_insee``,
``INSEE_COM``), put newlines and accents in column names, pad numbers with spaces, use spaces
as thousand separators and ``-``, ``NA`` or ``non renseigné`` for missing values, and write
dates as ``dd/mm/yyyy``. These helpers read all of that; the producer modules
(:mod:`~geo_service.sources.cnig`, :mod:`~geo_service.sources.arcep_communes`, ...) say which
column means what.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo_service.errors import InputError, format_rows
from geo_service.sources.csvfile import detect_dialect, read_csv_table

#: Values that mean "no value" in the producers' files (compared after :func:`normalise_name`).
MISSING_MARKERS: Final = frozenset(
    {
        "",
        "na",
        "n/a",
        "nan",
        "-",
        "#n/a",
        "null",
        "none",
        "non renseigne",
        "non renseignee",
        "non connu",
        "non connue",
    }
)
_MARKER_SPELLINGS: Final = sorted(MISSING_MARKERS | {"non renseigné", "non renseignée"})
_SPACES: Final = re.compile(r"[\s\u00a0\u202f\u2009]+")
_DATE_PATTERNS: Final = (
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), ("y", "m", "d")),
)
_YEAR: Final = re.compile(r"^(\d{4})$")

Columns = Mapping[str, Sequence[str]]


def normalise_name(name: object) -> str:
    """A column name or enumerated value for comparison: lower case, no accents, single spaces.

    ``"densite_Population \\nmunicipale \\n2019"`` → ``"densite_population municipale 2019"``,
    ``"Établissements"`` → ``"etablissements"``.
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("’", "'").strip().strip('"').strip()
    return _SPACES.sub(" ", text).lower()


def one_of(values: pd.Series, allowed: frozenset[str]) -> pd.Series:
    """Whether each value is one of ``allowed``, ignoring case, accents and spacing."""
    wanted = {normalise_name(a) for a in allowed}
    return values.map(lambda v: isinstance(v, str) and normalise_name(v) in wanted).astype(bool)


def find_column(columns: Iterable[object], *aliases: str) -> str | None:
    """The first of ``columns`` whose normalised name is one of ``aliases`` (in alias order)."""
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalise_name(column), str(column))
    for alias in aliases:
        found = by_name.get(normalise_name(alias))
        if found is not None:
            return found
    return None


def find_columns(
    frame: pd.DataFrame,
    source: str,
    what: str,
    required: Columns,
    optional: Columns | None = None,
) -> dict[str, str | None]:
    """Map each wanted column to the frame's column, refusing all missing required ones at once.

    Parameters
    ----------
    frame
        The table as read.
    source
        File named in messages.
    what
        What the file is expected to be, for messages (``"a CNIG SITE-ECO file"``).
    required, optional
        Wanted name -> accepted spellings (the wanted name itself is not implied).

    Returns
    -------
    Wanted name -> actual column (None for absent optional columns).
    """
    found: dict[str, str | None] = {}
    missing: list[str] = []
    for name, aliases in required.items():
        found[name] = find_column(frame.columns, *aliases)
        if found[name] is None:
            missing.append(aliases[0])
    if missing:
        present = ", ".join(repr(str(c)) for c in frame.columns if c != "geometry") or "none"
        raise InputError(
            f"{source}: missing column(s) {', '.join(repr(m) for m in missing)} for {what}; "
            f"expected {', '.join(a[0] for a in required.values())}; found: {present}"
        )
    for name, aliases in (optional or {}).items():
        found[name] = find_column(frame.columns, *aliases)
    return found


def text_values(values: pd.Series) -> pd.Series:
    """Stripped text (object dtype), None where the value is missing or a missing marker."""
    text = values.astype("string").str.strip()
    key = text.str.lower().str.replace(_SPACES.pattern, " ", regex=True)
    missing = (text.isna() | key.isin(_MARKER_SPELLINGS)).to_numpy(dtype=bool)
    out = np.where(missing, None, text.astype(object).to_numpy())
    return pd.Series(out, index=values.index, dtype=object)


def normalised(values: pd.Series) -> pd.Series:
    """:func:`normalise_name` of each text value (None stays None), computed once per value."""
    text = text_values(values)
    names = {v: normalise_name(v) for v in pd.unique(text.dropna())}
    return pd.Series([names.get(v) for v in text], index=values.index, dtype=object)


def column_text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """:func:`text_values` of ``frame[column]``, or all None when ``column`` is None."""
    if column is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return text_values(frame[column])


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers written the French way, and which given values are not numbers.

    Spaces (thousand separators, padding) are ignored, a decimal comma is read as a point,
    missing markers (``-``, ``NA``, ``non renseigné``...) give NaN.

    Returns
    -------
    ``(numbers, bad)``: float Series (NaN where missing or bad) and a boolean Series marking
    values that were given but are not numbers.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        return numbers, pd.Series(False, index=values.index)
    text = text_values(values)
    cleaned = text.astype("string").str.replace(_SPACES.pattern, "", regex=True)
    cleaned = cleaned.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce").astype(float)
    numbers.index = values.index
    bad = text.notna() & numbers.isna()
    return numbers, bad


def numbers_or_fail(values: pd.Series, source: str, column: str, expected: str) -> pd.Series:
    """:func:`parse_numbers`, refusing values that are not numbers (rows and examples named)."""
    numbers, bad = parse_numbers(values)
    if bad.any():
        raise InputError(
            f"{source}: column '{column}': values that are not numbers in "
            f"{format_rows(row_numbers(bad))} (e.g. {examples(values, bad)}); expected {expected}"
        )
    return numbers


def refuse_rows(
    source: str | Path, column: str, mask: npt.NDArray[np.bool_], what: str, expected: str
) -> None:
    """Refuse the rows of ``mask``, counted and listed: ``{source}: column '{column}': 2 {what}
    in rows 3, 7; expected {expected}``."""
    if mask.any():
        raise InputError(
            f"{source}: column '{column}': {int(mask.sum())} {what} in "
            f"{format_rows(row_numbers(mask))}; expected {expected}"
        )


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates written ``dd/mm/yyyy``, ``yyyy-mm-dd`` (time ignored), ``yyyy/mm/dd`` or ``yyyy``.

    Returns
    -------
    ``(dates, bad)``: Series of :class:`datetime.date` or None, and the given values that are
    not dates.
    """
    text = text_values(values)
    parsed = text.map(lambda v: None if v is None else _date(v))
    return parsed, text.notna() & parsed.isna()


def latest_date(values: pd.Series) -> date | None:
    """The latest of the dates of ``values`` that :func:`parse_dates` reads, or None."""
    dates, _ = parse_dates(values)
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def row_numbers(mask: pd.Series | npt.NDArray[np.bool_]) -> list[int]:
    """1-based positions of the True values of ``mask``."""
    return [int(i) + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def examples(values: pd.Series, mask: pd.Series | npt.NDArray[np.bool_], limit: int = 3) -> str:
    """A few of the values selected by ``mask``, with their 1-based rows: ``'x' (row 3)``."""
    rows = row_numbers(mask)[:limit]
    return ", ".join(f"{values.iloc[r - 1]!r} (row {r})" for r in rows)


def header_line(path: Path, marker: str, *, limit: int = 30) -> int:
    """Number of title lines above the header line, the first one containing ``marker``.

    ARCEP's observatory files start with a title, a subtitle and blank lines; the header is
    the line that names the columns (found by ``marker``, e.g. ``"code commune"``).
    """
    dialect = detect_dialect(path)
    try:
        with path.open(encoding=dialect.encoding, newline="") as handle:
            lines = [line for _, line in zip(range(limit), handle, strict=False)]
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    wanted = normalise_name(marker)
    for number, line in enumerate(lines):
        if wanted in normalise_name(line):
            return number
    raise InputError(
        f"{path}: no header line naming '{marker}' in the first {limit} lines; expected the "
        "column names (after any title lines)"
    )


def read_table(path: Path, *, skip_lines: int = 0) -> pd.DataFrame:
    """A delimited text file as text columns, ``skip_lines`` title lines ignored."""
    table = read_csv_table(path, skip_lines=skip_lines)
    table = table.loc[
        :, [not str(c).startswith("Unnamed: ") or _has_values(table[c]) for c in table]
    ]
    return table.dropna(how="all").reset_index(drop=True)


def _has_values(values: pd.Series) -> bool:
    return bool(values.notna().any())


def _date(text: str) -> date | None:
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    year = _YEAR.match(text)
    if year and 1800 <= int(year.group(1)) <= 2100:
        return date(int(year.group(1)), 1, 1)
    return None
