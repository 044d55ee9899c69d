"""The analysis: pure functions, GeoDataFrames in and GeoDataFrames out.

:func:`analyze` measures every zone (premises coverage, raster coverage, available land),
flags and ranks it, and sums the results per commune and per EPCI. It imports nothing from
the store, the web layer or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis.aggregate import commune_summary, epci_summary, h3_coverage
from geo_service.analysis.commune_coverage import (
    commune_arcep_columns,
    with_commune_basis,
    zone_commune_coverage,
)
from geo_service.analysis.coverage import (
    CoverageSums,
    coverage_sums,
    finish_coverage,
    premises_coverage,
)
from geo_service.analysis.fields import ZONE_FIELDS, field_of
from geo_service.analysis.land import SQUARE_METRES_PER_HECTARE, available_land
from geo_service.analysis.mobile import mobile_coverage_shares, mobile_site_counts
from geo_service.analysis.overlay import in_lambert93
from geo_service.analysis.priority import priority_scores
from geo_service.analysis.raster import raster_coverage
from geo_service.analysis.reasons import REASONS_SEPARATOR, split_reasons, zone_reasons
from geo_service.analysis.result import ZONE_RESULT_COLUMNS, AnalysisResult, RunInfo
from geo_service.analysis.status import classify, effective_shares
from geo_service.analysis.transport import TransportLayers, transport_access
from geo_service.communes import locate_in_communes
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.settings import AnalysisParams

Progress = Callable[[str], None]

__all__ = [
    "REASONS_SEPARATOR",
    "ZONE_RESULT_COLUMNS",
    "AnalysisResult",
    "CoverageSums",
    "RunInfo",
    "TransportLayers",
    "analyze",
    "analyze_zones",
    "coverage_sums",
    "h3_coverage",
    "split_reasons",
]


def analyze_zones(
    zones: gpd.GeoDataFrame,
    premises: gpd.GeoDataFrame | CoverageSums,
    *,
    land: gpd.GeoDataFrame | None = None,
    raster: CoverageRaster | None = None,
    params: AnalysisParams | None = None,
    progress: Progress | None = None,
    commune_coverage: pd.DataFrame | None = None,
    transport: TransportLayers | None = None,
) -> gpd.GeoDataFrame:
    """Measure, flag and rank every zone.

    Parameters
    ----------
    zones, premises, land
        Canonical layers (see :mod:`geo_service.validation`), in any CRS (measured in
        Lambert-93). ``premises`` may instead be their :class:`CoverageSums` over ``zones``
        (in the zones' order), summed beforehand batch by batch (see
        :func:`coverage_sums`): a layer too large for memory is analysed that way.
    raster
        Coverage raster in Lambert-93, if any.
    params
        Thresholds and weights (defaults of DESIGN.md when None).
    progress
        Called with the name of each step.
    commune_coverage
        ARCEP commune statistics (the ``commune_coverage`` layer), if any: a zone with no
        premises and no usable raster takes its status from its commune's figures
        (``status_basis`` "commune"), and the results gain
        :data:`~geo_service.analysis.commune_coverage.ZONE_COMMUNE_COLUMNS`.
    transport
        The transport layers (stops, stations, interchanges, hubs), any of them absent: the
        access columns of :mod:`geo_service.analysis.transport` (unknown where a layer is
        absent).

    Returns
    -------
    The zones with the columns of :data:`ZONE_RESULT_COLUMNS`, in Lambert-93, in input order.
    """
    params = params or AnalysisParams()
    step = progress or (lambda _: None)
    zones = in_lambert93(zones).reset_index(drop=True)
    step("premises")
    if isinstance(premises, CoverageSums):
        metrics = finish_coverage(premises, zones.index)
    else:
        metrics = premises_coverage(zones, in_lambert93(premises))
    step("raster")
    metrics = metrics.join(raster_coverage(zones, raster))
    step("land")
    metrics = metrics.join(available_land(zones, None if land is None else in_lambert93(land)))
    metrics["area_ha"] = shapely.area(np.asarray(zones.geometry.values)) / SQUARE_METRES_PER_HECTARE
    metrics["zone_id"] = zones["zone_id"]
    commune = None if commune_coverage is None else zone_commune_coverage(zones, commune_coverage)
    step("status")
    shares = effective_shares(metrics, params)
    if commune is not None:
        shares = with_commune_basis(shares, commune)
    status = classify(shares, params)
    step("transport")
    access = transport_access(zones, transport, params)
    priority = priority_scores(metrics, shares, status, params, access["access_class"])
    described = metrics if commune is None else metrics.join(commune)
    reasons = zone_reasons(
        described, shares, status, priority, params, has_raster=raster is not None
    )
    _check_declared(metrics)
    _check_declared(access)
    computed = {*metrics.columns, *access.columns} - {"zone_id"}
    out = zones.drop(columns=[c for c in zones.columns if c in computed])
    out = out.join(metrics.drop(columns="zone_id"))
    out["status"] = status
    out["status_basis"] = shares["basis"]
    out["priority"] = priority["priority"]
    out["rank"] = priority["rank"]
    out["reasons"] = reasons
    out = out.join(access)
    for column in ZONE_RESULT_COLUMNS:
        if column not in out.columns:
            out[column] = None
    columns = [*ZONE_RESULT_COLUMNS, *([] if commune is None else commune.columns)]
    if commune is not None:
        out = out.join(commune)
    return gpd.GeoDataFrame(out[[*columns, "geometry"]], geometry="geometry")


def analyze(
    zones: gpd.GeoDataFrame,
    premises: gpd.GeoDataFrame | CoverageSums,
    *,
    land: gpd.GeoDataFrame | None = None,
    raster: CoverageRaster | None = None,
    communes: gpd.GeoDataFrame | None = None,
    params: AnalysisParams | None = None,
    inputs: Mapping[str, LayerMeta] | None = None,
    progress: Progress | None = None,
    mobile_coverage: gpd.GeoDataFrame | None = None,
    mobile_sites: gpd.GeoDataFrame | None = None,
    commune_coverage: pd.DataFrame | None = None,
    transport: TransportLayers | None = None,
) -> AnalysisResult:
    """Zone results (:func:`analyze_zones`) with their commune and EPCI sums and run information.

    Zones without ``commune_insee`` get the commune containing their representative point;
    ``epci_siren`` comes from the commune when the zone has none. ``premises`` is the layer or
    its :class:`CoverageSums` (see :func:`analyze_zones`). ``inputs`` describes the
    input layers (source, date) and is recorded in the result's :class:`RunInfo`.
    ``mobile_coverage`` (operators' coverage maps) and ``mobile_sites`` add the mobile columns
    of :mod:`geo_service.analysis.mobile` to the zone results. ``commune_coverage`` (ARCEP
    commune statistics) gives a status to zones nothing else describes (see
    :func:`analyze_zones`) and adds the communes' own figures to the commune results
    (:data:`~geo_service.analysis.commune_coverage.COMMUNE_ARCEP_COLUMNS`). ``transport``
    adds the access of each zone (see :func:`analyze_zones`), counted per commune and EPCI.
    """
    params = params or AnalysisParams()
    communes = None if communes is None else in_lambert93(communes)
    zones = _with_communes(in_lambert93(zones), communes)
    results = analyze_zones(
        zones,
        premises,
        land=land,
        raster=raster,
        params=params,
        progress=progress,
        commune_coverage=commune_coverage,
        transport=transport,
    )
    mobile = []
    if mobile_coverage is not None:
        mobile.append(mobile_coverage_shares(results, mobile_coverage))
    if mobile_sites is not None:
        mobile.append(mobile_site_counts(results, mobile_sites))
    results = _with_columns(results, mobile)
    (progress or (lambda _: None))("aggregates")
    summary = commune_summary(results, communes)
    arcep = [] if commune_coverage is None else [commune_arcep_columns(summary, commune_coverage)]
    return AnalysisResult(
        zones=results,
        communes=_with_columns(summary, arcep),
        epcis=epci_summary(results, communes),
        run=RunInfo(params=params, inputs=dict(inputs or {})),
    )


def _check_declared(metrics: pd.DataFrame) -> None:
    """Refuse a computed zone column that :mod:`geo_service.analysis.fields` does not declare
    (it would otherwise be dropped from the results without a word)."""
    undeclared = [c for c in metrics.columns if field_of(ZONE_FIELDS, str(c)) is None]
    if undeclared:
        raise RuntimeError(
            f"zone result column(s) {', '.join(map(str, undeclared))} computed but not declared "
            "in geo_service/analysis/fields.py"
        )


def _with_columns(frame: gpd.GeoDataFrame, parts: list[pd.DataFrame]) -> gpd.GeoDataFrame:
    """``frame`` with the columns of ``parts`` (indexed like it) added before the geometry."""
    if not parts:
        return frame
    columns = [c for c in frame.columns if c != "geometry"]
    joined = frame[columns].join(parts)
    return gpd.GeoDataFrame(joined, geometry=frame.geometry, crs=frame.crs)


def _with_communes(zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    zones = zones.copy()
    for column in ("commune_insee", "epci_siren"):
        if column not in zones.columns:
            zones[column] = None
    if communes is None or len(communes) == 0:
        return zones
    located = locate_in_communes(zones, communes, ["commune_insee"])["commune_insee"]
    zones["commune_insee"] = zones["commune_insee"].where(zones["commune_insee"].notna(), located)
    epci = communes.set_index("commune_insee")["epci_siren"]
    from_commune = zones["commune_insee"].map(epci)
    zones["epci_siren"] = zones["epci_siren"].where(zones["epci_siren"].notna(), from_commune)
    return zones
