"""Transport importers: GTFS stops and their morning-peak departures, SNCF stations, DGITM
toll gates, OpenStreetMap motorway access, OpenFlights airports (hand-made fixtures and the
real files of ../shared/realdata/transport)."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import REALDATA, require

from geo_service import pipeline
from geo_service.errors import InputError
from geo_service.sources.formats import REGISTRY, ImportOptions, choose_format
from geo_service.sources.gtfs import route_mode
from geo_service.store import GeoPackageStore
from geo_service.validation import LayerReport

TINY = Path(__file__).parent / "fixtures" / "transport" / "gtfs_tiny"
TRANSPORT = REALDATA / "transport"


def read(
    layer: str, paths: list[Path], fmt: str | None = None
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    chosen = choose_format(layer, paths, fmt)
    frame, report = chosen.read(paths, ImportOptions())
    assert isinstance(frame, gpd.GeoDataFrame)
    assert isinstance(report, LayerReport)
    return frame, report


def real(relative: str) -> Path:
    path = TRANSPORT / relative
    require(path.exists(), f"real transport file {path} is absent")
    return path


def by_stop(frame: gpd.GeoDataFrame) -> dict[str, object]:
    return dict(zip(frame["stop_id"], frame["peak_departures"], strict=True))


# -- GTFS: a tiny feed counted by hand ------------------------------------------------------
#
# Wednesday 2025-01-08 is the busiest weekday: the WK trips T1-T4 run Monday to Friday
# (not on Tuesday 7th, removed in calendar_dates) and T5 runs that day only. Departures in
# [07:00, 09:00) that are not a trip's last stop and allow boarding:
#   B1 (Zone Nord): T1 07:10, T3 08:59:59 (T2 06:55 too early, T5 07:30 no pickup) -> 2
#   STA (station, platforms STA_1 + STA_2): T1 07:20, T2 07:05, T5 07:40, T4 07:45 -> 4
#     (T3 09:00:00 is the end of the window, excluded)
#   B2 (Terminus): only last stops -> 0;  FAR: last stop of T4 -> 0
# T6 (coach) runs on Saturdays only; UNUSED has no stop time.
TINY_DEPARTURES = {
    "gtfs_tiny:B1": 2,
    "gtfs_tiny:STA": 4,
    "gtfs_tiny:B2": 0,
    "gtfs_tiny:FAR": 0,
}


def test_tiny_gtfs_peak_departures_counted_by_hand() -> None:
    stops, report = read("transit_stops", [TINY])
    assert by_stop(stops) == TINY_DEPARTURES
    assert stops["peak_date"].unique().tolist() == ["2025-01-08"]
    modes = dict(zip(stops["stop_id"], stops["modes"], strict=True))
    assert modes == {
        "gtfs_tiny:B1": "bus,coach",
        "gtfs_tiny:B2": "bus,coach",
        "gtfs_tiny:FAR": "train",
        "gtfs_tiny:STA": "bus,train",
    }
    assert report.rows_read == 7
    assert report.skipped == {"stops of gtfs_tiny (stops.txt) that no trip calls at": [7]}
    assert any("2 stop points folded into their 1 parent stations" in w for w in report.warnings)
    station = stops.set_index("stop_id").geometry["gtfs_tiny:STA"]
    assert station.equals(gpd.GeoSeries.from_xy([5.38], [43.30], crs=4326).to_crs(2154).iloc[0])


def test_tiny_gtfs_zipped_and_calendar_dates_only(tmp_path: Path) -> None:
    folder = tmp_path / "dates_only"
    shutil.copytree(TINY, folder)
    (folder / "calendar.txt").unlink()
    weekdays = [f"202501{d:02d}" for d in (6, 8, 9, 10)]  # WK's days, without Tuesday 7th
    lines = ["service_id,date,exception_type", "EXTRA,20250108,1"]
    lines += [f"WK,{d},1" for d in weekdays] + ["SAT,20250111,1"]
    (folder / "calendar_dates.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    archive = tmp_path / "dates_only.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for member in folder.iterdir():
            out.write(member, member.name)
    stops, _ = read("transit_stops", [archive])
    assert by_stop(stops) == {
        k.replace("gtfs_tiny", "dates_only"): v for k, v in TINY_DEPARTURES.items()
    }


def test_gtfs_without_calendars_gives_unknown_departures(tmp_path: Path) -> None:
    folder = tmp_path / "no_days"
    shutil.copytree(TINY, folder)
    (folder / "calendar.txt").unlink()
    (folder / "calendar_dates.txt").unlink()
    stops, report = read("transit_stops", [folder])
    assert stops["peak_departures"].isna().all()  # unknown, never 0
    assert stops["peak_date"].isna().all()
    assert any("departures of its stops are unknown" in w for w in report.warnings)


def test_several_feeds_keep_ids_unique(tmp_path: Path) -> None:
    other = tmp_path / "other_feed"
    shutil.copytree(TINY, other)
    stops, report = read("transit_stops", [TINY, other])
    assert len(stops) == 8
    assert stops["stop_id"].is_unique
    assert set(stops["feed"]) == {"gtfs_tiny", "other_feed"}
    assert report.rows_read == 14


def test_gtfs_append_to_stored_stops(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "store")
    other = tmp_path / "second"
    shutil.copytree(TINY, other)
    pipeline.import_files(store, "transit_stops", [TINY])
    pipeline.import_files(store, "transit_stops", [other], append=True)
    stored = store.read_layer("transit_stops")
    assert len(stored) == 8
    assert stored["peak_departures"].dtype == "Int64"
    with pytest.raises(InputError, match="already in the stored 'transit_stops' layer"):
        pipeline.import_files(store, "transit_stops", [other], append=True)


def test_a_folder_without_stop_times_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(TINY, folder)
    (folder / "stop_times.txt").unlink()
    with pytest.raises(InputError, match=r"broken: not a GTFS feed: stop_times.txt missing"):
        REGISTRY["gtfs"].read([folder], ImportOptions())


def test_route_modes() -> None:
    assert [route_mode(t) for t in (0, 1, 2, 3, 4, 7, 11, 109, 200, 401, 700, 900, 1700)] == [
        "tram",
        "metro",
        "train",
        "bus",
        "ferry",
        "cable",
        "bus",
        "train",
        "coach",
        "metro",
        "bus",
        "tram",
        "other",
    ]


def test_rail_stations_from_gtfs() -> None:
    stations, _ = read("rail_stations", [TINY], "gtfs-rail")
    assert sorted(stations["name"]) == ["Gare Centrale", "Gare Lointaine"]
    assert stations["passengers"].all()


# -- real files ---------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_ter_subset() -> None:
    path = real("gtfs/sncf_ter_gtfs_2025-01-22_subset_bdr13.zip")
    stops, report = read("transit_stops", [path])
    assert report.rows_read == 445  # the README's 445 stops: 234 points + 211 stations
    assert len(stops) == 211
    assert stops["peak_date"].unique().tolist() == ["2025-03-07"]  # calendar_dates only
    named = stops.set_index("name")["peak_departures"]
    assert named["Marseille Saint-Charles"] == 23
    assert int(stops["peak_departures"].sum()) == 825
    assert stops["modes"].str.contains("train").sum() == 200
    # SNCF's road services (route_type 3, the StopPoint:OCECar-… points) are coaches.
    assert not stops["modes"].str.contains("bus").any()
    assert stops["modes"].value_counts().to_dict() == {"train": 187, "coach,train": 13, "coach": 11}
    assert stops.set_index("name").loc["Aix-en-Provence TGV", "modes"] == "coach"  # cars TER only
    # The layer is dated by feed_info.txt (feed_start_date 20250122), not by the file's time.
    assert report.data_date == date(2025, 1, 22)


@pytest.mark.realdata
def test_real_rtm_metro_departures_unknown() -> None:
    path = real("gtfs/rtm_metro_m1m2_subset_2026-09")
    stops, report = read("transit_stops", [path])
    assert len(stops) == 61
    assert set(stops["modes"]) == {"metro"}
    assert stops["peak_departures"].isna().all()
    assert any("unknown" in w for w in report.warnings)
    assert report.data_date is None  # no feed_info.txt: the import dates it by the file


@pytest.mark.realdata
def test_real_sncf_station_list() -> None:
    stations, report = read("rail_stations", [real("stations/liste-des-gares.csv")])
    assert report.rows_read == 6469
    assert len(stations) == 6062  # one station per UIC code (a row per line)
    table = pd.read_csv(TRANSPORT / "stations/liste-des-gares.csv", sep=";", dtype=str)
    dep13 = table.loc[table["DEPARTEMEN"] == "BOUCHES-DU-RHONE", "CODE_UIC"]
    assert len(dep13) == 105  # the realdata README's "105 in dept 13" are rows, not stations:
    in13 = stations[stations["station_id"].isin(set(dep13))]
    assert len(in13) == 88  # one per UIC code (a station has a row per line it is on)
    assert int(in13["passengers"].sum()) == 46  # counted with pandas on the raw rows
    charles = stations.set_index("name").loc["Marseille-St-Charles"]
    assert charles["passengers"]
    assert charles.geometry.distance(gpd.points_from_xy([892400], [6247000])[0]) < 2000


@pytest.mark.realdata
def test_real_passenger_stations() -> None:
    stations, _ = read("rail_stations", [real("stations/gares-de-voyageurs.geojson")])
    assert len(stations) == 2782
    dep13, _ = read("rail_stations", [real("stations/gares-de-voyageurs_bdr13.geojson")])
    assert len(dep13) == 44
    assert dep13["commune_insee"].str.startswith("13").all()


@pytest.mark.realdata
def test_real_toll_gates_comma_decimals() -> None:
    gates, report = read("road_access", [real("roads/gares-peage-2024.csv")])
    assert report.rows_read == 1266
    assert len(gates) == 1011  # typeGare Echangeur; the 255 Pleine voie left out
    assert report.rows_skipped == 255
    assert str(report.data_date) == "2024-01-01"
    first = gates.iloc[0]
    assert (first["name"], first.geometry.x, first.geometry.y) == ("Beaupont", 874230.62, 6595951.2)
    dep13 = gates.cx[800_000:950_000, 6_200_000:6_330_000]
    assert len(dep13) > 0


@pytest.mark.realdata
def test_real_osm_motorway_links() -> None:
    links, report = read("road_access", [real("roads/osm_motorway_link_exits_france.geojson")])
    assert report.rows_read == 404
    assert len(links) == 401  # three overseas ways left out
    assert set(links["kind"]) == {"motorway_link"}


@pytest.mark.realdata
def test_real_openflights_airports() -> None:
    hubs, report = read("hubs", [real("airports/openflights_airports_france.csv")])
    assert report.rows_read == 454
    assert len(hubs) == 442  # 9 railway stations and 3 points abroad left out
    icao = hubs.set_index("icao")
    assert icao.loc["LFML", "kind"] == "airport"  # Marseille Provence, IATA MRS
    assert icao.loc["LFMA", "kind"] == "aerodrome"  # Aix-les-Milles, no IATA code
    assert (hubs["kind"] == "port").sum() == 3


# -- road network -----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_osmnx_graphml_keeps_every_node_and_edge() -> None:
    path = real("osm/maisons_laffitte_osmnx_2022-12.graphml")
    edges, report = read("road_network", [path])
    assert choose_format("road_network", [path]).name == "osmnx-graphml"
    assert report.rows_read == len(edges) == 2256  # the README's 2,256 edges
    assert len(set(edges["from_node"]) | set(edges["to_node"])) == 974  # and 974 nodes
    assert edges["length_m"].notna().all()
    # OSMnx's lengths are the edges' geodesic lengths: the Lambert-93 ones agree within 1 %.
    ratio = edges.geometry.length / edges["length_m"]
    assert ratio[edges["length_m"] > 20].between(0.99, 1.01).all()
    assert edges.crs == "EPSG:2154"


@pytest.mark.realdata
def test_real_osm_xml_graph_as_osmnx_builds_it() -> None:
    import gzip
    import xml.etree.ElementTree as ET

    from geo_service.sources.osm_graph import Way, build_graph

    path = real("osm/pont_de_veyle_2022-03.osm.gz")
    with gzip.open(path) as stream:
        root = ET.parse(stream).getroot()
    every_node = [int(n.get("id", "")) for n in root.iter("node")]
    every_way = [
        Way(
            int(w.get("id", "")),
            [int(n.get("ref", "")) for n in w.iter("nd")],
            {t.get("k", ""): t.get("v", "") for t in w.iter("tag")},
        )
        for w in root.iter("way")
    ]
    # The README's figure: osmnx.graph_from_xml(path, retain_all=True) keeps every node and way
    # of the file (it does not filter by network type, so buildings too).
    everything = build_graph(every_way, extra_nodes=every_node, retain_all=True)
    assert (len(everything.nodes), everything.edge_count) == (3434, 12562)
    # osmnx.graph_from_xml(path) (largest connected part): 1,257 nodes, 4,594 edges.
    largest = build_graph(every_way, extra_nodes=every_node)
    assert (len(largest.nodes), largest.edge_count) == (1257, 4594)

    # The drivable graph imported: OSMnx's drive filter, then the same steps; counted with
    # osmnx 2.1.1 (the unsimplified graph less the ways failing the drive filter, its largest
    # connected part, simplify_graph): 126 nodes, 277 edges, 36,852.0 m.
    edges, report = read("road_network", [path])
    assert choose_format("road_network", [path]).name == "osm-xml"
    assert report.rows_read == 113  # drivable ways of the 272 with a highway tag (2,061 ways)
    assert len(edges) == report.rows_kept == 277
    assert len(set(edges["from_node"]) | set(edges["to_node"])) == 126
    assert edges["length_m"].sum() == pytest.approx(36852.0, abs=0.1)
    assert "113 drivable ways of 272 with a highway tag" in report.warnings[0]
    assert "1 way(s) apart from the largest connected network left out" in report.warnings[0]
    assert set(edges["highway"]) == {"residential", "secondary", "tertiary", "unclassified"}
    # A two-way street gives both directions, a one-way street one.
    pairs = set(zip(edges["from_node"], edges["to_node"], strict=True))
    reverse = [(b, a) in pairs for a, b in pairs]
    assert 0.8 < sum(reverse) / len(reverse) < 1.0
    # Lengths are great-circle lengths: the Lambert-93 ones agree within 1 %.
    ratio = edges.geometry.length / edges["length_m"]
    assert ratio[edges["length_m"] > 20].between(0.99, 1.01).all()


def test_a_road_network_analyses_with_road_distances(tmp_path: Path) -> None:
    from geo_service.settings import AnalysisParams

    store = GeoPackageStore(tmp_path)
    pipeline.build_demo_store(store)
    result = pipeline.analyze_store(store, AnalysisParams())
    zones = result.zones
    assert zones["road_access_road_km"].notna().all()
    # A road is never shorter than the straight line from the zone's perimeter.
    assert (zones["road_access_road_km"] >= zones["road_access_km"] - 1e-3).all()
    assert (zones["airport_drive_min"] > 0).all()
    store.delete_layer("road_network")
    straight = pipeline.analyze_store(store, AnalysisParams()).zones
    assert straight["road_access_road_km"].isna().all()
    assert straight["road_access_km"].tolist() == zones["road_access_km"].tolist()


def test_osm_xml_motorway_exits(tmp_path: Path) -> None:
    osm = tmp_path / "sorties.osm"
    osm.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        '<node id="1" lat="43.45" lon="5.40"><tag k="highway" v="motorway_junction"/>'
        '<tag k="ref" v="A7"/><tag k="name" v="Aix-en-Provence Ouest"/></node>'
        '<node id="2" lat="43.46" lon="5.41"><tag k="highway" v="motorway_junction"/>'
        '<tag k="destination" v="Marseille"/></node>'
        '<node id="3" lat="43.47" lon="5.42"/>'
        "</osm>",
        encoding="utf-8",
    )
    exits, report = read("road_access", [osm])
    assert choose_format("road_access", [osm]).name == "osm-xml-junctions"
    assert report.rows_read == 3
    assert exits["name"].tolist() == ["Aix-en-Provence Ouest", "Marseille"]
    assert exits["access_id"].tolist() == ["osm:node/1", "osm:node/2"]
    assert exits["road"].tolist()[0] == "A7"
    assert set(exits["kind"]) == {"junction"}
    assert exits.crs == "EPSG:2154"


def test_bdtopo_slip_roads(tmp_path: Path) -> None:
    import shapely

    sections = gpd.GeoDataFrame(
        {
            "cleabs": ["TRONROUT0001", "TRONROUT0002", "TRONROUT0003", "TRONROUT0004"],
            "nature": ["Bretelle", "Type autoroutier", "Bretelle", "Route à 1 chaussée"],
            "cpx_numero": ["A7", "A7", None, "D9"],
            "nom_collaboratif_gauche": [None, None, "Bretelle de Plan-de-Campagne", None],
            "importance": ["1", "1", "2", "3"],
        },
        geometry=[
            shapely.LineString([(893100, 6256000, 120.0), (893300, 6256400, 118.0)]),
            shapely.LineString([(893000, 6255000), (893000, 6257000)]),
            shapely.LineString([(890000, 6250000), (890100, 6250100)]),
            shapely.LineString([(880000, 6240000), (880100, 6240100)]),
        ],
        crs="EPSG:2154",
    )
    path = tmp_path / "troncon_de_route.gpkg"
    sections.to_file(path)
    assert choose_format("road_access", [path]).name == "ign-bdtopo-bretelles"
    slips, report = read("road_access", [path])
    assert slips["access_id"].tolist() == ["bdtopo:TRONROUT0001", "bdtopo:TRONROUT0003"]
    assert slips["name"].tolist() == ["Bretelle A7", "Bretelle de Plan-de-Campagne"]
    assert slips["road"].tolist()[0] == "A7"
    assert set(slips["kind"]) == {"motorway_link"}
    # at the section's first point, in two dimensions
    assert [(p.x, p.y, p.has_z) for p in slips.geometry] == [
        (893100.0, 6256000.0, False),
        (890000.0, 6250000.0, False),
    ]
    assert report.rows_read == 4
    assert report.skipped == {
        "road sections that are not slip roads (NATURE other than Bretelle)": [2, 4]
    }


def test_bdtopo_road_sections_as_a_road_network(tmp_path: Path) -> None:
    import shapely

    a, b, c, d, e, f = (
        (890000.0, 6250000.0),
        (890500.0, 6250000.0),
        (891000.0, 6250000.0),
        (891000.0, 6250500.0),
        (890500.0, 6250500.0),
        (890500.0, 6251000.0),
    )
    rows = [  # cleabs, nature, sens, access, speed, ends
        ("T1", "Route à 1 chaussée", "Double sens", "Libre", 50, (a, b)),
        ("T2", "Route à 1 chaussée", "Sens direct", "Libre", 30, (b, c)),
        ("T3", "Bretelle", "Sens inverse", "A péage", None, (c, d)),
        ("T4", "Chemin", "Double sens", "Libre", 10, (b, e)),
        ("T5", "Route à 1 chaussée", "Double sens", "Restreint aux ayants droit", 30, (e, f)),
        ("T6", "Route à 1 chaussée", "Sans objet", "Libre", None, (a, d)),
    ]
    sections = gpd.GeoDataFrame(
        {
            "cleabs": [r[0] for r in rows],
            "nature": [r[1] for r in rows],
            "sens_de_circulation": [r[2] for r in rows],
            "acces_vehicule_leger": [r[3] for r in rows],
            "vitesse_moyenne_vl": [r[4] for r in rows],
            "importance": ["4"] * len(rows),
            "cpx_numero": [None, None, "A51", None, None, None],
            "nom_collaboratif_gauche": ["Route de Gardanne", None, None, None, None, None],
        },
        geometry=[shapely.LineString([(*p, 100.0) for p in r[5]]) for r in rows],
        crs="EPSG:2154",
    )
    path = tmp_path / "troncon_de_route.gpkg"
    sections.to_file(path)
    assert choose_format("road_network", [path]).name == "ign-bdtopo-troncons"
    assert choose_format("road_access", [path]).name == "ign-bdtopo-bretelles"
    edges, report = read("road_network", [path])
    assert report.rows_read == 6
    assert report.skipped == {
        "sections a car cannot drive (NATURE Sentier, Chemin, Escalier...)": [4],
        "sections closed to cars (ACCES_VEHICULE_LEGER, SENS_DE_CIRCULATION Sans objet)": [5, 6],
    }
    by_id = edges.set_index("edge_id")
    assert sorted(by_id.index) == [
        "bdtopo:T1",
        "bdtopo:T1:inverse",
        "bdtopo:T2",
        "bdtopo:T3:inverse",
    ]
    # the sections meeting at B share its node; T3 is driven from D to C
    assert by_id.loc["bdtopo:T1", "to_node"] == by_id.loc["bdtopo:T2", "from_node"]
    assert by_id.loc["bdtopo:T1:inverse", "from_node"] == by_id.loc["bdtopo:T1", "to_node"]
    assert by_id.loc["bdtopo:T3:inverse", "to_node"] == by_id.loc["bdtopo:T2", "to_node"]
    assert shapely.get_coordinates(by_id.loc["bdtopo:T3:inverse", "geometry"])[0].tolist() == [*d]
    assert not by_id.geometry.has_z.any()
    assert by_id.loc["bdtopo:T1", "maxspeed_kmh"] == 50
    assert pd.isna(by_id.loc["bdtopo:T3:inverse", "maxspeed_kmh"])
    assert by_id.loc["bdtopo:T3:inverse", "highway"] == "motorway_link"
    assert by_id.loc["bdtopo:T2", "highway"] == "unclassified"  # importance 4
    assert by_id.loc["bdtopo:T1", "name"] == "Route de Gardanne"
    assert len(set(edges["from_node"]) | set(edges["to_node"])) == 4  # A, B, C, D
