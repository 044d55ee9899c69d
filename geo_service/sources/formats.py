"""Import formats: how each producer's files become a canonical layer, and how to recognise them.

Each format is an :class:`ImportFormat` registered in :data:`REGISTRY` by its module (one module
per producer: ``arcep.py``, ``cnig.py``, ...). ``geo-service import KIND FILE...`` picks the
format named by ``--format``, or the first registered format of that kind whose ``detect``
accepts the files (looking only at names, extensions and column headers), or the generic
reader of canonical columns.

A producer's format also *claims* its files (:meth:`ImportFormat.claims_files`: its strict
signature, a table name or a set of columns no other file has): files claimed by a format of
another layer and read by nothing but a generic format of the layer asked are refused, naming
the layer they belong to (a BD TOPO table of activity areas is not available land), unless the
format is named with ``--format``. A producer's format whose ``detect`` accepts files by
common column names (``code``/``nom``, ``nature``/``numero``...) declares a stricter
``claims``, or it would refuse other layers' plain files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, TypeVar

import geopandas as gpd
import pandas as pd
import pyogrio

from geo_service.errors import InputError, ParameterError
from geo_service.format_modules import FORMAT_MODULES as FORMAT_MODULES
from geo_service.import_options import IMPORT_OPTIONS as IMPORT_OPTIONS
from geo_service.import_options import ImportOption as ImportOption
from geo_service.model import SCHEMAS, CoverageRaster, LayerKind, schema_of
from geo_service.point_arrays import PointTable
from geo_service.settings import DEFAULT_MAX_FEATURES, DEFAULT_MAX_RASTER_PIXELS
from geo_service.sources.archive import zip_members
from geo_service.sources.csvfile import read_csv_header
from geo_service.sources.paths import check_input_file
from geo_service.sources.raster import read_coverage_raster
from geo_service.sources.vector import (
    SINGLE_LAYER_SUFFIXES,
    VECTOR_SUFFIXES,
    layer_names,
    ogr_source,
    parse_crs,
    read_vector,
    read_vector_points,
)
from geo_service.validation import LayerReport, validate_layer, validate_points

RASTER_SUFFIXES: Final = (".tif", ".tiff", ".geotiff")
#: A layer as a frame of geometries, or its attributes alone (points given as coordinates).
FrameT = TypeVar("FrameT", bound=pd.DataFrame)


@dataclass(frozen=True)
class ImportOptions:
    """Options of an import that formats may use."""

    layer: str | None = None
    crs: str | None = None
    id_field: str | None = None
    name_field: str | None = None
    include_satellite: bool = False
    wired_only: bool = False
    quarter: str | None = None
    max_raster_pixels: int = DEFAULT_MAX_RASTER_PIXELS
    #: Held by every reader of the import (sources.feature_bound, set by import_layer).
    max_features: int = DEFAULT_MAX_FEATURES
    #: The store's commune polygons (``commune_insee``, ``name``), None when it has none; read
    #: only by a reader that needs them (BD TOPO zones of an edition without INSEE_COM).
    stored_communes: Callable[[], gpd.GeoDataFrame | None] | None = None

    def __post_init__(self) -> None:
        if self.crs is not None:
            parse_crs(self.crs)  # refused here, for every format, before any file is read


def import_options(
    given: Mapping[str, Any],
    max_raster_pixels: int = DEFAULT_MAX_RASTER_PIXELS,
    max_features: int = DEFAULT_MAX_FEATURES,
) -> ImportOptions:
    """The :class:`ImportOptions` of the values ``given`` by option name (others ignored)."""
    values = {o.name: given[o.name] for o in IMPORT_OPTIONS if o.of_format and o.name in given}
    return ImportOptions(**values, max_raster_pixels=max_raster_pixels, max_features=max_features)


@dataclass(frozen=True)
class Sniff:
    """What is known of a file without reading it whole: name, extension, lower-case columns,
    and the lower-case names of the files in it when it is a zip archive or a folder (GTFS)."""

    path: Path
    suffix: str
    columns: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    members: tuple[str, ...] = ()

    def has(self, *columns: str) -> bool:
        """Whether every one of ``columns`` (case-insensitive) is present."""
        return all(c.lower() in self.columns for c in columns)


def all_files(test: Callable[[Sniff], bool]) -> Callable[[Sequence[Sniff]], bool]:
    """A ``detect`` accepting one or more files when each of them passes ``test``."""
    return lambda sniffs: bool(sniffs) and all(test(s) for s in sniffs)


Reader = Callable[
    [Sequence[Path], ImportOptions], tuple[gpd.GeoDataFrame | PointTable, LayerReport]
]
RasterReader = Callable[[Sequence[Path], ImportOptions], tuple[CoverageRaster, LayerReport]]


@dataclass(frozen=True)
class ImportFormat:
    """One producer's file format and how to read it into the layer ``layer``.

    ``read`` returns the layer in its canonical columns, already checked (canonical kinds with
    :func:`~geo_service.validation.validate_layer`, except the ARCEP building tables, whose
    streaming reader makes the same checks itself), and a report of rows read, kept, repaired
    and skipped.
    """

    name: str
    layer: str
    description: str
    read: Reader | RasterReader
    detect: Callable[[Sequence[Sniff]], bool] = field(default=lambda sniffs: False)
    files: str = "FILE"
    raster: bool = False
    #: Whether the format reads any file of its layer, not one producer's (it claims nothing).
    generic: bool = False
    #: The producer's strict signature when ``detect`` is looser (``detect`` otherwise).
    claims: Callable[[Sequence[Sniff]], bool] | None = None

    def claims_files(self, sniffs: Sequence[Sniff]) -> bool:
        """Whether ``sniffs`` are surely this producer's files (never for a generic format)."""
        if self.generic:
            return False
        return (self.claims or self.detect)(sniffs)


REGISTRY: dict[str, ImportFormat] = {}


def register(fmt: ImportFormat) -> ImportFormat:
    """Add ``fmt`` to :data:`REGISTRY` (later registrations of the same name replace it)."""
    REGISTRY[fmt.name] = fmt
    return fmt


def all_formats() -> list[ImportFormat]:
    """Every registered format."""
    _load_format_modules()
    return list(REGISTRY.values())


def formats_for(layer: str) -> list[ImportFormat]:
    """Registered formats that produce ``layer``, specific ones first and generic last."""
    _load_format_modules()
    matching = [f for f in REGISTRY.values() if f.layer == layer]
    return sorted(matching, key=lambda f: (f.generic, f.name.startswith("generic")))


def choose_format(layer: str, paths: Sequence[Path], name: str | None = None) -> ImportFormat:
    """The format named ``name``, or the one detected for ``paths`` among those of ``layer``."""
    _load_format_modules()
    layers = sorted({f.layer for f in REGISTRY.values()})
    if layer not in layers:
        raise ParameterError(
            "LAYER", f"unknown layer '{layer}'; expected one of {', '.join(layers)}"
        )
    if name is not None:
        fmt = REGISTRY.get(name)
        if fmt is None or fmt.layer != layer:
            known = ", ".join(f.name for f in formats_for(layer)) or "none"
            raise ParameterError(
                "--format", f"'{name}' is not a format of layer '{layer}'; expected one of {known}"
            )
        return fmt
    sniffs = [sniff(Path(p)) for p in paths]
    candidates = formats_for(layer)
    detected = next((fmt for fmt in candidates if fmt.detect(sniffs)), None)
    if detected is not None and (not detected.generic or _canonical(layer, sniffs)):
        return detected
    own = next((fmt for fmt in candidates if fmt.claims_files(sniffs)), None)
    if own is not None:
        return own  # its files, but not all of them (an ARCEP table without its pair)
    files = ", ".join(str(p) for p in paths)
    claimed = [f for f in REGISTRY.values() if f.layer != layer and f.claims_files(sniffs)]
    if claimed:
        raise InputError(f"{files}: {wrong_layer_message(layer, claimed)}")
    if detected is not None:
        return detected
    known = ", ".join(f.name for f in candidates) or "none"
    raise InputError(
        f"{files}: not recognised as a '{layer}' file; expected "
        f"one of the formats {known} (name one with --format)"
    )


def wrong_layer_message(layer: str, claimed: Sequence[ImportFormat]) -> str:
    """Why files that formats ``claimed`` of other layers recognise are not read as ``layer``."""
    layers = list(dict.fromkeys(f.layer for f in claimed))
    which = " or ".join(f"'{name}'" for name in layers)
    formats = "; ".join(f"{f.name}: {f.description}" for f in claimed)
    return (
        f"these look like {which} files ({formats}), not '{layer}' files; import them as "
        f"{which} (geo-service import {layers[0]} ...), or name a format of '{layer}' with "
        "--format if they really are"
    )


def _canonical(layer: str, sniffs: Sequence[Sniff]) -> bool:
    """Whether every file has the canonical id column of ``layer`` (a file written for it)."""
    schema = schema_of(layer)
    return schema is not None and all(s.has(schema.id_column) for s in sniffs)


def sniff(path: Path) -> Sniff:
    """Look at ``path``'s extension and column headers (not its rows); a folder is known by
    the names of its files."""
    if path.is_dir():
        return Sniff(path, "/", members=tuple(sorted(p.name.lower() for p in path.iterdir())))
    check_input_file(path)
    name = path.name.lower()
    suffix = ".csv" if name.endswith((".csv.gz", ".csv")) else path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        try:
            header = read_csv_table_header(path)
        except InputError:
            header = ()
        return Sniff(path, suffix, header)
    if suffix in VECTOR_SUFFIXES and suffix not in (".parquet", ".geoparquet"):
        source = ogr_source(path)
        members = zip_members(path) if suffix == ".zip" else ()
        try:
            info = pyogrio.read_info(source, layer=0)  # its first layer
            if suffix in SINGLE_LAYER_SUFFIXES:
                layers: tuple[str, ...] = (str(info["layer_name"]),)
            else:
                layers = layer_names(source)
            columns = tuple(str(c).lower() for c in info["fields"])
        except Exception:  # an unreadable file is simply not recognised
            return Sniff(path, suffix, members=members)
        return Sniff(path, suffix, columns, layers, members)
    return Sniff(path, suffix)


def read_csv_table_header(path: Path) -> tuple[str, ...]:
    """Lower-case column names of a delimited text file, gzipped or not (its first non-empty
    line; only the start of the file is read)."""
    _, names = read_csv_header(path)
    return tuple(name.lower() for name in names)


def _generic_vector(layer: LayerKind) -> ImportFormat:
    def read(
        paths: Sequence[Path], options: ImportOptions
    ) -> tuple[gpd.GeoDataFrame | PointTable, LayerReport]:
        (path,) = _one(paths, layer.value)
        alone = SCHEMAS[layer].points_alone
        points = read_vector_points(path, layer=options.layer, crs=options.crs) if alone else None
        if points is not None:  # as coordinates: no geometry object per point
            columns = list(points.frame.columns)
            attributes = _rename_fields(points.frame, columns, layer, options, path)
            return validate_points(layer, replace(points, frame=attributes), str(path), columns)
        frame = read_vector(path, layer=options.layer, crs=options.crs)
        names = [c for c in frame.columns if c != frame.geometry.name]
        frame = _rename_fields(frame, names, layer, options, path)
        return validate_layer(layer, frame, str(path))

    def detect(sniffs: Sequence[Sniff]) -> bool:
        return len(sniffs) == 1 and sniffs[0].suffix in VECTOR_SUFFIXES

    return ImportFormat(
        name=f"generic-{layer.value}",
        layer=layer.value,
        description=f"Any vector file with the canonical {layer.value} columns "
        "(see README); --id-field/--name-field map other column names",
        read=read,
        detect=detect,
        generic=True,
    )


def _rename_fields(
    frame: FrameT, names: list[Any], layer: LayerKind, options: ImportOptions, path: Path
) -> FrameT:
    """``frame`` with the columns named by --id-field and --name-field renamed to the
    canonical ones (``names``: the file's attribute columns, named when one is not there)."""
    schema = SCHEMAS[layer]
    renames: dict[str, str] = {}
    for option, target, flag in (
        (options.id_field, schema.id_column, "--id-field"),
        (options.name_field, "name", "--name-field"),
    ):
        if option is None:
            continue
        if option not in names:
            found = ", ".join(str(c) for c in names)
            raise InputError(f"{path}: {flag} '{option}' is not a column; found: {found}")
        renames[option] = target
    if not renames:
        return frame
    kept = frame.drop(columns=[c for c in renames.values() if c in frame.columns])
    renamed: FrameT = kept.rename(columns=renames)
    return renamed


def _read_geotiff(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[CoverageRaster, LayerReport]:
    (path,) = _one(paths, "coverage")
    raster = read_coverage_raster(path, max_pixels=options.max_raster_pixels)
    rows, cols = raster.shape
    report = LayerReport(source=str(path), kind=LayerKind.COVERAGE, rows_read=rows * cols)
    report.rows_kept = rows * cols
    return raster, report


def _one(paths: Sequence[Path], layer: str) -> tuple[Path]:
    if len(paths) != 1:
        raise ParameterError("FILE", f"a {layer} import takes one file; got {len(paths)}")
    return (Path(paths[0]),)


for _kind in (
    LayerKind.ZONES,
    LayerKind.PREMISES,
    LayerKind.LAND,
    LayerKind.COMMUNES,
    LayerKind.RAIL_STATIONS,
    LayerKind.ROAD_ACCESS,
    LayerKind.HUBS,
):
    register(_generic_vector(_kind))
register(
    ImportFormat(
        name="geotiff",
        layer="coverage",
        description="A one-band GeoTIFF of maximum download speed in Mbit/s (any CRS)",
        read=_read_geotiff,
        detect=lambda sniffs: len(sniffs) == 1 and sniffs[0].suffix in RASTER_SUFFIXES,
        raster=True,
        generic=True,
    )
)


def _load_format_modules() -> None:
    import importlib

    for module in FORMAT_MODULES:
        importlib.import_module(module)
