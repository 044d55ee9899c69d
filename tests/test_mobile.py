"""ARCEP mobile sites and coverage maps: importers, and the zones' mobile coverage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import REALDATA, box, point, require

from geo_service import pipeline
from geo_service.analysis import ZONE_RESULT_COLUMNS, analyze
from geo_service.analysis.mobile import (
    BEST_SHARE,
    mobile_coverage_shares,
    mobile_site_counts,
    operator_slug,
)
from geo_service.errors import InputError
from geo_service.sources.formats import ImportOptions, choose_format
from geo_service.store import GeoPackageStore
from geo_service.validation import validate_layer

FIXTURES = Path(__file__).parent / "fixtures" / "mobile"
SITES_2018 = FIXTURES / "sites_mobiles_2018_L93.csv"
SITES_DEP13 = FIXTURES / "sites_mobiles_2018_dep13.csv"
SITES_LATER = FIXTURES / "2026_T1_sites_Metropole.csv"
REAL_SITES = REALDATA / "broadband" / "arcep-sites-mobiles-2018"


def read(layer: str, paths: list[Path]) -> tuple[gpd.GeoDataFrame, object]:
    fmt = choose_format(layer, paths)
    frame, report = fmt.read(paths, ImportOptions())
    assert isinstance(frame, gpd.GeoDataFrame)
    return frame, report


# -- sites --------------------------------------------------------------------------------------


def test_sites_2018_layout_skips_the_na_row() -> None:
    sites, report = read("mobile_sites", [SITES_2018])
    assert report.rows_read == 7
    assert report.rows_kept == 6
    assert report.skipped == {"no coordinates (x/y empty or #N/A)": [7]}
    assert sites.crs.equals("EPSG:2154")
    first = sites.iloc[0]
    assert (first["site_id"], first["operator_code"], first["operator"]) == (
        "20801-1",
        "20801",
        "Orange",
    )
    assert sites["site_4g"].tolist() == [True, True, True, False, False, False]
    assert sites["site_5g"].isna().all()  # the 2018 lists predate 5G
    assert sites.geometry.iloc[0].equals(shapely.Point(893512, 6247301))


def test_sites_with_communes_and_crlf() -> None:
    sites, _ = read("mobile_sites", [SITES_DEP13])
    assert sites["commune_insee"].tolist() == ["13096", "13096", "13055", "13001"]
    assert set(sites["operator"]) == {"Orange", "SFR", "Free Mobile", "Bouygues Telecom"}


def test_sites_later_layout_with_site_numbers_and_5g() -> None:
    sites, report = read("mobile_sites", [SITES_LATER])
    assert sites["site_id"].tolist() == ["20801-00013055A1", "20810-13055_0042", "20820-T13001-07"]
    assert sites["site_5g"].tolist() == [True, False, True]
    assert report.skipped == {"no coordinates (x/y empty or #N/A)": [4]}


def test_sites_refusals(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("Operateur;X;Y;2G;3G;4G\n20801;893512;6247301;1;oui;1\n", encoding="utf-8")
    with pytest.raises(InputError, match="column '3g': 1 values other than 0 and 1 in row 1"):
        read("mobile_sites", [path])
    path.write_text("Operateur;X;Y;2G;3G;4G\n20801;6247301;893512;1;1;1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"outside metropolitan France in row 1.*look swapped"):
        read("mobile_sites", [path])
    path.write_text("Operateur;X;Y;2G;3G\n20801;893512;6247301;1;1\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column"):
        choose_format("mobile_sites", [path], "arcep-sites-mobiles").read([path], ImportOptions())


def test_real_national_sites_report_the_na_row(realdata: Path) -> None:
    path = REAL_SITES / "2018_01_Sites_mobiles_2G_3G_4G_France_metropolitaine_L93.csv"
    require(path.is_file(), f"{path} is absent")
    sites, report = read("mobile_sites", [path])
    assert report.rows_read == 77_148
    assert report.rows_kept == 77_147
    assert report.skipped == {"no coordinates (x/y empty or #N/A)": [77_148]}
    assert sites["operator"].value_counts().to_dict() == {
        "Orange": 24_612,
        "SFR": 21_449,
        "Bouygues Telecom": 18_816,
        "Free Mobile": 12_270,
    }


def test_real_departement_13_sites(realdata: Path, tmp_path: Path) -> None:
    path = REAL_SITES / "sites_mobiles_2018_dep13.csv"
    require(path.is_file(), f"{path} is absent")
    store = GeoPackageStore(tmp_path / "data")
    fmt, report = pipeline.import_files(store, "mobile_sites", [path])
    assert fmt.name == "arcep-sites-mobiles"
    assert report.rows_kept == 2_294
    sites = store.read_layer("mobile_sites")
    assert len(sites) == 2_294
    assert sites["commune_insee"].str.startswith("13").all()
    lon = sites.to_crs(4326).geometry.x
    assert lon.between(4.2, 5.9).all()  # Bouches-du-Rhône


# -- coverage maps ------------------------------------------------------------------------------


def write_coverage(tmp_path: Path) -> list[Path]:
    """Orange with the full ARCEP columns; SFR with only 'niveau' (the rest from its name)."""
    orange = tmp_path / "2025_T4_couv_Metropole_OF_4G_data.gpkg"
    gpd.GeoDataFrame(
        {
            "operateur": ["20801", "20801", "20801"],
            "date": ["2025-12-31"] * 3,
            "techno": ["4G"] * 3,
            "usage": ["data"] * 3,
            "niveau": ["TBC", "BC", "CL"],
            "dept": ["13"] * 3,
        },
        geometry=[
            shapely.MultiPolygon([box(-50, -50, 200, 200)]),  # all of zone A
            shapely.MultiPolygon([box(200, -50, 50, 200)]),  # half of zone B
            shapely.MultiPolygon([box(400, -50, 100, 200)]),  # zone C, limited only
        ],
        crs="EPSG:2154",
    ).to_file(orange, driver="GPKG")
    sfr = tmp_path / "2025_T4_couv_Metropole_SFR0_4G_data.gpkg"
    bowtie = shapely.Polygon(
        [(889_000, 6_251_000), (889_100, 6_251_100), (889_100, 6_251_000), (889_000, 6_251_100)]
    )
    gpd.GeoDataFrame(
        {"niveau": ["très bonne couverture", "Bonne couverture", "couverture limitée"]},
        geometry=[box(400, 0, 75, 100), box(0, 300, 100, 100), bowtie],
        crs="EPSG:2154",
    ).to_file(sfr, driver="GPKG")
    return [orange, sfr]


def test_coverage_maps_become_the_mobile_coverage_layer(tmp_path: Path) -> None:
    paths = write_coverage(tmp_path)
    store = GeoPackageStore(tmp_path / "data")
    fmt, report = pipeline.import_files(store, "mobile_coverage", paths)
    assert fmt.name == "arcep-couverture-mobile"
    layer = store.read_layer("mobile_coverage")
    assert layer["operator"].tolist() == ["Orange"] * 3 + ["SFR"] * 3
    assert layer["level"].tolist() == ["TBC", "BC", "CL", "TBC", "BC", "CL"]
    assert layer["techno"].tolist() == ["4G"] * 6  # SFR's from its file name
    assert layer["usage"].tolist() == ["data"] * 6
    assert report.repaired == 1  # the self-intersecting polygon
    assert shapely.is_valid(layer.geometry.values).all()


def test_unknown_coverage_levels_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "2025_T4_couv_Metropole_FREE_4G_data.gpkg"
    gpd.GeoDataFrame(
        {"niveau": ["TBC", "excellente"]}, geometry=[box(0, 0, 10, 10)] * 2, crs="EPSG:2154"
    ).to_file(path, driver="GPKG")
    with pytest.raises(InputError, match="'excellente' in row 2 are not coverage levels"):
        read("mobile_coverage", [path])


def test_coverage_outside_france_names_the_file_rows(tmp_path: Path) -> None:
    path = tmp_path / "2025_T4_couv_Metropole_OF_4G_data.gpkg"
    gpd.GeoDataFrame(
        {"niveau": ["TBC", "BC", "CL"]},
        geometry=[None, box(0, 0, 100, 100), shapely.box(0, 0, 10, 10)],
        crs="EPSG:2154",
    ).to_file(path, driver="GPKG")
    with pytest.raises(InputError, match=r"1 coverage polygon\(s\) reach outside .* \(row 3\)"):
        read("mobile_coverage", [path])


# -- analysis -----------------------------------------------------------------------------------


@pytest.fixture
def coverage_layer(tmp_path: Path) -> gpd.GeoDataFrame:
    frame, _ = read("mobile_coverage", write_coverage(tmp_path))
    return frame


def test_operator_slugs() -> None:
    assert operator_slug("Bouygues Telecom") == "bouygues_telecom"
    assert operator_slug("Free Mobile") == "free_mobile"
    assert operator_slug("SFR") == "sfr"


def test_good_4g_share_per_operator_and_best(zones, coverage_layer) -> None:
    shares = mobile_coverage_shares(zones, coverage_layer)
    assert list(shares.columns) == [
        "mobile_4g_good_share_orange",
        "mobile_4g_good_share_sfr",
        BEST_SHARE,
    ]
    np.testing.assert_allclose(shares["mobile_4g_good_share_orange"], [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(shares["mobile_4g_good_share_sfr"], [0.0, 0.0, 0.75, 0.5])
    np.testing.assert_allclose(shares[BEST_SHARE], [1.0, 0.5, 0.75, 0.5])


def test_no_4g_polygon_gives_null_best_share(zones, coverage_layer) -> None:
    shares = mobile_coverage_shares(zones, coverage_layer.assign(techno="3G"))
    assert list(shares.columns) == [BEST_SHARE]
    assert shares[BEST_SHARE].isna().all()


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "operator_code": ["20801", "20810", "20801", "20815", "20820"],
            "site_4g": pd.array([True, True, True, False, True], dtype="boolean"),
        },
        geometry=[point(50, 50), point(1400, 50), point(1450, 60), point(50, 50), point(50, 3000)],
        crs="EPSG:2154",
    )


def test_4g_sites_within_one_kilometre(zones, sites) -> None:
    counts = mobile_site_counts(zones, sites)
    assert counts["mobile_4g_sites_1km"].tolist() == [1, 1, 3, 1]
    assert counts["mobile_4g_operators_1km"].tolist() == [1, 1, 2, 1]


def test_analyze_adds_mobile_columns_only_when_given(
    zones, premises, coverage_layer, sites
) -> None:
    plain = analyze(zones, premises)
    assert list(plain.zones.columns) == [*ZONE_RESULT_COLUMNS, "geometry"]
    mobile = analyze(zones, premises, mobile_coverage=coverage_layer, mobile_sites=sites)
    columns = list(mobile.zones.columns)
    assert columns[: len(ZONE_RESULT_COLUMNS)] == list(ZONE_RESULT_COLUMNS)
    assert columns[-1] == "geometry"
    assert {BEST_SHARE, "mobile_4g_sites_1km", "mobile_4g_operators_1km"} <= set(columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(plain.zones[list(ZONE_RESULT_COLUMNS)]),
        pd.DataFrame(mobile.zones[list(ZONE_RESULT_COLUMNS)]),
    )


def test_stored_mobile_layers_reach_the_zone_results(tmp_path: Path, zones, premises) -> None:
    store = GeoPackageStore(tmp_path / "data")
    meta = pipeline.layer_meta
    for name, frame in (("zones", zones), ("premises", premises)):
        canonical, _ = validate_layer(name, frame, "test")
        store.write_layer(name, canonical, meta(name, source="test"))
    pipeline.import_files(store, "mobile_coverage", write_coverage(tmp_path))
    pipeline.import_files(store, "mobile_sites", [SITES_2018])
    result = pipeline.analyze_store(store, pipeline.AnalysisParams())
    stored = store.read_layer("zone_results").set_index("zone_id")
    assert stored.loc["A", BEST_SHARE] == pytest.approx(1.0)
    assert "mobile_coverage" in result.run.inputs
    assert "mobile_sites" in result.run.inputs
