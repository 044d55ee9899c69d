"""HTTP as GIS clients use it: HEAD, OPTIONS, capped page sizes, compression, OpenAPI 3.0,
and requests that stay fast while expensive ones run."""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_service.api.features import FeatureIndex
from geo_service.api.params import MAX_LIMIT

READ_PATHS = (
    "/",
    "/conformance",
    "/collections",
    "/collections/zones",
    "/collections/zones/items?limit=3",
    "/collections/zones/items/DEMO-Z001",
    "/collections/zones/queryables",
    "/healthz",
    "/zones/DEMO-Z001",
    "/summary",
    "/layers",
    "/openapi.json",
    "/maps/territory",
)


@pytest.fixture(scope="module")
def client(demo_client: TestClient) -> TestClient:
    return demo_client


@pytest.mark.parametrize("path", READ_PATHS)
def test_head_answers_the_get_headers_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path, headers={"Accept-Encoding": "identity"})
    head = client.head(path, headers={"Accept-Encoding": "identity"})
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    if "content-length" in get.headers:
        assert head.headers["content-length"] == get.headers["content-length"]


def test_head_of_an_unknown_feature_is_404(client: TestClient) -> None:
    assert client.head("/collections/zones/items/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/collections", {"GET", "HEAD", "OPTIONS"}),
        ("/collections/zones/items", {"GET", "HEAD", "OPTIONS"}),
        ("/layers/zones", {"POST", "DELETE", "OPTIONS"}),
        ("/analysis", {"POST", "OPTIONS"}),
    ],
)
def test_options_lists_every_method_of_the_path(
    client: TestClient, path: str, allowed: set[str]
) -> None:
    response = client.options(path)
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == allowed
    assert response.content == b""


def test_options_of_an_unknown_path_is_404(client: TestClient) -> None:
    assert client.options("/no/such/path").status_code == 404


def test_a_cors_preflight_still_gets_cors_headers(client: TestClient) -> None:
    response = client.options(
        "/collections",
        headers={"Origin": "https://umap.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_limit_above_the_maximum_is_served_the_maximum(client: TestClient) -> None:
    page = client.get("/collections/premises/items", params={"limit": 5000}).json()
    assert page["numberReturned"] == MAX_LIMIT
    assert page["limit"] == MAX_LIMIT
    following = next(x for x in page["links"] if x["rel"] == "next")
    assert f"offset={MAX_LIMIT}" in following["href"]
    small = client.get("/collections/zones/items", params={"limit": 7}).json()
    assert small["limit"] == 7
    assert small["numberReturned"] == 7


def test_large_answers_are_gzipped_when_accepted(client: TestClient) -> None:
    path = "/collections/zones/items?limit=100"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    raw = client.get(path, headers={"Accept-Encoding": "gzip"}, extensions={})
    assert raw.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in raw.headers["vary"].lower()
    # httpx inflates transparently: the body is the same document.
    assert json.loads(raw.content)["numberReturned"] == json.loads(plain.content)["numberReturned"]
    compressed = int(raw.headers["content-length"])
    assert compressed * 4 < len(plain.content), (compressed, len(plain.content))
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_api_definition_is_openapi_30_as_declared(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    assert document["openapi"].startswith("3.0.")
    for node in _walk(document):
        assert node.get("type") != "null", node
        assert not isinstance(node.get("type"), list), node
        assert "const" not in node, node
        assert "prefixItems" not in node, node
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            assert bound not in node or isinstance(node[bound], bool), node
    landing = client.get("/").json()
    desc = next(x for x in landing["links"] if x["rel"] == "service-desc")
    assert desc["type"] == response.headers["content-type"]
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conformance
    # A parameter FastAPI writes as anyOf[integer, null] is a nullable integer in 3.0.
    items = document["paths"]["/collections/zones/items"]["get"]["parameters"]
    rank = next(p for p in items if p["name"] == "rank")
    assert rank["schema"]["type"] == "integer"
    assert rank["schema"]["nullable"] is True


def test_queryables_as_html(client: TestClient) -> None:
    response = client.get("/collections/zones/queryables", params={"f": "html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "status" in response.text
    assert "interrogeables" in response.text


@pytest.mark.parametrize(
    ("query", "parameter", "says"),
    [
        ({"datetime": ""}, "datetime", "empty"),
        ({"sortby": ""}, "sortby", "empty"),
        ({"sortby": " "}, "sortby", "empty"),
    ],
)
def test_empty_values_are_named_as_empty(
    client: TestClient, query: dict[str, str], parameter: str, says: str
) -> None:
    response = client.get("/collections/zones/items", params=query)
    assert response.status_code == 400
    body = response.json()
    assert parameter in body["description"]
    assert says in body["description"]


def test_a_map_of_an_unknown_commune_is_404_like_the_commune(client: TestClient) -> None:
    assert client.get("/communes/13001").status_code == 404
    response = client.get("/maps/territory", params={"commune": "13001"})
    assert response.status_code == 404
    assert "13001" in response.json()["description"]
    assert client.get("/maps/territory", params={"commune": "13-1"}).status_code == 400


def test_the_documented_examples_exist_in_the_demo(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    territory = document["paths"]["/maps/territory"]["get"]["parameters"]
    commune = next(p for p in territory if p["name"] == "commune")
    example = commune.get("example", commune["schema"].get("example"))
    assert client.get(f"/communes/{example}").status_code == 200


def test_a_cheap_request_is_not_stalled_by_expensive_ones(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Premises pages made slow (0.3 s each, as a département's can be), two clients asking
    for them without pause, while /healthz and a zone are timed: built on the event loop, a
    cheap request would wait for a page; built in worker threads, it does not."""
    original = FeatureIndex.features_json

    def slow(self: FeatureIndex, *args: Any, **kwargs: Any) -> list[str]:
        if self.spec.id == "premises":
            time.sleep(0.3)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FeatureIndex, "features_json", slow)
    stop = threading.Event()
    expensive_times: list[float] = []

    def expensive() -> None:
        offset = 0
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/collections/premises/items", params={"limit": 1000, "offset": offset})
            expensive_times.append(time.perf_counter() - started)
            offset += 1000  # every page is new: no page cache

    workers = [threading.Thread(target=expensive) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.2)
        cheap: list[float] = []
        for i in range(30):
            started = time.perf_counter()
            path = "/healthz" if i % 2 else "/collections/zones/items/DEMO-Z001"
            assert client.get(path).status_code == 200
            cheap.append(time.perf_counter() - started)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    cheap.sort()
    assert min(expensive_times) >= 0.3
    assert cheap[len(cheap) // 2] < 0.1, cheap
    assert cheap[-3] < 0.2, cheap


_PATH_VALUES = {
    "collectionId": "zones",
    "featureId": "DEMO-Z001",
    "zoneId": "DEMO-Z001",
    "zone_id": "DEMO-Z001",
    "insee": "13901",
    "tileMatrixSetId": "WebMercatorQuad",
    "tileMatrix": "0",
    "tileRow": "0",
    "tileCol": "0",
    "layer": "zones",
    "opinionId": "20261203-125143-3f9a1c2b",
}


def test_every_documented_read_answers_head_and_options(client: TestClient) -> None:
    """Each GET of the OpenAPI document: HEAD gives the GET's status and headers without a
    body, OPTIONS lists GET and HEAD among the path's methods."""
    document = client.get("/openapi.json").json()
    checked = 0
    for template, operations in document["paths"].items():
        if "get" not in operations:
            continue
        path = template
        for name, value in _PATH_VALUES.items():
            path = path.replace(f"{{{name}}}", value)
        assert "{" not in path, f"no example value for a parameter of {template}"
        get = client.get(path, headers={"Accept-Encoding": "identity"})
        head = client.head(path, headers={"Accept-Encoding": "identity"})
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == get.headers.get("content-type"), path
        allowed = set(client.options(path).headers["allow"].split(", "))
        assert {"GET", "HEAD", "OPTIONS"} <= allowed, (path, allowed)
        declared = {method.upper() for method in operations}
        assert declared <= allowed, (path, declared, allowed)
        checked += 1
    assert checked >= 20


def test_here_outside_the_territory_says_so(client: TestClient) -> None:
    inside = client.get("/here", params={"lon": 5.120279, "lat": 43.3290}).json()
    assert inside["in_territory"] is True
    assert inside["statement"] is None
    outside = client.get("/here", params={"lon": 2.35, "lat": 48.85}).json()
    assert outside["in_territory"] is False
    assert "Hors du territoire chargé" in outside["statement"]
    assert outside["zones"] == []
    assert outside["commune"] is None
    # the demo's facilities are 650 km from Paris: not "the nearest interchange" from there
    assert inside["transport"]["road_access"]["distance_km"] < 50
    assert outside["transport"] == {"road_access": None, "rail_station": None, "airport": None}
    assert (
        "équipements de transport les plus proches n'y sont pas cherchés" in (outside["statement"])
    )


def test_here_gives_the_speed_to_a_tenth_of_a_megabit(client: TestClient) -> None:
    answer = client.get("/here", params={"lon": 5.2, "lat": 43.45}).json()
    mbps = answer["coverage"]["mbps"]
    assert mbps is not None
    assert round(mbps, 1) == mbps


def test_a_browser_gets_the_french_home_page_and_gis_clients_the_landing_page(
    client: TestClient,
) -> None:
    home = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert home.headers["content-type"].startswith("text/html")
    text = home.text
    assert "Desserte numérique des zones d&#x27;activités" in text or "zones d'activités" in text
    for needle in ("/maps/territory", "/territory/opinion?f=pdf", "Zones prioritaires", "Données"):
        assert needle in text
    first = client.get("/collections/zones/items", params={"rank": 1}).json()["features"][0]
    assert f"/maps/zones/{first['id']}" in text
    assert first["properties"]["name"] in text.replace("&#x27;", "'")
    ogc = client.get("/", params={"f": "html"}).text
    assert "service-desc" in ogc or "openapi.json" in ogc
    assert "Zones prioritaires" not in ogc
    assert client.get("/").json()["links"]


def test_the_home_page_says_how_many_zones_it_lists_and_colours_their_status(
    client: TestClient,
) -> None:
    """The home page listed 15 zones under « Zones prioritaires » (35 are flagged) and wrote
    their statuses in black, unlike the HTML items and the maps."""
    from geo_service.maps.style import STATUS_TEXT_COLOURS

    text = client.get("/", headers={"Accept": "text/html"}).text
    flagged = client.get("/collections/zones/items", params={"limit": 1, "rank": 1}).json()
    total = client.get("/collections/zones/items", params={"limit": 1000}).json()["features"]
    ranked = sum(1 for f in total if f["properties"]["rank"] is not None)
    assert flagged["features"]
    assert f"les 15 premières sur {ranked} zones signalées" in text
    assert "/collections/zones/items?f=html&amp;sortby=rank" in text
    for status in ("unserved", "underserved", "served"):
        assert f"color:{STATUS_TEXT_COLOURS[status]}" in text, status


def test_html_item_pages_title_their_links_in_french(client: TestClient) -> None:
    """A zone's HTML page listed « This document as HTML », « The collection », « Zone
    details » under its French table; the JSON documents keep their English titles."""
    for path in ("/collections/zones/items/DEMO-Z022", "/collections/communes/items/13909"):
        page = client.get(path, params={"f": "html"}).text
        for english in ("This document", "The collection", "Zone details", "Commune summary"):
            assert english not in page, (path, english)
        assert "Ce document en JSON" in page
        assert "La collection" in page
    item = client.get("/collections/zones/items/DEMO-Z022").json()
    assert "The collection" in {x.get("title") for x in item["links"]}


def test_html_items_read_in_french_with_the_popups_labels(client: TestClient) -> None:
    from geo_service.analysis.fields import zone_field

    page = client.get("/collections/zones/items", params={"f": "html", "sortby": "rank"}).text
    header = page.split("<thead>")[1].split("</thead>")[0]
    for name in ("name", "status", "priority", "share_thd30"):
        assert f">{zone_field(name).label}</th>" in header.replace("&#x27;", "'")
    # Status, priority, rank and name lead, then the id; statuses in French; shares as
    # percentages.
    leading = [zone_field(n).label for n in ("status", "priority", "rank", "name", "zone_id")]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", header)
    assert headers[:5] == leading
    assert header.index(zone_field("status").label) < header.index(zone_field("area_ha").label)
    assert "Non desservie" in page
    assert ">underserved<" not in page
    assert ">unserved<" not in page
    assert "\u202f%" in page
