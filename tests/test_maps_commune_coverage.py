"""Commune-level coverage on the maps when building-level data is missing (issue 5).

The territory map fills the communes by their ARCEP statistics (``commune_coverage`` layer),
on by default only without premises; zones whose status comes from those statistics say so
in their popups and in the zone map's panel. Without the layer, the maps are unchanged.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from jinja2.utils import htmlsafe_json_dumps

from geo_service import pipeline
from geo_service.analysis import AnalysisResult, analyze
from geo_service.formatting import fr_number, fr_percent
from geo_service.maps import style
from geo_service.maps.page import PageOptions
from geo_service.maps.service import export_map, territory_page, zone_page
from geo_service.maps.territory import TerritoryView, prepare_territory, territory_html
from geo_service.maps.zone import zone_data, zone_html
from geo_service.model import CANONICAL_CRS
from geo_service.settings import AnalysisParams, Settings
from geo_service.sources.arcep_communes import COMMUNE_COVERAGE_COLUMNS
from geo_service.store import GeoPackageStore
from geo_service.workspace import Workspace
from tests.conftest import box
from tests.test_maps import count_calls, popup_fields, script_argument

EVIL = "<img src=x onerror=alert(1)>"
LAYER = "Couverture communale (Arcep)"
ESTIMATED = "Statut estimé d'après les statistiques communales de l'Arcep"
FIGURE_COLUMNS = (
    "arcep_share_bhd8",
    "arcep_share_thd30",
    "arcep_share_thd100",
    "arcep_share_thd1g",
    "arcep_share_ftth",
)


# -- helpers ------------------------------------------------------------------------------
def coverage_table(**communes: dict[str, object]) -> gpd.GeoDataFrame:
    """A ``commune_coverage`` layer: commune code -> figures."""
    rows = [{"commune_insee": code, **figures} for code, figures in communes.items()]
    frame = pd.DataFrame(rows).reindex(columns=list(COMMUNE_COVERAGE_COLUMNS))
    return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=CANONICAL_CRS)


#: Commune 13001 (zones A, B) has fibre figures only, 13002 (zones C, D) the wired shares,
#: 13003 (no zone) none.
STATS = coverage_table(
    **{
        "13001": {"locaux": 1200, "share_ftth": 0.42, "ftth_class": 25, "period": "T1 2018"},
        "13002": {
            "locaux": 800,
            "share_bhd8": 0.3,
            "share_thd30": 0.2,
            "share_thd100": 0.1,
            "share_thd1g": 0.05,
            "share_ftth": 0.08,
            "period": "2026-03-31",
        },
    }
)


def is_shown(page: str, factory: str) -> bool:
    """Whether the layer made by ``GeoServiceMap.<factory>`` is on when the map opens."""
    name = re.search(rf"var (\w+) = GeoServiceMap\.{factory}\(", page)
    assert name is not None, factory
    return f"{name.group(1)}.addTo(" in page


def layer_config(page: str, factory: str) -> dict[str, Any]:
    """The config (third argument) of ``GeoServiceMap.<factory>(map, data, config)``."""
    start = re.search(rf"GeoServiceMap\.{factory}\(\s*map_\w+,\s*", page)
    assert start is not None, factory
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(page, start.end())
    comma = re.compile(r"\s*,\s*").match(page, end)
    assert comma is not None
    config, _ = decoder.raw_decode(page, comma.end())
    return config


def legend_sections(page: str) -> dict[str, dict[str, Any]]:
    """The legend's sections by the layer they describe."""
    return {s["layer"]: s for s in script_argument(page, "legend")["sections"]}


def communes_of(page: str) -> list[dict[str, Any]]:
    """Per commune of the coverage layer: its share ``v``, tooltip ``t`` and popup ``p``."""
    props = script_argument(page, "communeCoverage")["p"]
    return [{k: props[k][i] for k in ("v", "t", "p")} for i in range(len(props["v"]))]


def page_of(result: AnalysisResult, premises: gpd.GeoDataFrame | None) -> str:
    data = prepare_territory(
        result, land=None, premises=premises, raster_layer=None, h3_resolution=9
    )
    return territory_html(data, TerritoryView(), PageOptions())


def zone_popups(page: str) -> dict[str, dict[str, str]]:
    return {
        f["properties"]["id"]: f["properties"] for f in script_argument(page, "zones")["features"]
    }


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    """Communes 13001 (zones A, B, named like an XSS attempt), 13002 (C, D) and 13003."""
    return gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002", "13003"],
            "name": [EVIL, "Saint-Éloi & <b>Cie</b>", "Sans-Chiffres"],
            "epci_siren": ["200054807"] * 3,
            "population": [1000, 2000, 300],
        },
        geometry=[
            box(-50, -50, 400, 250),
            shapely.MultiPolygon([box(350, -50, 300, 250), box(-50, 250, 400, 200)]),
            box(1000, 1000, 200, 200),
        ],
        crs="EPSG:2154",
    )


@pytest.fixture
def without_premises(zones, premises, communes) -> AnalysisResult:
    """Every zone's status from its commune's statistics (no premises at all)."""
    return analyze(zones, premises.iloc[:0], communes=communes, commune_coverage=STATS)


@pytest.fixture
def with_premises(zones, premises, communes) -> AnalysisResult:
    """Premises decide, except for zone C (none inside): its commune's statistics do."""
    return analyze(zones, premises, communes=communes, commune_coverage=STATS)


# -- the territory map --------------------------------------------------------------------
def test_layer_is_on_without_premises_and_off_with_them(
    without_premises: AnalysisResult, with_premises: AnalysisResult, premises
) -> None:
    alone = page_of(without_premises, None)
    assert count_calls(alone, "communeCoverage") == 1
    assert htmlsafe_json_dumps(LAYER) in alone
    assert is_shown(alone, "communeCoverage")
    assert count_calls(alone, "hexes") == 0
    assert is_shown(alone, "communes")  # the boundaries stay as they were
    assert len(script_argument(alone, "communes")["features"]) == 3
    both = page_of(with_premises, premises)
    assert count_calls(both, "communeCoverage") == 1
    assert not is_shown(both, "communeCoverage")
    assert is_shown(both, "hexes")
    empty = page_of(without_premises, premises.iloc[:0])  # an empty premises layer
    assert is_shown(empty, "communeCoverage")


def test_legend_says_which_share_and_period(
    without_premises: AnalysisResult, with_premises: AnalysisResult, premises
) -> None:
    section = legend_sections(page_of(without_premises, None))["commune_coverage"]
    assert section["title"] == f"{LAYER} : locaux à ≥\u202f30\u202fMbit/s"
    assert "à défaut (1 commune), part des locaux raccordables à la fibre (FttH)" in section["note"]
    assert "période T1 2018" in section["note"]
    assert "données du 31 mars 2026" in section["note"]
    labels = [e["label"] for e in section["entries"]]
    assert labels[-1] == "Pas de statistique communale"
    hexagons = legend_sections(page_of(with_premises, premises))["hexagons"]
    assert labels[:-1] == [e["label"] for e in hexagons["entries"]]
    config = layer_config(page_of(without_premises, None), "communeCoverage")
    breaks = style.share_breaks(AnalysisParams())
    assert config["breaks"] == list(breaks)
    assert config["colours"] == list(style.COVERAGE_RAMP[-len(breaks) :])
    # the hexagons' colours, each swatch blended with the opacity its layer is drawn with
    assert config["opacity"] == style.COMMUNE_OPACITY
    assert config["missingOpacity"] == style.NO_COMMUNE_FIGURES_OPACITY
    assert [e["fill"] for e in section["entries"]] == [
        *(style.seen(c, style.COMMUNE_OPACITY) for c in config["colours"]),
        style.seen(style.NO_COMMUNE_FIGURES, style.NO_COMMUNE_FIGURES_OPACITY),
    ]
    assert [e["fill"] for e in hexagons["entries"]] == [
        style.seen(c, style.HEXAGON_OPACITY) for c in config["colours"]
    ]


def test_fibre_figures_alone_are_named_in_the_legend(zones, premises, communes) -> None:
    stats = coverage_table(**{"13001": {"share_ftth": 0.5, "period": "T1 2018"}})
    result = analyze(zones, premises.iloc[:0], communes=communes, commune_coverage=stats)
    section = legend_sections(page_of(result, None))["commune_coverage"]
    assert section["title"] == f"{LAYER} : locaux raccordables à la fibre (FttH)"
    assert "le très haut débit n'étant pas mesuré" in section["note"]
    assert "(période T1 2018)" in section["note"]


def test_commune_popups_equal_the_commune_results(without_premises: AnalysisResult) -> None:
    page = page_of(without_premises, None)
    drawn = communes_of(page)
    frame = without_premises.communes
    assert len(drawn) == len(frame) == 3
    for row, commune in zip(frame.to_dict("records"), drawn, strict=True):
        code = row["commune_insee"]
        thd30, ftth = row["arcep_share_thd30"], row["arcep_share_ftth"]
        if pd.isna(thd30) and pd.isna(ftth):
            assert code == "13003"
            assert commune["v"] is None
            assert commune["p"] is None
            assert "Pas de statistique communale" in commune["t"]
            continue
        shown = thd30 if not pd.isna(thd30) else ftth
        assert commune["v"] == pytest.approx(shown, abs=1e-3)
        fields = popup_fields(commune["p"])
        for column in FIGURE_COLUMNS:
            if pd.isna(row[column]):
                assert column not in fields
            else:
                assert fields[column] == fr_percent(row[column]), column
        assert fields["arcep_locaux"] == fr_number(row["arcep_locaux"])
        assert f"code INSEE {code}" in commune["p"]
        assert fr_percent(shown) in commune["t"]
    fields = popup_fields(drawn[0]["p"])
    assert fields["arcep_period"] == "T1 2018"
    assert "part des locaux raccordables à la fibre (FttH)" in drawn[0]["p"]
    assert popup_fields(drawn[1]["p"])["arcep_period"] == "31 mars 2026"
    assert "part des locaux à ≥\u202f30\u202fMbit/s" in drawn[1]["p"]
    assert "Source : Arcep, statistiques communales" in drawn[1]["p"]


def test_commune_names_are_escaped(without_premises: AnalysisResult) -> None:
    page = page_of(without_premises, None)
    assert EVIL not in page
    assert "<b>Cie</b>" not in page
    first, second, _ = communes_of(page)
    escaped = html.escape(EVIL, quote=False)
    assert f"<h3>{escaped}</h3>" in first["p"]
    assert f"<strong>{escaped}</strong>" in first["t"]
    assert "Saint-Éloi &amp; &lt;b&gt;Cie&lt;/b&gt;" in second["p"]


def test_source_and_date_of_the_statistics(zones, premises, communes) -> None:
    meta = pipeline.layer_meta("commune_coverage", source="test", data_date=date(2018, 3, 31))
    result = analyze(
        zones,
        premises.iloc[:0],
        communes=communes,
        commune_coverage=STATS,
        inputs={"commune_coverage": meta},
    )
    popup = communes_of(page_of(result, None))[0]["p"]
    assert f"Source : {html.escape(meta.title, quote=False)}, données du 31 mars 2018" in popup


# -- zones whose status comes from commune statistics -------------------------------------
def test_zone_popups_say_the_status_is_estimated(
    with_premises: AnalysisResult, without_premises: AnalysisResult, premises
) -> None:
    zones = zone_popups(page_of(with_premises, premises))
    c = with_premises.zones.set_index("zone_id").loc["C"]
    assert c["status_basis"] == "commune"
    popup = zones["C"]["p"]
    assert f"{ESTIMATED} (données du 31 mars 2026)" in popup
    fields = popup_fields(popup)
    assert fields["commune_share_thd30"] == fr_percent(c["commune_share_thd30"]) == "20\u202f%"
    assert fields["commune_share_bhd8"] == fr_percent(c["commune_share_bhd8"])
    assert fields["commune_share_ftth"] == fr_percent(c["commune_share_ftth"])
    assert not {"premises", "locaux", "share_thd30", "share_bhd8"} & set(fields)
    assert "20\u202f% des locaux de la commune à ≥\u202f30\u202fMbit/s (Arcep)" in zones["C"]["t"]
    a = popup_fields(zones["A"]["p"])  # premises decide zone A
    assert a["share_thd30"] == fr_percent(
        with_premises.zones.set_index("zone_id").loc["A"]["share_thd30"]
    )
    assert not any(field.startswith("commune_") for field in a)
    assert ESTIMATED not in zones["A"]["p"]
    fibre = zone_popups(page_of(without_premises, None))["A"]  # 13001: fibre figures only
    assert f"{ESTIMATED} (période T1 2018)" in fibre["p"]
    assert popup_fields(fibre["p"])["commune_share_ftth"] == "42\u202f%"
    assert popup_fields(fibre["p"])["commune_share_thd30"] == "non mesuré"  # not 0, not absent
    assert "42\u202f% des locaux de la commune raccordables à la fibre (Arcep)" in fibre["t"]


def test_unknown_status_mentions_commune_statistics(with_premises: AnalysisResult) -> None:
    labels = [e.label for e in style.status_entries(with_premises.run.params)]
    assert labels[-1] == (
        "Indéterminée — ni locaux, ni raster, ni statistiques communales exploitables"
    )


def test_zone_map_panel_shows_the_communes_share(with_premises: AnalysisResult) -> None:
    data = zone_data(with_premises, "C", land=None, premises=None, raster=None)
    page = zone_html(data, PageOptions())
    panel = script_argument(page, "panel", 0)["html"]
    assert f"{ESTIMATED} (données du 31 mars 2026)" in panel
    assert popup_fields(panel)["commune_share_thd30"] == "20\u202f%"


# -- without the layer --------------------------------------------------------------------
def test_without_the_layer_the_maps_are_unchanged(zones, premises, communes) -> None:
    result = analyze(zones, premises, communes=communes)
    page = page_of(result, premises)
    assert count_calls(page, "communeCoverage") == 0
    assert LAYER not in page
    assert list(legend_sections(page)) == ["zones", "hexagons"]
    popups = zone_popups(page)
    assert all("commune_share" not in p["p"] and ESTIMATED not in p["p"] for p in popups.values())
    assert popup_fields(popups["C"]["p"])["premises"] == "0"  # no figures: as before
    assert "aucune donnée exploitable" in popups["C"]["p"]


# -- a store without premises, through the map service ------------------------------------
def test_maps_of_a_store_without_premises(tmp_path: Path, zones, communes) -> None:
    store = GeoPackageStore(tmp_path / "data")
    for name, frame in (("zones", zones), ("communes", communes), ("commune_coverage", STATS)):
        store.write_layer(name, frame, pipeline.layer_meta(name, source="test"))
    pipeline.analyze_store(store, AnalysisParams())
    workspace = Workspace(Settings(database_url=None, data_dir=tmp_path / "data"), store)
    page = territory_page(workspace, TerritoryView(), PageOptions())
    assert is_shown(page, "communeCoverage")
    assert count_calls(page, "hexes") == 0
    zone = zone_page(workspace, "C", PageOptions())
    assert ESTIMATED in script_argument(zone, "panel", 0)["html"]
    written = export_map(workspace, tmp_path / "carte.html", self_contained=True)
    assert count_calls(written.path.read_text(encoding="utf-8"), "communeCoverage") == 1


def test_real_communes_with_the_2018_fibre_statistics(realdata: Path, tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "data")
    boundaries = realdata / "boundaries" / "admin-express-2018"
    fibre = realdata / "broadband" / "arcep-ftth-deploiement-2018"
    pipeline.import_files(store, "communes", [boundaries / "communes-13-bouches-du-rhone.geojson"])
    pipeline.import_files(
        store, "commune_coverage", [fibre / "communes.csv", fibre / "ftthCommunes.csv"]
    )
    communes = store.read_layer("communes").set_index("commune_insee")
    centres = [communes.loc[code].geometry.representative_point() for code in ("13055", "13001")]
    zones = gpd.GeoDataFrame(  # two zones without commune codes: located by the analysis
        {"zone_id": ["M", "X"], "name": ["Zone de Marseille", "Zone d'Aix"]},
        geometry=[shapely.box(p.x - 100, p.y - 100, p.x + 100, p.y + 100) for p in centres],
        crs="EPSG:2154",
    )
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="test"))
    result = pipeline.analyze_store(store, AnalysisParams())
    workspace = Workspace(Settings(database_url=None, data_dir=tmp_path / "data"), store)
    page = territory_page(workspace, TerritoryView(), PageOptions())
    assert is_shown(page, "communeCoverage")
    section = legend_sections(page)["commune_coverage"]
    assert section["title"] == f"{LAYER} : locaux raccordables à la fibre (FttH)"
    assert "(période T1 2018)" in section["note"]
    drawn = communes_of(page)
    frame = result.communes[result.communes.geometry.notna()].reset_index(drop=True)
    assert len(drawn) == len(frame) == 119
    marseille = frame.index[frame["commune_insee"] == "13055"][0]
    fields = popup_fields(drawn[marseille]["p"])
    share = frame.loc[marseille, "arcep_share_ftth"]
    assert fields["arcep_share_ftth"] == fr_percent(share)
    assert fields["arcep_locaux"] == fr_number(frame.loc[marseille, "arcep_locaux"])
    assert "Marseille" in drawn[marseille]["t"]
    m = zone_popups(page)["M"]
    assert f"{ESTIMATED} (période T1 2018)" in m["p"]
    assert popup_fields(m["p"])["commune_share_ftth"] == fr_percent(share)
    assert "Marseille (13055)" in m["p"]
