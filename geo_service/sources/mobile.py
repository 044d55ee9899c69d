"""ARCEP "Mon réseau mobile" files: mobile sites and the operators' coverage maps.

- **Sites** (``mobile_sites`` layer): the site lists in Lambert-93, in the 2018 layout
  (``Operateur;X;Y;2G;3G;4G``, operator as its MCC-MNC code, sometimes with ``lon;lat;
  code_insee;nom_com``) or the later one (``code_op;nom_op;num_site;...;x;y;...;insee_com;
  site_2g;site_3g;site_4g;site_5g;...``). Rows whose coordinates are ``#N/A`` or empty are
  skipped and reported; other problems (non-numeric coordinates, points outside France,
  technology flags other than 0/1, duplicate site numbers) are refused.
- **Coverage** (``mobile_coverage`` layer): the operators' simulated coverage GeoPackages
  (``2025_T4_couv_Metropole_OF_4G_data.gpkg``: ``operateur`` MCC-MNC, ``techno``,
  ``usage``, ``niveau`` = TBC "très bonne couverture", BC "bonne couverture", CL
  "couverture limitée"), one polygon per operator and level. The operator, technology and
  usage are taken from the file name when the columns are absent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import shapely

from geo_service.errors import InputError, ParameterError, format_rows
from geo_service.insee import INSEE_CODE
from geo_service.model import CANONICAL_CRS, POLYGONAL, LayerKind, in_france
from geo_service.sources.csvfile import read_csv_table
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.points import check_in_france, parse_coordinates, to_lonlat
from geo_service.sources.tabular import refuse_rows, row_numbers
from geo_service.sources.vector import read_vector
from geo_service.validation import LayerReport, flatten

#: Mobile network operators of metropolitan France by MCC-MNC code.
OPERATORS: Final[dict[str, str]] = {
    "20801": "Orange",
    "20810": "SFR",
    "20815": "Free Mobile",
    "20820": "Bouygues Telecom",
}
#: Operator codes in ARCEP's coverage file names.
FILE_OPERATOR_CODES: Final[dict[str, str]] = {
    "OF": "20801",
    "ORANGE": "20801",
    "SFR0": "20810",
    "SFR": "20810",
    "FREE": "20815",
    "BOUY": "20820",
    "BYT": "20820",
}
#: Coverage levels, best first, and the labels producers use for them.
COVERAGE_LEVELS: Final = ("TBC", "BC", "CL")
_LEVEL_LABELS: Final[dict[str, str]] = {
    "tbc": "TBC",
    "tres bonne couverture": "TBC",
    "très bonne couverture": "TBC",
    "bc": "BC",
    "bonne couverture": "BC",
    "cl": "CL",
    "couverture limitee": "CL",
    "couverture limitée": "CL",
}
SITES_CRS: Final = CANONICAL_CRS
#: Columns of the ``mobile_sites`` layer.
SITE_COLUMNS: Final = (
    "site_id",
    "operator_code",
    "operator",
    "site_2g",
    "site_3g",
    "site_4g",
    "site_5g",
    "commune_insee",
)
#: Columns of the ``mobile_coverage`` layer.
COVERAGE_COLUMNS: Final = ("operator_code", "operator", "techno", "usage", "level", "dept")

_LAYOUT_2018: Final = ("operateur", "x", "y", "2g", "3g", "4g")
_LAYOUT_LATER: Final = ("code_op", "x", "y", "site_2g", "site_3g", "site_4g")
_FILE_NAME: Final = re.compile(
    r"_couv_[A-Za-z0-9]+_(?P<operator>[A-Za-z0-9]+)_(?P<techno>[0-9G]+)_(?P<usage>data|voix)",
    re.IGNORECASE,
)


# -- sites ------------------------------------------------------------------------------------


def read_mobile_sites(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The ``mobile_sites`` layer from ARCEP site lists (see the module docstring).

    Returns
    -------
    One point per site in Lambert-93 with ``site_id``, ``operator_code`` (MCC-MNC),
    ``operator`` (commercial name), ``site_2g`` ... ``site_5g`` (booleans; 5G null when the
    file predates it) and ``commune_insee`` (null when the file has none), and the report.
    """
    if len(paths) != 1:
        raise ParameterError("FILE", f"a mobile sites import takes one file; got {len(paths)}")
    path = Path(paths[0])
    table = read_csv_table(path)
    table.columns = [str(c).lower() for c in table.columns]
    later = all(c in table.columns for c in _LAYOUT_LATER)
    expected = _LAYOUT_LATER if later else _LAYOUT_2018
    missing = [c for c in expected if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; expected the "
            f"ARCEP mobile sites columns {';'.join(_LAYOUT_2018)} (2018) or "
            f"{';'.join(_LAYOUT_LATER)} (later lists); found: {', '.join(table.columns)}"
        )
    report = LayerReport(source=str(path), kind=LayerKind.MOBILE_SITES, rows_read=len(table))
    if len(table) == 0:
        raise InputError(f"{path}: the file has no rows; expected one row per mobile site")
    x, bad_x = parse_coordinates(pa.array(table["x"], pa.string()))
    y, bad_y = parse_coordinates(pa.array(table["y"], pa.string()))
    refuse_rows(path, "x/y", bad_x | bad_y, "values that are not numbers", "Lambert-93 metres")
    check_in_france(x, y, SITES_CRS, source=str(path), columns=("x", "y"))
    no_xy = ~(np.isfinite(x) & np.isfinite(y))
    report.skip("no coordinates (x/y empty or #N/A)", row_numbers(no_xy))
    if no_xy.all():
        raise InputError(f"{path}: no site has coordinates; expected Lambert-93 x and y")
    codes = _operator_codes(table, later, path)
    frame = pd.DataFrame(
        {
            "site_id": _site_ids(table, codes, later, path),
            "operator_code": codes,
            "operator": _operator_names(table, codes, later),
            "site_2g": _flags(table, "site_2g" if later else "2g", path),
            "site_3g": _flags(table, "site_3g" if later else "3g", path),
            "site_4g": _flags(table, "site_4g" if later else "4g", path),
            "site_5g": _flags(table, "site_5g", path),
            "commune_insee": _insee(table, path),
        }
    )
    keep = ~no_xy
    out = gpd.GeoDataFrame(
        frame.loc[keep].reset_index(drop=True),
        geometry=shapely.points(x[keep], y[keep]),
        crs=CANONICAL_CRS,
    )
    report.rows_kept = len(out)
    return out, report


def _operator_codes(table: pd.DataFrame, later: bool, path: Path) -> npt.NDArray[np.object_]:
    column = "code_op" if later else "operateur"
    codes = table[column].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    empty = codes.isna() | (codes == "")
    refuse_rows(path, column, empty.to_numpy(), "empty operator codes", "an MCC-MNC code (20801)")
    return np.asarray(codes.to_numpy(dtype=object, na_value=None), dtype=object)


def _operator_names(
    table: pd.DataFrame, codes: npt.NDArray[np.object_], later: bool
) -> npt.NDArray[np.object_]:
    names = pd.Series(codes).map(OPERATORS)
    if later and "nom_op" in table.columns:
        given = table["nom_op"].astype("string").str.strip()
        names = names.where(names.notna(), pd.Series(given.to_numpy(dtype=object, na_value=None)))
    return np.asarray(names.where(names.notna(), pd.Series(codes)).to_numpy(), dtype=object)


def _site_ids(
    table: pd.DataFrame, codes: npt.NDArray[np.object_], later: bool, path: Path
) -> npt.NDArray[np.object_]:
    if later and "num_site" in table.columns:
        numbers = table["num_site"].astype("string").str.strip()
        empty = (numbers.isna() | (numbers == "")).to_numpy()
        refuse_rows(path, "num_site", empty, "empty site numbers", "a site number")
        ids = pd.Series(codes) + "-" + pd.Series(numbers.to_numpy(dtype=object))
        dup = ids.duplicated(keep=False).to_numpy()
        if dup.any():
            example = ids[dup].iloc[0]
            raise InputError(
                f"{path}: columns 'code_op'/'num_site': {int(dup.sum())} rows repeat a site "
                f"(e.g. '{example}') in {format_rows(row_numbers(dup))}; expected one row per site "
                "and operator"
            )
        return np.asarray(ids.to_numpy(), dtype=object)
    rows = np.arange(1, len(table) + 1).astype(str)
    return np.asarray(pd.Series(codes) + "-" + pd.Series(rows), dtype=object)


def _flags(table: pd.DataFrame, column: str, path: Path) -> pd.arrays.BooleanArray:
    if column not in table.columns:
        return pd.array([pd.NA] * len(table), dtype="boolean")
    text = table[column].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    known = text.isin(["0", "1"]).fillna(False).to_numpy(dtype=bool)
    given = (text.notna() & (text != "")).to_numpy(dtype=bool)
    refuse_rows(path, column, given & ~known, "values other than 0 and 1", "1 (present) or 0")
    values = np.where(known, text.to_numpy(dtype=object, na_value=None) == "1", None)
    return pd.array(values, dtype="boolean")


def _insee(table: pd.DataFrame, path: Path) -> npt.NDArray[np.object_]:
    column = next((c for c in ("insee_com", "code_insee") if c in table.columns), None)
    if column is None:
        return np.full(len(table), None, dtype=object)
    text = table[column].astype("string").str.strip().str.upper()
    text = text.where(~text.str.fullmatch(r"\d{1,4}").fillna(False), text.str.zfill(5))
    text = text.where(text != "")
    bad = (text.notna() & ~text.str.fullmatch(INSEE_CODE.pattern).fillna(False)).to_numpy(bool)
    if bad.any():
        raise InputError(
            f"{path}: column '{column}': values that are not INSEE codes (e.g. "
            f"'{text[bad].iloc[0]}') in {format_rows(row_numbers(bad))}; expected 5 characters "
            "such as 13055 or 2A004"
        )
    return np.asarray(text.to_numpy(dtype=object, na_value=None), dtype=object)


# -- coverage ---------------------------------------------------------------------------------


def read_mobile_coverage(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The ``mobile_coverage`` layer from the operators' coverage GeoPackages.

    Parameters
    ----------
    paths
        One file per operator and technology (any vector format; usually GeoPackage).
    options
        ``layer`` names the layer to read in multi-layer files; ``crs`` a CRS for files
        that declare none.

    Returns
    -------
    Polygons in Lambert-93 with ``operator_code``, ``operator``, ``techno``, ``usage``,
    ``level`` (TBC, BC or CL) and ``dept``, and the report (invalid polygons repaired).
    """
    if not paths:
        raise ParameterError("FILE", "a mobile coverage import takes at least one file")
    report = LayerReport(
        source=", ".join(Path(p).name for p in paths), kind=LayerKind.MOBILE_COVERAGE
    )
    frames = [_read_coverage_file(Path(p), options, report) for p in paths]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    report.rows_kept = len(out)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CANONICAL_CRS), report


def _read_coverage_file(
    path: Path, options: ImportOptions, report: LayerReport
) -> gpd.GeoDataFrame:
    frame = read_vector(path, layer=options.layer, crs=options.crs)
    frame.columns = [str(c).lower() if c != frame.geometry.name else c for c in frame.columns]
    report.rows_read += len(frame)
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # row numbers of the messages
    frame = flatten(frame, report)
    if frame.crs is None:
        raise InputError(
            f"{path}: no coordinate reference system is declared; expected Lambert-93 "
            "(EPSG:2154) coverage polygons, or give the CRS with --crs"
        )
    if len(frame) == 0:
        raise InputError(f"{path}: the layer is empty; expected coverage polygons")
    named = _FILE_NAME.search(path.stem)
    missing = [
        c
        for c in ("niveau", "operateur", "techno")
        if c not in frame.columns and not (named and c != "niveau")
    ]
    if missing:
        found = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
        raise InputError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; expected the "
            "ARCEP coverage columns operateur, techno, usage, niveau (operator and technology "
            "may come from a file name like 2025_T4_couv_Metropole_OF_4G_data.gpkg); "
            f"found: {found}"
        )
    codes = _coverage_operators(frame, named, path)
    geoms = _polygons(frame, path, report)
    out = pd.DataFrame(
        {
            "operator_code": codes,
            "operator": pd.Series(codes).map(OPERATORS).fillna(pd.Series(codes)).to_numpy(),
            "techno": _text_or(frame, "techno", named.group("techno") if named else None),
            "usage": _text_or(frame, "usage", named.group("usage") if named else None),
            "level": _levels(frame["niveau"], path),
            "dept": _text_or(frame, "dept", None),
        }
    )
    gdf = gpd.GeoDataFrame(out, geometry=geoms, crs=frame.crs)
    gdf = gdf[~gdf.geometry.isna()].to_crs(CANONICAL_CRS)
    _check_coverage_in_france(gdf, path)
    return gdf


def _coverage_operators(
    frame: gpd.GeoDataFrame, named: re.Match[str] | None, path: Path
) -> npt.NDArray[np.object_]:
    if "operateur" in frame.columns:
        codes = frame["operateur"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
        empty = (codes.isna() | (codes == "")).to_numpy(bool)
        refuse_rows(path, "operateur", empty, "empty operator codes", "an MCC-MNC code (20801)")
        return np.asarray(codes.to_numpy(dtype=object), dtype=object)
    assert named is not None  # checked by the caller
    file_code = named.group("operator").upper()
    code = FILE_OPERATOR_CODES.get(file_code, file_code)
    return np.full(len(frame), code, dtype=object)


def _text_or(frame: gpd.GeoDataFrame, column: str, default: str | None) -> npt.NDArray[np.object_]:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=object)
    text = frame[column].astype("string").str.strip()
    text = text.where(text != "")
    return np.asarray(text.to_numpy(dtype=object, na_value=default), dtype=object)


def _levels(values: pd.Series, path: Path) -> npt.NDArray[np.object_]:
    text = values.astype("string").str.strip().str.lower()
    levels = text.map(_LEVEL_LABELS)
    bad = levels.isna().to_numpy(bool)
    if bad.any():
        found = ", ".join(repr(v) for v in pd.unique(values[bad].astype("string"))[:5])
        raise InputError(
            f"{path}: column 'niveau': values {found} in {format_rows(row_numbers(bad))} are not "
            "coverage levels; expected TBC (très bonne couverture), BC (bonne couverture) or "
            "CL (couverture limitée)"
        )
    return np.asarray(levels.to_numpy(dtype=object), dtype=object)


def _polygons(frame: gpd.GeoDataFrame, path: Path, report: LayerReport) -> npt.NDArray[np.object_]:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)
    report.skip(f"no geometry in {path.name}", row_numbers(missing))
    types = np.asarray(shapely.get_type_id(geoms))
    polygonal = np.isin(types, [3, 6]) | missing  # Polygon, MultiPolygon
    if not polygonal.all():
        found = ", ".join(sorted({g.geom_type for g in geoms[~polygonal]}))
        raise InputError(
            f"{path}: {found} geometries in {format_rows(row_numbers(~polygonal))}; expected "
            f"{' or '.join(sorted(POLYGONAL))} coverage areas"
        )
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        geoms[invalid] = [_polygonal(g) for g in fixed]
        report.repaired += int(invalid.sum())
        report.warnings.append(
            f"{path.name}: {int(invalid.sum())} invalid coverage polygon(s) repaired "
            f"({format_rows(row_numbers(invalid))})"
        )
    geoms[missing] = None
    return geoms


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    return shapely.union_all(parts) if parts else None


def _check_coverage_in_france(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse polygons outside France; ``frame``'s index is the 0-based row in the file."""
    bounds = frame.geometry.bounds.to_numpy()
    lon0, lat0 = to_lonlat(bounds[:, 0], bounds[:, 1], CANONICAL_CRS)
    lon1, lat1 = to_lonlat(bounds[:, 2], bounds[:, 3], CANONICAL_CRS)
    outside = ~(in_france(lon0, lat0) & in_france(lon1, lat1))
    if outside.any():
        rows = [int(i) + 1 for i in frame.index[outside]]
        raise InputError(
            f"{path}: {int(outside.sum())} coverage polygon(s) reach outside metropolitan "
            f"France ({format_rows(rows)}); expected the metropolitan coverage "
            "maps, with their declared CRS (Lambert-93)"
        )


# -- registration -----------------------------------------------------------------------------


def _detect_sites(sniffs: Sequence[Sniff]) -> bool:
    return len(sniffs) == 1 and (sniffs[0].has(*_LAYOUT_2018) or sniffs[0].has(*_LAYOUT_LATER))


def _is_coverage(s: Sniff) -> bool:
    return s.suffix in (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb") and s.has("niveau")


def _claims_coverage(s: Sniff) -> bool:
    """A coverage map: NIVEAU with the operator, technology or usage, or ARCEP's file name."""
    named = "couv" in s.path.name.lower()
    return _is_coverage(s) and (named or any(s.has(c) for c in ("operateur", "techno", "usage")))


register(
    ImportFormat(
        name="arcep-sites-mobiles",
        layer="mobile_sites",
        description="ARCEP mobile sites list (Lambert-93): 2018 layout Operateur;X;Y;2G;3G;4G "
        "or later lists code_op;...;x;y;...;site_2g..site_5g; #N/A rows skipped",
        read=read_mobile_sites,
        detect=_detect_sites,
    )
)
register(
    ImportFormat(
        name="arcep-couverture-mobile",
        layer="mobile_coverage",
        description="ARCEP « Mon réseau mobile » operators' coverage maps (GeoPackage per "
        "operator and technology, levels TBC/BC/CL in 'niveau')",
        read=read_mobile_coverage,
        detect=all_files(_is_coverage),
        claims=all_files(_claims_coverage),
        files="GPKG...",
    )
)
