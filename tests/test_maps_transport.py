"""The transport layers of the territory map."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
from conftest import point

from geo_service.maps.transport import FACILITY_STYLES, facility_layers, legend_section
from geo_service.model import CANONICAL_CRS

SCRIPT = "<script>alert(1)</script>"


def test_stops_are_sized_by_departures_and_pale_when_unknown() -> None:
    stops = gpd.GeoDataFrame(
        {
            "stop_id": ["a", "b", "c"],
            "name": ["Gare routière", SCRIPT, "Loin"],
            "modes": ["bus,tram", "coach", "bus"],
            "peak_departures": pd.array([16, None, 0], dtype="Int64"),
        },
        geometry=[point(0, 0), point(100, 0), point(200, 0)],
        crs=CANONICAL_CRS,
    )
    stations = gpd.GeoDataFrame(
        {"station_id": ["g1", "g2"], "name": ["Voyageurs", "Fret"], "passengers": [True, False]},
        geometry=[point(0, 500), point(0, 900)],
        crs=CANONICAL_CRS,
    )
    (stop_layer, station_layer) = facility_layers(
        {"transit_stops": stops, "rail_stations": stations}
    )
    props = [f["properties"] for f in json.loads(stop_layer.json)["features"]]
    assert props[0]["t"] == "Arrêt Gare routière (bus, tramway) · 16 départs de 7 h à 9 h"
    assert props[0]["r"] == 7.0
    assert props[0]["u"] == 0
    assert props[1]["u"] == 1
    assert "inconnus" in props[1]["t"]
    assert "<script>" not in props[1]["t"]
    assert "&lt;script&gt;" in props[1]["t"]
    assert props[2]["r"] == FACILITY_STYLES["transit_stops"].radius
    # The freight-only station is not drawn.
    assert station_layer.count == 1
    assert legend_section(station_layer)["entries"][0]["label"] == "Gare ouverte aux voyageurs (1)"


def test_the_territory_map_offers_the_demo_transport_layers_off(analysed_demo_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from geo_service.api import create_app
    from geo_service.settings import Settings

    app = create_app(Settings(database_url=None, data_dir=analysed_demo_dir))
    with TestClient(app) as client:
        page = client.get("/maps/territory").text
    assert page.count("GeoServiceMap.facilities(") == len(FACILITY_STYLES)
    for drawn in FACILITY_STYLES.values():
        assert json.dumps(drawn.name)[1:-1] in page or drawn.name in page
    # Every transport layer starts hidden: none is added to the map when it opens.
    names = re.findall(r"var (script_layer_\w+) = GeoServiceMap\.facilities\(", page)
    assert len(names) == len(FACILITY_STYLES)
    for name in names:
        assert f"{name}.addTo(" not in page


def test_the_zone_map_shows_the_stops_around_the_zone(analysed_demo_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from geo_service import pipeline
    from geo_service.api import create_app
    from geo_service.settings import Settings
    from geo_service.store import GeoPackageStore

    zones = pipeline.load_results(GeoPackageStore(analysed_demo_dir)).zones
    served = zones[zones["transit_stops"] > 0].iloc[0]
    app = create_app(Settings(database_url=None, data_dir=analysed_demo_dir))
    with TestClient(app) as client:
        page = client.get(f"/maps/zones/{served['zone_id']}").text
    names = re.findall(r"var (script_layer_\w+) = GeoServiceMap\.facilities\(", page)
    assert names  # at least the stops near the zone
    assert f"{names[0]}.addTo(" in page  # on when the zone map opens
    assert "Arrêt (taille : départs de 7 h à 9 h)" in page or "Arr\\u00eat" in page
