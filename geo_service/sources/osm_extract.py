"""OpenStreetMap extracts read with pyosmium (libosmium): PBF files (``.osm.pbf``, e.g.
Geofabrik's regional extracts) and, for areas, XML files too.

- ``road_network`` from a PBF extract: the drivable graph as OSMnx builds it, exactly as from
  an XML extract (:func:`geo_service.sources.roads.osm_road_layer`);
- ``road_access`` from a PBF extract: its ``highway=motorway_junction`` nodes (motorway exits);
- ``hubs`` from an XML or PBF extract: its ``aeroway=aerodrome`` nodes and areas (closed ways
  and multipolygon relations, taken at their centroid): ``airport`` when tagged with an IATA
  code, ``aerodrome`` otherwise.

Node locations are kept by libosmium while the file is read once (``with_locations``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import shapely

from geo_service.errors import InputError, ParameterError
from geo_service.model import LayerKind
from geo_service.sources.archive import BoundedGzip
from geo_service.sources.feature_bound import check_streamed
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, register
from geo_service.sources.osm_graph import Way, is_drivable
from geo_service.sources.roads import OSM_XML_SUFFIXES, junction_row, osm_road_layer
from geo_service.sources.transport import canonical_layer
from geo_service.validation import LayerReport

WGS84: Final = "EPSG:4326"
PBF_SUFFIXES: Final = (".osm.pbf", ".pbf")
_COPY_BLOCK: Final = 1 << 20


def _one(paths: Sequence[Path]) -> Path:
    if len(paths) != 1:
        raise ParameterError("FILE", f"an OpenStreetMap extract is one file; got {len(paths)}")
    path = Path(paths[0])
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    return path


def _objects(path: Path, *, areas: bool = False, key: str | None = None) -> Iterator[Any]:
    """The OSM objects of ``path`` (with node locations; with areas when asked; only those
    tagged ``key`` when given), libosmium's errors as one-line input errors."""
    import osmium  # only for OSM extracts (a C++ extension)

    if path.name.lower().endswith(".gz"):
        # libosmium would inflate it unchecked: expand it through the bomb check first
        with tempfile.TemporaryDirectory(prefix="geo-service-osm-") as folder:
            expanded = Path(folder) / path.name[: -len(".gz")]
            with BoundedGzip(path) as stream, expanded.open("wb") as out:
                shutil.copyfileobj(stream, out, _COPY_BLOCK)
            yield from _objects(expanded, areas=areas, key=key)
        return
    processor = osmium.FileProcessor(str(path)).with_locations()
    if areas:
        processor = processor.with_areas()
    if key is not None:
        processor = processor.with_filter(osmium.filter.KeyFilter(key))
    try:
        yield from processor
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise InputError(
            f"{path}: not a readable OpenStreetMap extract ({exc}); expected an .osm.pbf or "
            ".osm file"
        ) from exc


def read_osm_pbf(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_network`` from an OSM PBF extract (see the module docstring)."""
    path = _one(paths)
    coordinates: dict[int, tuple[float, float]] = {}
    ways: list[Way] = []
    read = 0
    for obj in _objects(path, key="highway"):
        if not obj.is_way():
            continue
        read += 1
        tags = {t.k: t.v for t in obj.tags}
        if not is_drivable(tags):
            continue
        refs = []
        for node in obj.nodes:
            refs.append(node.ref)
            if node.location.valid():
                coordinates[node.ref] = (node.location.lon, node.location.lat)
        ways.append(Way(obj.id, refs, tags))
        check_streamed(path, len(ways))
    return osm_road_layer(path, ways, coordinates, read)


def read_osm_pbf_junctions(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_access`` from an OSM PBF extract: its ``highway=motorway_junction`` nodes."""
    path = _one(paths)
    rows: list[dict[str, object]] = []
    points: list[shapely.Point] = []
    read = 0
    for obj in _objects(path, key="highway"):
        if not obj.is_node():
            continue
        read += 1
        tags = {t.k: t.v for t in obj.tags}
        if tags.get("highway") == "motorway_junction":
            rows.append(junction_row(obj.id, tags))
            points.append(shapely.Point(obj.location.lon, obj.location.lat))
            check_streamed(path, len(points))
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_ACCESS, rows_read=read)
    if not rows:
        raise InputError(f"{path}: no highway=motorway_junction node; expected motorway exits")
    report.warnings.append(
        f"{path.name}: {len(rows):,} motorway exits among {read:,} nodes with a highway tag"
    )
    return canonical_layer(LayerKind.ROAD_ACCESS, pd.DataFrame(rows), points, WGS84, report)


def read_osm_aerodromes(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``hubs`` from an OSM extract's ``aeroway=aerodrome`` nodes and areas."""
    import osmium

    path = _one(paths)
    wkb = osmium.geom.WKBFactory()
    rows: list[dict[str, object]] = []
    points: list[shapely.Point] = []
    read = 0
    for obj in _objects(path, areas=True, key="aeroway"):
        if obj.is_node():
            where = shapely.Point(obj.location.lon, obj.location.lat)
            osm_id = f"node/{obj.id}"
        elif obj.is_area():
            where = shapely.from_wkb(wkb.create_multipolygon(obj)).centroid
            osm_id = f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
        else:
            continue  # the closed ways and relations come again as areas
        read += 1
        tags = {t.k: t.v for t in obj.tags}
        if tags.get("aeroway") != "aerodrome":
            continue
        iata = tags.get("iata") or None
        rows.append(
            {
                "hub_id": f"osm:{osm_id}",
                "name": tags.get("name") or tags.get("icao") or "Aérodrome",
                "kind": "airport" if iata else "aerodrome",
                "iata": iata,
                "icao": tags.get("icao") or None,
            }
        )
        points.append(where)
        check_streamed(path, len(points))
    report = LayerReport(source=str(path), kind=LayerKind.HUBS, rows_read=read)
    if not rows:
        raise InputError(f"{path}: no aeroway=aerodrome node or area; expected airports")
    report.warnings.append(
        f"{path.name}: {len(rows):,} aerodromes among {read:,} aeroway features (runways, "
        "aprons… left out)"
    )
    return canonical_layer(LayerKind.HUBS, pd.DataFrame(rows), points, WGS84, report)


def _is_pbf(s: Sniff) -> bool:
    return s.path.name.lower().endswith(PBF_SUFFIXES)


def _is_extract(s: Sniff) -> bool:
    return _is_pbf(s) or s.path.name.lower().endswith(OSM_XML_SUFFIXES)


for _fmt in (
    ImportFormat(
        name="osm-pbf",
        layer="road_network",
        description="An OpenStreetMap PBF extract (.osm.pbf, e.g. Geofabrik's): the drivable "
        "graph as OSMnx builds it (drive filter, oneway, simplified)",
        read=read_osm_pbf,
        detect=lambda sniffs: len(sniffs) == 1 and _is_pbf(sniffs[0]),
    ),
    ImportFormat(
        name="osm-pbf-junctions",
        layer="road_access",
        description="An OpenStreetMap PBF extract (.osm.pbf): its highway=motorway_junction "
        "nodes (motorway exits)",
        read=read_osm_pbf_junctions,
        detect=lambda sniffs: len(sniffs) == 1 and _is_pbf(sniffs[0]),
    ),
    ImportFormat(
        name="osm-aerodromes",
        layer="hubs",
        description="An OpenStreetMap extract (.osm.pbf, .osm, .osm.gz): its aeroway=aerodrome "
        "nodes and areas (at their centroid); airport with an IATA code, aerodrome otherwise",
        read=read_osm_aerodromes,
        detect=lambda sniffs: len(sniffs) == 1 and _is_extract(sniffs[0]),
    ),
):
    register(_fmt)
