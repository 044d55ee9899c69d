"""The embedded store: one GeoPackage (or GeoTIFF) per layer under ``<data_dir>/store``.

A layer is replaced by writing a complete new file beside the old one and renaming it over
the old one (``os.replace``, atomic on POSIX): readers see the old or the new file, never a
mix, and an import that fails or is killed half-way leaves the previous file untouched (its
temporary file is removed by the next write). Writers take an exclusive lock on
``<data_dir>/store/.lock``. Several layers written together (:meth:`GeoPackageStore.write_layers`)
are all written first, then renamed under an exclusive lock on ``<data_dir>/store/.switch``,
which readers of several layers (:meth:`GeoPackageStore.read_layers`) hold shared: they see
all the old files or all the new ones. Provenance is stored inside each file (GeoPackage layer
metadata, GeoTIFF tag), so that a file and its description are replaced together.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely

from geo_service.errors import NotFoundError, StoreError
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.store.archive import OpinionArchive, SQLiteArchive
from geo_service.store.base import (
    LayerUpdate,
    PointTable,
    Store,
    VectorLayer,
    check_layer_name,
    column_dtypes,
    geotiff_profile,
    raster_of,
    restore_dtypes,
)
from geo_service.store.disk import write_error
from geo_service.store.gpkg_read import read_gpkg_frame, read_gpkg_points
from geo_service.store.gpkg_write import write_gpkg_frame

_META_KEY: Final = "GEO_SERVICE_META"
_DTYPES_KEY: Final = "GEO_SERVICE_DTYPES"
_VECTOR: Final = ".gpkg"
_RASTER: Final = ".tif"
_TMP_MARK: Final = ".tmp-"


@dataclass(frozen=True)
class _Writer:
    """What writes one layer's file, and about how many bytes that file takes (computed only
    for the message of a full disk)."""

    write: Callable[[Path], None]
    size: Callable[[], int]

    def __call__(self, tmp: Path) -> None:
        self.write(tmp)


class GeoPackageStore(Store):
    """Layers as GeoPackage and GeoTIFF files in ``<data_dir>/store`` (each opens in QGIS)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "store"
        #: Each GeoPackage's layer metadata as last read, with the version of the file it was
        #: read from (:meth:`_layer_metadata`).
        self._metadata: dict[Path, tuple[tuple[int, int, int], dict[str, str]]] = {}

    def describe(self) -> str:
        return f"GeoPackage store in {self.root}"

    # -- writing -------------------------------------------------------------------------
    def write_layer(self, name: str, frame: VectorLayer, meta: LayerMeta) -> None:
        check_layer_name(name)
        self._replace(name, _VECTOR, _vector_writer(name, frame, meta))

    def write_layers(self, layers: Mapping[str, tuple[VectorLayer, LayerMeta]]) -> None:
        for name in layers:
            check_layer_name(name)
        writes = [(name, _vector_writer(name, *layer)) for name, layer in layers.items()]
        with self._lock():
            self._replace_all_locked(writes)

    def update_layer(self, name: str, update: LayerUpdate) -> None:
        check_layer_name(name)
        with self._lock():
            if (self.root / f"{name}{_VECTOR}").is_file():
                frame, meta = update(self.read_layer(name), self.layer_meta(name))
            else:
                frame, meta = update(None, None)
            self._replace_locked(name, _VECTOR, _vector_writer(name, frame, meta))

    def write_raster(self, name: str, raster: CoverageRaster, meta: LayerMeta) -> None:
        self.write_rasters({name: (raster, meta)})

    def write_rasters(self, rasters: Mapping[str, tuple[CoverageRaster, LayerMeta]]) -> None:
        for name in rasters:
            check_layer_name(name)
        writes = [(name, _raster_writer(name, *raster)) for name, raster in rasters.items()]
        with self._lock():
            self._replace_all_locked(writes, _RASTER)

    def delete_layer(self, name: str) -> None:
        path = self._existing(name)
        with self._lock():
            path.unlink()

    def _replace(self, name: str, suffix: str, write: _Writer) -> None:
        with self._lock():
            self._replace_locked(name, suffix, write)

    def _replace_locked(self, name: str, suffix: str, write: _Writer) -> None:
        """Replace layer ``name``'s file by the one ``write`` makes (the lock is held)."""
        self._replace_all_locked([(name, write)], suffix)

    def _replace_all_locked(self, writes: list[tuple[str, _Writer]], suffix: str = _VECTOR) -> None:
        """Replace each layer's file by the one its writer makes (the writers' lock is held):
        every file is written first, then all are renamed in one switch, which readers of
        several layers (:meth:`read_layers`) never see half-done."""
        self._remove_stale_temporaries()
        temporaries = [
            (name, self.root / f".{name}{_TMP_MARK}{uuid.uuid4().hex}{suffix}", write)
            for name, write in writes
        ]
        other = _RASTER if suffix == _VECTOR else _VECTOR
        current = ""  # the layer being written, for the error
        try:
            for current, tmp, write in temporaries:  # noqa: B007
                write(tmp)
                _fsync(tmp)
            with self._switch(shared=False):
                for name, tmp, _ in temporaries:
                    tmp.replace(self.root / f"{name}{suffix}")
                    (self.root / f"{name}{other}").unlink(missing_ok=True)
                _fsync(self.root)
        except Exception as exc:  # OSError, and GDAL's errors of a full disk
            needed = sum(w.size() for n, _, w in temporaries if n == current) if current else 0
            error = write_error(self.root, f"layer '{current}'" if current else "", exc, needed)
            if error is None:
                raise
            raise error from exc
        finally:
            for _, tmp, _ in temporaries:
                tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _switch(self, *, shared: bool) -> Iterator[None]:
        """The lock of the switch from old files to new ones: exclusive while a writer renames
        its files, shared while a reader reads several layers."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".switch").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / ".lock").open("a")
        except OSError as exc:
            raise write_error(self.root, "", exc, 0) or StoreError(
                f"cannot lock the store in {self.root}: {exc}"
            ) from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_stale_temporaries(self) -> None:
        for path in self.root.glob(f".*{_TMP_MARK}*"):
            path.unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------------------
    def read_layer(
        self,
        name: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        columns: list[str] | None = None,
    ) -> gpd.GeoDataFrame:
        path = self._existing(name, _VECTOR)
        try:
            frame = read_gpkg_frame(path, bbox=bbox, columns=columns)
            metadata = self._layer_metadata(path)
        except Exception as exc:  # GDAL error classes
            raise StoreError(f"cannot read layer '{name}' from {path}: {exc}") from exc
        dtypes: dict[str, str] = json.loads(metadata.get(_DTYPES_KEY) or "{}")
        return restore_dtypes(frame, dtypes)

    def read_points(self, name: str, columns: list[str] | None = None) -> PointTable | None:
        path = self._existing(name, _VECTOR)
        try:
            read = read_gpkg_points(path, columns=columns)
            metadata = self._layer_metadata(path)
        except Exception as exc:  # GDAL error classes
            raise StoreError(f"cannot read layer '{name}' from {path}: {exc}") from exc
        if read is None:
            return super().read_points(name, columns)
        frame, x, y, crs = read
        dtypes: dict[str, str] = json.loads(metadata.get(_DTYPES_KEY) or "{}")
        return PointTable(restore_dtypes(frame, dtypes), x, y, crs)

    def read_layers(self, names: Sequence[str]) -> dict[str, tuple[gpd.GeoDataFrame, LayerMeta]]:
        with self._switch(shared=True):
            return {name: (self.read_layer(name), self.layer_meta(name)) for name in names}

    def read_raster(self, name: str) -> CoverageRaster:
        path = self._existing(name, _RASTER)
        try:
            with rasterio.open(path) as src:
                return raster_of(src)
        except rasterio.errors.RasterioError as exc:
            raise StoreError(f"cannot read raster '{name}' from {path}: {exc}") from exc

    def layer_meta(self, name: str) -> LayerMeta:
        path = self._existing(name)
        try:
            if path.suffix == _VECTOR:
                text = self._layer_metadata(path).get(_META_KEY)
            else:
                with rasterio.open(path) as src:
                    text = src.tags().get(_META_KEY)
        except Exception as exc:  # GDAL error classes
            raise StoreError(f"cannot read the description of layer '{name}': {exc}") from exc
        if not text:
            raise StoreError(f"layer '{name}' in {path} has no geo-service description")
        return LayerMeta.model_validate_json(text)

    def _layer_metadata(self, path: Path) -> dict[str, str]:
        """The layer metadata of GeoPackage ``path``, read again only when the file changed
        (files are replaced, never written in place: a new inode, size or time): an analysis
        asks for each layer's description, then for its column types."""
        st = path.stat()
        version = (st.st_ino, st.st_mtime_ns, st.st_size)
        known = self._metadata.get(path)
        if known is not None and known[0] == version:
            return known[1]
        metadata: dict[str, str] = pyogrio.read_info(path).get("layer_metadata") or {}
        self._metadata[path] = (version, metadata)
        return metadata

    def list_layers(self) -> list[LayerMeta]:
        if not self.root.is_dir():
            return []
        names = sorted(
            p.stem
            for p in self.root.iterdir()
            if p.suffix in (_VECTOR, _RASTER) and not p.name.startswith(".")
        )
        return [self.layer_meta(name) for name in names]

    def version(self, name: str) -> str | None:
        root = str(self.root)
        for suffix in (_VECTOR, _RASTER):
            try:
                st = os.stat(f"{root}/{name}{suffix}")  # noqa: PTH116 - hot path, no Path objects
            except FileNotFoundError:
                continue
            return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
        return None

    def opinion_archive(self) -> OpinionArchive:
        return SQLiteArchive(self.root / "opinions.sqlite")

    def path(self, name: str) -> Path:
        """The file holding layer ``name`` (for QGIS users and exports)."""
        return self._existing(name)

    def _existing(self, name: str, suffix: str | None = None) -> Path:
        check_layer_name(name)
        suffixes = (suffix,) if suffix else (_VECTOR, _RASTER)
        for candidate in suffixes:
            path = self.root / f"{name}{candidate}"
            if path.is_file():
                return path
        raise NotFoundError(f"layer '{name}' is not in the {self.describe()}")


def _vector_size(data: VectorLayer) -> int:
    """About the bytes of ``data`` in a GeoPackage: its text and numbers, its coordinates
    (WKB), and per feature the geometry header and the R-tree entry."""
    if isinstance(data, PointTable):
        frame, size = data.frame, (16 + 80) * len(data.x)
    else:
        frame, size = data, 0
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, gpd.array.GeometryDtype):
            coordinates = shapely.get_num_coordinates(np.asarray(values.array, dtype=object))
            size += int(coordinates.sum()) * 16 + 80 * len(frame)
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            size += values.dtype.itemsize * len(values)
        else:
            size += int(values.astype("string").str.len().fillna(0).sum()) + len(values)
    return size


def _vector_writer(name: str, frame: VectorLayer, meta: LayerMeta) -> _Writer:
    """What writes ``frame`` with its provenance as the GeoPackage of layer ``name``."""
    attributes = frame.frame if isinstance(frame, PointTable) else frame
    meta = meta.model_copy(update={"name": name, "feature_count": len(attributes)})
    metadata = {
        _META_KEY: meta.model_dump_json(),
        _DTYPES_KEY: json.dumps(column_dtypes(attributes)),
    }

    def write(tmp: Path) -> None:
        write_gpkg_frame(frame, tmp, name, metadata)

    return _Writer(write, lambda: _vector_size(frame))


def _raster_writer(name: str, raster: CoverageRaster, meta: LayerMeta) -> _Writer:
    """What writes ``raster`` with its provenance as the GeoTIFF of layer ``name``."""
    rows, cols = raster.shape
    meta = meta.model_copy(update={"name": name, "feature_count": rows * cols})

    def write(tmp: Path) -> None:
        profile = geotiff_profile(raster)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(raster.data.astype(np.float32), 1)
            dst.update_tags(**{_META_KEY: meta.model_dump_json()})

    return _Writer(write, lambda: rows * cols * 4)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
