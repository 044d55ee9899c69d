"""Coverage layers kept in dated vintages (issue 20), on both store backends."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo_service import pipeline
from geo_service.errors import NotFoundError, ParameterError
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.sources.formats import ImportOptions
from geo_service.store import GeoPackageStore, Store
from geo_service.validation import validate_layer
from geo_service.vintages import (
    archived_name,
    parse_vintage,
    split_archived_name,
    vintage_of_date,
)

# Marseille's rows of the real ARCEP FTTH observatory file (ftthCommunes.csv, 2017-Q3 to
# 2018-Q1), and a small commune of the same file.
_OBSERVATORY = (
    "Réseaux en fibre optique jusqu'à l'abonné (FttH),,,,\n"
    "Déploiement par Commune,,,,\n"
    ",,,,\n"
    ",,,,\n"
    "Code commune,Champ,T3 2017,T4 2017,T1 2018\n"
    "13055,Locaux Raccordables,246383,244708,248140\n"
    "13055,Catégorie,50,50,50\n"
    "01001,Locaux Raccordables,0,0,12\n"
    "01001,Catégorie,0,0,5\n"
)
_MARSEILLE = {"2017-T3": 246383, "2017-T4": 244708, "2018-T1": 248140}


@pytest.fixture
def observatory(tmp_path: Path) -> Path:
    path = tmp_path / "ftthCommunes.csv"
    path.write_text(_OBSERVATORY, encoding="utf-8")
    return path


def _connectable(store: Store, name: str) -> int:
    frame = store.read_layer(name).set_index("commune_insee")
    return int(frame.loc["13055", "ftth_connectable"])


def test_vintage_labels() -> None:
    assert parse_vintage("T3 2017") == "2017-T3"
    assert parse_vintage("2026t1") == "2026-T1"
    assert vintage_of_date(date(2018, 3, 31)) == "2018-T1"
    assert archived_name("premises", "2017-T3") == "premises__v2017_t3"
    assert split_archived_name("premises__v2017_t3") == ("premises", "2017-T3")
    assert split_archived_name("zones__v2017_t3") is None
    with pytest.raises(ParameterError, match="--vintage"):
        parse_vintage("2017-Q3")


def test_every_quarter_of_the_observatory_file_is_a_vintage(
    store: Store, observatory: Path
) -> None:
    pipeline.import_files(
        store, "commune_coverage", [observatory], options=ImportOptions(quarter="all")
    )
    found = pipeline.vintages(store, "commune_coverage")
    assert [m.vintage for m in found] == ["2017-T3", "2017-T4", "2018-T1"]
    assert found[-1].name == "commune_coverage"
    counts = {m.vintage: _connectable(store, m.name) for m in found}
    assert counts == _MARSEILLE
    assert str(store.layer_meta("commune_coverage").data_date) == "2018-03-31"


def test_older_vintage_imported_after_the_current_one_stays_older(
    store: Store, observatory: Path
) -> None:
    def one(quarter: str) -> None:
        pipeline.import_files(
            store, "commune_coverage", [observatory], options=ImportOptions(quarter=quarter)
        )

    one("2017-T4")
    one("2017-T3")  # older: kept beside the current one
    assert store.layer_meta("commune_coverage").vintage == "2017-T4"
    assert _connectable(store, "commune_coverage__v2017_t3") == 246383
    with pytest.raises(ParameterError, match="read-only"):
        one("2017-T3")
    one("2018-T1")  # newer: the current one becomes an older vintage
    assert store.layer_meta("commune_coverage").vintage == "2018-T1"
    assert _connectable(store, "commune_coverage__v2017_t4") == 244708
    one("2018-T1")  # the current vintage again: replaced as before
    assert [m.vintage for m in pipeline.vintages(store, "commune_coverage")] == [
        "2017-T3",
        "2017-T4",
        "2018-T1",
    ]


def test_drop_older_vintage_only(store: Store, observatory: Path) -> None:
    pipeline.import_files(
        store, "commune_coverage", [observatory], options=ImportOptions(quarter="all")
    )
    pipeline.drop_vintage(store, "commune_coverage", "2017-T3")
    assert [m.vintage for m in pipeline.vintages(store, "commune_coverage")] == [
        "2017-T4",
        "2018-T1",
    ]
    with pytest.raises(ParameterError, match="current vintage"):
        pipeline.drop_vintage(store, "commune_coverage", "2018-T1")
    with pytest.raises(NotFoundError, match="2017-T3"):
        pipeline.drop_vintage(store, "commune_coverage", "2017-T3")


def test_vintage_refused_on_other_layers_and_unknown_quarter(
    store: Store, observatory: Path, tmp_path: Path
) -> None:
    with pytest.raises(ParameterError, match="not kept in vintages"):
        pipeline.import_files(store, "zones", [observatory], vintage="2017-T3")
    with pytest.raises(ParameterError, match=r"--quarter.*2016-T1"):
        pipeline.import_files(
            store, "commune_coverage", [observatory], options=ImportOptions(quarter="2016-T1")
        )
    assert not store.has_layer("commune_coverage")


def test_cli_imports_quarters_lists_and_drops_vintages(observatory: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from geo_service.cli import app

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    done = runner.invoke(
        app, ["import", "commune_coverage", str(observatory), "--quarter", "all", *data]
    )
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["layers", "--vintages", *data], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "2017-T3" in listed.output
    assert "commune_coverage__v2017_t4" in listed.output
    plain = runner.invoke(app, ["layers", *data], env={"COLUMNS": "200"})
    assert "commune_coverage__v2017_t3" not in plain.output
    assert "2018-T1" in plain.output
    dropped = runner.invoke(app, ["drop-vintage", "commune_coverage", "2018-T1", *data])
    assert dropped.exit_code == 2
    assert "current vintage" in dropped.output
    assert "Traceback" not in dropped.output


def _raster_meta(vintage: str) -> LayerMeta:
    return LayerMeta(
        name="coverage", kind="coverage", title="Couverture", source=vintage, vintage=vintage
    )


def test_raster_vintages_are_kept_in_one_atomic_step(
    store: Store, coverage: CoverageRaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.store_vintage(store, "coverage", coverage, _raster_meta("2025-T4"))
    faster = CoverageRaster(coverage.data * 2, coverage.transform, coverage.crs)
    pipeline.store_vintage(store, "coverage", faster, _raster_meta("2026-T1"))
    assert [m.vintage for m in pipeline.vintages(store, "coverage")] == ["2025-T4", "2026-T1"]
    older = store.read_raster("coverage__v2025_t4")
    assert np.array_equal(older.data, coverage.data, equal_nan=True)
    assert np.array_equal(store.read_raster("coverage").data, faster.data, equal_nan=True)

    # A failure while writing the second raster of a newer vintage leaves both as they were.
    import geo_service.store.gpkg as gpkg_module
    from geo_service.store.postgis import PostGISStore

    owner: Any = gpkg_module.rasterio if isinstance(store, GeoPackageStore) else PostGISStore
    attribute = "open" if isinstance(store, GeoPackageStore) else "_record"
    real = getattr(owner, attribute)
    calls: list[int] = []

    def second_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, second_fails)
    newest = CoverageRaster(coverage.data * 3, coverage.transform, coverage.crs)
    with pytest.raises(Exception, match="disk full"):
        pipeline.store_vintage(store, "coverage", newest, _raster_meta("2026-T2"))
    monkeypatch.undo()
    assert [m.vintage for m in pipeline.vintages(store, "coverage")] == ["2025-T4", "2026-T1"]
    assert np.array_equal(store.read_raster("coverage").data, faster.data, equal_nan=True)


def test_premises_vintages(store: Store, premises: gpd.GeoDataFrame) -> None:
    canonical, _ = validate_layer("premises", premises, "premises.gpkg")
    for vintage, day in (("2025-T4", date(2025, 12, 31)), ("2026-T1", date(2026, 3, 31))):
        meta = LayerMeta(
            name="premises",
            kind="premises",
            title="Locaux",
            source=vintage,
            data_date=day,
            vintage=vintage,
        )
        pipeline.store_vintage(
            store,
            "premises",
            canonical.head(len(canonical) - 1) if vintage == "2025-T4" else canonical,
            meta,
        )
    assert [m.vintage for m in pipeline.vintages(store, "premises")] == ["2025-T4", "2026-T1"]
    older = store.read_layer("premises__v2025_t4")  # kept from the coordinates it was read as
    expected = canonical.head(len(canonical) - 1)
    pd.testing.assert_frame_equal(
        pd.DataFrame(older.drop(columns="geometry")),
        pd.DataFrame(expected.drop(columns="geometry")),
    )
    assert older.geometry.geom_equals_exact(expected.geometry, 0).all()
    assert len(store.read_layer("premises")) == len(canonical)
    assert store.layer_meta("premises").vintage == "2026-T1"


def test_api_uploads_lists_and_drops_vintages(observatory: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from geo_service.api import create_app
    from geo_service.api.auth import hash_api_key
    from geo_service.settings import Settings

    key = "vintage-api-test-key-0123456789"
    settings = Settings(
        database_url=None, data_dir=tmp_path / "data", api_key_hash=hash_api_key(key)
    )
    auth = {"X-API-Key": key}
    content = observatory.read_bytes()
    with TestClient(create_app(settings)) as client:
        for quarter in ("2017-T3", "2018-T1"):
            done = client.post(
                "/layers/commune_coverage",
                files=[("file", ("ftthCommunes.csv", content, "text/csv"))],
                data={"quarter": quarter},
                headers=auth,
            )
            assert done.status_code == 200, done.text
        store = GeoPackageStore(tmp_path / "data")
        assert [m.vintage for m in pipeline.vintages(store, "commune_coverage")] == [
            "2017-T3",
            "2018-T1",
        ]
        assert _connectable(store, "commune_coverage__v2017_t3") == 246383
        layers = client.get("/layers").json()["layers"]
        names = [layer["name"] for layer in layers]
        assert "commune_coverage__v2017_t3" not in names
        (coverage,) = [layer for layer in layers if layer["name"] == "commune_coverage"]
        assert coverage["vintage"] == "2018-T1"
        assert [(v["vintage"], v["read_only"]) for v in coverage["older_vintages"]] == [
            ("2017-T3", True)
        ]
        home = client.get("/", headers={"Accept": "text/html"}).text
        assert "précédents, en lecture seule : 2017-T3" in home
        url = "/layers/commune_coverage/vintages/2017-T3"
        assert client.delete(url).status_code == 401
        assert (
            client.delete("/layers/commune_coverage/vintages/2018-T1", headers=auth).status_code
            == 400
        )
        dropped = client.delete(url, headers=auth)
        assert dropped.status_code == 200, dropped.text
        assert dropped.json() == {"deleted": "commune_coverage__v2017_t3"}
        assert client.delete(url, headers=auth).status_code == 404
        assert client.delete("/layers/zones/vintages/2017-T3", headers=auth).status_code == 400
        assert [m.vintage for m in pipeline.vintages(store, "commune_coverage")] == ["2018-T1"]
