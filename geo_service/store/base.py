"""The store interface: where canonical layers, the coverage raster and results live."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.io
import shapely

from geo_service.errors import ParameterError
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.point_arrays import PointTable as PointTable
from geo_service.store.archive import OpinionArchive

_LAYER_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

#: What :meth:`Store.update_layer` does with the stored vector layer and its provenance (both
#: None when it is absent): the frame and provenance that replace them.
LayerUpdate = Callable[
    [gpd.GeoDataFrame | None, LayerMeta | None], tuple[gpd.GeoDataFrame, LayerMeta]
]


def point_table(frame: pd.DataFrame) -> PointTable | None:
    """``frame`` as a :class:`PointTable`; None unless its geometries are all points."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        return None
    values = np.asarray(frame.geometry.array, dtype=object)
    if not np.isin(shapely.get_type_id(values), (-1, 0)).all():  # -1: NULL, 0: Point
        return None
    located = ~(shapely.is_missing(values) | shapely.is_empty(values))
    x, y = np.full(len(values), np.nan), np.full(len(values), np.nan)
    x[located], y[located] = shapely.get_x(values[located]), shapely.get_y(values[located])
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    crs = None if frame.crs is None else frame.crs.to_string()
    return PointTable(attributes, x, y, crs)


#: A vector layer to write: a frame of geometries, or points given as coordinates (a
#: validated premises layer, written without a geometry object per point where the store can).
VectorLayer: TypeAlias = gpd.GeoDataFrame | PointTable


def point_frame(points: PointTable) -> gpd.GeoDataFrame:
    """``points`` as a frame of point geometries (None where x or y is not a number): the
    inverse of :func:`point_table`."""
    located = np.isfinite(points.x) & np.isfinite(points.y)
    geometry = np.full(len(points.x), None, dtype=object)
    geometry[located] = shapely.points(points.x[located], points.y[located])
    return gpd.GeoDataFrame(points.frame, geometry=geometry, crs=points.crs)


def as_frame(data: VectorLayer) -> gpd.GeoDataFrame:
    """A vector layer to write as a frame of geometries (a :class:`PointTable`'s made)."""
    return point_frame(data) if isinstance(data, PointTable) else data


def column_dtypes(frame: pd.DataFrame) -> dict[str, str]:
    """The pandas dtype of each attribute column, recorded so a store can restore it on reading."""
    return {
        str(name): str(dtype)
        for name, dtype in frame.dtypes.items()
        if not isinstance(dtype, gpd.array.GeometryDtype)
    }


def restore_dtype(values: pd.Series, dtype_name: str) -> pd.Series:
    """``values`` as read back from a store, cast to the dtype they were written with."""
    dtype = pd.api.types.pandas_dtype(dtype_name)
    if pd.api.types.is_object_dtype(dtype):
        values = values.astype(object)
        return values.where(values.notna(), None)
    return values.astype(dtype)


def restore_dtypes(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``frame`` with each recorded column restored by :func:`restore_dtype`."""
    for name, dtype_name in dtypes.items():
        if name in frame.columns and str(frame[name].dtype) != dtype_name:
            frame[name] = restore_dtype(frame[name], dtype_name)
    return frame


def geotiff_profile(raster: CoverageRaster) -> dict[str, Any]:
    """Rasterio profile of the stored coverage GeoTIFF: float32, NaN nodata, tiled, deflate."""
    rows, cols = raster.shape
    return {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": raster.crs,
        "transform": raster.transform,
        "nodata": float("nan"),
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }


def raster_of(src: rasterio.io.DatasetReader) -> CoverageRaster:
    """The first band of an open stored GeoTIFF as a coverage raster (nodata as NaN)."""
    if nan_is_its_only_mask(src):  # as stored (geotiff_profile): the pixels as they are
        data = src.read(1)
    else:
        data = src.read(1, masked=True).astype(np.float32).filled(np.nan)
    return CoverageRaster(data=data, transform=src.transform, crs=src.crs.to_string())


def nan_is_its_only_mask(src: rasterio.io.DatasetReader) -> bool:
    """Whether the first band is float32 with NaN as nodata and no other mask: its masked
    pixels, filled with NaN, are its pixels (without the mask's second pass, 0.02 s for the
    département's 4.3 M pixels)."""
    nodata = src.nodatavals[0]
    return (
        src.dtypes[0] == "float32"
        and nodata is not None
        and bool(np.isnan(nodata))
        and [flag.name for flag in src.mask_flag_enums[0]] == ["nodata"]
    )


def is_layer_name(name: str) -> bool:
    """Whether ``name`` is a valid layer name (see :func:`check_layer_name`)."""
    return bool(_LAYER_NAME.match(name))


def check_layer_name(name: str) -> str:
    """``name`` if it is a valid layer name (lower-case letters, digits, underscores)."""
    if not is_layer_name(name):
        raise ParameterError(
            "layer",
            f"'{name}' is not a valid layer name; expected lower-case letters, digits and "
            "underscores, starting with a letter (at most 63 characters)",
        )
    return name


class Store(ABC):
    """Layers by name, replaced atomically: readers see the old or the new data, never a mix."""

    @abstractmethod
    def write_layer(self, name: str, frame: VectorLayer, meta: LayerMeta) -> None:
        """Replace (or create) the vector layer ``name`` with ``frame``, atomically."""

    @abstractmethod
    def read_layer(
        self,
        name: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        columns: list[str] | None = None,
    ) -> gpd.GeoDataFrame:
        """The vector layer ``name``; ``bbox`` in the layer's CRS limits the features read.

        ``bbox`` keeps the features that intersect it; ``columns`` keeps those attributes (in
        the layer's order; unknown names are ignored) and the geometry. A layer written from a
        frame without an active geometry column is a plain table: it is read back as a
        :class:`pandas.DataFrame`, and ``bbox`` is ignored.
        """

    def read_points(self, name: str, columns: list[str] | None = None) -> PointTable | None:
        """The point layer ``name`` as columns (``columns`` as in :meth:`read_layer`), for
        readers that need coordinates rather than geometries (the analysis); None when the
        layer holds other geometries. A store may read it without making the geometries."""
        return point_table(self.read_layer(name, columns=columns))

    @abstractmethod
    def write_layers(self, layers: Mapping[str, tuple[VectorLayer, LayerMeta]]) -> None:
        """Replace (or create) several vector layers in one step (the zone, commune and EPCI
        results): a reader through :meth:`read_layers` sees all of them old or all new,
        and a failure leaves every one of them as it was."""

    @abstractmethod
    def read_layers(self, names: Sequence[str]) -> dict[str, tuple[gpd.GeoDataFrame, LayerMeta]]:
        """Vector layers ``names`` and their provenance as of one moment: never some of the
        layers of a :meth:`write_layers` old and others new. NotFoundError if one is absent."""

    @abstractmethod
    def update_layer(self, name: str, update: LayerUpdate) -> None:
        """Replace vector layer ``name`` by ``update(stored frame, stored provenance)``.

        The writers' lock of the layer is held from the read to the replacement, so that two
        updates at once (two ``--append`` imports) both count: the second one reads what the
        first one wrote. An exception raised by ``update`` leaves the layer as it was.
        """

    @abstractmethod
    def write_raster(self, name: str, raster: CoverageRaster, meta: LayerMeta) -> None:
        """Replace (or create) the raster ``name``, atomically."""

    @abstractmethod
    def write_rasters(self, rasters: Mapping[str, tuple[CoverageRaster, LayerMeta]]) -> None:
        """Replace (or create) several rasters in one step (a raster's vintages): all of them
        new, or, on a failure, every one of them as it was."""

    @abstractmethod
    def read_raster(self, name: str) -> CoverageRaster:
        """The raster ``name``."""

    @abstractmethod
    def layer_meta(self, name: str) -> LayerMeta:
        """Provenance of layer ``name``; raises NotFoundError if absent."""

    @abstractmethod
    def list_layers(self) -> list[LayerMeta]:
        """Provenance of every stored layer, by name."""

    @abstractmethod
    def delete_layer(self, name: str) -> None:
        """Remove layer ``name``; raises NotFoundError if absent."""

    @abstractmethod
    def opinion_archive(self) -> OpinionArchive:
        """The store's insert-only archive of the opinions given (see
        :mod:`geo_service.store.archive`)."""

    @abstractmethod
    def version(self, name: str) -> str | None:
        """A token that changes whenever layer ``name`` is replaced (None if absent)."""

    def versions(self, names: Iterable[str]) -> dict[str, str | None]:
        """:meth:`version` of each of ``names``, at once (one query where the store allows)."""
        return {name: self.version(name) for name in names}

    def has_layer(self, name: str) -> bool:
        """Whether layer ``name`` is stored."""
        return self.version(name) is not None

    def describe(self) -> str:
        """Where the store lives, for messages."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 (optional hook: most stores hold nothing open)
        """Release what the store holds open (database connections); nothing by default."""
