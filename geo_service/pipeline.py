"""What the CLI, the API and the notebooks do: load layers, analyse, store and read results.

Data flows one way: sources -> store -> analysis -> results. Each function here is a thin
composition of those pieces, so every interface runs the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import pandas as pd
import pyproj

from geo_service.analysis import AnalysisResult, CoverageSums, RunInfo, TransportLayers
from geo_service.analysis import analyze as analyze_layers
from geo_service.analysis.coverage import PREMISES_COLUMNS, point_coverage_sums
from geo_service.analysis.history import History, history_of, perimeter_changes, with_history
from geo_service.analysis.overlay import in_lambert93
from geo_service.analysis.point import DEFAULT_PREMISES_RADIUS_M, Here, what_is_here
from geo_service.catalog import descriptor
from geo_service.errors import InputError, NotFoundError, ParameterError, StoreError
from geo_service.model import (
    CANONICAL_CRS,
    SCHEMAS,
    CoverageRaster,
    LayerKind,
    LayerMeta,
    schema_of,
)
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import Store
from geo_service.store.base import PointTable, VectorLayer, as_frame
from geo_service.vintages import (
    archived_name,
    check_vintaged,
    is_vintaged,
    parse_vintage,
    split_archived_name,
    vintage_key,
    vintage_of_date,
)

if TYPE_CHECKING:  # the readers of files and the validation load with the commands using them
    from geo_service.sources.formats import ImportFormat, ImportOptions
    from geo_service.validation import LayerReport

ZONES: Final = "zones"
PREMISES: Final = "premises"
LAND: Final = "land"
COMMUNES: Final = "communes"
COVERAGE: Final = "coverage"
MOBILE_COVERAGE: Final = "mobile_coverage"
MOBILE_SITES: Final = "mobile_sites"
COMMUNE_COVERAGE: Final = "commune_coverage"
TRANSIT_STOPS: Final = "transit_stops"
RAIL_STATIONS: Final = "rail_stations"
ROAD_ACCESS: Final = "road_access"
HUBS: Final = "hubs"
ROAD_NETWORK: Final = "road_network"
#: The transport layers, each optional (the access of the zones, unknown without them; road
#: distances and drive times with the road network).
TRANSPORT_LAYERS: Final = (TRANSIT_STOPS, RAIL_STATIONS, ROAD_ACCESS, HUBS, ROAD_NETWORK)
ZONE_RESULTS: Final = "zone_results"
COMMUNE_RESULTS: Final = "commune_results"
EPCI_RESULTS: Final = "epci_results"
#: The layers an analysis reads (zones and, unless ``commune_coverage`` is stored, premises
#: are required; the others are optional).
INPUT_LAYERS: Final = (
    ZONES,
    PREMISES,
    LAND,
    COMMUNES,
    COVERAGE,
    MOBILE_COVERAGE,
    MOBILE_SITES,
    COMMUNE_COVERAGE,
    *TRANSPORT_LAYERS,
)
RESULT_LAYERS: Final = (ZONE_RESULTS, COMMUNE_RESULTS, EPCI_RESULTS)
ZONE_HISTORY: Final = "zone_history"
COMMUNE_HISTORY: Final = "commune_history"
EPCI_HISTORY: Final = "epci_history"
#: The history table of each level of the results (``analyze --history``).
HISTORY_LAYERS: Final = {"zones": ZONE_HISTORY, "communes": COMMUNE_HISTORY, "epcis": EPCI_HISTORY}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Inputs:
    """The canonical layers an analysis reads, and their provenance."""

    zones: gpd.GeoDataFrame
    premises: gpd.GeoDataFrame
    land: gpd.GeoDataFrame | None
    communes: gpd.GeoDataFrame | None
    raster: CoverageRaster | None
    metas: dict[str, LayerMeta]
    mobile_coverage: gpd.GeoDataFrame | None = None
    mobile_sites: gpd.GeoDataFrame | None = None
    commune_coverage: gpd.GeoDataFrame | None = None
    transport: TransportLayers | None = None
    #: The premises as coordinates and columns instead of ``premises`` (then empty): read so
    #: by ``load_inputs(points=True)``, summed by :func:`analyze_inputs` without geometries.
    premises_points: PointTable | None = None


def layer_meta(
    name: str,
    *,
    source: str,
    licence: str | None = None,
    attribution: str | None = None,
    data_date: date | None = None,
    synthetic: bool = False,
    extra: dict[str, Any] | None = None,
) -> LayerMeta:
    """Provenance of layer ``name``, with the title, licence and attribution of its descriptor."""
    about = descriptor(name)
    return LayerMeta(
        name=name,
        kind=about.kind,
        title=about.title,
        source=source,
        licence=licence or about.licence,
        attribution=attribution if attribution is not None else about.attribution,
        data_date=data_date,
        synthetic=synthetic,
        extra=extra or {},
    )


def build_demo_store(
    store: Store, *, scale: str = "demo", seed: int = 2154, progress: Progress | None = None
) -> None:
    """Build the synthetic demo territory and store its layers (replacing the input layers),
    its transport layers (:mod:`geo_service.demo_transport`) included."""
    from geo_service.demo import build_demo
    from geo_service.demo_transport import demo_transport

    territory = build_demo(scale, seed=seed, progress=progress)
    if progress:
        progress("transport")
    transport = demo_transport(territory, seed)
    store_demo_layers(
        store,
        (
            (COMMUNES, territory.communes),
            (ZONES, territory.zones),
            (LAND, territory.land),
            (PREMISES, territory.premises),
            *((name, transport[name]) for name in TRANSPORT_LAYERS),
        ),
        territory.coverage,
        data_date=territory.data_date,
        extra={"scale": territory.scale.name, "seed": seed},
        progress=progress,
    )


def demo_layer_meta(name: str, *, data_date: date, extra: dict[str, Any]) -> LayerMeta:
    """Provenance of layer ``name`` of a synthetic territory (``extra``: its scale and seed)."""
    from geo_service.demo import DEMO_SOURCE

    return layer_meta(
        name,
        source=DEMO_SOURCE,
        licence="Données synthétiques, libres de réutilisation",
        attribution="geo-service — données fictives",
        data_date=data_date,
        synthetic=True,
        extra=extra,
    )


def store_demo_layers(
    store: Store,
    layers: Iterable[tuple[str, gpd.GeoDataFrame]],
    coverage: CoverageRaster,
    *,
    data_date: date,
    extra: dict[str, Any],
    label: str = "demo",
    progress: Progress | None = None,
) -> None:
    """Replace the store's layers by a synthetic territory's: the stored results are removed,
    each layer is validated and stored, then the coverage raster, all with their
    :func:`demo_layer_meta`. ``label`` names the territory in validation messages."""
    from geo_service.validation import validate_layer

    for name in RESULT_LAYERS:
        if store.has_layer(name):
            store.delete_layer(name)
    for name, frame in layers:
        if progress:
            progress(f"store {name}")
        canonical, _ = validate_layer(name, frame, f"{label} {name}")
        store.write_layer(name, canonical, demo_layer_meta(name, data_date=data_date, extra=extra))
    store.write_raster(
        COVERAGE, coverage, demo_layer_meta(COVERAGE, data_date=data_date, extra=extra)
    )


def _stored_communes(store: Store) -> gpd.GeoDataFrame | None:
    """The commune polygons of ``store`` (code and name), None when it has none."""
    if not store.has_layer(LayerKind.COMMUNES.value):
        return None
    return store.read_layer(LayerKind.COMMUNES.value, columns=["commune_insee", "name"])


def import_files(
    store: Store,
    layer: LayerKind | str,
    paths: Sequence[Path],
    *,
    format_name: str | None = None,
    options: ImportOptions | None = None,
    source: str | None = None,
    licence: str | None = None,
    attribution: str | None = None,
    data_date: date | None = None,
    append: bool = False,
    vintage: str | None = None,
) -> tuple[ImportFormat, LayerReport]:
    """Read files in a producer's format, validate them and store them as ``layer``, atomically.

    The format is ``format_name`` or the one detected (see :mod:`geo_service.sources.formats`).
    With ``append``, the features are added to the stored vector layer (e.g. land plots from
    several producers) instead of replacing it; their ids must not collide with stored ones.
    A coverage layer (:data:`geo_service.vintages.VINTAGED_LAYERS`) is stored as vintage
    ``vintage`` (default: the quarter of the data date; with ``append``, the current one), see
    :func:`store_vintage`.
    Raises InputError (and leaves the store as it was) when the files cannot be used.
    """
    from geo_service.sources.feature_bound import features_bounded
    from geo_service.sources.formats import ImportOptions, choose_format

    layer = str(layer)
    paths = [Path(p) for p in paths]
    options = options or ImportOptions()
    if (options.quarter or "").strip().lower() == "all":
        return _import_quarters(
            store,
            layer,
            paths,
            options,
            vintage,
            append,
            metadata={
                "format_name": format_name,
                "source": source,
                "licence": licence,
                "attribution": attribution,
                "data_date": data_date,
            },
        )
    if vintage is None and options.quarter is not None:
        vintage = options.quarter
    if vintage is not None:
        check_vintaged(layer)
        vintage = parse_vintage(vintage)
    fmt = choose_format(layer, paths, format_name)
    if options.stored_communes is None:
        options = replace(options, stored_communes=lambda: _stored_communes(store))
    with features_bounded(options.max_features):  # every reader of the format is held to it
        frame, report = fmt.read(paths, options)
    meta = layer_meta(
        layer,
        source=source or ", ".join(p.name for p in paths),
        licence=licence,
        attribution=attribution,
        data_date=data_date
        or report.data_date
        or max((d for p in paths if (d := _file_date(p))), default=None),
        extra={"format": fmt.name},
    )
    if is_vintaged(layer):
        meta = meta.model_copy(
            update={"vintage": _import_vintage(store, layer, meta, vintage, append)}
        )
    if isinstance(frame, CoverageRaster) or not append:
        store_vintage(store, layer, frame, meta)
        return fmt, report
    added = as_frame(frame)

    def extended(
        stored: gpd.GeoDataFrame | None, stored_meta: LayerMeta | None
    ) -> tuple[gpd.GeoDataFrame, LayerMeta]:
        if stored is None or stored_meta is None:
            return added, meta
        return _appended(layer, stored, stored_meta, added, meta)

    store.update_layer(layer, extended)
    return fmt, report


def _import_quarters(
    store: Store,
    layer: str,
    paths: list[Path],
    options: ImportOptions,
    vintage: str | None,
    append: bool,
    metadata: dict[str, Any],
) -> tuple[ImportFormat, LayerReport]:
    """Import every quarter of the FTTH observatory's files as its own vintage, oldest first
    (each import atomic); the last report is given back."""
    from geo_service.sources.arcep_communes import file_quarters

    if vintage is not None or append:
        raise ParameterError(
            "--quarter", "'all' imports one vintage per quarter: give no --vintage nor --append"
        )
    quarters = file_quarters(paths)
    if not quarters:
        raise ParameterError("--quarter", "none of the files has quarter columns (T1 2018…)")
    done: tuple[ImportFormat, LayerReport] | None = None
    for quarter in quarters:
        done = import_files(
            store, layer, paths, options=replace(options, quarter=quarter), **metadata
        )
    assert done is not None
    return done


def _import_vintage(
    store: Store, layer: str, meta: LayerMeta, given: str | None, append: bool
) -> str | None:
    """The vintage an import of coverage layer ``layer`` is stored as."""
    current = store.layer_meta(layer).vintage if store.has_layer(layer) else None
    if append:
        if given is not None and current is not None and given != current:
            raise ParameterError(
                "--vintage",
                f"--append adds to the current vintage of layer '{layer}' ({current}); "
                f"vintage {given} cannot be appended to",
            )
        return current or given
    if given is not None:
        return given
    return vintage_of_date(meta.data_date) if meta.data_date else None


def store_vintage(
    store: Store, layer: str, data: VectorLayer | CoverageRaster, meta: LayerMeta
) -> None:
    """Store ``data`` as vintage ``meta.vintage`` of layer ``layer``.

    The latest vintage is the layer itself: a newer vintage replaces it, and the one it
    replaces is kept as an older vintage (:func:`geo_service.vintages.archived_name`) in the
    same atomic step for vector layers; a vintage older than the current one is stored beside
    it. Older vintages are read-only: importing one again is refused (drop it first). Without
    a vintage (or without a stored one) the layer is replaced as before.
    """
    current = store.layer_meta(layer) if store.has_layer(layer) else None
    if meta.vintage is None or current is None or current.vintage in (None, meta.vintage):
        _write(store, layer, data, meta)
        return
    older = archived_name(layer, meta.vintage)
    if vintage_key(meta.vintage) < vintage_key(current.vintage):
        if store.has_layer(older):
            raise ParameterError(
                "--vintage",
                f"vintage {meta.vintage} of layer '{layer}' is stored and read-only; drop it "
                f"first ('geo-service drop-vintage {layer} {meta.vintage}')",
            )
        _write(store, older, data, meta)
        return
    previous = archived_name(layer, current.vintage)
    if isinstance(data, CoverageRaster):
        store.write_rasters({layer: (data, meta), previous: (store.read_raster(layer), current)})
        return
    store.write_layers({layer: (data, meta), previous: (_stored_layer(store, layer), current)})


def _stored_layer(store: Store, layer: str) -> VectorLayer:
    """Stored vector layer ``layer``, as coordinates when it is a layer of points alone (the
    premises: kept as an older vintage without a geometry object per point)."""
    schema = schema_of(layer)
    points = store.read_points(layer) if schema and schema.points_alone else None
    return store.read_layer(layer) if points is None else points


def _write(store: Store, name: str, data: VectorLayer | CoverageRaster, meta: LayerMeta) -> None:
    if isinstance(data, CoverageRaster):
        store.write_raster(name, data, meta)
    else:
        store.write_layer(name, data, meta)


def vintages(store: Store, layer: str) -> list[LayerMeta]:
    """The stored vintages of ``layer``, oldest first (the last one is the current layer)."""
    check_vintaged(layer, "layer")
    found = [
        meta
        for meta in store.list_layers()
        if (split := split_archived_name(meta.name)) is not None and split[0] == layer
    ]
    found.sort(key=lambda meta: vintage_key(meta.vintage or "0000-T1"))
    if store.has_layer(layer):
        found.append(store.layer_meta(layer))
    return found


def grouped_vintages(metas: Iterable[LayerMeta]) -> list[tuple[LayerMeta, list[LayerMeta]]]:
    """Each stored layer but the older vintages, with the older vintages of that layer (oldest
    first); an older vintage whose layer is not stored is listed on its own."""
    metas = list(metas)
    names = {meta.name for meta in metas}
    older: dict[str, list[LayerMeta]] = {}
    listed = []
    for meta in metas:
        split = split_archived_name(meta.name)
        if split is not None and split[0] in names:
            older.setdefault(split[0], []).append(meta)
        else:
            listed.append(meta)
    for found in older.values():
        found.sort(key=lambda meta: vintage_key(meta.vintage or "0000-T1"))
    return [(meta, older.get(meta.name, [])) for meta in listed]


def drop_vintage(store: Store, layer: str, vintage: str) -> None:
    """Remove older vintage ``vintage`` of ``layer`` (the current one cannot be dropped)."""
    check_vintaged(layer, "layer")
    vintage = parse_vintage(vintage, "vintage")
    if store.has_layer(layer) and store.layer_meta(layer).vintage == vintage:
        raise ParameterError(
            "vintage",
            f"{vintage} is the current vintage of layer '{layer}'; only older vintages can be "
            "dropped (import a newer one, or delete the layer)",
        )
    name = archived_name(layer, vintage)
    if not store.has_layer(name):
        raise NotFoundError(f"layer '{layer}' has no stored vintage {vintage}")
    store.delete_layer(name)


def _appended(
    layer: str,
    stored: gpd.GeoDataFrame,
    stored_meta: LayerMeta,
    frame: gpd.GeoDataFrame,
    meta: LayerMeta,
) -> tuple[gpd.GeoDataFrame, LayerMeta]:
    """The stored layer with ``frame``'s features added, and the provenance of both parts."""
    schema = schema_of(layer)
    id_column = schema.id_column if schema else None
    if id_column is not None:
        clash = sorted(set(stored[id_column]) & set(frame[id_column]))
        if clash:
            shown = ", ".join(f"'{value}'" for value in clash[:5])
            raise InputError(
                f"{meta.source}: {len(clash)} {id_column} value(s) already in the stored "
                f"'{layer}' layer ({shown}); expected new ids when appending (or import "
                "without --append to replace the layer)"
            )
    merged = gpd.GeoDataFrame(pd.concat([stored, frame], ignore_index=True), crs=stored.crs)
    parts = [*stored_meta.extra.get("parts", [_part(stored_meta)]), _part(meta)]
    dates = [d for d in (stored_meta.data_date, meta.data_date) if d is not None]
    return merged, meta.model_copy(
        update={
            "source": f"{stored_meta.source} ; {meta.source}",
            "data_date": max(dates, default=None),
            "extra": {**meta.extra, "parts": parts},
        }
    )


def _part(meta: LayerMeta) -> dict[str, Any]:
    return {
        "source": meta.source,
        "format": meta.extra.get("format"),
        "data_date": meta.data_date.isoformat() if meta.data_date else None,
        "feature_count": meta.feature_count,
    }


def load_inputs(
    store: Store, *, premises: bool = True, as_of: str | None = None, points: bool = False
) -> Inputs:
    """The input layers of ``store``; zones and premises are required.

    ``as_of`` (a vintage) reads each coverage layer as it was then: its latest vintage not
    newer than ``as_of`` (absent when it has none; a layer stored without vintage is read as
    it is).

    Premises may be absent when ARCEP commune statistics (``commune_coverage``) are stored:
    zones then take their status from their commune's figures. With ``premises=False`` the
    premises layer is neither required nor read (the partitioned engine reads them itself).
    The premises are read with the columns the analysis uses (:data:`PREMISES_COLUMNS`) and
    their geometry only: maps and opinions read the whole layer from the store. With
    ``points``, a layer of points in Lambert-93 is read as coordinates instead
    (``Inputs.premises_points``; no geometry object per premises, the analysis gives the same
    results).
    """
    stored = {name: found for name in INPUT_LAYERS if (found := _stored_as_of(store, name, as_of))}
    metas = {name: store.layer_meta(found) for name, found in stored.items()}
    if not premises:
        metas.pop(PREMISES, None)
    needed = (ZONES,) if COMMUNE_COVERAGE in metas or not premises else (ZONES, PREMISES)
    missing = [name for name in needed if name not in metas]
    if missing:
        raise NotFoundError(
            f"the {store.describe()} has no {' and no '.join(missing)} layer; run "
            "'geo-service demo' or 'geo-service import' first"
        )
    columns = {PREMISES: list(PREMISES_COLUMNS)}
    table = _premises_points(store, stored[PREMISES]) if points and PREMISES in metas else None
    vectors = {
        name: store.read_layer(stored[name], columns=columns.get(name))
        for name in metas
        if name != COVERAGE and not (name == PREMISES and table is not None)
    }
    return Inputs(
        premises_points=table,
        zones=vectors[ZONES],
        premises=vectors[PREMISES] if PREMISES in vectors else _no_premises(),
        land=vectors.get(LAND),
        communes=vectors.get(COMMUNES),
        raster=store.read_raster(stored[COVERAGE]) if COVERAGE in metas else None,
        metas=metas,
        mobile_coverage=vectors.get(MOBILE_COVERAGE),
        mobile_sites=vectors.get(MOBILE_SITES),
        commune_coverage=vectors.get(COMMUNE_COVERAGE),
        transport=transport_layers(vectors.get),
    )


def _premises_points(store: Store, layer: str) -> PointTable | None:
    """The premises layer as coordinates when it holds points in Lambert-93, else None."""
    table = store.read_points(layer, list(PREMISES_COLUMNS))
    if table is None or table.crs is None or not pyproj.CRS(table.crs).equals(CANONICAL_CRS):
        return None
    return table


def _stored_as_of(store: Store, layer: str, as_of: str | None) -> str | None:
    """The store layer holding ``layer`` as of vintage ``as_of`` (None: absent then)."""
    if not store.has_layer(layer):
        return None
    if as_of is None or not is_vintaged(layer):
        return layer
    found = [m for m in vintages(store, layer) if m.vintage is not None]
    if not found:
        return layer  # stored without vintage: the same at every vintage
    then = [m.name for m in found if vintage_key(str(m.vintage)) <= vintage_key(as_of)]
    return then[-1] if then else None


def history_vintages(store: Store) -> list[str]:
    """Every vintage of the store's input coverage layers, oldest first."""
    found = {
        str(meta.vintage)
        for layer in INPUT_LAYERS
        if is_vintaged(layer) and store.has_layer(layer)
        for meta in vintages(store, layer)
        if meta.vintage is not None
    }
    return sorted(found, key=vintage_key)


def analyze_history(
    store: Store,
    params: AnalysisParams,
    *,
    since: str | None = None,
    progress: Progress | None = None,
) -> tuple[AnalysisResult, History]:
    """Analyse the store at every vintage of its coverage layers with the same thresholds,
    store the history tables (:data:`HISTORY_LAYERS`) and the current results with their
    changes since the previous vintage and since ``since`` (the oldest vintage by default),
    all in one step; returns the current results and the history.
    """
    found = history_vintages(store)
    if not found:
        raise ParameterError(
            "--history",
            "no coverage layer of the store has a vintage; import them with --vintage "
            "(or --quarter all for the ARCEP FTTH observatory file)",
        )
    if since is not None:
        since = parse_vintage(since, "--since")
        if vintage_key(since) > vintage_key(found[-1]):
            raise ParameterError(
                "--since", f"{since} is newer than the latest vintage stored ({found[-1]})"
            )
    by_vintage = {}
    for vintage in found:
        if progress is not None:
            progress(f"Analysing vintage {vintage}")
        by_vintage[vintage] = analyze_inputs(load_inputs(store, as_of=vintage, points=True), params)
    history = history_of(by_vintage)
    current = analyze_inputs(load_inputs(store, points=True), params, progress)
    previous = store.read_layer(ZONE_RESULTS) if store.has_layer(ZONE_RESULTS) else None
    history = replace(history, perimeters=perimeter_changes(previous, current.zones))
    result = with_history(current, history, since)
    run = result.run.model_copy(update={"vintages": list(history.vintages), "since": since})
    result = replace(result, run=run)
    save_results(store, result, history)
    return result, history


def transport_layers(
    read: Callable[[str], gpd.GeoDataFrame | None], *, roads: bool = True
) -> TransportLayers:
    """The transport layers (:data:`TRANSPORT_LAYERS`), each given by ``read`` (None: absent);
    without ``roads``, the road network is not read (a point's nearest facilities)."""
    names = [n for n in TRANSPORT_LAYERS if roads or n != ROAD_NETWORK]
    return TransportLayers(**{name: read(name) for name in names})


def _no_premises() -> gpd.GeoDataFrame:
    columns = SCHEMAS[LayerKind.PREMISES].columns
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=CANONICAL_CRS)


def analyze_inputs(
    inputs: Inputs,
    params: AnalysisParams,
    progress: Progress | None = None,
    *,
    premises: CoverageSums | None = None,
) -> AnalysisResult:
    """Run the analysis on loaded inputs; ``premises`` replaces ``inputs.premises`` by their
    sums per zone when they were summed partition by partition, or when ``inputs`` hold the
    premises as coordinates (:attr:`Inputs.premises_points`)."""
    points = inputs.premises_points
    if premises is None and points is not None:
        zones = in_lambert93(inputs.zones).geometry
        premises = point_coverage_sums(zones, points.x, points.y, points.frame)
    return analyze_layers(
        inputs.zones,
        inputs.premises if premises is None else premises,
        land=inputs.land,
        raster=inputs.raster,
        communes=inputs.communes,
        params=params,
        inputs=inputs.metas,
        progress=progress,
        mobile_coverage=inputs.mobile_coverage,
        mobile_sites=inputs.mobile_sites,
        commune_coverage=inputs.commune_coverage,
        transport=inputs.transport,
    )


#: The analysis engines: every layer in memory, or the premises summed on dask.
ENGINES: Final = ("memory", "dask")


def analyze(
    store: Store,
    params: AnalysisParams | None = None,
    *,
    engine: str = "memory",
    settings: Settings | None = None,
    premises_dir: Path | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Analyse the store's layers and store the results: the one entry point of the CLI, the
    API and the notebooks.

    ``engine`` "memory" reads every layer in memory; "dask" sums the premises partition by
    partition on a dask cluster (``settings``' scheduler, else a local one), from the
    GeoParquet files of ``premises_dir`` when given (see
    :func:`geo_service.partitioned.analyze_partitioned`). Both give the same results.
    ``params`` default to ``settings``' thresholds (the defaults without settings).
    """
    if engine not in ENGINES:
        raise ParameterError("engine", f"expected one of {', '.join(ENGINES)}; got {engine!r}")
    if premises_dir is not None and engine != "dask":
        raise ParameterError("premises_dir", "GeoParquet premises need the dask engine")
    params = params or (settings.analysis_params() if settings else AnalysisParams())
    if engine == "memory":
        return analyze_store(store, params, progress)
    from geo_service.partitioned import analyze_partitioned

    return analyze_partitioned(
        store, params, settings or Settings(), premises_dir=premises_dir, progress=progress
    )


def prepare_store(store: Store, settings: Settings) -> str | None:
    """Make ``store`` servable: build the synthetic demo territory when it holds no zones,
    analyse it when it has no results. The one start-up step of ``serve``, ``map`` and
    ``opinion``; returns "demo" or "analysis" for what it did, None when nothing was needed.
    """
    done: str | None = None
    if not store.has_layer(ZONES):
        build_demo_store(store, seed=settings.demo_seed)
        done = "demo"
    if not store.has_layer(ZONE_RESULTS):
        analyze(store, settings=settings)
        done = done or "analysis"
    return done


def analyze_store(
    store: Store, params: AnalysisParams, progress: Progress | None = None
) -> AnalysisResult:
    """Analyse the store's layers and store the results (zone, commune and EPCI layers)."""
    result = analyze_inputs(load_inputs(store, points=True), params, progress)
    save_results(store, result)
    return result


def save_results(store: Store, result: AnalysisResult, history: History | None = None) -> None:
    """Store the three result layers in one step (:meth:`Store.write_layers`), each carrying
    the run information: readers never see results of two runs mixed. With ``history``, its
    tables (:data:`HISTORY_LAYERS`) are written in the same step."""
    run = result.run.model_dump(mode="json")
    synthetic = result.run.synthetic
    frames: list[tuple[str, pd.DataFrame]] = [
        (ZONE_RESULTS, result.zones),
        (COMMUNE_RESULTS, result.communes),
        (EPCI_RESULTS, result.epcis),
    ]
    if history is not None:
        frames += [(HISTORY_LAYERS[level], history.level(level)) for level in HISTORY_LAYERS]
    layers = {
        name: (
            frame,
            layer_meta(
                name,
                source="geo-service analyze",
                synthetic=synthetic,
                data_date=result.run.analyzed_at.date(),
                extra={"run": run},
            ),
        )
        for name, frame in frames
    }
    store.write_layers(layers)  # the history tables have no geometry: plain tables


def load_results(store: Store) -> AnalysisResult:
    """The stored results, the three layers of one run (:meth:`Store.read_layers`); raises
    NotFoundError when the store was never analysed."""
    if not store.has_layer(ZONE_RESULTS):
        raise NotFoundError(
            f"the {store.describe()} holds no analysis results; run 'geo-service analyze'"
        )
    layers = store.read_layers(RESULT_LAYERS)
    meta = layers[ZONE_RESULTS][1]
    try:
        run = RunInfo.model_validate(meta.extra["run"])
    except (KeyError, ValueError) as exc:
        raise StoreError(f"layer '{ZONE_RESULTS}' lacks its run information: {exc}") from exc
    return AnalysisResult(
        zones=layers[ZONE_RESULTS][0],
        communes=layers[COMMUNE_RESULTS][0],
        epcis=layers[EPCI_RESULTS][0],
        run=run,
    )


def here(
    store: Store, lon: float, lat: float, *, radius_m: float = DEFAULT_PREMISES_RADIUS_M
) -> Here:
    """What is at (lon, lat) in the store: the zone results and commune containing it, the
    nearest building within ``radius_m`` metres, the coverage raster's speed there and the
    nearest interchange, station and airport (see
    :func:`geo_service.analysis.point.what_is_here`); a part whose layer is absent is empty."""
    stored = {n for n in (ZONE_RESULTS, COMMUNES, PREMISES, COVERAGE) if store.has_layer(n)}
    return what_is_here(
        lon,
        lat,
        zones=store.read_layer(ZONE_RESULTS) if ZONE_RESULTS in stored else None,
        communes=store.read_layer(COMMUNES) if COMMUNES in stored else None,
        premises=store.read_layer(PREMISES) if PREMISES in stored else None,
        raster=store.read_raster(COVERAGE) if COVERAGE in stored else None,
        radius_m=radius_m,
        transport=transport_layers(
            lambda name: store.read_layer(name) if store.has_layer(name) else None, roads=False
        ),
    )


def read_input_files(
    *,
    zones: Path,
    premises: Path,
    land: Path | None = None,
    raster: Path | None = None,
    communes: Path | None = None,
    crs: str | None = None,
) -> tuple[Inputs, list[LayerReport]]:
    """Read and validate input files directly, without storing them. Premises given as a
    file of points (GeoParquet, GeoPackage, FlatGeobuf, Shapefile) are read and validated as
    coordinates (:attr:`Inputs.premises_points`; the same checks, the same results)."""
    from geo_service.sources import read_coverage_raster, read_layer_file, read_point_layer_file

    frames: dict[str, gpd.GeoDataFrame] = {}
    reports: list[LayerReport] = []
    metas: dict[str, LayerMeta] = {}
    points: PointTable | None = None
    for kind, path in (
        (LayerKind.ZONES, zones),
        (LayerKind.PREMISES, premises),
        (LayerKind.LAND, land),
        (LayerKind.COMMUNES, communes),
    ):
        if path is None:
            continue
        path = Path(path)
        found = read_point_layer_file(kind, path, crs=crs) if kind is LayerKind.PREMISES else None
        if found is not None:
            points, report = found
            frames[kind.value], rows = _no_premises(), len(points.x)
        else:
            frames[kind.value], report = read_layer_file(kind, path, crs=crs)
            rows = len(frames[kind.value])
        metas[kind.value] = layer_meta(kind.value, source=path.name, data_date=_file_date(path))
        metas[kind.value].feature_count = rows
        reports.append(report)
    coverage = read_coverage_raster(Path(raster)) if raster is not None else None
    if raster is not None:
        metas[COVERAGE] = layer_meta(
            COVERAGE, source=Path(raster).name, data_date=_file_date(Path(raster))
        )
    inputs = Inputs(
        zones=frames[ZONES],
        premises=frames[PREMISES],
        land=frames.get(LAND),
        communes=frames.get(COMMUNES),
        raster=coverage,
        metas=metas,
        premises_points=points,
    )
    return inputs, reports


def _file_date(path: Path) -> date | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()
    except OSError:
        return None
