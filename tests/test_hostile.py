"""The hostile-input corpus (tests/hostile/) through the CLI and the API, on both stores.

Every case is imported with ``geo-service import`` and uploaded to ``POST /layers/{layer}``:
a refusal is exit status 2 without a traceback and a 4xx JSON answer, both naming the file
and what was expected, and leaves the store exactly as it was (same layers, same versions,
same bytes); a repair imports the layer and reports it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from conftest import require
from fastapi.testclient import TestClient
from hostile.corpus import CASES, Case, write_corpus
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.api.auth import hash_api_key
from geo_service.cli import app as cli
from geo_service.model import CoverageRaster
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore, Store
from geo_service.validation import validate_layer

KEY = "hostile-corpus-test-key-0123456789"
KEY_HASH = hash_api_key(KEY, salt=b"0123456789abcdef")
X0, Y0 = 890_000.0, 6_250_000.0


@dataclass
class Backend:
    """A store holding a small valid territory, the settings that open it, and an API client."""

    name: str
    store: Store
    settings: Settings
    client: TestClient
    env: dict[str, str]
    cli_args: list[str]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus files, written once."""
    folder = tmp_path_factory.mktemp("hostile")
    write_corpus(folder)
    return folder


def _baseline(store: Store) -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A", "B"], "name": ["Zone A", "Zone B"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 100, Y0 + 100),
            shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100),
        ],
        crs="EPSG:2154",
    )
    premises = gpd.GeoDataFrame(
        {"premises_id": ["p1", "p2"], "locaux": [2, 1], "down_class": ["THD30", "HD3"]},
        geometry=[shapely.Point(X0 + 10, Y0 + 10), shapely.Point(X0 + 210, Y0 + 10)],
        crs="EPSG:2154",
    )
    land = gpd.GeoDataFrame(
        {"plot_id": ["T1"], "available": [True]},
        geometry=[shapely.box(X0, Y0, X0 + 50, Y0 + 50)],
        crs="EPSG:2154",
    )
    for name, frame in (("zones", zones), ("premises", premises), ("land", land)):
        canonical, _ = validate_layer(name, frame, "baseline")
        store.write_layer(name, canonical, pipeline.layer_meta(name, source="baseline"))
    raster = CoverageRaster(
        data=np.full((4, 4), 50.0, dtype=np.float32),
        transform=Affine(50, 0, X0, 0, -50, Y0 + 200),
    )
    store.write_raster("coverage", raster, pipeline.layer_meta("coverage", source="baseline"))


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Each store backend, with the baseline territory, its settings and an API client."""
    if request.param == "gpkg":
        data_dir = tmp_path_factory.mktemp("hostile-store")
        settings = Settings(database_url=None, data_dir=data_dir, api_key_hash=KEY_HASH)
        env: dict[str, str] = {}
        cli_args = ["--data-dir", str(data_dir)]
        schema = None
    else:
        import os
        import uuid

        url = os.environ.get("GEO_SERVICE_TEST_DATABASE_URL", "")
        require(bool(url), "GEO_SERVICE_TEST_DATABASE_URL is not set (no PostGIS)")
        schema = f"test_{uuid.uuid4().hex[:12]}"
        settings = Settings(database_url=url, database_schema=schema, api_key_hash=KEY_HASH)
        env = {"GEO_SERVICE_DATABASE_URL": url, "GEO_SERVICE_DATABASE_SCHEMA": schema}
        cli_args = []
    app = create_app(settings)
    store = app.state.workspace.store
    _baseline(store)
    with TestClient(app) as client:
        yield Backend(request.param, store, settings, client, env, cli_args)
    store.close()
    if schema is not None:
        from geo_service.store.postgis import drop_schema

        drop_schema(str(settings.database_url), schema)


def snapshot(store: Store) -> dict[str, Any]:
    """Every layer's version and count, and for the GeoPackage store every file's bytes."""
    state: dict[str, Any] = {
        meta.name: (store.version(meta.name), meta.feature_count) for meta in store.list_layers()
    }
    if isinstance(store, GeoPackageStore):
        for path in sorted(store.root.iterdir()):
            if path.name != ".lock":
                state[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _cli_args(case: Case, corpus: Path, backend: Backend) -> list[str]:
    args = ["import", case.layer, *(str(corpus / name) for name in case.files), *backend.cli_args]
    args += ["--format", case.format] if case.format else []
    return [*args, "--crs", case.crs] if case.crs else args


def _upload(case: Case, corpus: Path, backend: Backend) -> Any:
    files = [
        ("file", (name, (corpus / name).read_bytes(), "application/octet-stream"))
        for name in case.files
    ]
    data = {"format": case.format} if case.format else {}
    data |= {"crs": case.crs} if case.crs else {}
    return backend.client.post(
        f"/layers/{case.layer}", files=files, data=data, headers={"X-API-Key": KEY}
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_cli_refuses_or_repairs(case: Case, corpus: Path, backend: Backend) -> None:
    before = snapshot(backend.store)
    result = CliRunner().invoke(cli, _cli_args(case, corpus, backend), env=backend.env)
    output = " ".join(result.output.split())
    assert "Traceback" not in output
    if case.outcome == "refused":
        assert result.exit_code == 2, output
        assert output.startswith("Error: "), output
        assert re.search(case.expect, output), output
        assert snapshot(backend.store) == before
    else:
        assert result.exit_code == 0, output
        assert re.search(case.expect, output), output
        assert snapshot(backend.store)[case.layer] != before[case.layer]
        analysed = CliRunner().invoke(cli, ["analyze", *backend.cli_args], env=backend.env)
        assert analysed.exit_code == 0, analysed.output  # what the store accepts analyses


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_api_refuses_or_repairs(case: Case, corpus: Path, backend: Backend) -> None:
    before = snapshot(backend.store)
    response = _upload(case, corpus, backend)
    body = response.json()
    if case.outcome == "refused":
        assert 400 <= response.status_code < 500, response.text
        assert set(body) == {"code", "description"}
        assert re.search(case.expect, body["description"]), body["description"]
        assert str(corpus) not in body["description"]
        assert snapshot(backend.store) == before
    else:
        assert response.status_code == 200, response.text
        assert body["rows_kept"] > 0
        assert re.search(case.expect, " ".join(body["warnings"]))
        assert snapshot(backend.store)[case.layer] != before[case.layer]
        analysed = backend.client.post("/analysis", headers={"X-API-Key": KEY})
        assert analysed.status_code == 200, analysed.text  # what the store accepts analyses


def test_the_corpus_is_documented() -> None:
    readme = (Path(__file__).parent / "hostile" / "README.md").read_text()
    assert len(CASES) >= 30
    for case in CASES:
        for name in case.files:
            assert f"`{name}`" in readme, name
