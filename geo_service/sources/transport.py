"""Transport point files: railway stations, motorway interchanges, airports.

- ``rail_stations``: SNCF Réseau's ``liste-des-gares.csv`` (``;``, one row per station and
  line, ``CODE_UIC``, ``VOYAGEURS`` O/N, ``X_L93``/``Y_L93`` and ``X_WGS84``/``Y_WGS84``):
  the rows of one UIC code are folded into one station, open to passengers when any row
  says so; SNCF Gares & Connexions' ``gares-de-voyageurs`` GeoJSON (``nom``, ``codes_uic``,
  ``codeinsee``), all passenger stations.
- ``road_access``: DGITM's toll gates of the conceded motorways (``gares-peage-*.csv``:
  ``;``, comma decimals, Lambert-93 ``x``/``y``, ``typeGare`` Ech/Bpv): the gates of type
  *Echangeur* (interchange) are kept, *Pleine voie* (gates across the motorway) left out and
  reported; OpenStreetMap GeoJSON of ``highway=motorway_junction`` nodes (exits) or
  ``highway=motorway_link`` ways (slip roads, taken at their first point, where they leave
  the carriageway); IGN BD TOPO road sections of nature *Bretelle* (at their first point).
- ``hubs``: OpenFlights ``airports.dat`` (no header) or the same columns as CSV: ``airport``
  when the airport has an IATA code (scheduled flights), ``aerodrome`` otherwise, ``port``
  for ferry ports; railway ``station`` rows and points outside metropolitan France are left
  out and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import shapely

from geo_service.errors import InputError, ParameterError
from geo_service.model import CANONICAL_CRS, LayerKind, in_france
from geo_service.sources.csvfile import read_csv_table
from geo_service.sources.feature_bound import check_file_lines
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, register
from geo_service.sources.points import check_in_france, parse_coordinates, to_lonlat
from geo_service.sources.tabular import parse_dates, refuse_rows, row_numbers
from geo_service.sources.vector import read_vector
from geo_service.validation import LayerReport, validate_layer

WGS84: Final = "EPSG:4326"
#: Columns of OpenFlights' ``airports.dat``, which has no header line.
OPENFLIGHTS_COLUMNS: Final = (
    "airport_id",
    "name",
    "city",
    "country",
    "iata",
    "icao",
    "latitude",
    "longitude",
    "altitude_ft",
    "timezone_offset",
    "dst",
    "tz",
    "type",
    "source",
)
_GARES: Final = ("code_uic", "libelle", "voyageurs")
_PEAGE: Final = ("typegare", "nomgare", "x", "y")
_OPENFLIGHTS: Final = ("iata", "icao", "latitude", "longitude")
#: OpenFlights' marker of a missing value.
_NULL: Final = "\\N"


def _one(paths: Sequence[Path], what: str) -> Path:
    if len(paths) != 1:
        raise ParameterError("FILE", f"a {what} import takes one file; got {len(paths)}")
    return Path(paths[0])


def _lower(table: pd.DataFrame) -> pd.DataFrame:
    table.columns = [str(c).strip().lower() for c in table.columns]
    return table


def _require(table: pd.DataFrame, path: Path, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; expected {what}; "
            f"found: {', '.join(map(str, table.columns))}"
        )
    if len(table) == 0:
        raise InputError(f"{path}: the file has no rows; expected {what}")


def _csv_table(
    paths: Sequence[Path], what: str, columns: tuple[str, ...], expected: str, kind: LayerKind
) -> tuple[Path, pd.DataFrame, LayerReport]:
    """The one CSV file of ``paths``, its table (lower-case columns, ``columns`` required) and
    the report of its import as ``kind``."""
    path = _one(paths, what)
    table = _lower(read_csv_table(path))
    _require(table, path, columns, expected)
    return path, table, LayerReport(source=str(path), kind=kind, rows_read=len(table))


def _xy(
    table: pd.DataFrame, path: Path, columns: tuple[str, str], expected: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x, bad_x = parse_coordinates(pa.array(table[columns[0]].astype(object), pa.string()))
    y, bad_y = parse_coordinates(pa.array(table[columns[1]].astype(object), pa.string()))
    refuse_rows(path, "/".join(columns), bad_x | bad_y, "values that are not numbers", expected)
    return x, y


def _text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.where(text.notna() & (text != "") & (text != _NULL))


def canonical_layer(
    kind: LayerKind, frame: pd.DataFrame, geometry: object, crs: str, report: LayerReport
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The canonical ``kind`` layer of ``frame`` and ``geometry`` (in ``crs``), validated, with
    the validation's counts and warnings added to ``report``."""
    layer = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=geometry, crs=crs)
    out, checked = validate_layer(kind, layer, report.source)
    report.rows_kept = checked.rows_kept
    report.repaired += checked.repaired
    report.warnings.extend(checked.warnings)
    return out, report


def _in_france(
    points: npt.NDArray[np.object_], crs: object, given: npt.NDArray[np.bool_], report: LayerReport
) -> npt.NDArray[np.bool_]:
    """Which ``points`` lie in metropolitan France; the ``given`` ones outside are reported
    as skipped (national lists hold overseas and foreign points)."""
    lon, lat = to_lonlat(shapely.get_x(points), shapely.get_y(points), str(crs))
    inside = np.asarray(in_france(lon, lat), dtype=bool)
    report.skip("outside metropolitan France", row_numbers(given & ~inside))
    return inside


# -- rail stations ----------------------------------------------------------------------------


def read_sncf_station_list(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``rail_stations`` from SNCF Réseau's ``liste-des-gares.csv`` (see the module docstring)."""
    path, table, report = _csv_table(
        paths,
        "station list",
        _GARES,
        "SNCF Réseau's station list (CODE_UIC;LIBELLE;VOYAGEURS;...)",
        LayerKind.RAIL_STATIONS,
    )
    if {"x_l93", "y_l93"} <= set(table.columns):
        x, y = _xy(table, path, ("x_l93", "y_l93"), "Lambert-93 metres")
        crs = CANONICAL_CRS
    else:
        _require(table, path, ("x_wgs84", "y_wgs84"), "X_L93/Y_L93 or X_WGS84/Y_WGS84")
        x, y = _xy(table, path, ("x_wgs84", "y_wgs84"), "WGS84 degrees")
        crs = WGS84
    check_in_france(x, y, crs, source=str(path), columns=("X", "Y"))
    no_xy = ~(np.isfinite(x) & np.isfinite(y))
    report.skip("no coordinates", row_numbers(no_xy))
    uic = _text(table["code_uic"])
    refuse_rows(path, "CODE_UIC", uic.isna().to_numpy(bool) & ~no_xy, "empty codes", "a UIC code")
    passengers = table["voyageurs"].astype("string").str.strip().str.upper().eq("O")
    rows = pd.DataFrame(
        {
            "station_id": uic,
            "name": _text(table["libelle"]),
            "uic": uic,
            "passengers": passengers.fillna(False).astype(bool),
            "x": x,
            "y": y,
        }
    )[~no_xy]
    stations = rows.groupby("station_id", sort=False).agg(
        name=("name", "first"),
        uic=("uic", "first"),
        passengers=("passengers", "any"),
        x=("x", "first"),
        y=("y", "first"),
    )
    if len(stations) < len(rows):
        report.warnings.append(
            f"{path.name}: {len(rows)} rows (a station once per line) folded into "
            f"{len(stations)} stations by CODE_UIC"
        )
    stations = stations.reset_index()
    stations["commune_insee"] = None
    geometry = shapely.points(stations.pop("x").to_numpy(), stations.pop("y").to_numpy())
    return canonical_layer(LayerKind.RAIL_STATIONS, stations, geometry, crs, report)


def read_passenger_stations(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``rail_stations`` from SNCF Gares & Connexions' ``gares-de-voyageurs`` GeoJSON."""
    path = _one(paths, "passenger stations")
    frame = _lower(read_vector(path, layer=options.layer, crs=options.crs))
    frame = frame.rename_geometry("geometry") if frame.geometry.name != "geometry" else frame
    _require(frame, path, ("nom", "codes_uic"), "the passenger stations' nom and codes_uic")
    report = LayerReport(source=str(path), kind=LayerKind.RAIL_STATIONS, rows_read=len(frame))
    uic = _text(frame["codes_uic"]).str.split(r"\s*;\s*").str[0]
    ids = uic.fillna(_text(frame["id"]) if "id" in frame.columns else uic)
    out = pd.DataFrame(
        {
            "station_id": ids,
            "name": _text(frame["nom"]),
            "uic": uic,
            "passengers": True,
            "commune_insee": _text(frame["codeinsee"]) if "codeinsee" in frame.columns else None,
        }
    )
    return canonical_layer(LayerKind.RAIL_STATIONS, out, frame.geometry.values, frame.crs, report)


# -- motorway access --------------------------------------------------------------------------


def read_toll_gates(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_access`` from DGITM's toll gates (interchange gates only)."""
    path, table, report = _csv_table(
        paths,
        "toll gates",
        _PEAGE,
        "DGITM's toll gates (route;pr;...;x;y;...;nomGare;typeGare)",
        LayerKind.ROAD_ACCESS,
    )
    x, y = _xy(table, path, ("x", "y"), "Lambert-93 metres (decimal commas accepted)")
    check_in_france(x, y, CANONICAL_CRS, source=str(path), columns=("x", "y"))
    kind = table["typegare"].astype("string").str.strip().str.lower()
    label = table.get("typegare_lib", kind).astype("string").str.strip().str.lower()
    interchange = (kind.isin(["ech", "echangeur"]) | label.eq("echangeur")).fillna(False)
    interchange = interchange.to_numpy(bool)
    report.skip("toll gates across the motorway (typeGare Pleine voie)", row_numbers(~interchange))
    no_xy = interchange & ~(np.isfinite(x) & np.isfinite(y))
    report.skip("no coordinates", row_numbers(no_xy))
    keep = interchange & ~no_xy
    road = _text(table["route"]) if "route" in table.columns else pd.Series(None, index=table.index)
    parts = [road.fillna("")]
    parts += [table[c].astype("string").str.strip().fillna("") for c in ("pr", "cote", "abs")]
    parts.append(pd.Series(np.arange(1, len(table) + 1).astype(str), index=table.index))
    ids = parts[0].str.cat(parts[1:], sep=":") if "route" in table.columns else parts[-1]
    out = pd.DataFrame(
        {
            "access_id": "dgitm:" + ids,
            "name": _text(table["nomgare"]),
            "road": road,
            "kind": "interchange",
        }
    )[keep]
    if "datereferentiel" in table.columns:
        dates, _ = parse_dates(table["datereferentiel"])
        if dates.notna().any():
            report.data_date = dates.max()
    geometry = shapely.points(x[keep], y[keep])
    return canonical_layer(LayerKind.ROAD_ACCESS, out, geometry, CANONICAL_CRS, report)


def read_osm_motorway_access(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_access`` from OpenStreetMap motorway junctions (points) and motorway links
    (lines, taken at their first point)."""
    path = _one(paths, "OpenStreetMap motorway access")
    frame = _lower(read_vector(path, layer=options.layer, crs=options.crs))
    frame = frame.rename_geometry("geometry") if frame.geometry.name != "geometry" else frame
    _require(frame, path, ("highway",), "OpenStreetMap features with their highway tag")
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_ACCESS, rows_read=len(frame))
    highway = frame["highway"].astype("string").str.strip().str.lower()
    junction = highway.eq("motorway_junction").fillna(False).to_numpy(bool)
    link = highway.eq("motorway_link").fillna(False).to_numpy(bool)
    report.skip("not a motorway junction or link", row_numbers(~(junction | link)))
    points = _start_points(np.asarray(frame.geometry.values, dtype=object))
    no_point = (junction | link) & shapely.is_missing(points)
    report.skip("no point or line geometry", row_numbers(no_point))
    keep = (junction | link) & ~no_point
    keep &= _in_france(points, frame.crs, keep, report)
    name = pd.Series(None, index=frame.index, dtype="string")
    for column in ("name", "destination", "exit_to", "ref"):
        if column in frame.columns:
            name = name.fillna(_text(frame[column]))
    osm_id = next((c for c in ("@id", "id", "osm_id") if c in frame.columns), None)
    numbers = pd.Series(np.arange(1, len(frame) + 1).astype(str), index=frame.index)
    ids = _text(frame[osm_id]).fillna(numbers) if osm_id else numbers
    out = pd.DataFrame(
        {
            "access_id": "osm:" + ids,
            "name": name.fillna("Sortie d'autoroute"),
            "road": _text(frame["ref"]) if "ref" in frame.columns else None,
            "kind": np.where(junction, "junction", "motorway_link"),
        }
    )[keep]
    return canonical_layer(LayerKind.ROAD_ACCESS, out, points[keep], frame.crs, report)


def _start_points(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Points as they are, lines (and multi-lines) at their first point; None otherwise."""
    types = np.asarray(shapely.get_type_id(geoms))
    first = np.asarray(shapely.get_point(shapely.get_geometry(geoms, 0), 0), dtype=object)
    points = np.full(len(geoms), None, dtype=object)
    points[types == 0] = geoms[types == 0]
    lines = np.isin(types, [1, 5])  # LineString, MultiLineString: where the link starts
    points[lines] = first[lines]
    return shapely.force_2d(points)


def read_bdtopo_slip_roads(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``road_access`` from BD TOPO's road sections (``TRONCON_DE_ROUTE``): the sections of
    nature *Bretelle* (slip roads of interchanges, and accesses to service areas), taken at
    their first point; the road from ``CPX_NUMERO`` (BD TOPO 3) or ``NUMERO`` (2.x)."""
    path = _one(paths, "BD TOPO road sections")
    frame = _lower(read_vector(path, layer=options.layer, crs=options.crs))
    frame = frame.rename_geometry("geometry") if frame.geometry.name != "geometry" else frame
    _require(frame, path, ("nature",), "BD TOPO road sections (TRONCON_DE_ROUTE) with NATURE")
    report = LayerReport(source=str(path), kind=LayerKind.ROAD_ACCESS, rows_read=len(frame))
    nature = frame["nature"].astype("string").str.strip().str.lower()
    slip = nature.eq("bretelle").fillna(False).to_numpy(bool)
    report.skip(
        "road sections that are not slip roads (NATURE other than Bretelle)", row_numbers(~slip)
    )
    points = _start_points(np.asarray(frame.geometry.values, dtype=object))
    no_point = slip & shapely.is_missing(points)
    report.skip("slip roads without a line geometry", row_numbers(no_point))
    keep = slip & ~no_point
    column = {
        c: next((n for n in names if n in frame.columns), None) for c, names in _BDTOPO.items()
    }
    numbers = pd.Series(np.arange(1, len(frame) + 1).astype(str), index=frame.index)
    ids = _text(frame[column["id"]]).fillna(numbers) if column["id"] else numbers
    road = _text(frame[column["road"]]) if column["road"] else pd.Series(None, index=frame.index)
    name = _text(frame[column["name"]]) if column["name"] else pd.Series(None, index=frame.index)
    label = ("Bretelle " + road).where(road.notna())
    out = pd.DataFrame(
        {
            "access_id": "bdtopo:" + ids,
            "name": name.fillna(label).fillna("Bretelle"),
            "road": road,
            "kind": "motorway_link",
        }
    )[keep]
    return canonical_layer(LayerKind.ROAD_ACCESS, out, points[keep], frame.crs, report)


#: BD TOPO column names (version 3, then 2.x) of a road section's id, road number and name.
_BDTOPO: Final = {
    "id": ("cleabs", "id"),
    "road": ("cpx_numero", "numero"),
    "name": ("nom_collaboratif_gauche", "cpx_toponyme_route_nommee", "nom_1_gauche"),
}


# -- airports ---------------------------------------------------------------------------------


def read_openflights(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """``hubs`` from OpenFlights airports (see the module docstring)."""
    path = _one(paths, "airports")
    if path.suffix.lower() == ".dat":
        check_file_lines(path, header_lines=0)
        table = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
        if table.shape[1] != len(OPENFLIGHTS_COLUMNS):
            raise InputError(
                f"{path}: {table.shape[1]} columns; expected OpenFlights' "
                f"{len(OPENFLIGHTS_COLUMNS)} airport columns ({', '.join(OPENFLIGHTS_COLUMNS)})"
            )
        table.columns = list(OPENFLIGHTS_COLUMNS)
    else:
        table = _lower(read_csv_table(path))
    _require(table, path, (*_OPENFLIGHTS, "name"), "OpenFlights airports")
    report = LayerReport(source=str(path), kind=LayerKind.HUBS, rows_read=len(table))
    x, y = _xy(table, path, ("longitude", "latitude"), "WGS84 degrees")
    kind = table.get("type", pd.Series("", index=table.index)).astype("string").str.lower()
    station = kind.str.strip().eq("station").fillna(False).to_numpy(bool)
    report.skip("railway stations (type station)", row_numbers(station))
    where = np.asarray(shapely.points(x, y), dtype=object)
    keep = ~station & _in_france(where, WGS84, ~station, report)
    iata = _text(table["iata"])
    port = kind.str.strip().eq("port").fillna(False).to_numpy(bool)
    hub_kind = np.where(port, "port", np.where(iata.notna().to_numpy(bool), "airport", "aerodrome"))
    ids = _text(table["airport_id"]) if "airport_id" in table.columns else None
    numbers = pd.Series(np.arange(1, len(table) + 1).astype(str), index=table.index)
    out = pd.DataFrame(
        {
            "hub_id": "openflights:" + (numbers if ids is None else ids.fillna(numbers)),
            "name": _text(table["name"]),
            "kind": hub_kind,
            "iata": iata,
            "icao": _text(table["icao"]),
        }
    )[keep]
    return canonical_layer(LayerKind.HUBS, out, shapely.points(x[keep], y[keep]), WGS84, report)


# -- registration -----------------------------------------------------------------------------


def _single(test: Callable[[Sniff], bool]) -> Callable[[Sequence[Sniff]], bool]:
    return lambda sniffs: len(sniffs) == 1 and test(sniffs[0])


def _is_station_list(s: Sniff) -> bool:
    return s.suffix == ".csv" and s.has(*_GARES)


def _is_passenger_stations(s: Sniff) -> bool:
    return s.suffix in (".geojson", ".json", ".gpkg") and s.has("nom", "codes_uic")


def _is_toll_gates(s: Sniff) -> bool:
    return s.suffix == ".csv" and s.has(*_PEAGE)


def _is_osm_motorway(s: Sniff) -> bool:
    return s.suffix in (".geojson", ".json", ".gpkg") and s.has("highway")


def _claims_osm_motorway(s: Sniff) -> bool:
    """OSM exits: a highway tag with the exits' own tags, or a file named after them."""
    named = any(word in s.path.name.lower() for word in ("motorway", "junction", "exit"))
    own = s.has("destination") or s.has("junction:ref") or s.has("exit_to")
    return _is_osm_motorway(s) and (named or own)


def _is_bdtopo_roads(s: Sniff) -> bool:
    vector = s.suffix in (".gpkg", ".shp", ".geojson", ".json", ".zip")
    return vector and s.has("nature") and (s.has("cpx_numero") or s.has("numero"))


def _claims_bdtopo_roads(s: Sniff) -> bool:
    """BD TOPO road sections: NATURE with CPX_NUMERO, or with NUMERO and the sections' own
    columns or table name (NATURE and NUMERO alone are common words)."""
    named = any("troncon" in n.lower() for n in (s.path.stem, *s.layers))
    own = any(s.has(c) for c in ("importance", "nb_voies", "sens", "largeur"))
    return _is_bdtopo_roads(s) and (s.has("cpx_numero") or named or own)


def _is_openflights(s: Sniff) -> bool:
    dat = s.suffix == ".dat" and "airport" in s.path.name.lower()
    return dat or (s.suffix == ".csv" and s.has(*_OPENFLIGHTS))


for _fmt in (
    ImportFormat(
        name="sncf-liste-des-gares",
        layer="rail_stations",
        description="SNCF Réseau liste-des-gares.csv (CODE_UIC;LIBELLE;FRET;VOYAGEURS;...;"
        "X_L93;Y_L93;X_WGS84;Y_WGS84): one station per UIC code, passenger flag",
        read=read_sncf_station_list,
        detect=_single(_is_station_list),
    ),
    ImportFormat(
        name="sncf-gares-voyageurs",
        layer="rail_stations",
        description="SNCF Gares & Connexions gares-de-voyageurs GeoJSON (nom, codes_uic, "
        "codeinsee): passenger stations",
        read=read_passenger_stations,
        detect=_single(_is_passenger_stations),
    ),
    ImportFormat(
        name="dgitm-gares-peage",
        layer="road_access",
        description="DGITM toll gates of the conceded motorways (;, comma decimals, "
        "Lambert-93 x/y): the interchange gates (typeGare Echangeur)",
        read=read_toll_gates,
        detect=_single(_is_toll_gates),
    ),
    ImportFormat(
        name="osm-motorway-access",
        layer="road_access",
        description="OpenStreetMap GeoJSON of highway=motorway_junction nodes and/or "
        "highway=motorway_link ways (taken at their first point)",
        read=read_osm_motorway_access,
        detect=_single(_is_osm_motorway),
        claims=_single(_claims_osm_motorway),
    ),
    ImportFormat(
        name="ign-bdtopo-bretelles",
        layer="road_access",
        description="IGN BD TOPO road sections (TRONCON_DE_ROUTE: NATURE, CPX_NUMERO or "
        "NUMERO): the slip roads (NATURE Bretelle), at their first point",
        read=read_bdtopo_slip_roads,
        detect=_single(_is_bdtopo_roads),
        claims=_single(_claims_bdtopo_roads),
    ),
    ImportFormat(
        name="openflights-airports",
        layer="hubs",
        description="OpenFlights airports.dat (no header) or the same columns as CSV: "
        "airport (with an IATA code), aerodrome, port",
        read=read_openflights,
        detect=_single(_is_openflights),
    ),
):
    register(_fmt)
