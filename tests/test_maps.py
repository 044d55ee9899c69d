"""The map documents: layers, legend, popups against the analysis, escaping, offline assets,
URL filters, embed mode, self-contained export (the browser tests are in test_maps_browser)."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from jinja2.utils import htmlsafe_json_dumps
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.analysis import AnalysisResult, split_reasons
from geo_service.api import create_app
from geo_service.cli import app as cli_app
from geo_service.errors import NotFoundError, ParameterError
from geo_service.formatting import NNBSP, fr_hectares, fr_number, fr_percent
from geo_service.maps import style
from geo_service.maps.assets import ALL_ASSETS, AssetMode, asset_file
from geo_service.maps.geojson import packed_layer, script_json
from geo_service.maps.layers import coarsen_hexagons, hexagon_layer, zone_styles
from geo_service.maps.page import PageOptions
from geo_service.maps.service import export_map, territory_page, territory_view
from geo_service.maps.view import TerritoryView, parse_commune, parse_statuses
from geo_service.model import ZoneStatus
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer
from geo_service.workspace import Workspace
from tests.conftest import box, point

EVIL = "<img src=x onerror=alert(1)>"
EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)


# -- helpers ------------------------------------------------------------------------------
def script_argument(page: str, factory: str, index: int = 0) -> Any:
    """The JSON data argument of the ``index``-th ``GeoServiceMap.<factory>(map, data, ...)``."""
    calls = [m.end() for m in re.finditer(rf"GeoServiceMap\.{factory}\(\s*map_\w+,\s*", page)]
    value, _ = json.JSONDecoder().raw_decode(page, calls[index])
    return value


def script_config(page: str, factory: str, index: int = 0) -> Any:
    """The config argument (after the data) of the ``index``-th ``GeoServiceMap.<factory>``."""
    calls = [m.end() for m in re.finditer(rf"GeoServiceMap\.{factory}\(\s*map_\w+,\s*", page)]
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(page, calls[index])
    start = re.compile(r"\s*,\s*").match(page, end)
    assert start is not None
    value, _ = decoder.raw_decode(page, start.end())
    return value


def count_calls(page: str, factory: str) -> int:
    """How many times the page calls ``GeoServiceMap.<factory>``."""
    return len(re.findall(rf"GeoServiceMap\.{factory}\(", page))


def popup_fields(popup: str) -> dict[str, str]:
    """``data-field`` → displayed text of a popup's figure cells."""
    return {
        field: html.unescape(value)
        for field, value in re.findall(r'data-field="(\w+)">([^<]*)<', popup)
    }


def unpack(layer: dict[str, Any]) -> list[list[list[list[float]]]]:
    """Decode a packed layer (see ``packed_layer``) into [lon, lat] rings per feature."""
    scale = layer["scale"]
    x = y = 0
    features = []
    for polygons in layer["g"]:
        out = []
        for rings in polygons:
            decoded = []
            for flat in rings:
                ring = []
                for dx, dy in zip(flat[::2], flat[1::2], strict=True):
                    x, y = x + dx, y + dy
                    ring.append([x / scale, y / scale])
                decoded.append(ring)
            out.append(decoded)
        features.append(out)
    return features


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def settings(analysed_demo_dir: Path) -> Settings:
    """Settings of the shared analysed demo store."""
    return Settings(database_url=None, data_dir=analysed_demo_dir, basemap="none")


@pytest.fixture(scope="module")
def workspace(settings: Settings) -> Workspace:
    """A workspace on the shared demo store."""
    return Workspace(settings)


@pytest.fixture(scope="module")
def result(workspace: Workspace) -> AnalysisResult:
    """The demo analysis."""
    return workspace.results()


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    """A client of the app serving the demo store."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def territory(client: TestClient) -> str:
    """The served territory page."""
    response = client.get("/maps/territory")
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A store whose zone A is named ``<img src=x onerror=alert(1)>``, and its app."""
    data_dir = tmp_path_factory.mktemp("evil")
    store = GeoPackageStore(data_dir)
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ["A", "B"],
            "name": [EVIL, 'Zone "B" & <b>co</b>'],
            "commune_insee": ["13001", "13001"],
            "kind": ["ZA", "<script>alert(2)</script>"],
        },
        geometry=[box(0, 0, 100, 100), box(200, 0, 100, 100)],
        crs="EPSG:2154",
    )
    premises = gpd.GeoDataFrame(
        {"premises_id": ["p1", "p2"], "locaux": [3, 1], "down_class": ["HD3", "THD1G"]},
        geometry=[point(10, 10), point(210, 10)],
        crs="EPSG:2154",
    )
    land = gpd.GeoDataFrame(
        {"plot_id": ["l1"], "available": [True], "source": [EVIL], "status": ["<i>dispo</i>"]},
        geometry=[box(20, 20, 30, 30)],
        crs="EPSG:2154",
    )
    for name, frame in (("zones", zones), ("premises", premises), ("land", land)):
        canonical, _ = validate_layer(name, frame, f"test {name}")
        store.write_layer(
            name, canonical, pipeline.layer_meta(name, source=f"{EVIL} source", licence=EVIL)
        )
    pipeline.analyze_store(store, AnalysisParams())
    app = create_app(Settings(database_url=None, data_dir=data_dir))
    with TestClient(app) as test_client:
        yield test_client


# -- the territory map --------------------------------------------------------------------
def test_territory_has_every_layer_and_control(territory: str, result: AnalysisResult) -> None:
    for factory in ("zones", "hexes", "land", "communes", "raster"):
        assert count_calls(territory, factory) == 1, factory
    for control in ("legend", "search", "fullscreen", "sources"):
        assert count_calls(territory, control) == 1, control
    assert "L.control.layers(" in territory
    for name in (
        "Zones d'activités par statut",
        "Foncier économique disponible",
        "Couverture : locaux à ≥\u202f30\u202fMbit/s (hexagones H3)",
        "Couverture : raster du débit maximal",
        "Limites communales",
    ):
        assert htmlsafe_json_dumps(name) in territory
    zones = script_argument(territory, "zones")
    assert len(zones["features"]) == len(result.zones)
    assert {f["properties"]["s"] for f in zones["features"]} == set(result.zones["status"])
    assert ".fitBounds(" in territory
    assert '<html lang="fr">' in territory


def test_legend_names_every_status_with_the_run_thresholds(territory: str) -> None:
    legend = script_argument(territory, "legend", 0)
    sections = {s["title"]: s for s in legend["sections"]}
    statuses = sections["Statut des zones d'activités"]
    labels = [e["label"] for e in statuses["entries"]]
    assert labels[0].startswith("Non desservie")
    assert "50\u202f%" in labels[0]
    assert any(label.startswith("Bien desservie") and "95\u202f%" in label for label in labels)
    assert statuses["layer"] == "zones"
    flagged = [e for e in statuses["entries"] if e["thick"]]
    assert len(flagged) == 2  # underserved and unserved are outlined
    assert {"Foncier", "Débit maximal (raster de couverture)"} <= set(sections)
    hexes = next(s for s in sections.values() if s["layer"] == "hexagons")
    assert hexes["entries"][-1]["label"] == "95\u202f% et plus"


def test_swatches_are_the_layers_colours_as_drawn(territory: str) -> None:
    """Each swatch is its layer's colour blended with the opacity the layer is drawn with
    (the pixels are compared in Chromium by test_maps_browser)."""
    legend = {s["layer"]: s for s in script_argument(territory, "legend", 0)["sections"]}
    assert script_config(territory, "hexes")["opacity"] == style.HEXAGON_OPACITY
    assert script_config(territory, "raster")["opacity"] == style.RASTER_OPACITY
    ramp = style.COVERAGE_RAMP[-5:]
    assert [e["fill"] for e in legend["hexagons"]["entries"]] == [
        style.seen(c, style.HEXAGON_OPACITY) for c in ramp
    ]
    assert [e["fill"] for e in legend["raster"]["entries"]] == [
        style.seen(c, style.RASTER_OPACITY) for c in style.COVERAGE_RAMP
    ]
    statuses = [e["fill"] for e in legend["zones"]["entries"]]
    assert statuses == [style.STATUS_COLOURS[s].lower() for s in style.STATUS_ORDER]  # opaque
    assert all(v["fillOpacity"] == style.ZONE_OPACITY == 1 for v in zone_styles().values())
    for index in range(count_calls(territory, "facilities")):  # transport layers
        config = script_config(territory, "facilities", index)
        assert config["opacity"] == style.FACILITY_OPACITY
        assert style.seen(config["colour"], style.FACILITY_OPACITY) in {
            e["fill"] for section in legend.values() for e in section["entries"]
        }
    css = (Path(style.__file__).parent / "static" / "geo-service-map.css").read_text("utf-8")
    assert f"background: {style.MAP_BACKGROUND};" in css  # what the translucent layers cover


def test_popups_show_the_analysis_figures(territory: str, result: AnalysisResult) -> None:
    features = {
        f["properties"]["id"]: f["properties"]
        for f in script_argument(territory, "zones")["features"]
    }
    flagged = result.flagged()
    checked = 0
    for row in flagged[flagged["locaux"] > 0].head(5).itertuples():
        popup = features[row.zone_id]["p"]
        fields = popup_fields(popup)
        assert fields["share_thd30"] == fr_percent(row.share_thd30)
        assert fields["share_bhd8"] == fr_percent(row.share_bhd8)
        assert fields["locaux"] == fr_number(row.locaux)
        assert fields["premises"] == fr_number(row.premises)
        assert fields["area_ha"] == fr_hectares(row.area_ha)
        assert fields["available_land_ha"] == fr_hectares(row.available_land_ha)
        assert fields["priority"] == fr_number(row.priority, 1)
        assert fields["rank"] == str(int(row.rank))
        for reason in split_reasons(row.reasons):
            assert html.escape(reason, quote=False) in popup
        assert f'href="/collections/zones/items/{row.zone_id}"' in popup
        assert f'href="/zones/{row.zone_id}/opinion"' in popup
        assert f'href="/maps/zones/{row.zone_id}"' in popup
        checked += 1
    assert checked == 5


def test_tooltips_and_search_keys(territory: str, result: AnalysisResult) -> None:
    row = result.zones.iloc[0]
    feature = script_argument(territory, "zones")["features"][0]["properties"]
    assert html.escape(row["name"], quote=False) in feature["t"]
    assert row["zone_id"].lower() in feature["q"]
    assert feature["q"] == feature["q"].lower()


def test_synthetic_data_and_sources_are_stated(territory: str, result: AnalysisResult) -> None:
    sources = script_argument(territory, "sources", 0)
    assert "Données fictives" in sources["notice"]
    assert len(sources["items"]) == len(result.run.inputs) + 1
    assert any("1er janvier 2026" in item for item in sources["items"])
    assert sources["attributions"] == ["geo-service — données fictives"]
    assert "données fictives" in territory.split("<body>")[1].split("<script>")[0]


def test_territory_page_is_offline(territory: str, client: TestClient) -> None:
    assert not EXTERNAL_URL.search(territory)
    linked = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', territory)
    assert sorted(linked) == sorted(f"/assets/{n}" for n in ALL_ASSETS if "markercluster" not in n)
    for url in linked:
        assert client.get(url).status_code == 200, url
    css = client.get("/assets/leaflet/leaflet.css").text
    for image in re.findall(r"url\((images/[^)]+)\)", css):
        assert client.get(f"/assets/leaflet/{image}").status_code == 200
    assert "text/javascript" in client.get("/assets/leaflet/leaflet.js").headers["content-type"]


@pytest.mark.parametrize(
    "name",
    [
        "leaflet/../../../etc/passwd",
        "leaflet/%2e%2e/%2e%2e/etc/passwd",
        "geo-service/../territory.py",
        "nope/leaflet.js",
        "leaflet/",
        "leaflet/data",
        "leaflet/leaflet.py",
        "geo-service/.hidden.js",
    ],
)
def test_assets_refuse_anything_but_bundle_files(client: TestClient, name: str) -> None:
    assert client.get(f"/assets/{name}").status_code == 404
    with pytest.raises(NotFoundError):
        asset_file(name.replace("%2e", "."))


def test_basemap_is_a_setting_with_attribution(client: TestClient) -> None:
    page = client.get("/maps/territory", params={"basemap": "ign-plan"})
    assert page.status_code == 200
    assert "data.geopf.fr/wmts" in page.text
    assert "PLANIGNV2" in page.text
    assert "Plan IGN v2" in page.text
    assert "https://data.geopf.fr" in page.headers["content-security-policy"]
    osm = client.get("/maps/territory", params={"basemap": "osm"})
    assert "tile.openstreetmap.org" in osm.text
    assert "OpenStreetMap" in osm.text
    assert client.get("/maps/territory", params={"basemap": "google"}).status_code == 400


# -- filters ------------------------------------------------------------------------------
def test_status_filter_keeps_only_those_zones(client: TestClient, result: AnalysisResult) -> None:
    page = client.get("/maps/territory", params={"status": "underserved"}).text
    features = script_argument(page, "zones")["features"]
    expected = result.zones[result.zones["status"] == "underserved"]
    assert len(features) == len(expected) > 0
    assert {f["properties"]["s"] for f in features} == {"underserved"}
    both = client.get("/maps/territory", params={"status": "underserved,unserved"}).text
    assert len(script_argument(both, "zones")["features"]) == int(
        result.zones["status"].isin(["underserved", "unserved"]).sum()
    )
    assert "<title>Zones d&#x27;activités : mal desservie</title>" in page


def test_commune_filter_keeps_that_commune(client: TestClient, result: AnalysisResult) -> None:
    code = str(result.zones["commune_insee"].value_counts().index[0])
    page = client.get("/maps/territory", params={"commune": code}).text
    ids = {f["properties"]["id"] for f in script_argument(page, "zones")["features"]}
    assert ids == set(result.zones.loc[result.zones["commune_insee"] == code, "zone_id"])
    communes = script_argument(page, "communes")["features"]
    assert [f["properties"]["c"] for f in communes if f["properties"]["h"]] == [code]
    assert f'<option value="{code}" selected>' in page


def test_filters_that_match_nothing_say_so(client: TestClient, result: AnalysisResult) -> None:
    code = str(result.zones["commune_insee"].iloc[0])
    statuses = set(result.zones.loc[result.zones["commune_insee"] == code, "status"])
    missing = next(s.value for s in ZoneStatus if s.value not in statuses)
    page = client.get("/maps/territory", params={"commune": code, "status": missing}).text
    assert script_argument(page, "zones")["features"] == []
    assert "Aucune zone ne correspond aux filtres." in page


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "bad"}, "status"),
        ({"status": "served,<b>"}, "status"),
        ({"commune": "1300"}, "commune"),
        ({"embed": "maybe"}, "embed"),
        ({"zoom": "3"}, "zoom"),
    ],
)
def test_invalid_filters_are_400_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/maps/territory", params=params)
    assert response.status_code == 400
    assert parameter in response.json()["description"]


def test_parse_filters() -> None:
    assert parse_statuses(None) == ()
    assert parse_statuses(" unserved , underserved,unserved") == ("unserved", "underserved")
    with pytest.raises(ParameterError, match="status"):
        parse_statuses("served,good")
    assert parse_commune("2a004", {"2A004": "Ajaccio"}) == "2A004"
    assert parse_commune("", {}) is None
    with pytest.raises(ParameterError, match="commune"):
        parse_commune("13-01", {"13001": "x"})
    with pytest.raises(NotFoundError, match="no commune 13002"):
        parse_commune("13002", {"13001": "x"})


# -- embed mode and framing ---------------------------------------------------------------
def test_embed_mode_is_chrome_free(client: TestClient, territory: str) -> None:
    assert '<header class="gs-header">' in territory
    assert 'id="gs-embed-code"' in territory
    assert "GeoServiceMap.page(" in territory
    embedded = client.get("/maps/territory", params={"embed": "1", "status": "unserved"})
    assert embedded.status_code == 200
    assert "gs-header" not in embedded.text.split("<body>")[1]
    assert "gs-embed-code" not in embedded.text
    assert 'collapsed": true' in embedded.text.replace(" ", "") or '"collapsed":true' in (
        embedded.text.replace(" ", "").replace("\n", "")
    )
    assert len(script_argument(embedded.text, "zones")["features"]) > 0


def test_frame_ancestors_are_configurable(client: TestClient, analysed_demo_dir: Path) -> None:
    policy = client.get("/maps/territory").headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy
    assert "default-src 'none'" in policy
    assert "img-src 'self' data:" in policy
    settings = Settings(
        database_url=None,
        data_dir=analysed_demo_dir,
        frame_ancestors="'self' https://www.cci.example",
    )
    with TestClient(create_app(settings)) as other:
        headers = other.get("/maps/territory?embed=1").headers
    assert "frame-ancestors 'self' https://www.cci.example" in headers["content-security-policy"]
    with pytest.raises(ValueError, match="frame_ancestors"):
        Settings(frame_ancestors="'self'; script-src *")


# -- the zone map -------------------------------------------------------------------------
def test_zone_map(client: TestClient, result: AnalysisResult, workspace: Workspace) -> None:
    row = result.zones.sort_values("premises").iloc[-3]
    response = client.get(f"/maps/zones/{row['zone_id']}")
    assert response.status_code == 200
    page = response.text
    assert "frame-ancestors" in response.headers["content-security-policy"]
    zones = script_argument(page, "zones", count_calls(page, "zones") - 1)
    assert [f["properties"]["id"] for f in zones["features"]] == [row["zone_id"]]
    premises = script_argument(page, "premises")
    premises_layer = workspace.layer("premises")
    inside = premises_layer.sindex.query(row.geometry, predicate="intersects")
    assert len(premises["lat"]) == len(inside) == row["premises"]
    assert sum(premises["n"]) == row["locaux"]
    assert count_calls(page, "raster") == 1
    assert count_calls(page, "land") == 1
    assert "/assets/markercluster/leaflet.markercluster.js" in page
    panel = script_argument(page, "panel", 0)
    assert popup_fields(panel["html"])["share_thd30"] == fr_percent(row["share_thd30"])
    assert html.escape(row["name"], quote=False) in page.split("<title>")[1]
    assert not EXTERNAL_URL.search(page)


def test_unknown_zone_is_404(client: TestClient) -> None:
    response = client.get("/maps/zones/NOPE")
    assert response.status_code == 404
    assert "NOPE" in response.json()["description"]


def test_maps_index_redirects(client: TestClient) -> None:
    response = client.get("/maps", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/maps/territory"


def test_pages_follow_the_root_path(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, root_path="/geo") as proxied:
        redirect = proxied.get("/maps", follow_redirects=False)
        assert redirect.headers["location"] == "/geo/maps/territory"
        page = proxied.get("/maps/territory").text
        assert 'src="/geo/assets/leaflet/leaflet.js"' in page
        docs = proxied.get("/docs").text
        assert "'/geo/openapi.json'" in docs
        assert '"/geo/assets/swagger-ui/swagger-ui-bundle.js"' in docs


def test_units_never_break_from_their_figures(territory: str, client: TestClient) -> None:
    zone = client.get("/maps/zones/DEMO-Z002").text
    for page in (territory, zone):
        assert not re.search(r"≥ |\d (?:Mbit|Gbit)/s|\d %", page)
        assert f"≥{NNBSP}30{NNBSP}Mbit/s" in page


# -- escaping -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/maps/territory", "/maps/zones/A", "/maps/territory?embed=1"])
def test_data_strings_are_escaped(evil_client: TestClient, path: str) -> None:
    page = evil_client.get(path).text
    for raw in (EVIL, "<script>alert(2)</script>", "<b>co</b>", "<i>dispo</i>"):
        assert raw not in page
    assert "alert(2)</script>" not in page
    assert html.escape(EVIL, quote=False) in page or html.escape(EVIL) in page


def test_escaped_name_in_popup_tooltip_search_and_title(evil_client: TestClient) -> None:
    page = evil_client.get("/maps/territory").text
    feature = next(
        f["properties"]
        for f in script_argument(page, "zones")["features"]
        if f["properties"]["id"] == "A"
    )
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    assert f"<h3>{escaped}</h3>" in feature["p"]
    assert f"<strong>{escaped}</strong>" in feature["t"]
    assert escaped in feature["q"]
    sources = script_argument(page, "sources", 0)
    assert all(EVIL not in item for item in sources["items"])
    land = script_argument(page, "land", 0)
    assert land["p"]["k"] == [0]
    zone_page = evil_client.get("/maps/zones/A").text
    assert f"<title>{html.escape(EVIL)} — carte de la zone</title>" in zone_page


def test_script_json_cannot_close_the_script() -> None:
    text = script_json({"a": "</script><script>alert(1)</script>", "b": "<!-- x", "c": "\u2028"})
    assert "</" not in text
    assert "<!--" not in text
    assert "\u2028" not in text
    assert json.loads(text)["a"] == "</script><script>alert(1)</script>"


# -- compact layers -----------------------------------------------------------------------
def test_packed_layer_round_trip() -> None:
    square = shapely.Polygon(
        [(5.1, 43.1), (5.2, 43.1), (5.2, 43.2), (5.1, 43.2)],
        holes=[[(5.12, 43.12), (5.13, 43.12), (5.13, 43.13)]],
    )
    multi = shapely.MultiPolygon(
        [shapely.box(5.3, 43.3, 5.31, 43.31), shapely.box(5.4, 43.4, 5.5, 43.5)]
    )
    dot = shapely.Point(5.123456, 43.654321)
    packed = json.loads(packed_layer([square, multi, dot], {"v": [1, 2, 3]}))
    decoded = unpack(packed)
    assert packed["p"] == {"v": [1, 2, 3]}
    assert len(decoded[0]) == 1
    assert len(decoded[0][0]) == 2
    assert np.allclose(decoded[0][0][0], list(square.exterior.coords)[:-1])
    assert np.allclose(decoded[0][0][1], list(square.interiors[0].coords)[:-1])
    assert len(decoded[1]) == 2
    assert np.allclose(decoded[2][0][0], [[5.12346, 43.65432]])
    with pytest.raises(ValueError, match="v"):
        packed_layer([square], {"v": [1, 2]})


def test_hexagons_are_coarsened_to_the_budget(workspace: Workspace) -> None:
    premises = workspace.layer("premises")
    fine = hexagon_layer(premises, 8, budget=100_000)
    coarse = hexagon_layer(premises, 8, budget=500)
    assert fine.resolution == 8
    assert fine.count > 500
    assert coarse.count <= 500
    assert coarse.resolution is not None
    assert coarse.resolution < 8
    totals = json.loads(coarse.json)["p"]["n"]
    assert sum(totals) == int(premises["locaux"].sum())


def test_coarsen_keeps_locaux_and_shares(workspace: Workspace) -> None:
    from geo_service.analysis import h3_coverage

    cells = h3_coverage(workspace.layer("premises"), 8)
    parents = coarsen_hexagons(cells, 6)
    assert parents["locaux"].sum() == cells["locaux"].sum()
    assert parents["premises"].sum() == cells["premises"].sum()
    good = (cells["share_thd30"] * cells["locaux"]).sum()
    assert np.isclose((parents["share_thd30"] * parents["locaux"]).sum(), good)
    assert parents["h3_cell"].map(h3.get_resolution).eq(6).all()


# -- cache, export, CLI -------------------------------------------------------------------
def test_pages_are_cached_per_view(workspace: Workspace) -> None:
    options = PageOptions()
    first = territory_page(workspace, TerritoryView(), options)
    assert territory_page(workspace, TerritoryView(), options) is first
    other = territory_page(workspace, territory_view(workspace, "served", None), options)
    assert other is not first


def test_self_contained_export_needs_nothing(workspace: Workspace, tmp_path: Path) -> None:
    written = export_map(workspace, tmp_path / "carte.html", self_contained=True)
    page = written.path.read_text(encoding="utf-8")
    assert written.assets is None
    assert written.size == len(page.encode())
    assert not re.search(r"<script[^>]*\ssrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert not re.search(r"url\(\s*(?!['\"]?(?:data:|#))", page)
    assert "sourceMappingURL" not in page
    assert count_calls(page, "zones") == 1
    assert 'id="gs-embed-code"' not in page  # no server: no iframe snippet, no form
    assert "<form" not in page
    popups = [f["properties"]["p"] for f in script_argument(page, "zones")["features"]]
    # no GEO_SERVICE_PUBLIC_URL: a file read anywhere links nowhere (not to 127.0.0.1)
    assert not any('href="' in popup for popup in popups)


def test_exported_links_start_with_the_public_url(workspace: Workspace, tmp_path: Path) -> None:
    settings = workspace.settings.model_copy(update={"public_url": "https://cartes.example"})
    written = export_map(Workspace(settings), tmp_path / "carte.html", self_contained=True)
    page = written.path.read_text(encoding="utf-8")
    popups = [f["properties"]["p"] for f in script_argument(page, "zones")["features"]]
    links = [link for popup in popups for link in re.findall(r'href="([^"]+)"', popup)]
    assert len(links) == 3 * len(popups)
    assert all(link.startswith("https://cartes.example/") for link in links)


def test_linked_export_copies_its_assets(workspace: Workspace, tmp_path: Path) -> None:
    written = export_map(workspace, tmp_path / "ma carte.html", zone_id="DEMO-Z003")
    page = written.path.read_text(encoding="utf-8")
    assert written.assets == tmp_path / "ma carte_assets"
    for url in re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page):
        assert url.startswith("ma%20carte_assets/")
        assert (tmp_path / url.replace("%20", " ")).is_file()
    assert (written.assets / "leaflet" / "images" / "layers.png").is_file()


def test_export_refuses_filters_with_a_zone(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="--status"):
        export_map(workspace, tmp_path / "x.html", zone_id="DEMO-Z001", status="served")
    with pytest.raises(NotFoundError):
        export_map(workspace, tmp_path / "x.html", zone_id="NOPE")


def test_map_command(analysed_demo_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(analysed_demo_dir, data_dir)
    runner = CliRunner()
    out = tmp_path / "out" / "zones.html"
    done = runner.invoke(
        cli_app,
        [
            "map",
            "--out",
            str(out),
            "--status",
            "unserved",
            "--self-contained",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "Map written to" in done.output
    assert out.is_file()
    bad = runner.invoke(
        cli_app, ["map", "--out", str(out), "--commune", "x", "--data-dir", str(data_dir)]
    )
    assert bad.exit_code == 2
    assert "commune" in bad.output


def test_asset_mode_tags() -> None:
    assert AssetMode("/root/assets").tags(["leaflet/leaflet.css"], ["leaflet/leaflet.js"]) == (
        '<link rel="stylesheet" href="/root/assets/leaflet/leaflet.css">\n'
        '<script src="/root/assets/leaflet/leaflet.js"></script>'
    )
    inline = AssetMode.inline().tags(["leaflet/leaflet.css"], ["leaflet/leaflet.js"])
    assert "data:image/png;base64," in inline
    assert "<script>" in inline


def test_flagged_outlines_read_in_their_status_colour() -> None:
    """Flagged zones were outlined in black (2.5 px): at the territory's zoom a small zone is
    mostly outline and read black, no class of the legend. The outline is now a darker shade
    of the zone's status, nearer to it than to any other status colour, on the map and in its
    legend alike."""
    from geo_service.maps.layers import zone_styles
    from geo_service.maps.style import (
        FLAGGED,
        STATUS_COLOURS,
        ZoneStatus,
        status_entries,
        zone_outline,
    )
    from geo_service.settings import AnalysisParams
    from tests.test_maps_browser import delta_e

    def rgb(colour: str) -> tuple[float, float, float]:
        return tuple(float(int(colour[i : i + 2], 16)) for i in (1, 3, 5))  # type: ignore[return-value]

    styles = zone_styles()
    legend = {e.fill: e for e in status_entries(AnalysisParams())}
    for status in ZoneStatus:
        outline = zone_outline(status)
        assert styles[status.value]["color"] == outline
        assert legend[STATUS_COLOURS[status]].stroke == outline
        if status not in FLAGGED:
            continue
        distances = {s: delta_e(rgb(outline), rgb(c)) for s, c in STATUS_COLOURS.items()}
        assert min(distances, key=distances.__getitem__) == status, (status, distances)
        assert delta_e(rgb(outline), rgb("#000000")) > distances[status], status
