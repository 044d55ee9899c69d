"""The JSON API through FastAPI's TestClient: OGC API - Features, zone endpoints, errors.

Most tests read one analysed demo store shared by the session; tests that need special data
(hostile names, missing layers, a store that changes) build a tiny store of their own.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.analysis import AnalysisResult, split_reasons
from geo_service.api import create_app
from geo_service.api.collections import COLLECTIONS
from geo_service.api.errors import status_of
from geo_service.api.features import feature_index
from geo_service.api.html import SYNTHETIC_NOTICE
from geo_service.api.params import MAX_LIMIT
from geo_service.errors import (
    AuthError,
    InputError,
    NotFoundError,
    ParameterError,
    StoreError,
)
from geo_service.model import OUTPUT_CRS
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer

GEOJSON = "application/geo+json"
COLLECTION_IDS = [
    "zones",
    "communes",
    "epcis",
    "land",
    "premises",
    "transit_stops",
    "rail_stations",
    "road_access",
    "hubs",
]


@pytest.fixture(scope="module")
def client(demo_client: TestClient) -> TestClient:
    """A client of the app serving the analysed demo store."""
    return demo_client


@pytest.fixture(scope="module")
def results(analysed_demo_dir: Path) -> AnalysisResult:
    """The analysis results the app serves."""
    return pipeline.load_results(GeoPackageStore(analysed_demo_dir))


@pytest.fixture(scope="module")
def zones_lonlat(results: AnalysisResult) -> gpd.GeoDataFrame:
    """Zone results in CRS84."""
    return results.zones.to_crs(OUTPUT_CRS)


def _get(client: TestClient, url: str, expect: int = 200, **params: Any) -> Any:
    response = client.get(url, params=params) if params else client.get(url)
    assert response.status_code == expect, response.text
    return response.json()


def _rels(document: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for link in document["links"]:
        found.setdefault(link["rel"], []).append(link)
    return found


def _coordinates(geometry: dict[str, Any]) -> list[float]:
    flat: list[float] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for sub in item:
                walk(sub)
        else:
            flat.append(item)

    walk(geometry["coordinates"])
    return flat


# -- landing page, conformance, collections --------------------------------------------------


def test_landing_page_links_the_api_definition_conformance_and_data(client: TestClient) -> None:
    page = _get(client, "/")
    rels = _rels(page)
    assert rels["service-desc"][0]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["service-desc"][0]["href"].endswith("/openapi.json")
    assert rels["service-doc"][0]["href"].endswith("/docs")
    assert rels["conformance"][0]["href"].endswith("/conformance")
    assert rels["data"][0]["href"].endswith("/collections")
    assert rels["self"][0]["type"] == "application/json"
    assert rels["alternate"][0]["type"] == "text/html"
    assert page["synthetic"] is True
    assert client.get("/openapi.json").status_code == 200
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/assets/swagger-ui/swagger-ui-bundle.js" in docs.text, "Swagger UI served offline"
    assert "cdn." not in docs.text
    assert client.get("/assets/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404
    icon = client.get("/favicon.ico")  # asked for by browsers on every page: no 404 in the log
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.count("<rect") == 4
    assert "#D55E00" in icon.text


def test_conformance_declares_core_geojson_oas30_and_html(client: TestClient) -> None:
    classes = _get(client, "/conformance")["conformsTo"]
    for name in ("core", "geojson", "oas30", "html"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{name}" in classes


def test_collections_describe_every_served_layer(
    client: TestClient, results: AnalysisResult
) -> None:
    document = _get(client, "/collections")
    collections = {c["id"]: c for c in document["collections"]}
    assert list(collections) == COLLECTION_IDS
    for collection in collections.values():
        assert collection["itemType"] == "feature"
        assert collection["crs"][0] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        min_lon, min_lat, max_lon, max_lat = collection["extent"]["spatial"]["bbox"][0]
        assert -5 < min_lon < max_lon < 10
        assert 41 < min_lat < max_lat < 52
        assert collection["extent"]["temporal"]["interval"] == [
            ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]
        ]
        assert collection["synthetic"] is True
        items = [x for x in collection["links"] if x["rel"] == "items"]
        assert {x["type"] for x in items} == {GEOJSON, "text/html"}
    assert collections["zones"]["title"] == "Desserte des zones d'activités"
    assert collections["zones"]["feature_count"] == len(results.zones)
    assert collections["premises"]["feature_count"] == 60_000


@pytest.mark.parametrize("collection_id", COLLECTION_IDS)
def test_each_collection_has_its_own_document(client: TestClient, collection_id: str) -> None:
    document = _get(client, f"/collections/{collection_id}")
    assert document["id"] == collection_id
    assert _rels(document)["self"][0]["href"].endswith(f"/collections/{collection_id}")


def test_unknown_collection_is_404_with_json(client: TestClient) -> None:
    for url in ("/collections/roads", "/collections/roads/items", "/collections/roads/items/1"):
        body = _get(client, url, 404)
        assert body["code"] == "NotFound"
        assert "roads" in body["description"]
    body = _get(client, "/collections/roads/items?bbox=1,2,3,4", 404)
    assert body["code"] == "NotFound"


def test_queryables_list_the_filterable_properties(client: TestClient) -> None:
    response = client.get("/collections/zones/queryables")
    assert response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    assert schema["properties"]["status"]["enum"] == [
        "served",
        "underserved",
        "unserved",
        "unknown",
    ]
    assert schema["properties"]["rank"]["type"] == "integer"
    assert "reasons" not in schema["properties"]


# -- items ----------------------------------------------------------------------------------


def test_items_are_a_geojson_page_with_counts_and_links(
    client: TestClient, results: AnalysisResult
) -> None:
    response = client.get("/collections/zones/items")
    assert response.headers["content-type"] == GEOJSON
    page = response.json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == len(results.zones)
    assert page["numberReturned"] == len(page["features"]) == 10
    datetime.fromisoformat(page["timeStamp"])
    rels = _rels(page)
    assert "prev" not in rels
    assert "offset=10" in rels["next"][0]["href"]
    assert rels["alternate"][0]["type"] == "text/html"
    feature = page["features"][0]
    assert feature["id"] == results.zones["zone_id"].iloc[0]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert set(feature["properties"]) >= {"share_thd30", "status", "priority", "available_land_ha"}
    assert isinstance(feature["properties"]["reasons"], list)
    assert feature["properties"]["reasons"] == split_reasons(results.zones["reasons"].iloc[0])
    hrefs = {x["href"].split("testserver")[1] for x in feature["links"]}
    assert f"/maps/zones/{feature['id']}" in hrefs
    assert f"/zones/{feature['id']}/opinion" in hrefs


def test_coordinates_are_lonlat_rounded_to_six_decimals(client: TestClient) -> None:
    page = _get(client, "/collections/zones/items", limit=MAX_LIMIT)
    for feature in page["features"]:
        values = _coordinates(feature["geometry"])
        lons, lats = values[0::2], values[1::2]
        assert all(4 < lon < 7 for lon in lons)
        assert all(43 < lat < 44.5 for lat in lats)
        assert all(round(v, 6) == v for v in values)
    text = client.get("/collections/zones/items", params={"limit": MAX_LIMIT}).text
    coordinates = re.findall(r'"coordinates":(\[[-0-9.,\[\]]*\])', text)
    assert len(coordinates) == page["numberReturned"]
    assert not any(re.search(r"\.\d{7}", c) for c in coordinates)


def test_paging_visits_every_zone_exactly_once(client: TestClient, results: AnalysisResult) -> None:
    seen: list[str] = []
    url: str | None = "/collections/zones/items?limit=7"
    pages = 0
    while url is not None:
        page = _get(client, url)
        pages += 1
        seen.extend(f["id"] for f in page["features"])
        assert page["numberReturned"] == len(page["features"])
        assert ("prev" in _rels(page)) == (pages > 1)
        following = _rels(page).get("next")
        url = following[0]["href"] if following else None
    assert sorted(seen) == sorted(results.zones["zone_id"])
    assert len(seen) == len(set(seen))
    assert pages == math.ceil(len(results.zones) / 7)


def test_prev_link_goes_back_one_page(client: TestClient) -> None:
    page = _get(client, "/collections/zones/items", limit=5, offset=12)
    back = _get(client, _rels(page)["prev"][0]["href"])
    assert [f["id"] for f in back["features"]] == [
        f["id"] for f in _get(client, "/collections/zones/items", limit=5, offset=7)["features"]
    ]


@pytest.mark.parametrize(
    "bbox",
    [(5.2, 43.2, 5.5, 43.4), (5.0, 43.0, 6.5, 44.0), (5.3, 43.3, 5.31, 43.31), (0, 0, 1, 1)],
)
def test_bbox_returns_exactly_the_intersecting_zones(
    client: TestClient, zones_lonlat: gpd.GeoDataFrame, bbox: tuple[float, ...]
) -> None:
    page = _get(client, "/collections/zones/items", bbox=",".join(map(str, bbox)), limit=MAX_LIMIT)
    expected = set(zones_lonlat.loc[zones_lonlat.intersects(shapely.box(*bbox)), "zone_id"])
    assert {f["id"] for f in page["features"]} == expected
    assert page["numberMatched"] == len(expected)


def test_bbox_of_a_zone_finds_it(client: TestClient, zones_lonlat: gpd.GeoDataFrame) -> None:
    zone = zones_lonlat.iloc[5]
    bbox = ",".join(str(v) for v in zone.geometry.bounds)
    page = _get(client, "/collections/zones/items", bbox=bbox, limit=100)
    assert zone["zone_id"] in {f["id"] for f in page["features"]}


def test_equality_filters_select_matching_features(
    client: TestClient, results: AnalysisResult
) -> None:
    zones = results.zones
    page = _get(client, "/collections/zones/items", status="underserved", limit=MAX_LIMIT)
    assert page["numberMatched"] == int((zones["status"] == "underserved").sum()) > 0
    assert {f["properties"]["status"] for f in page["features"]} == {"underserved"}
    insee = zones["commune_insee"].iloc[0]
    page = _get(
        client, "/collections/zones/items", commune_insee=insee, status="served", limit=MAX_LIMIT
    )
    expected = zones[(zones["commune_insee"] == insee) & (zones["status"] == "served")]
    assert {f["id"] for f in page["features"]} == set(expected["zone_id"])
    top = _get(client, "/collections/zones/items", rank=1)["features"]
    assert [f["id"] for f in top] == list(zones.loc[zones["rank"] == 1, "zone_id"])
    assert _get(client, "/collections/zones/items", commune_insee="99999")["numberMatched"] == 0


def test_filters_on_premises_are_typed(client: TestClient, analysed_demo_dir: Path) -> None:
    premises = GeoPackageStore(analysed_demo_dir).read_layer("premises")
    page = _get(client, "/collections/premises/items", ftth="true", down_class="THD1G")
    expected = int((premises["ftth"] & (premises["down_class"] == "THD1G")).sum())
    assert page["numberMatched"] == expected
    assert all(f["properties"]["ftth"] is True for f in page["features"])
    page = _get(client, "/collections/premises/items", locaux=3, limit=3)
    assert page["numberMatched"] == int((premises["locaux"] == 3).sum())
    assert [f["properties"]["locaux"] for f in page["features"]] == [3, 3, 3]


def test_sortby_orders_features_with_nulls_last(client: TestClient) -> None:
    features = _get(client, "/collections/zones/items", sortby="-priority", limit=MAX_LIMIT)[
        "features"
    ]
    priorities = [f["properties"]["priority"] for f in features]
    known = [p for p in priorities if p is not None]
    assert known == sorted(known, reverse=True)
    assert priorities == known + [None] * (len(priorities) - len(known))
    features = _get(
        client, "/collections/zones/items", sortby="commune_insee,-area_ha", limit=MAX_LIMIT
    )["features"]
    keys = [(f["properties"]["commune_insee"], -f["properties"]["area_ha"]) for f in features]
    assert keys == sorted(keys)
    ids = [f["id"] for f in _get(client, "/collections/zones/items", sortby="-zone_id")["features"]]
    assert ids == sorted(ids, reverse=True)


def test_datetime_matches_the_date_of_the_data(client: TestClient) -> None:
    every = _get(client, "/collections/zones/items", datetime="2025-06-01/2026-06-01")
    assert every["numberMatched"] > 0
    assert _get(client, "/collections/zones/items", datetime="../2025-12-31")["numberMatched"] == 0
    assert _get(client, "/collections/land/items", datetime="2026-01-01")["numberMatched"] == 2000


def test_a_feature_by_id(client: TestClient, results: AnalysisResult) -> None:
    zone_id = results.zones["zone_id"].iloc[3]
    response = client.get(f"/collections/zones/items/{zone_id}")
    assert response.headers["content-type"] == GEOJSON
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == zone_id
    assert feature["properties"]["name"] == results.zones["name"].iloc[3]
    rels = _rels(feature)
    assert rels["self"][0]["href"].endswith(f"/collections/zones/items/{zone_id}?f=json")
    assert rels["collection"][0]["href"].endswith("/collections/zones")
    assert any(x["href"].endswith(f"/maps/zones/{zone_id}") for x in rels["related"])
    premises = _get(client, "/collections/premises/items", limit=1)["features"][0]
    assert _get(client, f"/collections/premises/items/{premises['id']}")["id"] == premises["id"]


def test_unknown_feature_is_404(client: TestClient) -> None:
    body = _get(client, "/collections/zones/items/NOPE", 404)
    assert body == {"code": "NotFound", "description": body["description"]}
    assert "NOPE" in body["description"]


def test_premises_pages_are_made_on_request(client: TestClient) -> None:
    app = client.app
    index = feature_index(app.state.workspace, COLLECTIONS["premises"])  # type: ignore[attr-defined]
    assert index._properties_json is None
    assert index._geometry_json is None
    page = _get(client, "/collections/premises/items", limit=MAX_LIMIT, offset=59_500)
    assert page["numberMatched"] == 60_000
    assert page["numberReturned"] == 500
    assert "next" not in _rels(page)


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/collections/zones/items?bbox=1,2,3", "bbox"),
        ("/collections/zones/items?bbox=a,b,c,d", "bbox"),
        ("/collections/zones/items?bbox=5,44,6,43", "bbox"),
        ("/collections/zones/items?bbox=5,43,6,95", "bbox"),
        ("/collections/zones/items?bbox=5,43,nan,44", "bbox"),
        ("/collections/zones/items?limit=-1", "limit"),
        ("/collections/zones/items?limit=0", "limit"),
        ("/collections/zones/items?limit=ten", "limit"),
        ("/collections/zones/items?offset=-3", "offset"),
        ("/collections/zones/items?sortby=nonexistent", "sortby"),
        ("/collections/zones/items?sortby=-reasons", "sortby"),
        ("/collections/zones/items?status=bad", "status"),
        ("/collections/zones/items?rank=first", "rank"),
        ("/collections/premises/items?ftth=maybe", "ftth"),
        ("/collections/zones/items?datetime=yesterday", "datetime"),
        ("/collections/zones/items?datetime=2026-02-01/2026-01-01", "datetime"),
        ("/collections/zones/items?f=xml", "f"),
        ("/collections/zones/items?colour=red", "colour"),
        ("/collections/zones/items?reasons=x", "reasons"),
        ("/collections?limit=3", "limit"),
        ("/?foo=bar", "foo"),
        ("/here?lon=999&lat=43", "lon"),
        ("/here?lon=5&lat=-91", "lat"),
        ("/here?lon=5", "lat"),
        ("/here?lon=inf&lat=43", "lon"),
        ("/here?lon=5&lat=43&radius=0", "radius"),
        ("/here?lon=5&lat=43&x=1", "x"),
        ("/zones/DEMO-Z001?verbose=1", "verbose"),
        ("/healthz?probe=1", "probe"),
    ],
)
def test_invalid_or_unknown_parameters_are_400_naming_them(
    client: TestClient, url: str, parameter: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert f"'{parameter}'" in body["description"]
    assert "Traceback" not in body["description"]


def test_bbox_across_the_antimeridian_is_two_boxes(client: TestClient) -> None:
    assert _get(client, "/collections/zones/items", bbox="170,40,-170,50")["numberMatched"] == 0
    page = _get(client, "/collections/zones/items", bbox="4,40,-170,50", limit=1)
    assert page["numberMatched"] == _get(client, "/collections/zones/items")["numberMatched"]


# -- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/?f=html",
        "/conformance?f=html",
        "/collections?f=html",
        "/collections/zones?f=html",
        "/collections/zones/items?f=html&limit=3",
        "/collections/premises/items?f=html",
        "/collections/zones/items/DEMO-Z001?f=html",
    ],
)
def test_html_pages(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    if "conformance" not in url:
        assert SYNTHETIC_NOTICE in response.text


def test_browsers_get_html_and_other_clients_json(client: TestClient) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert (
        client.get("/collections", headers=browser).headers["content-type"].startswith("text/html")
    )
    assert client.get("/collections").headers["content-type"] == "application/json"
    assert client.get("/collections?f=json", headers=browser).headers["content-type"] == (
        "application/json"
    )


# -- domain endpoints -----------------------------------------------------------------------


def test_zone_details_carry_metrics_reasons_and_run(
    client: TestClient, results: AnalysisResult
) -> None:
    flagged = results.flagged().iloc[0]
    zone = _get(client, f"/zones/{flagged['zone_id']}")
    assert zone["status"] == flagged["status"]
    assert zone["rank"] == 1
    assert zone["priority"] == pytest.approx(flagged["priority"])
    assert zone["reasons"] == split_reasons(flagged["reasons"])
    assert zone["reasons"]
    assert zone["metrics"]["locaux"] == flagged["locaux"]
    assert zone["metrics"]["share_thd30"] == pytest.approx(flagged["share_thd30"])
    assert zone["run"]["thresholds"] == AnalysisParams().model_dump()
    assert zone["run"]["inputs"]["premises"]["data_date"] == "2026-01-01"
    assert zone["run"]["inputs"]["premises"]["synthetic"] is True
    assert zone["synthetic"] is True
    min_lon, min_lat, max_lon, max_lat = zone["bbox"]
    assert min_lon < max_lon
    assert min_lat < max_lat
    rels = _rels(zone)
    assert rels["self"][0]["href"].endswith(f"/zones/{flagged['zone_id']}")
    assert {x["title"] for x in rels["related"]} == {"Carte de la zone", "Avis sur la zone"}
    assert _get(client, "/zones/NOPE", 404)["code"] == "NotFound"


def test_what_is_here_inside_a_zone(
    client: TestClient, zones_lonlat: gpd.GeoDataFrame, analysed_demo_dir: Path
) -> None:
    zone = zones_lonlat.iloc[10]
    point = zone.geometry.representative_point()
    here = _get(client, "/here", lon=point.x, lat=point.y)
    assert zone["zone_id"] in [z["id"] for z in here["zones"]]
    assert here["commune"]["commune_insee"] == zone["commune_insee"]
    nearest = here["nearest_premises"]
    store = GeoPackageStore(analysed_demo_dir)
    premises = store.read_layer("premises")
    spot = gpd.GeoSeries([point], crs=OUTPUT_CRS).to_crs(premises.crs).iloc[0]
    distances = premises.distance(spot)
    assert nearest["id"] == premises["premises_id"].iloc[int(np.argmin(distances))]
    assert nearest["distance_m"] == pytest.approx(float(distances.min()), abs=0.01)
    assert nearest["down_class"] in ("INEL", "HD05", "HD3", "BHD8", "THD30", "THD100", "THD1G")
    raster = store.read_raster("coverage")
    inverse = ~raster.transform
    col = inverse.a * spot.x + inverse.b * spot.y + inverse.c
    row = inverse.d * spot.x + inverse.e * spot.y + inverse.f
    expected = float(raster.data[int(row), int(col)])
    coverage = here["coverage"]
    if math.isnan(expected):
        assert coverage == {"mbps": None, "speed_class": None}
    else:
        assert coverage["mbps"] == pytest.approx(expected)
        assert coverage["speed_class"] is not None
    assert here["synthetic"] is True


def test_what_is_here_far_from_everything(client: TestClient) -> None:
    here = _get(client, "/here", lon=-4.5, lat=48.4, radius=10)
    assert here["zones"] == []
    assert here["commune"] is None
    assert here["nearest_premises"] is None
    assert here["coverage"] == {"mbps": None, "speed_class": None}


def test_layer_catalogue(client: TestClient, analysed_demo_dir: Path) -> None:
    catalogue = _get(client, "/layers")
    layers = {layer["name"]: layer for layer in catalogue["layers"]}
    stored = {meta.name for meta in GeoPackageStore(analysed_demo_dir).list_layers()}
    assert set(layers) == stored
    assert stored >= {"zones", "premises", "land", "communes", "coverage", "zone_results"}
    assert layers["premises"]["feature_count"] == 60_000
    assert layers["premises"]["data_date"] == "2026-01-01"
    assert layers["premises"]["synthetic"] is True
    assert layers["zones"]["description"]
    assert layers["coverage"]["source"]
    assert layers["zone_results"]["licence"] == "Licence Ouverte / Etalab 2.0"
    assert [x["rel"] for x in layers["land"]["links"]] == ["collection", "items"]
    assert catalogue["synthetic"] is True


def test_summary_counts_by_status_and_commune(client: TestClient, results: AnalysisResult) -> None:
    summary = _get(client, "/summary")
    counts = results.zones["status"].value_counts()
    assert summary["zones"] == len(results.zones) == sum(summary["by_status"].values())
    assert summary["by_status"] == {s: int(counts.get(s, 0)) for s in summary["by_status"]}
    assert summary["flagged"] == len(results.flagged())
    assert len(summary["communes"]) == len(results.communes)
    assert sum(c["zones"] for c in summary["communes"]) == len(results.zones)
    assert summary["run"]["thresholds"]["served_thd30_share"] == 0.95


def test_commune_summary(client: TestClient, results: AnalysisResult) -> None:
    insee = results.zones["commune_insee"].value_counts().index[0]
    commune = _get(client, f"/communes/{insee}")
    expected = results.zones[results.zones["commune_insee"] == insee]
    assert sorted(z["id"] for z in commune["zones"]) == sorted(expected["zone_id"])
    assert commune["figures"]["zones"] == len(expected)
    ranks = [z["rank"] for z in commune["zones"] if z["rank"] is not None]
    assert ranks == sorted(ranks)
    assert _rels(commune)["self"][0]["href"].endswith(f"/communes/{insee}")
    assert _get(client, "/communes/00000", 404)["code"] == "NotFound"


def test_healthz(client: TestClient) -> None:
    assert _get(client, "/healthz") == {"status": "ok", "analysed": True}


def test_cors_is_open_for_get_only(client: TestClient) -> None:
    response = client.get("/healthz", headers={"origin": "https://umap.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = {"origin": "https://umap.example", "access-control-request-method": "GET"}
    assert client.options("/collections", headers=preflight).status_code == 200
    preflight["access-control-request-method"] = "DELETE"
    assert client.options("/collections", headers=preflight).status_code == 400
    assert client.post("/collections").status_code == 405


# -- OpenAPI --------------------------------------------------------------------------------


def test_openapi_documents_every_parameter_and_no_422(client: TestClient) -> None:
    document = _get(client, "/openapi.json")
    paths = document["paths"]
    for path in ("/collections/zones/items", "/here", "/zones/{zoneId}", "/layers", "/summary"):
        assert path in paths
    for path, operations in paths.items():
        for operation in operations.values():
            assert "422" not in operation["responses"], path
            if not set(operation.get("tags", [])) & {"OGC API - Features", "Zones and territory"}:
                continue  # the map routes are documented by their own tests
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), (path, parameter["name"])
    items = {p["name"]: p for p in paths["/collections/zones/items"]["get"]["parameters"]}
    assert {"bbox", "limit", "offset", "sortby", "datetime", "f", "status"} <= set(items)
    assert f"{MAX_LIMIT} features per page" in items["limit"]["description"]
    status = items["status"]["schema"]
    assert status["enum"] == ["served", "underserved", "unserved", "unknown", None]
    assert status["nullable"] is True


# -- errors in one place --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ParameterError("limit", "too big"), 400),
        (InputError("bad file"), 400),
        (NotFoundError("no zone"), 404),
        (AuthError("no key"), 401),
        (StoreError("disk gone"), 503),
    ],
)
def test_every_error_class_has_one_status(error: Exception, status: int) -> None:
    assert status_of(error)[0] == status  # type: ignore[arg-type]


def test_unexpected_errors_are_json_500_without_traceback(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=None, data_dir=tmp_path))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/store")
    def store() -> None:
        raise StoreError("cannot read layer 'zones'")

    with TestClient(app, raise_server_exceptions=False) as local:
        response = local.get("/boom")
        assert response.status_code == 500
        assert response.json()["code"] == "ServerError"
        assert "secret" not in response.text
        assert "Traceback" not in response.text
        assert local.get("/store").status_code == 503


# -- tiny stores: hostile names, missing layers, changes ------------------------------------


def _tiny_store(path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> Path:
    store = GeoPackageStore(path)
    for name, frame in ((pipeline.ZONES, zones), (pipeline.PREMISES, premises)):
        canonical, _ = validate_layer(name, frame, f"test {name}")
        meta = pipeline.layer_meta(name, source="test fixture", data_date=date(2025, 6, 1))
        store.write_layer(name, canonical, meta)
    pipeline.analyze_store(store, AnalysisParams())
    return path


def test_html_escapes_data(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    zones = zones.assign(name=['<script>alert("x")</script>', "B & C", "Zone C", "Zone D"])
    app = create_app(Settings(database_url=None, data_dir=_tiny_store(tmp_path, zones, premises)))
    with TestClient(app) as local:
        for url in ("/collections/zones/items?f=html", "/collections/zones/items/A?f=html"):
            text = local.get(url).text
            assert "<script>" not in text
            assert "&lt;script&gt;" in text
        assert SYNTHETIC_NOTICE not in local.get("/collections?f=html").text
        assert (
            local.get("/collections/zones/items/A")
            .json()["properties"]["name"]
            .startswith("<script>")
        )


def test_a_store_without_land_or_communes(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    app = create_app(Settings(database_url=None, data_dir=_tiny_store(tmp_path, zones, premises)))
    with TestClient(app) as local:
        ids = [c["id"] for c in _get(local, "/collections")["collections"]]
        assert ids == ["zones", "communes", "epcis", "premises"]
        assert _get(local, "/collections/land", 404)["code"] == "NotFound"
        communes = _get(local, "/collections/communes/items")
        assert {f["id"] for f in communes["features"]} == {"13001", "13002"}
        assert all(f["geometry"] is None for f in communes["features"])
        assert _get(local, "/collections/communes/items?bbox=-180,-90,180,90")["numberMatched"] == 0
        here = _get(local, "/here", lon=5.0, lat=43.3)
        assert here["commune"] is None
        assert here["coverage"] is None
        assert _get(local, "/collections/zones/items")["synthetic"] is False


def test_new_results_are_served_without_restart(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    path = _tiny_store(tmp_path, zones, premises)
    app = create_app(Settings(database_url=None, data_dir=path))
    with TestClient(app) as local:
        before = _get(local, "/collections/zones/items/A")["properties"]["status"]
        strict = AnalysisParams(served_thd30_share=1.0, unserved_bhd8_share=0.99)
        pipeline.analyze_store(GeoPackageStore(path), strict)
        after = _get(local, "/collections/zones/items/A")["properties"]["status"]
        thresholds = _get(local, "/zones/A")["run"]["thresholds"]
    assert (before, after) == ("underserved", "unserved")
    assert thresholds["served_thd30_share"] == 1.0


def test_an_empty_store_without_preparation(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=None, data_dir=tmp_path))
    with TestClient(app) as local:
        assert _get(local, "/collections")["collections"] == []
        assert _get(local, "/healthz") == {"status": "ok", "analysed": False}
        assert _get(local, "/collections/zones", 404)["code"] == "NotFound"
        assert _get(local, "/summary", 404)["code"] == "NotFound"
        assert _get(local, "/layers") == {"layers": [], "synthetic": False}
        assert _get(local, "/")["synthetic"] is False


def test_every_zone_result_column_is_a_documented_property() -> None:
    from geo_service.analysis import ZONE_RESULT_COLUMNS

    documented = {p.name for p in COLLECTIONS["zones"].properties}
    assert set(ZONE_RESULT_COLUMNS) <= documented


def test_optional_result_columns_are_served_as_extra_properties(
    results: AnalysisResult,
) -> None:
    from geo_service.api.features import FeatureIndex

    zones = results.zones.head(3).assign(mobile_4g_sites_1km=[2, 0, 5])
    index = FeatureIndex(COLLECTIONS["zones"], zones)
    properties = index.properties(np.arange(3, dtype=np.intp))
    assert [p["mobile_4g_sites_1km"] for p in properties] == [2, 0, 5]
    assert index.properties_served[-1].type == "integer"
