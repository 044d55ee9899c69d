"""The demo territory's transport layers, and how the demo's zones are reached."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_service import pipeline
from geo_service.analysis import AnalysisResult, split_reasons
from geo_service.demo import build_demo
from geo_service.demo_transport import demo_transport
from geo_service.model import AccessClass
from geo_service.opinions import OpinionOptions, commune_opinion, territory_synthesis, zone_opinion
from geo_service.opinions.markdown import render_markdown
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer


@pytest.fixture(scope="module")
def result(analysed_demo_dir: Path) -> AnalysisResult:
    return pipeline.load_results(GeoPackageStore(analysed_demo_dir))


def test_the_demo_transport_layers_are_canonical_and_deterministic() -> None:
    territory = build_demo()
    layers = demo_transport(territory, 2154)
    again = demo_transport(territory, 2154)
    assert set(layers) == set(pipeline.TRANSPORT_LAYERS)
    for name, frame in layers.items():
        canonical, report = validate_layer(name, frame, f"demo {name}")
        assert len(canonical) == len(frame) > 0, name
        assert not report.warnings, (name, report.warnings)
        assert frame.equals(again[name]), name
    stops = layers["transit_stops"]
    # A feed without service days: departures unknown (null), never 0.
    coaches = stops[stops["feed"] == "demo-cars"]
    assert len(coaches) > 0 and coaches["peak_departures"].isna().all()
    assert stops[stops["feed"] != "demo-cars"]["peak_departures"].notna().all()
    assert {"bus", "tram", "train", "coach"} == set(stops["modes"])
    assert not layers["rail_stations"]["passengers"].all()
    assert set(layers["hubs"]["kind"]) == {"airport", "aerodrome"}


def test_the_stored_demo_is_analysed_with_its_transport(result: AnalysisResult) -> None:
    zones = result.zones
    classes = set(zones["access_class"])
    assert {AccessClass.GOOD, AccessClass.FAIR, AccessClass.POOR} <= classes
    assert zones["road_access_km"].notna().all()
    assert zones["airport_name"].eq("Aéroport de démonstration Provence").all()
    # Some zones have stops whose departures are unknown: counted, but not as 0 departures.
    unknown = zones[zones["transit_stops_unknown"] > 0]
    assert len(unknown) > 0
    only_unknown = unknown[unknown["transit_stops"] == unknown["transit_stops_unknown"]]
    assert only_unknown["transit_peak_departures"].isna().all()
    communes = result.communes
    counted = sum(communes[f"zones_access_{a.value}"].sum() for a in AccessClass)
    assert counted == zones["commune_insee"].notna().sum()


def test_the_zone_opinion_has_its_access_section(result: AnalysisResult) -> None:
    row = result.zones.iloc[0]
    opinion = zone_opinion(result, str(row["zone_id"]), OpinionOptions())
    assert opinion.access[0].startswith("Au regard des seuils retenus, la zone est «")
    for reason in split_reasons(row["access_reasons"]):
        assert f"{reason}." in opinion.access
    assert any("à vol d'oiseau" in p for p in opinion.access)
    assert "Données de transport" in opinion.access[-1]
    markdown = render_markdown(opinion)
    assert "## Accès et transports" in markdown
    assert opinion.figure("road_access_km").value == pytest.approx(row["road_access_km"])


def test_commune_and_territory_opinions_count_the_zones_by_access(
    result: AnalysisResult,
) -> None:
    territory = territory_synthesis(result, OpinionOptions())
    total = len(result.zones)
    assert territory.access[0].startswith(f"Desserte par les transports des {total} zones")
    insee = str(result.communes["commune_insee"].iloc[0])
    commune = commune_opinion(result, insee, OpinionOptions())
    assert commune.access[0].startswith("Desserte par les transports des ")
    flagged_poor = result.zones[
        result.zones["rank"].notna() & (result.zones["access_class"] == "poor")
    ]
    if len(flagged_poor):
        assert any(str(flagged_poor["zone_id"].iloc[0]) in p for p in territory.access)
    else:
        assert "Aucune zone ne cumule" in territory.access[1]
