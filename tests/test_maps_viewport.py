"""The territory map by viewport: above the inline limit, an overview of H3 cells and the
zones of the view served by ``GET /maps/territory/zones`` as the inline map draws them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.maps.popups import Links, zone_popup
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore

ZONES = "/maps/territory/zones"


@pytest.fixture(scope="module")
def client(analysed_demo_dir: Path) -> TestClient:
    settings = Settings(database_url=None, data_dir=analysed_demo_dir, map_inline_zones_max=10)
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def inline_client(analysed_demo_dir: Path) -> TestClient:
    return TestClient(create_app(Settings(database_url=None, data_dir=analysed_demo_dir)))


@pytest.fixture(scope="module")
def zones(analysed_demo_dir: Path) -> gpd.GeoDataFrame:
    return pipeline.load_results(GeoPackageStore(analysed_demo_dir)).zones.to_crs(4326)


def test_above_the_limit_the_page_holds_cells_not_zones(
    client: TestClient, inline_client: TestClient, zones: gpd.GeoDataFrame
) -> None:
    by_viewport = client.get("/maps/territory").text
    inline = inline_client.get("/maps/territory").text
    assert "GeoServiceMap.viewportZones(" in by_viewport
    assert "GeoServiceMap.viewportZones(" not in inline
    for zone_id in zones["zone_id"]:
        assert zone_id in inline
        assert f'"id":"{zone_id}"' not in by_viewport
    assert f'"url":"{ZONES}"' in by_viewport
    assert len(by_viewport) < len(inline)


def test_the_zones_of_a_box_are_those_meeting_it(
    client: TestClient, zones: gpd.GeoDataFrame
) -> None:
    west, south, east, north = zones.total_bounds
    middle = (west + east) / 2
    box = (west - 0.01, south - 0.01, middle, north + 0.01)
    answer = client.get(ZONES, params={"bbox": ",".join(map(str, box))})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    body = answer.json()
    got = {f["properties"]["id"] for f in body["features"]}
    bounds = zones.geometry.bounds
    meeting = set(zones["zone_id"][(bounds["minx"] <= middle)])
    # simplified map geometries may differ from the stored ones by a few metres
    assert got <= set(zones["zone_id"])
    assert len(got ^ meeting) <= 1
    assert body["numberMatched"] == body["numberReturned"] == len(got)
    everything = client.get(ZONES).json()
    assert everything["numberMatched"] == len(zones)


def test_features_carry_the_inline_maps_popup_and_status(
    client: TestClient, analysed_demo_dir: Path
) -> None:
    result = pipeline.load_results(GeoPackageStore(analysed_demo_dir))
    row = result.zones[result.zones["zone_id"] == "DEMO-Z008"].drop(columns="geometry").iloc[0]
    (feature,) = client.get(ZONES, params={"id": "DEMO-Z008"}).json()["features"]
    assert feature["properties"]["s"] == row["status"]
    names = dict(zip(result.communes["commune_insee"], result.communes["name"], strict=True))
    expected = zone_popup(row.to_dict(), names.get(row["commune_insee"]), Links(base=""))
    assert feature["properties"]["p"] == expected


def test_a_truncated_answer_keeps_the_flagged_zones_first(
    client: TestClient, zones: gpd.GeoDataFrame
) -> None:
    body = client.get(ZONES, params={"limit": 5}).json()
    assert (body["numberMatched"], body["numberReturned"]) == (len(zones), 5)
    got = [f["properties"]["id"] for f in body["features"]]
    best = set(zones.sort_values("rank").head(5)["zone_id"])
    assert set(got) == best


def test_filters_and_search(client: TestClient, zones: gpd.GeoDataFrame) -> None:
    unserved = client.get(ZONES, params={"status": "unserved"}).json()
    assert unserved["numberMatched"] == int((zones["status"] == "unserved").sum())
    assert {f["properties"]["s"] for f in unserved["features"]} == {"unserved"}
    name = str(zones["name"].iloc[3])
    found = client.get(ZONES, params={"q": name.upper(), "limit": 8}).json()
    assert zones["zone_id"].iloc[3] in {f["properties"]["id"] for f in found["features"]}
    commune = str(zones["commune_insee"].iloc[0])
    of_commune = client.get(ZONES, params={"commune": commune}).json()
    assert of_commune["numberMatched"] == int((zones["commune_insee"] == commune).sum())


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"status": "bad"}, "status"),
        ({"zoom": "3"}, "zoom"),
    ],
)
def test_bad_parameters_are_named(client: TestClient, params: dict[str, str], named: str) -> None:
    answer = client.get(ZONES, params=params)
    assert answer.status_code == 400
    assert named in json.dumps(answer.json())


def test_the_file_map_inlines_every_zone(analysed_demo_dir: Path, tmp_path: Path) -> None:
    from geo_service.maps.service import export_map
    from geo_service.workspace import Workspace

    settings = Settings(database_url=None, data_dir=analysed_demo_dir, map_inline_zones_max=1)
    workspace = Workspace(settings)
    written = export_map(workspace, tmp_path / "map.html", self_contained=True)
    html = written.path.read_text()
    assert "GeoServiceMap.viewportZones(" not in html
    assert len(re.findall(r'"id":"DEMO-Z\d+"', html)) >= 60


def test_a_national_commune_filter_takes_a_code_instead_of_a_list() -> None:
    from geo_service.maps.territory import TerritoryView, _commune_field

    few = {"13001": "Aix", "13002": "Allauch"}
    assert '<option value="13001"' in _commune_field(TerritoryView(), few)
    many = {f"{10000 + i:05d}": f"Commune {i}" for i in range(2001)}
    field = _commune_field(TerritoryView(commune="10005"), many)
    assert "<option" not in field
    assert 'name="commune"' in field
    assert 'value="10005"' in field


def test_the_zones_bounds_and_search_keys_are_computed_once_per_results_version(
    analysed_demo_dir: Path,
) -> None:
    """A viewport request filters bounds and search keys computed once for the results, the
    same as those computed from the zones themselves."""
    import numpy as np
    import shapely

    from geo_service.maps.viewport import zone_search_key
    from geo_service.maps.viewport_service import zone_geometries, zone_lookup, zone_names
    from geo_service.workspace import Workspace

    workspace = Workspace(Settings(database_url=None, data_dir=analysed_demo_dir))
    result = workspace.results()
    lookup = zone_lookup(workspace, result)
    assert zone_lookup(workspace, workspace.results()) is lookup
    names = zone_names(workspace)
    zones = result.zones
    assert lookup.keys.tolist() == [
        zone_search_key(n, z, c, names)
        for n, z, c in zip(zones["name"], zones["zone_id"], zones["commune_insee"], strict=True)
    ]
    assert np.array_equal(lookup.bounds, shapely.bounds(zone_geometries(workspace, result)))
