"""ARCEP building files: "Ma connexion internet" base_imb + actuel pairs, and Cartefibre."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.cli import app
from geo_service.errors import InputError, ParameterError
from geo_service.sources import bigcsv
from geo_service.sources.arcep import ACTUEL_LAYOUT, BASE_IMB_LAYOUT
from geo_service.sources.csvfile import read_csv_header
from geo_service.sources.formats import ImportOptions, choose_format, sniff
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer

FIXTURES = Path(__file__).parent / "fixtures" / "arcep"
BASE_13 = FIXTURES / "base_imb_13.csv.gz"
ACTUEL_13 = FIXTURES / "actuel_13.csv.gz"
BASE_84 = FIXTURES / "base_imb_84.csv"
ACTUEL_84 = FIXTURES / "actuel_84.csv"
CARTEFIBRE = FIXTURES / "cartefibre_immeubles_13.csv"
MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
runner = CliRunner(env={"COLUMNS": "200"})


def read_mci(paths: list[Path], **options: bool) -> tuple[gpd.GeoDataFrame, object]:
    fmt = choose_format("premises", paths)
    assert fmt.name == "arcep-mci-immeubles"
    frame, report = fmt.read(paths, ImportOptions(**options))
    assert isinstance(frame, gpd.GeoDataFrame)
    return frame, report


def by_id(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry")).set_index("premises_id")


def test_best_offer_of_each_building_satellite_excluded() -> None:
    frame, report = read_mci([ACTUEL_13, BASE_13])  # any order
    rows = by_id(frame)
    expected = {
        # several operators and technologies; FO and SAT offers
        "IMB/13001/X/00A1": ("THD1G", "FO", True, 12),
        # COAX and FO both THD1G: the tie goes to fibre
        "IMB/13001/X/00A2": ("THD1G", "FO", True, 3),
        # best terrestrial offer is 4G fixe; SAT THD100 not counted; locaux 0 read as 1
        "IMB/13001/X/00A3": ("THD30", "4GF", False, 1),
        # satellite only: no counted offer, INEL; empty locaux read as 1
        "IMB/13055/X/00B4": ("INEL", None, False, 1),
        "IMB/13055/X/00B6": ("THD30", "THDR", False, 1),
        "IMB/13201/X/00C8": ("THD1G", "COAX", True, 40),
    }
    assert sorted(rows.index) == sorted(expected)
    for imb_id, (klass, techno, ftth, locaux) in expected.items():
        row = rows.loc[imb_id]
        assert (row["down_class"], row["ftth"], row["locaux"]) == (klass, ftth, locaux), imb_id
        assert (None if pd.isna(row["best_techno"]) else row["best_techno"]) == techno, imb_id
    assert rows.loc["IMB/13201/X/00C8", "commune_insee"] == "13201"
    assert report.rows_read == 8
    assert report.rows_kept == 6
    assert report.repaired == 2  # the two locaux read as 1
    skipped = {reason.split(" in ")[0]: rows for reason, rows in report.skipped.items()}
    assert skipped == {"no coordinates": [7], "no eligibility row": [5]}
    warnings = " ".join(report.warnings)
    assert "1 building(s) absent from base_imb_13.csv.gz were ignored" in warnings  # orphan
    assert "not counted (SAT): class INEL (row 4)" in warnings


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"include_satellite": True},
            {"IMB/13001/X/00A3": ("THD100", "SAT"), "IMB/13055/X/00B4": ("THD100", "SAT")},
        ),
        (
            {"wired_only": True},
            {
                "IMB/13001/X/00A3": ("HD3", "CU"),
                "IMB/13055/X/00B4": ("INEL", None),
                "IMB/13055/X/00B6": ("BHD8", "CU"),
                "IMB/13001/X/00A1": ("THD1G", "FO"),
            },
        ),
    ],
)
def test_satellite_and_wired_only_options(options: dict[str, bool], expected) -> None:
    frame, _ = read_mci([BASE_13, ACTUEL_13], **options)
    rows = by_id(frame)
    for imb_id, (klass, techno) in expected.items():
        found = rows.loc[imb_id, "best_techno"]
        assert rows.loc[imb_id, "down_class"] == klass
        assert (None if pd.isna(found) else found) == techno


def test_satellite_and_wired_only_together_are_refused() -> None:
    with pytest.raises(ParameterError, match="choose one"):
        read_mci([BASE_13, ACTUEL_13], include_satellite=True, wired_only=True)


def test_web_mercator_points_are_projected_to_lambert93() -> None:
    frame, _ = read_mci([BASE_13, ACTUEL_13])
    assert frame.crs.equals("EPSG:2154")
    cours_mirabeau = frame.set_index("premises_id").geometry["IMB/13001/X/00A1"]
    expected = gpd.GeoSeries.from_xy([5.4474], [43.5297], crs=4326).to_crs(2154).iloc[0]
    assert cours_mirabeau.distance(expected) < 0.01


def test_output_is_a_canonical_premises_layer() -> None:
    frame, _ = read_mci([BASE_13, ACTUEL_13])
    canonical, report = validate_layer("premises", frame, "mci")
    assert report.rows_kept == len(frame)
    pd.testing.assert_series_equal(
        canonical["down_class"], frame["down_class"].astype(object), check_dtype=False
    )


def test_latin1_uncompressed_pair_and_two_departements_at_once() -> None:
    alone, _ = read_mci([BASE_84, ACTUEL_84])
    assert by_id(alone)["down_class"].to_dict() == {
        "IMB/84089/X/0P01": "THD1G",
        "IMB/84089/X/0P02": "BHD8",
    }
    both, report = read_mci([ACTUEL_84, BASE_13, BASE_84, ACTUEL_13])
    assert len(both) == 8
    assert "base_imb_84.csv + actuel_84.csv" in report.source
    assert "base_imb_13.csv.gz + actuel_13.csv.gz" in report.source


def test_small_batches_give_the_same_buildings(monkeypatch: pytest.MonkeyPatch) -> None:
    whole, _ = read_mci([BASE_13, ACTUEL_13])
    monkeypatch.setattr(bigcsv, "_BLOCK_SIZE", 300)  # a few rows per batch
    batched, _ = read_mci([BASE_13, ACTUEL_13])
    pd.testing.assert_frame_equal(by_id(whole), by_id(batched))


# -- refusals -----------------------------------------------------------------------------------


def mercator(lon: float, lat: float) -> tuple[str, str]:
    x, y = MERCATOR.transform(lon, lat)
    return f"{x:.2f}", f"{y:.2f}"


def base_row(imb_id: str, x: str, y: str, insee: str = "13001", locaux: str = "1") -> str:
    fields = dict.fromkeys(BASE_IMB_LAYOUT, "")
    fields.update(
        imb_id=imb_id,
        imb_x=x,
        imb_y=y,
        imb_code=imb_id,
        imb_code_insee=insee,
        imb_nbr_logloc=locaux,
        imb_source="fo",
        imb_type="PA",
    )
    return ";".join(fields.values())


def offer_row(imb_id: str, techno: str = "FO", klass: str = "THD1G") -> str:
    fields = dict.fromkeys(ACTUEL_LAYOUT, "")
    fields.update(
        imb_id=imb_id, code_operateur="FRTE", code_techno=techno, classe_debit_descendant=klass
    )
    return ";".join(fields.values())


def write_pair(
    tmp_path: Path,
    bases: list[str],
    offers: list[str],
    *,
    base_header: tuple[str, ...] = BASE_IMB_LAYOUT,
    offer_header: tuple[str, ...] = ACTUEL_LAYOUT,
) -> list[Path]:
    base = tmp_path / "base_imb_13.csv.gz"
    actuel = tmp_path / "actuel_13.csv.gz"
    base.write_bytes(gzip.compress("\n".join([";".join(base_header), *bases]).encode()))
    actuel.write_bytes(gzip.compress("\n".join([";".join(offer_header), *offers]).encode()))
    return [base, actuel]


AIX = mercator(5.4474, 43.5297)


def test_duplicate_building_ids_are_refused(tmp_path: Path) -> None:
    paths = write_pair(
        tmp_path,
        [base_row("IMB/1", *AIX), base_row("IMB/2", *AIX), base_row("IMB/1", *AIX)],
        [offer_row("IMB/1")],
    )
    with pytest.raises(InputError) as error:
        read_mci(paths)
    assert "base_imb_13.csv.gz: column 'imb_id' has 1 duplicated value(s): 'IMB/1' (rows 1, 3)" in (
        error.value.message
    )


def test_huge_premises_counts_are_refused(tmp_path: Path) -> None:
    paths = write_pair(
        tmp_path,
        [base_row("IMB/1", *AIX, locaux="1e308"), base_row("IMB/2", *AIX, locaux="3")],
        [offer_row("IMB/1"), offer_row("IMB/2")],
    )
    with pytest.raises(InputError) as error:
        read_mci(paths)
    assert (
        "base_imb_13.csv.gz: column 'imb_nbr_logloc': 1 premises counts above the maximum in "
        "row 1; expected at most 100,000 locaux in a building"
    ) in error.value.message


def test_missing_columns_of_both_files_are_listed_at_once(tmp_path: Path) -> None:
    base_header = tuple(c for c in BASE_IMB_LAYOUT if c not in ("imb_x", "imb_nbr_logloc"))
    offer_header = tuple(c for c in ACTUEL_LAYOUT if c != "classe_debit_descendant")
    paths = write_pair(tmp_path, [], [], base_header=base_header, offer_header=offer_header)
    with pytest.raises(InputError) as error:
        choose_format("premises", paths, "arcep-mci-immeubles").read(paths, ImportOptions())
    message = error.value.message
    assert "base_imb_13.csv.gz: missing column(s) 'imb_x', 'imb_nbr_logloc'" in message
    assert "actuel_13.csv.gz: missing column(s) 'classe_debit_descendant'" in message


def test_points_outside_france_are_counted_with_examples(tmp_path: Path) -> None:
    lisbon = mercator(-9.14, 38.72)
    paths = write_pair(
        tmp_path,
        [base_row("IMB/1", *AIX), base_row("IMB/2", *lisbon), base_row("IMB/3", *lisbon)],
        [offer_row("IMB/1")],
    )
    with pytest.raises(InputError) as error:
        read_mci(paths)
    message = error.value.message
    assert "columns 'imb_x'/'imb_y': 2 point(s) outside metropolitan France in rows 2, 3" in (
        message
    )
    assert "row 2: imb_x=-1.01" in message


def test_swapped_coordinates_get_a_hint(tmp_path: Path) -> None:
    x, y = AIX
    paths = write_pair(tmp_path, [base_row("IMB/1", y, x)], [offer_row("IMB/1")])
    with pytest.raises(InputError, match="look swapped"):
        read_mci(paths)


def test_lambert93_coordinates_in_a_mercator_column_get_a_hint(tmp_path: Path) -> None:
    lille = ("704000", "7059000")  # as Web Mercator this is in the North Sea
    paths = write_pair(tmp_path, [base_row("IMB/1", *lille)], [offer_row("IMB/1")])
    with pytest.raises(InputError, match=r"look like Lambert-93 \(EPSG:2154\)"):
        read_mci(paths)


def test_unknown_technologies_and_classes_are_listed(tmp_path: Path) -> None:
    paths = write_pair(
        tmp_path,
        [base_row("IMB/1", *AIX)],
        [offer_row("IMB/1"), offer_row("IMB/1", "5GF"), offer_row("IMB/1", "CU", "THD10")],
    )
    with pytest.raises(InputError) as error:
        read_mci(paths)
    message = error.value.message
    assert "column 'code_techno': unknown values '5GF' (1 row(s), e.g. row 2)" in message
    assert "column 'classe_debit_descendant': unknown values 'THD10' (1 row(s), e.g. row 3)" in (
        message
    )


def test_malformed_lines_and_bad_insee_codes_are_refused(tmp_path: Path) -> None:
    paths = write_pair(tmp_path, [base_row("IMB/1", *AIX), "IMB/2;1;2"], [offer_row("IMB/1")])
    with pytest.raises(
        InputError, match=r"1 line\(s\) with the wrong number of fields \(lines 3\)"
    ):
        read_mci(paths)
    paths = write_pair(tmp_path, [base_row("IMB/1", *AIX, insee="13-01")], [offer_row("IMB/1")])
    with pytest.raises(InputError, match="'13-01'"):
        read_mci(paths)


def test_lost_leading_zeros_of_insee_codes_are_restored(tmp_path: Path) -> None:
    bourg = mercator(5.2256, 46.2052)
    paths = write_pair(tmp_path, [base_row("IMB/1", *bourg, insee="1053")], [offer_row("IMB/1")])
    frame, _ = read_mci(paths)
    assert frame["commune_insee"].tolist() == ["01053"]


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ([BASE_13], "in pairs"),
        ([BASE_13, BASE_84], "2 base_imb file(s) and 0 actuel file(s)"),
        ([BASE_13, ACTUEL_84, BASE_84, ACTUEL_84], "no actuel file matches base_imb_13"),
    ],
)
def test_files_that_do_not_pair_are_refused(paths: list[Path], message: str) -> None:
    with pytest.raises((ParameterError, InputError), match=re.escape(message)):
        choose_format("premises", paths, "arcep-mci-immeubles").read(paths, ImportOptions())


def test_refused_import_leaves_the_store_unchanged(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "data")
    fmt, report = pipeline.import_files(store, "premises", [BASE_13, ACTUEL_13])
    assert fmt.name == "arcep-mci-immeubles"
    before = store.version("premises")
    bad = write_pair(tmp_path, [base_row("IMB/1", "abc", "1")], [offer_row("IMB/1")])
    with pytest.raises(InputError, match="not numbers"):
        pipeline.import_files(store, "premises", bad)
    assert store.version("premises") == before
    assert len(store.read_layer("premises")) == report.rows_kept == 6


def test_cli_imports_the_pair_with_satellite(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = runner.invoke(
        app,
        [
            "import",
            "premises",
            str(BASE_13),
            str(ACTUEL_13),
            "--include-satellite",
            "--data-dir",
            str(data),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "arcep-mci-immeubles" in result.output
    assert "8 rows read, 6 kept, 2 repaired, 2 skipped" in result.output
    premises = GeoPackageStore(data).read_layer("premises").set_index("premises_id")
    assert premises.loc["IMB/13055/X/00B4", "down_class"] == "THD100"


# -- Cartefibre ---------------------------------------------------------------------------------


def test_cartefibre_buildings_become_the_ftth_deployment_layer(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "data")
    fmt, report = pipeline.import_files(store, "ftth_deployment", [CARTEFIBRE])
    assert fmt.name == "arcep-cartefibre-immeubles"
    layer = store.read_layer("ftth_deployment").set_index("premises_id")
    assert layer.crs.equals("EPSG:2154")
    assert layer["ftth"].to_dict() == {
        "IMB/13001/X/00A1": True,  # deploye
        "IMB/13001/X/00A2": True,  # raccordable demande
        "IMB/13001/X/00A3": False,  # en cours de deploiement
        "IMB/13055/X/00B4": False,  # cible
        "IMB/13055/X/00B5": False,  # signe
        "IMB/13055/X/00B6": False,  # abandonne
        "IMB/13201/X/00C8": True,
    }
    assert layer.loc["IMB/13201/X/00C8", "pm_ref"] == "FI-13201-0007"
    assert report.skipped == {"no coordinates in cartefibre_immeubles_13.csv (x/y empty)": [7]}
    assert store.layer_meta("ftth_deployment").title == "Déploiement de la fibre par immeuble"


def test_cartefibre_unknown_states_are_refused(tmp_path: Path) -> None:
    text = CARTEFIBRE.read_text(encoding="utf-8").replace("signe", "Déployé partiellement", 1)
    path = tmp_path / "cartefibre.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="unknown states 'Déployé partiellement' in row 5"):
        choose_format("ftth_deployment", [path]).read([path], ImportOptions())


def test_gzipped_and_latin1_headers_are_sniffed_from_their_first_bytes() -> None:
    gz = sniff(BASE_13)
    assert gz.suffix == ".csv"
    assert gz.columns[:3] == ("imb_id", "imb_x", "imb_y")
    dialect, names = read_csv_header(BASE_84)
    assert (dialect.separator, dialect.encoding) == (";", "cp1252")
    assert names == BASE_IMB_LAYOUT
