"""ARCEP building-level files: "Ma connexion internet" eligibility and Cartefibre deployment.

**Ma connexion internet** (MCI) publishes, per département, two gzipped ``;``-separated
tables: ``base_imb_{DEP}.csv.gz`` (one row per building: id, Web Mercator coordinates, INSEE
code, number of premises) and ``actuel_{DEP}.csv.gz`` (one row per building × operator ×
technology, with its download class). :func:`read_mci_buildings` streams them (pyarrow, a few
text columns at a time, group-by per batch) into one canonical premises row per building:

- ``down_class``: the best download class over the counted offers. Satellite (SAT) is not
  counted unless ``include_satellite`` (ARCEP's all-technology figures are ~100 % THD because
  of it); ``wired_only`` counts FO, COAX and CU only;
- ``best_techno``: the technology of that best offer (ties go to FO, COAX, CU, THDR, HDR,
  4GF, SAT in that order); empty when no offer is counted;
- a building whose offers are all left out (satellite only, or no wired offer with
  ``wired_only``) gets class INEL: no counted offer reaches 0.5 Mbit/s;
- a building without any eligibility row is **skipped** and counted: its coverage is
  unknown, and counting it as INEL would flag zones as unserved on missing data;
- ``ftth``: a fibre (FO) offer exists;
- ``locaux`` is ``imb_nbr_logloc``; 0, empty or not a whole number is read as 1 (a building
  holds at least one premises) and counted as repaired; more than
  :data:`~geo_service.validation.MAX_LOCAUX` is refused;
- buildings without coordinates are skipped and counted; coordinates outside France, empty
  or duplicate ``imb_id``, malformed INSEE codes, unknown technologies or classes are refused.

**Cartefibre** (the ARCEP FTTH deployment map) gives, per building, only the state of the
fibre deployment (``imb_etat``), not a speed class nor a number of premises: it would be
dishonest to turn it into premises classes. :func:`read_cartefibre` imports it as its own layer,
``ftth_deployment``, with ``ftth`` true where fibre is deployed or connectable on demand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo_service.errors import InputError, ParameterError, format_rows
from geo_service.insee import INSEE_CODE
from geo_service.model import CANONICAL_CRS, SPEED_CLASSES, TECHNOLOGIES, LayerKind
from geo_service.sources.bigcsv import (
    describe_missing,
    header_columns,
    missing_columns,
    scan_csv,
)
from geo_service.sources.csvfile import CsvDialect
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.points import check_in_france, parse_coordinates, to_lambert93
from geo_service.sources.tabular import refuse_rows, row_numbers
from geo_service.validation import MAX_LOCAUX, LayerReport

#: CRS of ``imb_x``/``imb_y`` in MCI's base_imb files.
MCI_CRS: Final = "EPSG:3857"
#: CRS of Cartefibre's ``x``/``y``.
CARTEFIBRE_CRS: Final = "OGC:CRS84"
#: Full layouts, as published (the readers use only some columns).
BASE_IMB_LAYOUT: Final = (
    "imb_id",
    "imb_x",
    "imb_y",
    "imb_code",
    "imb_code_insee",
    "imb_nbr_logloc",
    "imb_source",
    "imb_type",
    "addr_code",
    "imb_num",
    "addr_numero",
    "addr_rep",
    "addr_nom_voie",
    "addr_nom_ld",
    "addr_code_insee",
    "addr_nom_commune",
    "addr_id_fantoir",
    "addr_source",
)
ACTUEL_LAYOUT: Final = (
    "imb_id",
    "addr_code",
    "imb_code",
    "code_operateur",
    "code_techno",
    "classe_debit_montant",
    "classe_debit_descendant",
    "limitation",
    "saturation",
)
CARTEFIBRE_LAYOUT: Final = (
    "x",
    "y",
    "imb_id",
    "num_voie",
    "cp_no_voie",
    "type_voie",
    "nom_voie",
    "batiment",
    "code_insee",
    "code_poste",
    "nom_com",
    "catg_loc_imb",
    "imb_etat",
    "pm_ref",
    "pm_etat",
    "pm_date_mad",
    "code_l331",
    "geom_mod",
    "type_imb",
    "date_completude",
    "date_completude_manquante",
)
BASE_IMB_COLUMNS: Final = ("imb_id", "imb_x", "imb_y", "imb_code_insee", "imb_nbr_logloc")
ACTUEL_COLUMNS: Final = ("imb_id", "code_techno", "classe_debit_descendant")
CARTEFIBRE_COLUMNS: Final = ("x", "y", "imb_id", "code_insee", "imb_etat")
_CARTEFIBRE_OPTIONAL: Final = ("pm_ref", "pm_etat", "type_imb")

WIRED: Final = ("FO", "COAX", "CU")
SATELLITE: Final = "SAT"
#: Cartefibre building states, without accents, and whether fibre can be ordered there.
FTTH_STATES: Final[dict[str, bool]] = {
    "deploye": True,
    "raccordable demande": True,
    "en cours de deploiement": False,
    "signe": False,
    "cible": False,
    "abandonne": False,
}
#: Columns of the ``ftth_deployment`` layer.
FTTH_DEPLOYMENT_COLUMNS: Final = (
    "premises_id",
    "state",
    "ftth",
    "commune_insee",
    "pm_ref",
    "pm_state",
    "building_type",
)

_DEPARTEMENT_IN_NAME: Final = re.compile(r"_(\d{2,3}|2[ab])(?:\.|_|$)", re.IGNORECASE)
_SLOTS: Final = 8  # score = class rank * _SLOTS + (_SLOTS - 1 - technology rank)
_NO_COUNTED_OFFER: Final = -1
_NO_ROW: Final = -2
_NULL_RANK: Final = -1  # an empty technology or class
_UNKNOWN_RANK: Final = -2
_EXAMPLES: Final = 5

IntArray = npt.NDArray[np.int64]


def counted_technologies(options: ImportOptions) -> tuple[str, ...]:
    """Technologies that count in a building's best class, given the import options."""
    if options.include_satellite and options.wired_only:
        raise ParameterError(
            "--include-satellite/--wired-only",
            "choose one: --wired-only counts FO, COAX and CU only, which excludes satellite",
        )
    if options.wired_only:
        return WIRED
    if options.include_satellite:
        return TECHNOLOGIES
    return tuple(t for t in TECHNOLOGIES if t != SATELLITE)


# -- Ma connexion internet ------------------------------------------------------------------


@dataclass(frozen=True)
class _CsvFile:
    path: Path
    dialect: CsvDialect
    columns: dict[str, str]

    @classmethod
    def open(cls, path: Path) -> _CsvFile:
        """The file with its dialect and columns, read from its header."""
        return cls(path, *header_columns(path))


@dataclass
class _Problems:
    """Unknown values met while streaming: value -> (count, first rows)."""

    values: dict[str, dict[str, tuple[int, list[int]]]] = field(default_factory=dict)

    def add(self, column: str, value: str, rows: IntArray) -> None:
        count, first = self.values.setdefault(column, {}).get(value, (0, []))
        first = first + [int(r) for r in rows[: _EXAMPLES - len(first)]]
        self.values[column][value] = (count + len(rows), first)


@dataclass(frozen=True)
class _Offers:
    """Best offer of each distinct building of one batch of eligibility rows."""

    ids: pa.Array
    best: npt.NDArray[np.int16]
    fibre: npt.NDArray[np.bool_]
    rows: int
    unclassed: int


def read_mci_buildings(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Canonical premises from MCI ``base_imb`` + ``actuel`` pairs (one pair per département).

    Parameters
    ----------
    paths
        ``base_imb_{DEP}.csv(.gz)`` and ``actuel_{DEP}.csv(.gz)`` files, in any order; several
        départements' pairs are matched by the code in their names.
    options
        ``include_satellite`` counts satellite offers; ``wired_only`` counts FO/COAX/CU only.

    Returns
    -------
    The premises layer (Lambert-93, one row per building with eligibility rows) and the
    report (buildings read, kept, locaux repaired, buildings skipped and why).
    """
    counted = counted_technologies(options)
    pairs = _pair_files([Path(p) for p in paths])
    source = ", ".join(f"{b.path.name} + {e.path.name}" for b, e in pairs)
    report = LayerReport(source=source, kind=LayerKind.PREMISES)
    frames = [_read_pair(base, elig, counted, report) for base, elig in pairs]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(pairs) > 1:
        _refuse_duplicates(frame["premises_id"], source, "imb_id")
    if len(frame) == 0:
        raise InputError(
            f"{source}: no building has both coordinates and eligibility rows; expected "
            "base_imb and actuel files of the same département"
        )
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=CANONICAL_CRS)
    report.rows_kept = len(out)
    return out, report


def _pair_files(paths: list[Path]) -> list[tuple[_CsvFile, _CsvFile]]:
    if not paths or len(paths) % 2:
        raise ParameterError(
            "FILE",
            f"the ARCEP building import takes base_imb and actuel files in pairs "
            f"(base_imb_13.csv.gz actuel_13.csv.gz); got {len(paths)} file(s)",
        )
    files = [_CsvFile.open(path) for path in paths]
    bases = [f for f in files if _is_base(f)]
    eligibility = [f for f in files if not _is_base(f)]
    _refuse_missing_columns(
        ((bases, BASE_IMB_COLUMNS), (eligibility, ACTUEL_COLUMNS)),
        f"base_imb files with {', '.join(BASE_IMB_COLUMNS)} and actuel files with "
        f"{', '.join(ACTUEL_COLUMNS)} (ARCEP « Ma connexion internet »)",
    )
    if len(bases) != len(eligibility):
        raise ParameterError(
            "FILE",
            f"got {len(bases)} base_imb file(s) and {len(eligibility)} actuel file(s); "
            "expected one actuel file per base_imb file",
        )
    if len(bases) == 1:
        return [(bases[0], eligibility[0])]
    by_code = {_departement(f.path): f for f in eligibility}
    pairs = []
    for base in bases:
        match = by_code.get(_departement(base.path))
        if match is None:
            raise ParameterError(
                "FILE",
                f"no actuel file matches {base.path.name}; expected actuel_{{DEP}} and "
                "base_imb_{DEP} files with the same département code in their names",
            )
        pairs.append((base, match))
    return pairs


def _is_base(file: _CsvFile) -> bool:
    name = file.path.name.lower()
    if "base_imb" in name:
        return True
    if "actuel" in name:
        return False
    columns = set(file.columns)
    return len(set(BASE_IMB_COLUMNS) & columns) > len(set(ACTUEL_COLUMNS) & columns)


def _departement(path: Path) -> str:
    match = _DEPARTEMENT_IN_NAME.search(path.name)
    return match.group(1).upper() if match else path.name


def _read_pair(
    base: _CsvFile, elig: _CsvFile, counted: Sequence[str], report: LayerReport
) -> pd.DataFrame:
    buildings = _read_table(base, BASE_IMB_COLUMNS, dictionary=("imb_code_insee", "imb_nbr_logloc"))
    report.rows_read += buildings.num_rows
    name = base.path.name
    ids = _ids(buildings["imb_id"], name)
    x, bad_x = parse_coordinates(buildings["imb_x"])
    y, bad_y = parse_coordinates(buildings["imb_y"])
    refuse_rows(name, "imb_x/imb_y", bad_x | bad_y, "values that are not numbers", "decimals")
    check_in_france(x, y, MCI_CRS, source=name, columns=("imb_x", "imb_y"))
    insee = _insee(buildings["imb_code_insee"], name, "imb_code_insee")
    locaux = _locaux(buildings["imb_nbr_logloc"], name, report)
    del buildings
    score, fibre = _best_offers(elig, ids, counted, report, name)
    no_xy = ~(np.isfinite(x) & np.isfinite(y))
    report.skip(f"no coordinates in {name} (imb_x/imb_y empty or #N/A)", row_numbers(no_xy))
    no_row = (score == _NO_ROW) & ~no_xy
    report.skip(f"no eligibility row in {elig.path.name} (coverage unknown)", row_numbers(no_row))
    _warn_uncounted(score, no_row | no_xy, counted, name, report)
    keep = ~(no_xy | no_row)
    lx, ly = to_lambert93(x[keep], y[keep], MCI_CRS)
    kept = pa.array(keep)
    return _premises_frame(
        ids.filter(kept), locaux[keep], score[keep], fibre[keep], insee.filter(kept), lx, ly
    )


def _read_table(
    file: _CsvFile, columns: Sequence[str], *, dictionary: Sequence[str] = ()
) -> pa.Table:
    wanted = {c: file.columns[c] for c in columns}
    batches = scan_csv(
        file.path,
        wanted,
        lambda batch, _: batch,
        separator=file.dialect.separator,
        dictionary=dictionary,
    )
    if not batches:
        raise InputError(f"{file.path}: the file has no rows; expected one row per building")
    return pa.Table.from_batches(batches).combine_chunks()


def _ids(values: pa.ChunkedArray, source: str) -> pa.Array:
    """Trimmed building ids; empty ones are refused (duplicates: see :func:`_positions`)."""
    text = pc.utf8_trim_whitespace(values.combine_chunks())
    empty = pc.fill_null(pc.equal(text, ""), True)
    refuse_rows(source, "imb_id", _np_bool(empty), "empty values", "a building id")
    return text


def _refuse_duplicates(ids: pd.Series, source: str, column: str) -> None:
    dup = ids.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    values = ids[dup]
    positions = pd.Series(np.flatnonzero(dup) + 1).groupby(values.to_numpy(), sort=False)
    examples = "; ".join(f"'{v}' ({format_rows(list(rows))})" for v, rows in list(positions)[:3])
    raise InputError(
        f"{source}: column '{column}' has {int(values.nunique())} duplicated value(s): "
        f"{examples}; expected one row per building"
    )


def _insee(values: pa.ChunkedArray, source: str, column: str) -> pa.Array:
    """INSEE codes as 5-character text (lost leading zeros restored); malformed ones refused."""
    labels, codes = _dictionary(values)
    normal = [_insee_code(v) for v in labels]
    bad_labels = [i for i, v in enumerate(normal) if v is not None and not INSEE_CODE.match(v)]
    bad = np.isin(codes, bad_labels)
    if bad.any():
        raise InputError(
            f"{source}: column '{column}': values that are not INSEE codes (e.g. "
            f"'{labels[bad_labels[0]]}') in {format_rows(row_numbers(bad))}; expected 5 characters "
            "such as 13055 or 2A004"
        )
    return pa.array([*normal, None], pa.string()).take(pa.array(codes))


def _insee_code(text: str) -> str | None:
    code = text.strip().upper()
    if not code:
        return None
    return code.zfill(5) if code.isdigit() and len(code) < 5 else code


def _dictionary(values: pa.ChunkedArray | pa.Array) -> tuple[list[str], IntArray]:
    """Distinct texts of a column with few of them, and each row's index (len = null)."""
    distinct, codes = _encoded(values)
    return [str(v) for v in distinct.to_pylist()], codes


def _encoded(values: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, IntArray]:
    """Distinct values of a (dictionary-encoded) column, and each row's index (len = null)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values)
    codes = pc.fill_null(values.indices, len(values.dictionary)).to_numpy(zero_copy_only=False)
    return values.dictionary, np.asarray(codes, dtype=np.int64)


def _locaux(values: pa.ChunkedArray, source: str, report: LayerReport) -> IntArray:
    numbers, _ = parse_coordinates(values)
    refuse_rows(
        source,
        "imb_nbr_logloc",
        np.isfinite(numbers) & (numbers > MAX_LOCAUX),
        "premises counts above the maximum",
        f"at most {MAX_LOCAUX:,} locaux in a building",
    )
    whole = np.isfinite(numbers) & (numbers >= 1) & (numbers == np.floor(numbers))
    repaired = ~whole
    if repaired.any():
        report.repaired += int(repaired.sum())
        report.warnings.append(
            f"{source}: column 'imb_nbr_logloc': {int(repaired.sum())} building(s) with 0, "
            f"empty or non-integer premises counts read as 1 ({format_rows(row_numbers(repaired))})"
        )
    return np.where(whole, numbers, 1).astype(np.int64)


def _best_offers(
    file: _CsvFile,
    ids: pa.Array,
    counted: Sequence[str],
    report: LayerReport,
    base_name: str,
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_]]:
    """Best offer score and fibre availability of each building of ``ids``.

    The score packs the class and the technology (:data:`_SLOTS`); ``_NO_COUNTED_OFFER``
    when the building has rows but none counted, ``_NO_ROW`` when it has none.
    """
    wanted = {c: file.columns[c] for c in ACTUEL_COLUMNS}
    counted_ranks = np.isin(np.arange(len(TECHNOLOGIES)), [TECHNOLOGIES.index(t) for t in counted])
    problems = _Problems()

    def reduce(batch: pa.RecordBatch, first: int) -> _Offers:
        return _reduce_offers(batch, first, counted_ranks, problems)

    partials = scan_csv(
        file.path, wanted, reduce, separator=file.dialect.separator, dictionary=ACTUEL_COLUMNS
    )
    _refuse_unknown_values(file.path.name, problems)
    if sum(p.rows for p in partials) == 0:
        raise InputError(
            f"{file.path}: the file has no rows; expected one row per building, operator and "
            "technology"
        )
    unclassed = sum(p.unclassed for p in partials)
    if unclassed:
        report.warnings.append(
            f"{file.path.name}: {unclassed} eligibility row(s) without "
            "classe_debit_descendant were not counted"
        )
    offered = pa.concat_arrays([p.ids for p in partials])
    best = np.concatenate([p.best for p in partials])
    fibre_rows = np.concatenate([p.fibre for p in partials])
    position = _positions(ids, offered, base_name)
    known = position >= 0
    orphans = np.unique(np.asarray(offered.filter(pa.array(~known)))).size if not known.all() else 0
    if orphans:
        report.warnings.append(
            f"{file.path.name}: eligibility rows of {orphans} building(s) absent from "
            f"{base_name} were ignored"
        )
    score = np.full(len(ids), _NO_ROW, dtype=np.int16)
    np.maximum.at(score, position[known], best[known])
    fibre = np.zeros(len(ids), dtype=bool)
    fibre[position[known & fibre_rows]] = True
    return score, fibre


def _positions(ids: pa.Array, offered: pa.Array, source: str) -> IntArray:
    """Position in ``ids`` of each id of ``offered`` (-1 if absent); duplicate ids refused.

    One hash pass over both arrays (``dictionary_encode``) finds the duplicates and matches
    the eligibility rows to their building.
    """
    n = len(ids)
    encoded = pc.dictionary_encode(pa.concat_arrays([ids, offered]))
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    base, rest = codes[:n], codes[n:]
    counts = np.bincount(base, minlength=len(encoded.dictionary))
    repeated = np.flatnonzero(counts > 1)
    if repeated.size:
        labels = encoded.dictionary
        examples = "; ".join(
            f"'{labels[int(code)].as_py()}' ({format_rows(row_numbers(base == code))})"
            for code in repeated[:3]
        )
        raise InputError(
            f"{source}: column 'imb_id' has {repeated.size} duplicated value(s): {examples}; "
            "expected one row per building"
        )
    position = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    position[base] = np.arange(n)
    return position[rest]


def _reduce_offers(
    batch: pa.RecordBatch, first: int, counted: npt.NDArray[np.bool_], problems: _Problems
) -> _Offers:
    tech_rank = _ranks(batch["code_techno"], TECHNOLOGIES, "code_techno", first, problems)
    class_rank = _ranks(
        batch["classe_debit_descendant"], SPEED_CLASSES, "classe_debit_descendant", first, problems
    )
    valid = (tech_rank >= 0) & (class_rank >= 0)
    valid[valid] = counted[tech_rank[valid]]
    packed = class_rank * _SLOTS + (_SLOTS - 1) - tech_rank
    score = np.where(valid, packed, _NO_COUNTED_OFFER).astype(np.int16)
    fibre = tech_rank == TECHNOLOGIES.index("FO")
    ids, codes = _encoded(batch["imb_id"])
    present = codes < len(ids)
    best = np.full(len(ids), _NO_COUNTED_OFFER, dtype=np.int16)
    np.maximum.at(best, codes[present], score[present])
    has_fibre = np.zeros(len(ids), dtype=bool)
    has_fibre[codes[present & fibre]] = True
    ids = pc.utf8_trim_whitespace(ids)
    unclassed = int(np.count_nonzero(class_rank == _NULL_RANK))
    return _Offers(ids=ids, best=best, fibre=has_fibre, rows=batch.num_rows, unclassed=unclassed)


def _ranks(
    values: pa.Array, vocabulary: Sequence[str], column: str, first: int, problems: _Problems
) -> npt.NDArray[np.int16]:
    """Rank of each row's value in ``vocabulary``; ``_NULL_RANK`` if empty, unknown collected."""
    labels, codes = _dictionary(values)
    lookup = np.array(
        [vocabulary.index(v) if v in vocabulary else _UNKNOWN_RANK for v in _normal(labels)]
        + [_NULL_RANK],
        dtype=np.int16,
    )
    ranks = lookup[codes]
    unknown = ranks == _UNKNOWN_RANK
    if unknown.any():
        rows = np.flatnonzero(unknown) + first + 1
        for code in np.unique(codes[unknown]):
            problems.add(column, labels[int(code)], rows[codes[unknown] == code])
    return ranks


def _normal(labels: list[str]) -> list[str]:
    return [label.strip().upper() for label in labels]


def _refuse_unknown_values(source: str, problems: _Problems) -> None:
    if not problems.values:
        return
    expected = {"code_techno": TECHNOLOGIES, "classe_debit_descendant": SPEED_CLASSES}
    parts = []
    for column, values in problems.values.items():
        found = ", ".join(
            f"'{value}' ({count} row(s), e.g. {format_rows(rows)})"
            for value, (count, rows) in list(values.items())[:5]
        )
        parts.append(
            f"column '{column}': unknown values {found}; expected one of "
            f"{', '.join(expected[column])}"
        )
    raise InputError(f"{source}: " + "; ".join(parts))


def _warn_uncounted(
    score: npt.NDArray[np.int16],
    skipped: npt.NDArray[np.bool_],
    counted: Sequence[str],
    source: str,
    report: LayerReport,
) -> None:
    none = (score == _NO_COUNTED_OFFER) & ~skipped
    if none.any():
        left_out = ", ".join(t for t in TECHNOLOGIES if t not in counted)
        report.warnings.append(
            f"{source}: {int(none.sum())} building(s) have offers only in technologies not "
            f"counted ({left_out}): class INEL ({format_rows(row_numbers(none))})"
        )


def _premises_frame(
    ids: pa.Array,
    locaux: IntArray,
    score: npt.NDArray[np.int16],
    fibre: npt.NDArray[np.bool_],
    insee: pa.Array,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> pd.DataFrame:
    offered = score >= 0
    class_rank = np.where(offered, score // _SLOTS, 0).astype(np.int8)
    tech_rank = np.where(offered, _SLOTS - 1 - score % _SLOTS, 0).astype(np.int8)
    classes = pa.DictionaryArray.from_arrays(pa.array(class_rank), pa.array(SPEED_CLASSES))
    technos = pa.DictionaryArray.from_arrays(
        pa.array(tech_rank, mask=~offered), pa.array(TECHNOLOGIES)
    )
    return pd.DataFrame(
        {
            "premises_id": ids.to_pandas(),
            "locaux": locaux,
            "down_class": classes.cast(pa.string()).to_pandas(),
            "best_techno": technos.cast(pa.string()).to_pandas(),
            "ftth": pd.array(fibre, dtype="boolean"),
            "commune_insee": insee.to_pandas(),
            "geometry": shapely.points(x, y),
        }
    )


# -- Cartefibre -------------------------------------------------------------------------------


def read_cartefibre(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The ``ftth_deployment`` layer from ARCEP Cartefibre building files (WGS84 ``x``/``y``).

    Each building keeps its deployment state (``imb_etat``: deploye, en cours de
    deploiement, cible, signe, raccordable demande, abandonne; accents and case ignored) and
    ``ftth``, true where fibre is deployed or connectable on demand. Buildings without
    coordinates are skipped and counted; unknown states, duplicate ids and points outside
    France are refused.
    """
    files = [_CsvFile.open(Path(p)) for p in paths]
    _refuse_missing_columns(
        ((files, CARTEFIBRE_COLUMNS),),
        f"the ARCEP Cartefibre building columns {', '.join(CARTEFIBRE_COLUMNS)}",
    )
    source = ", ".join(f.path.name for f in files)
    report = LayerReport(source=source, kind=LayerKind.FTTH_DEPLOYMENT)
    frames = [_read_cartefibre_file(f, report) for f in files]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(files) > 1:
        _refuse_duplicates(frame["premises_id"], source, "imb_id")
    report.rows_kept = len(frame)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=CANONICAL_CRS), report


def _read_cartefibre_file(file: _CsvFile, report: LayerReport) -> pd.DataFrame:
    optional = [c for c in _CARTEFIBRE_OPTIONAL if c in file.columns]
    coded = ("code_insee", "imb_etat", *optional)
    table = _read_table(file, [*CARTEFIBRE_COLUMNS, *optional], dictionary=coded)
    report.rows_read += table.num_rows
    name = file.path.name
    ids = _ids(table["imb_id"], name)
    _positions(ids, pa.array([], pa.string()), name)  # refuses duplicate ids
    x, bad_x = parse_coordinates(table["x"])
    y, bad_y = parse_coordinates(table["y"])
    refuse_rows(name, "x/y", bad_x | bad_y, "values that are not numbers", "decimal degrees")
    check_in_france(x, y, CARTEFIBRE_CRS, source=name, columns=("x", "y"))
    states, ftth = _states(table["imb_etat"], name)
    insee = _insee(table["code_insee"], name, "code_insee")
    no_xy = ~(np.isfinite(x) & np.isfinite(y))
    report.skip(f"no coordinates in {name} (x/y empty)", row_numbers(no_xy))
    keep = ~no_xy
    lx, ly = to_lambert93(x[keep], y[keep], CARTEFIBRE_CRS)
    kept = pa.array(keep)

    def text(column: str) -> npt.NDArray[np.object_]:
        if column not in table.column_names:
            return np.full(int(keep.sum()), None, dtype=object)
        labels, codes = _dictionary(table[column])
        cleaned = [label.strip() or None for label in labels]
        return np.asarray([*cleaned, None], dtype=object)[codes][keep]

    return pd.DataFrame(
        {
            "premises_id": ids.filter(kept).to_pandas(),
            "state": states[keep],
            "ftth": ftth[keep],
            "commune_insee": insee.filter(kept).to_pandas(),
            "pm_ref": text("pm_ref"),
            "pm_state": text("pm_etat"),
            "building_type": text("type_imb"),
            "geometry": shapely.points(lx, ly),
        }
    )


def _states(
    values: pa.ChunkedArray, source: str
) -> tuple[npt.NDArray[np.object_], pd.arrays.BooleanArray]:
    """Each building's state without accents (None if empty) and whether fibre is available."""
    labels, codes = _dictionary(values)
    plain = [_plain(v) for v in labels]
    states = np.asarray([*plain, None], dtype=object)[codes]
    unknown_labels = [i for i, s in enumerate(plain) if s is not None and s not in FTTH_STATES]
    unknown = np.isin(codes, unknown_labels)
    if unknown.any():
        found = ", ".join(repr(labels[i]) for i in unknown_labels[:5])
        raise InputError(
            f"{source}: column 'imb_etat': unknown states {found} in "
            f"{format_rows(row_numbers(unknown))}; expected one of {', '.join(FTTH_STATES)}"
        )
    available = [FTTH_STATES.get(s) if s else None for s in plain]
    ftth = pd.array(np.asarray([*available, None], dtype=object)[codes], dtype="boolean")
    return states, ftth


def _plain(text: str) -> str | None:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = " ".join(plain.lower().replace("_", " ").split())
    return plain or None


# -- helpers ----------------------------------------------------------------------------------


def _refuse_missing_columns(
    groups: Sequence[tuple[Sequence[_CsvFile], Sequence[str]]], expected: str
) -> None:
    """Refuse at once every file of each group that lacks one of the group's columns."""
    problems = [
        describe_missing(f.path, missing, f.columns)
        for files, required in groups
        for f in files
        if (missing := missing_columns(f.columns, required))
    ]
    if problems:
        raise InputError("; ".join(problems) + f"; expected {expected}")


def _np_bool(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


# -- registration -----------------------------------------------------------------------------


def _detect_mci(sniffs: Sequence[Sniff]) -> bool:
    if not sniffs or len(sniffs) % 2:
        return False
    bases = sum(1 for s in sniffs if s.has("imb_id", "imb_x", "imb_y", "imb_nbr_logloc"))
    offers = sum(1 for s in sniffs if s.has("imb_id", "code_techno", "classe_debit_descendant"))
    return bases == offers == len(sniffs) // 2


def _claims_mci(sniffs: Sequence[Sniff]) -> bool:
    """Each file is a building table or an offers table (one alone is refused by the reader)."""
    return bool(sniffs) and all(
        s.has("imb_id", "imb_x", "imb_y", "imb_nbr_logloc")
        or s.has("imb_id", "code_techno", "classe_debit_descendant")
        for s in sniffs
    )


def _is_cartefibre(s: Sniff) -> bool:
    return s.has(*CARTEFIBRE_COLUMNS)


register(
    ImportFormat(
        name="arcep-mci-immeubles",
        layer="premises",
        description="ARCEP « Ma connexion internet » per-building pair base_imb_{DEP}.csv(.gz) "
        "+ actuel_{DEP}.csv(.gz): best download class of each building over operators and "
        "technologies (satellite left out unless --include-satellite; --wired-only)",
        read=read_mci_buildings,
        detect=_detect_mci,
        claims=_claims_mci,
        files="BASE_IMB ACTUEL [BASE_IMB ACTUEL ...]",
    )
)
register(
    ImportFormat(
        name="arcep-cartefibre-immeubles",
        layer="ftth_deployment",
        description="ARCEP Cartefibre buildings CSV (x, y in WGS84, imb_etat): FTTH deployment "
        "state of each building",
        read=read_cartefibre,
        detect=all_files(_is_cartefibre),
    )
)
