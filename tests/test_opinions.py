"""Planning opinions: figures equal the analysis, neutral wording, renderings, API and CLI."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pypdf
import pytest
import shapely
from conftest import X0, Y0, box, point
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.analysis import AnalysisResult, analyze
from geo_service.analysis.fields import PRIORITY_DECIMALS
from geo_service.cli import app as cli_app
from geo_service.errors import NotFoundError, ParameterError
from geo_service.formatting import NNBSP, fr_number
from geo_service.model import ZoneStatus
from geo_service.opinions import (
    Opinion,
    OpinionOptions,
    PriorityLevels,
    commune_opinion,
    territory_synthesis,
    zone_opinion,
)
from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
from geo_service.opinions.htmldoc import render_html
from geo_service.opinions.markdown import md_escape, render_markdown
from geo_service.opinions.model import OpinionKind
from geo_service.opinions.staticmap import MapLayers, opinion_map
from geo_service.opinions.wording import of_place, priority_text, share_text
from geo_service.settings import Settings
from geo_service.store import open_store
from geo_service.validation import validate_layer
from geo_service.workspace import Workspace

ON = date(2026, 3, 2)
OPTIONS = OpinionOptions(base_url="https://avis.example/geo/", on=ON)
EVIL = "<img src=x onerror=alert(1)>"
#: Names of French broadband operators and network builders: an opinion names none of them.
OPERATORS = (
    "Orange",
    "SFR",
    "Bouygues",
    "Free",
    "Iliad",
    "Altice",
    "XpFibre",
    "Axione",
    "Covage",
    "Altitude Infra",
    "TDF",
    "Kosc",
    "Netalis",
    "Sipartech",
    "Nordnet",
)
_NUMBER = re.compile(r"\d+(?:\u202f\d{3})*(?:,\d+)?")
_SHARES = ("share_bhd8", "share_thd30", "share_thd100", "share_thd1g", "share_ftth")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo territory, analysed, in a store shared by the module."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("opinions") / "data")
    store = open_store(settings)
    pipeline.build_demo_store(store, seed=settings.demo_seed)
    pipeline.analyze_store(store, settings.analysis_params())
    return Workspace(settings, store)


@pytest.fixture(scope="module")
def result(demo: Workspace) -> AnalysisResult:
    return demo.results()


# --- figures --------------------------------------------------------------------------------


def _raw(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def test_zone_key_figures_equal_the_analysis(result: AnalysisResult) -> None:
    flagged = len(result.flagged())
    for row in result.zones.drop(columns="geometry").to_dict("records"):
        opinion = zone_opinion(result, row["zone_id"], OPTIONS)
        assert opinion.key_figures, row["zone_id"]
        for figure in opinion.key_figures:
            expected = _raw(row[figure.column])
            assert figure.value == pytest.approx(expected), (row["zone_id"], figure.column)
        assert opinion.figure("locaux").text == fr_number(row["locaux"])
        assert opinion.status == row["status"]
        if row["locaux"] > 0:
            assert opinion.figure("share_thd30").text == share_text(row["share_thd30"])
        if _raw(row["rank"]) is not None:
            assert opinion.figure("rank").text == f"{int(row['rank'])} sur {flagged}"
            assert opinion.recommendation.priority == pytest.approx(row["priority"])
            assert opinion.recommendation.rank == int(row["rank"])


def test_commune_key_figures_equal_the_analysis(result: AnalysisResult) -> None:
    for row in result.communes.drop(columns="geometry").to_dict("records"):
        opinion = commune_opinion(result, row["commune_insee"], OPTIONS)
        zones = result.zones[result.zones["commune_insee"] == row["commune_insee"]]
        flagged = zones[zones["rank"].notna()]
        for figure in opinion.key_figures:
            if figure.column == "zones[flagged].zones":
                expected = float(len(flagged))
            elif figure.column == "zones[flagged].available_land_ha":
                expected = float(flagged["available_land_ha"].sum())
            elif figure.column == "zones[flagged].locaux":
                expected = float(flagged["locaux"].sum())
            else:
                expected = _raw(row[figure.column])
            assert figure.value == pytest.approx(expected), (row["commune_insee"], figure.column)
        assert [z.zone_id for z in opinion.zones if z.rank is not None] == list(
            flagged.sort_values("rank")["zone_id"]
        )
        assert len(opinion.zones) == len(zones) == row["zones"]


def test_territory_figures_equal_the_analysis(result: AnalysisResult) -> None:
    zones = result.zones
    flagged = result.flagged()
    opinion = territory_synthesis(result, OPTIONS)
    weight = zones["locaux"].astype(float)
    known = zones["share_thd30"].notna() & (weight > 0)
    expected = {
        "zones": len(zones),
        "zones[flagged].zones": len(flagged),
        "area_ha": zones["area_ha"].sum(),
        "locaux": zones["locaux"].sum(),
        "available_land_ha": zones["available_land_ha"].sum(),
        "zones[flagged].locaux": flagged["locaux"].sum(),
        "zones[flagged].available_land_ha": flagged["available_land_ha"].sum(),
        "share_thd30": (zones["share_thd30"][known] * weight[known]).sum() / weight[known].sum(),
        **{f"zones_{s.value}": int((zones["status"] == s.value).sum()) for s in ZoneStatus},
    }
    for column, value in expected.items():
        assert opinion.figure(column).value == pytest.approx(value), column
    # The territory's status counts agree with the commune sums of the analysis.
    for status in ZoneStatus:
        column = f"zones_{status.value}"
        assert opinion.figure(column).value == result.communes[column].sum()
    # Every flagged zone, in rank order, with its level from the priority cut-offs.
    assert [z.zone_id for z in opinion.zones] == list(flagged["zone_id"])
    levels = PriorityLevels()
    for line, priority in zip(opinion.zones, flagged["priority"], strict=True):
        assert line.level == levels.level(priority)
    assert opinion.recommendation.zones_by_level == dict(
        sorted(Counter(z.level for z in opinion.zones).items())
    )


# --- every number in the text comes from the analysis -----------------------------------------


def _tokens(values: Iterable[Any]) -> set[str]:
    """Every French rendering of ``values`` (as counts, hectares, percentages)."""
    out = {"0"}
    for value in values:
        number = _raw(value)
        if number is None:
            continue
        if number.is_integer():
            out.add(str(int(number)))  # years
        for scaled in (number, 100 * number):
            for decimals in (0, 1, 2):
                out.add(fr_number(scaled, decimals))
    return out


def _common_values(result: AnalysisResult, opinion: Opinion) -> list[Any]:
    params = result.run.params
    weights = (
        params.priority_weight_gap,
        params.priority_weight_land,
        params.priority_weight_locaux,
    )
    days = [opinion.date, opinion.analyzed_at.date()]
    days += [s.data_date for s in opinion.sources if s.data_date is not None]
    return [
        *params.model_dump().values(),
        *(w / sum(weights) for w in weights),
        opinion.levels.level1,
        opinion.levels.level2,
        1,
        2,
        3,  # recommendation levels
        8,
        30,
        100,
        1,  # ARCEP class thresholds (Mbit/s, 1 Gbit/s) and the 0-100 scale
        len(result.flagged()),
        *(d.day for d in days),
        *(d.year for d in days),
    ]


def _row_values(rows: pd.DataFrame) -> list[Any]:
    values: list[Any] = []
    for row in rows.drop(columns="geometry", errors="ignore").to_dict("records"):
        for column, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.append(value)
                if column in _SHARES or column.startswith("raster_share"):
                    values.append(None if _raw(value) is None else 1 - float(value))
    return values


def _texts(opinion: Opinion) -> Iterator[str]:
    yield opinion.title
    yield opinion.subtitle
    yield from (item.value for item in opinion.context)
    yield from (figure.text for figure in opinion.key_figures)
    yield from opinion.findings
    yield from opinion.assessment
    rec = opinion.recommendation
    yield from (rec.label, rec.rationale, rec.method)
    yield from opinion.recommendations
    yield from opinion.limits


def _numbers(opinion: Opinion, result: AnalysisResult) -> list[str]:
    identifiers = [
        *result.zones["zone_id"].astype(str),
        *result.communes["commune_insee"].astype(str),
        *result.epcis["epci_siren"].astype(str),
    ]
    found = []
    for text in _texts(opinion):
        for identifier in sorted(identifiers, key=len, reverse=True):
            text = text.replace(identifier, " ")
        found += _NUMBER.findall(text)
    return found


def test_every_number_in_a_zone_opinion_comes_from_the_analysis(result: AnalysisResult) -> None:
    for position in range(len(result.zones)):
        row = result.zones.iloc[[position]]
        opinion = zone_opinion(result, str(row["zone_id"].iloc[0]), OPTIONS)
        allowed = _tokens([*_row_values(row), *_common_values(result, opinion)])
        unexplained = [n for n in _numbers(opinion, result) if n not in allowed]
        assert not unexplained, (opinion.subject_id, unexplained)


def test_every_number_in_a_commune_opinion_comes_from_the_analysis(
    result: AnalysisResult,
) -> None:
    for row in result.communes.drop(columns="geometry").to_dict("records"):
        insee = row["commune_insee"]
        zones = result.zones[result.zones["commune_insee"] == insee]
        flagged = zones[zones["rank"].notna()]
        opinion = commune_opinion(result, insee, OPTIONS)
        values = [
            *_row_values(result.communes[result.communes["commune_insee"] == insee]),
            *_row_values(zones),
            flagged["locaux"].sum(),
            flagged["available_land_ha"].sum(),
            len(flagged),
            *_common_values(result, opinion),
        ]
        unexplained = [n for n in _numbers(opinion, result) if n not in _tokens(values)]
        assert not unexplained, (insee, unexplained)


def test_every_number_in_the_territory_synthesis_comes_from_the_analysis(
    result: AnalysisResult,
) -> None:
    zones, flagged = result.zones, result.flagged()
    opinion = territory_synthesis(result, OPTIONS)
    weight = zones["locaux"].astype(float)
    shares = []
    for column in ("share_bhd8", "share_thd30", "share_thd100", "share_thd1g", "share_ftth"):
        known = zones[column].notna() & (weight > 0)
        shares.append((zones[column][known] * weight[known]).sum() / weight[known].sum())
    values = [
        *_row_values(flagged),
        *_row_values(result.epcis),
        len(zones),
        zones["commune_insee"].nunique(),
        zones["area_ha"].sum(),
        zones["premises"].sum(),
        zones["locaux"].sum(),
        zones["available_plots"].sum(),
        zones["available_land_ha"].sum(),
        flagged["locaux"].sum(),
        flagged["available_land_ha"].sum(),
        flagged["locaux"].sum() / zones["locaux"].sum(),
        flagged["available_land_ha"].sum() / zones["available_land_ha"].sum(),
        *shares,
        *zones["status"].value_counts().tolist(),
        *Counter(flagged["commune_insee"]).values(),
        *Counter(PriorityLevels().level(p) for p in flagged["priority"]).values(),
        *((r["zones_underserved"] + r["zones_unserved"]) for _, r in result.epcis.iterrows()),
        *_common_values(result, opinion),
    ]
    unexplained = [n for n in _numbers(opinion, result) if n not in _tokens(values)]
    assert not unexplained, unexplained


# --- wording ---------------------------------------------------------------------------------


def _all_text(opinion: Opinion) -> str:
    return " ".join(
        [opinion.model_dump_json(), render_markdown(opinion), render_html(opinion, None)]
    )


def test_opinions_name_no_company(result: AnalysisResult) -> None:
    opinions = [
        territory_synthesis(result, OPTIONS),
        commune_opinion(result, str(result.communes["commune_insee"].iloc[0]), OPTIONS),
        *(zone_opinion(result, z, OPTIONS) for z in result.zones["zone_id"].head(12)),
    ]
    for opinion in opinions:
        text = _all_text(opinion)
        for name in OPERATORS:
            assert not re.search(rf"\b{re.escape(name)}\b", text), (opinion.subject, name)
        assert "ouvertes à l'ensemble des opérateurs" in text or not opinion.recommendation.level


def test_opinion_states_its_thresholds_sources_and_synthetic_data(result: AnalysisResult) -> None:
    zone_id = str(result.flagged()["zone_id"].iloc[0])
    opinion = zone_opinion(result, zone_id, OPTIONS)
    rec = opinion.recommendation
    assert rec.level == 1
    assert rec.label == "Priorité 1"
    assert "à partir de 70,0/100" in rec.rationale
    assert "à partir de 50,0/100" in rec.rationale
    assert f"95{NNBSP}%" in rec.method
    assert f"50{NNBSP}%" in rec.method
    assert opinion.synthetic
    assert opinion.limits[0].startswith("Données synthétiques du territoire de démonstration")
    assert {s.layer for s in opinion.sources} == set(result.run.inputs)
    assert all(s.data_date == date(2026, 1, 1) and s.synthetic for s in opinion.sources)
    assert opinion.links.map_url == f"https://avis.example/geo/maps/zones/{zone_id}"
    assert opinion.links.embed_url.endswith(f"/maps/zones/{zone_id}?embed=1")
    assert opinion.links.iframe.startswith(f'<iframe src="{opinion.links.embed_url}"')
    assert opinion.links.api_url.endswith(f"/collections/zones/items/{zone_id}")
    assert opinion.date == ON


def test_zone_opinion_limits_name_raster_estimates_and_overlaps(result: AnalysisResult) -> None:
    zones = result.zones
    raster_zone = zones[zones["status_basis"] == "raster"]["zone_id"].iloc[0]
    limits = zone_opinion(result, raster_zone, OPTIONS).limits
    assert any(text.startswith("Couverture estimée d'après la carte raster") for text in limits)
    unknown = zones[zones["status"] == "unknown"]["zone_id"].iloc[0]
    opinion = zone_opinion(result, unknown, OPTIONS)
    assert opinion.recommendation.label == "Données à compléter"
    assert opinion.recommendation.level is None
    geoms = list(zones.geometry)
    pair = next(
        (i, j)
        for i in range(len(geoms))
        for j in range(len(geoms))
        if i != j and geoms[i].intersection(geoms[j]).area > 1
    )
    limits = zone_opinion(result, zones["zone_id"].iloc[pair[0]], OPTIONS).limits
    overlap = next(text for text in limits if text.startswith("Zones qui se chevauchent"))
    assert zones["name"].iloc[pair[1]] in overlap
    assert "deux fois" in overlap


def test_zone_opinion_from_commune_statistics(
    zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame
) -> None:
    statistics = pd.DataFrame(
        {
            "commune_insee": ["13002"],
            "share_thd30": [0.4],
            "share_bhd8": [0.7],
            "share_ftth": [0.3],
            "period": ["2025-12-31"],
        }
    )
    result = analyze(zones, premises, commune_coverage=statistics)
    opinion = zone_opinion(result, "C", OPTIONS)  # zone C has no premises and no raster
    assert opinion.status == "underserved"
    assert opinion.figure("commune_share_thd30").value == pytest.approx(0.4)
    assert any("statistiques communales de l'Arcep" in text for text in opinion.findings)
    assert f"70{NNBSP}% des locaux de sa commune" in opinion.assessment[0]
    assert f"seulement 40{NNBSP}%" in opinion.assessment[0]
    assert any(text.startswith("Statistiques communales seulement") for text in opinion.limits)
    assert "—" not in " ".join([*opinion.findings, *opinion.assessment])


def test_unknown_subjects_and_bad_level_settings_are_refused(result: AnalysisResult) -> None:
    with pytest.raises(NotFoundError, match="NOPE"):
        zone_opinion(result, "NOPE")
    with pytest.raises(NotFoundError, match="99999"):
        commune_opinion(result, "99999")
    bad = Settings(opinion_level1_priority=40, opinion_level2_priority=60)
    with pytest.raises(ParameterError, match="LEVEL2"):
        OpinionOptions.from_settings(bad)


def test_wording_helpers() -> None:
    assert share_text(0.996) == f"99,6{NNBSP}%"
    assert share_text(1.0) == f"100{NNBSP}%"
    assert share_text(0.0) == f"0{NNBSP}%"
    assert share_text(0.003) == f"0,3{NNBSP}%"
    assert share_text(0.62) == f"62{NNBSP}%"
    assert share_text(None) == "—"
    assert of_place("Aubesque") == "d'Aubesque"
    assert of_place("Fonvelle") == "de Fonvelle"
    assert of_place("Le Rove") == "du Rove"
    assert of_place("Les Pennes-Mirabeau") == "des Pennes-Mirabeau"
    assert md_escape("a | b <i>*x*</i>\n# y") == r"a \| b \<i\>\*x\*\</i\> # y"
    assert md_escape("- item") == r"\- item"


def test_one_flagged_zone_is_written_in_the_singular() -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A", "B"], "name": ["Zone A", "Zone B"], "commune_insee": ["13001", "13002"]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 100, 100)],
        crs="EPSG:2154",
    )
    premises = gpd.GeoDataFrame(
        {"premises_id": ["p1", "p2"], "locaux": [3, 2], "down_class": ["THD1G", "BHD8"]},
        geometry=[point(10, 10), point(210, 10)],
        crs="EPSG:2154",
    )
    land = gpd.GeoDataFrame(
        {"plot_id": ["L1"], "available": [True], "area_ha": [None]},
        geometry=[box(220, 20, 50, 50)],
        crs="EPSG:2154",
    )
    result = analyze(zones, premises, land=land)  # B: underserved, alone in 13002
    commune = commune_opinion(result, "13002", OPTIONS)
    assert commune.findings[1].startswith("Cette zone réunit 2 locaux dans 1 bâtiment ;")
    assert commune.findings[2] == (
        f"0,25{NNBSP}ha de foncier économique disponible dans cette zone (1 parcelle), "
        f"dont 0,25{NNBSP}ha dans des zones signalées."
    )
    assert commune.findings[3].startswith("Zone signalée, avec son rang parmi")
    assert commune.assessment[0].startswith(
        "La zone d'activités de la commune est mal desservie ou non desservie. Elle réunit"
    )
    territory = territory_synthesis(result, OPTIONS)
    assert territory.findings[2].startswith(
        "1 zone d'activités est signalée (mal desservie ou non desservie) ; elle réunit 2 locaux"
    )
    assert territory.recommendation.rationale.startswith(
        "1 zone d'activités signalée : 1 zone en priorité 2. Priorité 51,8/100. Niveaux"
    )


def test_markdown_keeps_the_thin_spaces_of_figures(result: AnalysisResult) -> None:
    assert md_escape(f"12{NNBSP}345 locaux,\n62{NNBSP}%") == f"12{NNBSP}345 locaux, 62{NNBSP}%"
    opinion = territory_synthesis(result, OPTIONS)
    for text in (render_markdown(opinion), render_html(opinion, None)):
        assert not re.search(r"≥ |\d (?:Mbit|Gbit)/s|\d %|\d ha\b", text)
        assert f"≥{NNBSP}30{NNBSP}Mbit/s" in text


# --- renderings ------------------------------------------------------------------------------


@pytest.fixture
def evil_result(
    zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame, coverage: Any
) -> AnalysisResult:
    """The tiny layers of conftest with names that are HTML and Markdown."""
    zones = zones.copy()
    zones["name"] = [EVIL, "Zone <b>B</b>", "Zone & C", "Zone | D"]
    zones["zone_id"] = ['A"><script>x</script>', "B", "C", "D"]
    communes = gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002"],
            "name": ["<script>alert(2)</script>", "Deux"],
            "epci_siren": ["200054807", "200054807"],
            "epci_name": ["EPCI <i>test</i>", "EPCI <i>test</i>"],
            "population": [100, 200],
        },
        geometry=[
            shapely.box(X0 - 100, Y0 - 100, X0 + 350, Y0 + 500),
            shapely.box(X0 + 350, Y0 - 100, X0 + 800, Y0 + 500),
        ],
        crs="EPSG:2154",
    )
    return analyze(zones, premises, raster=coverage, communes=communes)


def test_html_escapes_data_strings(evil_result: AnalysisResult) -> None:
    layers = MapLayers(evil_result)
    opinions = [
        zone_opinion(evil_result, 'A"><script>x</script>', OPTIONS),
        commune_opinion(evil_result, "13001", OPTIONS),
        territory_synthesis(evil_result, OPTIONS),
    ]
    for opinion in opinions:
        page = render_html(opinion, opinion_map(opinion, layers))
        for raw in (EVIL, "<script>", "<b>B</b>", "<i>test</i>", '"><script'):
            assert raw not in page, (opinion.kind, raw)
        assert page.count("<script") == 0
        assert page.startswith("<!DOCTYPE html>")
        assert "data:image/png;base64," in page
        assert "http" not in page.replace(OPTIONS.root, "")  # self-contained: no other URL
    zone_page = render_html(opinions[0], None)
    assert "&lt;img src=x onerror=alert(1)&gt;" in zone_page
    assert "%22%3E%3Cscript%3Ex%3C%2Fscript%3E" in opinions[0].links.map_url
    markdown = render_markdown(opinions[0])
    assert EVIL not in markdown
    assert r"\<img src=x onerror=alert(1)\>" in markdown


def _pdf_pages(content: bytes) -> list[str]:
    reader = pypdf.PdfReader(BytesIO(content))
    return [" ".join(page.extract_text().replace(NNBSP, " ").split()) for page in reader.pages]


def test_zone_pdf_pages_hold_the_name_and_figures(demo: Workspace, result: AnalysisResult) -> None:
    zone_id = str(result.flagged()["zone_id"].iloc[0])
    document = opinion_document(demo, Subject(OpinionKind.ZONE, zone_id), OpinionFormat.PDF)
    assert document.content.startswith(b"%PDF-")
    assert document.filename == f"avis-zone-{zone_id}.pdf"
    pages = _pdf_pages(document.content)
    assert 2 <= len(pages) <= 4
    for number, text in enumerate(pages, start=1):
        assert text.endswith(f"Page {number} / {len(pages)}")
        assert "DONNÉES SYNTHÉTIQUES" in text
    opinion = zone_opinion(result, zone_id)
    first = pages[0]
    assert opinion.subject in first
    assert "Priorité 1" in first
    assert "Chiffres clés" in first
    for figure in opinion.key_figures:
        assert f"{figure.label} {figure.text}".replace(NNBSP, " ") in first, figure.label
    whole = " ".join(pages)
    # numbered on from « Desserte et accessibilité » when the opinion has it (the demo does)
    headings = [
        "1. Constats",
        "2. Appréciation",
        "3. Desserte et accessibilité",
        "4. Recommandation",
        "5. Limites des données",
        "6. Sources",
    ]
    positions = [whole.index(h) for h in headings]
    assert positions == sorted(positions)
    assert opinion.findings[1].replace(NNBSP, " ") in whole
    # no GEO_SERVICE_PUBLIC_URL: no link, no iframe (a 127.0.0.1 link helps no reader)
    assert "Carte interactive et données" not in whole
    assert "http" not in whole
    assert b"/URI" not in document.content  # no link annotation either


def test_pdf_links_start_with_the_public_url(tmp_path: Path, demo: Workspace) -> None:
    settings = demo.settings.model_copy(update={"public_url": "https://cartes.cci.example/"})
    workspace = Workspace(settings, demo.store)
    zone_id = str(demo.results().flagged()["zone_id"].iloc[0])
    document = opinion_document(workspace, Subject(OpinionKind.ZONE, zone_id), OpinionFormat.PDF)
    whole = " ".join(_pdf_pages(document.content))
    assert "Carte interactive et données" in whole
    assert f"https://cartes.cci.example/maps/zones/{zone_id}?embed=1" in whole.replace(" ", "")
    assert "127.0.0.1" not in whole


def test_options_default_to_no_links(result: AnalysisResult) -> None:
    assert Settings().public_url == ""
    zone_id = str(result.flagged()["zone_id"].iloc[0])
    insee = str(result.flagged()["commune_insee"].iloc[0])
    for opinion in (
        zone_opinion(result, zone_id),
        commune_opinion(result, insee),
        territory_synthesis(result),
    ):
        assert opinion.links is None
        assert all(z.map_url is None for z in opinion.zones)
        page, markdown = render_html(opinion), render_markdown(opinion)
        assert "<iframe" not in page
        assert "<iframe" not in markdown
        assert "href=" not in page
        assert "127.0.0.1" not in page + markdown


def test_territory_pdf_has_the_ranked_annex_on_its_own_pages(
    demo: Workspace, result: AnalysisResult
) -> None:
    document = opinion_document(demo, Subject(OpinionKind.TERRITORY), OpinionFormat.PDF)
    assert document.filename == "avis-territoire.pdf"
    pages = _pdf_pages(document.content)
    annex = next(i for i, text in enumerate(pages) if "Annexe — zones signalées" in text)
    assert pages[annex].startswith("Annexe — zones signalées par ordre de priorité")
    assert "Synthèse territoriale" in pages[0]
    assert "6. Sources" in " ".join(pages[:annex])
    annex_text = " ".join(pages[annex:])
    header = annex_text.split("Rang Zone Commune Statut ")[1]
    assert header.startswith("≥ 30 Mbit/s Locaux Foncier Priorité Niveau")  # unit unbroken
    for zone_id in result.flagged()["zone_id"]:
        assert zone_id in annex_text


def test_renderings_of_one_opinion(demo: Workspace, result: AnalysisResult) -> None:
    insee = str(result.flagged()["commune_insee"].iloc[0])
    subject = Subject(OpinionKind.COMMUNE, insee)
    as_json = opinion_document(demo, subject, OpinionFormat.JSON, on=ON)
    opinion = Opinion.model_validate_json(as_json.content)
    assert opinion == commune_opinion(result, insee, OpinionOptions(on=ON))
    markdown = opinion_document(demo, subject, OpinionFormat.MD, on=ON).content.decode()
    assert markdown.startswith(f"# {md_escape(opinion.title)}\n")
    headings = ("## Chiffres clés", "## 1. Constats", "## 4. Recommandation", "## 6. Sources")
    for heading in headings:
        assert f"\n{heading}\n" in markdown
    assert "<iframe" not in markdown  # no public URL: no links
    linked = opinion_document(demo, subject, OpinionFormat.MD, on=ON, base_url="https://a.example")
    assert "```html\n<iframe" in linked.content.decode()
    page = opinion_document(demo, subject, OpinionFormat.HTML, on=ON).content.decode()
    assert "@page" in page
    assert "data:image/png;base64," in page
    with_links = commune_opinion(result, insee, OPTIONS)
    assert with_links.links is not None
    assert with_links.links.map_url.endswith(f"/maps/territory?commune={insee}")
    assert with_links.links.embed_url.endswith(f"/maps/territory?commune={insee}&embed=1")


# --- API -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(demo: Workspace) -> Iterator[TestClient]:
    from geo_service.api import create_app

    with TestClient(create_app(demo.settings)) as test_client:
        yield test_client


def test_api_zone_opinion_in_every_format(client: TestClient, result: AnalysisResult) -> None:
    zone_id = str(result.flagged()["zone_id"].iloc[0])
    answer = client.get(f"/zones/{zone_id}/opinion")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["subject_id"] == zone_id
    assert body["kind"] == "zone"
    expected = zone_opinion(result, zone_id, OpinionOptions(base_url="http://testserver"))
    assert body["key_figures"] == json.loads(expected.model_dump_json())["key_figures"]
    assert body["links"]["map_url"] == f"http://testserver/maps/zones/{zone_id}"
    pdf = client.get(f"/zones/{zone_id}/opinion", params={"f": "pdf"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="avis-zone-{zone_id}.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    assert "testserver" not in " ".join(_pdf_pages(pdf.content))  # leaves the browser: no link
    html = client.get(f"/zones/{zone_id}/opinion", params={"f": "html"})
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text.startswith("<!DOCTYPE html>")
    md = client.get(f"/zones/{zone_id}/opinion", params={"f": "md"})
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert md.headers["content-disposition"] == f'attachment; filename="avis-zone-{zone_id}.md"'


def test_api_commune_and_territory_opinions(client: TestClient, result: AnalysisResult) -> None:
    insee = str(result.communes["commune_insee"].iloc[0])
    commune = client.get(f"/communes/{insee}/opinion")
    assert commune.status_code == 200
    assert commune.json()["subject_id"] == insee
    territory = client.get("/territory/opinion", params={"f": "json"})
    assert territory.status_code == 200
    assert len(territory.json()["zones"]) == len(result.flagged())


def test_api_opinion_errors(client: TestClient) -> None:
    missing = client.get("/zones/NO-SUCH-ZONE/opinion")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert "NO-SUCH-ZONE" in missing.json()["description"]
    assert client.get("/communes/99999/opinion").status_code == 404
    bad = client.get("/territory/opinion", params={"f": "docx"})
    assert bad.status_code == 400
    assert "'f'" in bad.json()["description"]
    unknown = client.get("/territory/opinion", params={"format": "pdf"})
    assert unknown.status_code == 400
    assert "format" in unknown.json()["description"]


# --- CLI -------------------------------------------------------------------------------------


def test_cli_writes_an_opinion_and_the_flagged_batch(
    demo: Workspace, result: AnalysisResult, tmp_path: Path
) -> None:
    runner = CliRunner()
    data_dir = str(demo.settings.data_dir)
    zone_id = str(result.flagged()["zone_id"].iloc[0])
    out = tmp_path / "avis.md"
    answer = runner.invoke(
        cli_app, ["opinion", "--zone", zone_id, "--out", str(out), "--data-dir", data_dir]
    )
    assert answer.exit_code == 0, answer.output
    assert out.read_text("utf-8").startswith("# Zone d'activités")
    batch = tmp_path / "batch"
    answer = runner.invoke(
        cli_app,
        [
            "opinion",
            "--all-flagged",
            "--format",
            "json",
            "--out",
            str(batch),
            "--data-dir",
            data_dir,
        ],
    )
    assert answer.exit_code == 0, answer.output
    written = sorted(p.name for p in batch.iterdir())
    assert written == sorted(f"avis-zone-{z}.json" for z in result.flagged()["zone_id"])
    first = Opinion.model_validate_json((batch / f"avis-zone-{zone_id}.json").read_text("utf-8"))
    assert first.recommendation.rank == 1


def test_cli_refuses_bad_options(demo: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(demo.settings.data_dir)
    out = str(tmp_path / "x.pdf")
    for args, message in (
        (["--zone", "NOPE"], "NOPE"),
        (["--zone", "X", "--territory"], "exactly one"),
        ([], "exactly one"),
        (["--territory", "--format", "docx"], "--format"),
    ):
        answer = runner.invoke(cli_app, ["opinion", *args, "--out", out, "--data-dir", data_dir])
        assert answer.exit_code == 2, args
        assert message in answer.output
        assert "Traceback" not in answer.output


def test_cli_analyses_a_store_without_results_first(
    zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings)
    for name, frame in ((pipeline.ZONES, zones), (pipeline.PREMISES, premises)):
        canonical, _ = validate_layer(name, frame, f"test {name}")
        store.write_layer(name, canonical, pipeline.layer_meta(name, source="test"))
    out = tmp_path / "territoire.json"
    answer = CliRunner().invoke(
        cli_app, ["opinion", "--territory", "--out", str(out), "--data-dir", str(tmp_path / "data")]
    )
    assert answer.exit_code == 0, answer.output
    assert "analysing it first" in answer.output
    opinion = Opinion.model_validate_json(out.read_text("utf-8"))
    assert opinion.kind == OpinionKind.TERRITORY
    assert not opinion.synthetic
    assert opinion.figure("zones").value == len(zones)


def _printed(text: str) -> float:
    return float(text.removesuffix("/100").replace(NNBSP, "").replace(",", "."))


@pytest.mark.parametrize("priority", [49.5, 49.95, 69.7, 69.96, 50.0, 70.0])
def test_level_is_decided_on_the_printed_priority(priority: float) -> None:
    """DEMO-Z008 (49.5) printed "50/100" at level 3 beside "priorité 2 à partir de 50/100"."""
    rounded = round(priority, PRIORITY_DECIMALS)
    printed = _printed(priority_text(rounded))
    assert OPTIONS.levels.level(rounded) == OPTIONS.levels.level(printed)
    assert printed == rounded


def test_levels_and_ranks_agree_with_the_printed_priorities(result: AnalysisResult) -> None:
    flagged = result.flagged().drop(columns="geometry").to_dict("records")
    assert flagged
    printed = []
    for row in flagged:
        assert row["priority"] == round(row["priority"], PRIORITY_DECIMALS), row["zone_id"]
        opinion = zone_opinion(result, row["zone_id"], OPTIONS)
        shown = _printed(priority_text(opinion.recommendation.priority))
        assert opinion.recommendation.level == OPTIONS.levels.level(shown), row["zone_id"]
        assert priority_text(opinion.recommendation.priority) in _all_text(opinion)
        printed.append(shown)
    assert printed == sorted(printed, reverse=True), "ranks follow the printed priorities"


def test_recommendations_name_no_technology(result: AnalysisResult) -> None:
    """The opinion calls itself technology-neutral: its recommendations say what the zone
    needs, not which technology."""
    opinions = [zone_opinion(result, str(z), OPTIONS) for z in result.zones["zone_id"]]
    opinions += [
        commune_opinion(result, str(i), OPTIONS)
        for i in result.zones["commune_insee"].dropna().unique()
    ]
    opinions.append(territory_synthesis(result, OPTIONS))
    for opinion in opinions:
        for sentence in opinion.recommendations:
            assert not re.search(r"fibre|ftth|cuivre|satellite|4g|5g", sentence, re.I), sentence


def _near_pixels(png: bytes, colour: str, top_share: float = 0.8, limit: float = 5.0) -> int:
    """How many pixels of the map area (the top of the image, above the legend) are within
    ``limit`` (CIELAB ΔE) of ``colour``."""
    from PIL import Image

    from tests.test_maps_browser import delta_e

    image = Image.open(BytesIO(png)).convert("RGB")
    width, height = image.size
    target = tuple(float(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    pixels = np.asarray(image.crop((0, 0, width, int(height * top_share)))).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return sum(
        int(n)
        for rgb, n in zip(colours, counts, strict=True)
        if delta_e(tuple(map(float, rgb)), target) <= limit  # type: ignore[arg-type]
    )


def test_static_zone_map_draws_the_zone_in_its_legend_colour(
    demo: Workspace, result: AnalysisResult
) -> None:
    """The zone was a translucent orange fill over the blue raster (reading grey) against an
    opaque legend patch: it is now an outline in the status colour the legend shows."""
    from geo_service.maps.style import STATUS_COLOURS
    from geo_service.opinions.document import map_layers
    from geo_service.opinions.staticmap import zone_map

    layers = map_layers(demo, result)
    assert layers.raster is not None
    for status in ("unserved", "underserved", "served"):
        zone_id = str(result.zones[result.zones["status"] == status]["zone_id"].iloc[0])
        png = zone_map(layers, zone_id)
        assert _near_pixels(png, STATUS_COLOURS[status]) > 300, (status, zone_id)


def _text_boxes(figure: Any) -> list[tuple[str, Any]]:
    """(text, window box) of every text of the map's axes; rank labels with their circle."""
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)
    out = []
    for ax in figure.axes:
        for text in ax.texts:
            patch = text.get_bbox_patch()
            box = (patch or text).get_window_extent(renderer)
            if text.get_text().strip():
                out.append((text.get_text(), box))
    return out


def test_static_map_labels_never_overlap(demo: Workspace, result: AnalysisResult) -> None:
    """Rank labels overlapped each other and the commune names (13 on a commune label, 14 over
    7): each is now placed where it overlaps no other text, with a leader line to its zone."""
    from geo_service.opinions.document import map_layers
    from geo_service.opinions.staticmap import commune_figure, territory_figure

    layers = map_layers(demo, result)
    busiest = str(result.flagged()["commune_insee"].value_counts().index[0])
    for figure in (territory_figure(layers), commune_figure(layers, busiest)):
        boxes = _text_boxes(figure)
        ranks = [t for t, _ in boxes if t.isdigit()]
        assert len(ranks) >= 3
        for i, (a, box_a) in enumerate(boxes):
            for b, box_b in boxes[i + 1 :]:
                assert not box_a.overlaps(box_b), (a, b)
    assert sorted(int(t) for t, _ in _text_boxes(territory_figure(layers)) if t.isdigit()) == list(
        range(1, len(result.flagged()) + 1)
    )


def test_static_map_commune_names_keep_clear_of_zone_dots(
    demo: Workspace, result: AnalysisResult
) -> None:
    """Commune names were written over the zones' dots (« Sa●uvane », « Ventière⑲s »): each
    name is now placed inside its commune where no dot lies under it."""
    from geo_service.opinions.document import map_layers
    from geo_service.opinions.staticmap import commune_figure, territory_figure

    layers = map_layers(demo, result)
    names = set(result.communes["name"].astype(str))
    busiest = str(result.flagged()["commune_insee"].value_counts().index[0])
    for figure in (territory_figure(layers), commune_figure(layers, busiest)):
        boxes = [(t, box) for t, box in _text_boxes(figure) if t.replace("\n", "") in names]
        assert len(boxes) >= 3
        ax = figure.axes[0]
        dots = np.vstack([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
        radius = 2.5 * figure.dpi / 72  # a dot's radius (s=22 points²), in pixels
        for x, y in ax.transData.transform(dots):
            for name, area in boxes:
                assert not (
                    area.x0 - radius < x < area.x1 + radius
                    and area.y0 - radius < y < area.y1 + radius
                ), (name, x, y)


def test_static_map_buildings_are_not_drawn_in_status_colours(
    demo: Workspace, result: AnalysisResult
) -> None:
    """The buildings below 8 and 8 to 30 Mbit/s were dotted in the unserved and under-served
    oranges (#D55E00, #E69F00): a slow building read as a zone's status."""
    from geo_service.maps.style import PREMISES_GROUP_COLOURS, STATUS_COLOURS
    from geo_service.opinions.document import map_layers
    from geo_service.opinions.staticmap import zone_map
    from tests.test_maps_browser import delta_e

    def rgb(colour: str) -> tuple[float, float, float]:
        return tuple(float(int(colour[i : i + 2], 16)) for i in (1, 3, 5))  # type: ignore[return-value]

    groups = list(PREMISES_GROUP_COLOURS.values())
    for building in groups:
        for status in STATUS_COLOURS.values():
            assert delta_e(rgb(building), rgb(status)) >= 40, (building, status)
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            assert delta_e(rgb(a), rgb(b)) >= 40, (a, b)
    layers = map_layers(demo, result)
    assert layers.premises is not None
    unserved = result.zones[result.zones["status"] == "unserved"]
    zone_id = str(unserved.sort_values("premises")["zone_id"].iloc[-1])
    png = zone_map(layers, zone_id)
    drawn = {
        key: _near_pixels(png, colour, limit=4.0) for key, colour in PREMISES_GROUP_COLOURS.items()
    }
    assert drawn["poor"] > 20, drawn  # the dots are drawn in the legend's colours


def test_static_map_legends_stay_below_the_map(demo: Workspace, result: AnalysisResult) -> None:
    """The zone map's legend (twelve entries) rose into the map: its first row sat under the
    scale bar. Every legend now ends below the map's frame."""
    from geo_service.opinions.document import map_layers
    from geo_service.opinions.staticmap import commune_figure, territory_figure, zone_figure

    layers = map_layers(demo, result)
    flagged = result.flagged()
    figures = [zone_figure(layers, str(z)) for z in flagged["zone_id"].head(3)]
    figures += [commune_figure(layers, str(flagged["commune_insee"].iloc[0]))]
    figures.append(territory_figure(layers))
    for figure in figures:
        renderer = figure.canvas.get_renderer()
        figure.draw(renderer)
        (ax,) = figure.axes
        (legend,) = figure.legends
        frame = ax.get_window_extent(renderer)
        legend_box = legend.get_window_extent(renderer)
        assert legend_box.y1 <= frame.y0, (legend_box, frame)
        assert legend_box.y0 >= 0, legend_box  # and it is not cut off
        width = figure.get_size_inches()[0]
        assert width * figure.dpi >= legend_box.x1


def test_french_quotes_never_break_from_their_words(
    demo: Workspace, result: AnalysisResult
) -> None:
    """The territory annex's note broke « — » over two lines (« — / » : non mesuré): French
    quotes are held to what they quote by no-break spaces in every rendering."""
    subjects = [Subject(OpinionKind.TERRITORY)]
    subjects.append(Subject(OpinionKind.ZONE, str(result.flagged()["zone_id"].iloc[0])))
    subjects.append(Subject(OpinionKind.COMMUNE, str(result.flagged()["commune_insee"].iloc[0])))
    for subject in subjects:
        for form in (OpinionFormat.HTML, OpinionFormat.MD, OpinionFormat.JSON):
            text = opinion_document(demo, subject, form, on=ON).content.decode()
            assert "« " not in text, (subject, form)
            assert " »" not in text, (subject, form)
    page = opinion_document(demo, subjects[0], OpinionFormat.HTML, on=ON).content.decode()
    assert f"«{NNBSP}—{NNBSP}»" in page


def test_sections_are_numbered_on_from_the_access_section(result: AnalysisResult) -> None:
    # « Desserte et accessibilité » stood unnumbered between « 2. Appréciation » and
    # « 3. Recommandation »; without transport layers it is absent and the numbers close up.
    from geo_service.opinions.sections import Section, numbered_titles

    opinion = zone_opinion(result, str(result.zones["zone_id"].iloc[0]), OpinionOptions(on=ON))
    assert opinion.access
    with_access = numbered_titles(opinion)
    assert with_access[Section.ACCESS] == "3. Desserte et accessibilité"
    assert with_access[Section.SOURCES] == "6. Sources"
    without = numbered_titles(opinion.model_copy(update={"access": []}))
    assert Section.ACCESS not in without
    assert without[Section.RECOMMENDATION] == "3. Recommandation"
    assert "<h2>3. Desserte et accessibilité</h2>" in render_html(opinion)
    assert "\n## 4. Recommandation\n" in render_markdown(opinion)
