"""The registry of result fields agrees with what the analysis computes and what is served."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import box, point

from geo_service import pipeline
from geo_service.analysis import analyze
from geo_service.analysis.fields import (
    RESULT_FIELDS,
    ZONE_FIELDS,
    ZONE_RESULT_COLUMNS,
    ResultField,
    core,
    descriptor_columns,
    field_of,
)
from geo_service.analysis.history import history_of, with_history
from geo_service.api.collections import COLLECTIONS
from geo_service.catalog import descriptor
from geo_service.model import CANONICAL_CRS
from geo_service.sources.arcep_communes import COMMUNE_COVERAGE_COLUMNS
from geo_service.store import GeoPackageStore

LAYER_FRAMES = {
    pipeline.ZONE_RESULTS: "zones",
    pipeline.COMMUNE_RESULTS: "communes",
    pipeline.EPCI_RESULTS: "epcis",
}


def _attributes(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if c != "geometry"]


def _undeclared(frame: pd.DataFrame, fields: tuple[ResultField, ...]) -> list[str]:
    return [c for c in _attributes(frame) if field_of(fields, c) is None]


def _absent(frame: pd.DataFrame, fields: tuple[ResultField, ...]) -> list[str]:
    return [f.name for f in fields if not any(f.matches(c) for c in _attributes(frame))]


def test_every_demo_result_column_is_declared_and_every_core_field_computed(
    analysed_demo_dir: Path,
) -> None:
    result = pipeline.load_results(GeoPackageStore(analysed_demo_dir))
    for layer, attribute in LAYER_FRAMES.items():
        frame = getattr(result, attribute)
        fields = RESULT_FIELDS[layer]
        assert _undeclared(frame, fields) == [], layer
        assert _absent(frame, core(fields)) == [], layer


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002"],
            "name": ["Une", "Deux"],
            "epci_siren": ["200054807", "200054807"],
            "population": [100, 200],
        },
        geometry=[box(-100, -100, 350, 700), box(250, -100, 400, 700)],
        crs=CANONICAL_CRS,
    )


def test_optional_layers_bring_exactly_their_declared_fields(zones, premises, communes) -> None:
    mobile_coverage = gpd.GeoDataFrame(
        {
            "operator_code": ["20801"],
            "operator": ["Orange"],
            "techno": ["4G"],
            "usage": ["data"],
            "level": ["TBC"],
        },
        geometry=[box(-50, -50, 200, 200)],
        crs=CANONICAL_CRS,
    )
    mobile_sites = gpd.GeoDataFrame(
        {"operator_code": ["20801"], "site_4g": pd.array([True], dtype="boolean")},
        geometry=[point(50, 50)],
        crs=CANONICAL_CRS,
    )
    rows = [{"commune_insee": "13002", "share_bhd8": 0.3, "share_thd30": 0.2, "period": "T1 2026"}]
    figures = pd.DataFrame(rows).reindex(columns=list(COMMUNE_COVERAGE_COLUMNS))
    commune_coverage = gpd.GeoDataFrame(figures, geometry=[None], crs=CANONICAL_CRS)
    result = analyze(
        zones,
        premises,
        communes=communes,
        mobile_coverage=mobile_coverage,
        mobile_sites=mobile_sites,
        commune_coverage=commune_coverage,
    )
    # The history analysis brings the history fields (here over two vintages).
    result = with_history(result, history_of({"2025-T4": result, "2026-T1": result}), None)
    for layer, attribute in LAYER_FRAMES.items():
        frame = getattr(result, attribute)
        fields = RESULT_FIELDS[layer]
        assert _undeclared(frame, fields) == [], layer
        assert _absent(frame, fields) == [], layer


def test_the_zone_result_columns_are_the_core_zone_fields_in_order(zones, premises) -> None:
    assert tuple(f.name for f in core(ZONE_FIELDS)) == ZONE_RESULT_COLUMNS
    assert _attributes(analyze(zones, premises).zones) == list(ZONE_RESULT_COLUMNS)


def test_field_names_are_unique_per_layer() -> None:
    for layer, fields in RESULT_FIELDS.items():
        names = [f.name for f in fields]
        assert len(names) == len(set(names)), layer


def test_result_layer_descriptors_list_every_field() -> None:
    for layer, fields in RESULT_FIELDS.items():
        columns = descriptor(layer).columns
        assert columns == descriptor_columns(layer)
        assert len(columns) == len(fields)
        assert all(columns.values())


def test_the_api_serves_every_core_field_as_declared() -> None:
    for collection_id, layer in (
        ("zones", pipeline.ZONE_RESULTS),
        ("communes", pipeline.COMMUNE_RESULTS),
        ("epcis", pipeline.EPCI_RESULTS),
    ):
        spec = COLLECTIONS[collection_id]
        assert spec.layer == layer
        served = {p.name: p for p in spec.properties}
        for field in core(RESULT_FIELDS[layer]):
            prop = served[field.name]
            assert (prop.type, prop.description) == (field.dtype, field.description)
            assert (prop.queryable, prop.sortable, prop.enum) == (
                field.queryable,
                field.sortable,
                field.enum,
            )


def test_thresholds_are_declared_once_for_the_cli_and_the_write_api() -> None:
    from typer.main import get_command
    from typer.testing import CliRunner

    from geo_service.api.write import AnalysisRequest
    from geo_service.cli import app
    from geo_service.settings import AnalysisFields, analysis_bounds, analysis_flag

    analyze_command = get_command(app).commands["analyze"]  # type: ignore[attr-defined]
    options = {p.name: p for p in analyze_command.params}
    for name, info in AnalysisFields.model_fields.items():
        option = options[name]
        assert option.opts == [analysis_flag(name)]
        assert info.description is not None
        assert info.description in option.help
        above = str(analysis_bounds(name)["le"] * 2)
        refused = CliRunner().invoke(app, ["analyze", analysis_flag(name), above])
        assert refused.exit_code == 2
        assert analysis_flag(name) in refused.output
        requested = AnalysisRequest.model_fields[name]
        assert requested.description == info.description
        assert requested.default is None
    assert set(AnalysisRequest.model_fields) == set(AnalysisFields.model_fields)


def test_a_declared_key_figure_reaches_the_popup_and_the_opinion(
    analysed_demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo_service.analysis import fields
    from geo_service.maps.popups import zone_popup
    from geo_service.opinions import OpinionOptions, zone_opinion

    extra = ResultField(
        "locaux_per_ha",
        "number",
        "Locaux per hectare of the zone.",
        "Locaux par hectare",
        "Nombre de locaux par hectare de la zone",
        fields.Format.NUMBER,
        "locaux/ha",
        figure=True,
    )
    monkeypatch.setattr(fields, "ZONE_FIELDS", (*fields.ZONE_FIELDS, extra))
    result = pipeline.load_results(GeoPackageStore(analysed_demo_dir))
    zones = result.zones.assign(locaux_per_ha=result.zones["locaux"] / result.zones["area_ha"])
    result = type(result)(zones=zones, communes=result.communes, epcis=result.epcis, run=result.run)
    row = zones.iloc[0].to_dict()
    shown = fields.format_value(extra, float(row["locaux_per_ha"]))
    popup = zone_popup(row, None, None)
    assert f'<th>Locaux par hectare</th><td data-field="locaux_per_ha">{shown}</td>' in popup
    opinion = zone_opinion(result, str(row["zone_id"]), OpinionOptions())
    figure = next(f for f in opinion.key_figures if f.column == "locaux_per_ha")
    assert (figure.label, figure.text, figure.unit) == ("Locaux par hectare", shown, "locaux/ha")
    assert figure.value == pytest.approx(row["locaux_per_ha"])
    without = zone_popup({**row, "locaux_per_ha": float("nan")}, None, None)
    assert "locaux_per_ha" not in without  # unknown: not shown


def test_a_computed_but_undeclared_zone_column_is_refused(
    zones, premises, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geo_service.analysis as analysis

    real = analysis.available_land

    def with_surprise(*args: object, **kwargs: object) -> pd.DataFrame:
        return real(*args, **kwargs).assign(surprise=1.0)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "available_land", with_surprise)
    with pytest.raises(RuntimeError, match="surprise computed but not declared"):
        analyze(zones, premises)


def test_import_options_are_declared_once_for_the_cli_and_the_upload_form() -> None:
    from typer.main import get_command

    from geo_service.api.write import UPLOAD_FIELDS
    from geo_service.cli import app
    from geo_service.sources.formats import IMPORT_OPTIONS, ImportOptions, import_options

    import_command = get_command(app).commands["import"]  # type: ignore[attr-defined]
    options = {p.name: p for p in import_command.params}
    for option in IMPORT_OPTIONS:
        served = options[f"option_{option.name}"]
        assert served.opts[0] == option.cli_option.split("/")[0]
        assert served.help == option.help
        assert option.help[1:] in UPLOAD_FIELDS[option.form_field]
    assert list(UPLOAD_FIELDS) == [o.form_field for o in IMPORT_OPTIONS]
    fetch_command = get_command(app).commands["fetch"]  # type: ignore[attr-defined]
    fetched = {p.name: p for p in fetch_command.params if p.name.startswith("option_")}
    assert set(fetched) == {"option_include_satellite", "option_wired_only"}
    for option in IMPORT_OPTIONS:
        if f"option_{option.name}" in fetched:
            assert fetched[f"option_{option.name}"].help == option.help
    of_format = {o.name for o in IMPORT_OPTIONS if o.of_format}
    # from the settings (bounds) and the store (its communes), not given per import
    internal = {"max_raster_pixels", "max_features", "stored_communes"}
    assert of_format == set(ImportOptions.__dataclass_fields__) - internal
    built = import_options({"crs": "EPSG:2154", "wired_only": True, "append": True}, 7)
    assert (built.crs, built.wired_only, built.max_raster_pixels) == ("EPSG:2154", True, 7)


def test_opinion_key_figures_are_labelled_and_written_as_the_registry_says(
    analysed_demo_dir: Path,
) -> None:
    from geo_service.analysis.fields import COMMUNE_FIELDS, format_value, summary_figures
    from geo_service.opinions import OpinionOptions, commune_opinion, zone_opinion
    from geo_service.opinions.territory import territory_synthesis
    from geo_service.opinions.wording import priority_text

    result = pipeline.load_results(GeoPackageStore(analysed_demo_dir))
    options = OpinionOptions()
    opinions = [
        *(zone_opinion(result, str(z), options) for z in result.zones["zone_id"][:12]),
        *(commune_opinion(result, str(c), options) for c in result.communes["commune_insee"]),
        territory_synthesis(result, options),
    ]
    for opinion in opinions:
        fields = ZONE_FIELDS if opinion.kind == "zone" else COMMUNE_FIELDS
        for figure in opinion.key_figures:
            field = field_of(fields, figure.column)
            if field is None or figure.column == "rank":
                continue  # a sum over the flagged zones, or the rank "n sur N"
            assert figure.label == field.label, (opinion.subject, figure.column)
            value = figure.value if isinstance(figure.value, int | float) else None
            expected = (
                priority_text(value)
                if field.format == "priority" and value is not None
                else format_value(field, value)
            )
            assert figure.text == expected, (opinion.subject, figure.column)
        if opinion.kind != "zone":
            columns = {f.column for f in opinion.key_figures}
            summary = {f.name for f in summary_figures(COMMUNE_FIELDS) if f.format != "share"}
            assert summary <= columns, opinion.subject
            labels = [f.label for f in opinion.key_figures]
            assert {"Zones bien desservies", "Zones non desservies"} <= set(labels)
            assert "Zones signalées" in labels


def test_popup_measures_are_labelled_and_written_as_the_registry_says(
    analysed_demo_dir: Path,
) -> None:
    from html import escape

    from geo_service.analysis.fields import ZONE_MEASURES, format_value, zone_field
    from geo_service.maps.popups import zone_popup

    result = pipeline.load_results(GeoPackageStore(analysed_demo_dir))
    rows = result.zones.drop(columns="geometry").to_dict("records")
    row = next(r for r in rows if r["status_basis"] == "premises")
    popup = zone_popup(row, None, None)
    for name in ZONE_MEASURES:
        field = zone_field(name)
        raw = row[name]
        shown = format_value(field, None if pd.isna(raw) else float(raw))
        cell = f'<th>{escape(field.label)}</th><td data-field="{name}">{escape(shown)}</td>'
        assert cell in popup, name
    unknown = zone_popup({**row, "share_thd30": float("nan")}, None, None)
    assert '<td data-field="share_thd30">—</td>' in unknown  # unknown, never 0 %


def test_drive_times_read_in_whole_minutes_everywhere() -> None:
    """Key-figure tables read « temps de trajet (min) : 19,0 » beside a sentence saying
    « 19 min »: a drive time is written in whole minutes, with its unit, on every surface."""
    from geo_service.analysis.fields import ZONE_FIELDS, format_value
    from geo_service.analysis.transport import access_sentences
    from geo_service.settings import AnalysisParams

    drives = [f for f in ZONE_FIELDS if f.name.endswith("_drive_min")]
    assert len(drives) == 3
    for field in drives:
        assert "(min)" not in field.label
        assert format_value(field, 18.96) == "19\u202fmin"
        assert format_value(field, 0.3) == "moins d'1\u202fmin"
        assert format_value(field, 0.0) == "0\u202fmin"
        assert format_value(field, None) == "—"
    row: dict[str, object] = {f.name: None for f in ZONE_FIELDS}
    row.update(road_access_km=12.6, road_access_road_km=16.9, road_access_drive_min=18.96)
    (road, *_) = access_sentences(row, AnalysisParams())
    assert road.endswith("(le plus proche par la route : 16,9\u202fkm, 19\u202fmin)"), road


def test_one_name_per_zone_status_on_every_surface() -> None:
    # The maps and the CLI said « Statut inconnu » where the opinions, the result labels and the
    # HTML items said « indéterminée »: one status, one name, from model.STATUS_WORDS.
    from geo_service.analysis.fields import zone_field
    from geo_service.maps.style import STATUS_LABELS
    from geo_service.model import STATUS_WORDS, ZoneStatus
    from geo_service.opinions.wording import status_label

    value_labels = dict(zone_field("status_previous").value_labels or ())
    for status in ZoneStatus:
        word = STATUS_WORDS[status][0]
        assert STATUS_LABELS[status] == word.capitalize()
        assert value_labels[str(status)] == word
        assert status_label(status) == word
