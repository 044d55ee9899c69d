"""Every HTML surface escapes every data string: a cross-cutting test on a hostile territory.

The store's zone, commune, EPCI and plot names and ids, and the provenance of its layers,
hold markup, event handlers, ``javascript:`` URLs, template syntax and long unicode. Every
page the service renders (landing page, collections, item pages, territory and zone maps,
zone, commune and territory opinions) must show them as text: no payload appears unescaped,
no link or source points at ``javascript:``, no template is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from conftest import X0, Y0, box, point
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.model import CoverageRaster
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
TEMPLATE = "{{7*7}}${7*7}<%= 7*7 %>"
UNICODE = "Zone \u202eévitée\u200b 🚀 " + "é" * 3000
#: What must never appear in a page's markup (data inside the map's script elements is JSON,
#: written so that it cannot close the element, and inserted by the map script as text or as
#: HTML the server escaped: ``tests/test_maps_browser.py`` runs it).
FORBIDDEN = (
    SCRIPT,
    "<img src=x",
    'href="javascript:',
    "href='javascript:",
    'src="javascript:',
    "<%= 7*7 %>",
)
ZONE_IDS = ["Z-SCRIPT", ATTRIBUTE, JS_URL, "{{7*7}}"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a tiny territory whose every text field is hostile."""
    data_dir = tmp_path_factory.mktemp("xss")
    store = GeoPackageStore(data_dir)
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ZONE_IDS,
            "name": [SCRIPT, ATTRIBUTE, UNICODE, TEMPLATE],
            "commune_insee": ["13001", "13001", "13002", "13002"],
            "epci_siren": ["200054807"] * 4,
            "kind": [JS_URL, SCRIPT, "ZAE", ATTRIBUTE],
            "vocation": [TEMPLATE, "mixte", SCRIPT, "mixte"],
            "state": [ATTRIBUTE, "existante", "existante", JS_URL],
        },
        geometry=[
            box(0, 0, 300, 300),
            box(400, 0, 300, 300),
            box(0, 400, 300, 300),
            box(400, 400, 300, 300),
        ],
        crs="EPSG:2154",
    )
    premises = gpd.GeoDataFrame(
        {
            "premises_id": [ATTRIBUTE, SCRIPT, "p3", JS_URL],
            "locaux": [3, 1, 5, 2],
            "down_class": ["HD3", "THD1G", "BHD8", "INEL"],
        },
        geometry=[point(10, 10), point(410, 10), point(10, 410), point(410, 410)],
        crs="EPSG:2154",
    )
    land = gpd.GeoDataFrame(
        {
            "plot_id": [ATTRIBUTE, JS_URL],
            "available": [True, True],
            "status": [SCRIPT, TEMPLATE],
            "source": [JS_URL, UNICODE],
        },
        geometry=[box(20, 20, 50, 50), box(420, 420, 50, 50)],
        crs="EPSG:2154",
    )
    communes = gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002"],
            "name": [SCRIPT, ATTRIBUTE],
            "epci_siren": ["200054807", "200054807"],
            "epci_name": [TEMPLATE, TEMPLATE],
        },
        geometry=[box(-100, -100, 1000, 500), box(-100, 400, 1000, 500)],
        crs="EPSG:2154",
    )
    stations = gpd.GeoDataFrame(
        {"station_id": ["g1"], "name": [SCRIPT], "passengers": [True]},
        geometry=[point(600, 10)],
        crs="EPSG:2154",
    )
    interchanges = gpd.GeoDataFrame(
        {"access_id": ["e1"], "name": [ATTRIBUTE], "road": [TEMPLATE]},
        geometry=[point(900, 10)],
        crs="EPSG:2154",
    )
    stops = gpd.GeoDataFrame(
        {"stop_id": ["s1"], "name": [SCRIPT], "modes": ["bus"], "feed": [TEMPLATE]},
        geometry=[point(50, 150)],
        crs="EPSG:2154",
    )
    for name, frame in (
        ("zones", zones),
        ("premises", premises),
        ("land", land),
        ("communes", communes),
        ("rail_stations", stations),
        ("road_access", interchanges),
        ("transit_stops", stops),
    ):
        canonical, _ = validate_layer(name, frame, f"hostile {name}")
        meta = pipeline.layer_meta(
            name,
            source=f"{SCRIPT} {JS_URL}",
            licence=ATTRIBUTE,
            attribution=TEMPLATE,
            data_date=date(2025, 6, 1),
        )
        store.write_layer(name, canonical, meta)
    raster = CoverageRaster(
        data=np.full((20, 20), 40.0, dtype=np.float32),
        transform=Affine(50, 0, X0 - 100, 0, -50, Y0 + 900),
    )
    store.write_raster("coverage", raster, pipeline.layer_meta("coverage", source=SCRIPT))
    pipeline.analyze_store(store, AnalysisParams())
    app = create_app(Settings(database_url=None, data_dir=data_dir))
    with TestClient(app) as test_client:
        yield test_client


def _segment(value: str) -> str:
    return quote(value, safe="")


def _surfaces() -> list[str]:
    pages = [
        "/?f=html",
        "/collections?f=html",
        "/conformance?f=html",
        "/maps/territory",
        "/maps/territory?embed=1",
        "/maps/territory?commune=13001",
        "/communes/13001/opinion?f=html",
        "/communes/13002/opinion?f=html",
        "/territory/opinion?f=html",
    ]
    for collection in (
        "zones",
        "communes",
        "epcis",
        "land",
        "premises",
        "transit_stops",
        "rail_stations",
        "road_access",
    ):
        pages.append(f"/collections/{collection}?f=html")
        pages.append(f"/collections/{collection}/items?f=html&limit=100")
    for zone_id in ZONE_IDS:
        pages.append(f"/collections/zones/items/{_segment(zone_id)}?f=html")
        pages.append(f"/maps/zones/{_segment(zone_id)}")
        pages.append(f"/maps/zones/{_segment(zone_id)}?embed=1")
        pages.append(f"/zones/{_segment(zone_id)}/opinion?f=html")
    for plot_id in (ATTRIBUTE, JS_URL):
        pages.append(f"/collections/land/items/{_segment(plot_id)}?f=html")
    for premises_id in (ATTRIBUTE, JS_URL):  # an id holding "/" has no URL of its own
        pages.append(f"/collections/premises/items/{_segment(premises_id)}?f=html")
    pages.append("/collections/communes/items/13001?f=html")
    return pages


@pytest.mark.parametrize("url", _surfaces())
def test_every_html_surface_escapes_hostile_data(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert SCRIPT not in page, f"{url} holds {SCRIPT!r} unescaped"
    markup = _outside_scripts(page)
    for payload in FORBIDDEN:
        assert payload not in markup, f"{url} holds {payload!r} unescaped"
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[-1].split(";")[0]


def test_hostile_strings_survive_as_text(client: TestClient) -> None:
    page = client.get(f"/collections/zones/items/{_segment(ATTRIBUTE)}?f=html").text
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    document = client.get(f"/collections/zones/items/{_segment(ATTRIBUTE)}").json()
    assert document["id"] == ATTRIBUTE
    assert document["properties"]["vocation"] == "mixte"
    unicode_zone = client.get(f"/zones/{_segment(JS_URL)}").json()
    assert unicode_zone["name"] == UNICODE
    item = client.get(f"/collections/zones/items/{_segment('{{7*7}}')}?f=html").text
    assert "{{7*7}}${7*7}&lt;%= 7*7 %&gt;" in item
    opinion = client.get(f"/zones/{_segment('{{7*7}}')}/opinion?f=html").text
    assert "{{7*7}}" in opinion


def _outside_scripts(page: str) -> str:
    """``page`` without the contents of its script elements."""
    return re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", page, flags=re.DOTALL)
