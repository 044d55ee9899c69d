"""The map of one zone: its outline, plots, premises by ARCEP class, and the raster around it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.analysis import AnalysisResult
from geo_service.errors import NotFoundError
from geo_service.formatting import GE, MBPS
from geo_service.maps import style
from geo_service.maps.assets import CLUSTER_CSS, CLUSTER_JS
from geo_service.maps.elements import ScriptControl, ScriptLayer
from geo_service.maps.geojson import (
    bounds_latlon,
    clean,
    feature_collection,
    map_geometries,
    script_json,
)
from geo_service.maps.history import history_chart
from geo_service.maps.layers import (
    commune_names,
    hexagon_layer,
    land_config,
    land_layer,
    legend_entries,
    raster_legend_section,
    share_ramp,
    sources_config,
    zone_styles,
)
from geo_service.maps.page import PageOptions, embed_snippet, header_bar, new_map, render_page
from geo_service.maps.popups import zone_popup, zone_tooltip
from geo_service.maps.raster import raster_image
from geo_service.maps.transport import (
    FACILITY_STYLES,
    FacilityLayer,
    facility_config,
    facility_layers,
)
from geo_service.maps.transport import legend_section as transport_legend
from geo_service.model import OUTPUT_CRS, SPEED_CLASSES, THD30, CoverageRaster, class_rank
from geo_service.vintages import vintage_key

#: Metres shown around the zone.
ZONE_MARGIN_M: Final = 400.0
#: Above this many premises, the zone map shows them on a fine H3 grid instead of markers.
PREMISES_MARKER_LIMIT: Final = 10_000
_PREMISES_RESOLUTION: Final = 12
_PREMISES_HEXAGONS: Final = 3000
_PREMISES_BY_CLASS: Final = "Bâtiments par classe de débit (Arcep)"
_AGGREGATED: Final = f"Locaux à {GE}30{MBPS} (agrégés)"


@dataclass(frozen=True)
class ZoneData:
    """One zone's result and the layers around it (Lambert-93)."""

    result: AnalysisResult
    zone: dict[str, Any]
    geometry: Any
    neighbours: gpd.GeoDataFrame
    land: gpd.GeoDataFrame | None
    premises: gpd.GeoDataFrame | None
    raster: CoverageRaster | None
    #: The zone's rows of the history analysis, oldest first (empty without history).
    history: tuple[dict[str, Any], ...] = ()
    #: The transport facilities in the area shown (stops, stations, interchanges, hubs).
    transport: tuple[FacilityLayer, ...] = ()

    @property
    def window(self) -> tuple[float, float, float, float]:
        """Bounds of the area shown (the zone and a margin), Lambert-93."""
        return _window(self.geometry)


def zone_data(
    result: AnalysisResult,
    zone_id: str,
    *,
    land: gpd.GeoDataFrame | None,
    premises: gpd.GeoDataFrame | None,
    raster: CoverageRaster | None,
    history: pd.DataFrame | None = None,
    transport: Mapping[str, gpd.GeoDataFrame | None] | None = None,
) -> ZoneData:
    """The zone ``zone_id`` with the plots and zones around it, the premises inside it and the
    transport facilities (``transport`` layers by name) in the area shown.

    Raises NotFoundError when the result has no such zone.
    """
    zones = result.zones
    match = zones.index[zones["zone_id"].astype(str) == zone_id]
    if len(match) == 0:
        raise NotFoundError(f"no zone '{zone_id}'")
    row = zones.loc[match[0]]
    geometry = row.geometry
    zone = {k: row[k] for k in zones.columns if k != "geometry"}
    window = shapely.box(*_window(geometry))
    neighbours = zones.iloc[zones.sindex.query(window, predicate="intersects")]
    neighbours = neighbours[neighbours["zone_id"].astype(str) != zone_id]
    plots = None if land is None else land.iloc[land.sindex.query(window, predicate="intersects")]
    inside = None
    if premises is not None:
        inside = premises.iloc[np.sort(premises.sindex.query(geometry, predicate="intersects"))]
    rows: tuple[dict[str, Any], ...] = ()
    if history is not None and "zone_id" in history.columns:
        found = history[history["zone_id"].astype(str) == zone_id]
        rows = tuple(sorted(found.to_dict("records"), key=lambda r: vintage_key(str(r["vintage"]))))
    nearby = {
        name: frame.iloc[frame.sindex.query(window, predicate="intersects")]
        for name, frame in (transport or {}).items()
        if frame is not None
    }
    return ZoneData(
        result, zone, geometry, neighbours, plots, inside, raster, rows, facility_layers(nearby)
    )


def zone_map(data: ZoneData, options: PageOptions) -> folium.Map:
    """The folium map of one zone, fitted to it."""
    result = data.result
    names = commune_names(result)
    code = clean(data.zone.get("commune_insee"))
    commune = names.get(str(code)) if code is not None else None
    fmap = new_map(options)
    refs: dict[str, Any] = {}
    image = None
    if data.raster is not None:
        image = raster_image(data.raster, window=data.window, upsample=4, max_size=1200)
    if image is not None:
        refs["raster"] = ScriptLayer(
            "raster",
            script_json(image.as_json()),
            {"opacity": style.RASTER_OPACITY, "alt": "Raster de couverture autour de la zone"},
            name="Couverture : raster du débit maximal",
        ).add_to(fmap)
    if data.land is not None and len(data.land) > 0:
        plots = land_layer(data.land, available_only=False)
        refs["land"] = ScriptLayer(
            "land", plots.json, land_config(plots), name="Parcelles (foncier économique)"
        ).add_to(fmap)
    if len(data.neighbours) > 0:
        refs["neighbours"] = ScriptLayer(
            "zones",
            _neighbour_features(data.neighbours, names),
            {"styles": _neighbour_styles()},
            name="Zones voisines",
        ).add_to(fmap)
    zone_geometry = map_geometries(gpd.GeoDataFrame(geometry=[data.geometry], crs=result.zones.crs))
    refs["zones"] = ScriptLayer(
        "zones",
        feature_collection(
            zone_geometry,
            [
                {
                    "id": str(data.zone["zone_id"]),
                    "s": str(data.zone["status"]),
                    "t": zone_tooltip(data.zone, commune),
                    "p": None,
                    "q": "",
                }
            ],
        ),
        {"styles": _zone_styles_here()},
        name="Zone d'activités",
    ).add_to(fmap)
    for facility in data.transport:
        refs[facility.layer] = ScriptLayer(
            "facilities",
            facility.json,
            facility_config(facility.layer),
            name=FACILITY_STYLES[facility.layer].name,
        ).add_to(fmap)
    premises_classes = _add_premises(fmap, data, refs)
    folium.LayerControl(position="topright", collapsed=True).add_to(fmap)
    ScriptControl("fullscreen", {"title": "Plein écran"}).add_to(fmap)
    ScriptControl(
        "panel",
        {
            "title": "Chiffres de la zone",
            "html": zone_popup(data.zone, commune, options.links) + history_chart(data.history),
            "position": "topleft",
        },
    ).add_to(fmap)
    _add_legend(fmap, data, refs, premises_classes, image is not None)
    ScriptControl("sources", sources_config(result.run)).add_to(fmap)
    bounds = bounds_latlon(zone_geometry)
    if bounds is not None:
        fmap.fit_bounds(bounds, padding=(30, 30), max_zoom=18)
    return fmap


def zone_html(data: ZoneData, options: PageOptions) -> str:
    """The complete HTML page of the zone map."""
    fmap = zone_map(data, options)
    title = f"{data.zone['name']} — carte de la zone"
    header = None
    if not options.embed:
        back = ""
        if options.links is not None and options.server:
            back = f'<a href="{escape(options.links.territory_map())}">Carte du territoire</a>'
        extra = back + (embed_snippet() if options.server else "")
        status = str(data.zone["status"])
        subtitle = f"{data.zone['zone_id']} · {style.STATUS_LABELS.get(status, status)}"
        header = header_bar(title, subtitle, f'<span class="gs-header-links">{extra}</span>')
    clustered = data.premises is not None and 0 < len(data.premises) <= PREMISES_MARKER_LIMIT
    return render_page(
        fmap,
        title=title,
        header=header,
        options=options,
        css=[CLUSTER_CSS] if clustered else [],
        js=[CLUSTER_JS] if clustered else [],
    )


def _add_premises(fmap: folium.Map, data: ZoneData, refs: dict[str, Any]) -> list[str]:
    """Premises as clustered markers, or on a fine H3 grid when they are too many."""
    premises = data.premises
    if premises is None or len(premises) == 0:
        return []
    if len(premises) > PREMISES_MARKER_LIMIT:
        cells = hexagon_layer(premises, _PREMISES_RESOLUTION, _PREMISES_HEXAGONS)
        refs["premises"] = ScriptLayer(
            "hexes",
            cells.json,
            {**share_ramp(data.result.run.params), "opacity": style.HEXAGON_OPACITY},
            name=_AGGREGATED,
        ).add_to(fmap)
        return []
    lonlat = premises.geometry.to_crs(OUTPUT_CRS)
    ranks = class_rank(premises["down_class"])
    present = sorted({int(r) for r in ranks if r >= 0})
    position = {rank: i for i, rank in enumerate(present)}
    refs["premises"] = ScriptLayer(
        "premises",
        script_json(
            {
                "lat": np.round(shapely.get_y(lonlat.values), 6).tolist(),
                "lon": np.round(shapely.get_x(lonlat.values), 6).tolist(),
                "c": [position[int(r)] for r in ranks],
                "n": [int(n) for n in premises["locaux"]],
            }
        ),
        {
            "classes": [
                {
                    "code": SPEED_CLASSES[rank],
                    "rank": rank,
                    "colour": style.CLASS_COLOURS[SPEED_CLASSES[rank]],
                }
                for rank in present
            ],
            "thd30": THD30,
            **share_ramp(data.result.run.params),
        },
        name=_PREMISES_BY_CLASS,
    ).add_to(fmap)
    return [SPEED_CLASSES[rank] for rank in present]


def _add_legend(
    fmap: folium.Map,
    data: ZoneData,
    refs: dict[str, Any],
    classes: list[str],
    has_raster: bool,
) -> None:
    params = data.result.run.params
    sections: list[dict[str, Any]] = [
        {
            "title": "Statut de la zone",
            "layer": "zones",
            "entries": legend_entries(_outlined(style.status_entries(params))),
            "note": "Contour de la zone (pointillé fin : zones voisines).",
        }
    ]
    if classes:
        sections.append(
            {
                "title": _PREMISES_BY_CLASS,
                "layer": "premises",
                "entries": legend_entries(style.class_entries(classes), round_swatch=True),
                "note": "Groupes : nombre de bâtiments, couleur selon la part des locaux à "
                f"{GE}30{MBPS}.",
            }
        )
    elif "premises" in refs:
        sections.append(
            {
                "title": _AGGREGATED,
                "layer": "premises",
                "entries": legend_entries(style.share_entries(params)),
            }
        )
    if "land" in refs:
        sections.append(
            {
                "title": "Parcelles",
                "layer": "land",
                "entries": legend_entries(
                    [
                        style.LegendEntry(
                            "Disponible",
                            style.LAND_FILL,
                            stroke=style.LAND_STROKE,
                            opacity=style.LAND_OPACITY,
                        ),
                        style.LegendEntry(
                            "Non disponible", None, stroke=style.UNAVAILABLE_LAND, dashed=True
                        ),
                    ]
                ),
            }
        )
    if has_raster:
        sections.append(raster_legend_section("Transparent : débit inconnu."))
    sections += [transport_legend(facility) for facility in data.transport]
    ScriptControl(
        "legend", {"title": "Légende", "sections": sections, "collapsed": False}, refs
    ).add_to(fmap)


def _window(geometry: Any) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = shapely.bounds(geometry).tolist()
    m = ZONE_MARGIN_M
    return (xmin - m, ymin - m, xmax + m, ymax + m)


def _neighbour_features(zones: gpd.GeoDataFrame, names: dict[str, str]) -> str:
    props = []
    for row in zones.drop(columns="geometry").to_dict("records"):
        code = clean(row.get("commune_insee"))
        props.append(
            {
                "id": str(row["zone_id"]),
                "s": str(row["status"]),
                "t": zone_tooltip(row, names.get(str(code)) if code is not None else None),
                "p": None,
                "q": "",
            }
        )
    return feature_collection(map_geometries(zones), props)


def _outlined(entries: list[style.LegendEntry]) -> list[style.LegendEntry]:
    """Status legend entries as the zone map draws its zones: outlines in the status colour."""
    return [replace(e, fill=None, stroke=e.fill or e.stroke, thick=True) for e in entries]


def _zone_styles_here() -> dict[str, dict[str, Any]]:
    """The zone's own outline, thick and in its status colour, unfilled so that its plots,
    premises and the coverage beneath show through unmixed (a translucent fill over the raster
    would blend into another status's colour); still clickable inside."""
    styles = zone_styles()
    for value in styles.values():
        value.update(color=value["fillColor"], fillOpacity=0.0, weight=5, opacity=1)
    return styles


def _neighbour_styles() -> dict[str, dict[str, Any]]:
    """Neighbouring zones: thin dashed outlines in their status colour, unfilled."""
    styles = zone_styles()
    for value in styles.values():
        value.update(color=value["fillColor"], fillOpacity=0.0, weight=2, dashArray="4 4")
    return styles
