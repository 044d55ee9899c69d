"""The collections as of a vintage: what ``datetime=`` selects on vintaged data.

OGC API – Features filters a collection's features by time with ``datetime`` (an instant or an
interval). Where the data has vintages (quarters) the features are those of the vintage in
force at the end of the interval: the latest vintage whose quarter starts by then. The zone,
commune and EPCI collections serve, for an older vintage, the rows of the history analysis
(``analyze --history``) on the current geometries; a vintaged layer (premises, transport)
serves its stored older vintage. A collection without vintages keeps the plain filter on the
dates of its data (:func:`geo_service.api.ogc.data_dates`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Final

import geopandas as gpd
import pandas as pd

from geo_service import pipeline
from geo_service.analysis.history import VINTAGE
from geo_service.api.collections import CollectionSpec
from geo_service.api.params import Interval, parse_datetime
from geo_service.vintages import archived_name, is_vintaged, vintage_key
from geo_service.workspace import Workspace

#: The history table of each result collection.
_HISTORY: Final = {
    pipeline.ZONE_RESULTS: ("zones", pipeline.ZONE_HISTORY),
    pipeline.COMMUNE_RESULTS: ("communes", pipeline.COMMUNE_HISTORY),
    pipeline.EPCI_RESULTS: ("epcis", pipeline.EPCI_HISTORY),
}

#: The identity of a zone, commune or EPCI, the same at every vintage.
_IDENTITY: Final = ("name", "commune_insee", "epci_siren", "kind", "vocation", "state")
Loader = Callable[[Workspace], gpd.GeoDataFrame]


def quarter_start(vintage: str) -> datetime:
    """The first instant of a vintage's quarter (UTC): ``2018-T1`` → 2018-01-01T00:00Z."""
    year, quarter = vintage_key(vintage)
    return datetime.combine(date(year, 3 * quarter - 2, 1), time.min, tzinfo=UTC)


def vintage_in_force(vintages: list[str], interval: Interval) -> str | None:
    """The latest of ``vintages`` whose quarter starts by the end of ``interval`` (None: the
    interval ends before the first one)."""
    found = [v for v in vintages if interval.end is None or quarter_start(v) <= interval.end]
    return max(found, key=vintage_key) if found else None


def collection_vintages(workspace: Workspace, spec: CollectionSpec) -> list[str]:
    """The vintages collection ``spec`` can be served at, oldest first (empty: none)."""
    if spec.layer in _HISTORY:
        if not workspace.store.has_layer(_HISTORY[spec.layer][1]):
            return []
        return list(workspace.results().run.vintages)
    if is_vintaged(spec.layer) and workspace.store.has_layer(spec.layer):
        return [str(m.vintage) for m in pipeline.vintages(workspace.store, spec.layer) if m.vintage]
    return []


def spec_at(workspace: Workspace, spec: CollectionSpec, text: str | None) -> CollectionSpec | None:
    """The collection as of the vintage ``datetime`` (``text``) selects: ``spec`` itself for
    the current vintage, a spec serving the older vintage otherwise; None when the collection
    has no vintages or the time is before the first (the plain date filter applies)."""
    if text is None:
        return None
    vintages = collection_vintages(workspace, spec)
    if not vintages:
        return None
    chosen = vintage_in_force(vintages, parse_datetime(text) or Interval(None, None))
    if chosen is None:
        return None
    if chosen == vintages[-1]:
        return spec
    if spec.layer in _HISTORY:
        level, table = _HISTORY[spec.layer]
        return replace(
            spec, id=f"{spec.id}@{chosen}", layer=table, load=_history_loader(level, table, chosen)
        )
    stored = archived_name(spec.layer, chosen)
    return replace(spec, id=f"{spec.id}@{chosen}", layer=stored, load=_layer_loader(stored))


def _layer_loader(name: str) -> Loader:
    def load(workspace: Workspace) -> gpd.GeoDataFrame:
        return workspace.layer(name)

    return load


def _history_loader(level: str, table: str, vintage: str) -> Loader:
    """The current features of ``level`` (their geometries and identity) with the history
    rows of ``vintage`` as properties; the other properties (reasons, access...) describe the
    current results and are left unknown."""

    def load(workspace: Workspace) -> gpd.GeoDataFrame:
        current: gpd.GeoDataFrame = getattr(workspace.results(), level)
        rows = pd.DataFrame(workspace.layer(table))
        rows = rows[rows[VINTAGE] == vintage]
        key = str(rows.columns[1])
        identity = [key, *(c for c in _IDENTITY if c in current.columns), current.geometry.name]
        merged = current[identity].merge(rows, on=key, how="inner")
        return gpd.GeoDataFrame(merged, geometry=current.geometry.name, crs=current.crs)

    return load
