"""Layers shared by the territory and zone maps: land, hexagons, styles, legend, sources."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis import AnalysisResult, RunInfo, h3_coverage
from geo_service.formatting import GE, MBPS, fr_date, fr_percent
from geo_service.maps import style
from geo_service.maps.geojson import clean, map_geometries, packed_layer
from geo_service.model import CANONICAL_CRS, OUTPUT_CRS, STATUS_WORDS, ZoneStatus
from geo_service.settings import AnalysisParams

#: Simplification tolerance of land plots (metres, Lambert-93).
LAND_TOLERANCE_M: Final = 5.0
#: Most hexagons drawn: the grid is coarsened (H3 parents) until it fits.
HEXAGON_BUDGET: Final = 3000
#: French names of the land sources.
LAND_SOURCES: Final[dict[str, str]] = {
    "terrain-eco": "Terrain économique",
    "friche": "Friche",
}


@dataclass(frozen=True)
class DataLayer:
    """A layer's GeoJSON text, its feature count, and labels its script looks up."""

    json: str
    count: int
    labels: tuple[str, ...] = ()
    resolution: int | None = None


def commune_names(result: AnalysisResult) -> dict[str, str]:
    """INSEE code → name of the communes of the result (the code when the name is unknown)."""
    frame = result.communes
    names: dict[str, str] = {}
    for code, name in zip(frame["commune_insee"], frame["name"], strict=True):
        if clean(code) is None:
            continue
        names[str(code)] = str(name) if clean(name) is not None else str(code)
    for code in result.zones["commune_insee"].dropna().unique():
        names.setdefault(str(code), str(code))
    return names


def land_layer(land: gpd.GeoDataFrame, *, available_only: bool = True) -> DataLayer:
    """Land plots, packed: ``d`` available, ``a`` hectares, ``k`` index of the escaped label."""
    if available_only:
        land = land[land["available"].fillna(False).astype(bool)]
    land = land[land.geometry.notna() & ~land.geometry.is_empty]
    labels: list[str] = []
    index: dict[str, int] = {}
    keys = []
    sources = land["source"] if "source" in land.columns else pd.Series(None, index=land.index)
    statuses = land["status"] if "status" in land.columns else pd.Series(None, index=land.index)
    for source, status in zip(sources, statuses, strict=True):
        label = _land_label(clean(source), clean(status))
        if label not in index:
            index[label] = len(labels)
            labels.append(escape(label, quote=False))
        keys.append(index[label])
    props: dict[str, list[Any]] = {
        "d": [1 if a else 0 for a in land["available"].fillna(False).astype(bool)],
        "a": [round(float(a), 2) for a in _plot_area(land)],
        "k": keys,
    }
    geoms = map_geometries(land, tolerance=LAND_TOLERANCE_M)
    return DataLayer(packed_layer(geoms, props), len(keys), tuple(labels))


def hexagon_layer(
    premises: gpd.GeoDataFrame, resolution: int, budget: int = HEXAGON_BUDGET
) -> DataLayer:
    """Locaux share at ≥ 30 Mbit/s on the finest H3 grid (≤ ``resolution``) within ``budget``.

    Packed properties: ``v`` share of locaux at ≥ 30 Mbit/s, ``n`` locaux, ``b`` buildings.
    """
    cells = h3_coverage(premises, resolution)
    while len(cells) > budget and resolution > 0:
        resolution -= 1
        cells = coarsen_hexagons(cells, resolution)
    props: dict[str, list[Any]] = {
        "v": [round(float(v), 3) for v in cells["share_thd30"]],
        "n": [int(n) for n in cells["locaux"]],
        "b": [int(b) for b in cells["premises"]],
    }
    geoms = map_geometries(cells.to_crs(CANONICAL_CRS))
    return DataLayer(packed_layer(geoms, props), len(cells), resolution=resolution)


def coarsen_hexagons(cells: gpd.GeoDataFrame, resolution: int) -> gpd.GeoDataFrame:
    """H3 cells (from :func:`h3_coverage`) summed into their parents at ``resolution``."""
    table = pd.DataFrame(
        {
            "h3_cell": [h3.cell_to_parent(c, resolution) for c in cells["h3_cell"]],
            "premises": cells["premises"].to_numpy(),
            "locaux": cells["locaux"].to_numpy(),
            "good": cells["share_thd30"].to_numpy() * cells["locaux"].to_numpy(),
        }
    )
    grouped = table.groupby("h3_cell", sort=True).sum()
    grouped["share_thd30"] = grouped["good"] / grouped["locaux"]
    grouped["locaux"] = grouped["locaux"].astype(np.int64)
    hexagons = [_hexagon(c) for c in grouped.index]
    frame = grouped.drop(columns="good").reset_index()
    return gpd.GeoDataFrame(frame, geometry=hexagons, crs=OUTPUT_CRS)


def sources_config(run: RunInfo, *, empty: str | None = None) -> dict[str, Any]:
    """Config of the sources panel: sources and dates, attributions, demo-data notice."""
    items = []
    attributions = []
    for meta in run.inputs.values():
        date = fr_date(meta.data_date)
        items.append(escape(f"{meta.title} : {meta.source}, données du {date} ({meta.licence})"))
        if meta.attribution and escape(meta.attribution) not in attributions:
            attributions.append(escape(meta.attribution))
    analysed = run.analyzed_at.date()
    served = STATUS_WORDS[ZoneStatus.SERVED][0]
    unserved = STATUS_WORDS[ZoneStatus.UNSERVED][0]
    items.append(
        f"Analyse geo-service du {fr_date(analysed)} ; seuils : {served} à partir de "
        f"{fr_percent(run.params.served_thd30_share)} des locaux à {GE}30{MBPS}, {unserved} "
        f"sous {fr_percent(run.params.unserved_bhd8_share)} à {GE}8{MBPS}."
    )
    notice = None
    if run.synthetic:
        notice = "Données fictives : territoire de démonstration, aucun chiffre réel"
    return {
        "title": "Sources et dates",
        "items": items,
        "attributions": attributions,
        "notice": notice,
        "empty": empty,
    }


def zone_styles() -> dict[str, dict[str, Any]]:
    """Leaflet path style of each zone status (flagged: thick outline, dashed if unserved)."""
    styles = {}
    for status in ZoneStatus:
        flagged = status in style.FLAGGED
        styles[status.value] = {
            "fillColor": style.STATUS_COLOURS[status],
            "fillOpacity": style.ZONE_OPACITY,
            "color": style.zone_outline(status),
            "weight": 2.5 if flagged else 1,
            "opacity": 1,
            "dashArray": "6 4" if status == ZoneStatus.UNSERVED else None,
        }
    return styles


def share_ramp(params: AnalysisParams) -> dict[str, list[Any]]:
    """The classes (lower bounds) and colours of the shares at ≥ 30 Mbit/s, as the map script
    reads them (hexagons, communes, premises clusters)."""
    breaks = style.share_breaks(params)
    return {"breaks": list(breaks), "colours": list(style.COVERAGE_RAMP[-len(breaks) :])}


def land_config(layer: DataLayer) -> dict[str, Any]:
    """Config of the land layer's script: the styles of the plots and their escaped labels."""
    return {
        "available": land_style(available=True),
        "unavailable": land_style(available=False),
        "sources": list(layer.labels),
    }


def land_style(*, available: bool) -> dict[str, Any]:
    """Leaflet path style of available (filled) or other (dashed outline) plots."""
    if available:
        return {
            "fillColor": style.LAND_FILL,
            "fillOpacity": style.LAND_OPACITY,
            "color": style.LAND_STROKE,
            "weight": 1,
        }
    return {"fill": False, "color": style.UNAVAILABLE_LAND, "weight": 1, "dashArray": "2 3"}


def raster_legend_section(note: str) -> dict[str, Any]:
    """The legend section of the coverage raster layer."""
    return {
        "title": "Débit maximal (raster de couverture)",
        "layer": "raster",
        "entries": legend_entries(style.raster_entries()),
        "note": note,
    }


def legend_entries(
    entries: list[style.LegendEntry], *, round_swatch: bool = False
) -> list[dict[str, Any]]:
    """Legend entries as the map script reads them: the swatch's fill is the colour seen on
    the map (the layer's colour blended with its opacity, :attr:`~style.LegendEntry.swatch`),
    drawn opaque; null for an outline-only swatch."""
    return [
        {
            "label": e.label,
            "fill": e.swatch,
            "stroke": e.stroke,
            "dashed": e.dashed,
            "thick": e.thick,
            "round": round_swatch,
        }
        for e in entries
    ]


def _plot_area(land: gpd.GeoDataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    measured = np.asarray(land.geometry.area.to_numpy(dtype=float) / 10_000.0, dtype=np.float64)
    if "area_ha" not in land.columns:
        return measured
    declared = np.asarray(pd.to_numeric(land["area_ha"], errors="coerce"), dtype=np.float64)
    points = np.asarray(land.geometry.geom_type == "Point", dtype=bool)
    use_declared = points | ~np.isfinite(measured) | (measured == 0)
    return np.where(use_declared, np.nan_to_num(declared), measured)


def _land_label(source: Any, status: Any) -> str:
    name = LAND_SOURCES.get(str(source), str(source)) if source is not None else "Parcelle"
    return f"{name} — {status}" if status is not None else name


def _hexagon(cell: str) -> shapely.Polygon:
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
