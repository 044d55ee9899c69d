"""The ``geo-service`` command line."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo_service import pipeline
from geo_service.analysis import AnalysisResult, split_reasons
from geo_service.errors import GeoServiceError, ParameterError
from geo_service.export import export_results
from geo_service.formatting import fr_hectares, fr_number, fr_percent
from geo_service.model import ZoneStatus
from geo_service.settings import Settings
from geo_service.sources.formats import ImportOptions, all_formats
from geo_service.store import Store, open_store
from geo_service.validation import LayerReport

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
        "--data-dir", help="Data directory of the store [default: GEO_SERVICE_DATA_DIR or ./data]."
    ),
]
Share = Annotated[float | None, typer.Option(min=0.0, max=1.0, show_default=False)]
Positive = Annotated[float | None, typer.Option(min=0.0, show_default=False)]


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print user errors as one paragraph (no traceback) and exit with status 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except GeoServiceError as exc:
            error_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
            raise typer.Exit(2) from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
            )
            error_console.print(f"[bold red]Error:[/] invalid setting: {problems}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            error_console.print("Interrupted; the store is unchanged.")
            raise typer.Exit(130) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if os.environ.get("GEO_SERVICE_DEBUG"):
                raise
            error_console.print(
                f"[bold red]Internal error:[/] {type(exc).__name__}: {exc}. "
                "Set GEO_SERVICE_DEBUG=1 to see the traceback, and report it.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper


def _settings(data_dir: Path | None) -> Settings:
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
        str, typer.Option(help="Size of the territory: 'demo' (60 zones) or 'departement'.")
    ] = "demo",
    seed: Annotated[
        int | None, typer.Option(help="Random seed [default: GEO_SERVICE_DEMO_SEED].")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Build the synthetic demo territory into the store (replaces its input layers)."""
    settings = _settings(data_dir)
    store = open_store(settings)
    with _progress(f"Building the '{scale}' demo territory") as step:
        pipeline.build_demo_store(
            store, scale=scale, seed=settings.demo_seed if seed is None else seed, progress=step
        )
    console.print(f"Synthetic demo territory '{scale}' written to the {store.describe()}.")
    _print_layers(store)


@app.command("import")
@_reports_errors
def import_(
    layer: Annotated[
        str, typer.Argument(help="Layer to replace: zones, premises, land, communes, coverage, ...")
    ],
    files: Annotated[list[Path], typer.Argument(help="File(s) of that layer.")],
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format", help="Format name (see 'geo-service formats') [default: detected]."
        ),
    ] = None,
    layer_name: Annotated[
        str | None, typer.Option("--layer", help="Layer to read in a multi-layer file.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that declares none.")] = None,
    id_field: Annotated[str | None, typer.Option(help="Column holding the ids.")] = None,
    name_field: Annotated[str | None, typer.Option(help="Column holding the names.")] = None,
    include_satellite: Annotated[
        bool, typer.Option(help="Count satellite offers in a building's best class.")
    ] = False,
    wired_only: Annotated[bool, typer.Option(help="Count wired technologies only.")] = False,
    source: Annotated[
        str | None, typer.Option(help="Source to cite [default: file names].")
    ] = None,
    licence: Annotated[str | None, typer.Option(help="Licence of the data.")] = None,
    data_date: Annotated[
        str | None,
        typer.Option("--date", help="Date of the data, YYYY-MM-DD [default: file date]."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import files as a layer of the store (atomic replacement); the format is detected."""
    store = open_store(_settings(data_dir))
    options = ImportOptions(
        layer=layer_name,
        crs=crs,
        id_field=id_field,
        name_field=name_field,
        include_satellite=include_satellite,
        wired_only=wired_only,
    )
    fmt, report = pipeline.import_files(
        store,
        layer,
        files,
        format_name=format_name,
        options=options,
        source=source,
        licence=licence,
        data_date=_parse_date(data_date),
    )
    console.print(f"Format: {fmt.name} ({fmt.description}).", highlight=False)
    _print_report(report)
    console.print(f"Layer '{layer}' replaced in the {store.describe()}.")


@app.command()
@_reports_errors
def formats() -> None:
    """List the import formats, by layer."""
    table = Table(title="Import formats")
    for column in ("layer", "format", "files", "description"):
        table.add_column(column, overflow="fold")
    for fmt in sorted(all_formats(), key=lambda f: (f.layer, f.name.startswith("generic"), f.name)):
        table.add_row(fmt.layer, fmt.name, fmt.files, fmt.description)
    console.print(table)


@app.command()
@_reports_errors
def layers(data_dir: DataDir = None) -> None:
    """List the layers of the store with their source and date."""
    _print_layers(open_store(_settings(data_dir)))


@app.command()
@_reports_errors
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
    served_thd30_share: Share = None,
    unserved_bhd8_share: Share = None,
    min_raster_valid_share: Share = None,
    weight_gap: Positive = None,
    weight_land: Positive = None,
    weight_locaux: Positive = None,
    land_half_ha: Positive = None,
    locaux_half: Positive = None,
    data_dir: DataDir = None,
) -> None:
    """Measure, flag and rank every activity zone.

    Without file options, analyses the store (building the demo territory first if the store is
    empty) and stores the results. With --zones and --premises, analyses those files directly.
    Thresholds and weights default to the settings (GEO_SERVICE_SERVED_THD30_SHARE, ...).
    """
    settings = _settings(data_dir)
    params = settings.analysis_params(
        served_thd30_share=served_thd30_share,
        unserved_bhd8_share=unserved_bhd8_share,
        min_raster_valid_share=min_raster_valid_share,
        priority_weight_gap=weight_gap,
        priority_weight_land=weight_land,
        priority_weight_locaux=weight_locaux,
        priority_land_half_ha=land_half_ha,
        priority_locaux_half=locaux_half,
    )
    files = {"--premises": premises, "--land": land, "--raster": raster, "--communes": communes}
    if zones is not None or any(v is not None for v in files.values()):
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
        with _progress("Analysing") as step:
            result = pipeline.analyze_store(store, params, step)
    _print_result(result, top)
    if out is not None:
        export_results(result, out)
        console.print(f"Zone results written to {out}.")


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParameterError("--date", f"'{text}' is not a date; expected YYYY-MM-DD") from None


def _print_layers(store: Store) -> None:
    table = Table(title=f"Layers ({store.describe()})")
    for column in ("layer", "title", "features", "source", "data date", "licence"):
        table.add_column(column)
    for meta in store.list_layers():
        source = meta.source + (" [synthetic]" if meta.synthetic else "")
        table.add_row(
            meta.name,
            meta.title,
            fr_number(meta.feature_count),
            source,
            str(meta.data_date or "—"),
            meta.licence,
        )
    console.print(table)


def _print_report(report: LayerReport) -> None:
    console.print(
        f"{report.source}: {report.rows_read} rows read, {report.rows_kept} kept, "
        f"{report.repaired} repaired, {report.rows_skipped} skipped."
    )
    _print_warnings(report)


def _print_warnings(report: LayerReport) -> None:
    for warning in report.warnings:
        error_console.print(f"[yellow]Warning:[/] {warning}", highlight=False)


def _print_result(result: AnalysisResult, top: int) -> None:
    zones = result.zones
    if result.run.synthetic:
        console.print("[bold magenta]Synthetic data: demo territory, not real figures.[/]")
    counts = zones["status"].value_counts()
    summary = Table(title=f"{len(zones)} activity zones")
    for column in ("status", "zones", "locaux", "available land"):
        summary.add_column(column, justify="right" if column != "status" else "left")
    for status in ZoneStatus:
        part = zones[zones["status"] == status.value]
        summary.add_row(
            status.value,
            str(int(counts.get(status.value, 0))),
            fr_number(int(part["locaux"].sum())),
            fr_hectares(float(part["available_land_ha"].sum())),
        )
    console.print(summary)
    flagged = result.flagged()
    if len(flagged) == 0 or top == 0:
        return
    shown = min(top, len(flagged))
    console.print(f"\n[bold]Flagged zones by priority (top {shown} of {len(flagged)})[/]")
    for row in flagged.head(top).itertuples():
        share = row.share_thd30 if row.locaux > 0 else row.raster_share_thd30
        console.print(
            f"[bold]{row.rank:>3}. {row.zone_id}[/] {row.name} — {row.status}, "
            f"priority {fr_number(row.priority, 1)}, ≥ 30 Mbit/s: {fr_percent(share)}, "
            f"land: {fr_hectares(row.available_land_ha)}",
            highlight=False,
        )
        for reason in split_reasons(row.reasons):
            console.print(f"       • {reason}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point alias
    """Run the command line."""
    app()
