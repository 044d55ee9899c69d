"""The history analysis (issue 20): every vintage analysed with the same thresholds, history
tables, changes since the previous and the reference vintage, persistent gaps; both stores."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import box
from fastapi.testclient import TestClient
from test_opinion_record import _settings
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.cli import app as cli_app
from geo_service.errors import ParameterError
from geo_service.model import LayerMeta
from geo_service.settings import AnalysisParams, Settings
from geo_service.sources.formats import ImportOptions
from geo_service.store import GeoPackageStore, Store
from geo_service.validation import validate_layer

_VINTAGES = ("2025-T3", "2025-T4", "2026-T1")


def _meta(vintage: str) -> LayerMeta:
    year, quarter = vintage.split("-T")
    day = date(int(year), 3 * int(quarter), 28)
    return LayerMeta(
        name="premises",
        kind="premises",
        title="Locaux",
        source="test",
        data_date=day,
        vintage=vintage,
    )


def _upgraded(premises: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Zone B's only building (p3, BHD8) upgraded to fibre."""
    newer = premises.copy()
    newer.loc[newer["premises_id"] == "p3", ["down_class", "ftth"]] = ["THD1G", True]
    return newer


def _stored(store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> None:
    zones, _ = validate_layer("zones", zones, "zones.gpkg")
    store.write_layer(
        "zones", zones, LayerMeta(name="zones", kind="zones", title="Zones", source="test")
    )
    for vintage in _VINTAGES:
        frame = _upgraded(premises) if vintage == "2026-T1" else premises
        validated, _ = validate_layer("premises", frame, "premises.gpkg")
        pipeline.store_vintage(store, "premises", validated, _meta(vintage))


def _zone(frame: gpd.GeoDataFrame, zone_id: str) -> dict[str, object]:
    rows = frame[frame["zone_id"] == zone_id].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_every_vintage_is_analysed_with_the_same_thresholds(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    assert pipeline.history_vintages(store) == list(_VINTAGES)
    result, history = pipeline.analyze_history(store, AnalysisParams())
    assert history.vintages == _VINTAGES
    stored = store.read_layer(pipeline.ZONE_HISTORY)
    assert sorted(set(stored["vintage"])) == list(_VINTAGES)
    b = stored[stored["zone_id"] == "B"].sort_values("vintage")
    assert list(b["share_thd30"]) == [0.0, 0.0, 1.0]
    assert list(b["status"]) == ["underserved", "underserved", "served"]
    assert len(store.read_layer(pipeline.COMMUNE_HISTORY)) == 3 * len(result.communes)

    zone_b = _zone(result.zones, "B")
    assert zone_b["share_thd30_change"] == 1.0
    assert zone_b["share_thd30_since"] == 1.0
    assert zone_b["status_previous"] == "underserved"
    assert zone_b["persistent"] is False or not zone_b["persistent"]
    zone_a = _zone(result.zones, "A")
    assert zone_a["share_thd30_change"] == 0.0
    # Zone C has no premises: its share is unknown at every vintage, and so is its change.
    zone_c = _zone(result.zones, "C")
    assert math.isnan(float(zone_c["share_thd30_change"]))  # type: ignore[arg-type]
    flagged = {
        zone_id
        for zone_id in ("A", "B", "C", "D")
        if set(stored[stored["zone_id"] == zone_id]["status"]) <= {"underserved", "unserved"}
    }
    persistent = set(result.zones.loc[result.zones["persistent"].fillna(False), "zone_id"])
    assert persistent == flagged - {"B"}

    back = pipeline.load_results(store)
    assert back.run.vintages == list(_VINTAGES)
    assert _zone(back.zones, "B")["share_thd30_change"] == 1.0


def test_since_sets_the_reference_and_the_window(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    result, _ = pipeline.analyze_history(store, AnalysisParams(), since="2025t4")
    assert result.run.since == "2025-T4"
    assert _zone(result.zones, "B")["share_thd30_since"] == 1.0
    with pytest.raises(ParameterError, match="--since"):
        pipeline.analyze_history(store, AnalysisParams(), since="2027-T1")


def test_a_store_without_vintages_has_no_history(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    zones, _ = validate_layer("zones", zones, "zones.gpkg")
    store.write_layer(
        "zones", zones, LayerMeta(name="zones", kind="zones", title="Zones", source="test")
    )
    with pytest.raises(ParameterError, match="--vintage"):
        pipeline.analyze_history(store, AnalysisParams())


def test_cli_and_api_serve_the_history(
    store: Store, tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    settings = _settings(store, tmp_path)
    env = {
        "GEO_SERVICE_DATABASE_URL": settings.database_url or "",
        "GEO_SERVICE_DATABASE_SCHEMA": settings.database_schema,
        "GEO_SERVICE_DATA_DIR": str(settings.data_dir),
    }
    done = CliRunner().invoke(cli_app, ["analyze", "--history", "--since", "2025-T4"], env=env)
    assert done.exit_code == 0, done.output
    assert "Historique : 3 millésimes analysés (2025-T3, 2025-T4, 2026-T1)" in done.output
    refused = CliRunner().invoke(cli_app, ["analyze", "--since", "2025-T4"], env=env)
    assert refused.exit_code == 2
    with TestClient(create_app(settings)) as client:
        body = client.get("/zones/B/history").json()
        assert body["vintages"] == list(_VINTAGES)
        assert body["since"] == "2025-T4"
        assert [(h["vintage"], h["status"]) for h in body["history"]] == [
            ("2025-T3", "underserved"),
            ("2025-T4", "underserved"),
            ("2026-T1", "served"),
        ]
        zone_c = client.get("/zones/C/history").json()["history"]
        assert [h["share_thd30"] for h in zone_c] == [None, None, None]
        assert client.get("/zones/NOPE/history").status_code == 404
        item = client.get("/collections/zones/items/B").json()
        assert item["properties"]["share_thd30_change"] == 1.0

        # datetime= serves a collection as of the vintage in force then.
        def zone_b(**params: str) -> dict[str, object]:
            page = client.get("/collections/zones/items", params=params).json()
            (found,) = [f for f in page["features"] if f["id"] == "B"]
            return found["properties"]

        then = zone_b(datetime="2025-11-15")
        assert (then["vintage"], then["status"], then["share_thd30"]) == (
            "2025-T4",
            "underserved",
            0.0,
        )
        assert not then["reasons"]  # the reasons are today's, not told for 2025-T4
        assert then["name"] == "Zone B"
        assert zone_b(datetime="2026-02-01")["share_thd30"] == 1.0
        assert zone_b(datetime="2025-08-01/2025-09-30")["vintage"] == "2025-T3"
        early = client.get("/collections/zones/items", params={"datetime": "2020-01-01"})
        assert early.json()["features"] == []
        premises_then = client.get(
            "/collections/premises/items", params={"datetime": "2025-10-01"}
        ).json()
        p3 = next(f for f in premises_then["features"] if f["id"] == "p3")
        assert p3["properties"]["down_class"] == "BHD8"
        premises_now = client.get("/collections/premises/items").json()
        assert (
            next(f for f in premises_now["features"] if f["id"] == "p3")["properties"]["down_class"]
            == "THD1G"
        )


_FIXTURES = Path(__file__).parent / "fixtures" / "opendata"
#: Marseille's row of the FTTH observatory fixture (the real file's figures): connectable
#: premises per quarter, over 432 378 logements + 24 094 établissements.
_MARSEILLE_CONNECTABLE = {"2017-T3": 246_383, "2017-T4": 244_708, "2018-T1": 248_140}
_MARSEILLE_LOCAUX = 432_378 + 24_094


def test_marseille_history_from_the_observatory_quarters(store: Store) -> None:
    files = [_FIXTURES / "ftth-communes.csv", _FIXTURES / "ftth-deploiement-communes.csv"]
    _check_marseille_history(store, files)


def test_marseille_history_from_the_real_observatory_file(store: Store, realdata: Path) -> None:
    """The real ARCEP file (35,361 communes, three quarters): Marseille's row counted by hand
    (13055: 246 383, 244 708, 248 140 connectable; 432 378 logements + 24 094 établissements)."""
    folder = realdata / "broadband" / "arcep-ftth-deploiement-2018"
    _check_marseille_history(store, [folder / "communes.csv", folder / "ftthCommunes.csv"])


def _check_marseille_history(store: Store, files: list[Path]) -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["MRS-1"], "name": ["ZI Marseille"], "commune_insee": ["13055"]},
        geometry=[box(0, 0, 100, 100)],
        crs="EPSG:2154",
    )
    communes = gpd.GeoDataFrame(
        {"commune_insee": ["13055"], "name": ["Marseille"], "epci_siren": ["200054807"]},
        geometry=[box(-500, -500, 1000, 1000)],
        crs="EPSG:2154",
    )
    for name, frame in (("zones", zones), ("communes", communes)):
        validated, _ = validate_layer(name, frame, f"{name}.gpkg")
        store.write_layer(name, validated, LayerMeta(name=name, kind=name, title=name, source="t"))
    pipeline.import_files(store, "commune_coverage", files, options=ImportOptions(quarter="all"))
    result, history = pipeline.analyze_history(store, AnalysisParams())
    assert history.vintages == tuple(_MARSEILLE_CONNECTABLE)
    rows = store.read_layer(pipeline.COMMUNE_HISTORY).set_index("vintage")
    for vintage, connectable in _MARSEILLE_CONNECTABLE.items():
        share = connectable / _MARSEILLE_LOCAUX
        assert rows.loc[vintage, "arcep_share_ftth"] == pytest.approx(share)
    zone = store.read_layer(pipeline.ZONE_HISTORY).set_index("vintage")
    assert list(zone["zone_id"]) == ["MRS-1"] * 3
    for vintage, connectable in _MARSEILLE_CONNECTABLE.items():
        share = connectable / _MARSEILLE_LOCAUX
        assert zone.loc[vintage, "commune_share_ftth"] == pytest.approx(share)
    current = result.communes.set_index("commune_insee").loc["13055"]
    assert current["arcep_share_ftth"] == pytest.approx(248_140 / _MARSEILLE_LOCAUX)


def test_territory_synthesis_names_persistent_gaps_and_improved_zones(
    store: Store, tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
    from geo_service.opinions.model import Opinion, OpinionKind
    from geo_service.workspace import Workspace

    _stored(store, zones, premises)
    result, _ = pipeline.analyze_history(store, AnalysisParams())
    workspace = Workspace(_settings(store, tmp_path), store)
    subject = Subject(OpinionKind.TERRITORY)
    opinion = Opinion.model_validate_json(
        opinion_document(workspace, subject, OpinionFormat.JSON).content
    )
    trend = opinion.trend
    assert trend is not None
    assert (trend.since, trend.latest) == ("2025-T3", "2026-T1")
    assert [(z.zone_id, z.then, z.now, z.change) for z in trend.improved] == [
        ("B", "0\u202f%", "100\u202f%", "+100,0\u202fpoints")
    ]
    persistent = set(result.zones.loc[result.zones["persistent"].fillna(False), "zone_id"])
    assert {z.zone_id for z in trend.persistent} == persistent
    assert "1 zone sans part connue à l'un des deux millésimes : évolution inconnue." in (
        trend.summary
    )  # zone C: no premises
    text = opinion_document(workspace, subject, OpinionFormat.MD).content.decode()
    assert "## Évolution de la couverture de 2025-T3 à 2026-T1" in text
    html = opinion_document(workspace, subject, OpinionFormat.HTML).content.decode()
    assert "Zones dont la couverture a le plus progressé depuis 2025-T3" in html


def test_zone_map_panel_charts_the_history(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    from geo_service.maps.history import history_chart
    from geo_service.maps.page import PageOptions
    from geo_service.maps.zone import zone_data, zone_html

    _stored(store, zones, premises)
    result, _ = pipeline.analyze_history(store, AnalysisParams())
    table = store.read_layer(pipeline.ZONE_HISTORY)
    data = zone_data(result, "B", land=None, premises=None, raster=None, history=table)
    assert [row["vintage"] for row in data.history] == list(_VINTAGES)
    page = zone_html(data, PageOptions())
    assert "gs-history" in page
    assert (
        "2025-T3 : 0\u202f% (mal desservie) ; 2025-T4 : 0\u202f% (mal desservie) ; "
        "2026-T1 : 100\u202f% (bien desservie)" in page
    )
    # An unknown share is a gap marked « ? », never a point at 0 %.
    chart_c = history_chart(
        data_c := zone_data(
            result, "C", land=None, premises=None, raster=None, history=table
        ).history
    )
    assert len(data_c) == 3
    assert "<circle" not in chart_c
    assert chart_c.count(">?</text>") == 3
    assert "2025-T3 : — (" in chart_c
    assert history_chart(data.history[:1]) == ""


def test_territory_map_vintage_view(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    from geo_service.maps.geojson import map_geometries
    from geo_service.maps.vintage_view import progress_class, vintage_layers

    _stored(store, zones, premises)
    result, _ = pipeline.analyze_history(store, AnalysisParams())
    table = store.read_layer(pipeline.ZONE_HISTORY)
    shown = result.zones.assign(
        name=result.zones["name"].where(result.zones["zone_id"] != "A", "<b>A</b>")
    )
    geometries = map_geometries(shown)
    layers = vintage_layers(shown, geometries, table, result.run.vintages, None, result.run.params)
    assert [layer.name for layer in layers] == [
        "Statuts au 2025-T3",
        "Statuts au 2025-T4",
        "Progrès depuis 2025-T3 (locaux à ≥\u202f30\u202fMbit/s)",
    ]
    import json

    def statuses(features: str) -> dict[str, str]:
        return {
            f["properties"]["id"]: f["properties"]["s"] for f in json.loads(features)["features"]
        }

    assert statuses(layers[0].features)["B"] == "underserved"
    progress = statuses(layers[-1].features)
    assert progress["B"] == "upmore"
    assert progress["C"] == "unknown"  # no premises: unknown, never "stable"
    assert progress["A"] == "flat"
    tooltips = {
        f["properties"]["id"]: f["properties"]["t"]
        for f in json.loads(layers[-1].features)["features"]
    }
    assert tooltips["A"].startswith("<strong>&lt;b&gt;A&lt;/b&gt;</strong>")
    assert "évolution inconnue" in tooltips["C"]
    assert [layer.legend["layer"] for layer in layers] == [layer.key for layer in layers]
    assert (progress_class(-3), progress_class(0.5), progress_class(5), progress_class(None)) == (
        "down",
        "flat",
        "up",
        "unknown",
    )
    assert vintage_layers(shown, geometries, None, [], None, result.run.params) == []


def test_zones_matched_by_id_between_runs_are_reported(
    store: Store, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    _stored(store, zones, premises)
    _, first = pipeline.analyze_history(store, AnalysisParams())
    assert not first.perimeters
    moved = zones[zones["zone_id"] != "D"].copy()
    moved.loc[moved["zone_id"] == "A", "geometry"] = box(0, 0, 150, 100)
    added = gpd.GeoDataFrame(
        {"zone_id": ["E"], "name": ["Zone E"], "commune_insee": ["13002"]},
        geometry=[box(600, 0, 100, 100)],
        crs="EPSG:2154",
    )
    changed = gpd.GeoDataFrame(pd.concat([moved, added], ignore_index=True), crs="EPSG:2154")
    validated, _ = validate_layer("zones", changed, "zones.gpkg")
    store.write_layer(
        "zones", validated, LayerMeta(name="zones", kind="zones", title="Zones", source="t")
    )
    _, second = pipeline.analyze_history(store, AnalysisParams())
    assert second.perimeters.changed == ("A",)
    assert second.perimeters.added == ("E",)
    assert second.perimeters.removed == ("D",)


def test_api_runs_the_history_analysis(
    tmp_path: Path, zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    from geo_service.api.auth import hash_api_key

    store = GeoPackageStore(tmp_path / "data")
    _stored(store, zones, premises)
    key = "history-api-test-key-0123456789"
    settings = Settings(
        database_url=None, data_dir=tmp_path / "data", api_key_hash=hash_api_key(key)
    )
    with TestClient(create_app(settings)) as client:
        auth = {"X-API-Key": key}
        assert client.post("/analysis", params={"history": "true"}).status_code == 401
        refused = client.post("/analysis", params={"since": "2025-T4"}, headers=auth)
        assert refused.status_code == 400
        done = client.post(
            "/analysis", params={"history": "true", "since": "2025-T4"}, headers=auth
        )
        assert done.status_code == 200, done.text
        assert done.json()["vintages"] == list(_VINTAGES)
        body = client.get("/zones/B/history").json()
        assert body["since"] == "2025-T4"
        assert len(body["history"]) == 3
