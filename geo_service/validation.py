"""Validation of vector layers against the canonical schemas of :mod:`geo_service.model`.

:func:`validate_layer` turns a GeoDataFrame read from any source into the canonical layer:
canonical columns and dtypes, Lambert-93, valid polygons. It refuses what cannot be used
(no CRS, empty layer, missing columns, duplicate ids, unknown ARCEP classes, coordinates outside
France, ...) with an :class:`~geo_service.errors.InputError` naming the file, the columns or
rows and what was expected, and repairs what can be repaired, counting it in the report.
Row numbers in messages are 1-based positions of features in the source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Transformer

from geo_service.errors import InputError, format_rows
from geo_service.insee import INSEE_CODE
from geo_service.model import (
    CANONICAL_CRS,
    FRANCE_LONLAT_BOUNDS,
    HUB_KINDS,
    POLYGONAL,
    ROAD_ACCESS_KINDS,
    SCHEMAS,
    SPEED_CLASSES,
    TECHNOLOGIES,
    TRANSIT_MODES,
    LayerKind,
    LayerSchema,
    in_france,
)
from geo_service.point_arrays import PointTable

_TRUE: Final = frozenset({"true", "t", "1", "yes", "y", "oui", "o", "vrai", "v"})
_FALSE: Final = frozenset({"false", "f", "0", "no", "n", "non", "faux"})
#: Most locaux one building may hold (the largest real buildings hold a few thousand).
MAX_LOCAUX: Final = 100_000
#: Most vertices one feature may have (a detailed commune outline has tens of thousands).
MAX_VERTICES: Final = 500_000
#: Largest surface a plot of land may declare (``area_ha``), in hectares: twice the largest
#: French activity zone (Fos-sur-Mer's port industrial zone, about 10,000 ha).
MAX_PLOT_HA: Final = 20_000.0


@dataclass
class LayerReport:
    """What validation did to a layer: rows read and kept, repairs, skipped rows, warnings."""

    source: str
    kind: LayerKind
    rows_read: int = 0
    rows_kept: int = 0
    repaired: int = 0
    skipped: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: Date of the data when the files say it (latest update, ARCEP quarter...).
    data_date: date | None = None

    def skip(self, reason: str, rows: list[int]) -> None:
        """Record rows left out, with the reason."""
        if rows:
            self.skipped.setdefault(reason, []).extend(rows)
            self.warnings.append(f"{self.source}: {format_rows(rows)} skipped: {reason}")

    @property
    def rows_skipped(self) -> int:
        """Number of rows left out."""
        return sum(len(rows) for rows in self.skipped.values())


def validate_layer(
    kind: LayerKind | str, frame: gpd.GeoDataFrame, source: str
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Turn ``frame`` into the canonical ``kind`` layer, in Lambert-93.

    Parameters
    ----------
    kind
        Canonical layer kind (zones, premises, land, communes).
    frame
        Features as read from ``source``, in the CRS the source declares.
    source
        The file (or other origin) named in messages.

    Returns
    -------
    The canonical layer (canonical columns only, optional ones filled with nulls, index reset)
    and a :class:`LayerReport`.

    Raises
    ------
    InputError
        When the layer cannot be used as it is.
    """
    kind = LayerKind(kind)
    schema = SCHEMAS[kind]
    report = LayerReport(source=source, kind=kind, rows_read=len(frame))
    _check_crs(frame.crs, source)
    _check_not_empty(frame, source, kind)
    _check_columns([c for c in frame.columns if c != frame.geometry.name], source, schema)
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based row numbers while validating
    frame = _drop_missing_geometries(frame, report)
    frame = flatten(frame, report)
    _check_geometry_types(frame, source, schema)
    _check_vertices(frame, source)
    _check_finite(frame, source)
    _check_in_france(frame, source)
    frame = _in_canonical_crs(frame)
    if schema.geometry_types == POLYGONAL:
        frame = _repair_polygons(frame, report, kind)
        if len(frame) == 0:
            raise InputError(
                f"{source}: no {kind} feature has an area once invalid polygons are repaired; "
                "expected polygons that enclose a surface"
            )
    columns = _canonical_columns(frame, source, schema)
    out = gpd.GeoDataFrame(columns, geometry=frame.geometry, crs=CANONICAL_CRS)
    _check_ids(out, source, schema.id_column)
    out = out.reset_index(drop=True)
    report.rows_kept = len(out)
    return out, report


def validate_points(
    kind: LayerKind | str, points: PointTable, source: str, columns: list[Any] | None = None
) -> tuple[PointTable, LayerReport]:
    """:func:`validate_layer` of a layer of points given as coordinates (NaN x and y: no
    geometry), without a geometry object per point: the same checks, refusals, messages and
    result, as coordinates in Lambert-93. ``columns`` are the attribute columns the source
    holds, named when a required one is missing (default: those of ``points.frame``).

    Only for layers whose geometries are points alone (premises, stops, stations...)."""
    kind = LayerKind(kind)
    schema = SCHEMAS[kind]
    if not schema.points_alone:
        raise ValueError(f"{kind} layers are not layers of points alone")
    frame = points.frame
    report = LayerReport(source=source, kind=kind, rows_read=len(frame))
    crs = None if points.crs is None else CRS.from_user_input(points.crs)
    _check_crs(crs, source)
    assert crs is not None  # refused above
    _check_not_empty(frame, source, kind)
    _check_columns(list(frame.columns) if columns is None else columns, source, schema)
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based row numbers while validating
    x, y = points.x, points.y
    missing = np.isnan(x) & np.isnan(y)  # NULL or empty points
    if missing.all():
        raise InputError(f"{source}: no feature has a geometry")
    if missing.any():
        report.skip("no geometry", [int(i) for i in frame.index[missing]])
        frame, x, y = frame.loc[~missing], x[~missing], y[~missing]
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise _not_finite(source, [int(i) for i in frame.index[bad]])
    xy = np.column_stack([x, y])
    _check_bounds_in_france(xy, xy, crs, frame.index, source)
    if not crs.equals(CANONICAL_CRS):  # the relabelled CRS otherwise, as _in_canonical_crs
        x, y = Transformer.from_crs(crs, CANONICAL_CRS, always_xy=True).transform(x, y)
    out = pd.DataFrame(_canonical_columns(frame, source, schema), index=frame.index)
    _check_ids(out, source, schema.id_column)
    out = out.reset_index(drop=True)
    report.rows_kept = len(out)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return PointTable(out, x, y, CANONICAL_CRS), report


def _in_canonical_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in Lambert-93. A CRS equal to it but not spelled the same (a GeoParquet's
    PROJJSON) is only relabelled: geopandas would run the no-op transformation over every
    vertex (seconds for a million premises)."""
    if frame.crs.equals(CANONICAL_CRS):
        return frame.set_crs(CANONICAL_CRS, allow_override=True)
    return frame.to_crs(CANONICAL_CRS)


def _check_crs(crs: Any, source: str) -> None:
    if crs is None:
        raise InputError(
            f"{source}: no coordinate reference system is declared; expected a file that "
            "declares its CRS (e.g. EPSG:2154 Lambert-93 or EPSG:4326 WGS84), or give it "
            "with --crs"
        )
    try:
        Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
    except Exception as exc:  # pyproj's ProjError, CRSError
        raise unconvertible_crs(source, str(CRS.from_user_input(crs).name)) from exc


def unconvertible_crs(source: str, name: str, *, crs_option: bool = True) -> InputError:
    """The refusal of a file whose CRS has no conversion to longitudes and latitudes."""
    return InputError(
        f"{source}: its coordinate reference system '{name}' cannot be converted to "
        "longitudes and latitudes (a local, engineering CRS?); expected a georeferenced CRS "
        "such as EPSG:2154 (Lambert-93)" + (", or give it with --crs" if crs_option else "")
    )


def _check_not_empty(frame: pd.DataFrame, source: str, kind: LayerKind) -> None:
    if len(frame) == 0:
        raise InputError(f"{source}: the layer is empty; expected at least one {kind} feature")


def _check_columns(names: list[Any], source: str, schema: LayerSchema) -> None:
    """Refuse a layer lacking a required column (``names``: its attribute columns)."""
    missing = [c for c in schema.required if c not in names]
    if missing:
        found = ", ".join(str(c) for c in names) or "none"
        raise InputError(
            f"{source}: missing required column(s) {', '.join(repr(c) for c in missing)} "
            f"for a {schema.kind} layer; expected {', '.join(schema.required)}; "
            f"found: {found}"
        )


def _drop_missing_geometries(frame: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    missing = frame.geometry.isna().to_numpy() | shapely.is_empty(frame.geometry.values)
    if missing.all():
        raise InputError(f"{report.source}: no feature has a geometry")
    report.skip("no geometry", [int(i) for i in frame.index[missing]])
    return frame.loc[~missing]


def flatten(frame: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """``frame`` in two dimensions: Z (heights) and M (measures) are dropped, and reported.

    The stores and the analysis then see the same kind of geometries whatever the file held
    (shapely keeps M, which GDAL cannot read back). Rows are named by ``frame.index``.
    """
    geoms = frame.geometry.values
    extra = shapely.has_z(geoms) | shapely.has_m(geoms)
    if not extra.any():
        return frame
    frame = frame.copy()
    frame.geometry = gpd.GeoSeries(shapely.force_2d(geoms), index=frame.index, crs=frame.crs)
    report.warnings.append(
        f"{report.source}: Z or M coordinates dropped in {format_rows(list(frame.index[extra]))}"
        " (geo-service works in two dimensions)"
    )
    return frame


def _check_geometry_types(frame: gpd.GeoDataFrame, source: str, schema: LayerSchema) -> None:
    allowed = schema.geometry_types | schema.extra_geometry_types
    type_ids = shapely.get_type_id(frame.geometry.values)
    # shapely's type of each name that GeoSeries.geom_type gives ('MultiPolygon': MULTIPOLYGON)
    if np.isin(type_ids, [int(shapely.GeometryType[t.upper()]) for t in allowed]).all():
        return  # the names of the types are made only for the message
    types = frame.geom_type
    wrong = ~types.isin(list(allowed))
    if wrong.any():
        found = ", ".join(sorted(set(types[wrong])))
        raise InputError(
            f"{source}: {found} geometries in {format_rows(list(frame.index[wrong]))}; "
            f"expected {' or '.join(sorted(allowed))} for a {schema.kind} layer"
        )


def _check_vertices(frame: gpd.GeoDataFrame, source: str) -> None:
    counts = shapely.get_num_coordinates(frame.geometry.values)
    heavy = counts > MAX_VERTICES
    if heavy.any():
        raise InputError(
            f"{source}: too many vertices in {format_rows(list(frame.index[heavy]))} (up to "
            f"{int(counts.max()):,}); expected at most {MAX_VERTICES:,} vertices per feature "
            "(simplify the outlines first)"
        )


def _check_finite(frame: gpd.GeoDataFrame, source: str) -> None:
    """Refuse coordinates that are NaN or infinite (GEOS fails on them; the bounds lie)."""
    coords, owners = shapely.get_coordinates(frame.geometry.values, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return
    raise _not_finite(source, [int(frame.index[i]) for i in np.unique(owners[bad])])


def _not_finite(source: str, rows: list[int]) -> InputError:
    return InputError(
        f"{source}: coordinates that are not numbers (NaN or infinite) in {format_rows(rows)}; "
        "expected finite coordinates for every vertex"
    )


def _check_in_france(frame: gpd.GeoDataFrame, source: str) -> None:
    bounds = shapely.bounds(frame.geometry.values)
    _check_bounds_in_france(bounds[:, [0, 1]], bounds[:, [2, 3]], frame.crs, frame.index, source)


def _check_bounds_in_france(
    low: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    declared: Any,
    rows_of: pd.Index,
    source: str,
) -> None:
    """Refuse features whose bounds (``low``, ``high`` corners, in CRS ``declared``) are not
    in metropolitan France; ``rows_of`` names the rows."""
    crs = CRS.from_user_input(declared)
    points = np.array_equal(low, high)  # points: both corners the same, transformed once
    n = len(low)
    if points:
        outside = ~_points_in_france(low, crs)
        if not outside.any():
            return
        lon, lat = _to_lonlat(low, crs)  # for the message
    else:
        lon, lat = _to_lonlat(np.vstack([low, high]), crs)
        inside = in_france(lon, lat)
        outside = ~(inside[:n] & inside[n:])
        if not outside.any():
            return
    corners = np.vstack([low, high])
    if points:
        lon, lat = np.concatenate([lon, lon]), np.concatenate([lat, lat])
    rows = list(rows_of[outside])
    first = int(np.flatnonzero(outside)[0])
    hint = _crs_hint(crs, corners, outside, lon, lat)
    raise InputError(
        f"{source}: features outside metropolitan France in {format_rows(rows)} "
        f"(e.g. row {rows[0]} at lon {lon[first]:.4f}, lat {lat[first]:.4f}); expected "
        f"coordinates within lon {FRANCE_LONLAT_BOUNDS[0]}..{FRANCE_LONLAT_BOUNDS[2]}, "
        f"lat {FRANCE_LONLAT_BOUNDS[1]}..{FRANCE_LONLAT_BOUNDS[3]} once read in the declared "
        f"CRS {crs.to_string()}.{hint}"
    )


def _points_in_france(xy: npt.NDArray[np.float64], crs: CRS) -> npt.NDArray[np.bool_]:
    """:func:`in_france` of points in ``crs``: those inside :func:`_inner_outline` without
    transforming them (a point-in-polygon test, three times cheaper than the transformation),
    the others transformed to longitudes and latitudes."""
    inner = _inner_outline(crs)
    inside = np.zeros(len(xy), dtype=bool)
    if inner is not None:
        inside = np.asarray(shapely.contains_xy(inner, xy[:, 0], xy[:, 1]), dtype=bool)
    rest = ~inside
    if rest.any():
        lon, lat = _to_lonlat(xy[rest], crs)
        inside[rest] = in_france(lon, lat)
    return inside


#: Points per side of :data:`FRANCE_LONLAT_BOUNDS` traced in a projected CRS.
_OUTLINE_STEPS: Final = 2000


@lru_cache(maxsize=16)
def _inner_outline(crs: CRS) -> shapely.Polygon | None:
    """A polygon of projected CRS ``crs`` whose points all lie in :data:`FRANCE_LONLAT_BOUNDS`
    once transformed: the box's outline traced in ``crs`` by :data:`_OUTLINE_STEPS` points a
    side, shrunk by twice its tracing error (the largest distance of a step's midpoint, traced
    too, from the step's chord: a curved side bulges most there) and a millionth of its size.
    None when the CRS is not projected or the outline is not a simple polygon there."""
    if not crs.is_projected:
        return None
    xmin, ymin, xmax, ymax = FRANCE_LONLAT_BOUNDS
    t = np.linspace(0.0, 1.0, 2 * _OUTLINE_STEPS + 1)  # even: the outline, odd: midpoints
    west_east, south_north = xmin + (xmax - xmin) * t, ymin + (ymax - ymin) * t
    lon = np.concatenate([west_east, np.full_like(t, xmax), west_east[::-1], np.full_like(t, xmin)])
    lat = np.concatenate(
        [np.full_like(t, ymin), south_north, np.full_like(t, ymax), south_north[::-1]]
    )
    try:
        to_crs = Transformer.from_crs("OGC:CRS84", crs, always_xy=True)
        x, y = to_crs.transform(lon, lat, errcheck=True)
    except Exception:  # pyproj's ProjError: the box is not all in the CRS's domain
        return None
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    traced = np.column_stack([x, y]).reshape(4, -1, 2)  # the four sides
    ends, middles = traced[:, ::2], traced[:, 1::2]
    outline = shapely.Polygon(ends.reshape(-1, 2))
    if not outline.is_valid:
        return None
    # each step's tracing error: its midpoint's distance to its chord (the sagitta)
    start, chord = ends[:, :-1], ends[:, 1:] - ends[:, :-1]
    offset = middles - start
    cross = np.abs(chord[..., 0] * offset[..., 1] - chord[..., 1] * offset[..., 0])
    error = float((cross / np.maximum(np.hypot(chord[..., 0], chord[..., 1]), 1e-300)).max())
    size = max(np.ptp(x), np.ptp(y))
    inner = outline.buffer(-(2 * error + 1e-6 * size))
    if inner.is_empty or inner.geom_type != "Polygon":
        return None
    shapely.prepare(inner)
    return inner


def _to_lonlat(
    xy: npt.NDArray[np.float64], crs: CRS
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    transformer = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
    with np.errstate(all="ignore"):
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _crs_hint(
    crs: CRS,
    corners: npt.NDArray[np.float64],
    outside: npt.NDArray[np.bool_],
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
) -> str:
    bad = np.concatenate([outside, outside])
    if crs.is_geographic and in_france(lat[bad], lon[bad]).all():
        return " Longitude and latitude look swapped."
    if crs.is_geographic and (np.abs(corners[bad]) > 360).all():
        lon2, lat2 = _to_lonlat(corners[bad], CRS.from_user_input(CANONICAL_CRS))
        if in_france(lon2, lat2).all():
            return " The coordinates look like Lambert-93 (EPSG:2154) labelled as degrees."
    if crs.is_projected and (np.abs(corners[bad]) <= 180).all():
        return " The coordinates look like degrees (WGS84) labelled as a projected CRS."
    return ""


def _repair_polygons(
    frame: gpd.GeoDataFrame, report: LayerReport, kind: LayerKind
) -> gpd.GeoDataFrame:
    geoms = frame.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return frame
    repaired = np.array(geoms, dtype=object)
    repaired[invalid] = [_polygonal_part(g) for g in shapely.make_valid(geoms[invalid])]
    empty = shapely.is_missing(repaired) | shapely.is_empty(repaired)
    frame = frame.copy()
    frame.geometry = gpd.GeoSeries(repaired, index=frame.index, crs=frame.crs)
    fixed = int(invalid.sum() - empty.sum())
    report.repaired += fixed
    if fixed:
        rows = list(frame.index[invalid & ~empty])
        report.warnings.append(
            f"{report.source}: {fixed} invalid {kind} polygon(s) repaired "
            f"({format_rows(rows)}); check their outlines"
        )
    report.skip("polygon with no area once repaired", [int(i) for i in frame.index[empty]])
    return frame.loc[~empty]


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    if merged.geom_type == "Polygon" or merged.geom_type == "MultiPolygon":
        return merged
    return None


def _canonical_columns(frame: gpd.GeoDataFrame, source: str, schema: LayerSchema) -> dict[str, Any]:
    converters = _CONVERTERS[schema.kind]
    out: dict[str, Any] = {}
    for name in schema.columns:
        values = frame[name] if name in frame.columns else pd.Series(None, index=frame.index)
        convert = converters.get(name, _text)
        out[name] = convert(values, source, name, name in schema.required)
    if schema.kind is LayerKind.LAND:
        _check_point_plots_have_area(frame, out, source)
    return out


def _check_point_plots_have_area(
    frame: gpd.GeoDataFrame, columns: dict[str, Any], source: str
) -> None:
    points = (frame.geom_type == "Point").to_numpy()
    no_area = points & pd.isna(columns["area_ha"]).to_numpy()
    if no_area.any():
        raise InputError(
            f"{source}: column 'area_ha': point plots without a surface in "
            f"{format_rows(list(frame.index[no_area]))}; expected area_ha (hectares) for plots "
            "given as points"
        )


def _check_ids(frame: gpd.GeoDataFrame, source: str, column: str) -> None:
    ids = frame[column]
    # zones are reached at /zones/{zone_id}; other ids (ARCEP's IMB/13001/X/...) hold '/'
    slash = np.zeros(len(ids), dtype=bool)
    if column == "zone_id":
        slash = ids.astype(str).str.contains("/", regex=False).to_numpy()
    if slash.any():
        raise _fail_rows(
            source,
            column,
            frame.index[slash],
            f"'/' in {', '.join(repr(str(v)) for v in pd.unique(ids[slash])[:3])}",
            "identifiers without '/' (they are part of the API's URLs)",
        )
    if _all_distinct(ids):
        return
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        groups = frame.index[dup].to_series().groupby(ids[dup].to_numpy(), sort=False)
        examples = "; ".join(
            f"'{value}' ({format_rows([int(r) for r in rows])})" for value, rows in list(groups)[:3]
        )
        raise InputError(
            f"{source}: column '{column}' has {int(ids[dup].nunique())} duplicated value(s): "
            f"{examples}; expected one feature per {column}"
        )


def _all_distinct(values: pd.Series) -> bool:
    """True when no two of ``values`` are the same (two missing values are), by Arrow's
    kernels on text: one comparison proves ids in increasing order distinct, others are hashed
    (``pc.unique``; pandas' ``duplicated`` took 0.2-1 s for 1.3 M ids); False when there may
    be duplicates (named by the caller), or when the values are not text."""
    if not isinstance(values.dtype, pd.StringDtype):
        return False
    array = pa.array(values.array)
    if len(array) > 1 and array.null_count == 0:
        increasing = pc.greater(array[1:], array[:-1])  # sorted ids (as files often hold them)
        if pc.all(increasing).as_py():
            return True
    return len(pc.unique(array)) == len(values)  # a null is one value


def _fail_rows(source: str, column: str, rows: pd.Index, what: str, expected: str) -> InputError:
    return InputError(
        f"{source}: column '{column}': {what} in {format_rows([int(r) for r in rows])}; "
        f"expected {expected}"
    )


def _present(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return values.notna() & (text != "") & text.notna()


# Text columns are checked with Arrow string kernels, whole columns at once. Those kernels and
# Python's str methods agree on ASCII text; the rare values with other characters are checked
# by the Python functions below, so that every value is treated as ``str`` methods would.


def _stripped(values: pd.Series) -> pd.Series:
    """``values`` as Arrow-backed text, stripped; NA where missing or blank."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _per_value(text: pd.Series, vectorised: pd.Series, python: Callable[[str], Any]) -> pd.Series:
    """``vectorised`` (computed from ``text`` by Arrow kernels), with the non-ASCII values of
    ``text`` computed by ``python`` instead."""
    other = (text.notna() & ~text.str.isascii()).to_numpy(dtype=bool)
    if not other.any():
        return vectorised
    out = vectorised.astype(object)
    out[other] = [python(v) for v in text[other]]
    return out.astype(vectorised.dtype)


def _as_str(text: pd.Series) -> pd.Series:
    """Text as the layers hold it: ``str`` values and missing ones (all-missing: ``None``)."""
    if text.isna().all():
        return pd.Series([None] * len(text), index=text.index, dtype=object)
    return text.astype("str")


def _text(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    text = _integral(_stripped(values))
    if required:
        missing = text.isna()
        if missing.any():
            raise _fail_rows(source, column, values.index[missing], "empty values", "a value")
    return _as_str(text)


def _integral(text: pd.Series) -> pd.Series:
    """'12.0' (an id read as a float) becomes '12'; other values are kept."""
    if not text.str.endswith(".0").fillna(False).any():
        return text  # nothing to change (the rule below only changes values ending so)
    vectorised = text.str.replace(r"^(-*[0-9]+)\.0$", r"\1", regex=True)
    return _per_value(text, vectorised, _integral_text)


def _integral_text(value: str) -> str:
    if value.endswith(".0") and value[:-2].lstrip("-").isdigit():
        return value[:-2]
    return value


def _upper(text: pd.Series) -> pd.Series:
    return _per_value(text, text.str.upper(), str.upper)


#: INSEE codes in ASCII: :data:`geo_service.insee.INSEE_CODE` for Arrow's regex kernels.
_INSEE_ASCII: Final = r"[0-9]{5}|2[AB][0-9]{3}"


def _all_like(text: pd.Series, kept: pd.Series) -> bool:
    """Whether every value of ``text`` (as :func:`_text` gives it) is missing or ``kept``:
    the converters below then return ``text`` as it is (their steps change nothing)."""
    return bool((kept.fillna(False).astype(bool) | text.isna()).all())


def _insee(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    given = _text(values, source, column, required)
    if given.dtype == object or _all_like(given, given.str.fullmatch(_INSEE_ASCII)):
        return given  # codes already (or all missing): nothing padded, upper-cased, refused
    text = _stripped(given)
    digits = _per_value(text, text.str.fullmatch(r"[0-9]+"), str.isdigit).fillna(False)
    padded = _upper(text.where(~digits.astype(bool), text.str.pad(5, "left", "0")))
    codes = _per_value(
        padded,
        padded.str.fullmatch(_INSEE_ASCII),
        lambda v: bool(INSEE_CODE.match(v)),
    )
    bad = (padded.notna() & ~codes.fillna(False).astype(bool)).to_numpy(dtype=bool)
    if bad.any():
        example = padded[bad].iloc[0]
        raise _fail_rows(
            source,
            column,
            values.index[bad],
            f"values that are not INSEE codes (e.g. '{example}')",
            "5 characters such as 13055, 01004 or 2A004",
        )
    return _as_str(padded)


def _one_of(allowed: tuple[str, ...], what: str) -> _Converter:
    """A converter to upper-case codes among ``allowed`` (``what`` names them in messages)."""

    def convert(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
        given = _text(values, source, column, required)
        if _all_like(given, given.isin(allowed)):
            return given  # codes already: nothing upper-cased or refused
        text = _upper(_stripped(given))
        bad = (text.notna() & ~text.isin(allowed)).to_numpy(dtype=bool)
        if bad.any():
            found = ", ".join(repr(str(v)) for v in pd.unique(text[bad])[:5])
            raise _fail_rows(
                source,
                column,
                values.index[bad],
                f"values {found} that are not {what}",
                f"one of {', '.join(allowed)}",
            )
        return _as_str(text)

    return convert


def _number(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    text = text.str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype(float)


def _locaux(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    numbers = _number(values)
    bad = ~np.isfinite(numbers) | (numbers < 1) | (numbers != np.floor(numbers))
    bad |= numbers > MAX_LOCAUX
    if bad.any():
        raise _fail_rows(
            source,
            column,
            values.index[bad],
            "values that are not whole numbers of premises",
            f"an integer from 1 to {MAX_LOCAUX:,} (number of locaux in the building)",
        )
    return numbers.astype(np.int64)


def _non_negative(
    values: pd.Series, source: str, column: str, what: str, expected: str
) -> pd.Series:
    """The given values as finite numbers >= 0 (NaN where not given); others refused."""
    numbers = _number(values)
    given = _present(values)
    bad = given & (~np.isfinite(numbers) | (numbers < 0))
    if bad.any():
        raise _fail_rows(source, column, values.index[bad], what, expected)
    return numbers.where(given)


def _area(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    areas = _non_negative(
        values, source, column, "values that are not surfaces", "a number of hectares >= 0"
    )
    huge = (areas > MAX_PLOT_HA).fillna(False).to_numpy(dtype=bool)
    if huge.any():
        raise _fail_rows(
            source,
            column,
            values.index[huge],
            f"surfaces up to {float(areas.max()):,.0f} ha",
            f"at most {MAX_PLOT_HA:,.0f} ha per plot (twice the largest French activity "
            "zone); are they m² rather than hectares?",
        )
    return areas


def _metres(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    return _non_negative(values, source, column, "values that are not lengths", "metres >= 0")


def _speed(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    speeds = _non_negative(values, source, column, "values that are not speeds", "km/h > 0")
    return speeds.where(speeds > 0)


def _population(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    counts = _non_negative(values, source, column, "values that are not counts", "an integer >= 0")
    return counts.round().astype("Int64")


def _boolean(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        parsed = values.astype("boolean")
    else:
        text = values.astype("string").str.strip().str.lower()
        parsed = pd.Series(pd.NA, index=values.index, dtype="boolean")
        parsed[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
        parsed[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
        bad = _present(values) & parsed.isna()
        if bad.any():
            raise _fail_rows(
                source,
                column,
                values.index[bad],
                "values that are not booleans",
                "true/false, 1/0 or oui/non",
            )
    if required:
        missing = parsed.isna()
        if missing.any():
            raise _fail_rows(source, column, values.index[missing], "empty values", "true or false")
        return parsed.astype(bool)
    return parsed


_Converter = Callable[[pd.Series, str, str, bool], pd.Series]


def _lower_one_of(allowed: tuple[str, ...], what: str) -> _Converter:
    """A converter to lower-case words among ``allowed`` (``what`` names them in messages)."""

    def convert(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
        text = _text(values, source, column, required)
        if text.dtype != object:  # object: all missing
            text = _per_value(text, text.str.strip().str.lower(), lambda v: v.strip().lower())
        bad = text.notna() & ~text.isin(allowed)
        if bad.any():
            found = ", ".join(repr(v) for v in pd.unique(text[bad])[:5])
            raise _fail_rows(
                source,
                column,
                values.index[bad],
                f"values {found} that are not {what}",
                f"one of {', '.join(allowed)}",
            )
        return text

    return convert


def _modes(values: pd.Series, source: str, column: str, required: bool) -> pd.Series:
    """Comma-separated public-transport modes (``bus,tram``), sorted; empty: none known."""
    text = values.astype("string").str.strip().str.lower().fillna("")
    lists = pc.split_pattern_regex(pa.array(text.array), r"\s*,\s*")
    words = pc.list_flatten(lists).cast(pa.string())
    rows = pc.list_parent_indices(lists).to_numpy()
    given = pc.not_equal(words, "").to_numpy(zero_copy_only=False)
    known = pc.is_in(words, pa.array(TRANSIT_MODES)).to_numpy(zero_copy_only=False)
    bad = np.zeros(len(values), dtype=bool)
    bad[rows[given & ~known]] = True
    if bad.any():
        raise _fail_rows(
            source,
            column,
            values.index[bad],
            "values that are not lists of transport modes",
            f"comma-separated modes among {', '.join(TRANSIT_MODES)}",
        )
    joined = _sorted_sets(words, rows, given, len(values))
    return pd.Series(joined, index=values.index, dtype=object)


def _sorted_sets(
    words: pa.Array, rows: npt.NDArray[np.int64], given: npt.NDArray[np.bool_], n: int
) -> npt.NDArray[np.object_]:
    """Per row of ``n``, its ``given`` words (``rows`` says whose) without repeats, sorted and
    joined by commas ('' for none), as ``str`` objects."""
    pairs = pa.table({"row": rows[given], "word": words.filter(pa.array(given))})
    pairs = pairs.group_by(["row", "word"]).aggregate([])  # each word once per row
    pairs = pairs.sort_by([("row", "ascending"), ("word", "ascending")])  # code point order
    out = np.full(n, "", dtype=object)
    if pairs.num_rows:
        lists = pairs.group_by("row", use_threads=False).aggregate([("word", "list")])
        joined = pc.binary_join(lists.column("word_list"), ",")
        out[lists.column("row").to_numpy()] = joined.to_numpy(zero_copy_only=False)
    return out


_CONVERTERS: Final[dict[LayerKind, dict[str, _Converter]]] = {
    LayerKind.ZONES: {"commune_insee": _insee},
    LayerKind.PREMISES: {
        "locaux": _locaux,
        "down_class": _one_of(SPEED_CLASSES, "ARCEP classes"),
        "best_techno": _one_of(TECHNOLOGIES, "ARCEP technologies"),
        "ftth": _boolean,
        "commune_insee": _insee,
    },
    LayerKind.LAND: {"available": _boolean, "area_ha": _area},
    LayerKind.COMMUNES: {"commune_insee": _insee, "population": _population},
    LayerKind.TRANSIT_STOPS: {"modes": _modes, "peak_departures": _population},
    LayerKind.RAIL_STATIONS: {"passengers": _boolean, "commune_insee": _insee},
    LayerKind.ROAD_ACCESS: {"kind": _lower_one_of(ROAD_ACCESS_KINDS, "road access kinds")},
    LayerKind.HUBS: {"kind": _lower_one_of(HUB_KINDS, "hub kinds")},
    LayerKind.ROAD_NETWORK: {"length_m": _metres, "maxspeed_kmh": _speed},
}
