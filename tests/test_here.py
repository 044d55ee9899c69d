""" "What is here?" as a library function and as ``geo-service here``, agreeing with the API."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.analysis.point import what_is_here
from geo_service.api import create_app
from geo_service.cli import app
from geo_service.model import CLASS_MIN_MBPS, OUTPUT_CRS, SPEED_CLASSES, speed_to_class
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore

runner = CliRunner(env={"COLUMNS": "200"})


def test_speed_classes_are_the_best_class_reached() -> None:
    speeds = [0.0, 0.4, 0.5, 7.99, 8.0, 30.0, 99.9, 100.0, 1000.0, 5000.0, float("nan"), -1.0]
    expected = [
        max((c for c in SPEED_CLASSES if s >= CLASS_MIN_MBPS[c]), key=SPEED_CLASSES.index)
        if s >= 0
        else None
        for s in speeds
    ]
    assert list(speed_to_class(speeds)) == expected


@pytest.fixture(scope="module")
def spot(analysed_demo_dir: Path) -> tuple[float, float, str]:
    """A point inside the eleventh zone of the demo (lon, lat) and that zone's id."""
    zones = GeoPackageStore(analysed_demo_dir).read_layer("zone_results").to_crs(OUTPUT_CRS)
    zone = zones.iloc[10]
    point = zone.geometry.representative_point()
    return point.x, point.y, str(zone["zone_id"])


def test_library_here_agrees_with_the_api(
    analysed_demo_dir: Path, spot: tuple[float, float, str]
) -> None:
    lon, lat, zone_id = spot
    found = pipeline.here(GeoPackageStore(analysed_demo_dir), lon, lat)
    assert zone_id in found.zones["zone_id"].tolist()
    app_ = create_app(Settings(database_url=None, data_dir=analysed_demo_dir))
    with TestClient(app_) as client:
        served = client.get("/here", params={"lon": lon, "lat": lat}).json()
    assert [z["id"] for z in served["zones"]] == found.zones["zone_id"].tolist()
    assert found.commune is not None
    assert served["commune"]["commune_insee"] == found.commune["commune_insee"]
    assert found.nearest_premises is not None
    assert served["nearest_premises"]["id"] == found.nearest_premises["premises_id"]
    assert served["nearest_premises"]["distance_m"] == found.nearest_premises["distance_m"]
    assert served["coverage"] == found.coverage


def test_here_without_layers_is_empty() -> None:
    found = what_is_here(5.4, 43.3)
    assert len(found.zones) == 0
    assert (found.commune, found.nearest_premises, found.coverage) == (None, None, None)


def test_here_far_from_everything(analysed_demo_dir: Path) -> None:
    found = pipeline.here(GeoPackageStore(analysed_demo_dir), -4.5, 48.4, radius_m=10)
    assert len(found.zones) == 0
    assert found.commune is None
    assert found.nearest_premises is None
    assert found.coverage == {"mbps": None, "speed_class": None}


def test_cli_here(analysed_demo_dir: Path, spot: tuple[float, float, str]) -> None:
    lon, lat, zone_id = spot
    result = runner.invoke(app, ["here", str(lon), str(lat), "--data-dir", str(analysed_demo_dir)])
    assert result.exit_code == 0, result.output
    assert f"Zone {zone_id} " in result.output
    assert "Commune: " in result.output
    assert "Commune: none" not in result.output
    assert "Nearest building: DEMO-" in result.output
    assert "Coverage raster: " in result.output
    far = runner.invoke(app, ["here", "--data-dir", str(analysed_demo_dir), "--", "-4.5", "48.4"])
    assert far.exit_code == 0, far.output
    assert "Zones: none" in far.output
    assert "Nearest building: none within 500 m" in far.output
    # outside the territory it says so, names no « nearest » facility hundreds of km away
    assert "Outside the loaded territory" in far.output
    assert "Nearest motorway interchange" not in far.output
    assert "Nearest motorway interchange: " in result.output
    # English words, English numbers (it printed "at 90,2 m")
    assert re.search(r"at \d+\.\d m, ", result.output), result.output
    assert not re.search(r"\d,\d", result.output.split("\n", 1)[1]), result.output
    bad = runner.invoke(app, ["here", "5.4", "95", "--data-dir", str(analysed_demo_dir)])
    assert bad.exit_code == 2
    assert "Invalid value for 'LAT'" in bad.output


def test_zone_rows_keep_their_geometry_crs_independent(analysed_demo_dir: Path) -> None:
    store = GeoPackageStore(analysed_demo_dir)
    zones = store.read_layer("zone_results")
    lonlat = gpd.GeoDataFrame(zones, geometry=zones.geometry, crs=zones.crs).to_crs(OUTPUT_CRS)
    point = lonlat.geometry.iloc[0].representative_point()
    in_lambert = what_is_here(point.x, point.y, zones=zones).zones["zone_id"].tolist()
    in_lonlat = what_is_here(point.x, point.y, zones=lonlat).zones["zone_id"].tolist()
    assert in_lambert == in_lonlat
    assert np.isin(str(zones["zone_id"].iloc[0]), in_lambert)
