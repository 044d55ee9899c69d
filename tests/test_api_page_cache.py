"""Serialised item pages: served again per query and store version, never stale."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.api.features import PageCache, SerialisedPage
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer

ITEMS = "/collections/zones/items"


@pytest.fixture
def store_dir(tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> Path:
    store = GeoPackageStore(tmp_path)
    for name, frame in ((pipeline.ZONES, zones), (pipeline.PREMISES, premises)):
        canonical, _ = validate_layer(name, frame, f"test {name}")
        meta = pipeline.layer_meta(name, source="test fixture", data_date=date(2025, 6, 1))
        store.write_layer(name, canonical, meta)
    pipeline.analyze_store(store, AnalysisParams())
    return tmp_path


def without_time(text: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(text)
    assert isinstance(document.pop("timeStamp"), str)
    return document


def test_a_page_is_served_again_with_a_new_timestamp(store_dir: Path) -> None:
    app = create_app(Settings(database_url=None, data_dir=store_dir))
    with TestClient(app) as client:
        first = client.get(f"{ITEMS}?limit=2")
        second = client.get(f"{ITEMS}?limit=2")
        assert first.headers["content-type"].startswith("application/geo+json")
        assert without_time(first.text) == without_time(second.text)
        document = json.loads(first.text)
        assert list(document) == [
            "type",
            "numberMatched",
            "numberReturned",
            "limit",
            "timeStamp",
            "synthetic",
            "links",
            "features",
        ]
        assert (document["numberMatched"], document["numberReturned"]) == (4, 2)
        rels = [x["rel"] for x in document["links"]]
        assert rels == ["self", "alternate", "next", "collection"]
        other = json.loads(client.get(f"{ITEMS}?limit=2&offset=2").text)
        assert [f["id"] for f in other["features"]] == ["C", "D"]
        assert [f["id"] for f in document["features"]] == ["A", "B"]


def test_each_base_url_gets_its_own_links(store_dir: Path) -> None:
    app = create_app(Settings(database_url=None, data_dir=store_dir))
    with TestClient(app, base_url="http://one.test") as one:
        first = json.loads(one.get(f"{ITEMS}?limit=1").text)
    with TestClient(app, base_url="http://two.test") as two:
        second = json.loads(two.get(f"{ITEMS}?limit=1").text)
    assert first["links"][0]["href"].startswith("http://one.test/")
    assert second["links"][0]["href"].startswith("http://two.test/")
    assert second["features"][0]["links"][0]["href"].startswith("http://two.test/")


def test_a_new_analysis_is_served_at_once(store_dir: Path) -> None:
    app = create_app(Settings(database_url=None, data_dir=store_dir))
    store = GeoPackageStore(store_dir)
    with TestClient(app) as client:
        before = json.loads(client.get(f"{ITEMS}?limit=1").text)
        assert before["features"][0]["properties"]["name"] != "Renamed"
        result = pipeline.load_results(store)
        result.zones.loc[0, "name"] = "Renamed"
        pipeline.save_results(store, result)
        after = json.loads(client.get(f"{ITEMS}?limit=1").text)
        assert after["features"][0]["properties"]["name"] == "Renamed"


def test_invalid_queries_are_refused_every_time(store_dir: Path) -> None:
    app = create_app(Settings(database_url=None, data_dir=store_dir))
    with TestClient(app) as client:
        for _ in range(2):
            assert client.get(f"{ITEMS}?bbox=1,2,3").status_code == 400
            assert client.get(f"{ITEMS}?sortby=nope").status_code == 400


def page(size: int) -> SerialisedPage:
    return SerialisedPage(b"{", b"x" * (size - 1))


def test_the_cache_keeps_recent_pages_within_its_budget() -> None:
    cache = PageCache(budget=800)
    built: list[str] = []

    def build(key: str, size: int) -> SerialisedPage:
        built.append(key)
        return page(size)

    for key in ("a", "b", "c"):
        cache.get(key, lambda k=key: build(k, 100))
    cache.get("a", lambda: build("a", 100))
    assert built == ["a", "b", "c"]
    for key in "defghi":
        cache.get(key, lambda k=key: build(k, 100))
    cache.get("a", lambda: build("a", 100))
    cache.get("b", lambda: build("b", 100))
    assert built.count("a") == 1, "recently used pages stay"
    assert built.count("b") == 2, "the least recently used page left first"
    cache.get("big", lambda: build("big", 200))
    cache.get("big", lambda: build("big", 200))
    assert built.count("big") == 2, "a page over an eighth of the budget is not kept"
    assert page(10).body("2026-01-01T00:00:00Z") == b'{"2026-01-01T00:00:00Z"xxxxxxxxx'
