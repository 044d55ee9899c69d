"""Coverage rasters: a one-band GeoTIFF of download speeds, in any CRS, read into Lambert-93."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import pyproj
import rasterio
import rasterio.io
from rasterio.errors import RasterioError
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window

from geo_service.errors import InputError
from geo_service.model import CANONICAL_CRS, FRANCE_LONLAT_BOUNDS, CoverageRaster
from geo_service.settings import DEFAULT_MAX_RASTER_PIXELS
from geo_service.sources.paths import check_input_file
from geo_service.store.base import nan_is_its_only_mask
from geo_service.validation import unconvertible_crs

#: Pixels read at once: the band is read in stripes of about this many pixels, so that memory
#: holds the float32 result and one stripe, whatever the file's type, blocks and compression.
_STRIPE_PIXELS: Final = 1 << 22


def read_coverage_raster(
    path: Path, *, max_pixels: int = DEFAULT_MAX_RASTER_PIXELS
) -> CoverageRaster:
    """Read a coverage GeoTIFF (max download speed in Mbit/s, nodata = unknown) into Lambert-93.

    Pixels are reprojected with nearest-neighbour resampling when the file is in another CRS.
    A raster of more than ``max_pixels`` pixels (in the file or once in Lambert-93) is refused
    from its header, before any pixel is read.

    Raises
    ------
    InputError
        When the file is not a raster, has several bands, declares no CRS, lies outside France,
        has too many pixels or holds negative speeds.
    """
    path = Path(path)
    check_input_file(path)
    try:
        with rasterio.open(path) as src:
            _check_dataset(path, src)
            _check_size(path, src.width, src.height, max_pixels, "")
            raster = CoverageRaster(
                data=_read_band(src), transform=src.transform, crs=src.crs.to_string()
            )
    except RasterioError as exc:
        raise InputError(
            f"{path}: cannot be read as a raster ({exc}); expected a one-band GeoTIFF"
        ) from exc
    _check_values(path, raster)
    return to_lambert93(raster, max_pixels=max_pixels, path=path)


def _read_band(src: rasterio.io.DatasetReader) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Band 1 as float32 with nodata as NaN, read stripe by stripe (memory: one stripe more)."""
    out = np.empty((src.height, src.width), dtype=np.float32)
    if nan_is_its_only_mask(src):  # float32 with NaN nodata: the pixels are the band
        src.read(1, out=out)
        return out
    step = max(1, _STRIPE_PIXELS // max(1, src.width))
    for top in range(0, src.height, step):
        window = Window(0, top, src.width, min(step, src.height - top))
        stripe = src.read(1, window=window, masked=True)
        out[top : top + window.height] = stripe.astype(np.float32).filled(np.nan)
    return out


def _check_size(path: Path, width: int, height: int, max_pixels: int, where: str) -> None:
    if width * height > max_pixels:
        raise InputError(
            f"{path}: {width:,} x {height:,} pixels{where} ({width * height:,}); expected at "
            f"most {max_pixels:,} pixels (setting max_raster_pixels: a département at 10 m). "
            "Cut the raster to the territory or coarsen its resolution"
        )


def to_lambert93(
    raster: CoverageRaster,
    *,
    max_pixels: int = DEFAULT_MAX_RASTER_PIXELS,
    path: Path | None = None,
) -> CoverageRaster:
    """The same raster in Lambert-93 (nearest-neighbour), or ``raster`` itself if already there.

    Refused (InputError naming ``path``) when the reprojected raster would have more than
    ``max_pixels`` pixels.
    """
    src_crs = rasterio.crs.CRS.from_user_input(raster.crs)
    dst_crs = rasterio.crs.CRS.from_user_input(CANONICAL_CRS)
    if src_crs == dst_crs:
        return raster
    rows, cols = raster.shape
    left, bottom, right, top = raster.bounds
    transform, width, height = calculate_default_transform(
        src_crs, dst_crs, cols, rows, left, bottom, right, top
    )
    _check_size(path or Path("raster"), width, height, max_pixels, " once in Lambert-93")
    out = np.full((height, width), np.nan, dtype=np.float32)
    reproject(
        raster.data,
        out,
        src_transform=raster.transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=dst_crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return CoverageRaster(data=out, transform=transform, crs=CANONICAL_CRS)


def _check_dataset(path: Path, src: rasterio.io.DatasetReader) -> None:
    if src.count != 1:
        raise InputError(
            f"{path}: has {src.count} bands; expected one band of download speeds in Mbit/s"
        )
    if src.crs is None:
        raise InputError(
            f"{path}: no coordinate reference system is declared; expected a GeoTIFF with "
            "its CRS (e.g. EPSG:2154)"
        )
    if not np.issubdtype(np.dtype(src.dtypes[0]), np.number):
        raise InputError(f"{path}: pixel type {src.dtypes[0]}; expected numbers (Mbit/s)")
    try:
        lon0, lat0, lon1, lat1 = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    except Exception as exc:  # a local (engineering) CRS, or one PROJ cannot convert
        raise unconvertible_crs(str(path), _crs_name(src.crs), crs_option=False) from exc
    xmin, ymin, xmax, ymax = FRANCE_LONLAT_BOUNDS
    if lon1 < xmin or lon0 > xmax or lat1 < ymin or lat0 > ymax:
        raise InputError(
            f"{path}: covers lon {lon0:.3f}..{lon1:.3f}, lat {lat0:.3f}..{lat1:.3f}, outside "
            f"metropolitan France; expected a raster over France in its declared CRS "
            f"{src.crs.to_string()}"
        )


def _crs_name(crs: rasterio.crs.CRS) -> str:
    try:
        return str(pyproj.CRS.from_wkt(crs.to_wkt()).name)
    except Exception:  # not even PROJ can read it
        return str(crs.to_string())[:80]


def _check_values(path: Path, raster: CoverageRaster) -> None:
    infinite = int(np.isinf(raster.data).sum())
    if infinite:
        raise InputError(
            f"{path}: {infinite} pixel(s) are infinite; expected download speeds in Mbit/s "
            "and a nodata value (or NaN) for unknown pixels"
        )
    valid = np.isfinite(raster.data)
    if not valid.any():
        raise InputError(f"{path}: every pixel is nodata; expected download speeds in Mbit/s")
    negative = int((raster.data[valid] < 0).sum())
    if negative:
        raise InputError(
            f"{path}: {negative} pixel(s) hold negative values; expected download speeds in "
            "Mbit/s (>= 0) and a nodata value for unknown pixels"
        )
