"""OGC API - Features Part 3: CQL2 text and JSON filters, properties and skipGeometry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.api import create_app
from geo_service.model import OUTPUT_CRS
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore

ITEMS = "/collections/zones/items"


@pytest.fixture(scope="module")
def client(demo_client: TestClient) -> TestClient:
    return demo_client


@pytest.fixture(scope="module")
def zones(analysed_demo_dir: Path) -> pd.DataFrame:
    result: AnalysisResult = pipeline.load_results(GeoPackageStore(analysed_demo_dir))
    return result.zones.to_crs(OUTPUT_CRS)


def _ids(client: TestClient, **params: str) -> set[str]:
    response = client.get(ITEMS, params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["numberMatched"] == page["numberReturned"]
    return {f["id"] for f in page["features"]}


def _expected(zones: pd.DataFrame, mask: pd.Series) -> set[str]:
    return set(zones.loc[mask.fillna(False).astype(bool), "zone_id"])


def test_comparisons_and_logic_match_pandas(client: TestClient, zones: pd.DataFrame) -> None:
    text = "status = 'unserved' AND available_land_ha > 2 OR priority >= 80"
    expected = ((zones.status == "unserved") & (zones.available_land_ha > 2)) | (
        zones.priority >= 80
    )
    assert _ids(client, filter=text) == _expected(zones, expected)
    assert _ids(client, filter="status <> 'served'") == _expected(zones, zones.status != "served")


def test_like_in_between_and_is_null(client: TestClient, zones: pd.DataFrame) -> None:
    assert _ids(client, filter="name LIKE 'ZA%'") == _expected(
        zones, zones.name.str.startswith("ZA")
    )
    assert _ids(client, filter="name LIKE 'Z_ %'") == _expected(
        zones, zones.name.str.match(r"^Z. ")
    )
    assert _ids(client, filter="rank IN (1, 2, 3)") == _expected(
        zones, zones["rank"].isin([1, 2, 3])
    )
    assert _ids(client, filter="priority BETWEEN 40 AND 60") == _expected(
        zones, zones.priority.between(40, 60)
    )
    assert _ids(client, filter="share_ftth IS NULL") == _expected(zones, zones.share_ftth.isna())
    assert _ids(client, filter="share_ftth IS NOT NULL") == _expected(
        zones, zones.share_ftth.notna()
    )


def test_nulls_never_match_even_under_not(client: TestClient, zones: pd.DataFrame) -> None:
    # SQL's logic: NOT (share_ftth > 0.5) is unknown where share_ftth is null.
    expected = zones.share_ftth.notna() & ~(zones.share_ftth > 0.5)
    assert _ids(client, filter="NOT (share_ftth > 0.5)") == _expected(zones, expected)


def test_spatial_functions(client: TestClient, zones: pd.DataFrame) -> None:
    box = (5.1, 43.3, 5.3, 43.5)
    area = shapely.box(*box)
    intersecting = zones.geometry.intersects(area)
    assert intersecting.sum() > 0
    assert _ids(client, filter=f"S_INTERSECTS(geometry, BBOX({','.join(map(str, box))}))") == (
        _expected(zones, intersecting)
    )
    west, south, east, north = box
    ring = f"{west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}"
    polygon = f"POLYGON(({ring}))"
    assert _ids(client, filter=f"S_WITHIN(geometry, {polygon})") == _expected(
        zones, zones.geometry.within(area)
    )
    assert _ids(client, filter=f"S_DISJOINT(geometry, {polygon})") == _expected(
        zones, ~intersecting
    )
    inside = zones.geometry.iloc[0].representative_point()
    assert _ids(client, filter=f"S_CONTAINS(geometry, POINT({inside.x} {inside.y}))") == (
        _expected(zones, zones.geometry.contains(inside))
    )


def test_cql2_json_gives_the_same_answers(client: TestClient) -> None:
    document = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "status"}, "unserved"]},
            {
                "op": "s_intersects",
                "args": [{"property": "geometry"}, {"bbox": [5.0, 43.0, 5.6, 43.6]}],
            },
        ],
    }
    text = "status = 'unserved' AND S_INTERSECTS(geometry, BBOX(5.0,43.0,5.6,43.6))"
    as_json = _ids(client, filter=json.dumps(document), **{"filter-lang": "cql2-json"})
    assert as_json == _ids(client, filter=text)
    assert as_json


def test_filter_crs_lambert_93(client: TestClient) -> None:
    l93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
    in_l93 = _ids(
        client,
        filter="S_INTERSECTS(geometry, BBOX(860000,6230000,900000,6270000))",
        **{"filter-crs": l93},
    )
    from pyproj import Transformer

    west, south, east, north = Transformer.from_crs(
        "EPSG:2154", "OGC:CRS84", always_xy=True
    ).transform_bounds(860000, 6230000, 900000, 6270000)
    approx = _ids(client, filter=f"S_INTERSECTS(geometry, BBOX({west},{south},{east},{north}))")
    assert in_l93
    assert in_l93 <= approx


def test_filters_combine_with_bbox_equality_and_paging(client: TestClient) -> None:
    both = _ids(client, filter="priority > 10", status="unserved", bbox="4,42,7,45")
    assert both == _ids(client, filter="priority > 10 AND status = 'unserved'")
    page = client.get(ITEMS, params={"filter": "priority > 10", "limit": 3}).json()
    following = next(x for x in page["links"] if x["rel"] == "next")
    assert "filter=" in following["href"]


def test_premises_filter(client: TestClient) -> None:
    page = client.get(
        "/collections/premises/items",
        params={"filter": "locaux >= 5 AND ftth = true AND down_class IN ('THD1G')", "limit": 50},
    ).json()
    assert page["numberReturned"] > 0
    for feature in page["features"]:
        props = feature["properties"]
        assert props["locaux"] >= 5
        assert props["ftth"] is True
        assert props["down_class"] == "THD1G"


def test_properties_and_skip_geometry(client: TestClient) -> None:
    page = client.get(
        ITEMS, params={"properties": "status,name", "skipGeometry": "true", "limit": 5}
    ).json()
    for feature in page["features"]:
        assert feature["geometry"] is None
        assert list(feature["properties"]) == ["name", "status"]
    assert client.get(ITEMS, params={"properties": "nope"}).status_code == 400


def test_queryables_list_every_filterable_property_and_the_geometry(client: TestClient) -> None:
    document = client.get("/collections/zones/queryables").json()
    assert {"geometry", "status", "priority", "area_ha", "share_ftth", "name"} <= set(
        document["properties"]
    )
    assert "reasons" not in document["properties"]
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in conformance
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"filter": "status = "}, "filter", "cql2-text"),
        ({"filter": "nonexistent = 1"}, "filter", "unknown property"),
        ({"filter": "status > 3"}, "filter", "string property"),
        ({"filter": "priority = 'high'"}, "filter", "number property"),
        ({"filter": "name BETWEEN 1 AND 2"}, "filter", "BETWEEN"),
        ({"filter": "S_INTERSECTS(name, POINT(5 43))"}, "filter", "spatial"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "filter", "JSON"),
        ({"filter": "status = 'x'", "filter-lang": "ecql"}, "filter-lang", ""),
        ({"filter-lang": "cql2-text"}, "filter-lang", "without a filter"),
        ({"filter": ""}, "filter", "empty"),
        ({"filter": "x" * 30_000}, "filter", "longer"),
        (
            {"filter": "S_INTERSECTS(geometry, POINT(5 43))", "filter-crs": "EPSG:1"},
            "filter-crs",
            "",
        ),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str, says: str
) -> None:
    response = client.get(ITEMS, params=params)
    assert response.status_code == 400, response.text
    description = response.json()["description"]
    assert f"'{parameter}'" in description
    assert says in description


# -- PostGIS: the same filters, translated to SQL -------------------------------------------
FILTERS = (
    "status = 'unserved' AND available_land_ha > 2 OR priority >= 80",
    "name LIKE 'ZA%' OR name LIKE 'Z_ %'",
    "rank IN (1, 2, 3) OR priority BETWEEN 40 AND 60",
    "share_ftth IS NULL",
    "NOT (share_ftth > 0.5)",
    "S_INTERSECTS(geometry, BBOX(5.1,43.3,5.3,43.5)) AND NOT status = 'served'",
    "S_WITHIN(geometry, POLYGON((5 43, 6 43, 6 44, 5 44, 5 43)))",
)


@pytest.fixture(scope="module")
def postgis_client(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    import uuid

    from geo_service.settings import AnalysisParams
    from geo_service.store.postgis import PostGISStore, drop_schema

    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PostGISStore(database_url, schema)
    try:
        pipeline.build_demo_store(store)
        pipeline.analyze_store(store, AnalysisParams())
        settings = Settings(
            database_url=database_url,
            database_schema=schema,
            data_dir=tmp_path_factory.mktemp("pg-cql"),
        )
        app = create_app(settings)
        with TestClient(app) as test_client:
            yield test_client
    finally:
        store.close()
        drop_schema(database_url, schema)


@pytest.mark.parametrize("text", FILTERS)
def test_postgis_filters_in_sql_as_in_memory(
    client: TestClient, postgis_client: TestClient, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _ids(client, filter=text)
    from geo_service.api.features import FeatureIndex

    def refuse(self: FeatureIndex, node: object) -> None:
        raise AssertionError("evaluated in memory, not in SQL")

    monkeypatch.setattr(FeatureIndex, "matching", refuse)
    assert _ids(postgis_client, filter=text) == expected
