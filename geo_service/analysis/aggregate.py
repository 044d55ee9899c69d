"""Zone results summed per commune and per EPCI, and premises coverage on an H3 grid."""

from __future__ import annotations

import math
from typing import Final

import geopandas as gpd
import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from h3ronpy.vector import coordinates_to_cells
from pyproj import Transformer

from geo_service.analysis.fields import COMMUNE_FIELDS, Aggregation, ResultField
from geo_service.model import CANONICAL_CRS, OUTPUT_CRS, THD30, ZoneStatus, class_rank

#: The commune and EPCI fields computed from the zone results (the same for both).
_AGGREGATES: Final = tuple(f for f in COMMUNE_FIELDS if f.aggregation != Aggregation.NONE)


def commune_summary(
    zone_results: pd.DataFrame, communes: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """One row per commune: its zones by status, summed figures and locaux-weighted shares.

    Every commune of ``communes`` appears (with zero zones if it has none); without a
    communes layer, the communes named by the zones' ``commune_insee`` appear, without geometry.
    """
    summary = _summarise(zone_results, "commune_insee")
    if communes is None:
        frame = summary.rename_axis("commune_insee").reset_index()
        frame.insert(1, "name", None)
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=CANONICAL_CRS)
    base = communes.reindex(
        columns=["commune_insee", "name", "epci_siren", "population", "geometry"]
    )
    merged = base.merge(summary, left_on="commune_insee", right_index=True, how="left")
    return _fill_empty(gpd.GeoDataFrame(merged, geometry="geometry", crs=CANONICAL_CRS))


def epci_summary(zone_results: pd.DataFrame, communes: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One row per EPCI (intercommunality) with the same figures as :func:`commune_summary`."""
    summary = _summarise(zone_results, "epci_siren")
    if communes is None or communes["epci_siren"].isna().all():
        frame = summary.rename_axis("epci_siren").reset_index()
        frame.insert(1, "name", None)
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=CANONICAL_CRS)
    communes = communes if "epci_name" in communes.columns else communes.assign(epci_name=None)
    grouped = communes.dropna(subset=["epci_siren"]).dissolve(
        by="epci_siren",
        aggfunc={"epci_name": "first", "commune_insee": "count", "population": "sum"},
    )
    grouped = grouped.rename(columns={"epci_name": "name", "commune_insee": "communes"})
    merged = grouped.merge(summary, left_index=True, right_index=True, how="left")
    merged = merged.rename_axis("epci_siren").reset_index()
    return _fill_empty(gpd.GeoDataFrame(merged, geometry="geometry", crs=CANONICAL_CRS))


def status_counts(zone_results: pd.DataFrame) -> dict[str, int]:
    """Zones of each status (every status, in :class:`ZoneStatus` order, 0 when none)."""
    counts = zone_results["status"].value_counts()
    return {s.value: int(counts.get(s.value, 0)) for s in ZoneStatus}


def locaux_share(zone_results: pd.DataFrame, column: str) -> float | None:
    """The locaux-weighted mean of zone share ``column`` over the zones where it is known, as
    the commune and EPCI results have it; None when no zone with locaux has it."""
    key = pd.Series(0, index=zone_results.index)
    weight = zone_results["locaux"].astype(float)
    share = _weighted(zone_results[column], key, weight)
    found = float(share.iloc[0]) if len(share) else math.nan
    return None if math.isnan(found) else found


def territory_summary(zone_results: pd.DataFrame) -> dict[str, float | int | None]:
    """The commune and EPCI figures of :data:`_AGGREGATES` over all of ``zone_results``:
    counts and sums (0 without zones), shares and maxima (None when unknown)."""
    frame = pd.DataFrame(zone_results.drop(columns="geometry", errors="ignore"))
    whole = _summarise(frame.assign(_territory=0), "_territory")
    out: dict[str, float | int | None] = {}
    for field in _AGGREGATES:
        raw = whole[field.name].iloc[0] if len(whole) else math.nan
        counted = field.aggregation in (Aggregation.COUNT, Aggregation.SUM)
        if pd.isna(raw):
            out[field.name] = (0 if field.dtype == "integer" else 0.0) if counted else None
        else:
            out[field.name] = int(raw) if field.dtype == "integer" else float(raw)
    return out


def _summarise(zone_results: pd.DataFrame, key: str) -> pd.DataFrame:
    """The :data:`_AGGREGATES` of the zones of each ``key`` value, by that value."""
    frame = pd.DataFrame(zone_results.drop(columns="geometry", errors="ignore"))
    frame = frame.dropna(subset=[key])
    groups = frame.groupby(key, sort=True)
    out = pd.DataFrame(index=groups.size().index)
    weight = frame["locaux"].astype(float)
    for field in _AGGREGATES:
        out[field.name] = _aggregate(frame, frame[key], field, weight).reindex(out.index)
    return out


def _aggregate(
    frame: pd.DataFrame, key: pd.Series, field: ResultField, weight: pd.Series
) -> pd.Series:
    """The zone results of ``frame`` aggregated by ``key`` as ``field`` says."""
    if field.aggregation == Aggregation.COUNT:
        matches = pd.Series(1, index=frame.index, dtype=np.int64)
        if field.of is not None:
            # Results stored before a counted column existed count no zone for it.
            counted = frame.get(field.count_column, pd.Series(None, index=frame.index))
            matches = (counted == field.of).astype(np.int64)
        return matches.groupby(key).sum()
    values = frame[field.of]
    if field.aggregation == Aggregation.SUM:
        return values.groupby(key).sum()
    if field.aggregation == Aggregation.MAX:
        return values.groupby(key).max()
    return _weighted(values, key, weight)


def _weighted(values: pd.Series, key: pd.Series, weight: pd.Series) -> pd.Series:
    """Mean of ``values`` weighted by ``weight`` per ``key``, over the rows where the value is
    known and the weight positive (NaN for a key with none)."""
    values = values.astype(float)
    known = values.notna() & (weight > 0)
    part = (values.fillna(0.0) * weight).where(known, 0.0).groupby(key).sum()
    whole = weight.where(known, 0.0).groupby(key).sum()
    return part / whole.where(whole > 0)


def _fill_empty(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Zero, not unknown, for the counts and sums of a commune or EPCI without zones."""
    for field in _AGGREGATES:
        if field.aggregation not in (Aggregation.COUNT, Aggregation.SUM):
            continue
        if field.dtype == "integer":
            frame[field.name] = frame[field.name].fillna(0).astype(np.int64)
        else:
            frame[field.name] = frame[field.name].fillna(0.0)
    return frame


def h3_coverage(premises: gpd.GeoDataFrame, resolution: int) -> gpd.GeoDataFrame:
    """Locaux and the share of locaux at ≥ 30 Mbit/s on an H3 hexagon grid (WGS84 cells).

    The cell of every premises is computed at once (``h3ronpy``, vectorised); the hexagons
    are drawn for the non-empty cells only.

    Returns
    -------
    One row per non-empty cell, by cell id: ``h3_cell``, ``premises``, ``locaux``,
    ``share_thd30``, with the hexagon as geometry in CRS84.
    """
    columns = ["h3_cell", "premises", "locaux", "share_thd30"]
    if len(premises) == 0:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=OUTPUT_CRS)
    to_lonlat = Transformer.from_crs(premises.crs, OUTPUT_CRS, always_xy=True)
    lon, lat = to_lonlat.transform(
        shapely.get_x(premises.geometry.values), shapely.get_y(premises.geometry.values)
    )
    numbers = np.asarray(coordinates_to_cells(lat, lon, resolution), dtype=np.uint64)
    unique, cell = np.unique(numbers, return_inverse=True)
    names = np.array([h3.int_to_str(int(n)) for n in unique], dtype=object)
    order = np.argsort(names, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    cell = position[cell]
    locaux = premises["locaux"].to_numpy(dtype=float)
    good = class_rank(premises["down_class"]) >= THD30
    total = np.bincount(cell, weights=locaux, minlength=len(unique))
    frame = pd.DataFrame(
        {
            "h3_cell": names[order],
            "premises": np.bincount(cell, minlength=len(unique)).astype(np.int64),
            "locaux": total.astype(np.int64),
            "share_thd30": np.bincount(cell, weights=locaux * good, minlength=len(unique)) / total,
        }
    )
    return gpd.GeoDataFrame(frame, geometry=_hexagons(names[order]), crs=OUTPUT_CRS)


def _hexagons(cells: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """The outline of each H3 cell as a CRS84 polygon (pentagons and distorted cells included)."""
    boundaries = [h3.cell_to_boundary(c) for c in cells]
    latlng = np.array([vertex for boundary in boundaries for vertex in boundary], dtype=float)
    ring = np.repeat(np.arange(len(boundaries)), [len(b) for b in boundaries])
    rings = shapely.linearrings(latlng[:, ::-1], indices=ring)
    return np.asarray(shapely.polygons(rings), dtype=object)
