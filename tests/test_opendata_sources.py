"""Importers of official French open data (CNIG, IGN, Cerema Cartofriches, ADEME) on fixtures.

The fixtures under ``tests/fixtures/opendata`` are small hand-written files with the real
column layouts and the traps of ``../shared/realdata/README.md``: Latin-1, ``c(lon, lat)``,
``NA``, dd/mm/yyyy dates, lost leading zeros, GeoJSON rings that are not closed, swapped
longitude/latitude, newlines in property names, a single Feature, ``geometry: null``,
overseas points, Marseille's arrondissements.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_service import pipeline
from geo_service.errors import InputError
from geo_service.insee import fold_arrondissements, normalise_insee
from geo_service.sources.formats import ImportOptions, choose_format
from geo_service.sources.labels import commune_title
from geo_service.sources.tabular import parse_dates, parse_numbers
from geo_service.store import GeoPackageStore

FIXTURES = Path(__file__).parent / "fixtures" / "opendata"


@pytest.fixture
def store(tmp_path: Path) -> GeoPackageStore:
    return GeoPackageStore(tmp_path / "data")


def load(store: GeoPackageStore, layer: str, *names: str, **options: str):
    """Import fixture files into ``store``; return the format name, report and stored layer."""
    fmt, report = pipeline.import_files(
        store, layer, [FIXTURES / n for n in names], options=ImportOptions(**options)
    )
    return fmt.name, report, store.read_layer(layer)


def store_digest(store: GeoPackageStore) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store.root.iterdir())
        if p.is_file() and p.name != ".lock"
    }


# -- helpers ------------------------------------------------------------------------------------


def test_insee_codes_keep_five_characters_and_fold_arrondissements() -> None:
    codes = normalise_insee(pd.Series(["1001", "2a004", " 13055 ", 13201.0, "NA", None, "75056"]))
    assert list(codes) == ["01001", "2A004", "13055", "13201", None, None, "75056"]
    folded = fold_arrondissements(pd.Series(["13201", "13216", "13055", "69381", "75120", None]))
    assert list(folded) == ["13055", "13055", "13055", "69123", "75056", None]


def test_french_numbers_and_dates() -> None:
    numbers, bad = parse_numbers(
        pd.Series([" 432 378    ", " -    ", "12,5", "NA", "non renseigné", "x1"])
    )
    assert numbers.iloc[0] == 432_378
    assert numbers.iloc[2] == 12.5
    assert numbers.iloc[[1, 3, 4, 5]].isna().all()
    assert list(bad) == [False, False, False, False, False, True]
    dates, bad_dates = parse_dates(
        pd.Series(["10/05/2021", "2024-02-13", "2019-04-01 06:43:43", "bof"])
    )
    assert [d.isoformat() if d else None for d in dates] == [
        "2021-05-10",
        "2024-02-13",
        "2019-04-01",
        None,
    ]
    assert list(bad_dates) == [False, False, False, True]


def test_commune_names_in_capitals_are_written_the_usual_way() -> None:
    assert commune_title("PUTANGES-LE-LAC") == "Putanges-le-Lac"
    assert commune_title("SAINT-MITRE-LES-REMPARTS") == "Saint-Mitre-les-Remparts"
    assert commune_title("L'ISLE-SUR-LA-SORGUE") == "L'Isle-sur-la-Sorgue"
    assert commune_title("Aix-en-Provence") == "Aix-en-Provence"


# -- zones ------------------------------------------------------------------------------------


def test_cnig_site_eco_csv(store: GeoPackageStore) -> None:
    name, report, zones = load(store, "zones", "site-eco.csv")
    assert name == "cnig-site-eco"
    assert (report.rows_read, report.rows_kept, report.repaired) == (4, 3, 1)  # ring closed
    assert list(report.skipped) == [
        "declassified site (site_etat 'déclassé'), no longer an activity zone"
    ]
    assert report.skipped[next(iter(report.skipped))] == [3]
    assert report.data_date.isoformat() == "2024-05-02"
    assert store.layer_meta("zones").data_date.isoformat() == "2024-05-02"
    by_id = zones.set_index("zone_id")
    paluds = by_id.loc["13005_SITE-ECO_00001"]
    assert paluds["name"] == "ZI Les Paluds"
    assert (paluds["commune_insee"], paluds["epci_siren"]) == ("13005", "200054807")
    assert (paluds["kind"], paluds["vocation"], paluds["state"]) == (
        "zone d'activité économique",
        "industrielle",
        "existant et actif",
    )
    assert paluds.geometry.area == pytest.approx(1_000_000)  # GeoJSON ring in Lambert-93
    assert (
        by_id.loc["13055_SITE-ECO_00002", "name"]
        == "Zone d'activités 13055_SITE-ECO_00002 (Marseille)"
    )
    assert by_id.loc["13055_SITE-ECO_00002"].geometry.area == pytest.approx(120_000)  # WKT
    assert by_id.loc["13001_SITE-ECO_00004", "state"] == "logistique"  # kept, reported
    assert any(
        "'site_etat': values outside the standard's list in row 4" in w for w in report.warnings
    )
    assert any("Lambert-93" in w for w in report.warnings)


def test_cnig_site_eco_geopackage_layer(store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "sites_economiques.gpkg"
    site = gpd.GeoDataFrame(
        {
            "site_id": ["S1"],
            "site_nom": ["ZA du Pin"],
            "site_etat": ["en projet"],
            "site_comm_insee": ["4112"],
        },
        geometry=[shapely.MultiPolygon([shapely.box(908_000, 6_246_000, 908_200, 6_246_100)])],
        crs="EPSG:2154",
    )
    site.to_file(path, layer="site_eco", driver="GPKG")
    site.rename(columns={"site_id": "terr_id"}).to_file(path, layer="terrain_eco", driver="GPKG")
    name, report, zones = load(store, "zones", str(path))
    assert name == "cnig-site-eco"
    assert report.rows_kept == 1
    assert zones.iloc[0]["commune_insee"] == "04112"  # leading zero restored
    assert zones.iloc[0]["state"] == "en projet"


def test_bdtopo_keeps_the_economic_category(store: GeoPackageStore) -> None:
    name, report, zones = load(store, "zones", "bdtopo-zones.geojson")
    assert name == "ign-bdtopo-zones"
    assert (report.rows_read, report.rows_kept) == (5, 3)
    assert report.skipped == {
        "not an economic category (CATEGORIE)": [3],
        "fictive object (FICTIF 'Oui')": [4],
    }
    assert any("Religieux 1" in w for w in report.warnings)
    names = dict(zip(zones["zone_id"], zones["name"], strict=True))
    assert names["SURFACTI0000000000000001"] == "Zone industrielle des Paluds"
    assert names["SURFACTI0000000000000002"] == "Zone industrielle (Saint-Mitre-les-Remparts)"
    assert set(zones["kind"]) == {"Zone industrielle", "Marché"}
    assert zones.set_index("zone_id").loc["SURFACTI0000000000000005", "state"] == "En projet"


def test_bdtopo_fictive_objects_are_quoted_from_their_own_rows(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    # the warning named rows 33, 74, 75 of the real file and quoted rows 33, 34, 35: fictive
    # objects of other categories, already left out for their category
    frame = gpd.read_file(FIXTURES / "bdtopo-zones.geojson")
    frame.loc[2, "FICTIF"] = "Oui"  # row 3, a chapel: left out as not economic
    frame.to_file(tmp_path / "bdtopo.geojson")
    _, report = pipeline.import_files(store, "zones", [tmp_path / "bdtopo.geojson"])
    (fictive,) = [w for w in report.warnings if "fictive object" in w]
    assert "row 4 skipped" in fictive
    assert "'SURFACTI0000000000000004' (row 4)" in fictive
    assert "row 3" not in fictive


def _bdtopo_without_communes(tmp_path: Path) -> Path:
    """The BD TOPO fixture as an edition without INSEE_COM nor NOM_COM."""
    frame = gpd.read_file(FIXTURES / "bdtopo-zones.geojson").drop(columns=["INSEE_COM", "NOM_COM"])
    path = tmp_path / "ZONE_D_ACTIVITE_OU_D_INTERET.geojson"
    frame.to_file(path)
    return path


def test_bdtopo_without_insee_com_names_zones_from_the_stored_communes(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    path = _bdtopo_without_communes(tmp_path)
    _, report = pipeline.import_files(store, "zones", [path])
    (said,) = [w for w in report.warnings if "INSEE_COM" in w]
    assert "no INSEE_COM column" in said
    assert "the store has no communes" in said
    assert "import the communes first" in said
    zones = store.read_layer("zones").set_index("zone_id")
    assert (
        zones.loc["SURFACTI0000000000000002", "name"] == "Zone d'activités SURFACTI0000000000000002"
    )
    assert zones["commune_insee"].isna().all()
    communes = gpd.GeoDataFrame(
        {
            "INSEE_COM": ["13005", "13055"],
            "NOM": ["Aubagne", "Marseille"],
            "SIREN_EPCI": ["2", "2"],
        },
        geometry=[
            shapely.box(905_000, 6_244_000, 911_000, 6_249_000),
            shapely.box(890_000, 6_250_000, 895_000, 6_255_000),
        ],
        crs="EPSG:2154",
    ).to_crs("EPSG:4326")  # another CRS than the zones'
    communes.to_file(tmp_path / "COMMUNE.geojson")
    pipeline.import_files(store, "communes", [tmp_path / "COMMUNE.geojson"])
    _, report = pipeline.import_files(store, "zones", [path])
    (said,) = [w for w in report.warnings if "INSEE_COM" in w]
    assert "the stored commune polygon that holds it (3 of 3 zones found" in said
    zones = store.read_layer("zones").set_index("zone_id")
    assert zones.loc["SURFACTI0000000000000002", "name"] == "Zone industrielle (Aubagne)"
    assert zones.loc["SURFACTI0000000000000001", "name"] == "Zone industrielle des Paluds"
    assert zones["commune_insee"].to_dict() == {
        "SURFACTI0000000000000001": "13005",
        "SURFACTI0000000000000002": "13005",
        "SURFACTI0000000000000005": "13055",
    }


def test_any_vector_file_gets_ids_and_labels(store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "zae.geojson"
    gpd.GeoDataFrame(
        geometry=[shapely.box(5.40, 43.40, 5.41, 43.41), shapely.box(5.42, 43.40, 5.43, 43.41)],
        crs="OGC:CRS84",
    ).to_file(path, driver="GeoJSON")
    name, report, zones = load(store, "zones", str(path))
    assert name == "vector-zones"
    assert list(zones["zone_id"]) == ["zae-0001", "zae-0002"]
    assert list(zones["name"]) == ["Zone d'activités zae-0001", "Zone d'activités zae-0002"]
    assert any("--id-field" in w for w in report.warnings)
    named = tmp_path / "named.geojson"
    gpd.GeoDataFrame(
        {"CODE_ZAE": ["A1", "A2"], "LIB": ["Les Milles", None], "nom_com": ["AIX", "AIX"]},
        geometry=[shapely.box(5.40, 43.40, 5.41, 43.41), shapely.box(5.42, 43.40, 5.43, 43.41)],
        crs="OGC:CRS84",
    ).to_file(named, driver="GeoJSON")
    _, _, zones = load(store, "zones", str(named), id_field="CODE_ZAE", name_field="LIB")
    assert list(zones["name"]) == ["Les Milles", "Zone d'activités A2 (Aix)"]
    with pytest.raises(InputError, match="--id-field 'NOPE' is not a column; found: 'CODE_ZAE'"):
        load(store, "zones", str(named), id_field="NOPE")


# -- land ---------------------------------------------------------------------------------------


def test_cnig_terrain_eco_availability(store: GeoPackageStore) -> None:
    name, report, land = load(store, "land", "terrain-eco.csv")
    assert name == "cnig-terrain-eco"
    assert report.repaired == 1
    available = dict(zip(land["plot_id"].str[-2:], land["available"], strict=True))
    # on sale and free; on sale but occupied; sold; reserved; on sale with constraints (friche)
    assert available == {"01": True, "02": False, "03": False, "04": False, "05": True}
    assert land["area_ha"].tolist() == pytest.approx([2.5, 1.2, 0.8, 3.0, 4.0])  # 2,5 read
    assert set(land["source"]) == {"terrain-eco"}
    assert land.set_index("plot_id").loc["13005_TERRAIN-ECO_00002", "status"] == "en vente, occupé"


def test_cnig_friches_standard(store: GeoPackageStore) -> None:
    name, report, land = load(store, "land", "cnig-friches.csv")
    assert name == "cnig-friches"
    by_id = land.set_index("plot_id")
    tuilerie = by_id.loc["13005_22-13.0001"]
    # POINT(lat lon) as in the standard's own example: swapped back, counted as repaired
    assert report.repaired == 1
    assert any("longitude and latitude were swapped" in w for w in report.warnings)
    point = gpd.GeoSeries([tuilerie.geometry], crs=2154).to_crs(4326).iloc[0]
    assert (point.x, point.y) == pytest.approx((5.5710, 43.2890))
    assert tuilerie["area_ha"] == pytest.approx(2.5)  # 25 000 m²
    assert any("geomsurf is not a readable polygon in row 1" in w for w in report.warnings)
    assert by_id.loc["13055_22-13.0002"].geometry.geom_type == "Polygon"  # perimeter used
    assert dict(zip(land["status"], land["available"], strict=True)) == {
        "friche sans projet": True,
        "friche avec projet": False,
        "friche reconvertie": False,
    }
    assert report.data_date.isoformat() == "2024-02-01"


def test_cartofriches_standard_export(store: GeoPackageStore) -> None:
    name, report, land = load(store, "land", "cartofriches-standard.csv")
    assert name == "cnig-friches"
    assert report.rows_kept == 3
    by_id = land.set_index("plot_id")
    assert by_id.loc["13055_9745", "area_ha"] == pytest.approx(0.0793)  # 793 m²
    assert by_id.loc["13027_20492", "area_ha"] == pytest.approx(15.5514)
    assert bool(by_id.loc["13055_9745", "available"]) is True  # friche potentielle
    assert bool(by_id.loc["13027_20492", "available"]) is False  # friche avec projet
    assert by_id.loc["03013_18177", "area_ha"] == 0.0  # NA surface: a plot of 0 ha
    assert report.data_date.isoformat() == "2023-12-20"  # latest dd/mm/yyyy update
    assert any("no surface in 'unite_fonciere_surface' in row 3" in w for w in report.warnings)


def test_several_files_of_one_format_are_combined(store: GeoPackageStore, tmp_path: Path) -> None:
    _, report, land = load(store, "land", "cnig-friches.csv", "cartofriches-standard.csv")
    assert len(land) == 6
    assert report.rows_read == 6
    twice = tmp_path / "again.csv"
    twice.write_bytes((FIXTURES / "cartofriches-standard.csv").read_bytes())
    with pytest.raises(InputError, match=r"plot_id value.*found in two files: '13055_9745'"):
        load(store, "land", "cartofriches-standard.csv", str(twice))


def test_cartofriches_latin1_list_with_r_vectors(store: GeoPackageStore) -> None:
    name, report, land = load(store, "land", "cartofriches-liste-latin1.csv")
    assert name == "cartofriches-list"
    assert (report.rows_read, report.rows_kept) == (5, 4)
    assert report.skipped == {"outside metropolitan France": [3]}  # Guadeloupe
    assert any("row 3 at (-61.5344, 16.2414)" in w for w in report.warnings)
    by_id = land.set_index("plot_id")
    assert "01013_9130" in by_id.index  # leading zero kept in the id
    point = gpd.GeoSeries([by_id.loc["13055_6796"].geometry], crs=2154).to_crs(4326).iloc[0]
    assert (point.x, point.y) == pytest.approx((5.389735, 43.302294))
    assert by_id["available"].to_dict() == {
        "13055_6796": True,
        "13005_16215": False,
        "01013_9130": False,  # status inconnu
        "13103_44": False,  # reconvertie
    }
    assert set(land["area_ha"]) == {0.0}


def test_cartofriches_lon_lat_extract(store: GeoPackageStore) -> None:
    name, report, land = load(store, "land", "cartofriches-points.csv")
    assert name == "cartofriches-list"
    assert report.rows_kept == 4
    assert land["available"].sum() == 2
    assert set(land["source"]) == {"friche"}


def test_ademe_polluted_sites(store: GeoPackageStore) -> None:
    name, report, land = load(store, "land", "ademe-sites-pollues.geojson")
    assert name == "ademe-sites-pollues"
    assert (report.rows_read, report.rows_kept) == (5, 3)
    assert report.skipped == {"outside metropolitan France": [4], "no geometry": [3]}
    by_id = land.set_index("plot_id")
    assert list(by_id.index) == ["ademe-1", "ademe-2", "ademe-5"]
    assert by_id.loc["ademe-1", "area_ha"] == pytest.approx(1.97)
    assert by_id.loc["ademe-5", "area_ha"] == pytest.approx(0.314)  # "3 140"
    assert by_id.loc["ademe-2", "area_ha"] == 0.0  # "non renseigné"
    assert by_id["available"].to_dict() == {"ademe-1": True, "ademe-2": False, "ademe-5": True}
    assert set(land["source"]) == {"ademe"}


def test_any_land_file_without_availability_counts_every_plot(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    path = tmp_path / "parcelles.geojson"
    gpd.GeoDataFrame(
        {"idu": ["132038120D0037", "132038120D0038"], "contenance": [18, 2500]},
        geometry=[shapely.Point(5.3770, 43.3033), shapely.Point(5.3780, 43.3040)],
        crs="OGC:CRS84",
    ).to_file(path, driver="GeoJSON")
    name, report, land = load(store, "land", str(path))
    assert name == "vector-land"
    assert list(land["plot_id"]) == ["132038120D0037", "132038120D0038"]
    assert land["available"].all()
    assert land["area_ha"].tolist() == pytest.approx([0.0018, 0.25])
    assert any("every plot is counted as available" in w for w in report.warnings)
    assert fold_arrondissements(land["plot_id"].str[:5]).tolist() == ["13055", "13055"]


# -- communes ------------------------------------------------------------------------------------


def test_geo_api_communes(store: GeoPackageStore) -> None:
    name, report, communes = load(store, "communes", "communes-geoapi.geojson")
    assert name == "ign-communes"
    assert list(communes["commune_insee"]) == ["13201", "13202", "13005", "04112", "2A004"]
    assert set(communes["epci_siren"]) == {"200054807", "200034700", "242010056"}
    assert communes.set_index("commune_insee").loc["13005", "population"] == 47208
    assert any("2 municipal arrondissement(s) kept" in w for w in report.warnings)
    assert any("1 INSEE code(s) regained their leading zero" in w for w in report.warnings)


def test_single_feature_and_lambert93_with_newline_names(store: GeoPackageStore) -> None:
    _, _, one = load(store, "communes", "commune-feature.geojson")
    assert list(one["commune_insee"]) == ["13005"]
    assert list(one["name"]) == ["Aubagne"]
    _, _, communes = load(store, "communes", "communes-l93.geojson")
    assert communes["population"].tolist() == [
        47208,
        145133,
    ]  # "densite_Population \nmunicipale..."
    assert communes.crs.equals("EPSG:2154")


def test_admin_express_fields(store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "COMMUNE.gpkg"
    gpd.GeoDataFrame(
        {
            "ID": ["COMMUNE_0000000009736048"],
            "NOM": ["Aubagne"],
            "INSEE_COM": ["13005"],
            "POPULATION": [47208],
            "SIREN_EPCI": ["200054807"],
        },
        geometry=[shapely.box(905_000, 6_243_000, 913_000, 6_251_000)],
        crs="EPSG:2154",
    ).to_file(path, driver="GPKG")
    name, _, communes = load(store, "communes", str(path))
    assert name == "ign-communes"
    row = communes.iloc[0]
    assert (row["commune_insee"], row["name"], row["epci_siren"]) == (
        "13005",
        "Aubagne",
        "200054807",
    )
    assert row["population"] == 47208


def test_a_departement_file_is_not_a_communes_file(store: GeoPackageStore) -> None:
    with pytest.raises(InputError, match=r"departement\.geojson: column 'code': codes of 2 or 3 "):
        load(store, "communes", "departement.geojson")


# -- detection and refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "name", "expected"),
    [
        ("zones", "site-eco.csv", "cnig-site-eco"),
        ("zones", "bdtopo-zones.geojson", "ign-bdtopo-zones"),
        ("land", "terrain-eco.csv", "cnig-terrain-eco"),
        ("land", "cnig-friches.csv", "cnig-friches"),
        ("land", "cartofriches-standard.csv", "cnig-friches"),
        ("land", "cartofriches-liste-latin1.csv", "cartofriches-list"),
        ("land", "cartofriches-points.csv", "cartofriches-list"),
        ("land", "ademe-sites-pollues.geojson", "ademe-sites-pollues"),
        ("communes", "communes-geoapi.geojson", "ign-communes"),
        ("communes", "communes-l93.geojson", "ign-communes"),
        ("commune_coverage", "ftth-communes.csv", "arcep-communes"),
        ("commune_coverage", "mci-commune-techno.csv", "arcep-communes"),
    ],
)
def test_formats_are_detected_from_their_columns(layer: str, name: str, expected: str) -> None:
    assert choose_format(layer, [FIXTURES / name]).name == expected


def test_missing_columns_are_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "terrain.csv"
    path.write_text(
        'terr_id;terr_geomsurf;terr_usage\nT1;"POLYGON ((0 0, 1 0, 1 1, 0 0))";autre\n',
        encoding="utf-8",
    )
    store = GeoPackageStore(tmp_path / "data")
    with pytest.raises(InputError) as error:
        pipeline.import_files(store, "land", [path], format_name="cnig-terrain-eco")
    message = error.value.message
    assert str(path) in message
    assert "missing column(s) 'terr_stade_comm', 'terr_etat_occup'" in message
    assert "found: 'terr_id', 'terr_geomsurf', 'terr_usage'" in message


def test_unreadable_geometry_names_the_rows(store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(
        'site_id;site_nom;site_geomsurf\nS1;Un;"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n'
        'S2;Deux;"{""type"": 3"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        InputError, match=r"sites\.csv: column 'site_geomsurf': .* in row 2 \(e\.g\. "
    ):
        pipeline.import_files(store, "zones", [path])


def test_mostly_outside_france_is_refused_with_the_crs_named(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    path = tmp_path / "points.csv"
    path.write_text(
        "site_id,site_statut,nom_prodcartofriches,lon,lat\nA,friche potentielle,x,-70.1,45.0\n"
        "B,friche potentielle,x,-71.2,46.0\nC,friche potentielle,x,5.4,43.3\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"2 of 3 features lie outside metropolitan France"):
        pipeline.import_files(store, "land", [path])


@pytest.mark.parametrize(
    ("layer", "bad_file", "content", "message"),
    [
        (
            "land",
            "friches.csv",
            "site_id;site_statut;geompoint\nA;friche potentielle;POINT (5.4 43.3)\n"
            "A;friche sans projet;POINT (5.5 43.3)\n",
            "duplicated value",
        ),
        (
            "communes",
            "dep.geojson",
            (FIXTURES / "departement.geojson").read_text("utf-8"),
            "département codes",
        ),
        (
            "zones",
            "bdtopo.geojson",
            '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ID":"1","CATEGORIE":"Religieux","NATURE":"Culte"},"geometry":{"type":"Point","coordinates":[5.4,43.3]}}]}',
            "no row can be used",
        ),
        (
            "commune_coverage",
            "ftth.csv",
            "code_insee;nbr;elig_ftth\n13055;10;x\n",
            "values that are not numbers in row 1",
        ),
    ],
)
def test_refused_imports_leave_the_store_unchanged(
    store: GeoPackageStore, tmp_path: Path, layer: str, bad_file: str, content: str, message: str
) -> None:
    load(store, "zones", "site-eco.csv")
    load(store, "land", "terrain-eco.csv")
    load(store, "communes", "communes-geoapi.geojson")
    load(store, "commune_coverage", "ftth-communes.csv")
    before = store_digest(store)
    path = tmp_path / bad_file
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        pipeline.import_files(store, layer, [path])
    assert str(path) in error.value.message
    assert store_digest(store) == before


def test_a_malformed_r_vector_is_refused_with_its_row(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    path = tmp_path / "liste.csv"
    path.write_text(
        '"";"site_id";"nature";"nom_prodcartofriches";"site_statut";"geom"\n'
        '"1";"A";"x";"y";"friche potentielle";c(5.38, 43.30)\n'
        '"2";"B";"x";"y";"friche potentielle";c(5.3.8, 43.30)\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"liste\.csv: column 'geom': .* in row 2 .*c\(lon, lat\)"):
        pipeline.import_files(store, "land", [path])


@pytest.mark.parametrize("name", ["cnig-friches.csv", "cartofriches-liste-latin1.csv"])
def test_a_crs_that_is_not_one_is_refused_for_text_geometries(
    store: GeoPackageStore, name: str
) -> None:
    with pytest.raises(InputError, match=r"--crs 'foo' is not a coordinate reference system"):
        load(store, "land", name, crs="foo")


# -- files of another layer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "name", "belongs", "producer"),
    [
        ("land", "bdtopo-zones.geojson", "zones", "ign-bdtopo-zones"),
        ("zones", "communes-geoapi.geojson", "communes", "ign-communes"),
        ("land", "communes-l93.geojson", "communes", "ign-communes"),
        ("zones", "cnig-friches.csv", "land", "cnig-friches"),
        ("zones", "cartofriches-liste-latin1.csv", "land", "cartofriches-list"),
        ("zones", "cartofriches-points.csv", "land", "cartofriches-list"),
        ("zones", "ademe-sites-pollues.geojson", "land", "ademe-sites-pollues"),
        ("land", "ftth-communes.csv", "commune_coverage", "arcep-communes"),
        ("zones", "mci-commune-techno.csv", "commune_coverage", "arcep-communes"),
        ("land", "../arcep/base_imb_84.csv", "premises", "arcep-mci-immeubles"),
        ("zones", "../arcep/cartefibre_immeubles_13.csv", "ftth_deployment", "arcep-cartefibre"),
    ],
)
def test_a_producers_file_of_another_layer_is_refused_naming_its_layer(
    store: GeoPackageStore, layer: str, name: str, belongs: str, producer: str
) -> None:
    # a BD TOPO table read as land made 114 "available" plots of schools and churches, and a
    # CNIG Friches CSV read as zones said "no geometry column" (it has geompoint)
    with pytest.raises(InputError) as error:
        load(store, layer, name)
    message = str(error.value)
    assert f"these look like '{belongs}' files ({producer}" in message
    assert f"not '{layer}' files" in message
    assert "--format" in message
    assert "no geometry column" not in message
    assert "WKT" not in message
    assert not store.has_layer(layer)


def _admin_express_communes(folder: Path) -> Path:
    """An IGN Admin Express COMMUNE shapefile's columns (its real layout, two communes)."""
    square = shapely.box(900_000, 6_250_000, 901_000, 6_251_000)  # Lambert-93, near Aubagne
    frame = gpd.GeoDataFrame(
        {
            "ID": ["COMMUNE_0000000009736045", "COMMUNE_0000000009736046"],
            "NOM": ["Aubagne", "Gémenos"],
            "NOM_M": ["AUBAGNE", "GEMENOS"],
            "INSEE_COM": ["13005", "13042"],
            "STATUT": ["Commune simple", "Commune simple"],
            "POPULATION": [47208, 6875],
            "INSEE_CAN": ["03", "03"],
            "INSEE_ARR": ["3", "3"],
            "INSEE_DEP": ["13", "13"],
            "INSEE_REG": ["93", "93"],
            "SIREN_EPCI": ["200054807", "200054807"],
        },
        geometry=[square, shapely.affinity.translate(square, 1000)],
        crs="EPSG:2154",
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "COMMUNE.shp"
    frame.to_file(path)
    return path


def test_an_admin_express_commune_shapefile_is_not_an_activity_zone(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    path = _admin_express_communes(tmp_path / "ADMIN-EXPRESS")
    with pytest.raises(InputError, match=r"these look like 'communes' files \(ign-communes"):
        pipeline.import_files(store, "zones", [path])
    assert not store.has_layer("zones")
    renamed = tmp_path / "admin" / "limites.shp"  # its columns are enough, whatever its name
    for part in path.parent.glob("COMMUNE.*"):
        renamed.parent.mkdir(exist_ok=True)
        part.rename(renamed.with_suffix(part.suffix))
    with pytest.raises(InputError, match="'communes' files"):
        pipeline.import_files(store, "land", [renamed])
    fmt, _ = pipeline.import_files(store, "communes", [renamed])
    assert fmt.name == "ign-communes"
    assert store.read_layer("communes")["commune_insee"].tolist() == ["13005", "13042"]


def test_a_named_format_reads_another_layers_file_when_asked(store: GeoPackageStore) -> None:
    fmt, report = pipeline.import_files(
        store, "land", [FIXTURES / "bdtopo-zones.geojson"], format_name="vector-land"
    )
    assert fmt.name == "vector-land"
    assert report.rows_kept == len(store.read_layer("land"))


def test_generic_files_with_a_code_and_a_name_are_not_claimed(
    store: GeoPackageStore, tmp_path: Path
) -> None:
    # an API Carto cadastral parcel has a commune code and name, and zones files have code/nom:
    # only the producers' own columns or names claim a file
    square = shapely.box(5.4, 43.3, 5.401, 43.301)
    parcel = gpd.GeoDataFrame(
        {
            "id": ["132038120D0037"],
            "numero": ["0037"],
            "section": ["D"],
            "code_dep": ["13"],
            "nom_com": ["Marseille"],
            "code_com": ["203"],
            "idu": ["132038120D0037"],
            "contenance": [18],
            "code_insee": ["13055"],
        },
        geometry=[square],
        crs="EPSG:4326",
    )
    parcel.to_file(tmp_path / "apicarto_parcelle.geojson")
    fmt, _ = pipeline.import_files(store, "land", [tmp_path / "apicarto_parcelle.geojson"])
    assert fmt.name == "vector-land"
    zones = parcel[["geometry"]].assign(code=["ZA1"], nom=["ZA des Paluds"])
    zones.to_file(tmp_path / "zae.geojson")
    fmt, _ = pipeline.import_files(store, "zones", [tmp_path / "zae.geojson"])
    assert fmt.name == "vector-zones"
    # a file written for the layer (its canonical id) is believed, whatever else it holds
    canonical = zones.assign(zone_id=["Z1"], name=["Les Paluds"], insee_dep=["13"])
    canonical.to_file(tmp_path / "communes_zones.geojson")
    fmt, _ = pipeline.import_files(store, "zones", [tmp_path / "communes_zones.geojson"])
    assert fmt.name == "generic-zones"


@pytest.mark.parametrize(
    "columns",
    [
        {"nature": ["ZA"], "numero": ["12"], "nom": ["Les Paluds"]},  # BD TOPO roads: loose
        {"code": ["ZA1"], "nom": ["Les Paluds"]},  # communes: loose
        {"id": ["1"], "categorie": ["ZAE"], "nature": ["mixte"]},  # BD TOPO zones: loose
        {"highway": ["primary"], "name": ["RD 8n"]},  # OSM exits: loose
        {"niveau": ["2"], "nom": ["Les Paluds"]},  # mobile coverage: loose
    ],
)
def test_no_producer_claims_a_plain_file_with_common_column_names(
    tmp_path: Path, columns: dict[str, list[str]]
) -> None:
    """A zones or land file whose columns have common names is read as asked: only a
    producer's own signature refuses it as another layer's (each loose ``detect`` has a
    strict ``claims``)."""
    from geo_service.sources.formats import REGISTRY, all_formats, sniff

    all_formats()
    path = tmp_path / "plain.geojson"
    frame = gpd.GeoDataFrame(columns, geometry=[shapely.box(5.4, 43.3, 5.41, 43.31)], crs=4326)
    frame.to_file(path)
    sniffs = [sniff(path)]
    assert [f.name for f in REGISTRY.values() if f.claims_files(sniffs)] == []
    for layer in ("zones", "land"):
        assert choose_format(layer, [path]).layer == layer
