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
    assert len(coaches) > 0
    assert coaches["peak_departures"].isna().all()
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
    assert "réseau routier" in opinion.access[-1]
    markdown = render_markdown(opinion)
    assert "\n## 3. Desserte et accessibilité\n" in markdown
    assert "\n## 4. Recommandation\n" in markdown  # numbered on from it
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


def test_the_zone_popup_shows_the_access_class_and_its_facts(result: AnalysisResult) -> None:
    from geo_service.maps.popups import zone_popup

    zones = result.zones.drop(columns="geometry")
    row = zones[zones["transit_stops"] > 0].iloc[0].to_dict()
    popup = zone_popup(row, None, None)
    word = {"good": "bien desservie", "fair": "partiellement desservie", "poor": "mal desservie"}
    assert f'<span data-field="access_class">{word[row["access_class"]]}</span>' in popup
    assert '<td data-field="road_access_km">' in popup
    assert "à vol d&#x27;oiseau" in popup or "à vol d'oiseau" in popup
    unknown = zone_popup({**row, "access_class": "unknown"}, None, None)
    assert "desserte inconnue" in unknown
    assert "gs-access-reasons" not in unknown


def test_here_answers_the_nearest_interchange_station_and_airport(
    analysed_demo_dir: Path,
) -> None:
    from fastapi.testclient import TestClient
    from shapely import Point

    from geo_service.analysis.point import project, what_is_here
    from geo_service.api import create_app
    from geo_service.model import CANONICAL_CRS
    from geo_service.settings import Settings

    store = GeoPackageStore(analysed_demo_dir)
    lon, lat = 5.45, 43.4
    found = pipeline.here(store, lon, lat)
    here = Point(*project(lon, lat, CANONICAL_CRS))
    interchanges = store.read_layer("road_access")
    distances = interchanges.distance(here)
    nearest = interchanges.loc[distances.idxmin()]
    road = found.transport["road_access"]
    assert road is not None
    assert road["name"] == nearest["name"]
    assert road["distance_km"] == pytest.approx(distances.min() / 1000, abs=1e-3)
    stations = store.read_layer("rail_stations")
    passenger = stations[stations["passengers"].astype(bool)]
    station = found.transport["rail_station"]
    assert station is not None
    assert station["name"] == passenger.loc[passenger.distance(here).idxmin(), "name"]
    app_ = create_app(Settings(database_url=None, data_dir=analysed_demo_dir))
    with TestClient(app_) as client:
        served = client.get("/here", params={"lon": lon, "lat": lat}).json()
    assert served["transport"]["road_access"] == pytest.approx(road)
    assert served["transport"]["rail_station"]["name"] == station["name"]
    assert served["transport"]["airport"]["name"] == "Aéroport de démonstration Provence"
    assert what_is_here(lon, lat).transport == {
        "road_access": None,
        "rail_station": None,
        "airport": None,
    }
