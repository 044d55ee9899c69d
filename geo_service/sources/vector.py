"""Generic vector files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet, CSV) to layers."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo_service.errors import InputError, format_rows
from geo_service.model import SCHEMAS, LayerKind
from geo_service.point_arrays import PointTable, read_geoparquet_points
from geo_service.sources.archive import check_zip
from geo_service.sources.csvfile import read_csv_table
from geo_service.sources.feature_bound import check_count
from geo_service.sources.geopackage import check_geopackage, check_zipped_geopackages
from geo_service.sources.paths import check_input_file
from geo_service.store.gpkg_read import read_gpkg_points
from geo_service.validation import LayerReport, validate_layer, validate_points

VECTOR_SUFFIXES: Final = (
    ".gpkg",
    ".geojson",
    ".json",
    ".shp",
    ".zip",
    ".fgb",
    ".parquet",
    ".geoparquet",
    ".csv",
    ".txt",
    ".tsv",
)
#: Extensions of vector files that hold one layer (GDAL opens a GeoJSON by parsing it whole:
#: listing its layers would parse it once more).
SINGLE_LAYER_SUFFIXES: Final = (".geojson", ".shp", ".fgb")
_CSV_SUFFIXES: Final = (".csv", ".txt", ".tsv")
#: Formats whose feature count GDAL reads from a header (not by reading the features).
_COUNTED_SUFFIXES: Final = (".gpkg", ".shp", ".fgb")
_PARQUET_SUFFIXES: Final = (".parquet", ".geoparquet")
#: Formats that GDAL reads through Arrow as fast as GeoParquet (points as coordinates).
_ARROW_OGR_SUFFIXES: Final = (".gpkg", ".fgb", ".shp")
_WKT_COLUMNS: Final = ("geometry", "geom", "wkt", "the_geom", "geometrie", "wkt_geom")
_LONLAT_COLUMNS: Final = (
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("lng", "lat"),
    ("long", "lat"),
)
_XY_COLUMNS: Final = (("x", "y"), ("easting", "northing"))
_EWKT: Final = re.compile(r"^\s*SRID=(\d+);(.*)$", re.IGNORECASE | re.DOTALL)


def read_layer_file(
    kind: LayerKind | str, path: Path, *, layer: str | None = None, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read a vector file holding a layer in the canonical columns and validate it.

    See :func:`read_vector` for the formats and :func:`geo_service.validation.validate_layer`
    for what is checked.
    """
    frame = read_vector(path, layer=layer, crs=crs)
    return validate_layer(kind, frame, str(path))


def read_point_layer_file(
    kind: LayerKind | str, path: Path, *, layer: str | None = None, crs: str | None = None
) -> tuple[PointTable, LayerReport] | None:
    """:func:`read_layer_file` of a file of plain 2D points as coordinates (see
    :func:`read_vector_points`), validated by :func:`geo_service.validation.validate_points`:
    the same checks and messages without a geometry object per point. None when the file
    holds anything else: :func:`read_layer_file` reads it then."""
    points = read_vector_points(path, layer=layer, crs=crs)
    if points is None:
        return None
    return validate_points(kind, points, str(path))


def read_vector_points(
    path: Path, *, layer: str | None = None, crs: str | None = None
) -> PointTable | None:
    """:func:`read_vector` of a GeoParquet, GeoPackage, FlatGeobuf or Shapefile whose
    geometries are all plain 2D points, as their coordinates and attributes (the same values
    and CRS), read through Arrow without a geometry object per point; None for any other
    file (even an unreadable one: :func:`read_vector` says what is wrong with it)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (*_PARQUET_SUFFIXES, *_ARROW_OGR_SUFFIXES):
        return None
    check_input_file(path)
    if crs:
        parse_crs(crs)  # refused as read_vector refuses it
    if suffix in _PARQUET_SUFFIXES:
        check_count(path, _parquet_rows(path), "Parquet metadata")
        try:
            points = read_geoparquet_points(path)
        except Exception:  # pyarrow's errors: not Parquet, not GeoParquet
            return None
    else:
        source = _checked_ogr_source(path, layer)
        try:
            read = read_gpkg_points(source, layer=layer)
        except Exception:  # GDAL's errors: read_vector gives them
            return None
        if read is None:
            return None
        frame, x, y, declared = read
        points = PointTable(_restore_truncated_names(frame), x, y, declared)
    if points is None or not crs:
        return points
    return dataclasses.replace(points, crs=crs)


def read_vector(
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read any supported vector file into a GeoDataFrame in the CRS it declares.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile (or zipped), FlatGeobuf, GeoParquet, or delimited text
        with a WKT column (``geometry``, ``wkt``, ``geom``...) or coordinate columns
        (``lon``/``lat`` in WGS84, or ``x``/``y`` with ``crs``).
    layer
        Layer to read in a multi-layer file (GeoPackage).
    crs
        CRS of a file that declares none (e.g. ``EPSG:2154``); it overrides a declared one.

    Files of more features than ``GEO_SERVICE_MAX_FEATURES``
    (:mod:`~geo_service.sources.feature_bound`) are refused before reading, the count taken
    from their metadata (GeoPackage, Shapefile, FlatGeobuf, GeoParquet) or their line count
    (delimited text).
    """
    path = Path(path)
    check_input_file(path)
    suffix = path.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file extension '{suffix}'; expected one of "
            f"{', '.join(VECTOR_SUFFIXES)}"
        )
    override = parse_crs(crs) if crs else None
    if suffix in _CSV_SUFFIXES:
        frame = _read_csv(path, override)  # its lines counted by read_csv_table
    elif suffix in _PARQUET_SUFFIXES:
        check_count(path, _parquet_rows(path), "Parquet metadata")
        frame = _read_parquet(path)
    else:
        frame = _read_ogr(path, layer)
    if override is not None:
        frame = frame.set_crs(override, allow_override=True)
    return frame


def parse_crs(crs: str) -> CRS:
    """The CRS named by ``--crs`` (``EPSG:2154``, a WKT, a PROJ string...), or InputError."""
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(
            f"--crs '{crs}' is not a coordinate reference system; expected e.g. EPSG:2154"
        ) from exc


def ogr_source(path: Path) -> str:
    """The name GDAL opens ``path`` by, once the cheap checks that must come first pass: a
    zip's directory (:func:`~geo_service.sources.archive.check_zip`), a GeoPackage's layers
    being tables (:func:`~geo_service.sources.geopackage.check_geopackage`). Every opening
    of a vector file by GDAL goes through it."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        check_zip(path)
        check_zipped_geopackages(path)
        return f"/vsizip/{path}"
    if suffix == ".gpkg":
        check_geopackage(path)
    return str(path)


def layer_names(source: str) -> tuple[str, ...]:
    """The layers of the vector file GDAL opens as ``source`` (from :func:`ogr_source`)."""
    return tuple(str(name) for name in pyogrio.list_layers(source)[:, 0])


def _parquet_rows(path: Path) -> int | None:
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except Exception:  # not Parquet: the reader says so
        return None


def _read_ogr(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    source = _checked_ogr_source(path, layer)
    try:
        with np.errstate(invalid="ignore"):  # NaN coordinates: refused by the validation
            frame = pyogrio.read_dataframe(source, layer=layer, use_arrow=True)
    except Exception as exc:  # pyogrio raises many GDAL error classes
        raise _unreadable(path, exc) from exc
    return _restore_truncated_names(frame)


def _checked_ogr_source(path: Path, layer: str | None) -> str:
    """GDAL's name of vector file ``path``, once checked that it holds one layer (or that
    ``layer`` is named) and, where its header counts them, not too many features."""
    source = ogr_source(path)
    try:
        if layer is None and path.suffix.lower() not in SINGLE_LAYER_SUFFIXES:
            layers = layer_names(source)
            if len(layers) > 1:
                names = ", ".join(layers)
                raise InputError(f"{path}: holds several layers ({names}); choose one with --layer")
        if path.suffix.lower() in _COUNTED_SUFFIXES:  # a count in the header: cheap
            count = int(pyogrio.read_info(source, layer=layer)["features"])
            check_count(path, count if count >= 0 else None, "metadata")
    except InputError:
        raise
    except Exception as exc:  # pyogrio raises many GDAL error classes
        raise _unreadable(path, exc) from exc
    return source


def _unreadable(path: Path, exc: Exception) -> InputError:
    return InputError(
        f"{path}: cannot be read as a vector file ({_short(exc)}); expected a valid "
        "GeoPackage, GeoJSON, Shapefile or FlatGeobuf"
    )


def _restore_truncated_names(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shapefiles cut column names to 10 characters: ``commune_in`` is ``commune_insee``."""
    canonical = {c for schema in SCHEMAS.values() for c in schema.columns if len(c) > 10}
    renames = {c[:10]: c for c in canonical if c[:10] in frame.columns and c not in frame.columns}
    return frame.rename(columns=renames) if renames else frame


def _read_parquet(path: Path) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except Exception as exc:  # pyarrow and geopandas raise several error classes
        raise InputError(
            f"{path}: cannot be read as GeoParquet ({_short(exc)}); expected a Parquet file "
            "with GeoParquet 'geo' metadata"
        ) from exc


def _read_csv(path: Path, crs: CRS | None) -> gpd.GeoDataFrame:
    table = read_csv_table(path)
    lower = {c.lower(): c for c in table.columns}
    wkt = next((lower[c] for c in _WKT_COLUMNS if c in lower), None)
    if wkt is not None:
        return _from_wkt(table, wkt, path, crs)
    for x_name, y_name in _LONLAT_COLUMNS:
        if x_name in lower and y_name in lower:
            return _from_xy(table, lower[x_name], lower[y_name], path, crs or CRS("OGC:CRS84"))
    for x_name, y_name in _XY_COLUMNS:
        if x_name in lower and y_name in lower:
            return _from_xy(table, lower[x_name], lower[y_name], path, crs)
    raise InputError(
        f"{path}: no geometry column; expected a WKT column named one of "
        f"{', '.join(_WKT_COLUMNS)}, or coordinate columns lon/lat (WGS84) or x/y (with --crs)"
    )


def _from_wkt(table: pd.DataFrame, column: str, path: Path, crs: CRS | None) -> gpd.GeoDataFrame:
    text = table[column].fillna("").astype(str)
    srid = text.str.extract(_EWKT)[0].dropna().unique()
    text = text.str.replace(_EWKT, r"\2", regex=True)
    with np.errstate(invalid="ignore"):  # NaN coordinates: refused by the validation, by row
        geoms = shapely.from_wkt(np.where(text.str.strip() == "", None, text), on_invalid="ignore")
    bad = pd.isna(geoms) & (text.str.strip() != "").to_numpy()
    if bad.any():
        raise InputError(
            f"{path}: column '{column}': {format_rows([int(i) + 1 for i in np.flatnonzero(bad)])} "
            "are not WKT geometries; expected e.g. POLYGON ((x y, ...)) or POINT (x y)"
        )
    if crs is None and len(srid) == 1:
        crs = CRS.from_epsg(int(srid[0]))
    return gpd.GeoDataFrame(table.drop(columns=[column]), geometry=geoms, crs=crs)


def _from_xy(table: pd.DataFrame, x: str, y: str, path: Path, crs: CRS | None) -> gpd.GeoDataFrame:
    xs, ys = (_coordinate(table[c]) for c in (x, y))
    given = table[x].notna() | table[y].notna()
    bad = given.to_numpy() & ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad)]
        raise InputError(
            f"{path}: columns '{x}'/'{y}': {format_rows(rows)} "
            "are not numbers; expected decimal coordinates (e.g. 5.4474 or 5,4474)"
        )
    geoms = np.asarray(shapely.points(xs, ys), dtype=object)
    geoms[~given.to_numpy()] = None
    return gpd.GeoDataFrame(table.drop(columns=[x, y]), geometry=geoms, crs=crs)


def _coordinate(values: pd.Series) -> npt.NDArray[np.float64]:
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(numbers, dtype=np.float64)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    # GDAL's advice to prefix a driver name is meaningless to geo-service's users.
    return text[0].split("; It might help to specify the correct driver")[0]
