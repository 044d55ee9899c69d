"""Writing through the API: API keys, uploads and their limits, analysis, deletion, CORS and
security headers, and the in-memory layers refreshed off the event loop."""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.api import create_app
from geo_service.api.auth import MAX_FAILURES, KeyChecker, hash_api_key, verify_api_key
from geo_service.api.security import inline_script_hashes
from geo_service.api.write import safe_file_name
from geo_service.cli import app as cli
from geo_service.errors import AuthError, ForbiddenError
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer
from geo_service.workspace import CacheKey, CacheKind, Workspace
from tests.conftest import small_filesystem

KEY = "write-api-test-key-0123456789abcdef"
KEY_HASH = hash_api_key(KEY, salt=b"fedcba9876543210")
AUTH = {"Authorization": f"Bearer {KEY}"}


def _tiny_store(path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> Path:
    store = GeoPackageStore(path)
    for name, frame in ((pipeline.ZONES, zones), (pipeline.PREMISES, premises)):
        canonical, _ = validate_layer(name, frame, f"test {name}")
        meta = pipeline.layer_meta(name, source="test fixture", data_date=date(2025, 6, 1))
        store.write_layer(name, canonical, meta)
    pipeline.analyze_store(store, AnalysisParams())
    return path


@pytest.fixture
def data_dir(tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> Path:
    """A tiny analysed store."""
    return _tiny_store(tmp_path / "data", zones, premises)


def _client(data_dir: Path, **settings: Any) -> TestClient:
    values: dict[str, Any] = {"database_url": None, "data_dir": data_dir, "api_key_hash": KEY_HASH}
    values.update(settings)
    return TestClient(create_app(Settings(**values)))


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    """A client of the app with an API key configured."""
    with _client(data_dir) as test_client:
        yield test_client


def _geojson(zones: gpd.GeoDataFrame) -> bytes:
    return zones.to_json().encode()


def _upload(
    client: TestClient,
    content: bytes,
    name: str = "zones.geojson",
    headers: dict[str, str] | None = None,
    media_type: str = "application/geo+json",
    **fields: str,
) -> Any:
    return client.post(
        "/layers/zones",
        files=[("file", (name, content, media_type))],
        data=fields,
        headers=AUTH if headers is None else headers,
    )


# -- keys ------------------------------------------------------------------------------------


def test_a_key_hash_verifies_its_key_only() -> None:
    assert verify_api_key(KEY, KEY_HASH)
    assert not verify_api_key(KEY + "x", KEY_HASH)
    assert not verify_api_key(KEY, "scrypt$1$1$1$AAAA$AAAA")
    assert not verify_api_key(KEY, "md5$whatever")
    assert KEY not in KEY_HASH
    assert hash_api_key(KEY) != hash_api_key(KEY)  # salted
    checker = KeyChecker(KEY_HASH)
    checker.check(KEY)
    checker.check(KEY)  # remembered
    with pytest.raises(ForbiddenError):
        checker.check("wrong-key-of-some-length")
    with pytest.raises(AuthError):
        checker.check(None)
    with pytest.raises(ValueError, match="api_key_hash"):
        Settings(api_key_hash="plain-text-key")


def test_hash_key_command_prints_a_working_hash() -> None:
    result = CliRunner().invoke(cli, ["hash-key"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    key = next(line for line in lines if len(line) >= 40 and "=" not in line and " " not in line)
    hashed = next(line for line in lines if line.startswith("GEO_SERVICE_API_KEY_HASH="))
    assert verify_api_key(key, hashed.split("=", 1)[1].strip("'"))
    given = CliRunner().invoke(cli, ["hash-key", "--key-stdin"], input="my-own-key-of-20-chars\n")
    assert given.exit_code == 0
    assert "my-own-key" not in given.output
    stored = given.output.split("GEO_SERVICE_API_KEY_HASH=")[1].split()[0].strip("'")
    assert verify_api_key("my-own-key-of-20-chars", stored)
    short = CliRunner().invoke(cli, ["hash-key", "--key-stdin"], input="short\n")
    assert short.exit_code == 2
    assert "16 to 256 characters" in short.output


def test_writes_need_the_key(client: TestClient, zones: gpd.GeoDataFrame) -> None:
    for method, url in (
        ("post", "/layers/zones"),
        ("post", "/analysis"),
        ("delete", "/layers/land"),
    ):
        missing = client.request(method.upper(), url)
        assert missing.status_code == 401, missing.text
        assert missing.headers["www-authenticate"] == 'Bearer realm="geo-service"'
        assert missing.json()["code"] == "Unauthorized"
        wrong = client.request(method.upper(), url, headers={"X-API-Key": "not-the-key-at-all"})
        assert wrong.status_code == 403
        assert wrong.json()["description"] == "the API key is not valid"
    by_header = _upload(client, _geojson(zones), headers={"X-API-Key": KEY})
    assert by_header.status_code == 200, by_header.text


def test_a_flood_of_wrong_keys_is_refused_without_hashing(client: TestClient) -> None:
    for _ in range(MAX_FAILURES):
        wrong = client.post("/analysis", headers={"X-API-Key": "not-the-key-at-all"})
        assert wrong.status_code == 403
    start = time.perf_counter()
    flooded = client.post("/analysis", headers={"X-API-Key": "not-the-key-at-all"})
    elapsed = time.perf_counter() - start
    assert flooded.status_code == 429, flooded.text
    assert flooded.json()["description"].startswith(
        f"{MAX_FAILURES} wrong API keys from this client in the last 60 s; retry in "
    )
    assert 1 <= int(flooded.headers["retry-after"]) <= 60
    assert elapsed < 0.5  # no scrypt: a hash alone takes tens of ms, each of ten more
    # the right key too waits its turn, but other clients are not concerned
    assert client.post("/analysis", headers=AUTH).status_code == 429
    checker: KeyChecker = client.app.state.key_checker  # type: ignore[attr-defined]
    checker.check(KEY, "192.0.2.7")
    with pytest.raises(ForbiddenError):
        checker.check("another-wrong-key-here", "192.0.2.8")


def test_the_key_is_checked_before_the_body_is_read(data_dir: Path) -> None:
    with _client(data_dir, max_upload_mb=0.001) as local:
        response = _upload(local, b"x" * 50_000, headers={})
    assert response.status_code == 401


def test_writes_are_disabled_without_a_key_hash(data_dir: Path, zones: gpd.GeoDataFrame) -> None:
    with _client(data_dir, api_key_hash=None) as local:
        for method, url in (("POST", "/layers/zones"), ("POST", "/analysis")):
            response = local.request(method, url, headers=AUTH)
            assert response.status_code == 403
            assert "GEO_SERVICE_API_KEY_HASH" in response.json()["description"]
        assert local.get("/collections/zones/items").status_code == 200


# -- upload, analysis, deletion -----------------------------------------------------------


def test_upload_import_analyse_and_read_back(client: TestClient, zones: gpd.GeoDataFrame) -> None:
    before = client.get("/collections/zones/items").json()["numberMatched"]
    renamed = zones.assign(name=[f"Nouvelle {n}" for n in zones["name"]]).iloc[:3]
    response = _upload(client, _geojson(renamed), source="Upload test", date="2025-09-01")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["layer"] == "zones"
    assert report["format"] == "generic-zones"
    assert report["files"] == ["zones.geojson"]
    assert (report["rows_read"], report["rows_kept"]) == (3, 3)
    assert report["version"]
    meta = client.app.state.workspace.store.layer_meta("zones")  # type: ignore[attr-defined]
    assert (meta.source, meta.data_date) == ("Upload test", date(2025, 9, 1))
    assert client.get("/collections/zones/items").json()["numberMatched"] == before
    analysed = client.post("/analysis", headers=AUTH, json={"served_thd30_share": 0.4})
    assert analysed.status_code == 200, analysed.text
    run = analysed.json()
    assert run["zones"] == 3
    assert run["thresholds"]["served_thd30_share"] == 0.4
    items = client.get("/collections/zones/items").json()
    assert items["numberMatched"] == 3
    assert {f["properties"]["name"] for f in items["features"]} == set(renamed["name"])
    zone = client.get("/zones/A").json()
    assert zone["run"]["thresholds"]["served_thd30_share"] == 0.4


def test_analysis_parameters_are_validated(client: TestClient) -> None:
    for body in ({"served_thd30_share": 2}, {"unknown": 1}, [1, 2]):
        response = client.post("/analysis", headers=AUTH, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "InvalidParameterValue"
    text = client.post("/analysis", headers={**AUTH, "Content-Type": "text/plain"}, content="x=1")
    assert text.status_code == 415
    zero = client.post(
        "/analysis",
        headers=AUTH,
        json={"priority_weight_gap": 0, "priority_weight_land": 0, "priority_weight_locaux": 0},
    )
    assert zero.status_code == 400
    assert client.post("/analysis", headers=AUTH).status_code == 200


def test_delete_a_layer(client: TestClient) -> None:
    assert client.get("/collections/premises/items").status_code == 200
    deleted = client.delete("/layers/premises", headers=AUTH)
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": "premises"}
    assert client.get("/collections/premises/items").status_code == 404
    assert client.delete("/layers/premises", headers=AUTH).status_code == 404
    assert client.delete("/layers/..%2F..%2Fetc", headers=AUTH).status_code in (400, 404)
    assert client.delete("/layers/Zones", headers=AUTH).status_code == 400


def test_layer_names_are_validated(client: TestClient, zones: gpd.GeoDataFrame) -> None:
    for layer in ("Zones", "zone_results", "a" * 80, "zones;drop"):
        response = client.post(
            f"/layers/{layer}", files=[("file", ("z.geojson", _geojson(zones)))], headers=AUTH
        )
        assert response.status_code == 400, (layer, response.text)
        assert "layer" in response.json()["description"]
    traversal = client.post(
        "/layers/..%2Fzones", files=[("file", ("z.geojson", _geojson(zones)))], headers=AUTH
    )
    assert traversal.status_code in (400, 404)


@pytest.mark.parametrize("size_mb", [0.5, 3.0])
def test_an_upload_the_server_has_no_room_for_is_a_503_without_its_paths(
    size_mb: float,
    data_dir: Path,
    zones: gpd.GeoDataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0.5 MB: kept in memory by the multipart parser, then copied into the upload folder;
    # 3 MB: spooled by the parser to the temporary directory first. Both fill a 1 MB one.
    content = _geojson(zones) + b" " * int(size_mb * 1e6)
    before = {p.name: p.read_bytes() for p in (data_dir / "store").iterdir()}
    with small_filesystem(tmp_path / "tmp", "1m") as small:
        (small / "filler").write_bytes(b"x" * 600_000)  # some of it taken already
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        with _client(data_dir) as local:
            answer = _upload(local, content)
        assert not [p for p in small.iterdir() if p.name != "filler"]  # nothing left behind
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["code"] == "InsufficientStorage"
    assert body["description"].startswith("the server cannot keep the upload")
    assert (
        "temporary directory cannot be written (No space left on device); nothing was "
        in body["description"]
    )
    assert str(tmp_path) not in body["description"]
    assert {p.name: p.read_bytes() for p in (data_dir / "store").iterdir()} == before


def test_upload_limits_and_types(data_dir: Path, zones: gpd.GeoDataFrame) -> None:
    content = _geojson(zones)
    with _client(data_dir, max_upload_mb=0.001, max_upload_files=2) as local:
        declared = _upload(local, content + b" " * 2000)
        assert declared.status_code == 413
        assert declared.json()["code"] == "PayloadTooLarge"

        def chunks() -> Iterator[bytes]:
            boundary = b"--B\r\n"
            yield boundary
            yield b'Content-Disposition: form-data; name="file"; filename="z.geojson"\r\n\r\n'
            for _ in range(10):
                yield b" " * 500
            yield b"\r\n--B--\r\n"

        streamed = local.post(
            "/layers/zones",
            content=chunks(),
            headers={**AUTH, "Content-Type": "multipart/form-data; boundary=B"},
        )
        assert streamed.status_code == 413, streamed.text
        files = [("file", (f"z{i}.geojson", b"{}", "application/json")) for i in range(3)]
        assert local.post("/layers/zones", files=files, headers=AUTH).status_code == 400
    with _client(data_dir) as local:
        as_json = local.post("/layers/zones", headers=AUTH, json={"file": "x"})
        assert as_json.status_code == 415
        exe = _upload(local, content, name="zones.exe")
        assert exe.status_code == 415
        assert "'.exe'" in exe.json()["description"]
        html = _upload(local, content, media_type="text/html")
        assert html.status_code == 415
        unknown = _upload(local, content, colour="red")
        assert unknown.status_code == 400
        assert "'colour'" in unknown.json()["description"]
        flag = _upload(local, content, append="perhaps")
        assert flag.status_code == 400
        nothing = local.post("/layers/zones", data={"format": "generic-zones"}, headers=AUTH)
        assert nothing.status_code in (400, 415)


def test_uploaded_file_names_are_sanitised(client: TestClient, zones: gpd.GeoDataFrame) -> None:
    assert safe_file_name("../../etc/passwd.geojson") == "passwd.geojson"
    assert safe_file_name("C:\\Users\\x\\zones.GeoJSON") == "zones.GeoJSON"
    assert safe_file_name("zönes d'activité.csv") == "zones_d_activite.csv"
    assert safe_file_name(".hidden.gpkg") == "hidden.gpkg"
    assert len(safe_file_name("z" * 500 + ".geojson")) <= 100
    assert safe_file_name("z" * 500 + ".geojson").endswith(".geojson")
    with pytest.raises(Exception, match="not usable"):
        safe_file_name("../..")
    response = _upload(client, _geojson(zones), name="../../../tmp/evil zones.geojson")
    assert response.status_code == 200, response.text
    assert response.json()["files"] == ["evil_zones.geojson"]
    assert not Path("/tmp/evil zones.geojson").exists()


def test_a_refused_upload_names_the_file_not_the_server_path(client: TestClient) -> None:
    response = _upload(client, b'{"type": "FeatureCollection", "features": []}')
    assert response.status_code == 400
    description = response.json()["description"]
    assert description.startswith("zones.geojson: the layer is empty")
    assert "/tmp" not in description


def test_a_shapefile_with_its_companions(
    client: TestClient, zones: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    zones.to_file(tmp_path / "zae.shp")
    files = [
        ("file", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in sorted(tmp_path.glob("zae.*"))
    ]
    response = client.post("/layers/zones", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["files"] == ["zae.shp"]


def test_concurrent_writes_are_serialised(client: TestClient, zones: gpd.GeoDataFrame) -> None:
    results: list[int] = []

    def write(i: int) -> None:
        renamed = zones.assign(name=[f"Écriture {i} {n}" for n in zones["name"]])
        results.append(_upload(client, _geojson(renamed)).status_code)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4
    names = set(client.app.state.workspace.store.read_layer("zones")["name"])  # type: ignore[attr-defined]
    assert len({name.split(" ")[1] for name in names}) == 1


# -- CORS and security headers -------------------------------------------------------------


def test_cors_is_for_reads_only(client: TestClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    read = client.get("/collections", headers=origin)
    assert read.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/layers/zones",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "POST" not in preflight.headers.get("access-control-allow-methods", "")
    write = client.post("/analysis", headers={**origin, **AUTH})
    assert write.status_code == 200
    assert "access-control-allow-origin" not in write.headers


def test_security_headers_on_every_response(client: TestClient) -> None:
    for url in (
        "/",
        "/collections/zones/items",
        "/collections?f=html",
        "/zones/A/opinion?f=html",
        "/maps/territory",
        "/assets/leaflet/leaflet.js",
        "/docs",
        "/no/such/page",
    ):
        response = client.get(url)
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", url
        assert headers["referrer-policy"] == "same-origin", url
        assert headers["cross-origin-resource-policy"] == "same-origin", url
        assert "server" not in headers, url
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy, url
        if not url.startswith(("/maps", "/docs")):
            assert "frame-ancestors 'none'" in policy, url
            assert headers["x-frame-options"] == "DENY", url
            assert "script-src" not in policy, url


def test_map_pages_allow_their_own_inline_scripts_only(client: TestClient) -> None:
    response = client.get("/maps/territory")
    policy = response.headers["content-security-policy"]
    scripts = policy.split("script-src ")[1].split(";")[0].split()
    assert "'unsafe-inline'" not in scripts
    assert "'self'" in scripts
    hashes = inline_script_hashes(response.text)
    assert hashes
    assert all(f"'{h}'" in scripts for h in hashes)
    assert "frame-ancestors 'self'" in policy
    assert "x-frame-options" not in response.headers


# -- refreshing the served layers off the event loop ---------------------------------------


def test_a_refresh_serves_the_old_values_until_the_new_ones_are_ready(data_dir: Path) -> None:
    workspace = Workspace(Settings(database_url=None, data_dir=data_dir))
    started, release = threading.Event(), threading.Event()
    calls = {"n": 0}

    def load() -> int:
        calls["n"] += 1
        if calls["n"] > 1:
            started.set()
            assert release.wait(10)
        return calls["n"]

    assert workspace.cached(CacheKey(CacheKind.API, "test"), "zones", load) == 1
    store = workspace.store
    store.write_layer("zones", store.read_layer("zones"), store.layer_meta("zones"))
    assert workspace.stale()
    future = workspace.start_refresh()
    assert started.wait(10)
    assert workspace.refreshing()
    assert (
        workspace.cached(CacheKey(CacheKind.API, "test"), "zones", load) == 1
    )  # old value while rebuilding
    release.set()
    future.result(10)
    assert not workspace.stale()
    assert workspace.cached(CacheKey(CacheKind.API, "test"), "zones", load) == 2


def test_reads_stay_fast_while_a_rebuild_runs(data_dir: Path) -> None:
    with _client(data_dir) as local:
        workspace: Workspace = local.app.state.workspace  # type: ignore[attr-defined]
        assert local.get("/collections/zones/items").status_code == 200
        release = threading.Event()
        original = workspace.refresh

        def slow_refresh() -> None:
            assert release.wait(10)
            original()

        workspace.refresh = slow_refresh  # type: ignore[method-assign]
        store = workspace.store
        store.write_layer(
            "zone_results",
            store.read_layer("zone_results").iloc[:2],
            store.layer_meta("zone_results"),
        )
        workspace.start_refresh()
        start = time.perf_counter()
        during = local.get("/collections/zones/items").json()["numberMatched"]
        elapsed = time.perf_counter() - start
        release.set()
        workspace._pending.result(10)  # type: ignore[union-attr]
        after = local.get("/collections/zones/items").json()["numberMatched"]
    assert (during, after) == (4, 2)
    assert elapsed < 2.0
    json.dumps(during)


def test_a_request_reads_one_generation_of_the_cache(data_dir: Path) -> None:
    workspace = Workspace(Settings(database_url=None, data_dir=data_dir))
    before = workspace.results()
    store = workspace.store
    with workspace.pinned():
        strict = AnalysisParams(served_thd30_share=1.0, unserved_bhd8_share=0.99)
        pipeline.analyze_store(store, strict)
        workspace.refresh()  # another thread's refresh swaps in the new results
        assert workspace.results() is before  # this request still reads its generation
        derived = workspace.cached(
            CacheKey(CacheKind.MAP, "test"), "zone_results", lambda: workspace.results()
        )
        assert derived is before
    after = workspace.results()
    assert after is not before
    assert after.run.params.served_thd30_share == 1.0
    # the value derived inside the request was tagged with its generation: rebuilt now
    assert (
        workspace.cached(
            CacheKey(CacheKind.MAP, "test"), "zone_results", lambda: workspace.results()
        )
        is after
    )


def test_a_read_on_an_event_loop_outside_a_request_is_not_stale(data_dir: Path) -> None:
    # A notebook cell runs on a running event loop: it reads what the store now holds.
    workspace = Workspace(Settings(database_url=None, data_dir=data_dir))
    before = workspace.results()
    strict = AnalysisParams(served_thd30_share=1.0, unserved_bhd8_share=0.99)
    pipeline.analyze_store(workspace.store, strict)

    async def read() -> AnalysisResult:
        return workspace.results()

    after = asyncio.run(read())
    assert after is not before
    assert after.run.params.served_thd30_share == 1.0
    assert not workspace.refreshing()
