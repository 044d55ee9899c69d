"""Shared fixtures: tiny hand-built layers in Lambert-93 near Marseille, and optional resources.

Tests that need Chromium, PostGIS or ``../shared/realdata`` skip when the resource is absent,
unless ``GEO_SERVICE_REQUIRE_ALL=1`` (set by ``.ci/run``), which turns those skips into failures.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from geo_service.model import CoverageRaster
from geo_service.store import GeoPackageStore, Store

X0, Y0 = 890_000.0, 6_250_000.0
ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"


def require(condition: bool, reason: str) -> None:
    """Skip the calling test unless ``condition``; fail instead under GEO_SERVICE_REQUIRE_ALL=1."""
    if condition:
        return
    if os.environ.get("GEO_SERVICE_REQUIRE_ALL") == "1":
        pytest.fail(f"required resource missing (GEO_SERVICE_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


@pytest.fixture
def realdata() -> Path:
    """The folder of real open-data files, ../shared/realdata."""
    require(REALDATA.is_dir(), f"real data folder {REALDATA} is absent")
    return REALDATA


@pytest.fixture(scope="session")
def database_url() -> str:
    """GEO_SERVICE_TEST_DATABASE_URL, a PostGIS database for the tests (see .ci/postgis.sh)."""
    url = os.environ.get("GEO_SERVICE_TEST_DATABASE_URL", "")
    require(bool(url), "GEO_SERVICE_TEST_DATABASE_URL is not set (no PostGIS)")
    return url


@pytest.fixture
def postgis_schema(database_url: str) -> Iterator[str]:
    """The name of a fresh schema in the test database, dropped after the test."""
    from geo_service.store.postgis import drop_schema

    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield schema
    drop_schema(database_url, schema)


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each backend: GeoPackage in ``tmp_path``, PostGIS in a fresh schema."""
    if request.param == "gpkg":
        yield GeoPackageStore(tmp_path)
        return
    from geo_service.store.postgis import PostGISStore

    postgis = PostGISStore(
        request.getfixturevalue("database_url"), request.getfixturevalue("postgis_schema")
    )
    yield postgis
    postgis.close()


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A rectangle whose lower-left corner is (X0 + x, Y0 + y)."""
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def point(x: float, y: float) -> shapely.Point:
    """The point (X0 + x, Y0 + y)."""
    return shapely.Point(X0 + x, Y0 + y)


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    """Three 1-ha zones side by side, and a two-part zone D."""
    return gpd.GeoDataFrame(
        {
            "zone_id": ["A", "B", "C", "D"],
            "name": ["Zone A", "Zone B", "Zone C", "Zone D"],
            "commune_insee": ["13001", "13001", "13002", "13002"],
        },
        geometry=[
            box(0, 0, 100, 100),
            box(200, 0, 100, 100),
            box(400, 0, 100, 100),
            shapely.MultiPolygon([box(0, 300, 100, 100), box(200, 300, 100, 100)]),
        ],
        crs="EPSG:2154",
    )


@pytest.fixture
def premises() -> gpd.GeoDataFrame:
    """Premises in zones A, B and D (C has none), and one outside every zone."""
    return gpd.GeoDataFrame(
        {
            "premises_id": ["p1", "p2", "p3", "p4", "p5", "p6"],
            "locaux": [3, 1, 2, 5, 1, 7],
            "down_class": ["THD1G", "HD3", "BHD8", "THD30", "INEL", "THD1G"],
            "ftth": [True, False, None, False, False, True],
        },
        geometry=[
            point(10, 10),
            point(20, 20),
            point(210, 10),
            point(50, 350),
            point(250, 350),
            point(700, 700),
        ],
        crs="EPSG:2154",
    )


@pytest.fixture
def coverage() -> CoverageRaster:
    """50 m pixels over y in [0, 100]: 100 Mbit/s, except x in [200, 250) unknown, x >= 400 at 5."""
    data = np.full((2, 10), 100.0, dtype=np.float32)
    data[:, 4] = np.nan
    data[:, 8:] = 5.0
    return CoverageRaster(data=data, transform=Affine(50, 0, X0, 0, -50, Y0 + 100))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, set as GEO_SERVICE_DATA_DIR."""
    path = tmp_path / "data"
    monkeypatch.setenv("GEO_SERVICE_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def analysed_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the demo territory and its analysis, built once per session.

    Treat it as read-only: tests that change a store build their own.
    """
    from geo_service import pipeline
    from geo_service.settings import AnalysisParams
    from geo_service.store import GeoPackageStore

    path = tmp_path_factory.mktemp("analysed-demo")
    store = GeoPackageStore(path)
    pipeline.build_demo_store(store)
    pipeline.analyze_store(store, AnalysisParams())
    return path


@pytest.fixture(scope="module")
def demo_client(analysed_demo_dir: Path) -> Iterator[Any]:
    """A test client of the app serving the analysed demo store, its indexes built."""
    from fastapi.testclient import TestClient

    from geo_service.api import create_app
    from geo_service.api.app import warm_up
    from geo_service.settings import Settings

    app = create_app(Settings(database_url=None, data_dir=analysed_demo_dir))
    warm_up(app)
    with TestClient(app) as client:
        yield client


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (for a command: its fork server, the workers it forked)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    """A file system of ``size`` (``3m``) mounted at ``path`` (made), for a real full disk;
    the test is skipped where mounting is not allowed (it needs root or CAP_SYS_ADMIN)."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a {size} file system here (needs root or CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)
