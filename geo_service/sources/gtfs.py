"""GTFS feeds (zip or folder) -> the ``transit_stops`` layer, and their rail stops ->
``rail_stations``.

A feed is read with gtfs-kit. Stop points (``location_type`` 0 or empty) are folded into
their parent station when they have one: the layer holds one row per station or lone stop,
at the station's position, with

- ``modes``: the modes of the routes calling there, from ``route_type`` (basic types 0-12
  and the extended types 100-1700, :func:`route_mode`); in an SNCF feed (an agency named
  SNCF) the bus routes are coaches (the TER's cars);
- ``peak_departures``: departures between :data:`PEAK_START` and :data:`PEAK_END` on the
  feed's **representative weekday**, the Monday-to-Friday date of the feed with the most
  active trips (gtfs-kit's busiest date among the weekdays), service days taken from
  ``calendar.txt`` and/or ``calendar_dates.txt``. A departure is a stop time of an active
  trip, at or after 07:00:00 and before 09:00:00 (times of the service day, as written),
  that is not the last stop of its trip and allows boarding (``pickup_type`` not 1). A feed
  with neither calendar file says nothing of its days: its departures are unknown (null,
  never 0) and the import report says so.

Stops that no trip calls at are left out (reported). Ids are prefixed by the feed's name
(its file or folder name) so that several feeds imported together, or appended, stay unique.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.errors import InputError, ParameterError, format_rows
from geo_service.model import LayerKind
from geo_service.sources.archive import check_zip
from geo_service.sources.feature_bound import check_file_lines, check_lines
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.validation import LayerReport, validate_layer

#: The morning peak, in seconds after the service day's midnight: [07:00, 09:00).
PEAK_START: Final = 7 * 3600
PEAK_END: Final = 9 * 3600
#: GTFS files a feed must hold.
REQUIRED_FILES: Final = ("stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
#: Basic GTFS route types and their mode.
_BASIC_MODES: Final[dict[int, str]] = {
    0: "tram",
    1: "metro",
    2: "train",
    3: "bus",
    4: "ferry",
    5: "tram",  # cable tram
    6: "cable",  # aerial lift
    7: "cable",  # funicular
    11: "bus",  # trolleybus
    12: "metro",  # monorail
}
#: Extended (Google "HVT") route types by hundred, and their mode.
_EXTENDED_MODES: Final[dict[int, str]] = {
    1: "train",  # 100-199 railway
    2: "coach",  # 200-299 coach
    4: "metro",  # 400-499 urban railway
    5: "metro",  # 500 metro
    6: "metro",  # 600 underground
    7: "bus",  # 700-799 bus
    8: "bus",  # 800 trolleybus
    9: "tram",  # 900-999 tram
    10: "ferry",  # 1000 water transport
    12: "ferry",  # 1200 ferry
    13: "cable",  # 1300 aerial lift
    14: "cable",  # 1400 funicular
}
_SNCF_UIC: Final = re.compile(r"OCE(?:[A-Za-z ]*-)?(\d{8})$")


def route_mode(route_type: int) -> str:
    """The mode of a GTFS ``route_type`` (``other`` for types no mode covers)."""
    if route_type in _BASIC_MODES:
        return _BASIC_MODES[route_type]
    return _EXTENDED_MODES.get(route_type // 100, "other") if route_type >= 100 else "other"


@dataclass(frozen=True)
class FeedStops:
    """The stops of one feed, folded into stations, with their service."""

    frame: pd.DataFrame
    #: The representative weekday, None when the feed has no service days.
    peak_date: date | None
    #: The feed's date (``feed_info.txt``'s ``feed_start_date``), None when it gives none.
    feed_date: date | None = None


def read_transit_stops(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The ``transit_stops`` layer of one or more GTFS feeds (see the module docstring)."""
    frame, report = _read_feeds(paths, LayerKind.TRANSIT_STOPS)
    return _validated(frame, report, LayerKind.TRANSIT_STOPS)


def read_rail_stations(
    paths: Sequence[Path], options: ImportOptions
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The ``rail_stations`` layer: the stations of GTFS feeds that trains call at
    (``route_type`` 2 or 100-199); SNCF stop ids give the UIC code."""
    stops, report = _read_feeds(paths, LayerKind.RAIL_STATIONS)
    train = stops["modes"].str.split(",").map(lambda modes: "train" in modes).to_numpy(bool)
    report.warnings.append(
        f"{report.source}: {int(train.sum())} of {len(stops)} stations have trains; "
        "the others are left out"
    )
    rail = stops[train]
    uic = rail["stop_id"].str.split(":", n=1).str[1].str.extract(_SNCF_UIC, expand=False)
    frame = gpd.GeoDataFrame(
        {
            "station_id": rail["stop_id"],
            "name": rail["name"],
            "uic": uic,
            "passengers": True,
        },
        geometry=rail.geometry,
        crs=rail.crs,
    )
    return _validated(frame, report, LayerKind.RAIL_STATIONS)


def _validated(
    frame: gpd.GeoDataFrame, report: LayerReport, kind: LayerKind
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    if len(frame) == 0:
        raise InputError(f"{report.source}: no {kind.value} in the feed(s)")
    out, checked = validate_layer(kind, frame, report.source)
    report.rows_kept = checked.rows_kept
    report.warnings.extend(checked.warnings)
    return out, report


def _read_feeds(paths: Sequence[Path], kind: LayerKind) -> tuple[gpd.GeoDataFrame, LayerReport]:
    if not paths:
        raise ParameterError("FILE", "a GTFS import takes at least one feed (zip or folder)")
    names = [_feed_name(Path(p)) for p in paths]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError(
            "FILE", f"several feeds are named {', '.join(repeated)}; expected distinct names"
        )
    report = LayerReport(source=", ".join(Path(p).name for p in paths), kind=kind)
    parts = []
    dates = []
    for path, name in zip(paths, names, strict=True):
        feed = _feed_stops(Path(path), name, report)
        parts.append(feed.frame)
        if feed.feed_date is not None:
            dates.append(feed.feed_date)
    # The layer is as recent as its most recent feed (several feeds: the latest date).
    report.data_date = max(dates, default=None)
    stops = pd.concat(parts, ignore_index=True)
    geometry = shapely.points(stops.pop("lon").to_numpy(float), stops.pop("lat").to_numpy(float))
    return gpd.GeoDataFrame(stops, geometry=geometry, crs="EPSG:4326"), report


def _feed_name(path: Path) -> str:
    name = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name) or "gtfs"


def _load(path: Path) -> object:
    import gtfs_kit

    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_file():
        check_zip(path)
    members = _members(path)
    missing = [f for f in REQUIRED_FILES if f not in members]
    if missing:
        raise InputError(
            f"{path}: not a GTFS feed: {', '.join(missing)} missing; expected a zip or folder "
            f"with {', '.join(REQUIRED_FILES)} (calendar.txt and/or calendar_dates.txt for "
            "the service days)"
        )
    _check_table_rows(path)
    try:
        return gtfs_kit.read_feed(path, dist_units="km")
    except Exception as exc:  # gtfs-kit raises many kinds on a malformed feed
        raise InputError(f"{path}: unreadable GTFS feed ({exc}); expected GTFS text files") from exc


def _check_table_rows(path: Path) -> None:
    """Refuse a feed one of whose tables (``stop_times.txt``...) has more rows than
    ``GEO_SERVICE_MAX_FEATURES``, from their line counts, before gtfs-kit reads them whole."""
    if path.is_dir():
        for table in sorted(path.glob("*.txt")):
            check_file_lines(table)
        return
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if member.filename.lower().endswith(".txt"):
                with archive.open(member) as handle:
                    check_lines(f"{path} ({member.filename})", handle)


def _members(path: Path) -> set[str]:
    if path.is_dir():
        return {p.name.lower() for p in path.iterdir()}
    from geo_service.sources.archive import zip_members

    return set(zip_members(path))


def _is_sncf(feed: object) -> bool:
    """Whether a feed is SNCF's (an agency named SNCF): its bus routes are coaches."""
    agency = getattr(feed, "agency", None)
    if agency is None or "agency_name" not in agency.columns:
        return False
    return bool(agency["agency_name"].astype(str).str.contains("SNCF", case=False).any())


def _table(feed: object, name: str, path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    table = getattr(feed, name)
    if table is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: {name}.txt lacks the column(s) {', '.join(missing)}; expected the GTFS "
            f"columns {', '.join(columns)}"
        )
    return pd.DataFrame(table)


def _feed_stops(path: Path, name: str, report: LayerReport) -> FeedStops:
    feed = _load(path)
    stops = _table(feed, "stops", path, ("stop_id", "stop_name", "stop_lat", "stop_lon"))
    routes = _table(feed, "routes", path, ("route_id", "route_type"))
    trips = _table(feed, "trips", path, ("route_id", "service_id", "trip_id"))
    times = _table(feed, "stop_times", path, ("trip_id", "stop_id", "stop_sequence"))
    report.rows_read += len(stops)
    duplicated = stops["stop_id"].duplicated(keep=False).to_numpy(bool)
    if duplicated.any():
        raise InputError(
            f"{path}: stops.txt repeats stop_id {stops['stop_id'][duplicated].iloc[0]!r} in "
            f"{format_rows([int(i) + 1 for i in np.flatnonzero(duplicated)])}; expected one "
            "row per stop"
        )
    place = _places(stops, path, report)
    served = times.merge(trips[["trip_id", "route_id"]], on="trip_id", how="inner")
    served = served.merge(routes[["route_id", "route_type"]], on="route_id", how="inner")
    served_place = served["stop_id"].map(place)
    mode = pd.to_numeric(served["route_type"], errors="coerce").fillna(-1).astype(int)
    mode = mode.map(route_mode)
    if _is_sncf(feed):
        mode = mode.replace("bus", "coach")  # SNCF's road services are its coaches (cars TER)
    modes = (
        pd.DataFrame({"place": served_place, "mode": mode})
        .dropna()
        .drop_duplicates()
        .groupby("place")["mode"]
        .agg(lambda m: ",".join(sorted(m)))
    )
    peak_date = _representative_weekday(feed)
    row_of = pd.Series(np.arange(1, len(stops) + 1), index=stops["stop_id"].to_numpy(object))
    places = stops.set_index("stop_id").loc[sorted(set(place.to_numpy()))]
    unserved = ~places.index.isin(modes.index)
    report.skip(
        f"stops of {path.name} (stops.txt) that no trip calls at",
        sorted(int(r) for r in row_of[places.index[unserved]]),
    )
    places = places[~unserved]
    if peak_date is None:
        departures = pd.Series(pd.NA, index=places.index, dtype="Int64")
        report.warnings.append(
            f"{path.name}: no calendar.txt nor calendar_dates.txt: the feed gives no service "
            "days, so the morning-peak departures of its stops are unknown (left empty)"
        )
    else:
        counted = _peak_departures(feed, times, peak_date).map(place).value_counts()
        departures = counted.reindex(places.index, fill_value=0).astype("Int64")
        report.warnings.append(
            f"{path.name}: morning-peak departures (07:00-09:00) counted on "
            f"{peak_date.isoformat()}, the weekday with the most trips"
        )
    frame = pd.DataFrame(
        {
            "stop_id": [f"{name}:{stop}" for stop in places.index],
            "name": places["stop_name"].to_numpy(dtype=object),
            "modes": modes.reindex(places.index).to_numpy(dtype=object),
            "peak_departures": departures.to_numpy(),
            "peak_date": None if peak_date is None else peak_date.isoformat(),
            "feed": name,
            "lon": pd.to_numeric(places["stop_lon"], errors="coerce").to_numpy(float),
            "lat": pd.to_numeric(places["stop_lat"], errors="coerce").to_numpy(float),
        }
    )
    return FeedStops(frame, peak_date, _feed_date(feed))


def _feed_date(feed: object) -> date | None:
    """``feed_start_date`` of ``feed_info.txt`` (YYYYMMDD), None when absent or unreadable."""
    info = getattr(feed, "feed_info", None)
    if info is None or "feed_start_date" not in info.columns or len(info) == 0:
        return None
    text = str(info["feed_start_date"].iloc[0]).strip()
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _places(stops: pd.DataFrame, path: Path, report: LayerReport) -> pd.Series:
    """The place (parent station, else the stop itself) of each stop point, by stop id."""
    kind = pd.to_numeric(stops.get("location_type"), errors="coerce")
    if not isinstance(kind, pd.Series):
        kind = pd.Series(0, index=stops.index)
    points = stops[(kind.fillna(0) == 0).to_numpy(bool)]
    parent = points.get("parent_station")
    ids = set(stops["stop_id"])
    if parent is None:
        parent = pd.Series(pd.NA, index=points.index)
    parent = parent.astype("string").str.strip()
    has_parent = (parent.notna() & parent.isin(ids)).to_numpy(bool)
    place = pd.Series(
        np.where(has_parent, parent.to_numpy(dtype=object), points["stop_id"].to_numpy(object)),
        index=points["stop_id"].to_numpy(object),
    )
    folded = int(has_parent.sum())
    if folded:
        report.warnings.append(
            f"{path.name}: {folded} stop points folded into their "
            f"{int(pd.Series(place[has_parent]).nunique())} parent stations"
        )
    return place


def _representative_weekday(feed: object) -> date | None:
    """The Monday-to-Friday date of the feed with the most active trips (the earliest of
    equals), None when the feed has no service days or no weekday."""
    dates = feed.get_dates()  # type: ignore[attr-defined]
    weekdays = [d for d in dates if date(int(d[:4]), int(d[4:6]), int(d[6:])).weekday() < 5]
    if not weekdays:
        return None
    busiest = str(feed.compute_busiest_date(weekdays))  # type: ignore[attr-defined]
    return date(int(busiest[:4]), int(busiest[4:6]), int(busiest[6:]))


def _peak_departures(feed: object, times: pd.DataFrame, day: date) -> pd.Series:
    """The stop ids of the morning-peak departures on ``day`` (one entry per departure)."""
    active = set(feed.get_active_services(day.strftime("%Y%m%d")))  # type: ignore[attr-defined]
    trips = feed.trips  # type: ignore[attr-defined]
    running = set(trips.loc[trips["service_id"].isin(active), "trip_id"])
    times = times[times["trip_id"].isin(running)]
    column = "departure_time" if "departure_time" in times.columns else "arrival_time"
    seconds = _seconds(times[column]) if column in times.columns else pd.Series(np.nan)
    sequence = pd.to_numeric(times["stop_sequence"], errors="coerce")
    last = sequence.eq(sequence.groupby(times["trip_id"]).transform("max"))
    pickup = pd.to_numeric(times.get("pickup_type", pd.Series(0, index=times.index)))
    boarding = pickup.fillna(0).ne(1)
    peak = seconds.ge(PEAK_START) & seconds.lt(PEAK_END) & ~last & boarding
    return pd.Series(times.loc[peak.to_numpy(bool), "stop_id"].to_numpy(object))


def _seconds(values: pd.Series) -> pd.Series:
    """Seconds after midnight of GTFS times ``H:MM:SS`` (hours may pass 24), NaN if empty."""
    parts = values.astype("string").str.strip().str.extract(r"^(\d{1,3}):(\d{2}):(\d{2})$")
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    return numbers[0] * 3600 + numbers[1] * 60 + numbers[2]


def _is_feed(s: Sniff) -> bool:
    return all(name in s.members for name in REQUIRED_FILES)


for _fmt in (
    ImportFormat(
        name="gtfs",
        layer="transit_stops",
        description="GTFS feeds (zip or folder): stops folded into stations, modes from "
        "route_type, morning-peak departures (07:00-09:00) on the representative weekday",
        read=read_transit_stops,
        detect=all_files(_is_feed),
        files="FEED...",
    ),
    ImportFormat(
        name="gtfs-rail",
        layer="rail_stations",
        description="The stations of GTFS feeds (zip or folder) that trains call at "
        "(route_type 2 or 100-199)",
        read=read_rail_stations,
        detect=all_files(_is_feed),
        files="FEED...",
    ),
):
    register(_fmt)
