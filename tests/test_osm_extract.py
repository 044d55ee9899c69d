"""OpenStreetMap extracts read with pyosmium: PBF road graphs (the real Pont-de-Veyle extract
written as PBF gives the same graph as its XML), motorway exits of a PBF, aerodromes of an XML
or PBF extract, unreadable files refused in one line."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from conftest import REALDATA, require

from geo_service.errors import InputError
from geo_service.sources.formats import ImportOptions, choose_format
from geo_service.validation import LayerReport

osmium = pytest.importorskip("osmium")

EXTRACT = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
 <node id="1" lat="43.4360" lon="5.2150" version="1">
  <tag k="aeroway" v="aerodrome"/><tag k="name" v="Aéroport Marseille Provence"/>
  <tag k="iata" v="MRS"/><tag k="icao" v="LFML"/></node>
 <node id="2" lat="43.4500" lon="5.4000" version="1">
  <tag k="highway" v="motorway_junction"/><tag k="ref" v="A51"/>
  <tag k="name" v="Aix-en-Provence Pont de l'Arc"/></node>
 <node id="3" lat="43.4600" lon="5.4100" version="1">
  <tag k="highway" v="motorway_junction"/><tag k="destination" v="Marseille"/></node>
 <node id="4" lat="43.4700" lon="5.4200" version="1"><tag k="highway" v="crossing"/></node>
 <node id="11" lat="43.5000" lon="5.4000" version="1"/>
 <node id="12" lat="43.5000" lon="5.4100" version="1"/>
 <node id="13" lat="43.5100" lon="5.4100" version="1"/>
 <node id="14" lat="43.5100" lon="5.4000" version="1"/>
 <node id="21" lat="43.6000" lon="5.2000" version="1"/>
 <node id="22" lat="43.6000" lon="5.2200" version="1"/>
 <node id="23" lat="43.6200" lon="5.2200" version="1"/>
 <way id="100" version="1"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/>
  <tag k="aeroway" v="aerodrome"/><tag k="name" v="Aérodrome d'Aix-les-Milles"/>
  <tag k="icao" v="LFMA"/></way>
 <way id="101" version="1"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="21"/></way>
 <way id="102" version="1"><nd ref="11"/><nd ref="12"/><tag k="aeroway" v="runway"/></way>
 <relation id="200" version="1"><member type="way" ref="101" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="aeroway" v="aerodrome"/>
  <tag k="name" v="Aérodrome de Salon-Eyguières"/></relation>
</osm>
"""


def to_pbf(source: Path, target: Path) -> Path:
    writer = osmium.SimpleWriter(str(target))
    try:
        for obj in osmium.FileProcessor(str(source)):
            writer.add(obj)
    finally:
        writer.close()
    return target


def read(
    layer: str, paths: list[Path], fmt: str | None = None
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    chosen = choose_format(layer, paths, fmt)
    frame, report = chosen.read(paths, ImportOptions())
    assert isinstance(frame, gpd.GeoDataFrame)
    return frame, report


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    path = tmp_path / "bdr.osm"
    path.write_text(EXTRACT, encoding="utf-8")
    return path


@pytest.mark.realdata
def test_real_pbf_road_graph_is_the_xml_one(tmp_path: Path) -> None:
    xml = REALDATA / "transport" / "osm" / "pont_de_veyle_2022-03.osm.gz"
    require(xml.exists(), f"real OSM extract {xml} is absent")
    pbf = to_pbf(xml, tmp_path / "pont_de_veyle.osm.pbf")
    assert choose_format("road_network", [pbf]).name == "osm-pbf"
    from_pbf, report = read("road_network", [pbf])
    from_xml, _ = read("road_network", [xml])
    assert len(from_pbf) == 277  # as osmnx builds it (tests/test_transport_sources.py)
    assert report.rows_read == 113
    key = ["from_node", "to_node", "length_m"]
    ours = from_pbf[[*key, "highway", "name"]].sort_values(key).reset_index(drop=True)
    theirs = from_xml[[*key, "highway", "name"]].sort_values(key).reset_index(drop=True)
    assert ours.equals(theirs)


def test_pbf_motorway_exits(extract: Path, tmp_path: Path) -> None:
    pbf = to_pbf(extract, tmp_path / "bdr.osm.pbf")
    assert choose_format("road_access", [pbf]).name == "osm-pbf-junctions"
    exits, report = read("road_access", [pbf])
    assert exits["access_id"].tolist() == ["osm:node/2", "osm:node/3"]
    assert exits["name"].tolist() == ["Aix-en-Provence Pont de l'Arc", "Marseille"]
    assert exits["road"].tolist()[0] == "A51"
    assert report.rows_read == 3  # nodes with a highway tag, the crossing too
    assert exits.crs == "EPSG:2154"


@pytest.mark.parametrize("form", ["xml", "gz", "pbf"])
def test_osm_aerodromes(extract: Path, tmp_path: Path, form: str) -> None:
    import gzip

    path = {"xml": extract, "pbf": to_pbf(extract, tmp_path / "bdr.osm.pbf")}.get(form)
    if path is None:
        path = tmp_path / "bdr.osm.gz"
        path.write_bytes(gzip.compress(extract.read_bytes()))
    assert choose_format("hubs", [path]).name == "osm-aerodromes"
    hubs, report = read("hubs", [path])
    by_id = hubs.set_index("hub_id")
    assert sorted(by_id.index) == ["osm:node/1", "osm:relation/200", "osm:way/100"]
    assert by_id.loc["osm:node/1", "kind"] == "airport"  # IATA MRS
    assert by_id.loc["osm:node/1", "icao"] == "LFML"
    assert by_id.loc["osm:way/100", "kind"] == "aerodrome"
    assert by_id.loc["osm:relation/200", "name"] == "Aérodrome de Salon-Eyguières"
    # an area at its centroid: the Aix-les-Milles square's centre
    centre = gpd.GeoSeries([by_id.loc["osm:way/100", "geometry"]], crs=hubs.crs).to_crs(4326)
    assert (round(centre.x.iloc[0], 3), round(centre.y.iloc[0], 3)) == (5.405, 43.505)
    assert "runways, aprons" in report.warnings[-1]


def test_unreadable_pbf_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"not a protocol buffer at all" * 10)
    with pytest.raises(InputError, match=r"broken\.osm\.pbf: not a readable OpenStreetMap"):
        read("road_network", [bad])


def test_pbf_without_drivable_way_says_so(extract: Path, tmp_path: Path) -> None:
    pbf = to_pbf(extract, tmp_path / "bdr.osm.pbf")
    with pytest.raises(InputError, match=r"no drivable way among"):
        read("road_network", [pbf])


def test_a_gzip_bomb_is_stopped_before_libosmium(tmp_path: Path) -> None:
    import gzip

    bomb = tmp_path / "bombe.osm.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        out.write(b'<?xml version="1.0"?><osm version="0.6">')
        for _ in range(130):
            out.write(b" " * (1 << 20))
        out.write(b"</osm>")
    with pytest.raises(InputError, match=r"bombe\.osm\.gz: .* reading was stopped"):
        read("hubs", [bomb])
