"""Results across vintages: the history tables and the changes added to the current results.

Pure: the results of each vintage in (:class:`~geo_service.analysis.result.AnalysisResult`,
computed with the same thresholds), frames out. The history of a level (zones, communes,
EPCIs) is one row per vintage and entity with its status and figures
(:func:`history_rows`); the current results get the change of the ≥ 30 Mbit/s share since the
previous vintage and since a reference vintage, the zones their status at the previous vintage
and whether they were flagged at every vintage of the window (:func:`with_history`). A share
unknown at either vintage gives an unknown change, never a change from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import pandas as pd

from geo_service.analysis.fields import HISTORY, RESULT_FIELDS, ResultField, field_of
from geo_service.analysis.result import AnalysisResult
from geo_service.model import ZoneStatus
from geo_service.vintages import vintage_key

VINTAGE: Final = "vintage"
SHARE: Final = "share_thd30"
#: Key column and result layer of each level of the history.
LEVELS: Final[dict[str, tuple[str, str]]] = {
    "zones": ("zone_id", "zone_results"),
    "communes": ("commune_insee", "commune_results"),
    "epcis": ("epci_siren", "epci_results"),
}
_FLAGGED: Final = frozenset({ZoneStatus.UNDERSERVED.value, ZoneStatus.UNSERVED.value})
_KEPT_TYPES: Final = frozenset({"integer", "number", "boolean"})


@dataclass(frozen=True)
class PerimeterChanges:
    """Zones matched by id between the previous results and these: added, removed, and those
    whose perimeter changed (area differing by more than :data:`AREA_TOLERANCE_HA`)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


#: Area difference (hectares) above which a zone's perimeter counts as changed.
AREA_TOLERANCE_HA: Final = 0.01


def perimeter_changes(previous: pd.DataFrame | None, current: pd.DataFrame) -> PerimeterChanges:
    """The zones of ``current`` matched by ``zone_id`` with those of ``previous`` (the results
    of the previous run; none: no change)."""
    if previous is None or "zone_id" not in previous.columns:
        return PerimeterChanges()
    before = dict(zip(previous["zone_id"].astype(str), previous["area_ha"], strict=True))
    after = dict(zip(current["zone_id"].astype(str), current["area_ha"], strict=True))
    changed = sorted(
        zone_id
        for zone_id in before.keys() & after.keys()
        if abs(float(before[zone_id]) - float(after[zone_id])) > AREA_TOLERANCE_HA
    )
    return PerimeterChanges(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(changed),
    )


@dataclass(frozen=True)
class History:
    """One frame per level (``zones``, ``communes``, ``epcis``): a row per vintage and entity."""

    zones: pd.DataFrame
    communes: pd.DataFrame
    epcis: pd.DataFrame
    vintages: tuple[str, ...]
    #: Zones matched by id with the previous run's results (perimeters changed, added, removed).
    perimeters: PerimeterChanges = PerimeterChanges()

    def level(self, name: str) -> pd.DataFrame:
        """The frame of level ``name``."""
        frame: pd.DataFrame = getattr(self, name)
        return frame


def history_columns(frame: pd.DataFrame, fields: Sequence[ResultField], key: str) -> list[str]:
    """The columns of ``frame`` kept in the history: its key, the status and every numeric or
    boolean result field (not the history fields themselves)."""
    kept = [key]
    for column in frame.columns:
        field = field_of(fields, str(column))
        if field is None or column == key or field.source == HISTORY:
            continue
        if column == "status" or field.dtype in _KEPT_TYPES:
            kept.append(str(column))
    return kept


def history_rows(result: AnalysisResult, vintage: str) -> dict[str, pd.DataFrame]:
    """The rows of each level for ``vintage``: ``vintage``, the key, status and figures."""
    out = {}
    for level, (key, layer) in LEVELS.items():
        frame = pd.DataFrame(getattr(result, level)).drop(columns="geometry", errors="ignore")
        columns = history_columns(frame, RESULT_FIELDS[layer], key)
        rows = pd.DataFrame(frame[columns]).reset_index(drop=True)
        rows.insert(0, VINTAGE, vintage)
        out[level] = rows
    return out


def history_of(by_vintage: Mapping[str, AnalysisResult]) -> History:
    """The history of the results of each vintage (any order; sorted by vintage)."""
    vintages = tuple(sorted(by_vintage, key=vintage_key))
    parts: dict[str, list[pd.DataFrame]] = {level: [] for level in LEVELS}
    for vintage in vintages:
        for level, rows in history_rows(by_vintage[vintage], vintage).items():
            parts[level].append(rows)
    frames = {
        level: pd.concat(found, ignore_index=True) if found else pd.DataFrame({VINTAGE: []})
        for level, found in parts.items()
    }
    return History(**frames, vintages=vintages)


def window(vintages: Sequence[str], since: str | None) -> tuple[str, ...]:
    """The vintages from ``since`` (the oldest when None) to the latest."""
    if since is None:
        return tuple(vintages)
    return tuple(v for v in vintages if vintage_key(v) >= vintage_key(since))


def _share_at(history: pd.DataFrame, key: str, vintage: str | None) -> pd.Series:
    """The ≥ 30 Mbit/s share of each entity at ``vintage`` (empty when None or absent)."""
    if vintage is None or SHARE not in history.columns:
        return pd.Series(dtype="float64")
    rows = history[history[VINTAGE] == vintage]
    return pd.Series(rows[SHARE].astype("float64").to_numpy(), index=rows[key].to_numpy())


def _changes(
    frame: gpd.GeoDataFrame,
    history: pd.DataFrame,
    key: str,
    previous: str | None,
    since: str | None,
) -> gpd.GeoDataFrame:
    """``frame`` (a copy) with the changes of its share since ``previous`` and ``since``."""
    now = frame[SHARE].astype("float64") if SHARE in frame.columns else None
    out = frame.copy()
    for column, vintage in (("share_thd30_change", previous), ("share_thd30_since", since)):
        then = frame[key].map(_share_at(history, key, vintage))
        out[column] = (now - then.astype("float64")) if now is not None else float("nan")
    return out


def _persistent(zones: pd.DataFrame, history: pd.DataFrame, vintages: Sequence[str]) -> pd.Series:
    """Flagged at every vintage of ``vintages`` (NA with fewer than two vintages)."""
    if len(vintages) < 2:
        return pd.Series(pd.NA, index=zones.index, dtype="boolean")
    rows = history[history[VINTAGE].isin(vintages)]
    flagged = rows.assign(flagged=rows["status"].isin(_FLAGGED))
    counts = flagged[flagged["flagged"]].groupby("zone_id").size()
    every = zones["zone_id"].map(counts).fillna(0).astype(int) == len(vintages)
    return every.astype("boolean")


def _status_at(history: pd.DataFrame, vintage: str | None) -> dict[str, str]:
    if vintage is None:
        return {}
    rows = history[history[VINTAGE] == vintage]
    return dict(zip(rows["zone_id"].astype(str), rows["status"].astype(str), strict=True))


def with_history(result: AnalysisResult, history: History, since: str | None) -> AnalysisResult:
    """``result`` (the current vintage's) with the history fields: the change of the
    ≥ 30 Mbit/s share since the previous vintage and since ``since`` (the oldest vintage when
    None), the zones' previous status and ``persistent`` over the window from ``since``."""
    vintages = history.vintages
    previous = vintages[-2] if len(vintages) >= 2 else None
    reference = window(vintages, since)[0] if vintages else None
    frames = {}
    for level, (key, _) in LEVELS.items():
        frame = getattr(result, level)
        frames[level] = _changes(frame, history.level(level), key, previous, reference)
    zones = frames["zones"]
    statuses = _status_at(history.zones, previous)
    previous_status = zones["zone_id"].astype(str).map(statuses).astype(object)
    zones["status_previous"] = previous_status.where(previous_status.notna(), None)
    zones["persistent"] = _persistent(zones, history.zones, window(vintages, since))
    return AnalysisResult(
        zones=zones, communes=frames["communes"], epcis=frames["epcis"], run=result.run
    )
