"""The coverage raster as a map image: warped to Web Mercator, classified, a paletted PNG.

Leaflet stretches an image overlay linearly between two corners in Web Mercator, so the
raster is reprojected to EPSG:3857 first (nearest neighbour: speeds are classes, not values
to blend). Unknown pixels are transparent.
"""

from __future__ import annotations

import base64
import math
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import rasterio
import rasterio.warp
import rasterio.windows
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from geo_service.maps.style import COVERAGE_RAMP, RASTER_BREAKS, rgb
from geo_service.model import CoverageRaster

WEB_MERCATOR: Final = "EPSG:3857"
_NODATA: Final = 255


@dataclass(frozen=True)
class RasterImage:
    """A PNG ``data:`` URL and its ``[[south, west], [north, east]]`` bounds."""

    url: str
    bounds: list[list[float]]
    width: int
    height: int

    def as_json(self) -> dict[str, Any]:
        """What the map's script needs."""
        return {"url": self.url, "bounds": self.bounds}


def raster_image(
    raster: CoverageRaster,
    *,
    window: tuple[float, float, float, float] | None = None,
    max_size: int = 1600,
    upsample: int = 1,
) -> RasterImage | None:
    """The raster (or its part inside ``window``, in the raster's CRS) as a map image.

    Parameters
    ----------
    raster
        Coverage raster, Mbit/s, NaN where unknown.
    window
        ``(xmin, ymin, xmax, ymax)`` to crop to; None for the whole raster.
    max_size
        Largest side of the image in pixels (the raster is coarsened beyond it).
    upsample
        Output pixels per raster pixel (sharper pixel edges once reprojected), within
        ``max_size``.

    Returns
    -------
    None when the window misses the raster or holds no known pixel.
    """
    data, transform = _crop(raster, window)
    if data.size == 0 or not np.isfinite(data).any():
        return None
    rows, cols = data.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (cols, rows)
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        raster.crs, WEB_MERCATOR, cols, rows, left=left, bottom=bottom, right=right, top=top
    )
    width, height = int(width or 1), int(height or 1)
    scale = min(float(upsample), max_size / max(width, height))
    width, height = max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))
    xmin, ymax = dst_transform @ (0, 0)
    pixel = dst_transform.a / scale
    dst_transform = rasterio.Affine(pixel, 0, xmin, 0, -pixel, ymax)
    warped = np.full((height, width), np.nan, dtype=np.float32)
    rasterio.warp.reproject(
        source=data,
        destination=warped,
        src_transform=transform,
        src_crs=raster.crs,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs=WEB_MERCATOR,
        dst_nodata=np.nan,
        resampling=rasterio.warp.Resampling.nearest,
    )
    classes = np.digitize(np.nan_to_num(warped, nan=0.0), RASTER_BREAKS[1:]).astype(np.uint8)
    classes[~np.isfinite(warped)] = _NODATA
    x0, y1 = dst_transform @ (0, 0)
    x1, y0 = dst_transform @ (width, height)
    lons, lats = rasterio.warp.transform(WEB_MERCATOR, "EPSG:4326", [x0, x1], [y0, y1])
    bounds = [[round(lats[0], 6), round(lons[0], 6)], [round(lats[1], 6), round(lons[1], 6)]]
    return RasterImage(url=_png_data_url(classes), bounds=bounds, width=width, height=height)


def _crop(
    raster: CoverageRaster, window: tuple[float, float, float, float] | None
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], rasterio.Affine]:
    if window is None:
        return raster.data, raster.transform
    rows, cols = raster.shape
    win = rasterio.windows.from_bounds(*window, transform=raster.transform)
    row0 = max(0, math.floor(win.row_off))
    col0 = max(0, math.floor(win.col_off))
    row1 = min(rows, math.ceil(win.row_off + win.height))
    col1 = min(cols, math.ceil(win.col_off + win.width))
    if row1 <= row0 or col1 <= col0:
        return np.empty((0, 0), dtype=np.float32), raster.transform
    sub = raster.data[row0:row1, col0:col1]
    return sub, raster.transform @ rasterio.Affine.translation(col0, row0)


def _png_data_url(classes: np.ndarray[Any, np.dtype[np.uint8]]) -> str:
    colormap = {i: (*rgb(colour), 255) for i, colour in enumerate(COVERAGE_RAMP)}
    colormap[_NODATA] = (0, 0, 0, 0)
    height, width = classes.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as memory:
            with memory.open(
                driver="PNG", width=width, height=height, count=1, dtype="uint8"
            ) as png:
                png.write(classes, 1)
                png.write_colormap(1, colormap)
            payload = memory.read()
    return "data:image/png;base64," + base64.b64encode(payload).decode("ascii")
