"""The ``road_network`` layer: directed road edges from an OSMnx GraphML graph or an OSM XML
extract; and the ``road_access`` layer's motorway exits of an OSM XML extract.

- GraphML (``.graphml``, as ``osmnx.save_graphml`` writes it): nodes with ``x``/``y`` (the
  graph's ``crs``, WGS84 by default), edges with ``length`` (m), ``maxspeed``, ``highway``,
  ``name`` and an optional WKT ``geometry``; an undirected graph gives both directions.
- OSM XML (``.osm``, ``.osm.gz``, e.g. an Overpass export with complete ways): the drivable
  graph as OSMnx builds it (its ``drive`` filter, ``oneway``, the largest connected part,
  interstitial nodes simplified away: :mod:`geo_service.sources.osm_graph`).

Both are read with the standard library's XML parser, incrementally (no graph library).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Final, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.errors import InputError, ParameterError
from geo_service.model import CANONICAL_CRS, LayerKind
from geo_service.sources.archive import BoundedGzip
from geo_service.sources.feature_bound import check_streamed
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, register
from geo_service.sources.osm_graph import (
    Way,
    build_graph,
    first_value,
    graph_edges,
    is_drivable,
    speed_kmh,
)
from geo_service.sources.transport import canonical_layer
from geo_service.sources.vector import read_vector
from geo_service.validation import LayerReport


def read_graphml(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_network`` from an OSMnx GraphML graph (see the module docstring)."""
    path = _one(paths)
    keys: dict[str, str] = {}
    graph_crs = "EPSG:4326"
    directed = True
    nodes: dict[str, tuple[float, float]] = {}
    rows: list[dict[str, object]] = []
    try:
        for element in _elements(path, ("key", "graph", "node", "edge")):
            tag = _local(element.tag)
            if tag == "key":
                keys[element.get("id", "")] = element.get("attr.name", "")
                continue
            data = {
                keys.get(d.get("key", ""), ""): (d.text or "")
                for d in element
                if _local(d.tag) == "data"
            }
            if tag == "graph":
                directed = element.get("edgedefault", "directed") == "directed"
                graph_crs = data.get("crs") or graph_crs
            elif tag == "node":
                nodes[element.get("id", "")] = (float(data["x"]), float(data["y"]))
            else:
                rows.append({"u": element.get("source"), "v": element.get("target"), **data})
                check_streamed(path, len(rows))
            element.clear()
    except (ET.ParseError, KeyError, ValueError) as exc:
        raise InputError(
            f"{path}: not an OSMnx GraphML graph ({exc}); expected nodes with x and y and "
            "edges with source and target"
        ) from exc
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_NETWORK, rows_read=len(rows))
    edges = pd.DataFrame(rows)
    if edges.empty:
        raise InputError(f"{path}: the graph has no edge; expected a road graph")
    missing = ~(edges["u"].isin(nodes) & edges["v"].isin(nodes))
    report.skip("edges naming an unknown node", [int(i) + 1 for i in np.flatnonzero(missing)])
    edges = edges[~missing.to_numpy()].reset_index(drop=True)
    geometry = [_graphml_line(row, nodes) for row in edges.to_dict("records")]
    frame = pd.DataFrame(
        {
            "from_node": edges["u"].astype(str),
            "to_node": edges["v"].astype(str),
            "length_m": pd.to_numeric(edges.get("length"), errors="coerce"),
            "maxspeed_kmh": [speed_kmh(v) for v in edges.get("maxspeed", [None] * len(edges))],
            "highway": [first_value(v) for v in edges.get("highway", [None] * len(edges))],
            "name": [first_value(v) for v in edges.get("name", [None] * len(edges))],
        }
    )
    if not directed:
        frame, geometry = _both_ways(frame, geometry)
    frame.insert(0, "edge_id", [f"e{i + 1}" for i in range(len(frame))])
    return canonical_layer(LayerKind.ROAD_NETWORK, frame, geometry, graph_crs, report)


def read_osm_xml(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_network`` from an OSM XML extract (see the module docstring)."""
    path = _one(paths)
    coordinates: dict[int, tuple[float, float]] = {}
    ways: list[Way] = []
    read = 0
    try:
        for element in _elements(path, ("node", "way")):
            if _local(element.tag) == "node":
                coordinates[int(element.get("id", ""))] = (
                    float(element.get("lon", "nan")),
                    float(element.get("lat", "nan")),
                )
            else:
                tags = {t.get("k", ""): t.get("v", "") for t in element if t.tag == "tag"}
                read += "highway" in tags
                if is_drivable(tags):
                    refs = [int(n.get("ref", "")) for n in element if n.tag == "nd"]
                    ways.append(Way(int(element.get("id", "")), refs, tags))
                    check_streamed(path, len(ways))
            element.clear()
    except (ET.ParseError, ValueError) as exc:
        raise InputError(
            f"{path}: not an OSM XML file ({exc}); expected <osm> nodes and ways"
        ) from exc
    return osm_road_layer(path, ways, coordinates, read)


def osm_road_layer(
    path: Path,
    ways: list[Way],
    coordinates: Mapping[int, tuple[float, float]],
    read: int,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The ``road_network`` layer of the drivable ``ways`` of an OSM extract (of ``read`` ways
    with a ``highway`` tag), simplified as OSMnx does (:mod:`geo_service.sources.osm_graph`)."""
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_NETWORK, rows_read=len(ways))
    if not ways:
        raise InputError(
            f"{path}: no drivable way among {read:,} ways with a highway tag (OSMnx's drive "
            "filter: not footway, path, track, service...); expected an OSM road extract"
        )
    complete = [all(r in coordinates for r in w.nodes) and len(w.nodes) > 1 for w in ways]
    report.skip(
        "drivable ways with nodes missing from the file (export complete ways)",
        [i + 1 for i, ok in enumerate(complete) if not ok],
    )
    ways = [w for w, ok in zip(ways, complete, strict=True) if ok]
    graph = build_graph(ways)
    report.warnings.append(
        f"{path.name}: {len(ways):,} drivable ways of {read:,} with a highway tag (OSMnx's drive "
        "filter) "
        f"simplified as OSMnx does into {len(graph.nodes):,} nodes and {graph.edge_count:,} "
        "directed edges"
        + (
            f"; {graph.ways_apart:,} way(s) apart from the largest connected network left out"
            if graph.ways_apart
            else ""
        )
    )
    frame, geometry = graph_edges(graph, ways, coordinates)
    frame.insert(0, "edge_id", [f"e{i + 1}" for i in range(len(frame))])
    return canonical_layer(LayerKind.ROAD_NETWORK, frame, geometry, "EPSG:4326", report)


def read_osm_xml_junctions(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_access`` from an OSM XML extract: its ``highway=motorway_junction`` nodes (the
    motorway exits), named by ``name``, else ``destination``, ``exit_to`` or ``ref``."""
    path = _one(paths)
    rows: list[dict[str, object]] = []
    points: list[tuple[float, float]] = []
    read = 0
    try:
        for element in _elements(path, ("node",)):
            read += 1
            tags = {t.get("k", ""): t.get("v", "") for t in element if t.tag == "tag"}
            if tags.get("highway") == "motorway_junction":
                rows.append(junction_row(element.get("id", ""), tags))
                points.append((float(element.get("lon", "nan")), float(element.get("lat", "nan"))))
                check_streamed(path, len(points))
            element.clear()
    except (ET.ParseError, ValueError) as exc:
        raise InputError(f"{path}: not an OSM XML file ({exc}); expected <osm> nodes") from exc
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_ACCESS, rows_read=read)
    if not rows:
        raise InputError(f"{path}: no highway=motorway_junction node; expected motorway exits")
    report.warnings.append(f"{path}: {read - len(rows)} nodes that are not motorway exits left out")
    geometry = [shapely.Point(xy) for xy in points]
    return canonical_layer(LayerKind.ROAD_ACCESS, pd.DataFrame(rows), geometry, "EPSG:4326", report)


#: BD TOPO natures of road sections a car cannot drive (paths, steps, cycle tracks, ferries).
BDTOPO_NOT_DRIVABLE: Final = frozenset(
    {"sentier", "chemin", "escalier", "piste cyclable", "bac ou liaison maritime", "bac auto"}
)
#: BD TOPO light-vehicle accesses that keep a section off a public road network.
BDTOPO_NO_ACCESS: Final = frozenset({"physiquement impossible", "restreint aux ayants droit"})
#: The OSM-like category of a BD TOPO section (its speed when it has none): by nature, else by
#: importance (1 to 5).
BDTOPO_HIGHWAY: Final[dict[str, str]] = {
    "type autoroutier": "motorway",
    "bretelle": "motorway_link",
    "route à 2 chaussées": "trunk",
    "route empierrée": "unclassified",
}
BDTOPO_IMPORTANCE_HIGHWAY: Final[dict[str, str]] = {
    "1": "primary",
    "2": "secondary",
    "3": "tertiary",
    "4": "unclassified",
    "5": "residential",
}
#: Precision of the section ends joined into one node, metres (BD TOPO is topological: the
#: sections meeting at an intersection share their end point).
BDTOPO_NODE_M: Final = 0.1


def read_bdtopo_sections(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_network`` from IGN BD TOPO road sections (``TRONCON_DE_ROUTE``, version 3).

    The sections a car can drive are kept (not of nature Sentier, Chemin, Escalier, Piste
    cyclable or a ferry; ``ACCES_VEHICULE_LEGER`` not Physiquement impossible nor Restreint
    aux ayants droit; ``SENS_DE_CIRCULATION`` not Sans objet), each an edge per direction it
    is driven (Double sens: both, Sens direct: as drawn, Sens inverse: against); their ends
    are the graph's nodes (joined at :data:`BDTOPO_NODE_M`); the speed is the section's
    ``VITESSE_MOYENNE_VL`` (average light-vehicle speed), else its category's default.
    """
    path = _one(paths)
    frame = read_vector(path, layer=options.layer, crs=options.crs)
    frame.columns = [c if c == frame.geometry.name else str(c).lower() for c in frame.columns]
    missing = [c for c in ("nature", "sens_de_circulation") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected BD TOPO road sections "
            f"(TRONCON_DE_ROUTE: NATURE, SENS_DE_CIRCULATION...); found: "
            f"{', '.join(map(str, frame.columns))}"
        )
    frame = frame.to_crs(CANONICAL_CRS)
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_NETWORK, rows_read=len(frame))

    def lower(column: str) -> pd.Series:
        if column not in frame.columns:
            return pd.Series("", index=frame.index, dtype="string")
        return frame[column].astype("string").str.strip().str.lower().fillna("")

    nature, sens, access = (
        lower("nature"),
        lower("sens_de_circulation"),
        lower("acces_vehicule_leger"),
    )
    lines = np.asarray(shapely.force_2d(np.asarray(frame.geometry.values, dtype=object)))
    not_lines = ~np.isin(shapely.get_type_id(lines), [1])
    road = ~nature.isin(BDTOPO_NOT_DRIVABLE).to_numpy(bool)
    report.skip("sections a car cannot drive (NATURE Sentier, Chemin, Escalier...)", _rows(~road))
    open_ = (
        road & ~access.isin(BDTOPO_NO_ACCESS).to_numpy(bool) & ~sens.eq("sans objet").to_numpy(bool)
    )
    report.skip(
        "sections closed to cars (ACCES_VEHICULE_LEGER, SENS_DE_CIRCULATION Sans objet)",
        _rows(road & ~open_),
    )
    report.skip("sections without a single line geometry", _rows(open_ & not_lines))
    keep = open_ & ~not_lines
    forward = keep & ~sens.eq("sens inverse").to_numpy(bool)
    backward = keep & ~sens.eq("sens direct").to_numpy(bool)
    coords, owner = shapely.get_coordinates(lines[keep], return_index=True)
    last = np.r_[np.flatnonzero(np.diff(owner)), len(owner) - 1]
    first = np.r_[0, last[:-1] + 1]
    ends = np.round(np.concatenate([coords[first], coords[last]]) / BDTOPO_NODE_M).astype(np.int64)
    node_ids = pd.factorize(pd.MultiIndex.from_arrays([ends[:, 0], ends[:, 1]]))[0]
    n_kept = int(keep.sum())
    start_node = np.full(len(frame), -1)
    end_node = np.full(len(frame), -1)
    start_node[keep], end_node[keep] = node_ids[:n_kept], node_ids[n_kept:]
    ids = frame["cleabs"].astype("string") if "cleabs" in frame.columns else None
    ident = pd.Series(np.arange(1, len(frame) + 1).astype(str), index=frame.index)
    ident = ids.fillna(ident) if ids is not None else ident
    speed = pd.to_numeric(frame.get("vitesse_moyenne_vl"), errors="coerce")
    speed = speed.where(speed > 0) if speed is not None else None
    highway = nature.map(BDTOPO_HIGHWAY).fillna(lower("importance").map(BDTOPO_IMPORTANCE_HIGHWAY))
    name = frame["nom_collaboratif_gauche"] if "nom_collaboratif_gauche" in frame.columns else None
    parts = []
    for chosen, reverse in ((forward, False), (backward, True)):
        u, v = (end_node, start_node) if reverse else (start_node, end_node)
        part = pd.DataFrame(
            {
                "edge_id": ("bdtopo:" + ident + (":inverse" if reverse else ""))[chosen],
                "from_node": ("n" + pd.Series(u, index=frame.index).astype(str))[chosen],
                "to_node": ("n" + pd.Series(v, index=frame.index).astype(str))[chosen],
                "length_m": None,
                "maxspeed_kmh": speed[chosen] if speed is not None else None,
                "highway": highway[chosen],
                "name": name[chosen] if name is not None else None,
            }
        )
        geoms = lines[chosen]
        parts.append((part, shapely.reverse(geoms) if reverse else geoms))
    edges = pd.concat([p for p, _ in parts], ignore_index=True)
    geometry = np.concatenate([g for _, g in parts])
    return canonical_layer(LayerKind.ROAD_NETWORK, edges, geometry, CANONICAL_CRS, report)


def _rows(mask: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def junction_row(osm_id: object, tags: Mapping[str, str]) -> dict[str, object]:
    """The ``road_access`` row of a ``highway=motorway_junction`` node: named by ``name``,
    else ``destination``, ``exit_to`` or ``ref``."""
    label = next(
        (tags[k] for k in ("name", "destination", "exit_to", "ref") if tags.get(k)),
        "Sortie d'autoroute",
    )
    return {
        "access_id": f"osm:node/{osm_id}",
        "name": label,
        "road": tags.get("ref") or None,
        "kind": "junction",
    }


def _one(paths: Sequence[Path]) -> Path:
    if len(paths) != 1:
        raise ParameterError("FILE", f"a road network is read from one file; got {len(paths)}")
    return Path(paths[0])


def _open(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], io.BufferedReader(BoundedGzip(path)))  # bombs stopped
    return path.open("rb")


def _elements(path: Path, tags: tuple[str, ...]) -> Iterator[ET.Element]:
    """The complete elements of ``path`` whose local name is in ``tags``, as they end."""
    with _open(path) as stream:
        for _, element in ET.iterparse(stream, events=("end",)):
            if _local(element.tag) in tags:
                yield element


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _graphml_line(
    row: dict[str, object], nodes: dict[str, tuple[float, float]]
) -> shapely.LineString:
    wkt = row.get("geometry")
    if isinstance(wkt, str) and wkt.startswith("LINESTRING"):
        line = shapely.from_wkt(wkt)
        if isinstance(line, shapely.LineString) and not line.is_empty:
            return line
    return shapely.LineString([nodes[str(row["u"])], nodes[str(row["v"])]])


def _both_ways(
    frame: pd.DataFrame, geometry: list[shapely.LineString]
) -> tuple[pd.DataFrame, list[shapely.LineString]]:
    back = frame.rename(columns={"from_node": "to_node", "to_node": "from_node"})[frame.columns]
    return (
        pd.concat([frame, back], ignore_index=True),
        [*geometry, *(line.reverse() for line in geometry)],
    )


def _is_graphml(s: Sniff) -> bool:
    return s.suffix == ".graphml"


def _is_bdtopo_sections(s: Sniff) -> bool:
    vector = s.suffix in (".gpkg", ".shp", ".geojson", ".json", ".zip")
    return vector and s.has("nature", "sens_de_circulation")


#: File names of OpenStreetMap XML extracts (plain or gzipped).
OSM_XML_SUFFIXES: Final = (".osm", ".osm.gz")


def _is_osm_xml(s: Sniff) -> bool:
    return s.path.name.lower().endswith(OSM_XML_SUFFIXES)


for _fmt in (
    ImportFormat(
        name="osmnx-graphml",
        layer="road_network",
        description="A road graph as OSMnx saves it (GraphML: nodes x/y, edges length, "
        "maxspeed, highway, name, geometry)",
        read=read_graphml,
        detect=lambda sniffs: len(sniffs) == 1 and _is_graphml(sniffs[0]),
    ),
    ImportFormat(
        name="osm-xml",
        layer="road_network",
        description="An OpenStreetMap XML extract (.osm or .osm.gz, complete ways): the "
        "drivable graph as OSMnx builds it (drive filter, oneway, simplified)",
        read=read_osm_xml,
        detect=lambda sniffs: len(sniffs) == 1 and _is_osm_xml(sniffs[0]),
    ),
    ImportFormat(
        name="ign-bdtopo-troncons",
        layer="road_network",
        description="IGN BD TOPO road sections (TRONCON_DE_ROUTE: NATURE, SENS_DE_CIRCULATION, "
        "VITESSE_MOYENNE_VL): the drivable sections, an edge per driven direction",
        read=read_bdtopo_sections,
        detect=lambda sniffs: len(sniffs) == 1 and _is_bdtopo_sections(sniffs[0]),
    ),
    ImportFormat(
        name="osm-xml-junctions",
        layer="road_access",
        description="An OpenStreetMap XML extract (.osm or .osm.gz): its "
        "highway=motorway_junction nodes (motorway exits)",
        read=read_osm_xml_junctions,
        detect=lambda sniffs: len(sniffs) == 1 and _is_osm_xml(sniffs[0]),
    ),
):
    register(_fmt)
