"""The ``geo-service`` command line."""

from __future__ import annotations

import functools
import gc
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from geo_service.errors import GeoServiceError, ParameterError
from geo_service.formatting import fr_hectares, fr_number
from geo_service.import_options import IMPORT_OPTIONS
from geo_service.limits import DEFAULT_PREMISES_RADIUS_M, MAX_PREMISES_RADIUS_M
from geo_service.terminal import literal, printable
from geo_service.thresholds import THRESHOLDS, Threshold
from geo_service.vintages import VINTAGED_LAYERS, is_vintaged, split_archived_name

if TYPE_CHECKING:
    import pandas as pd
    from starlette.types import ASGIApp

    from geo_service.analysis import AnalysisResult
    from geo_service.settings import Settings
    from geo_service.store import Store
    from geo_service.validation import LayerReport
    from geo_service.workspace import Workspace

# The heavy modules (geopandas, the analysis, the stores, pydantic settings, the API, maps and
# opinions) are imported inside the commands that use them: '--help' and argument errors answer
# without loading them (tests/test_cli_imports.py).

app = typer.Typer(
    name="geo-service",
    help="Broadband coverage of activity zones and business land: analysis, maps, API, opinions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory of the store (default: GEO_SERVICE_DATA_DIR, else ./data).",
    ),
]


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print user errors as one paragraph (no traceback) and exit with status 2; print the
    warnings of libraries (GDAL's about a file, say) as one line each, without source lines."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        previous = warnings.showwarning
        warnings.showwarning = _warning_printer()
        try:
            return command(*args, **kwargs)
        except GeoServiceError as exc:
            error_console.print(f"[bold red]Error:[/] {literal(exc.message)}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            error_console.print("Interrupted; the store is unchanged.")
            raise typer.Exit(130) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if _is_validation_error(exc):
                error_console.print(
                    f"[bold red]Error:[/] invalid setting: {_validation_problems(exc)}",
                    highlight=False,
                )
                raise typer.Exit(2) from None
            if os.environ.get("GEO_SERVICE_DEBUG"):
                raise
            error_console.print(
                f"[bold red]Internal error:[/] {literal(_failure(exc))}. "
                "Set GEO_SERVICE_DEBUG=1 to see the traceback, and report it.",
                highlight=False,
            )
            raise typer.Exit(1) from None
        finally:
            warnings.showwarning = previous

    return wrapper


def _failure(exc: Exception) -> str:
    """What failed: the exception's class and message (an import worker's, as it raised it;
    the workers' module is loaded if one failed, and not otherwise: 0.03 s of imports)."""
    bounded = sys.modules.get("geo_service.bounded")
    if bounded is not None and isinstance(exc, bounded.WorkerFailureError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _is_validation_error(exc: Exception) -> bool:
    """Whether ``exc`` is pydantic's (invalid settings); pydantic is loaded if it raised."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(exc, pydantic.ValidationError)


def _validation_problems(exc: Any) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
    )


def _warning_printer() -> Callable[..., None]:
    """A ``warnings.showwarning`` printing each distinct message once, as one line."""
    shown: set[str] = set()

    def show(message: Warning | str, *_: Any, **__: Any) -> None:
        if str(message) not in shown:
            shown.add(str(message))
            error_console.print(f"[yellow]Warning:[/] {literal(message)}", highlight=False)

    return show


def _settings(data_dir: Path | None) -> Settings:
    from geo_service.settings import Settings

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[str], None]]:
    """A spinner whose text each step updates."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=error_console,
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda step: progress.update(task, description=f"{description}: {step}")


@app.command()
@_reports_errors
def demo(
    scale: Annotated[
        str,
        typer.Option(
            help="Size of the territory: 'demo' (60 zones), 'departement' (500 zones, 1.3 M "
            "premises) or 'national' (45,000 zones, 45 M premises as GeoParquet)."
        ),
    ] = "demo",
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: GEO_SERVICE_DEMO_SEED).")
    ] = None,
    premises_parquet: Annotated[
        Path | None,
        typer.Option(
            help="With --scale national: directory of the premises GeoParquet files "
            "(default: <data dir>/premises-parquet)."
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Build the synthetic demo territory into the store (replaces its input layers).

    At national scale the premises are written as GeoParquet files (one per block of 500,000)
    instead of a store layer; analyse them with 'geo-service analyze --engine dask'.
    """
    from geo_service import pipeline
    from geo_service.store import open_store

    settings = _settings(data_dir)
    store = open_store(settings)
    seed = settings.demo_seed if seed is None else seed
    if scale == "national":
        from geo_service.partitioned import build_national_demo_store, default_premises_dir

        directory = premises_parquet or default_premises_dir(settings)
        with _progress("Building the national demo territory") as step:
            count = build_national_demo_store(store, directory, seed=seed, progress=step)
        console.print(
            f"Synthetic national territory written to the {store.describe()}, "
            f"its {fr_number(count)} premises as GeoParquet in {directory}."
        )
        _print_layers(store)
        return
    if premises_parquet is not None:
        raise ParameterError("--premises-parquet", "only the national scale writes GeoParquet")
    with _progress(f"Building the '{scale}' demo territory") as step:
        pipeline.build_demo_store(store, scale=scale, seed=seed, progress=step)
    console.print(f"Synthetic demo territory '{scale}' written to the {store.describe()}.")
    _print_layers(store)


def _with_import_options(
    *names: str,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator giving a command one option per :data:`~geo_service.import_options.
    IMPORT_OPTIONS` (all, or those ``names``; option, help and kind declared there), passed to
    it as ``given`` by option name."""
    chosen = tuple(o for o in IMPORT_OPTIONS if not names or o.name in names)
    if len(chosen) != len(names or chosen):
        raise ValueError(f"unknown import options among {names}")

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            given = {o.name: kwargs.pop(f"option_{o.name}") for o in chosen}
            command(*args, given=given, **kwargs)

        signature = inspect.signature(command, eval_str=True)
        kept = [p for p in signature.parameters.values() if p.name != "given"]
        options = [
            inspect.Parameter(
                f"option_{o.name}",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=False if o.flag else None,
                annotation=Annotated[
                    bool if o.flag else str | None, typer.Option(o.cli_option, help=o.help)
                ],
            )
            for o in chosen
        ]
        last = next(i for i, p in enumerate(kept) if p.name == "data_dir")
        parameters = [*kept[:last], *options, *kept[last:]]
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters
        )
        return wrapper

    return decorate


#: The import options that ``geo-service fetch`` passes to every import it runs (the others
#: name one file's columns or provenance, which the fetched sources declare themselves).
_FETCH_OPTIONS: Final = ("include_satellite", "wired_only")


@app.command("import")
@_reports_errors
@_with_import_options()
def import_(
    layer: Annotated[
        str, typer.Argument(help="Layer to replace: zones, premises, land, communes, coverage, ...")
    ],
    files: Annotated[list[Path], typer.Argument(help="File(s) of that layer.")],
    data_dir: DataDir = None,
    *,
    given: dict[str, Any],
) -> None:
    """Import files as a layer of the store (atomic replacement); the format is detected.
    Stopped, the store unchanged, past GEO_SERVICE_IMPORT_TIMEOUT_S seconds or
    GEO_SERVICE_IMPORT_MEMORY_MB of memory."""
    from geo_service import import_worker

    # First: the workers' fork server loads the importers while this process loads them too
    import_worker.start()
    from geo_service.sources.formats import import_options
    from geo_service.store import open_store

    settings = _settings(data_dir)
    store = open_store(settings)
    append = bool(given["append"])
    fmt, report, _ = import_worker.import_bounded(
        settings,
        layer,
        files,
        format_name=given["format_name"],
        options=import_options(given, settings.max_raster_pixels, settings.max_features),
        source=given["source"],
        licence=given["licence"],
        data_date=_parse_date(given["data_date"]),
        append=append,
        vintage=given["vintage"],
    )
    console.print(f"Format: {fmt.name} ({literal(fmt.description)}).", highlight=False)
    _print_report(report)
    done = "extended" if append else "replaced"
    console.print(f"Layer '{layer}' {done} in the {store.describe()}.")
    if is_vintaged(layer):
        _print_vintages(store, layer)


@app.command()
@_reports_errors
def formats() -> None:
    """List the import formats, by layer."""
    from geo_service.sources.formats import all_formats

    table = Table(title="Import formats")
    for column in ("layer", "format", "files", "description"):
        table.add_column(column, overflow="fold")
    for fmt in sorted(all_formats(), key=lambda f: (f.layer, f.name.startswith("generic"), f.name)):
        table.add_row(fmt.layer, fmt.name, fmt.files, fmt.description)
    console.print(table)


@app.command()
@_reports_errors
def layers(
    vintages: Annotated[
        bool, typer.Option("--vintages", help="List every stored vintage of the coverage layers.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """List the layers of the store with their source, date and vintage."""
    from geo_service.store import open_store

    store = open_store(_settings(data_dir))
    if not vintages:
        _print_layers(store)
        return
    for layer in VINTAGED_LAYERS:
        if store.has_layer(layer):
            _print_vintages(store, layer)


@app.command("drop-vintage")
@_reports_errors
def drop_vintage(
    layer: Annotated[str, typer.Argument(help="Coverage layer: premises, commune_coverage, ...")],
    vintage: Annotated[str, typer.Argument(help="Older vintage to remove, e.g. 2017-T3.")],
    data_dir: DataDir = None,
) -> None:
    """Remove an older vintage of a coverage layer (the current one stays)."""
    from geo_service import pipeline
    from geo_service.store import open_store

    store = open_store(_settings(data_dir))
    pipeline.drop_vintage(store, layer, vintage)
    console.print(f"Vintage {vintage} of layer '{layer}' dropped from the {store.describe()}.")
    _print_vintages(store, layer)


def _print_vintages(store: Store, layer: str) -> None:
    from geo_service import pipeline

    table = Table(title=Text(f"Vintages of '{layer}' ({store.describe()})"))
    for column in ("vintage", "state", "store layer", "size", "source", "data date"):
        table.add_column(column, justify="right" if column == "size" else "left")
    found = pipeline.vintages(store, layer)
    for meta in found:
        cells = (
            meta.vintage or "—",
            "current" if meta.name == layer else "older, read-only",
            meta.name,
            f"{meta.feature_count:,}",
            meta.source,
            meta.data_date.isoformat() if meta.data_date else "—",
        )
        table.add_row(*(Text(printable(cell)) for cell in cells))
    console.print(table)


def _with_threshold_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with one option per threshold and weight of the analysis, generated from
    :data:`~geo_service.thresholds.THRESHOLDS` (flag, bounds and help declared there) and
    passed to it as ``thresholds`` (None where not given: the settings decide)."""
    names = tuple(t.name for t in THRESHOLDS)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        thresholds = {name: kwargs.pop(name, None) for name in names}
        command(*args, thresholds=thresholds, **kwargs)

    signature = inspect.signature(command, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name != "thresholds"]
    options = [_threshold_option(t) for t in THRESHOLDS]
    last = next(i for i, p in enumerate(kept) if p.name == "data_dir")
    parameters = [*kept[:last], *options, *kept[last:]]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return wrapper


def _threshold_option(declared: Threshold) -> inspect.Parameter:
    option = typer.Option(
        declared.option,
        min=declared.low,
        max=declared.high,
        show_default=False,
        help=f"{declared.description} Default: GEO_SERVICE_{declared.name.upper()}, else "
        f"{declared.default:g}.",
    )
    return inspect.Parameter(
        declared.name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[float | None, option],
    )


@app.command()
@_reports_errors
@_with_threshold_options
def analyze(
    zones: Annotated[
        Path | None, typer.Option(help="Zones file (analyse files, not the store).")
    ] = None,
    premises: Annotated[Path | None, typer.Option(help="Premises file (with --zones).")] = None,
    land: Annotated[Path | None, typer.Option(help="Land plots file (with --zones).")] = None,
    raster: Annotated[Path | None, typer.Option(help="Coverage GeoTIFF (with --zones).")] = None,
    communes: Annotated[Path | None, typer.Option(help="Communes file (with --zones).")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of input files that declare none.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Export zone results: .gpkg, .geojson, .csv or .parquet.")
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Flagged zones to list.")] = 20,
    engine: Annotated[
        str,
        typer.Option(
            help="'memory' (every layer in memory) or 'dask' (premises summed partition by "
            "partition on a dask cluster: GEO_SERVICE_DASK_SCHEDULER, else a local one)."
        ),
    ] = "memory",
    premises_parquet: Annotated[
        Path | None,
        typer.Option(
            help="With --engine dask: directory of premises GeoParquet files (default: the "
            "store's premises layer, or <data dir>/premises-parquet when the store has none)."
        ),
    ] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Also analyse every vintage of the coverage layers with the same thresholds: "
            "history tables, and the change since the previous vintage in the results.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --history: reference vintage of the changes and of 'persistent' "
            "(e.g. 2024-T1; default: the oldest)."
        ),
    ] = None,
    data_dir: DataDir = None,
    *,
    thresholds: dict[str, float | None],
) -> None:
    """Measure, flag and rank every activity zone.

    Without file options, analyses the store (building the demo territory first if the store is
    empty) and stores the results. With --zones and --premises, analyses those files directly.
    Thresholds and weights default to the settings (GEO_SERVICE_SERVED_THD30_SHARE, ...).
    """
    from geo_service import pipeline
    from geo_service.store import open_store

    settings = _settings(data_dir)
    params = settings.analysis_params(**thresholds)
    files = {"--premises": premises, "--land": land, "--raster": raster, "--communes": communes}
    if engine not in pipeline.ENGINES:
        raise ParameterError("--engine", f"expected 'memory' or 'dask'; got {engine!r}")
    if engine == "memory" and premises_parquet is not None:
        raise ParameterError("--premises-parquet", "GeoParquet premises need --engine dask")
    if since is not None and not history:
        raise ParameterError("--since", "give --history with --since")
    if history and (engine != "memory" or zones is not None):
        raise ParameterError("--history", "the history analyses the store, with --engine memory")
    if engine == "dask":
        if zones is not None or any(v is not None for v in files.values()):
            raise ParameterError("--engine", "the dask engine analyses the store, not files")
        with _progress("Analysing on dask") as step:
            result = pipeline.analyze(
                open_store(settings),
                params,
                engine=engine,
                settings=settings,
                premises_dir=premises_parquet,
                progress=step,
            )
    elif zones is not None or any(v is not None for v in files.values()):
        if zones is None or premises is None:
            raise ParameterError(
                "--zones/--premises", "analysing files needs both --zones and --premises"
            )
        inputs, reports = pipeline.read_input_files(
            zones=zones, premises=premises, land=land, raster=raster, communes=communes, crs=crs
        )
        for report in reports:
            _print_warnings(report)
        with _progress("Analysing") as step:
            result = pipeline.analyze_inputs(inputs, params, step)
    else:
        store = open_store(settings)
        if not store.has_layer(pipeline.ZONES):
            console.print("The store is empty: building the synthetic demo territory first.")
            with _progress("Building the demo territory") as step:
                pipeline.build_demo_store(store, seed=settings.demo_seed, progress=step)
        _check_premises_in_store(store, settings)
        with _progress("Analysing") as step:
            if history:
                result, found = pipeline.analyze_history(store, params, since=since, progress=step)
            else:
                result = pipeline.analyze(store, params, settings=settings, progress=step)
        if history:
            _print_history(result, found.vintages)
            _print_perimeters(found.perimeters)
    _print_result(result, top)
    if out is not None:
        from geo_service.export import export_results

        export_results(result, out)
        console.print(f"Zone results written to {out}.")


def _print_history(result: AnalysisResult, vintages: tuple[str, ...]) -> None:
    """The vintages analysed and the zones flagged at each of them (persistent ones)."""
    persistent = int(result.zones["persistent"].fillna(False).sum())
    since = result.run.since or vintages[0]
    analysed = "millésimes analysés" if len(vintages) > 1 else "millésime analysé"
    flagged = "zones signalées" if persistent > 1 else "zone signalée"
    console.print(
        f"Historique : {len(vintages)} {analysed} ({', '.join(vintages)}), enregistrés dans "
        f"zone_history, commune_history et epci_history ; {persistent} {flagged} à chaque "
        f"millésime depuis {since}."
    )


def _print_perimeters(changes: Any) -> None:
    """The zones matched by id with the previous results whose perimeter changed."""
    for ids, what in (
        (changes.changed, "au périmètre modifié depuis l'analyse précédente"),
        (changes.added, "nouvelles depuis l'analyse précédente"),
        (changes.removed, "absentes depuis l'analyse précédente"),
    ):
        if ids:
            shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
            console.print(f"Zones {what} ({len(ids)}) : {shown}.", highlight=False)


def _check_premises_in_store(store: Store, settings: Settings) -> None:
    """Point to --engine dask when the premises are GeoParquet files (national demo)."""
    from geo_service import pipeline
    from geo_service.premises_dir import default_premises_dir

    directory = default_premises_dir(settings.data_dir)
    if not store.has_layer(pipeline.PREMISES) and any(directory.glob("*.parquet")):
        raise ParameterError(
            "--engine",
            f"the premises are GeoParquet files in {directory} (national scale), not a store "
            "layer; analyse them with 'geo-service analyze --engine dask'",
        )


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParameterError("--date", f"'{text}' is not a date; expected YYYY-MM-DD") from None


#: Terminal width below which ``geo-service layers`` lists each layer as a block of lines.
_WIDE_LAYERS: Final = 120


def _print_layers(store: Store) -> None:
    from geo_service.catalog import is_raster

    # Older vintages are listed by 'geo-service layers --vintages'.
    metas = [m for m in store.list_layers() if split_archived_name(m.name) is None]
    dated = any(m.vintage for m in metas)  # the vintage column only when one has a vintage
    table = Table(title=Text(f"Layers ({store.describe()})"))
    table.add_column("layer", no_wrap=True)
    columns = ("title", "size", "source", "data date", *(("vintage",) if dated else ()), "licence")
    for column in columns:
        table.add_column(column, justify="right" if column == "size" else "left")
    rows: list[list[str]] = []
    for meta in metas:
        source = meta.source + (" [synthetic]" if meta.synthetic else "")
        unit = "pixels" if is_raster(meta.name) else "features"
        cells = (
            meta.name,
            meta.title,
            f"{meta.feature_count:,} {unit}",
            source,
            meta.data_date.isoformat() if meta.data_date else "—",
            *((meta.vintage or "—",) if dated else ()),
            meta.licence,
        )
        # Data strings are text, never rich markup ("[v2]" in a title stays).
        rows.append([printable(cell) for cell in cells])
        table.add_row(*(Text(cell) for cell in rows[-1]))
    if console.width >= _WIDE_LAYERS:
        console.print(table)
        return
    # too narrow for six columns (values were cut to "Territoi…"): one block per layer, its
    # id whole on the first line, the other values wrapped at words below it
    console.print(Text(f"Layers ({store.describe()})"))
    for row in rows:
        console.print(Text(row[0], style="bold"))
        for column, cell in zip(columns, row[1:], strict=True):
            console.print(Text(f"  {column}: {cell}"))


def _print_report(report: LayerReport) -> None:
    console.print(
        f"{literal(report.source)}: {report.rows_read} rows read, {report.rows_kept} kept, "
        f"{report.repaired} repaired, {report.rows_skipped} skipped."
    )
    _print_warnings(report)


def _print_warnings(report: LayerReport) -> None:
    for warning in report.warnings:
        error_console.print(f"[yellow]Warning:[/] {literal(warning)}", highlight=False)


def _print_result(result: AnalysisResult, top: int) -> None:
    """The analysis as people read it, in French with French numbers, as its reasons are: the
    zones by status, by transport access, and the flagged zones by priority."""
    from geo_service.analysis import split_reasons
    from geo_service.analysis.aggregate import status_counts
    from geo_service.analysis.status import effective_share, thd30_lower_bound
    from geo_service.maps.style import STATUS_LABELS
    from geo_service.model import ACCESS_WORDS, STATUS_WORDS, ZoneStatus

    zones = result.zones
    if result.run.synthetic:
        console.print(
            "[bold magenta]Données synthétiques : territoire de démonstration, aucun chiffre "
            "réel.[/]"
        )
    counts = status_counts(zones)
    summary = Table(title=f"{fr_number(len(zones))} zones d'activités")
    for column in ("statut", "zones", "locaux", "foncier disponible"):
        summary.add_column(column, justify="right" if column != "statut" else "left")
    for status in ZoneStatus:
        part = zones[zones["status"] == status.value]
        summary.add_row(
            STATUS_LABELS[status.value],
            fr_number(counts[status.value]),
            fr_number(int(part["locaux"].sum())),
            fr_hectares(float(part["available_land_ha"].sum())),
        )
    console.print(summary)
    _print_access(zones)
    flagged = result.flagged()
    if len(flagged) == 0 or top == 0:
        return
    from geo_service.opinions.wording import deciding_share_text, priority_text

    shown = min(top, len(flagged))
    console.print(
        f"\n[bold]Zones signalées par priorité ({fr_number(shown)} premières sur "
        f"{fr_number(len(flagged))})[/]"
    )
    for row in flagged.head(top).to_dict("records"):
        share = deciding_share_text(
            effective_share(row, "share_thd30"), str(row["status_basis"]), thd30_lower_bound(row)
        )
        access = ACCESS_WORDS.get(str(row.get("access_class")), ACCESS_WORDS["unknown"])[0]
        console.print(
            f"[bold]{row['rank']:>3}. {row['zone_id']}[/] {row['name']} — "
            f"{STATUS_WORDS[str(row['status'])][0]}, priorité {priority_text(row['priority'])}, "
            f"≥ 30 Mbit/s : {share}, foncier : {fr_hectares(row['available_land_ha'])}, "
            f"accès aux transports : {access}",
            highlight=False,
        )
        for reason in split_reasons(row["reasons"]):
            console.print(f"       • {literal(reason)}", highlight=False)


def _print_access(zones: pd.DataFrame) -> None:
    """The zones by transport access class, with median straight-line distances."""
    import pandas as pd

    from geo_service.model import ACCESS_WORDS, AccessClass

    if "access_class" not in zones.columns or zones["access_class"].eq("unknown").all():
        console.print(
            "Accès aux transports : inconnu (aucune couche transit_stops, rail_stations, "
            "road_access ni hubs)."
        )
        return
    # Medians per zone, departures too: a sum over zones would count twice a stop within
    # walking distance of two zones.
    table = Table(title="Accès aux transports (médianes par zone, distances à vol d'oiseau)")
    longest = max(len(words[0]) for words in ACCESS_WORDS.values())
    table.add_column("accès", no_wrap=True, min_width=longest)  # the class words whole
    for column in ("zones", "échangeur\n(km)", "gare\n(km)", "avec\narrêts", "départs\n7 h – 9 h"):
        table.add_column(column, justify="right")
    for access in AccessClass:
        part = zones[zones["access_class"] == access.value]
        departures = pd.to_numeric(part["transit_peak_departures"], errors="coerce")
        table.add_row(
            ACCESS_WORDS[access][0].capitalize(),
            fr_number(len(part)),
            fr_number(part["road_access_km"].median(), 1) if len(part) else "—",
            fr_number(part["rail_station_km"].median(), 1) if len(part) else "—",
            fr_number(int((pd.to_numeric(part["transit_stops"], errors="coerce") > 0).sum())),
            fr_number(departures.median(), 0) if departures.notna().any() else "—",
        )
    console.print(table)


@app.command()
@_reports_errors
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (default: GEO_SERVICE_HOST, else 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default: GEO_SERVICE_PORT, else 8000)."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Serve the JSON API (OGC API - Features, zone endpoints) and the maps over HTTP.

    On an empty store, builds and analyses the synthetic demo territory first.
    """
    import uvicorn

    from geo_service.api.server import KEEP_ALIVE_S, http_protocol
    from geo_service.api.starting import StartingFront

    settings = _settings(data_dir)
    overrides = {"host": host, "port": port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{shown_host}:{settings.port}"
    server: uvicorn.Server | None = None

    def stop() -> None:
        if server is not None:
            server.should_exit = True

    # Listen at once (/healthz answers) while the store and its layers load in the background;
    # the other requests wait for them.
    front = StartingFront(lambda: _served_app(settings, url), on_failure=stop)
    config = uvicorn.Config(
        front,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=access_log,
        server_header=False,
        http=http_protocol(settings.request_head_timeout_s),
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    front.start()
    server.run()
    front.raise_failure()
    if not server.started:
        raise typer.Exit(3)  # uvicorn's start-up failure (e.g. the port is taken), logged


def _served_app(settings: Settings, url: str) -> ASGIApp:
    """The web application over the prepared store, its layers and indexes loaded."""
    from geo_service.api import create_app
    from geo_service.api.app import warm_up
    from geo_service.store import open_store
    from geo_service.workspace import Workspace

    store = open_store(settings)
    _ensure_results(Workspace(settings, store))
    with _progress("Loading the layers") as step:
        step("store")
        web_app = create_app(settings)
        step("indexes")
        warm_up(web_app)
    # The layers now live as long as the server: keep the garbage collector off them, so that
    # its full passes stay short (they would otherwise walk millions of objects).
    gc.collect()
    gc.freeze()
    console.print(
        f"geo-service serves {store.describe()} at {url}/ (API documentation: {url}/docs)"
    )
    return web_app


@app.command()
@_reports_errors
def opinion(
    out: Annotated[
        Path,
        typer.Option(help="File to write; with --all-flagged, the directory of the files."),
    ],
    zone: Annotated[str | None, typer.Option(help="Opinion on this zone (zone_id).")] = None,
    commune: Annotated[
        str | None, typer.Option(help="Opinion on this commune (INSEE code).")
    ] = None,
    territory: Annotated[
        bool, typer.Option("--territory", help="Territory synthesis (flagged zones by rank).")
    ] = False,
    all_flagged: Annotated[
        bool, typer.Option("--all-flagged", help="One opinion per flagged zone, into --out.")
    ] = False,
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format", help="json, html, pdf or md (default: from --out's extension, else pdf)."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --all-flagged: processes rendering the opinions (default: the cores).",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write a planning opinion (avis) on a zone, a commune or the territory.

    Analyses the store first when it has no results (building the demo territory if it is
    empty). With --all-flagged, writes one file per under-served or unserved zone, on every
    core (--jobs).
    """
    from geo_service.opinions.batch import default_jobs, zone_documents
    from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
    from geo_service.opinions.model import OpinionKind
    from geo_service.workspace import Workspace

    chosen = [zone is not None, commune is not None, territory, all_flagged]
    if sum(chosen) != 1:
        raise ParameterError(
            "--zone/--commune/--territory/--all-flagged", "give exactly one of these options"
        )
    suffix = out.suffix.lstrip(".").lower()
    default = suffix if not all_flagged and suffix in {f.value for f in OpinionFormat} else "pdf"
    fmt = OpinionFormat.parse(format_name or default, "--format")
    workspace = Workspace(_settings(data_dir))
    _ensure_results(workspace)
    result = workspace.results()
    if not all_flagged:
        if zone is not None:
            subject = Subject(OpinionKind.ZONE, zone)
        elif commune is not None:
            subject = Subject(OpinionKind.COMMUNE, commune)
        else:
            subject = Subject(OpinionKind.TERRITORY)
        with _progress("Writing the opinion"):
            document = opinion_document(workspace, subject, fmt, result=result, archive=True)
        _write_file(out, document.content)
        size = fr_number(len(document.content))
        console.print(f"Opinion written to {out} ({fmt.value}, {size} bytes).")
        _print_archived(document.record)
        return
    flagged = [str(z) for z in result.flagged()["zone_id"]]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=error_console,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("Writing the opinions", total=len(flagged))
        documents = zone_documents(
            workspace, result, flagged, fmt, jobs=jobs or default_jobs(), archive=True
        )
        for zone_id, document in zip(flagged, documents, strict=True):
            progress.update(task, description=f"Writing the opinions: {zone_id}")
            _write_file(out / document.filename, document.content)
            progress.advance(task)
    console.print(
        f"{len(flagged)} opinions on flagged zones written to {out}/ ({fmt.value}) and "
        "archived in the opinion record ('geo-service opinions list')."
    )


def _print_archived(record: Any) -> None:
    """The archive id and sha256 of an opinion just archived."""
    if record is None:
        return
    files = ", ".join(f"{f.name} sha256 {f.sha256}" for f in record.files)
    console.print(f"Archived in the opinion record as {record.id} ({files}).")
    if record.previous_id is not None:
        console.print(f"Compared with the earlier opinion {record.previous_id}.")


opinions_app = typer.Typer(
    help="The opinion record: every opinion written, archived unchanged.",
    no_args_is_help=True,
)
app.add_typer(opinions_app, name="opinions")


@opinions_app.command("list")
@_reports_errors
def opinions_list(
    zone: Annotated[str | None, typer.Option(help="Only the opinions on this zone.")] = None,
    commune: Annotated[
        str | None, typer.Option(help="Only the opinions on this commune (INSEE code).")
    ] = None,
    territory: Annotated[
        bool, typer.Option("--territory", help="Only the territory syntheses.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """List the archived opinions, oldest first: id, date, subject, status, files."""
    from geo_service.opinions import record as opinion_record
    from geo_service.opinions.model import OpinionKind
    from geo_service.store import open_store

    if sum([zone is not None, commune is not None, territory]) > 1:
        raise ParameterError("--zone/--commune/--territory", "give at most one of these options")
    kind, subject_id = None, zone or commune
    if zone is not None:
        kind = OpinionKind.ZONE
    elif commune is not None:
        kind = OpinionKind.COMMUNE
    elif territory:
        kind = OpinionKind.TERRITORY
    store = open_store(_settings(data_dir))
    found = opinion_record.records(store, kind, subject_id)
    table = Table(title=Text(f"Archived opinions ({store.describe()})"))
    for column in ("id", "date", "kind", "subject", "status", "vintages", "files", "sha256"):
        table.add_column(column)
    for record in found:
        cells = (
            record.id,
            record.date.isoformat(),
            record.kind.value,
            f"{record.subject} ({record.subject_id})" if record.subject_id else record.subject,
            record.status or "—",
            ", ".join(f"{k} {v}" for k, v in record.vintages.items()) or "—",
            ", ".join(f.name for f in record.files),
            ", ".join(f.sha256[:12] for f in record.files),
        )
        table.add_row(*(Text(printable(cell)) for cell in cells))
    console.print(table)
    console.print(f"{len(found)} archived opinion{'s' if len(found) != 1 else ''}.")


@opinions_app.command("show")
@_reports_errors
def opinions_show(
    opinion_id: Annotated[str, typer.Argument(metavar="ID", help="Archive id of the opinion.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Write the archived file there (byte for byte) instead of the record."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Print an archived opinion's record (JSON), or write its archived file with --out."""
    from geo_service.opinions import record as opinion_record
    from geo_service.store import open_store

    store = open_store(_settings(data_dir))
    record = opinion_record.record(store, opinion_id)
    if out is None:
        console.print_json(record.model_dump_json())
        return
    archived = store.opinion_archive().file(record.id, record.files[0].name)
    _write_file(out, archived.content)
    console.print(
        f"{archived.name} of opinion {record.id} written to {out} (sha256 {archived.sha256})."
    )


def _ensure_results(workspace: Workspace) -> None:
    """Build the demo (empty store) and analyse (no results) before serving or drawing."""
    from geo_service import pipeline

    store = workspace.store
    if not store.has_layer(pipeline.ZONES):
        console.print("The store is empty: building the synthetic demo territory first.")
    elif not store.has_layer(pipeline.ZONE_RESULTS):
        console.print("The store has no results yet: analysing it first.")
    with _progress("Preparing the store"):
        pipeline.prepare_store(store, workspace.settings)


def _write_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` (creating its directory), or say why it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    except OSError as exc:
        raise ParameterError("--out", f"cannot write {path}: {exc.strerror or exc}") from None


@app.command()
@_reports_errors
@_with_import_options(*_FETCH_OPTIONS)
def fetch(
    departement: Annotated[str, typer.Option(help="Département code (13, 2A, 971...).")],
    epci: Annotated[
        str | None,
        typer.Option(
            help="EPCI SIREN (9 digits): fetch its communes instead of the département's."
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Fetch only this source (repeatable); see --dry-run for their names."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the files and the cache; download nothing.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Download again the files already cached.")
    ] = False,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Expected checksums: lines '<sha256>  <file name>' (sha256sum)."),
    ] = None,
    data_dir: DataDir = None,
    *,
    given: dict[str, Any],
) -> None:
    """Download a territory's official open data and import it into the store.

    Sources: ARCEP building and commune files, commune polygons, Cartofriches brownfields,
    Fusac activity zones, and transport: GTFS feeds of the national access point, the SNCF
    station list and an OpenStreetMap regional extract (roads, motorway exits, aerodromes).
    Files are cached under the data directory (with a .sha256 beside each), interrupted
    downloads resume, and a source that fails is reported without stopping
    the others. Base URLs come from the settings (GEO_SERVICE_ARCEP_BASE_URL, ...).
    """
    from rich.progress import DownloadColumn, TransferSpeedColumn

    from geo_service.fetch import Territory, download_dir, fetch_territory, plan, read_manifest
    from geo_service.sources.formats import import_options
    from geo_service.store import open_store

    settings = _settings(data_dir)
    territory = Territory.parse(departement, epci)
    expected = read_manifest(manifest) if manifest is not None else None
    if dry_run:
        table = Table(title=f"Files to fetch (cache: {download_dir(settings)})")
        for column in ("source", "layer", "format", "url", "cached"):
            table.add_column(column, overflow="fold")
        for source, files in plan(territory, settings, only=only, manifest=expected):
            for file in files:
                table.add_row(
                    source.name,
                    source.layer,
                    source.format_name or "detected",
                    file.url,
                    "yes" if file.cached else "no",
                )
        console.print(table)
        return
    store = open_store(settings)
    options = import_options(given, settings.max_raster_pixels, settings.max_features)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=error_console,
        disable=not sys.stderr.isatty(),
    ) as progress:

        def hook(name: str) -> Callable[[int, int | None], None]:
            task = progress.add_task(name, total=None)
            return lambda done, total: progress.update(task, completed=done, total=total)

        outcomes = fetch_territory(
            store,
            settings,
            territory,
            only=only,
            manifest=expected,
            refresh=refresh,
            options=options,
            progress=hook,
            on_import=lambda s: progress.console.print(f"Importing {s.name} as '{s.layer}'..."),
        )
    table = Table(title=f"Fetched for département {territory.departement}")
    for column in ("source", "layer", "files", "result"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        states = [
            "cached" if f.cached else "resumed" if f.resumed else "downloaded"
            for f in outcome.files
        ]
        kept = outcome.report.rows_kept if outcome.report else 0
        result = (
            f"[red]failed:[/] {literal(outcome.error)}"
            if outcome.error
            else f"{outcome.format_name}: {fr_number(kept)} rows kept"
        )
        table.add_row(outcome.source.name, outcome.source.layer, ", ".join(states), result)
    console.print(table)
    for outcome in outcomes:
        if outcome.report is not None:
            _print_warnings(outcome.report)
    failed = [o.source.name for o in outcomes if not o.ok]
    if failed:
        error_console.print(
            f"[bold red]Error:[/] {len(failed)} of {len(outcomes)} source(s) failed "
            f"({', '.join(failed)}); the others were imported.",
            highlight=False,
        )
        raise typer.Exit(2)
    console.print(f"All {len(outcomes)} source(s) imported into the {store.describe()}.")


@app.command("map")
@_reports_errors
def map_(
    out: Annotated[Path, typer.Option(help="HTML file to write.")],
    zone: Annotated[
        str | None, typer.Option(help="Map of this zone (zone_id) instead of the territory.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Territory map: only the zones of these statuses, comma-separated "
            "(served, underserved, unserved, unknown)."
        ),
    ] = None,
    commune: Annotated[
        str | None,
        typer.Option(help="Territory map: only the zones of this commune (INSEE code)."),
    ] = None,
    self_contained: Annotated[
        bool,
        typer.Option(
            "--self-contained",
            help="Inline every script, style and image: one file that works offline.",
        ),
    ] = False,
    basemap: Annotated[
        str | None,
        typer.Option(help="Basemap: none, osm or ign-plan (default: GEO_SERVICE_BASEMAP)."),
    ] = None,
    embed: Annotated[
        bool, typer.Option("--embed", help="The map alone, without header (for an iframe).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Write the interactive territory map (or a zone's map) as an HTML file.

    Without --self-contained, Leaflet and the map's script are copied to FILE_assets/ beside
    the file. Analyses the store first when it has no results (building the demo territory if
    it is empty). Links to zones' data and opinions use GEO_SERVICE_PUBLIC_URL (none when unset).
    """
    from geo_service.maps.service import export_map
    from geo_service.workspace import Workspace

    workspace = Workspace(_settings(data_dir))
    _ensure_results(workspace)
    with _progress("Drawing the map"):
        written = export_map(
            workspace,
            out,
            zone_id=zone,
            status=status,
            commune=commune,
            self_contained=self_contained,
            basemap=basemap,
            embed=embed,
        )
    where = " (self-contained)" if written.assets is None else f", assets in {written.assets}/"
    console.print(
        f"Map written to {written.path}{where}: {fr_number(written.size / 1e6, 2)} MB "
        f"in {fr_number(written.seconds, 1)} s.",
        highlight=False,
    )


@app.command()
@_reports_errors
def here(
    lon: Annotated[
        float, typer.Argument(min=-180.0, max=180.0, metavar="LON", help="Longitude (WGS84).")
    ],
    lat: Annotated[
        float, typer.Argument(min=-90.0, max=90.0, metavar="LAT", help="Latitude (WGS84).")
    ],
    radius: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=MAX_PREMISES_RADIUS_M,
            help="Search radius of the nearest building, in metres.",
        ),
    ] = DEFAULT_PREMISES_RADIUS_M,
    data_dir: DataDir = None,
) -> None:
    """What is here? The activity zones and commune at a point, the nearest building and the
    coverage raster's speed there (west of Greenwich, write -- before the coordinates)."""
    from geo_service import pipeline
    from geo_service.store import open_store

    found = pipeline.here(open_store(_settings(data_dir)), lon, lat, radius_m=radius)
    # English words with English numbers, as the other operator commands (layers, import)
    console.print(f"[bold]At {lon:g}, {lat:g}[/]", highlight=False)
    if not found.in_territory:
        console.print(_OUTSIDE, highlight=False)
    if len(found.zones) == 0:
        console.print("Zones: none", highlight=False)
    for row in found.zones.to_dict("records"):
        rank = row.get("rank")
        ranked = isinstance(rank, int | float) and rank == rank  # NaN, NA: not ranked
        console.print(
            f"Zone {literal(row['zone_id'])} {literal(row['name'])}: {row['status']}"
            + (f", rank {int(rank)}" if ranked else ""),
            highlight=False,
        )
    commune = found.commune
    console.print(
        "Commune: none"
        if commune is None
        else f"Commune: {literal(commune.get('name'))} ({commune.get('commune_insee')})",
        highlight=False,
    )
    building = found.nearest_premises
    if building is None:
        console.print(f"Nearest building: none within {radius:,g} m", highlight=False)
    else:
        console.print(
            f"Nearest building: {literal(building.get('premises_id'))} at "
            f"{building['distance_m']:,.1f} m, {building.get('locaux')} locaux, "
            f"class {building.get('down_class')}",
            highlight=False,
        )
    coverage = found.coverage
    if coverage is not None:
        speed = "not measured" if coverage["mbps"] is None else f"{coverage['mbps']:,.1f} Mbit/s"
        klass = f" ({coverage['speed_class']})" if coverage["speed_class"] else ""
        console.print(f"Coverage raster: {speed}{klass}", highlight=False)
    for prefix, label in (
        ("road_access", "Nearest motorway interchange"),
        ("rail_station", "Nearest passenger station"),
        ("airport", "Nearest airport"),
    ):
        facility = found.transport.get(prefix)
        if facility is not None:
            console.print(
                f"{label}: {literal(facility['name'])} at "
                f"{facility['distance_km']:,.1f} km (straight line)",
                highlight=False,
            )


#: What ``here`` says of a point in no analysed commune nor zone (the API's statement, in the
#: command's language).
_OUTSIDE: Final = (
    "Outside the loaded territory: the point is in no analysed commune nor zone; the nearest "
    "transport facilities are not looked for (only the territory's are loaded) and absent "
    "values are not measured."
)


@app.command("hash-key")
@_reports_errors
def hash_key(
    key_stdin: Annotated[
        bool,
        typer.Option(
            "--key-stdin",
            help="Hash the key read from standard input instead of making a new random one.",
        ),
    ] = False,
) -> None:
    """Make an API key for the write endpoints and print its hash for the settings.

    Only the hash goes into the settings (GEO_SERVICE_API_KEY_HASH); give the key to the
    clients that may write (header 'Authorization: Bearer <key>' or 'X-API-Key: <key>').
    """
    from geo_service.api.auth import hash_api_key, new_api_key

    key = sys.stdin.readline().strip() if key_stdin else new_api_key()
    hashed = hash_api_key(key)
    if not key_stdin:
        error_console.print("API key (give it to the clients that may write; it is not stored):")
        console.print(key, highlight=False)
    error_console.print("Setting for the server (.env or environment):")
    console.print(f"GEO_SERVICE_API_KEY_HASH='{hashed}'", highlight=False)


def main(prog_name: str | None = None) -> None:
    """Run the command line as a console script (``geo-service``, ``python -m geo_service``).

    Once the command is done, every object left is frozen out of the garbage collector: the
    process ends there, and the collector's passes at exit over the command's data (hundreds of
    milliseconds after an analysis) would free nothing worth it.
    """
    try:
        app(prog_name=prog_name)
    finally:
        gc.freeze()
