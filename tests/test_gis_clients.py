"""Real GIS clients against a live ``geo-service serve``: GDAL's OAPIF driver (the system's
``ogr2ogr`` and the GDAL bundled with pyogrio), OWSLib and, where it is installed, QGIS.

None of them was written here: if they read every page, send their filters to the server,
ask for Lambert-93 and open the vector tiles, the GIS users' tools do too. ``.ci/run`` installs
``gdal-bin`` and QGIS; without them these tests skip (fail under GEO_SERVICE_REQUIRE_ALL=1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
from owslib.ogcapi.features import Features

from tests.conftest import require
from tests.test_api_server import server  # noqa: F401 - the live server fixture

L93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
SYSTEM_PYTHON = "/usr/bin/python3"


def _matched(url: str, collection: str, **params: str) -> int:
    page = httpx.get(f"{url}/collections/{collection}/items", params={"limit": "1", **params})
    number: int = page.json()["numberMatched"]
    return number


def test_ogr2ogr_reads_every_premises_with_page_size_5000(
    server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    ogr2ogr = shutil.which("ogr2ogr")
    require(ogr2ogr is not None, "GDAL's ogr2ogr is not installed (Debian gdal-bin)")
    out = tmp_path / "premises.geojson"
    subprocess.run(
        [
            str(ogr2ogr),
            "-f",
            "GeoJSON",
            str(out),
            f"OAPIF:{server}",
            "premises",
            "-oo",
            "PAGE_SIZE=5000",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    features = json.loads(out.read_text())["features"]
    assert len(features) == _matched(server, "premises")
    assert len({f["properties"]["premises_id"] for f in features}) == len(features)


def _pyogrio_script(url: str, where: str) -> str:
    return textwrap.dedent(
        f"""
        import json, pyogrio
        frame = pyogrio.read_dataframe(
            "OAPIF:{url}", layer="zones", where={where!r}, PAGE_SIZE=5000
        )
        print(json.dumps({{"ids": sorted(frame["zone_id"]), "crs": frame.crs.to_string(),
                          "x": float(frame.geometry.iloc[0].bounds[0])}}))
        """
    )


def test_gdal_sends_its_where_to_the_server_and_reads_lambert_93(server: str) -> None:  # noqa: F811
    """GDAL (3.12, bundled with pyogrio) turns ``-where`` into a CQL filter for the server and
    asks for the storage CRS, Lambert-93 (Part 2)."""
    where = "status = 'unserved'"
    result = subprocess.run(
        [sys.executable, "-c", _pyogrio_script(server, where)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CPL_DEBUG": "ON", "NO_PROXY": "127.0.0.1"},
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    requested = [line for line in result.stderr.splitlines() if "/collections/zones/items?" in line]
    assert any("filter=status%20%3D%20'unserved'" in line for line in requested), requested
    assert any(f"crs={L93}" in line for line in requested), requested
    assert answer["crs"] == "EPSG:2154"
    assert answer["x"] > 100_000  # metres, not degrees
    expected = httpx.get(
        f"{server}/collections/zones/items",
        params={"filter": where, "limit": "1000", "skipGeometry": "true"},
    ).json()
    assert answer["ids"] == sorted(f["id"] for f in expected["features"])


def test_owslib_filters_with_cql2_and_reads_lambert_93(server: str) -> None:  # noqa: F811
    client = Features(server)
    page = client.collection_items(
        "zones", filter="priority > 50 AND available_land_ha > 1", limit=1000
    )
    props = [f["properties"] for f in page["features"]]
    assert props
    assert all(p["priority"] > 50 and p["available_land_ha"] > 1 for p in props)
    assert page["numberMatched"] == len(props)
    projected = client.collection_items("zones", crs=L93, limit=1)
    ring = projected["features"][0]["geometry"]["coordinates"][0][0]
    assert ring[0][0] > 100_000


def _has_qgis() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60
    )
    return probe.returncode == 0


QGIS_SCRIPT = """
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsFeatureRequest, QgsVectorLayer, QgsVectorTileLayer
app = QgsApplication([], False)
app.initQgis()
url = sys.argv[1]
zones = QgsVectorLayer(f"url='{url}' typename='zones'", "zones", "OAPIF")
unserved = QgsFeatureRequest().setFilterExpression("status = 'unserved'")
template = f"{url}/collections/zones/tiles/WebMercatorQuad/%7Bz%7D/%7By%7D/%7Bx%7D"
tiles = QgsVectorTileLayer(f"type=xyz&url={template}&zmin=0&zmax=22", "tiles")
print(json.dumps({
    "valid": zones.isValid(),
    "count": zones.featureCount(),
    "unserved": sum(1 for _ in zones.getFeatures(unserved)),
    "tiles": tiles.isValid(),
}))
app.exitQgis()
"""


def test_qgis_reads_the_zones_and_opens_the_vector_tiles(server: str) -> None:  # noqa: F811
    require(_has_qgis(), "PyQGIS is not installed (Debian python3-qgis)")
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_SCRIPT, server],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_PROXY": "127.0.0.1"},
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-2000:]
    answer = json.loads(lines[-1])
    assert answer["valid"]
    assert answer["count"] == _matched(server, "zones")
    assert answer["unserved"] == _matched(server, "zones", status="unserved")
    assert answer["tiles"]
