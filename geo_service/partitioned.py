"""National scale: premises as partitioned GeoParquet, summed per zone on a dask cluster.

Tens of millions of premises do not fit in memory with their geometries. They are kept as a
directory of GeoParquet files (one partition each; a ``_layer.json`` beside them holds their
provenance), each read and summed on a worker of a dask cluster (a local one by default,
``GEO_SERVICE_DASK_SCHEDULER`` for a real one): GeoArrow points in Lambert-93 as coordinates
(the x and y columns, no geometry object per premises) summed by the memory engine's kernel
(:func:`~geo_service.analysis.coverage.point_coverage_sums`), other files as geometries
(:func:`~geo_service.analysis.coverage.coverage_sums`). The integer sums are added up as the
partitions finish, and the rest of the analysis (raster, land, status, priority, reasons,
aggregates) runs on the zones exactly as in memory (:func:`pipeline.analyze_inputs` with the
sums): both engines give the same results.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

import dask.config
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.parquet as pq
import pyproj
import shapely
from distributed import Client, LocalCluster, as_completed

from geo_service import pipeline, premises_dir
from geo_service.analysis import AnalysisResult, CoverageSums, coverage_sums
from geo_service.analysis.coverage import PREMISES_COLUMNS, point_coverage_sums
from geo_service.analysis.overlay import in_lambert93
from geo_service.demo import (
    DEMO_DATA_DATE,
    NATIONAL_SCALES,
    NationalScale,
    national_blocks,
    national_grid,
    paste_block,
)
from geo_service.errors import InputError, NotFoundError, ParameterError
from geo_service.model import CANONICAL_CRS, SPEED_CLASSES, LayerMeta, class_rank
from geo_service.point_arrays import PointTable, geoparquet_geometry, read_geoparquet_points
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import Store
from geo_service.store.base import point_frame, point_table
from geo_service.validation import MAX_LOCAUX

#: Provenance of the premises, beside their GeoParquet files.
META_FILE: Final = "_layer.json"
#: Premises per partition when the store's premises layer is split in memory.
PARTITION_ROWS: Final = 500_000
_COLUMNS: Final = PREMISES_COLUMNS
_REQUIRED: Final = ("locaux", "down_class")

Progress = Callable[[str], None]


def default_premises_dir(settings: Settings) -> Path:
    """Where the national premises are: ``<data dir>/premises-parquet``."""
    return premises_dir.default_premises_dir(settings.data_dir)


def premises_files(directory: Path) -> list[Path]:
    """The GeoParquet files of a premises directory, by name; raises NotFoundError if none."""
    files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    if not files:
        raise NotFoundError(
            f"no premises GeoParquet files (*.parquet) in {directory}; write them with "
            "'geo-service demo --scale national' or give --premises-parquet DIR"
        )
    return files


def premises_meta(directory: Path) -> LayerMeta:
    """Provenance of the premises of ``directory`` (from its ``_layer.json``, else the folder
    name and row count)."""
    sidecar = directory / META_FILE
    if sidecar.is_file():
        return LayerMeta.model_validate_json(sidecar.read_text(encoding="utf-8"))
    files = premises_files(directory)
    meta = pipeline.layer_meta(pipeline.PREMISES, source=f"{directory.name} (GeoParquet)")
    meta.feature_count = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return meta


def write_premises_parquet(
    parts: Iterable[gpd.GeoDataFrame], directory: Path, meta: LayerMeta
) -> int:
    """Write premises, one GeoParquet file per part, as ``directory`` (replaced whole).

    The parts are consumed one at a time (a generator keeps memory bounded). They are written
    to a new folder beside ``directory`` that replaces it once complete, so an interrupted
    write leaves the previous premises. Returns the number of premises written.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir()
    try:
        rows = 0
        for number, part in enumerate(parts):
            part.to_parquet(
                staging / f"part-{number:05d}.parquet", index=False, geometry_encoding="geoarrow"
            )
            rows += len(part)
        meta = meta.model_copy(update={"feature_count": rows})
        (staging / META_FILE).write_text(meta.model_dump_json(indent=2), encoding="utf-8")
        _replace_directory(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows


def _replace_directory(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def build_national_demo_store(
    store: Store,
    premises_dir: Path,
    *,
    scale: str | NationalScale = "national",
    seed: int = 2154,
    progress: Progress | None = None,
) -> int:
    """Build the national synthetic territory: premises as GeoParquet in ``premises_dir``,
    zones, land, communes and the coverage raster (200 m) in ``store``.

    Blocks are drawn one at a time (:func:`~geo_service.demo.national_blocks`) and their
    premises written before the next is drawn, so memory holds one block of premises. The
    premises are canonical by construction (not validated row by row: 45 million rows would
    take minutes); the other layers are validated as usual. Returns the premises count.
    """
    spec = NATIONAL_SCALES.get(scale) if isinstance(scale, str) else scale
    if spec is None:
        raise ParameterError("scale", f"expected one of {', '.join(NATIONAL_SCALES)}")
    small: dict[str, list[gpd.GeoDataFrame]] = {"communes": [], "zones": [], "land": []}
    raster = national_grid(spec)

    def blocks() -> Iterator[gpd.GeoDataFrame]:
        for block in national_blocks(spec, seed=seed, progress=progress):
            for name, frames in small.items():
                frames.append(getattr(block, name))
            paste_block(raster, block.coverage)
            yield block.premises.astype({"ftth": "boolean"})

    extra = {"scale": spec.name, "seed": seed}
    meta = pipeline.demo_layer_meta(pipeline.PREMISES, data_date=DEMO_DATA_DATE, extra=extra)
    count = write_premises_parquet(blocks(), premises_dir, meta)
    if store.has_layer(pipeline.PREMISES):
        store.delete_layer(pipeline.PREMISES)
    pipeline.store_demo_layers(
        store,
        (
            (name, gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs))
            for name, frames in small.items()
        ),
        raster,
        data_date=DEMO_DATA_DATE,
        extra=extra,
        label="national demo",
        progress=progress,
    )
    return count


# -- the dask engine ------------------------------------------------------------------------

#: A partition of premises: a GeoParquet file (read on the worker), or premises in memory as
#: coordinates or as geometries.
Partition: TypeAlias = Path | PointTable | gpd.GeoDataFrame
#: The local workers keep glibc's default allocator: dask's ``MALLOC_TRIM_THRESHOLD_`` (set
#: to return memory to the system early) also fixes the mmap threshold, so every array of a
#: partition was mapped and unmapped anew, page faults included (0.34 s instead of 0.24 s per
#: partition of 500,000 premises); a worker holds one partition at a time anyway.
_LOCAL_WORKER_CONFIG: Final = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextmanager
def dask_client(settings: Settings) -> Iterator[Client]:
    """A client of the scheduler at ``settings.dask_scheduler``, or of a local cluster of
    ``settings.dask_workers`` single-threaded worker processes (one per core by default)."""
    if settings.dask_scheduler:
        with Client(settings.dask_scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    workers = settings.dask_workers or os.cpu_count() or 1
    with (
        dask.config.set(_LOCAL_WORKER_CONFIG),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=settings.dask_worker_memory,
            dashboard_address=None,
            # no dashboard; the scheduler's health endpoints on a free loopback port
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


@dataclass(frozen=True)
class _Zones:
    """The zones as the workers use them: Lambert-93 geometries and their bounds."""

    geometries: gpd.GeoSeries
    bounds: npt.NDArray[np.float64]


def partitioned_coverage_sums(
    zones: gpd.GeoSeries,
    partitions: Sequence[Partition],
    client: Client,
    labels: Sequence[str],
    progress: Progress | None = None,
) -> CoverageSums:
    """Per-zone sums of premises in partitions, each summed on a dask worker.

    The zones (Lambert-93 geometries and their bounds) are sent once to every worker; a
    partition is a GeoParquet file, read on its worker, or premises in memory (see
    :data:`Partition`). The partial sums are added as they arrive. ``labels`` names each
    partition in error messages (a file name, say).
    """
    geometries = in_lambert93(gpd.GeoDataFrame(geometry=zones)).geometry
    shared = _Zones(geometries, shapely.bounds(np.asarray(geometries.values)))
    on_workers = client.scatter(shared, broadcast=True, hash=False)  # type: ignore[no-untyped-call]
    sources = [
        part if isinstance(part, Path) else client.scatter(part, hash=False)  # type: ignore[no-untyped-call]
        for part in partitions
    ]
    futures = [
        client.submit(_partition_sums, source, on_workers, label, pure=False)
        for source, label in zip(sources, labels, strict=True)
    ]
    total = CoverageSums.zeros(len(zones))
    for done, future in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
        total = total + CoverageSums.from_frame(future.result(), len(zones))
        future.release()
        if progress:
            progress(f"premises: partition {done}/{len(futures)}")
    return total


def _partition_sums(part: Partition, zones: _Zones, label: str) -> pd.DataFrame:
    """The sums of one partition (non-empty zones only, :meth:`CoverageSums.to_frame`)."""
    data = _read_partition(part) if isinstance(part, Path) else part
    if isinstance(data, PointTable):
        if data.crs is not None and pyproj.CRS(data.crs).equals(CANONICAL_CRS):
            return _point_sums(zones, data, label)
        data = point_frame(data)
    if len(data) == 0:
        return CoverageSums.zeros(len(zones.geometries)).to_frame()
    if data.crs is None:
        raise InputError(f"{label}: the premises have no CRS; write GeoParquet with its CRS")
    _check_attributes(data, label)
    return coverage_sums(zones.geometries, in_lambert93(data)).to_frame()


def _point_sums(zones: _Zones, points: PointTable, label: str) -> pd.DataFrame:
    """The sums of premises in Lambert-93 coordinates, by the memory engine's kernel
    (:func:`point_coverage_sums`) over the zones whose bounds meet the points' extent."""
    _check_attributes(points.frame, label)
    located = np.isfinite(points.x) & np.isfinite(points.y)
    if not located.any():
        return CoverageSums.zeros(len(zones.geometries)).to_frame()
    x, y, bounds = points.x[located], points.y[located], zones.bounds
    near = np.flatnonzero(
        (bounds[:, 0] <= x.max())
        & (bounds[:, 2] >= x.min())
        & (bounds[:, 1] <= y.max())
        & (bounds[:, 3] >= y.min())
    )
    sums = point_coverage_sums(zones.geometries.iloc[near], points.x, points.y, points.frame)
    frame = sums.to_frame()
    frame.index = pd.Index(near[frame.index.to_numpy()], name="zone")
    return frame


def _read_partition(path: Path) -> PointTable | gpd.GeoDataFrame:
    """A premises GeoParquet file: as coordinates when its geometries are plain 2D points
    (WKB or GeoArrow), else as geometries (GeoPandas' reader)."""
    # the classes as a dictionary: ranked from their few distinct values (twice cheaper)
    points = read_geoparquet_points(path, columns=_COLUMNS, read_dictionary=["down_class"])
    if points is not None:
        return points
    schema = pq.read_schema(path)
    geometry = geoparquet_geometry(schema)[0]
    frame = gpd.read_parquet(path, columns=[*(c for c in _COLUMNS if c in schema.names), geometry])
    found = point_table(frame)
    return frame if found is None else found


def _check_attributes(part: pd.DataFrame, label: str) -> None:
    """The checks of the premises validation that the sums depend on, per partition."""
    unknown = class_rank(part["down_class"]) < 0
    if unknown.any():
        example = part["down_class"].to_numpy()[np.flatnonzero(unknown)[0]]
        raise InputError(
            f"{label}: {int(unknown.sum())} premises with a down_class outside the ARCEP "
            f"classes (e.g. {example!r}); expected one of {', '.join(SPEED_CLASSES)}"
        )
    locaux = pd.to_numeric(part["locaux"], errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(locaux) & (locaux == np.round(locaux))
    bad = ~(whole & (locaux >= 1) & (locaux <= MAX_LOCAUX))
    if bad.any():
        raise InputError(
            f"{label}: {int(bad.sum())} premises whose locaux is not an integer from 1 to "
            f"{MAX_LOCAUX:,} (e.g. {part['locaux'].to_numpy()[np.flatnonzero(bad)[0]]!r})"
        )


def parquet_premises(directory: Path) -> tuple[list[Path], list[str]]:
    """The GeoParquet files of ``directory``, one partition each, and their names (raises
    InputError when a file is not GeoParquet or lacks a column)."""
    files = premises_files(directory)
    for path in files:
        schema = pq.read_schema(path)
        try:
            geoparquet_geometry(schema)
        except (TypeError, KeyError, ValueError):
            raise InputError(
                f"{path}: not GeoParquet (no 'geo' metadata naming the geometry column); "
                "write it with GeoPandas' to_parquet, GDAL or another GeoParquet writer"
            ) from None
        missing = [c for c in _REQUIRED if c not in schema.names]
        if missing:
            raise InputError(
                f"{path}: missing premises column(s) {', '.join(missing)}; expected "
                f"{', '.join(_REQUIRED)} (and optionally ftth) with a Point geometry"
            )
    return files, [f.name for f in files]


def memory_premises(
    premises: PointTable | gpd.GeoDataFrame,
) -> tuple[list[PointTable | gpd.GeoDataFrame], list[str]]:
    """Premises in memory (coordinates or geometries) split into partitions of
    :data:`PARTITION_ROWS`."""
    rows = len(premises.x) if isinstance(premises, PointTable) else len(premises)
    cuts = np.array_split(np.arange(rows), max(1, math.ceil(rows / PARTITION_ROWS)))
    if isinstance(premises, PointTable):
        columns = [c for c in _COLUMNS if c in premises.frame.columns]
        parts: list[PointTable | gpd.GeoDataFrame] = [
            PointTable(premises.frame[columns].iloc[c], premises.x[c], premises.y[c], premises.crs)
            for c in cuts
        ]
    else:
        columns = [c for c in _COLUMNS if c in premises.columns]
        parts = [premises[[*columns, premises.geometry.name]].iloc[c] for c in cuts]
    return parts, [f"premises layer, partition {k + 1}" for k in range(len(parts))]


def analyze_partitioned(
    store: Store,
    params: AnalysisParams,
    settings: Settings,
    *,
    premises_dir: Path | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Analyse the store with its premises summed on dask, and store the results.

    The premises are read from the GeoParquet files of ``premises_dir``; without it, from the
    store's premises layer split in memory (the results are the same, the memory is not
    bounded then) or, when the store has no premises layer, from the files of
    :func:`default_premises_dir` (left there by ``demo --scale national``, which removes the
    store's premises layer: a later import or demo of premises takes precedence over them).
    """
    step = progress or (lambda _: None)
    directory = premises_dir or default_premises_dir(settings)
    use_parquet = premises_dir is not None or (
        not store.has_layer(pipeline.PREMISES) and any(directory.glob("*.parquet"))
    )
    step("loading zones, land, communes, raster")
    inputs = pipeline.load_inputs(store, premises=not use_parquet, points=not use_parquet)
    partitions: Sequence[Partition]
    if use_parquet:
        partitions, labels = parquet_premises(directory)
        metas = {**inputs.metas, pipeline.PREMISES: premises_meta(directory)}
    else:
        points = inputs.premises_points
        partitions, labels = memory_premises(inputs.premises if points is None else points)
        metas = inputs.metas
    zones = inputs.zones.geometry
    step(f"premises: {len(labels)} partitions on dask")
    with dask_client(settings) as client:
        sums = partitioned_coverage_sums(zones, partitions, client, labels, step)
    inputs = dataclasses.replace(inputs, metas=metas)
    result = pipeline.analyze_inputs(inputs, params, step, premises=sums)
    step("storing the results")
    pipeline.save_results(store, result)
    return result
