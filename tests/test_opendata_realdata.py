"""The open-data importers on the real files of ``../shared/realdata`` (skipped when absent).

Every real file of the zones, land, communes and commune-statistics families is imported
through :func:`geo_service.pipeline.import_files` into a temporary store, and the département
13 files are analysed end to end.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import REALDATA, require
from typer.testing import CliRunner

from geo_service import pipeline
from geo_service.cli import app
from geo_service.errors import InputError
from geo_service.insee import fold_arrondissements
from geo_service.settings import AnalysisParams
from geo_service.sources.formats import ImportOptions
from geo_service.sources.screening import ImportReport
from geo_service.store import GeoPackageStore

FTTH_2018 = "broadband/arcep-ftth-deploiement-2018"
MCI_2026 = "broadband/arcep-mci-communes-2026t1-samples"
COMMUNES_13 = "boundaries/admin-express-2018/communes-13-bouches-du-rhone.geojson"
ARRONDISSEMENTS_13 = (
    "boundaries/admin-express-2018/"
    "communes-13-bouches-du-rhone_2017_with_marseille_arrondissements.geojson"
)
FRICHES_13 = "land/cartofriches/friches_standard_test_dep13.csv"


@pytest.fixture
def store(tmp_path: Path) -> GeoPackageStore:
    return GeoPackageStore(tmp_path / "data")


def load(store: GeoPackageStore, realdata: Path, layer: str, *names: str, **options: str):
    """Import real files; return the format name, the report and the stored layer."""
    fmt, report = pipeline.import_files(
        store, layer, [realdata / n for n in names], options=ImportOptions(**options)
    )
    return fmt.name, report, store.read_layer(layer)


# -- communes --------------------------------------------------------------------------------------


def test_communes_of_the_bouches_du_rhone(store: GeoPackageStore, realdata: Path) -> None:
    name, report, communes = load(store, realdata, "communes", COMMUNES_13)
    assert name == "ign-communes"
    assert report.rows_kept == 119
    assert communes["commune_insee"].str.len().eq(5).all()
    assert "13055" in set(communes["commune_insee"])
    assert not communes["commune_insee"].str.startswith("132").any()
    assert communes.set_index("commune_insee").loc["13001", "name"] == "Aix-en-Provence"


def test_communes_with_marseille_arrondissements(store: GeoPackageStore, realdata: Path) -> None:
    _, report, communes = load(store, realdata, "communes", ARRONDISSEMENTS_13)
    assert len(communes) == 134
    arrondissements = sorted(c for c in communes["commune_insee"] if c.startswith("132"))
    assert arrondissements == [f"132{n:02d}" for n in range(1, 17)]
    assert "13055" not in set(communes["commune_insee"])
    assert set(fold_arrondissements(pd.Series(arrondissements))) == {"13055"}
    assert any("16 municipal arrondissement(s)" in w for w in report.warnings)


def test_other_commune_files(store: GeoPackageStore, realdata: Path) -> None:
    _, _, l93 = load(
        store, realdata, "communes", "boundaries/communes13-lambert93/communes_13.geojson"
    )
    assert len(l93) == 119
    assert l93["population"].notna().all()  # from "densite_Population \nmunicipale \n2019"
    assert l93.set_index("commune_insee").loc["13001", "population"] == 145_133
    _, _, region = load(
        store,
        realdata,
        "communes",
        "boundaries/admin-express-2018/communes-provence-alpes-cote-d-azur.geojson",
    )
    assert len(region) == 947
    assert {"84089", "83120", "05039"} <= set(region["commune_insee"])
    _, _, amp = load(
        store, realdata, "communes", "boundaries/amp-metropole/amp_92_communes_2018_wgs84.geojson"
    )
    assert len(amp) == 92
    assert set(amp["epci_siren"]) == {"200054807"}
    with pytest.raises(InputError, match="département codes"):
        load(
            store,
            realdata,
            "communes",
            "boundaries/admin-express-2018/departement-13-bouches-du-rhone.geojson",
        )


# -- zones -----------------------------------------------------------------------------------------


def test_cnig_site_eco_example(store: GeoPackageStore, realdata: Path) -> None:
    name, report, zones = load(
        store, realdata, "zones", "zones/cnig-sites-economiques/site-eco__exemple-valide.csv"
    )
    assert name == "cnig-site-eco"
    assert report.rows_kept == 1
    assert report.repaired == 1  # its GeoJSON ring is not closed
    zone = zones.iloc[0]
    assert (zone["zone_id"], zone["name"]) == ("80024_SITE-ECO_00001", "ZAC Les Bornes du Temps")
    assert (zone["commune_insee"], zone["epci_siren"]) == ("80024", "200071223")
    assert any("'site_etat': values outside the standard's list" in w for w in report.warnings)


def test_cnig_geopackage_template(store: GeoPackageStore, realdata: Path, tmp_path: Path) -> None:
    template = realdata / "zones/cnig-sites-economiques/sites_economiques.gpkg"
    with pytest.raises(InputError, match="the layer is empty"):
        pipeline.import_files(store, "zones", [template])
    filled = tmp_path / "sites_economiques.gpkg"
    shutil.copy(template, filled)
    site = gpd.GeoDataFrame(
        {
            "site_id": ["13005_SITE-ECO_00001"],
            "site_nom": ["ZI Les Paluds"],
            "site_comm_insee": ["13005"],
        },
        geometry=[shapely.MultiPolygon([shapely.box(908_000, 6_246_000, 909_000, 6_247_000)])],
        crs="EPSG:2154",
    )
    pyogrio.write_dataframe(site, filled, layer="site_eco", append=True)
    name, _, zones = load(store, realdata, "zones", str(filled))
    assert name == "cnig-site-eco"
    assert list(zones["zone_id"]) == ["13005_SITE-ECO_00001"]
    assert zones.area.iloc[0] == pytest.approx(1_000_000)


def test_bdtopo_activity_areas(store: GeoPackageStore, realdata: Path) -> None:
    path = "zones/real-zae-polygons/bdtopo_zone_activite_putanges61_ZAE.geojson"
    name, report, zones = load(store, realdata, "zones", path)
    assert name == "ign-bdtopo-zones"
    assert report.rows_read == 82
    assert len(report.skipped["not an economic category (CATEGORIE)"]) == 73
    assert len(report.skipped["fictive object (FICTIF 'Oui')"]) == 3  # 5 m squares
    assert len(zones) == 6
    assert set(zones["commune_insee"]) == {"61339"}
    assert "Zone industrielle" in set(zones["kind"])


def test_property_less_zone_outlines(store: GeoPackageStore, realdata: Path) -> None:
    name, _, zones = load(
        store, realdata, "zones", "zones/real-zae-polygons/nantes_metropole_zae.geojson"
    )
    assert name == "vector-zones"
    assert len(zones) == 191
    assert zones["zone_id"].is_unique
    assert zones["name"].iloc[0] == "Zone d'activités nantes_metropole_zae-0001"


# -- land ------------------------------------------------------------------------------------------


def test_cartofriches_departement_13(store: GeoPackageStore, realdata: Path) -> None:
    name, report, land = load(store, realdata, "land", FRICHES_13)
    assert name == "cnig-friches"
    assert report.rows_kept == 35
    statuses = land["status"].value_counts().to_dict()
    assert statuses == {"friche potentielle": 19, "friche avec projet": 14, "friche sans projet": 2}
    assert int(land["available"].sum()) == 21
    assert land["area_ha"].notna().all()
    assert report.data_date is not None
    national = load(store, realdata, "land", "land/cartofriches/friches_standard_test.csv")[2]
    assert len(national) == 2594
    assert int((national["status"] == "friche reconvertie").sum()) == 20
    assert not national.loc[national["status"] == "friche reconvertie", "available"].any()


def test_cartofriches_point_lists(store: GeoPackageStore, realdata: Path) -> None:
    name, _, points = load(store, realdata, "land", "land/cartofriches/friches_points_dep13.csv")
    assert name == "cartofriches-list"
    assert len(points) == 307
    assert int(points["available"].sum()) == 237
    name, report, national = load(
        store, realdata, "land", "land/cartofriches/listes_friches_ok.csv"
    )
    assert name == "cartofriches-list"  # Latin-1, c(lon, lat)
    assert report.rows_read == 21_803
    assert len(report.skipped["outside metropolitan France"]) == 76
    assert len(national) == 21_727
    assert national["plot_id"].str.startswith("01013_").any()


def test_cnig_examples_of_land(store: GeoPackageStore, realdata: Path) -> None:
    _, _, plots = load(
        store, realdata, "land", "zones/cnig-sites-economiques/terrain-eco__exemple-valide.csv"
    )
    assert not plots.iloc[0]["available"]  # sold
    assert plots.iloc[0]["area_ha"] == pytest.approx(9.9)
    _, report, friche = load(store, realdata, "land", "land/cnig-friches/fichier-valide.csv")
    assert report.repaired == 1  # POINT(49.2527 3.9815): latitude first
    point = friche.to_crs(4326).geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((3.9815, 49.2527))
    assert friche.iloc[0]["area_ha"] == pytest.approx(1.675)


def test_ademe_polluted_sites(store: GeoPackageStore, realdata: Path) -> None:
    name, report, land = load(
        store, realdata, "land", "land/ademe-sites-pollues/donnees-ademe-sites-pollues.geojson"
    )
    assert name == "ademe-sites-pollues"
    assert report.rows_read == 419
    assert len(report.skipped["no geometry"]) == 29
    assert len(report.skipped["outside metropolitan France"]) == 3
    assert len(land) == 387
    assert land["plot_id"].str.startswith("ademe-").all()
    assert land.loc[land["plot_id"] == "ademe-1", "area_ha"].iloc[0] == pytest.approx(1.97)


def test_brownfield_polygons_and_a_cadastral_parcel(store: GeoPackageStore, realdata: Path) -> None:
    name, report, polygons = load(
        store, realdata, "land", "land/friches-ardennes-polygons/friches.geojson"
    )
    assert name == "vector-land"
    assert len(polygons) == 164
    assert report.repaired == 1
    assert polygons["plot_id"].iloc[0] == "08362_04"
    name, _, listed = load(store, realdata, "land", "land/friches-ardennes-polygons/data.csv")
    assert name == "cnig-friches"
    assert len(listed) == 164
    path = "land/cadastre/apicarto_cadastre_parcelle_marseille_132038120D0037.geojson"
    _, _, parcel = load(store, realdata, "land", path, id_field="idu")
    assert parcel["plot_id"].tolist() == ["132038120D0037"]
    assert parcel["area_ha"].tolist() == pytest.approx([0.0018])  # contenance 18 m²
    # idu starts with arrondissement 13203, its code_insee is 13055
    assert fold_arrondissements(parcel["plot_id"].str[:5]).tolist() == ["13055"]


@pytest.mark.parametrize(
    ("layer", "path", "belongs"),
    [
        ("land", "zones/real-zae-polygons/bdtopo_zone_activite_putanges61_ZAE.geojson", "zones"),
        ("zones", COMMUNES_13, "communes"),
        ("zones", "boundaries/communes13-lambert93/communes_13.geojson", "communes"),
        ("land", "boundaries/amp-metropole/amp_92_communes_2018_wgs84.geojson", "communes"),
        ("zones", FRICHES_13, "land"),
        ("zones", "land/cartofriches/listes_friches_ok.csv", "land"),
        ("zones", "land/cartofriches/friches_points_dep13.csv", "land"),
        ("land", f"{FTTH_2018}/ftthCommunes.csv", "commune_coverage"),
        ("land", "broadband/arcep-sites-mobiles-2018/sites_mobiles_2018_dep13.csv", "mobile_sites"),
        ("zones", "transport/stations/gares-de-voyageurs_bdr13.geojson", "rail_stations"),
    ],
)
def test_real_files_of_another_layer_are_refused(
    store: GeoPackageStore, realdata: Path, layer: str, path: str, belongs: str
) -> None:
    with pytest.raises(InputError, match=f"these look like '{belongs}' files"):
        load(store, realdata, layer, path)
    assert not store.has_layer(layer)


# -- commune statistics ----------------------------------------------------------------------------


def test_ma_connexion_internet_samples(store: GeoPackageStore, realdata: Path) -> None:
    names = [
        f"{MCI_2026}/arcep-mci-2026t1-debit-filaire-sample.csv",
        f"{MCI_2026}/arcep-mci-2026t1-techno-sample.csv",
        f"{MCI_2026}/arcep-mci-2026t1-meilleure-techno-thd-sample.csv",
    ]
    name, report, layer = load(store, realdata, "commune_coverage", *names)
    assert name == "arcep-communes"
    layer = layer.set_index("commune_insee")
    assert set(layer.index) == {"75056", "2A004", "97611", "83042", "29019", "40101"}
    assert layer.loc["75056", "share_thd30"] == pytest.approx(1_653_974 / 1_667_292)
    assert layer.loc["97611", "share_thd30"] == pytest.approx(8_249 / 18_048)
    assert layer.loc["2A004", "share_ftth"] == pytest.approx(45_327 / 46_329)
    assert report.data_date.isoformat() == "2026-03-31"


@pytest.fixture(scope="module")
def ftth_2018(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportReport]:
    """A data directory holding the 2018 FTTH observatory imported once (read-only)."""
    require(REALDATA.is_dir(), f"real data folder {REALDATA} is absent")
    root = tmp_path_factory.mktemp("ftth-2018")
    names = ("communes.csv", "ftthCommunes.csv")
    _, report = pipeline.import_files(
        GeoPackageStore(root), "commune_coverage", [REALDATA / FTTH_2018 / n for n in names]
    )
    assert isinstance(report, ImportReport)
    return root, report


def test_ftth_observatory_2018(
    store: GeoPackageStore, realdata: Path, ftth_2018: tuple[Path, ImportReport]
) -> None:
    root, report = ftth_2018
    layer = GeoPackageStore(root).read_layer("commune_coverage").set_index("commune_insee")
    assert len(layer) == 35_361
    marseille = layer.loc["13055"]
    assert (marseille["logements"], marseille["etablissements"]) == (432_378, 24_094)
    assert marseille["ftth_connectable"] == 248_140
    assert marseille["ftth_class"] == 50
    assert marseille["share_ftth"] == pytest.approx(248_140 / 456_472)
    assert int(layer.index.str.startswith("13").sum()) == 119
    assert report.data_date.isoformat() == "2018-03-31"
    assert (
        GeoPackageStore(root).layer_meta("commune_coverage").data_date.isoformat() == "2018-03-31"
    )
    derived = "boundaries/amp-metropole/amp_92_communes_epci200054807_arcep_ftth_T1_2018.csv"
    _, _, amp = load(store, realdata, "commune_coverage", derived)
    amp = amp.set_index("commune_insee")
    assert len(amp) == 92
    assert amp.loc["13001", "ftth_connectable"] == 41_397
    assert amp.loc["13001", "logements"] == 80_512  # "80 512"
    assert amp.loc["13055", "share_ftth"] == pytest.approx(marseille["share_ftth"])


def test_marseille_arrondissements_join_commune_figures(
    store: GeoPackageStore, realdata: Path, ftth_2018: tuple[Path, ImportReport]
) -> None:
    shutil.copytree(ftth_2018[0] / "store", store.root)
    load(store, realdata, "communes", ARRONDISSEMENTS_13)
    communes = store.read_layer("communes")
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1"], "name": ["Zone du Canet"]},
        geometry=[communes.loc[communes["commune_insee"] == "13203"].geometry.iloc[0].buffer(-100)],
        crs=communes.crs,
    )
    store.write_layer("zones", zones, pipeline.layer_meta("zones", source="test"))
    result = pipeline.analyze_store(store, AnalysisParams())
    zone = result.zones.iloc[0]
    assert zone["commune_insee"] == "13203"
    assert zone["status_basis"] == "commune"
    assert zone["commune_share_ftth"] == pytest.approx(248_140 / 456_472)
    by_code = result.communes.set_index("commune_insee")
    assert by_code.loc["13203", "arcep_share_ftth"] == pytest.approx(248_140 / 456_472)
    assert by_code.loc["13216", "arcep_ftth_class"] == 50


# -- end to end ------------------------------------------------------------------------------------


def test_departement_13_end_to_end(data_dir: Path, realdata: Path) -> None:
    from geo_service.demo import build_demo

    runner = CliRunner(env={"COLUMNS": "200"})
    zones_file = data_dir.parent / "demo_zones.gpkg"
    build_demo("demo", seed=2154).zones[["zone_id", "name", "geometry"]].to_file(zones_file)
    for layer, paths in (
        ("communes", [realdata / COMMUNES_13]),
        ("land", [realdata / FRICHES_13]),
        (
            "commune_coverage",
            [realdata / FTTH_2018 / "communes.csv", realdata / FTTH_2018 / "ftthCommunes.csv"],
        ),
        ("zones", [zones_file]),
    ):
        imported = runner.invoke(app, ["import", layer, *map(str, paths)])
        assert imported.exit_code == 0, imported.output
    out = data_dir.parent / "zones.csv"
    result = runner.invoke(app, ["analyze", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "statut estimé d'après les statistiques communales de l'Arcep (T1 2018)" in result.output
    zones = pd.read_csv(out, dtype={"commune_insee": str})
    in_13 = zones["commune_insee"].fillna("").str.startswith("13")
    assert in_13.sum() > 40
    assert set(zones.loc[in_13, "status_basis"]) == {"commune"}
    assert set(zones.loc[~in_13, "status"]) <= {"unknown"}  # outside the département's communes
    assert "unserved" not in set(zones["status"])  # fibre figures alone never say unserved
    communes = GeoPackageStore(data_dir).read_layer("commune_results").set_index("commune_insee")
    assert communes.loc["13055", "arcep_share_ftth"] == pytest.approx(248_140 / 456_472)
