"""The zone analysis, with exact expected values on small hand-built layers."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from conftest import X0, Y0, box, point

from geo_service.analysis import analyze, analyze_zones, h3_coverage, split_reasons
from geo_service.analysis.status import effective_share
from geo_service.formatting import fr_percent
from geo_service.model import CoverageRaster
from geo_service.settings import AnalysisParams
from geo_service.validation import validate_layer


def by_id(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry")).set_index("zone_id")


@pytest.fixture
def land() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "plot_id": ["half-in-A", "occupied-in-A", "touches-A", "friche-in-C", "outside"],
            "available": [True, False, True, True, True],
            "area_ha": [None, None, None, 2.0, None],
        },
        geometry=[
            box(50, 50, 100, 100),
            box(10, 10, 30, 30),
            box(100, 0, 50, 50),
            point(450, 50),
            box(900, 900, 10, 10),
        ],
        crs="EPSG:2154",
    )


def test_shares_are_weighted_by_locaux(zones, premises) -> None:
    result = by_id(analyze_zones(zones, premises))
    a = result.loc["A"]
    assert (a["premises"], a["locaux"]) == (2, 4)
    assert a["share_bhd8"] == pytest.approx(0.75)
    assert a["share_thd30"] == pytest.approx(0.75)
    assert a["share_thd100"] == pytest.approx(0.75)
    assert a["share_thd1g"] == pytest.approx(0.75)
    assert a["share_ftth"] == pytest.approx(0.75)
    b = result.loc["B"]
    assert (b["premises"], b["locaux"], b["share_bhd8"], b["share_thd30"]) == (1, 2, 1.0, 0.0)
    assert math.isnan(b["share_ftth"]), "ftth unknown for every building of B"


def test_multipolygon_zone_counts_premises_of_every_part(zones, premises) -> None:
    d = by_id(analyze_zones(zones, premises)).loc["D"]
    assert (d["premises"], d["locaux"]) == (2, 6)
    assert d["share_thd30"] == pytest.approx(5 / 6)
    assert d["share_thd100"] == 0.0
    assert d["area_ha"] == pytest.approx(2.0)


def test_premises_on_a_boundary_count_in_every_touching_zone() -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["L", "R"], "name": ["L", "R"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 100, 100)],
        crs="EPSG:2154",
    )
    premises = gpd.GeoDataFrame(
        {"premises_id": ["edge", "corner-out"], "locaux": [4, 1], "down_class": ["THD30", "HD3"]},
        geometry=[point(100, 50), point(200.01, 50)],
        crs="EPSG:2154",
    )
    result = by_id(analyze_zones(zones, premises))
    assert result["locaux"].to_dict() == {"L": 4, "R": 4}
    assert result["share_thd30"].to_dict() == {"L": 1.0, "R": 1.0}


def test_overlapping_zones_each_count_the_shared_premises(zones, premises) -> None:
    overlapping = pd.concat(
        [
            zones,
            gpd.GeoDataFrame(
                {"zone_id": ["A-ext"], "name": ["Extension"]},
                geometry=[box(0, 0, 60, 60)],
                crs="EPSG:2154",
            ),
        ],
        ignore_index=True,
    )
    result = by_id(analyze_zones(overlapping, premises))
    assert result.loc["A-ext", "locaux"] == result.loc["A", "locaux"] == 4
    assert result.loc["A-ext", "share_thd30"] == result.loc["A", "share_thd30"]
    assert result["locaux"].sum() == 4 + 2 + 6 + 4


def test_premises_outside_every_zone_change_nothing(zones, premises) -> None:
    without = by_id(analyze_zones(zones, premises[premises["premises_id"] != "p6"]))
    with_it = by_id(analyze_zones(zones, premises))
    pd.testing.assert_frame_equal(without, with_it)


def test_zone_without_premises_and_raster_is_unknown(zones, premises) -> None:
    c = by_id(analyze_zones(zones, premises)).loc["C"]
    assert (c["premises"], c["locaux"]) == (0, 0)
    for column in ("share_bhd8", "share_thd30", "share_thd100", "share_thd1g", "share_ftth"):
        assert math.isnan(c[column])
    assert c["status"] == "unknown"
    assert c["status_basis"] == "none"
    assert math.isnan(c["priority"])
    assert pd.isna(c["rank"])
    assert split_reasons(c["reasons"])[0] == "Aucun local recensé et aucune carte de couverture"


def test_raster_decides_for_a_zone_without_premises(zones, premises, coverage) -> None:
    result = by_id(analyze_zones(zones, premises, raster=coverage))
    c = result.loc["C"]
    assert (c["raster_share_thd30"], c["raster_share_bhd8"], c["raster_valid_share"]) == (0, 0, 1)
    assert c["status"] == "unserved"
    assert c["status_basis"] == "raster"
    # the reason gives both shares the status rule reads (THD30 and BHD8 of the known surface)
    assert split_reasons(c["reasons"])[0] == (
        "Aucun local recensé : statut estimé d'après la carte de couverture "
        "(0\u202f% de la surface renseignée à ≥\u202f30\u202fMbit/s, "
        "0\u202f% à ≥\u202f8\u202fMbit/s)"
    )
    # premises decide where there are some, even if the raster disagrees
    assert result.loc["A", "raster_share_thd30"] == 1.0
    assert result.loc["A", "status"] == "underserved"


def test_raster_with_too_little_known_area_leaves_zone_unknown(coverage) -> None:
    zone = gpd.GeoDataFrame(
        {"zone_id": ["Z"], "name": ["Z"]}, geometry=[box(190, 0, 70, 100)], crs="EPSG:2154"
    )
    no_premises = gpd.GeoDataFrame(
        {"premises_id": [], "locaux": [], "down_class": []}, geometry=[], crs="EPSG:2154"
    )
    z = by_id(analyze_zones(zone, no_premises, raster=coverage)).loc["Z"]
    # x in [190, 260): 10 m at 100, 50 m unknown, 10 m at 100
    assert z["raster_valid_share"] == pytest.approx(20 / 70)
    assert z["raster_share_thd30"] == pytest.approx(1.0)
    assert z["status"] == "unknown"
    lenient = AnalysisParams(min_raster_valid_share=0.25)
    assert (
        by_id(analyze_zones(zone, no_premises, raster=coverage, params=lenient)).loc["Z", "status"]
        == "served"
    )


@pytest.mark.parametrize(
    ("geometry", "thd30", "bhd8", "valid"),
    [
        (box(375, 25, 50, 50), 0.5, 0.5, 1.0),  # half on a 100 Mbit/s pixel, half on 5
        (box(225, 0, 50, 100), 1.0, 1.0, 0.5),  # half on an unknown pixel
        (shapely.Polygon([(X0 + 350, Y0), (X0 + 450, Y0), (X0 + 450, Y0 + 100)]), 0.25, 0.25, 1.0),
        (box(475, 0, 50, 100), 0.0, 0.0, 0.5),  # half outside the raster
    ],
    ids=["half-half", "half-unknown", "triangle", "half-outside"],
)
def test_raster_shares_on_polygons_that_cut_pixels(coverage, geometry, thd30, bhd8, valid) -> None:
    zone = gpd.GeoDataFrame({"zone_id": ["Z"], "name": ["Z"]}, geometry=[geometry], crs=2154)
    empty = gpd.GeoDataFrame(
        {"premises_id": [], "locaux": [], "down_class": []}, geometry=[], crs="EPSG:2154"
    )
    z = by_id(analyze_zones(zone, empty, raster=coverage)).loc["Z"]
    assert z["raster_share_thd30"] == pytest.approx(thd30, abs=1e-9)
    assert z["raster_share_bhd8"] == pytest.approx(bhd8, abs=1e-9)
    assert z["raster_valid_share"] == pytest.approx(valid, abs=1e-9)


def test_raster_speed_thresholds_are_inclusive() -> None:
    data = np.array([[8.0, 7.99, 30.0, 29.9]], dtype=np.float32)
    raster = CoverageRaster(data=data, transform=Affine(10, 0, X0, 0, -10, Y0 + 10))
    zones = gpd.GeoDataFrame(
        {"zone_id": list("abcd"), "name": list("abcd")},
        geometry=[box(10 * i, 0, 10, 10) for i in range(4)],
        crs="EPSG:2154",
    )
    empty = gpd.GeoDataFrame(
        {"premises_id": [], "locaux": [], "down_class": []}, geometry=[], crs="EPSG:2154"
    )
    result = by_id(analyze_zones(zones, empty, raster=raster))
    assert result["raster_share_bhd8"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert result["raster_share_thd30"].tolist() == [0.0, 0.0, 1.0, 0.0]


def test_available_land_is_intersected_with_zones(zones, premises, land) -> None:
    result = by_id(analyze_zones(zones, premises, land=land))
    assert result.loc["A", "available_land_ha"] == pytest.approx(0.25)
    assert result.loc["A", "available_plots"] == 1, "a plot that only touches A does not count"
    assert result.loc["C", "available_land_ha"] == pytest.approx(2.0)
    assert result.loc["C", "available_plots"] == 1
    assert result.loc["B", "available_plots"] == 0


def test_areas_are_hectares_when_the_input_is_wgs84(zones, premises) -> None:
    wgs84 = zones.to_crs("EPSG:4326")
    validated, _ = validate_layer("zones", wgs84, "zones.geojson")
    result = by_id(analyze_zones(validated, premises.to_crs("EPSG:4326")))
    assert result.loc["A", "area_ha"] == pytest.approx(1.0, rel=1e-6)
    assert result.loc["D", "area_ha"] == pytest.approx(2.0, rel=1e-6)
    assert result.loc["A", "locaux"] == 4


def test_status_thresholds_are_configurable(zones, premises) -> None:
    default = by_id(analyze_zones(zones, premises))
    assert default["status"].to_dict() == {
        "A": "underserved",
        "B": "underserved",
        "C": "unknown",
        "D": "underserved",
    }
    strict = by_id(
        analyze_zones(
            zones, premises, params=AnalysisParams(served_thd30_share=0.7, unserved_bhd8_share=0.8)
        )
    )
    assert strict["status"].to_dict() == {
        "A": "served",
        "B": "underserved",
        "C": "unknown",
        "D": "served",
    }
    unserved = by_id(analyze_zones(zones, premises, params=AnalysisParams(unserved_bhd8_share=0.9)))
    assert unserved.loc["A", "status"] == "unserved"
    assert unserved.loc["D", "status"] == "unserved"


def test_priority_follows_the_documented_formula(zones, premises, land) -> None:
    params = AnalysisParams()
    result = by_id(analyze_zones(zones, premises, land=land, params=params))
    gap, land_ha, locaux = 0.25, 0.25, 4
    expected = 100 * (0.5 * gap + 0.3 * land_ha / (land_ha + 5.0) + 0.2 * locaux / (locaux + 100.0))
    assert result.loc["A", "priority"] == pytest.approx(round(expected, 1))
    # B: gap 1, no land, 2 locaux
    assert result.loc["B", "priority"] == pytest.approx(round(100 * (0.5 + 0.2 * 2 / 102), 1))
    # D: gap 1/6, no land, 6 locaux
    assert result.loc["D", "priority"] == pytest.approx(round(100 * (0.5 / 6 + 0.2 * 6 / 106), 1))
    assert result["rank"].dropna().astype(int).to_dict() == {"B": 1, "A": 2, "D": 3}


def test_priority_weights_are_configurable(zones, premises, land) -> None:
    only_land = AnalysisParams(
        priority_weight_gap=0, priority_weight_land=1, priority_weight_locaux=0
    )
    result = by_id(analyze_zones(zones, premises, land=land, params=only_land))
    assert result.loc["A", "priority"] == pytest.approx(round(100 * 0.25 / 5.25, 1))
    assert result.loc["B", "priority"] == 0.0


def test_served_zone_has_priority_zero_and_no_rank(zones, premises) -> None:
    result = by_id(analyze_zones(zones, premises, params=AnalysisParams(served_thd30_share=0.7)))
    assert result.loc["A", "priority"] == 0.0
    assert pd.isna(result.loc["A", "rank"])


def test_reasons_explain_status_and_priority(zones, premises, land) -> None:
    result = by_id(analyze_zones(zones, premises, land=land))
    reasons = split_reasons(result.loc["A", "reasons"])
    assert reasons[0] == "25\u202f% des locaux sans très haut débit (<\u202f30\u202fMbit/s)"
    assert "Fibre optique (FttH) disponible pour 75\u202f% des locaux" in reasons
    assert "4 locaux dans 2 bâtiments" in reasons
    assert "0,25\u202fha de foncier disponible (1 parcelle)" in reasons
    assert reasons[-1] == (
        "Priorité 14,7/100 : écart de couverture 25\u202f%, 0,25\u202fha disponibles, 4 locaux"
    )
    unserved = by_id(analyze_zones(zones, premises, params=AnalysisParams(unserved_bhd8_share=0.9)))
    assert "17\u202f% des locaux sans bon haut débit (<\u202f8\u202fMbit/s)" in split_reasons(
        unserved.loc["D", "reasons"]
    )


def test_result_columns_and_order(zones, premises) -> None:
    result = analyze_zones(zones, premises)
    assert list(result["zone_id"]) == ["A", "B", "C", "D"]
    assert result.crs.equals("EPSG:2154")
    for column in (
        "area_ha",
        "premises",
        "locaux",
        "share_bhd8",
        "share_thd30",
        "share_thd100",
        "share_thd1g",
        "share_ftth",
        "raster_share_thd30",
        "raster_valid_share",
        "available_land_ha",
        "available_plots",
        "status",
        "priority",
        "reasons",
    ):
        assert column in result.columns


def test_commune_and_epci_aggregates(zones, premises, land) -> None:
    communes = gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002", "13003"],
            "name": ["Un", "Deux", "Trois"],
            "epci_siren": ["200054807", "200054807", "241300417"],
            "epci_name": ["Métropole", "Métropole", "Autre"],
            "population": [100, 200, 50],
        },
        geometry=[box(-10, -10, 320, 1000), box(310, -10, 300, 1000), box(610, -10, 300, 1000)],
        crs="EPSG:2154",
    )
    result = analyze(zones, premises, land=land, communes=communes)
    by_commune = pd.DataFrame(result.communes.drop(columns="geometry")).set_index("commune_insee")
    assert by_commune.loc["13001", "zones"] == 2
    assert by_commune.loc["13001", "locaux"] == 6
    assert by_commune.loc["13001", "share_thd30"] == pytest.approx((0.75 * 4 + 0 * 2) / 6)
    assert by_commune.loc["13001", "zones_underserved"] == 2
    assert by_commune.loc["13002", "zones_unknown"] == 1
    assert by_commune.loc["13002", "available_land_ha"] == pytest.approx(2.0)
    assert by_commune.loc["13003", "zones"] == 0
    assert math.isnan(by_commune.loc["13003", "share_thd30"])
    by_epci = pd.DataFrame(result.epcis.drop(columns="geometry")).set_index("epci_siren")
    assert by_epci.loc["200054807", "zones"] == 4
    assert by_epci.loc["200054807", "communes"] == 2
    assert by_epci.loc["200054807", "name"] == "Métropole"
    assert by_epci.loc["200054807", "share_thd30"] == pytest.approx((3 + 0 + 5) / 12)
    assert by_epci.loc["241300417", "zones"] == 0


def test_zones_get_their_commune_from_the_communes_layer(premises) -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A"], "name": ["A"]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:2154"
    )
    communes = gpd.GeoDataFrame(
        {
            "commune_insee": ["13005"],
            "name": ["Cinq"],
            "epci_siren": ["200054807"],
            "epci_name": ["M"],
            "population": [1],
        },
        geometry=[box(-50, -50, 500, 500)],
        crs="EPSG:2154",
    )
    result = analyze(zones, premises, communes=communes)
    assert result.zones.loc[0, "commune_insee"] == "13005"
    assert result.zones.loc[0, "epci_siren"] == "200054807"


def test_h3_coverage_sums_locaux_per_hexagon(premises) -> None:
    cells = h3_coverage(premises, resolution=9)
    assert cells["locaux"].sum() == premises["locaux"].sum()
    assert cells["premises"].sum() == len(premises)
    assert cells.crs.equals("OGC:CRS84")
    assert ((cells["share_thd30"] >= 0) & (cells["share_thd30"] <= 1)).all()
    assert shapely.contains(cells.union_all(), premises.to_crs("OGC:CRS84").union_all())


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"status_basis": "none", "share_thd30": float("nan")}, "—"),
        ({"status_basis": "raster", "raster_share_thd30": None}, "—"),
        (
            {"status_basis": "commune", "commune_share_thd30": None, "commune_share_ftth": None},
            "—",
        ),
        ({"status_basis": "commune", "commune_share_thd30": None, "commune_share_ftth": 0.4}, "40"),
        ({"status_basis": "premises", "share_thd30": 0.0}, "0"),
    ],
)
def test_an_unknown_deciding_share_reads_unknown_not_zero(
    row: dict[str, object], expected: str
) -> None:
    """`geo-service analyze` printed `≥ 30 Mbit/s: 0 %` for an empty share_thd30."""
    text = fr_percent(effective_share(row, "share_thd30"))
    assert text.split("\u202f")[0] == expected
