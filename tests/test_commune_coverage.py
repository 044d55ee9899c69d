"""ARCEP commune statistics: the ``commune_coverage`` import and its use in the analysis."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.analysis import ZONE_RESULT_COLUMNS, analyze
from geo_service.analysis.commune_coverage import COMMUNE_ARCEP_COLUMNS, ZONE_COMMUNE_COLUMNS
from geo_service.analysis.reasons import split_reasons
from geo_service.cli import app
from geo_service.errors import InputError, NotFoundError
from geo_service.model import CANONICAL_CRS
from geo_service.settings import AnalysisParams
from geo_service.sources.arcep_communes import COMMUNE_COVERAGE_COLUMNS, ftth_class_of
from geo_service.store import GeoPackageStore

FIXTURES = Path(__file__).parent / "fixtures" / "opendata"
MCI = (
    "mci-commune-debit-filaire.csv",
    "mci-commune-techno.csv",
    "mci-commune-meilleure-techno-thd.csv",
)
OBSERVATORY = ("ftth-communes.csv", "ftth-deploiement-communes.csv")
ESTIMATED = "statut estimé d'après les statistiques communales de l'Arcep"


@pytest.fixture
def store(tmp_path: Path) -> GeoPackageStore:
    return GeoPackageStore(tmp_path / "data")


def coverage_of(store: GeoPackageStore, *names: str):
    _, report = pipeline.import_files(store, "commune_coverage", [FIXTURES / n for n in names])
    return report, store.read_layer("commune_coverage").set_index("commune_insee")


def table(**communes: dict[str, object]) -> gpd.GeoDataFrame:
    """A commune_coverage layer: commune code -> figures."""
    rows = [{"commune_insee": code, **figures} for code, figures in communes.items()]
    frame = pd.DataFrame(rows).reindex(columns=list(COMMUNE_COVERAGE_COLUMNS))
    return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=CANONICAL_CRS)


# -- import ---------------------------------------------------------------------------------------


def test_ma_connexion_internet_commune_files(store: GeoPackageStore) -> None:
    report, layer = coverage_of(store, *MCI)
    assert list(layer.index) == ["01001", "13005", "13055", "2A004"]  # 1001 padded
    marseille = layer.loc["13055"]
    assert marseille["locaux"] == 520_000
    assert marseille["share_bhd8"] == pytest.approx(0.995)
    assert marseille["share_thd30"] == pytest.approx(0.95)
    assert marseille["share_thd1g"] == pytest.approx(470_000 / 520_000)
    assert marseille["share_ftth"] == pytest.approx(0.9)  # elig_ftth of commune_techno
    assert pd.isna(layer.loc["01001", "share_ftth"])  # not in the techno files
    assert marseille["period"] == "2026-03-31"
    assert report.data_date.isoformat() == "2026-03-31"
    assert store.layer_meta("commune_coverage").data_date.isoformat() == "2026-03-31"
    assert store.layer_meta("commune_coverage").title.startswith("Couverture")
    assert layer.geometry.isna().all()


def test_ftth_observatory_with_title_lines_and_padded_numbers(store: GeoPackageStore) -> None:
    report, layer = coverage_of(store, *OBSERVATORY)
    marseille = layer.loc["13055"]
    assert (marseille["logements"], marseille["etablissements"]) == (432_378, 24_094)
    assert marseille["locaux"] == 456_472
    assert marseille["ftth_connectable"] == 248_140  # T1 2018, the latest quarter
    assert marseille["share_ftth"] == pytest.approx(248_140 / 456_472)
    assert marseille["ftth_class"] == 50
    assert marseille["period"] == "T1 2018"
    assert pd.isna(marseille["share_thd30"])
    assert pd.isna(layer.loc["01001", "etablissements"])  # "-"
    assert layer.loc["01001", "logements"] == 349
    assert report.data_date.isoformat() == "2018-03-31"
    assert any("quarter T1 2018 used" in w for w in report.warnings)


def test_arrondissements_are_summed_into_their_commune(store: GeoPackageStore) -> None:
    report, layer = coverage_of(store, "ftth-deploiement-arrondissements.csv")
    assert list(layer.index) == ["13005", "13055"]
    assert layer.loc["13055", "ftth_connectable"] == 12_000 + 4_000
    assert report.skipped == {
        "class of a municipal arrondissement (recomputed for the commune)": [2, 4]
    }
    assert any("summed into their commune (13055)" in w for w in report.warnings)


def test_arrondissements_of_a_commune_given_whole_are_left_out(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    path = tmp_path / "commune_techno.csv"
    path.write_text(
        "code_insee;nom_com;nbr;type;elig_ftth\n13055;Marseille;100;all;80\n"
        "13201;Marseille 1er;10;all;9\n13201;Marseille 1er;4;pro;4\n",
        encoding="utf-8",
    )
    _, report = pipeline.import_files(store, "commune_coverage", [path])
    layer = store.read_layer("commune_coverage")
    assert list(layer["commune_insee"]) == ["13055"]
    assert layer["share_ftth"].tolist() == [0.8]
    assert report.skipped == {
        "type other than 'all' (all premises)": [3],
        "municipal arrondissement of a commune also given as a whole": [2],
    }


def test_both_families_merge_by_commune(store: GeoPackageStore) -> None:
    _, layer = coverage_of(store, "mci-commune-debit-filaire.csv", *OBSERVATORY)
    aubagne = layer.loc["13005"]
    assert aubagne["locaux"] == 26_000  # Ma connexion internet wins
    assert aubagne["share_thd30"] == pytest.approx(0.5)
    assert aubagne["share_ftth"] == pytest.approx(8_173 / 23_074)  # only the observatory has it
    assert layer.loc["13001", "locaux"] == 87_104  # only in the observatory
    assert pd.isna(layer.loc["2A004", "logements"])  # only in Ma connexion internet


def test_ftth_classes() -> None:
    shares = pd.Series([0.0, 0.03, 0.10, 0.3, 0.6, 0.8, 1.0, float("nan")])
    assert ftth_class_of(shares).tolist()[:7] == [0, 5, 10, 25, 50, 80, 80]
    assert pd.isna(ftth_class_of(shares).iloc[7])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "code_insee;nbr;elig_ftth\n13055;10;8\n13055;12;9\n",
            r"1 commune code\(s\) appear on several rows \(e\.g\. '13055' in rows 1, 2\)",
        ),
        ("code_insee;nbr;elig_ftth\n13-55;10;8\n", r"not INSEE codes in row 1 \(e\.g\. '13-55'"),
        (
            "Réseaux en fibre optique jusqu'à l'abonné (FttH),,,\nInformations à l'échelle de "
            "l'EPCI,,,\n,,,\n,,,\nSiren EPCI,Nom EPCI,Logements,Établissements\n"
            "200000172,CC Faucigny-Glières, 12 394    , 722    \n",
            "no header line naming 'code commune'",
        ),
        ("code_insee;nom;logements\n13055;Marseille;12 x\n", "values that are not numbers"),
    ],
)
def test_bad_commune_files_are_refused(
    store: GeoPackageStore, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "stats.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        pipeline.import_files(store, "commune_coverage", [path], format_name="arcep-communes")
    assert str(path) in error.value.message
    assert not store.has_layer("commune_coverage")


def test_files_of_the_same_kind_must_not_repeat_a_commune(store: GeoPackageStore) -> None:
    with pytest.raises(InputError, match=r"commune \d{5} is given by several files of the same"):
        coverage_of(store, "ftth-deploiement-communes.csv", "ftth-deploiement-communes.csv")


# -- analysis -------------------------------------------------------------------------------------


def test_a_zone_without_premises_takes_its_communes_shares(zones, premises) -> None:
    coverage = table(**{"13002": {"share_bhd8": 0.3, "share_thd30": 0.2, "period": "2026-03-31"}})
    result = analyze(zones, premises, commune_coverage=coverage)
    c = result.zones.set_index("zone_id").loc["C"]  # zone C has no premises
    assert c["status_basis"] == "commune"
    assert c["status"] == "unserved"  # 30 % at 8 Mbit/s in the commune
    assert c["commune_share_thd30"] == pytest.approx(0.2)
    assert c["priority"] > 0
    reason = split_reasons(c["reasons"])[0]
    assert ESTIMATED in reason
    assert "31 mars 2026" in reason
    assert "20\u202f% des locaux de la commune" in reason
    d = result.zones.set_index("zone_id").loc["D"]  # same commune, but with premises
    assert d["status_basis"] == "premises"
    assert d["commune_share_thd30"] == pytest.approx(0.2)
    assert list(result.zones.columns) == [*ZONE_RESULT_COLUMNS, *ZONE_COMMUNE_COLUMNS, "geometry"]


@pytest.mark.parametrize(("ftth", "status"), [(0.97, "served"), (0.2, "underserved")])
def test_fibre_figures_alone_never_say_unserved(zones, premises, ftth: float, status: str) -> None:
    coverage = table(**{"13002": {"share_ftth": ftth, "ftth_class": 80, "period": "T1 2018"}})
    c = analyze(zones, premises, commune_coverage=coverage).zones.set_index("zone_id").loc["C"]
    assert c["status"] == status
    assert c["status_basis"] == "commune"
    assert "fibre optique (FttH) raccordable" in c["reasons"]
    assert "(T1 2018)" in c["reasons"]


def test_a_zone_in_an_arrondissement_finds_marseille(zones, premises) -> None:
    zones = zones.assign(commune_insee=["13201", "13201", "13203", "13203"])
    coverage = table(**{"13055": {"share_bhd8": 1.0, "share_thd30": 0.99}})
    result = analyze(zones, premises, commune_coverage=coverage)
    c = result.zones.set_index("zone_id").loc["C"]
    assert (c["status"], c["status_basis"]) == ("served", "commune")
    communes = result.communes.set_index("commune_insee")
    assert communes.loc["13203", "arcep_share_thd30"] == pytest.approx(0.99)
    assert set(COMMUNE_ARCEP_COLUMNS) <= set(result.communes.columns)


def test_premises_and_raster_still_decide_first(zones, premises, coverage) -> None:
    stats = table(**{"13002": {"share_bhd8": 0.1, "share_thd30": 0.1}})
    result = analyze(zones, premises, raster=coverage, commune_coverage=stats)
    by_id = result.zones.set_index("zone_id")
    assert by_id.loc["C", "status_basis"] == "raster"  # the raster knows zone C
    unknown = table(**{"99999": {"share_bhd8": 0.1, "share_thd30": 0.1}})
    alone = analyze(zones, premises, commune_coverage=unknown).zones.set_index("zone_id")
    assert alone.loc["C", "status"] == "unknown"  # its commune has no figures


def test_without_the_layer_nothing_changes(zones, premises) -> None:
    before = analyze(zones, premises)
    assert list(before.zones.columns) == [*ZONE_RESULT_COLUMNS, "geometry"]
    assert not set(COMMUNE_ARCEP_COLUMNS) & set(before.communes.columns)
    after = analyze(zones, premises, commune_coverage=table())
    pd.testing.assert_series_equal(before.zones["status"], after.zones["status"])
    pd.testing.assert_series_equal(before.zones["reasons"], after.zones["reasons"])


# -- pipeline and command line -------------------------------------------------------------------


def test_store_without_premises_is_analysed_from_commune_figures(
    store: GeoPackageStore, zones
) -> None:
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="test"))
    with pytest.raises(NotFoundError, match="no premises layer"):
        pipeline.load_inputs(store)
    coverage_of(store, *MCI)
    inputs = pipeline.load_inputs(store)
    assert len(inputs.premises) == 0
    assert "commune_coverage" in inputs.metas
    result = pipeline.analyze_store(store, AnalysisParams())
    assert set(result.zones["status_basis"]) == {"none"}  # communes 13001/13002 have no figures
    assert result.run.inputs["commune_coverage"].data_date.isoformat() == "2026-03-31"


def test_cli_import_and_analyze(data_dir: Path, zones) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    path = data_dir.parent / "zones.geojson"
    zones.assign(commune_insee=["13055", "13055", "13005", "13005"]).to_crs(4326).to_file(path)
    assert runner.invoke(app, ["import", "zones", str(path)]).exit_code == 0
    args = ["import", "commune_coverage", *(str(FIXTURES / n) for n in MCI)]
    imported = runner.invoke(app, args)
    assert imported.exit_code == 0, imported.output
    assert "Format: arcep-communes" in imported.output
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 0, result.output
    assert ESTIMATED in result.output
    assert "≥ 30 Mbit/s : 50\u202f% (commune)" in result.output  # Aubagne's THD30 share
