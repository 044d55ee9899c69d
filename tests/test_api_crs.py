"""OGC API - Features Part 2: items in Lambert-93, Web Mercator and EPSG:4326, boxes in them."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

L93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
WGS84 = "http://www.opengis.net/def/crs/EPSG/0/4326"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ITEM = "/collections/zones/items/DEMO-Z001"


@pytest.fixture(scope="module")
def client(demo_client: TestClient) -> TestClient:
    return demo_client


def _ring(feature: dict) -> np.ndarray:  # type: ignore[type-arg]
    return np.array(feature["geometry"]["coordinates"][0][0], dtype=float)


def test_conformance_and_collections_declare_the_crs(client: TestClient) -> None:
    assert (
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
        in client.get("/conformance").json()["conformsTo"]
    )
    collection = client.get("/collections/zones").json()
    assert collection["crs"][0] == CRS84
    assert {L93, MERCATOR, WGS84} <= set(collection["crs"])
    assert collection["storageCrs"] == L93


@pytest.mark.parametrize("crs", [L93, MERCATOR, "EPSG:2154", "[EPSG:3857]"])
def test_items_in_a_projected_crs_match_pyproj(client: TestClient, crs: str) -> None:
    lonlat = _ring(client.get(ITEM).json())
    response = client.get(ITEM, params={"crs": crs})
    assert response.status_code == 200
    code = "EPSG:2154" if "2154" in crs else "EPSG:3857"
    assert response.headers["content-crs"] == f"<http://www.opengis.net/def/crs/EPSG/0/{code[5:]}>"
    projected = _ring(response.json())
    x, y = Transformer.from_crs("OGC:CRS84", code, always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1]
    )
    # CRS84 on the wire is rounded to 1e-6 degree (< 0.1 m): the two agree within 0.2 m.
    assert np.abs(projected[:, 0] - x).max() < 0.2
    assert np.abs(projected[:, 1] - y).max() < 0.2


def test_epsg_4326_is_latitude_first(client: TestClient) -> None:
    lonlat = _ring(client.get(ITEM).json())
    response = client.get(ITEM, params={"crs": WGS84})
    latlon = _ring(response.json())
    assert np.allclose(latlon[:, ::-1], lonlat, atol=1e-6)
    assert response.headers["content-crs"] == f"<{WGS84}>"


def test_pages_default_to_crs84_and_say_so(client: TestClient) -> None:
    response = client.get("/collections/zones/items", params={"limit": 2})
    assert response.headers["content-crs"] == f"<{CRS84}>"
    paged = client.get("/collections/zones/items", params={"limit": 2, "crs": L93}).json()
    assert all(abs(_ring(f)[0, 0]) > 1000 for f in paged["features"])
    following = next(x for x in paged["links"] if x["rel"] == "next")
    assert "crs=" in following["href"]


def test_bbox_in_lambert_93_and_in_epsg_4326(client: TestClient) -> None:
    lon, lat = _ring(client.get(ITEM).json())[0]
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True).transform(lon, lat)
    in_l93 = client.get(
        "/collections/zones/items",
        params={"bbox": f"{x - 20},{y - 20},{x + 20},{y + 20}", "bbox-crs": L93},
    ).json()
    assert "DEMO-Z001" in [f["id"] for f in in_l93["features"]]
    d = 0.0002
    latlon_box = f"{lat - d},{lon - d},{lat + d},{lon + d}"
    in_4326 = client.get(
        "/collections/zones/items", params={"bbox": latlon_box, "bbox-crs": WGS84}
    ).json()
    assert [f["id"] for f in in_4326["features"]] == [f["id"] for f in in_l93["features"]]
    # The same numbers read as CRS84 (lon, lat swapped) point elsewhere: nothing there.
    assert (
        client.get("/collections/zones/items", params={"bbox": latlon_box}).json()["numberMatched"]
        == 0
    )


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"crs": "EPSG:9999"}, "crs"),
        ({"crs": ""}, "crs"),
        ({"bbox": "1,2,3,4", "bbox-crs": "urn:nope"}, "bbox-crs"),
        ({"bbox": "900000,6300000,800000,6400000", "bbox-crs": L93}, "bbox"),
        ({"bbox": "43,5,95,6", "bbox-crs": WGS84}, "bbox"),
    ],
)
def test_unsupported_crs_or_bad_boxes_are_400(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/collections/zones/items", params=params)
    assert response.status_code == 400, response.text
    assert f"'{parameter}'" in response.json()["description"]


def test_a_premises_page_in_lambert_93(client: TestClient) -> None:
    page = client.get("/collections/premises/items", params={"limit": 50, "crs": L93}).json()
    xs = [f["geometry"]["coordinates"][0] for f in page["features"]]
    assert all(600_000 < x < 1_300_000 for x in xs)
