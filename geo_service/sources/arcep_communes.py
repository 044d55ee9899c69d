"""ARCEP commune statistics: the ``commune_coverage`` layer (one row per commune, no geometry).

Two families of ARCEP files describe broadband per commune; any mix of them is imported at
once (``geo-service import commune_coverage FILE...``) and merged by commune:

- **Ma connexion internet** (quarterly, ``;``-separated, ``code_insee;nom_com;...;nbr;type``):
  ``commune_debit_filaire`` gives the premises (locaux, ``nbr``) eligible to each cumulative
  wired download class (``elig_bhd8`` ≥ 8 Mbit/s, ``elig_thd30``, ``elig_thd100``,
  ``elig_thd1g``) → ``share_bhd8`` ... ``share_thd1g``; ``commune_techno`` and
  ``commune_meilleure_techno_thd`` give ``elig_ftth`` → ``share_ftth``. Rows of another
  ``type`` than ``all`` are left out when ``all`` rows exist.
- **FTTH observatory** (2017–2018, four title lines above the header, numbers padded with
  spaces and written with space thousand separators, ``-`` for empty): ``communes.csv`` gives
  ``logements`` and ``etablissements``; ``ftthCommunes.csv`` (two rows per commune) gives the
  premises connectable to fibre (``ftth_connectable``) and ARCEP's coverage class
  (``ftth_class``: 0 = none, 5 = under 10 %, 10, 25, 50, 80 = 80 % or more) of the latest
  quarter; ``share_ftth`` is ``ftth_connectable / (logements + etablissements)``, capped at 1.
  The derived wide layout (``code_insee``, ``logements``, ``etablissements``,
  ``ftth_locaux_T1_2018``, ``categorie_T1_2018``) is read too.

Ma connexion internet's figures win where both give a value. Municipal arrondissements
(13201–13216) are summed into their commune (13055) unless the file also gives the commune as
a whole (then they are left out). INSEE codes are 5-character text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.errors import InputError, ParameterError, format_rows
from geo_service.insee import fold_arrondissements, is_arrondissement, is_insee, normalise_insee
from geo_service.model import CANONICAL_CRS, LayerKind
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.paths import check_input_file
from geo_service.sources.screening import ImportReport, Screen
from geo_service.sources.tabular import (
    Columns,
    column_text,
    examples,
    find_column,
    find_columns,
    header_line,
    latest_date,
    normalise_name,
    normalised,
    numbers_or_fail,
    read_table,
    row_numbers,
)
from geo_service.vintages import parse_vintage, vintage_key

#: Columns of the ``commune_coverage`` layer.
COMMUNE_COVERAGE_COLUMNS: Final = (
    "commune_insee",
    "name",
    "locaux",
    "share_bhd8",
    "share_thd30",
    "share_thd100",
    "share_thd1g",
    "share_ftth",
    "ftth_connectable",
    "logements",
    "etablissements",
    "ftth_class",
    "period",
)
#: ARCEP's FTTH coverage classes: lower bound of the share of connectable premises, in %.
FTTH_CLASSES: Final = (0, 5, 10, 25, 50, 80)

_COUNTS: Final = (
    "nbr",
    "elig_bhd8",
    "elig_thd30",
    "elig_thd100",
    "elig_thd1g",
    "elig_ftth",
    "logements",
    "etablissements",
    "ftth_connectable",
)
_QUARTER: Final = re.compile(r"^t([1-4])[ _]?(\d{4})$")
_WIDE_QUARTER: Final = re.compile(r"^(ftth_locaux|categorie)_t([1-4])_(\d{4})$")
_OBSERVATORY_TITLE: Final = "reseaux en fibre optique"


class FileKind(StrEnum):
    """The ARCEP commune files this module reads."""

    MCI_SPEEDS = "Ma connexion internet, commune_debit_filaire"
    MCI_TECHNO = "Ma connexion internet, commune_techno"
    MCI_BEST = "Ma connexion internet, commune_meilleure_techno_thd"
    FTTH_COMMUNES = "observatoire FttH, communes (logements, établissements)"
    FTTH_DEPLOYMENT = "observatoire FttH, déploiement par commune"
    FTTH_WIDE = "observatoire FttH, tableau par commune"


@dataclass
class _Table:
    """The counts of one file, one row per commune; ``screen`` says what was done to its rows."""

    screen: Screen
    kind: FileKind
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows_used: int = 0
    period: str | None = None


def read_commune_coverage(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """The ``commune_coverage`` layer from any mix of ARCEP commune files.

    Returns
    -------
    One row per commune (columns :data:`COMMUNE_COVERAGE_COLUMNS`, no geometry, Lambert-93
    declared) and the report of the import.
    """
    tables = [_read_file(Path(p), options.quarter) for p in paths]
    merged = _merge_kinds(tables)
    screens = [t.screen for t in tables]
    report = ImportReport(
        source=", ".join(s.source for s in screens),
        kind=LayerKind.COMMUNE_COVERAGE,
        rows_read=sum(s.rows for s in screens),
        rows_kept=sum(t.rows_used for t in tables),
        data_date=max((s.data_date for s in screens if s.data_date), default=None),
    )
    for screen in screens:
        for reason, rows in screen.skipped.items():
            key = f"{Path(screen.source).name}: {reason}" if len(tables) > 1 else reason
            report.skipped.setdefault(key, []).extend(rows)
        report.warnings.extend(screen.warnings)
    layer = _coverage(merged, report)
    return layer, report


def ftth_class_of(share: pd.Series) -> pd.Series:
    """ARCEP's FTTH class (0, 5, 10, 25, 50, 80) of shares of connectable premises."""
    values = share.to_numpy(dtype=float)
    bins = np.array([0.10, 0.25, 0.50, 0.80])
    classes = np.array(FTTH_CLASSES[1:])[np.searchsorted(bins, values, side="right")]
    out = np.where(values <= 0, 0, classes).astype(float)
    return pd.Series(np.where(np.isnan(values), np.nan, out), index=share.index)


# -- reading one file ---------------------------------------------------------------------------


def _read_file(path: Path, quarter: str | None = None) -> _Table:
    source = str(path)
    check_input_file(path)
    skip = header_line(path, "code commune") if _is_observatory(path) else 0
    table = read_table(path, skip_lines=skip)
    kind = _kind(table, source)
    if kind in (FileKind.MCI_SPEEDS, FileKind.MCI_TECHNO, FileKind.MCI_BEST):
        return _mci(table, source, kind)
    if kind is FileKind.FTTH_COMMUNES:
        return _ftth_communes(table, source)
    if kind is FileKind.FTTH_DEPLOYMENT:
        return _ftth_deployment(table, source, quarter)
    return _ftth_wide(table, source)


def _is_observatory(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(300).decode("utf-8", errors="ignore")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    return normalise_name(head).startswith(_OBSERVATORY_TITLE)


def _kind(table: pd.DataFrame, source: str) -> FileKind:
    names = {normalise_name(c) for c in table.columns}
    if {"code_insee", "nbr", "elig_bhd8", "elig_thd30"} <= names:
        return FileKind.MCI_SPEEDS
    if {"code_insee", "nbr", "nbr_elig_8", "elig_ftth"} <= names:
        return FileKind.MCI_BEST
    if {"code_insee", "nbr", "elig_ftth"} <= names:
        return FileKind.MCI_TECHNO
    if {"code commune", "champ"} <= names:
        return FileKind.FTTH_DEPLOYMENT
    if {"code commune", "logements"} <= names:
        return FileKind.FTTH_COMMUNES
    if {"code_insee", "logements"} <= names or any(_WIDE_QUARTER.match(n) for n in names):
        return FileKind.FTTH_WIDE
    raise InputError(
        f"{source}: not an ARCEP commune file; expected the columns of Ma connexion internet's "
        "commune files (code_insee, nbr, elig_bhd8, elig_thd30... or elig_ftth) or of the FTTH "
        "observatory's commune files (Code commune with Logements, or with Champ and quarters "
        f"such as T1 2018); found: {', '.join(repr(str(c)) for c in table.columns)}"
    )


def _mci(table: pd.DataFrame, source: str, kind: FileKind) -> _Table:
    counts = ("elig_bhd8", "elig_thd30", "elig_thd100", "elig_thd1g")
    wanted: Columns = {"code": ("code_insee",), "nbr": ("nbr",)}
    optional: Columns = {"name": ("nom_com",), "type": ("type",), "date": ("date",)}
    if kind is FileKind.MCI_SPEEDS:
        wanted = {**wanted, **{c: (c,) for c in counts[:2]}}
        optional = {**optional, **{c: (c,) for c in counts[2:]}}
    else:
        wanted = {**wanted, "elig_ftth": ("elig_ftth",)}
    cols = find_columns(table, source, f"an ARCEP file ({kind})", wanted, optional)
    out = _Table(Screen(source, len(table)), kind)
    _skip_other_types(table, cols["type"], out)
    frame = _base(table, str(cols["code"]), cols["name"], out)
    for name in ("nbr", *counts, "elig_ftth"):
        column = cols.get(name)
        if column is not None:
            frame[name] = _numbers(table, column, source, "a number of locaux")
    out.screen.data_date = latest_date(column_text(table, cols["date"]))
    out.period = out.screen.data_date.isoformat() if out.screen.data_date else None
    _check_counts(frame, out)
    out.counts = _per_commune(_usable(frame, out), out)
    return out


def _skip_other_types(table: pd.DataFrame, column: str | None, out: _Table) -> None:
    if column is None:
        return
    kinds = normalised(table[column])
    if (kinds == "all").any():
        out.screen.skip("type other than 'all' (all premises)", (kinds != "all").to_numpy())


def _ftth_communes(table: pd.DataFrame, source: str) -> _Table:
    cols = find_columns(
        table,
        source,
        "the FTTH observatory's commune file",
        {
            "code": ("Code commune",),
            "logements": ("Logements",),
            "etablissements": ("Etablissements",),
        },
        {"name": ("Nom commune",)},
    )
    out = _Table(Screen(source, len(table)), FileKind.FTTH_COMMUNES)
    frame = _base(table, str(cols["code"]), cols["name"], out)
    for name in ("logements", "etablissements"):
        frame[name] = _numbers(table, str(cols[name]), source, "a number (or - for none)")
    out.counts = _per_commune(_usable(frame, out), out)
    return out


def _ftth_deployment(table: pd.DataFrame, source: str, quarter: str | None = None) -> _Table:
    cols = find_columns(
        table,
        source,
        "the FTTH observatory's deployment file",
        {"code": ("Code commune",), "champ": ("Champ",)},
    )
    quarters = [c for c in table.columns if _QUARTER.match(normalise_name(c))]
    if not quarters:
        found = ", ".join(repr(str(c)) for c in table.columns)
        raise InputError(
            f"{source}: no quarter column; expected columns such as 'T1 2018' after "
            f"'Code commune' and 'Champ'; found: {found}"
        )
    latest = max(quarters, key=_quarter_key) if quarter is None else _chosen(quarters, quarter)
    out = _Table(Screen(source, len(table)), FileKind.FTTH_DEPLOYMENT, period=str(latest))
    out.screen.data_date = _quarter_end(latest)
    if len(quarters) > 1 and quarter is None:
        listed = ", ".join(str(q) for q in quarters)
        out.screen.warn(f"quarter {latest} used (the file has {listed})")
    champ = normalised(table[str(cols["champ"])])
    connectable = (champ == "locaux raccordables").to_numpy()
    category = (champ == "categorie").to_numpy()
    out.screen.skip(
        "unknown Champ (expected Locaux Raccordables or Catégorie)", ~(connectable | category)
    )
    frame = _base(table, str(cols["code"]), None, out)
    values = _numbers(table, str(latest), source, "a number")
    usable = ~out.screen.skip_mask()
    connectable_rows = frame.loc[connectable & usable].assign(
        ftth_connectable=values.to_numpy()[connectable & usable]
    )
    counts = _per_commune(connectable_rows.drop(columns="name"), out)
    classes = frame.loc[category & usable].assign(ftth_class=values.to_numpy()[category & usable])
    recomputed = is_arrondissement(classes["commune_insee"]).to_numpy()
    _skip_rows(
        out, "class of a municipal arrondissement (recomputed for the commune)", classes, recomputed
    )
    classes = classes.loc[~recomputed]
    classes = _unique_codes(classes, out).set_index("commune_insee")["ftth_class"]
    out.rows_used += len(classes)
    out.counts = counts.join(classes, how="outer")
    return out


def _ftth_wide(table: pd.DataFrame, source: str) -> _Table:
    names = [normalise_name(c) for c in table.columns]
    quarters = sorted({(m.group(3), m.group(2)) for n in names if (m := _WIDE_QUARTER.match(n))})
    optional: Columns = {"name": ("nom", "nom_com"), "etablissements": ("etablissements",)}
    if quarters:
        year, number = quarters[-1]
        optional = {
            **optional,
            "ftth_connectable": (f"ftth_locaux_t{number}_{year}",),
            "ftth_class": (f"categorie_t{number}_{year}",),
        }
    cols = find_columns(
        table,
        source,
        "an ARCEP FTTH table by commune",
        {"code": ("code_insee",), "logements": ("logements",)},
        optional,
    )
    out = _Table(Screen(source, len(table)), FileKind.FTTH_WIDE)
    if quarters:
        out.period = f"T{quarters[-1][1]} {quarters[-1][0]}"
        out.screen.data_date = _quarter_end(out.period)
    frame = _base(table, str(cols["code"]), cols["name"], out)
    for name in ("logements", "etablissements", "ftth_connectable", "ftth_class"):
        column = cols.get(name)
        if column is not None:
            frame[name] = _numbers(table, column, source, "a number")
    out.counts = _per_commune(_usable(frame, out), out)
    return out


# -- rows, codes, arrondissements ---------------------------------------------------------------


def _base(table: pd.DataFrame, code: str, name: str | None, out: _Table) -> pd.DataFrame:
    """Commune codes and names, indexed by 1-based row number."""
    codes = normalise_insee(table[code])
    bad = codes.notna() & ~is_insee(codes)
    if bad.any():
        raise InputError(
            f"{out.screen.source}: column '{code}': values that are not INSEE codes in "
            f"{format_rows(row_numbers(bad))} (e.g. {examples(table[code], bad, 2)}); "
            "expected 5 characters such as 13055, 01004 or 2A004"
        )
    out.screen.skip("no commune code", codes.isna().to_numpy())
    frame = pd.DataFrame({"commune_insee": codes, "name": column_text(table, name)})
    frame.index = pd.RangeIndex(1, len(table) + 1)
    return frame


def _numbers(table: pd.DataFrame, column: str, source: str, expected: str) -> pd.Series:
    values = numbers_or_fail(table[column], source, column, expected)
    values.index = pd.RangeIndex(1, len(table) + 1)
    return values


def _usable(frame: pd.DataFrame, out: _Table) -> pd.DataFrame:
    return frame.loc[~out.screen.skip_mask()]


def _check_counts(frame: pd.DataFrame, out: _Table) -> None:
    columns = ("elig_bhd8", "elig_thd30", "elig_thd100", "elig_thd1g", "elig_ftth")
    over = np.zeros(len(frame), dtype=bool)
    for column in columns:
        if column in frame.columns:
            over |= (frame[column] > frame["nbr"]).to_numpy()
    if over.any():
        out.screen.warn(
            f"eligible premises exceed nbr in {format_rows(row_numbers(over))}; "
            "shares capped at 100 %"
        )


def _per_commune(frame: pd.DataFrame, out: _Table) -> pd.DataFrame:
    """One row per commune (rows indexed by row number): arrondissements summed into their
    commune unless it is also given as a whole, duplicates refused."""
    codes = frame["commune_insee"]
    arrondissement = is_arrondissement(codes).to_numpy()
    whole = set(codes[~arrondissement])
    also_whole = arrondissement & fold_arrondissements(codes).isin(whole).to_numpy()
    _skip_rows(
        out, "municipal arrondissement of a commune also given as a whole", frame, also_whole
    )
    frame, folding = frame.loc[~also_whole], arrondissement[~also_whole]
    unique = _unique_codes(frame.loc[~folding], out).set_index("commune_insee")
    out.rows_used += len(frame)
    if not folding.any():
        return unique
    parts = frame.loc[folding]
    parts = parts.assign(commune_insee=fold_arrondissements(parts["commune_insee"]))
    counts = [c for c in _COUNTS if c in parts.columns]
    summed = parts.groupby("commune_insee", sort=True)[counts].sum(min_count=1)
    out.screen.warn(
        f"{int(folding.sum())} municipal arrondissement row(s) summed into "
        f"their commune ({', '.join(summed.index)})"
    )
    return pd.concat([unique, summed])


def _skip_rows(out: _Table, reason: str, frame: pd.DataFrame, mask: np.ndarray) -> None:
    """Leave out the rows of ``frame`` (indexed by row number) selected by ``mask``."""
    rows = np.zeros(out.screen.rows, dtype=bool)
    rows[frame.index[mask].to_numpy(dtype=int) - 1] = True
    out.screen.skip(reason, rows)


def _unique_codes(frame: pd.DataFrame, out: _Table) -> pd.DataFrame:
    codes = frame["commune_insee"]
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        first = codes[dup].iloc[0]
        where = [int(r) for r in frame.index[(codes == first).to_numpy()]]
        raise InputError(
            f"{out.screen.source}: {codes[dup].nunique()} commune code(s) appear on several rows "
            f"(e.g. '{first}' in {format_rows(where)}); expected one row per commune"
        )
    return frame


# -- merging files -----------------------------------------------------------------------------


def _merge_kinds(tables: Sequence[_Table]) -> pd.DataFrame:
    by_kind: dict[FileKind, list[_Table]] = {}
    for table in tables:
        by_kind.setdefault(table.kind, []).append(table)
    merged: pd.DataFrame | None = None
    for kind in FileKind:
        group = by_kind.get(kind, [])
        if not group:
            continue
        counts = _concat_same_kind(group)
        counts["period_" + kind.name] = _periods(group, counts)
        merged = counts if merged is None else _prefer_left(merged, counts)
    assert merged is not None
    return merged


def _concat_same_kind(group: Sequence[_Table]) -> pd.DataFrame:
    frames = [t.counts for t in group]
    joined = pd.concat(frames)
    dup = joined.index.duplicated(keep=False)
    if dup.any():
        code = joined.index[dup][0]
        sources = [t.screen.source for t in group]
        files = [Path(t.screen.source).name for t in group if code in t.counts.index]
        raise InputError(
            f"{', '.join(sources)}: commune {code} is given by several files "
            f"of the same kind ({', '.join(files)}); expected each commune once per kind of file"
        )
    return joined


def _periods(group: Sequence[_Table], counts: pd.DataFrame) -> pd.Series:
    parts = [pd.Series(t.period, index=t.counts.index, dtype=object) for t in group]
    return pd.concat(parts).reindex(counts.index)


def _prefer_left(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    out = left.merge(right, how="outer", left_index=True, right_index=True, suffixes=("", "__r"))
    for column in right.columns:
        other = f"{column}__r"
        if other in out.columns:
            out[column] = out[column].where(out[column].notna(), out[other])
            out = out.drop(columns=other)
    return out


def _coverage(merged: pd.DataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    frame = merged.reindex(columns=[*_COUNTS, "ftth_class", "name", *_period_columns(merged)])
    frame = frame.sort_index()
    nbr = frame["nbr"].astype(float)
    households = frame[["logements", "etablissements"]].astype(float)
    premises = households.sum(axis=1, min_count=1)
    out = pd.DataFrame(index=frame.index)
    out["name"] = frame["name"]
    out["locaux"] = nbr.where(nbr.notna(), premises)
    for share, count in (
        ("share_bhd8", "elig_bhd8"),
        ("share_thd30", "elig_thd30"),
        ("share_thd100", "elig_thd100"),
        ("share_thd1g", "elig_thd1g"),
    ):
        out[share] = _share(frame[count], nbr)
    from_mci = _share(frame["elig_ftth"], nbr)
    from_observatory = _share(frame["ftth_connectable"], premises)
    over = (frame["ftth_connectable"] > premises).to_numpy()
    if over.any():
        report.warnings.append(
            f"{report.source}: connectable premises exceed logements + établissements in "
            f"{int(over.sum())} commune(s) (e.g. {', '.join(frame.index[over][:3])}); their "
            "FTTH share is capped at 100 %"
        )
    out["share_ftth"] = from_mci.where(from_mci.notna(), from_observatory)
    out["ftth_connectable"] = frame["ftth_connectable"]
    out["logements"] = frame["logements"]
    out["etablissements"] = frame["etablissements"]
    out["ftth_class"] = frame["ftth_class"].where(
        frame["ftth_class"].notna(), ftth_class_of(from_observatory)
    )
    out["period"] = _first_period(frame)
    out = out.rename_axis("commune_insee").reset_index()
    for column in ("locaux", "ftth_connectable", "logements", "etablissements", "ftth_class"):
        out[column] = out[column].round().astype("Int64")
    out = out[list(COMMUNE_COVERAGE_COLUMNS)]
    return gpd.GeoDataFrame(out, geometry=[None] * len(out), crs=CANONICAL_CRS)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    part, whole = part.astype(float), whole.astype(float)
    share = part / whole.where(whole > 0)
    return share.clip(lower=0.0, upper=1.0)


def _period_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith("period_")]


def _first_period(frame: pd.DataFrame) -> pd.Series:
    period = pd.Series(None, index=frame.index, dtype=object)
    for column in _period_columns(frame):
        period = period.where(period.notna(), frame[column])
    return period


def file_quarters(paths: Sequence[Path]) -> list[str]:
    """The quarters (vintage labels, oldest first) of the FTTH observatory's deployment files
    among ``paths`` (the other files have none)."""
    found: set[tuple[int, int]] = set()
    for path in paths:
        if not _is_observatory(path):
            continue
        table = read_table(path, skip_lines=header_line(path, "code commune"))
        found |= {_quarter_key(c) for c in table.columns if _QUARTER.match(normalise_name(c))}
    return [f"{year}-T{number}" for year, number in sorted(found)]


def _chosen(quarters: list[object], quarter: str) -> object:
    """The column of ``quarters`` that option ``--quarter`` names."""
    wanted = vintage_key(parse_vintage(quarter, "--quarter"))
    for column in quarters:
        if _quarter_key(column) == wanted:
            return column
    listed = ", ".join(str(q) for q in quarters)
    raise ParameterError("--quarter", f"the file has no quarter {quarter}; it has {listed}")


def _quarter_key(column: object) -> tuple[int, int]:
    match = _QUARTER.match(normalise_name(column))
    assert match is not None
    return int(match.group(2)), int(match.group(1))


def _quarter_end(column: object) -> date | None:
    match = _QUARTER.match(normalise_name(column))
    if match is None:
        return None
    year, quarter = int(match.group(2)), int(match.group(1))
    end = pd.Timestamp(year=year, month=3 * quarter, day=1) + pd.offsets.MonthEnd(0)
    return date(end.year, end.month, end.day)


# -- detection ------------------------------------------------------------------------------------


def _is_commune_file(s: Sniff) -> bool:
    if s.suffix not in (".csv", ".txt", ".tsv"):
        return False
    if s.columns and normalise_name(s.columns[0]).startswith(_OBSERVATORY_TITLE):
        return True
    mci = s.has("code_insee", "nbr") and (s.has("elig_thd30") or s.has("elig_ftth"))
    wide = s.has("code_insee", "logements") and find_column(s.columns, "etablissements") is not None
    return mci or wide


register(
    ImportFormat(
        name="arcep-communes",
        layer="commune_coverage",
        description="ARCEP commune statistics, any mix merged by commune: Ma connexion "
        "internet (commune_debit_filaire, commune_techno, commune_meilleure_techno_thd) and "
        "the FTTH observatory (communes.csv, ftthCommunes.csv)",
        read=read_commune_coverage,
        detect=all_files(_is_commune_file),
        files="FILE...",
    )
)
