"""Unknown is not zero, on every surface: a zone whose status comes from its commune's ARCEP
statistics that give only the share connectable to fibre (FTTH observatory) has no THD30 share.

Every surface people or programs read must say so ("non mesuré", "—", ``null``, an empty CSV
cell, "au moins" for the fibre share that bounds it from below), never 0 and never the fibre
share passed off as the THD30 share: map popups and the zone map's panel, the HTML items pages,
the zone, commune and territory opinions, the CSV and GeoJSON exports, the JSON API.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.analysis.fields import RESULT_FIELDS, UNMEASURED
from geo_service.api import create_app
from geo_service.api.labels import label
from geo_service.export import export_results
from geo_service.model import CANONICAL_CRS
from geo_service.settings import AnalysisParams, Settings
from geo_service.sources.arcep_communes import COMMUNE_COVERAGE_COLUMNS
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer
from tests.conftest import box, point
from tests.test_maps import count_calls, popup_fields, script_argument

SHARES = ("share_bhd8", "share_thd30", "share_thd100", "share_thd1g", "share_ftth")
ZERO = re.compile(r"(?<![\d,])0\s?\u202f?%")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zone A measured by its premises (25 % everywhere); zone C without premises, in a commune
    the FTTH observatory alone describes (20 % connectable to fibre, nothing else)."""
    path = tmp_path_factory.mktemp("unknown")
    store = GeoPackageStore(path)
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A", "C"], "name": ["Zone A", "Zone C"], "commune_insee": ["13001", "13002"]},
        geometry=[box(0, 0, 100, 100), box(400, 0, 100, 100)],
        crs="EPSG:2154",
    )
    premises = gpd.GeoDataFrame(
        {"premises_id": ["p1", "p2"], "locaux": [3, 1], "down_class": ["HD3", "THD1G"]},
        geometry=[point(10, 10), point(20, 20)],
        crs="EPSG:2154",
    )
    for name, frame in (("zones", zones), ("premises", premises)):
        canonical, _ = validate_layer(name, frame, f"test {name}")
        store.write_layer(name, canonical, pipeline.layer_meta(name, source="test"))
    figures = {"commune_insee": "13002", "share_ftth": 0.2, "ftth_class": 10, "period": "T1 2018"}
    table = pd.DataFrame([figures]).reindex(columns=list(COMMUNE_COVERAGE_COLUMNS))
    coverage = gpd.GeoDataFrame(table, geometry=[None], crs=CANONICAL_CRS)
    store.write_layer(
        "commune_coverage", coverage, pipeline.layer_meta("commune_coverage", source="test")
    )
    pipeline.analyze_store(store, AnalysisParams())
    return path


@pytest.fixture(scope="module")
def result(data_dir: Path) -> AnalysisResult:
    return pipeline.load_results(GeoPackageStore(data_dir))


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=None, data_dir=data_dir, basemap="none")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def text_of(page: str) -> str:
    """The visible text of an HTML page, cells separated by `` | ``."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    cells = re.sub(r"(\s*\|\s*)+", " | ", re.sub(r"<[^>]+>", "|", body))
    return html.unescape(cells)


def test_the_fixture_is_the_case(result: AnalysisResult) -> None:
    c = result.zones.set_index("zone_id").loc["C"]
    assert (c["status"], c["status_basis"]) == ("underserved", "commune")
    assert pd.isna(c["share_thd30"])
    assert pd.isna(c["commune_share_thd30"])
    assert c["commune_share_ftth"] == pytest.approx(0.2)


def test_popup_and_tooltip(client: TestClient) -> None:
    page = client.get("/maps/territory").text
    features = {
        f["properties"]["id"]: f["properties"] for f in script_argument(page, "zones")["features"]
    }
    fields = popup_fields(features["C"]["p"])
    assert fields["commune_share_thd30"] == UNMEASURED
    assert fields["commune_share_bhd8"] == UNMEASURED
    assert fields["commune_share_ftth"] == "20\u202f%"
    assert not ZERO.search(" ".join(v for k, v in fields.items() if "share" in k))
    assert "20\u202f% des locaux de la commune raccordables à la fibre" in features["C"]["t"]
    assert "à ≥\u202f30" not in html.unescape(features["C"]["t"])


def test_zone_map_panel(client: TestClient) -> None:
    page = client.get("/maps/zones/C").text
    assert count_calls(page, "panel") == 1
    fields = popup_fields(script_argument(page, "panel")["html"])
    assert fields["commune_share_thd30"] == UNMEASURED
    assert fields["commune_share_ftth"] == "20\u202f%"


def test_html_items(client: TestClient) -> None:
    item = text_of(client.get("/collections/zones/items/C?f=html").text)
    for column in SHARES:
        assert f"| {label('zone_results', column)} | — |" in item, column
    assert "d'après les statistiques communales de l'Arcep" in item
    listing = client.get("/collections/zones/items?f=html").text
    row = next(r for r in listing.split("<tr") if ">Zone C<" in r)
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
    assert "0\u202f%" not in cells
    assert cells.count("—") >= len(SHARES)


def test_html_communes_show_the_known_shares(client: TestClient) -> None:
    """The commune's own ARCEP shares once had the zones' labels: the unknown ARCEP figure
    overwrote the known zone share in the HTML table, which read "—" for a measured 25 %."""
    listing = client.get("/collections/communes/items?f=html").text
    row = next(r for r in listing.split("<tr") if ">13001<" in r)
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
    assert cells.count("25\u202f%") == 4  # BHD8, THD30, THD100, THD1G of zone A's locaux
    assert "Zones (served)" not in listing
    assert "Zones non desservies" in listing


@pytest.mark.parametrize("layer", sorted(RESULT_FIELDS))
def test_labels_are_unique_within_a_layer(layer: str) -> None:
    labels = [f.label for f in RESULT_FIELDS[layer]]
    assert len(labels) == len(set(labels)), [x for x in labels if labels.count(x) > 1]


def test_zone_opinion(client: TestClient) -> None:
    page = text_of(client.get("/zones/C/opinion?f=html").text)
    assert f"| Locaux de la commune à ≥\u202f30\u202fMbit/s (Arcep) | {UNMEASURED} |" in page
    assert "n'atteint que 20" not in page  # the fibre share is not the THD30 share
    assert "la part des locaux à ≥\u202f30\u202fMbit/s n'y étant pas mesurée" in page
    markdown = client.get("/zones/C/opinion?f=md").text
    assert UNMEASURED in markdown
    assert "n'atteint que 20" not in markdown


@pytest.mark.parametrize("url", ["/communes/13002/opinion", "/territory/opinion"])
def test_commune_and_territory_tables(client: TestClient, url: str) -> None:
    page = text_of(client.get(f"{url}?f=html").text)
    assert "| mal desservie | au moins 20\u202f% (commune) |" in page
    assert "| mal desservie | 20\u202f% |" not in page
    assert "«\u202fau moins\u202f» quand seule la part raccordable à la fibre" in page
    markdown = client.get(f"{url}?f=md").text
    assert "au moins 20\u202f% (commune)" in markdown


def test_csv_and_geojson_exports(result: AnalysisResult, tmp_path: Path) -> None:
    export_results(result, tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(encoding="utf-8") as f:
        c = next(r for r in csv.DictReader(f) if r["zone_id"] == "C")
    assert all(c[column] == "" for column in (*SHARES, "commune_share_thd30"))
    assert c["commune_share_ftth"] == "0.2"
    export_results(result, tmp_path / "r.geojson")
    features = json.loads((tmp_path / "r.geojson").read_text("utf-8"))["features"]
    props = next(f["properties"] for f in features if f["properties"]["zone_id"] == "C")
    assert all(props[column] is None for column in (*SHARES, "commune_share_thd30"))


def test_json_api(client: TestClient) -> None:
    metrics = client.get("/zones/C").json()["metrics"]
    assert all(metrics[column] is None for column in SHARES)
    props = client.get("/collections/zones/items/C").json()["properties"]
    assert all(props[column] is None for column in (*SHARES, "commune_share_thd30"))
    assert props["commune_share_ftth"] == pytest.approx(0.2)


def test_cli_analyze_speaks_french(data_dir: Path) -> None:
    """`geo-service analyze` mixed English statuses and words with French numbers and
    reasons, and printed the commune's fibre share as the zone's THD30 share."""
    from typer.testing import CliRunner

    from geo_service.cli import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["analyze", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "Zone C" in x)
    assert "mal desservie, priorité 40,0/100" in line
    assert "≥ 30 Mbit/s : au moins 20\u202f% (commune)" in line
    assert "2 zones d'activités" in result.output
    for english in ("underserved", "unserved", "priority", "land:", "activity zones", "Flagged"):
        assert english not in result.output, english


def test_html_items_show_statuses_in_their_colours(client: TestClient) -> None:
    from geo_service.maps.style import STATUS_TEXT_COLOURS

    listing = client.get("/collections/zones/items?f=html").text
    for status, text in (("underserved", "Mal desservie"), ("unserved", "Non desservie")):
        colour = STATUS_TEXT_COLOURS[status]
        assert f'<span class="status" style="color:{colour}">{text}</span>' in listing
    item = client.get("/collections/zones/items/C?f=html").text
    assert f'style="color:{STATUS_TEXT_COLOURS["underserved"]}">Mal desservie<' in item
    assert "Ce document en JSON</a>" in listing  # the page's own words are French
    assert "This document" not in listing
