"""A real server: ``geo-service serve`` on 127.0.0.1, read by OWSLib's OGC API - Features client.

OWSLib is a client nobody here wrote: if it can list the collections, read items in a
bounding box and page through them, QGIS-like clients can too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import shapely
from owslib.ogcapi.features import Features

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.model import OUTPUT_CRS
from geo_service.store import GeoPackageStore

STARTUP_SECONDS = 90


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(analysed_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``geo-service serve`` in a subprocess on a free port; yields its URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {key: value for key, value in os.environ.items() if key != "GEO_SERVICE_DATABASE_URL"}
    env.update({"NO_PROXY": "127.0.0.1,localhost", "COLUMNS": "200"})
    command = [sys.executable, "-m", "geo_service", "serve", "--port", str(port)]
    command += ["--data-dir", str(analysed_demo_dir)]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert f"{url}/" in log.read_text(), "serve should print its URL"


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"geo-service serve exited early:\n{log.read_text()}")
        try:
            answer = httpx.get(f"{url}/healthz", timeout=2)
            # /healthz answers "loading" while the server loads its layers: wait for them.
            if answer.status_code == 200 and answer.json().get("status") == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"geo-service serve did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def results(analysed_demo_dir: Path) -> AnalysisResult:
    """The results the server serves."""
    return pipeline.load_results(GeoPackageStore(analysed_demo_dir))


@pytest.fixture(scope="module")
def client(server: str) -> Features:
    """OWSLib's client of the server."""
    return Features(f"{server}/")


def test_owslib_reads_conformance_and_api_definition(client: Features) -> None:
    classes = client.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert client.api()["info"]["title"] == "geo-service"


def test_owslib_lists_the_feature_collections(client: Features) -> None:
    assert client.feature_collections() == [
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
    zones = client.collection("zones")
    assert zones["id"] == "zones"
    assert zones["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert "status" in client.collection_queryables("zones")["properties"]


def test_owslib_reads_items_in_a_bbox(client: Features, results: AnalysisResult) -> None:
    bbox = [5.2, 43.25, 5.5, 43.45]
    page = client.collection_items("zones", bbox=bbox, limit=500)
    lonlat = results.zones.to_crs(OUTPUT_CRS)
    expected = set(lonlat.loc[lonlat.intersects(shapely.box(*bbox)), "zone_id"])
    assert expected
    assert {f["id"] for f in page["features"]} == expected
    assert page["numberMatched"] == len(expected)


def test_owslib_pages_through_every_zone(client: Features, results: AnalysisResult) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = client.collection_items("zones", limit=25, offset=offset)
        seen.extend(f["id"] for f in page["features"])
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 25
    assert sorted(seen) == sorted(results.zones["zone_id"])


def test_owslib_filters_sorts_and_reads_one_feature(
    client: Features, results: AnalysisResult
) -> None:
    page = client.collection_items("zones", status="unserved", sortby=("priority", "desc"))
    priorities = [f["properties"]["priority"] for f in page["features"]]
    assert priorities == sorted(priorities, reverse=True)
    assert {f["properties"]["status"] for f in page["features"]} == {"unserved"}
    first = results.flagged().iloc[0]
    feature = client.collection_item("zones", first["zone_id"])
    assert feature["properties"]["rank"] == 1


def test_premises_are_paged_over_http(client: Features) -> None:
    page = client.collection_items("premises", limit=1000, offset=1000)
    assert page["numberReturned"] == 1000
    assert page["numberMatched"] == 60_000


def test_errors_over_http(server: str) -> None:
    response = httpx.get(f"{server}/collections/zones/items", params={"bbox": "1,2,3"})
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"
    assert httpx.get(f"{server}/zones/NOPE").status_code == 404


def test_serve_reports_a_store_it_cannot_open_in_one_line(tmp_path: Path) -> None:
    """The store is opened once the server listens: its error still ends the command, in one
    line with exit status 2."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GEO_SERVICE_")}
    env |= {"GEO_SERVICE_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/nowhere"}
    command = [sys.executable, "-m", "geo_service", "serve", "--port", str(_free_port())]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot connect to the PostGIS database 'nowhere'" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
