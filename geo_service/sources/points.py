"""Coordinates of point files: parsing them, checking they fall in France, projecting them.

Producers' point files (ARCEP buildings, mobile sites) give coordinates as text columns in a
known CRS. :func:`parse_coordinates` reads them (decimal commas, ``#N/A`` and other missing
markers), :func:`check_in_france` refuses points outside metropolitan France with a count,
examples and a hint when the numbers look like another CRS or swapped axes, and
:func:`to_lambert93` projects them.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS, Transformer

from geo_service.errors import InputError, format_rows
from geo_service.model import CANONICAL_CRS, FRANCE_LONLAT_BOUNDS, in_france

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Text that producers write for a missing value.
MISSING_MARKERS: Final = ("", "#N/A", "N/A", "NA", "NAN", "NULL", "NONE", "-")
_NUMBER: Final = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_EARTH_RADIUS: Final = 6_378_137.0
#: CRSs tried, in this order, to explain points that fall outside France.
_HINT_CRS: Final = (
    ("EPSG:2154", "Lambert-93 (EPSG:2154)"),
    ("EPSG:3857", "Web Mercator (EPSG:3857)"),
    ("OGC:CRS84", "longitude/latitude degrees (WGS84)"),
)


def parse_coordinates(values: pa.Array | pa.ChunkedArray) -> tuple[FloatArray, BoolArray]:
    """Numbers of a text column, and where the text is neither a number nor a missing marker.

    Decimal commas and surrounding spaces are accepted; :data:`MISSING_MARKERS` (``#N/A``...)
    and nulls give NaN without being flagged. Dictionary-encoded columns are parsed once per
    distinct value.

    Returns
    -------
    ``(values, bad)``: float64 values (NaN where missing or bad) and the mask of bad text.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        numbers, bad = parse_coordinates(values.dictionary)
        codes = np.asarray(pc.fill_null(values.indices, -1).to_numpy(zero_copy_only=False))
        known = codes >= 0
        out = np.full(len(codes), np.nan)
        out[known] = numbers[codes[known]]
        return out, known & bad[np.where(known, codes, 0)]
    try:  # fast path: plain numbers and empty fields
        numbers = pc.cast(values, pa.float64())
        return _floats(numbers), np.zeros(len(values), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    text = pc.replace_substring(text, ",", ".")
    marker = pc.is_in(pc.utf8_upper(text), value_set=pa.array(MISSING_MARKERS))
    missing = pc.or_(pc.is_null(text), pc.fill_null(marker, False))
    number = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    numbers = pc.cast(pc.if_else(number, text, pa.scalar(None, pa.string())), pa.float64())
    bad = ~np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool) & ~np.asarray(
        number.to_numpy(zero_copy_only=False), dtype=bool
    )
    return _floats(numbers), bad


def _floats(numbers: pa.Array) -> FloatArray:
    return np.asarray(pc.fill_null(numbers, np.nan).to_numpy(zero_copy_only=False), np.float64)


def to_lonlat(x: FloatArray, y: FloatArray, crs: str) -> tuple[FloatArray, FloatArray]:
    """Longitude and latitude (WGS84) of points given in ``crs``."""
    if crs == "EPSG:3857":  # spherical Web Mercator: inverted in closed form, fast
        lon = np.degrees(x / _EARTH_RADIUS)
        lat = np.degrees(2 * np.arctan(np.exp(y / _EARTH_RADIUS)) - np.pi / 2)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if crs == "OGC:CRS84":
        return x, y
    transformer = Transformer.from_crs(CRS.from_user_input(crs), "OGC:CRS84", always_xy=True)
    with np.errstate(all="ignore"):
        lon, lat = transformer.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def to_lambert93(x: FloatArray, y: FloatArray, crs: str) -> tuple[FloatArray, FloatArray]:
    """Points given in ``crs`` projected to Lambert-93."""
    if CRS.from_user_input(crs).equals(CRS.from_user_input(CANONICAL_CRS)):
        return x, y
    transformer = Transformer.from_crs(CRS.from_user_input(crs), CANONICAL_CRS, always_xy=True)
    with np.errstate(all="ignore"):
        x2, y2 = transformer.transform(x, y, errcheck=False)
    return np.asarray(x2, dtype=np.float64), np.asarray(y2, dtype=np.float64)


def check_in_france(
    x: FloatArray,
    y: FloatArray,
    crs: str,
    *,
    source: str,
    columns: tuple[str, str],
    rows: npt.NDArray[np.int64] | None = None,
) -> None:
    """Refuse points outside metropolitan France (NaN points are not checked).

    Parameters
    ----------
    x, y
        Coordinates in ``crs``.
    source
        File named in the message.
    columns
        Names of the x and y columns, for the message.
    rows
        1-based row number of each point (default: position + 1).

    Raises
    ------
    InputError
        Naming the number of points outside, a few rows with their coordinates, and a hint
        when the numbers look like another CRS or like swapped axes.
    """
    lon, lat = to_lonlat(x, y, crs)
    given = np.isfinite(x) & np.isfinite(y)
    outside = given & ~in_france(lon, lat)
    if not outside.any():
        return
    numbers = np.arange(1, len(x) + 1) if rows is None else rows
    bad_rows = [int(r) for r in numbers[outside]]
    examples = "; ".join(
        f"row {int(numbers[i])}: {columns[0]}={x[i]:g}, {columns[1]}={y[i]:g}"
        for i in np.flatnonzero(outside)[:3]
    )
    xmin, ymin, xmax, ymax = FRANCE_LONLAT_BOUNDS
    raise InputError(
        f"{source}: columns '{columns[0]}'/'{columns[1]}': {len(bad_rows)} point(s) outside "
        f"metropolitan France in {format_rows(bad_rows)} ({examples}); expected {crs} "
        f"coordinates that fall within lon {xmin}..{xmax}, lat {ymin}..{ymax}."
        f"{_hint(x[outside], y[outside], crs)}"
    )


def _hint(x: FloatArray, y: FloatArray, crs: str) -> str:
    if in_france(*to_lonlat(y, x, crs)).all():
        return " The x and y (longitude and latitude) columns look swapped."
    declared = CRS.from_user_input(crs)
    for candidate, label in _HINT_CRS:
        if declared.equals(CRS.from_user_input(candidate)):
            continue
        if in_france(*to_lonlat(x, y, candidate)).all():
            return f" The coordinates look like {label}."
    return ""
