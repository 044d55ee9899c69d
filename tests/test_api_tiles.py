"""OGC API - Tiles: Mapbox Vector Tiles of the collections on WebMercatorQuad."""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.api.vector_tiles import EXTENT, MAX_POINTS, tile_bounds
from geo_service.model import OUTPUT_CRS
from geo_service.store import GeoPackageStore

TILES = "/collections/{}/tiles/WebMercatorQuad"


@pytest.fixture(scope="module")
def client(demo_client: TestClient) -> TestClient:
    return demo_client


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _decode(client: TestClient, collection: str, z: int, y: int, x: int) -> list[dict]:  # type: ignore[type-arg]
    response = client.get(f"{TILES.format(collection)}/{z}/{y}/{x}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    return list(layers.get(collection, {}).get("features", []))


def test_discovery_documents(client: TestClient) -> None:
    sets = client.get("/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["tileMatrices"][0]["matrixWidth"] == 1
    assert tms["tileMatrices"][10]["matrixWidth"] == 1024
    tilesets = client.get("/collections/zones/tiles").json()["tilesets"]
    assert tilesets[0]["dataType"] == "vector"
    template = next(x for x in tilesets[0]["links"] if x["rel"] == "item")
    assert template["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    tileset = client.get(TILES.format("zones")).json()
    assert tileset["layers"][0]["id"] == "zones"
    tilejson = client.get(f"{TILES.format('premises')}/tilejson").json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"][0].endswith("/{z}/{y}/{x}")
    assert "down_class" in tilejson["vector_layers"][0]["fields"]
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
    collection = client.get("/collections/zones").json()
    assert any(x["href"].endswith("/collections/zones/tiles") for x in collection["links"])


def test_a_zone_tile_holds_the_zones_it_meets_with_their_status(
    client: TestClient, analysed_demo_dir: Path
) -> None:
    zones = pipeline.load_results(GeoPackageStore(analysed_demo_dir)).zones.to_crs(OUTPUT_CRS)
    centre = zones.geometry.iloc[0].representative_point()
    z = 12
    x, y = _tile_of(centre.x, centre.y, z)
    features = _decode(client, "zones", z, y, x)
    by_id = {f["properties"]["id"]: f for f in features}
    first = zones.iloc[0]
    assert first.zone_id in by_id
    assert by_id[first.zone_id]["properties"]["status"] == first.status
    west, south, east, north = tile_bounds(z, y, x)
    mercator = zones.to_crs("EPSG:3857")
    meeting = set(mercator.zone_id[mercator.intersects(shapely.box(west, south, east, north))])
    assert meeting <= set(by_id)
    for feature in features:
        coords = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"]))
        assert coords.min() >= -64 - 1
        assert coords.max() <= EXTENT + 64 + 1


def test_unknown_values_are_left_out_not_zero(client: TestClient, analysed_demo_dir: Path) -> None:
    zones = pipeline.load_results(GeoPackageStore(analysed_demo_dir)).zones.to_crs(OUTPUT_CRS)
    empty = zones[zones.share_ftth.isna()].iloc[0]
    centre = empty.geometry.representative_point()
    x, y = _tile_of(centre.x, centre.y, 13)
    feature = next(
        f for f in _decode(client, "zones", 13, y, x) if f["properties"]["id"] == empty.zone_id
    )
    assert "share_ftth" not in feature["properties"]


def test_premises_seen_from_far_are_thinned(client: TestClient) -> None:
    x, y = _tile_of(5.35, 43.4, 6)
    features = _decode(client, "premises", 6, y, x)
    assert 0 < len(features) <= MAX_POINTS
    near = _decode(client, "premises", 14, *_tile_of(5.35, 43.4, 14)[::-1])
    assert all(f["geometry"]["type"] == "Point" for f in near)


def test_tiles_outside_the_matrix_or_set(client: TestClient) -> None:
    assert client.get(f"{TILES.format('zones')}/3/8/0").status_code == 404
    assert client.get(f"{TILES.format('zones')}/23/0/0").status_code == 400
    assert client.get("/collections/zones/tiles/WorldCRS84Quad/0/0/0").status_code == 404
    assert client.get(f"{TILES.format('nope')}/0/0/0").status_code == 404
    empty = _decode(client, "zones", 3, 0, 0)
    assert empty == []


def test_a_tile_is_cached(client: TestClient) -> None:
    url = f"{TILES.format('communes')}/9/{_tile_of(5.3, 43.4, 9)[1]}/{_tile_of(5.3, 43.4, 9)[0]}"
    assert client.get(url).content == client.get(url).content
