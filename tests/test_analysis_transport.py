"""Transport access of each zone: nearest facilities, stops within walking distance, class."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from conftest import box, point

from geo_service.analysis import TransportLayers, analyze, split_reasons
from geo_service.analysis.transport import TRANSPORT_COLUMNS, transport_access
from geo_service.model import CANONICAL_CRS
from geo_service.settings import AnalysisParams

NNBSP = "\u202f"


@pytest.fixture
def four_zones() -> gpd.GeoDataFrame:
    """Zones A (near everything), B (3 km east), C (30 km east), D (a station inside it)."""
    return gpd.GeoDataFrame(
        {
            "zone_id": ["A", "B", "C", "D"],
            "name": ["Zone A", "Zone B", "Zone C", "Zone D"],
            "commune_insee": ["13001", "13001", "13002", "13002"],
        },
        geometry=[
            box(0, 0, 100, 100),
            box(3000, 0, 100, 100),
            box(30_000, 0, 100, 100),
            box(0, 5000, 200, 200),
        ],
        crs=CANONICAL_CRS,
    )


@pytest.fixture
def layers() -> TransportLayers:
    stops = gpd.GeoDataFrame(
        {
            "stop_id": ["s1", "s2", "s3", "s4", "s5"],
            "name": ["Arrêt 1", "Arrêt 2", "Arrêt 3", "Métro", "Loin"],
            "modes": ["bus", "bus,coach", "bus", "metro", "bus"],
            "peak_departures": pd.array([6, 4, None, None, 50], dtype="Int64"),
        },
        # s1 150 m east of A's edge... s1 and s2 within 500 m of A; s3 200 m from B (unknown
        # departures); s4 a métro stop 400 m from D; s5 600 m from A (too far).
        geometry=[
            point(250, 50),
            point(50, 550),
            point(3300, 50),
            point(100, 5600),
            point(-600, 50),
        ],
        crs=CANONICAL_CRS,
    )
    stations = gpd.GeoDataFrame(
        {
            "station_id": ["g1", "g2"],
            "name": ["Gare fret", "Gare voyageurs"],
            "passengers": [False, True],
        },
        geometry=[point(0, 100), point(100, 5100)],
        crs=CANONICAL_CRS,
    )
    road = gpd.GeoDataFrame(
        {"access_id": ["e1"], "name": ["Échangeur 33"], "road": ["A7"]},
        geometry=[point(1100, 100)],
        crs=CANONICAL_CRS,
    )
    hubs = gpd.GeoDataFrame(
        {
            "hub_id": ["h1", "h2"],
            "name": ["Aérodrome", "Aéroport"],
            "kind": ["aerodrome", "airport"],
        },
        geometry=[point(0, -200), point(0, -10_000)],
        crs=CANONICAL_CRS,
    )
    return TransportLayers(stops, stations, road, hubs)


def test_nearest_distances_are_straight_lines_from_the_perimeter(
    four_zones: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    out = transport_access(four_zones, layers)
    assert list(out.columns) == list(TRANSPORT_COLUMNS)
    # Interchange at x=1100, y=100: 1000 m east of A's edge, 1900 m west of B's.
    assert out["road_access_km"].tolist() == pytest.approx(
        [1.0, 1.9, 28.9, math.hypot(900, 4900) / 1000], abs=1e-3
    )
    assert out["road_access_name"].tolist() == ["Échangeur 33"] * 4
    # The freight station beside A is skipped; the passenger one is inside D.
    assert out.loc[3, "rail_station_km"] == 0.0
    assert out.loc[0, "rail_station_km"] == pytest.approx(5.0, abs=1e-3)
    assert set(out["rail_station_name"]) == {"Gare voyageurs"}
    # The aerodrome is not an airport.
    assert out.loc[0, "airport_km"] == pytest.approx(10.0, abs=1e-3)
    assert out.loc[0, "airport_name"] == "Aéroport"


def test_stops_within_walking_distance_and_their_departures(
    four_zones: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    out = transport_access(four_zones, layers)
    assert out["transit_stops"].tolist() == [2, 1, 0, 1]
    assert out.loc[0, "transit_modes"] == "bus,coach"
    assert out.loc[0, "transit_peak_departures"] == 10
    assert out.loc[0, "transit_stops_unknown"] == 0
    # B's only stop has unknown departures: unknown, not 0.
    assert pd.isna(out.loc[1, "transit_peak_departures"])
    assert out.loc[1, "transit_stops_unknown"] == 1
    # No stop near C: no departure.
    assert out.loc[2, "transit_peak_departures"] == 0
    wider = transport_access(four_zones, layers, AnalysisParams(transit_walk_m=700))
    assert wider.loc[0, "transit_stops"] == 3
    assert wider.loc[0, "transit_peak_departures"] == 60


def test_access_class_by_the_declared_thresholds(
    four_zones: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    out = transport_access(four_zones, layers)
    # A: interchange at 1 km, 10 departures >= 8: good. B: stop with unknown departures: fair.
    # C: 28.9 km from the interchange, no stop: poor. D: métro stop, interchange at 5 km: good.
    assert out["access_class"].tolist() == ["good", "fair", "poor", "good"]
    strict = AnalysisParams(access_good_departures=20, access_good_road_km=0.5)
    assert transport_access(four_zones, layers, strict)["access_class"].tolist() == [
        "fair",
        "fair",
        "poor",
        "fair",
    ]
    with pytest.raises(ValueError, match="access_good_road_km"):
        AnalysisParams(access_good_road_km=20, access_poor_road_km=10)


def test_french_reasons_say_distances_stops_and_unknowns(
    four_zones: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    out = transport_access(four_zones, layers)
    a = split_reasons(out.loc[0, "access_reasons"])
    assert (
        a[0] == f"Échangeur autoroutier «{NNBSP}Échangeur 33{NNBSP}» à 1,0{NNBSP}km à vol d'oiseau"
    )
    assert a[2] == (
        f"2 arrêts de transport en commun à moins de 500{NNBSP}m (bus, car), "
        "10 départs entre 7 h et 9 h"
    )
    b = split_reasons(out.loc[1, "access_reasons"])
    assert "départs entre 7 h et 9 h inconnus" in b[2]
    c = split_reasons(out.loc[2, "access_reasons"])
    assert c[2] == f"Aucun arrêt de transport en commun à moins de 500{NNBSP}m"
    d = split_reasons(out.loc[3, "access_reasons"])
    assert d[1] == f"Gare voyageurs «{NNBSP}Gare voyageurs{NNBSP}» dans la zone"


def test_absent_layers_leave_the_access_unknown(four_zones: gpd.GeoDataFrame) -> None:
    out = transport_access(four_zones, None)
    assert out["access_class"].tolist() == ["unknown"] * 4
    assert out["road_access_km"].isna().all()
    assert out["transit_stops"].isna().all()
    assert out["transit_peak_departures"].isna().all()
    reasons = split_reasons(out.loc[0, "access_reasons"])
    assert reasons[2] == (
        f"Arrêts de transport en commun à moins de 500{NNBSP}m non renseignés (aucun arrêt chargé)"
    )


def test_one_known_side_decides_poor_but_never_good(
    four_zones: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    roads_only = TransportLayers(road_access=layers.road_access)
    assert transport_access(four_zones, roads_only)["access_class"].tolist() == [
        "fair",
        "fair",
        "poor",
        "fair",
    ]


def test_analyze_adds_the_access_and_counts_it_per_commune(
    four_zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    result = analyze(four_zones, premises, transport=layers)
    assert result.zones["access_class"].tolist() == ["good", "fair", "poor", "good"]
    communes = result.communes.set_index("commune_insee")
    assert communes.loc["13001", ["zones_access_good", "zones_access_fair"]].tolist() == [1, 1]
    assert communes.loc["13002", ["zones_access_poor", "zones_access_good"]].tolist() == [1, 1]
    assert communes["zones_access_unknown"].tolist() == [0, 0]
    plain = analyze(four_zones, premises)
    assert plain.zones["access_class"].tolist() == ["unknown"] * 4
    assert plain.communes["zones_access_unknown"].tolist() == [2, 2]


def test_the_priority_weighs_the_access_only_when_asked(
    four_zones: gpd.GeoDataFrame, layers: TransportLayers
) -> None:
    # The same poor coverage in every zone: all four flagged, alike in broadband.
    premises = gpd.GeoDataFrame(
        {
            "premises_id": [f"p{k}" for k in range(4)],
            "locaux": [10, 10, 10, 10],
            "down_class": ["HD3"] * 4,
        },
        geometry=[g.centroid for g in four_zones.geometry],
        crs=CANONICAL_CRS,
    )
    plain = analyze(four_zones, premises, transport=layers).zones
    assert plain["priority"].nunique() == 1  # broadband alike: access ignored by default
    weighted = analyze(
        four_zones,
        premises,
        transport=layers,
        params=AnalysisParams(priority_weight_access=0.5),
    ).zones.set_index("zone_id")
    base = float(plain["priority"].iloc[0])
    # (0.5 * 100 * gap_etc + 0.5 * 100 * access) / 1.5: poor C above fair B above good A and D.
    assert (
        weighted.loc["C", "priority"]
        > weighted.loc["B", "priority"]
        > weighted.loc["A", "priority"]
    )
    assert weighted.loc["A", "priority"] == weighted.loc["D", "priority"]
    assert weighted.loc["C", "priority"] == pytest.approx((base + 50.0) / 1.5, abs=0.1)
    assert weighted.loc["C", "rank"] == 1
    # Unknown access leaves the component out: the broadband priority unchanged.
    unknown = analyze(four_zones, premises, params=AnalysisParams(priority_weight_access=0.5)).zones
    assert unknown["priority"].tolist() == plain["priority"].tolist()
    from geo_service.opinions.wording import formula_text

    assert "transports" not in formula_text(AnalysisParams())
    assert "desserte par les transports (33\u202f%" in formula_text(
        AnalysisParams(priority_weight_access=0.5)
    )
