"""The territory map: zones by status, available land, coverage, communes; filters by URL.

Building is split in two: :func:`prepare_territory`'s pieces (simplified geometries in WGS84,
the land and hexagon layers as GeoJSON text, the raster image) depend only on the stored
layers and are worth caching; :func:`territory_map` assembles them for one view (filters)
in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.analysis import AnalysisResult
from geo_service.formatting import GE, MBPS, fr_number, plural
from geo_service.maps import commune_coverage, style
from geo_service.maps.commune_coverage import CommuneCoverageLayer, commune_coverage_layer
from geo_service.maps.elements import ScriptControl, ScriptLayer
from geo_service.maps.geojson import (
    bounds_latlon,
    feature_collection,
    map_geometries,
    script_json,
)
from geo_service.maps.layers import (
    DataLayer,
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
from geo_service.maps.page import (
    PageOptions,
    Viewport,
    embed_snippet,
    header_bar,
    new_map,
    render_page,
)
from geo_service.maps.popups import search_key
from geo_service.maps.raster import RasterImage, raster_image
from geo_service.maps.transport import (
    FACILITY_STYLES,
    FacilityLayer,
    facility_config,
    facility_layers,
)
from geo_service.maps.transport import legend_section as transport_legend
from geo_service.maps.view import (
    ZONE_TOLERANCE_M,
    TerritoryView,
    view_mask,
)
from geo_service.maps.viewport import MIN_ZOOM, zone_cells, zone_features
from geo_service.maps.vintage_view import VintageLayer, vintage_layers

#: Simplification tolerance (metres, Lambert-93) of the communes in the territory view.
COMMUNE_TOLERANCE_M: Final = 20.0


@dataclass(frozen=True)
class TerritoryData:
    """The analysis and the prepared (cacheable) pieces of the territory map."""

    result: AnalysisResult
    zone_geometries: np.ndarray[Any, np.dtype[np.object_]]
    commune_geometries: np.ndarray[Any, np.dtype[np.object_]]
    land: DataLayer | None
    hexagons: DataLayer | None
    raster: RasterImage | None
    commune_coverage: CommuneCoverageLayer | None = None
    #: The transport layers (interchanges, stations, hubs, stops), off when the map opens.
    transport: tuple[FacilityLayer, ...] = ()
    #: The zones' history (``analyze --history``), for the vintage view; None without.
    history: pd.DataFrame | None = None

    @property
    def building_level(self) -> bool:
        """Whether coverage is known building by building (premises on the hexagon grid)."""
        return self.hexagons is not None and self.hexagons.count > 0


def prepare_territory(
    result: AnalysisResult,
    *,
    land: gpd.GeoDataFrame | None,
    premises: gpd.GeoDataFrame | None,
    raster_layer: Any | None,
    h3_resolution: int,
    transport: Mapping[str, gpd.GeoDataFrame | None] | None = None,
) -> TerritoryData:
    """All pieces of the territory map, computed (no caching; see ``maps.service``)."""
    communes = commune_geometries(result)
    return TerritoryData(
        result=result,
        zone_geometries=map_geometries(result.zones, tolerance=ZONE_TOLERANCE_M),
        commune_geometries=communes,
        land=None if land is None else land_layer(land),
        hexagons=(
            None
            if premises is None or len(premises) == 0
            else hexagon_layer(premises, h3_resolution)
        ),
        raster=None if raster_layer is None else raster_image(raster_layer),
        commune_coverage=commune_coverage_layer(result, communes),
        transport=facility_layers(transport or {}),
    )


def commune_geometries(result: AnalysisResult) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Simplified WGS84 commune boundaries (empty when the result has none)."""
    communes = result.communes
    communes = communes[communes.geometry.notna()]
    if len(communes) == 0:
        return np.empty(0, dtype=object)
    return map_geometries(communes, tolerance=COMMUNE_TOLERANCE_M)


def territory_map(data: TerritoryData, view: TerritoryView, options: PageOptions) -> folium.Map:
    """The folium map of the territory for one view.

    Layers (in the layer control): zones by status (flagged zones outlined), available
    land, coverage hexagons, coverage raster, communes by their ARCEP statistics (on when
    the map opens only without building-level coverage), the transport layers (off), commune
    boundaries; plus legend,
    search, fullscreen, scale bar, sources and dates, and the demo-data notice when the
    data are synthetic.
    """
    result = data.result
    params = result.run.params
    names = commune_names(result)
    shown, geometries = view_zones(data, view)
    by_viewport = options.viewport is not None and len(shown) > options.viewport.inline_max

    fmap = new_map(options)
    # by viewport (a national territory), commune boundaries would outweigh the zones: left out
    communes_layer = None if by_viewport else _communes_layer(data, view)
    refs: dict[str, Any] = {}
    if data.raster is not None:
        refs["raster"] = ScriptLayer(
            "raster",
            script_json(data.raster.as_json()),
            {"opacity": style.RASTER_OPACITY, "alt": "Raster de couverture (débit maximal)"},
            name="Couverture : raster du débit maximal",
            show=False,
        ).add_to(fmap)
    if data.commune_coverage is not None:
        refs["commune_coverage"] = ScriptLayer(
            "communeCoverage",
            data.commune_coverage.json,
            {
                **share_ramp(params),
                "missing": style.NO_COMMUNE_FIGURES,
                "opacity": style.COMMUNE_OPACITY,
                "missingOpacity": style.NO_COMMUNE_FIGURES_OPACITY,
            },
            name=commune_coverage.LAYER_NAME,
            show=not data.building_level,
        ).add_to(fmap)
    if data.hexagons is not None:
        refs["hexagons"] = ScriptLayer(
            "hexes",
            data.hexagons.json,
            {**share_ramp(params), "opacity": style.HEXAGON_OPACITY},
            name=f"Couverture : locaux à {GE}30{MBPS} (hexagones H3)",
        ).add_to(fmap)
    if data.land is not None:
        refs["land"] = ScriptLayer(
            "land", data.land.json, land_config(data.land), name="Foncier économique disponible"
        ).add_to(fmap)
    for facility in data.transport:
        refs[facility.layer] = ScriptLayer(
            "facilities",
            facility.json,
            facility_config(facility.layer),
            name=FACILITY_STYLES[facility.layer].name,
            show=False,
        ).add_to(fmap)
    if communes_layer is not None:
        refs["communes"] = communes_layer.add_to(fmap)
    if by_viewport:
        assert options.viewport is not None
        refs["zones"] = ScriptLayer(
            "viewportZones",
            zone_cells(shown, geometries),
            _viewport_config(options.viewport, view),
            name="Zones d'activités par statut",
        ).add_to(fmap)
    else:
        refs["zones"] = ScriptLayer(
            "zones",
            zone_features(shown, geometries, names, options.links),
            {"styles": zone_styles()},
            name="Zones d'activités par statut",
        ).add_to(fmap)

    timeline = [] if by_viewport else _vintage_view(data, shown, geometries)
    for layer in timeline:
        refs[layer.key] = ScriptLayer(
            "zones", layer.features, {"styles": layer.styles}, name=layer.name, show=False
        ).add_to(fmap)
    folium.LayerControl(position="topright", collapsed=options.embed).add_to(fmap)
    _add_controls(fmap, data, refs, options, view, len(shown), by_viewport, timeline)
    bounds = bounds_latlon(geometries) or _commune_bounds(data, view) or _all_bounds(data)
    if bounds is not None:
        fmap.fit_bounds(bounds, padding=(20, 20), max_zoom=15)
    return fmap


def _vintage_view(
    data: TerritoryData, shown: gpd.GeoDataFrame, geometries: np.ndarray[Any, np.dtype[np.object_]]
) -> list[VintageLayer]:
    run = data.result.run
    return vintage_layers(shown, geometries, data.history, run.vintages, run.since, run.params)


def view_zones(
    data: TerritoryData, view: TerritoryView
) -> tuple[gpd.GeoDataFrame, np.ndarray[Any, np.dtype[np.object_]]]:
    """The zones ``view`` shows and their map geometries."""
    mask = view_mask(data.result.zones, view)
    return data.result.zones[mask], data.zone_geometries[mask]


def territory_html(data: TerritoryData, view: TerritoryView, options: PageOptions) -> str:
    """The complete HTML page of the territory map for one view."""
    fmap = territory_map(data, view, options)
    names = commune_names(data.result)
    title = territory_title(view, names)
    header = None
    if not options.embed:
        header = header_bar(title, _subtitle(data), _filter_form(view, names, options))
    return render_page(fmap, title=title, header=header, options=options)


def territory_title(view: TerritoryView, names: Mapping[str, str]) -> str:
    """Plain-text title of a view, e.g. ``Zones d'activités : non desservie — Aubesque (13001)``."""
    if view.statuses:
        labels = ", ".join(style.STATUS_LABELS[s].lower() for s in view.statuses)
        title = f"Zones d'activités : {labels}"
    else:
        title = "Zones d'activités et très haut débit"
    if view.commune:
        title += f" — {names.get(view.commune, view.commune)} ({view.commune})"
    return title


def _add_controls(
    fmap: folium.Map,
    data: TerritoryData,
    refs: dict[str, Any],
    options: PageOptions,
    view: TerritoryView,
    shown: int,
    by_viewport: bool,
    timeline: list[VintageLayer],
) -> None:
    params = data.result.run.params
    note = "Contour épais : zone signalée (mal ou non desservie), à traiter en priorité."
    if by_viewport:
        note += (
            " Vue d'ensemble : chaque hexagone a la couleur du statut le plus fréquent de ses "
            f"{fr_number(shown)} zones ; zoomez pour afficher les zones."
        )
    sections: list[dict[str, Any]] = [
        {
            "title": "Statut des zones d'activités",
            "layer": "zones",
            "entries": legend_entries(style.status_entries(params)),
            "note": note,
        }
    ]
    if data.land is not None:
        sections.append(
            {
                "title": "Foncier",
                "layer": "land",
                "entries": legend_entries(
                    [
                        style.LegendEntry(
                            "Parcelle disponible",
                            style.LAND_FILL,
                            stroke=style.LAND_STROKE,
                            opacity=style.LAND_OPACITY,
                        )
                    ]
                ),
            }
        )
    if data.hexagons is not None:
        sections.append(
            {
                "title": f"Locaux à {GE}30{MBPS} (hexagones H3)",
                "layer": "hexagons",
                "entries": legend_entries(style.share_entries(params)),
                "note": "Part des locaux de chaque hexagone H3 (résolution "
                f"{data.hexagons.resolution}) ; plus foncé : moins bien couvert.",
            }
        )
    if data.commune_coverage is not None:
        sections.append(commune_coverage.legend_section(data.commune_coverage, params))
    sections += [transport_legend(facility) for facility in data.transport]
    sections += [layer.legend for layer in timeline]
    if data.raster is not None:
        sections.append(
            raster_legend_section("Plus foncé : débit plus faible ; transparent : débit inconnu.")
        )
    ScriptControl(
        "legend", {"title": "Légende", "sections": sections, "collapsed": False}, refs
    ).add_to(fmap)
    ScriptControl(
        "search",
        {"placeholder": "Rechercher une zone…", "empty": "Aucune zone trouvée"},
        {"zones": refs["zones"]},
    ).add_to(fmap)
    ScriptControl("fullscreen", {"title": "Plein écran"}).add_to(fmap)
    ScriptControl(
        "sources",
        sources_config(
            data.result.run, empty=None if shown else "Aucune zone ne correspond aux filtres."
        ),
    ).add_to(fmap)


def _viewport_config(viewport: Viewport, view: TerritoryView) -> dict[str, Any]:
    query = {"status": ",".join(view.statuses), "commune": view.commune or ""}
    return {
        "url": viewport.url,
        "query": {k: v for k, v in query.items() if v},
        "minZoom": MIN_ZOOM,
        "styles": zone_styles(),
        "loading": "Chargement des zones…",
        "failed": "Les zones n'ont pas pu être chargées ; déplacez la carte pour réessayer.",
        "truncated": "Zones les plus prioritaires seulement : zoomez pour les voir toutes.",
    }


def _communes_layer(data: TerritoryData, view: TerritoryView) -> ScriptLayer | None:
    communes = data.result.communes
    communes = communes[communes.geometry.notna()]
    if len(communes) == 0:
        return None
    props = [{"c": str(code), "h": str(code) == view.commune} for code in communes["commune_insee"]]
    return ScriptLayer(
        "communes",
        feature_collection(data.commune_geometries, props),
        {
            "style": {
                "color": style.COMMUNE_STROKE,
                "weight": 1,
                "fill": False,
                "dashArray": "4 3",
            },
            "highlight": {"color": "#000000", "weight": 3, "fill": False},
        },
        name="Limites communales",
    )


def _commune_bounds(data: TerritoryData, view: TerritoryView) -> list[list[float]] | None:
    if not view.commune:
        return None
    communes = data.result.communes
    communes = communes[communes.geometry.notna()]
    mask = (communes["commune_insee"].astype("string") == view.commune).fillna(False).to_numpy()
    return bounds_latlon(data.commune_geometries[mask])


def _all_bounds(data: TerritoryData) -> list[list[float]] | None:
    return bounds_latlon(data.zone_geometries) or bounds_latlon(data.commune_geometries)


def _subtitle(data: TerritoryData) -> str:
    zones = data.result.zones
    flagged = int(zones["status"].isin(style.FLAGGED).sum())
    text = (
        f"{plural(len(zones), 'zone')}, dont {fr_number(flagged)} signalée"
        f"{'s' if flagged > 1 else ''}"
    )
    if data.result.run.synthetic:
        text += " · données fictives"
    return text


def _filter_form(view: TerritoryView, names: Mapping[str, str], options: PageOptions) -> str:
    if not options.server:
        return ""
    selected = view.statuses[0] if len(view.statuses) == 1 else ""
    status_options = ['<option value="">Tous les statuts</option>'] + [
        f'<option value="{s.value}"{" selected" if s.value == selected else ""}>'
        f"{escape(style.STATUS_LABELS[s])}</option>"
        for s in style.STATUS_ORDER
    ]
    return (
        '<form method="get" role="search" aria-label="Filtres">'
        f'<select name="status" aria-label="Statut">{"".join(status_options)}</select>'
        f"{_commune_field(view, names)}"
        '<button type="submit">Filtrer</button></form>' + embed_snippet()
    )


#: Most communes the filter form lists in a drop-down; beyond (a national territory), it
#: takes an INSEE code typed in.
_COMMUNE_CHOICES_MAX: Final = 2000


def _commune_field(view: TerritoryView, names: Mapping[str, str]) -> str:
    if len(names) > _COMMUNE_CHOICES_MAX:
        value = escape(view.commune or "")
        return (
            f'<input name="commune" value="{value}" size="9" maxlength="5" '
            'placeholder="Code INSEE" aria-label="Commune (code INSEE)" '
            'pattern="[0-9]{5}|2[ABab][0-9]{3}">'
        )
    options = ['<option value="">Toutes les communes</option>'] + [
        f'<option value="{escape(code)}"{" selected" if code == view.commune else ""}>'
        f"{escape(name)} ({escape(code)})</option>"
        for code, name in sorted(names.items(), key=lambda item: search_key(item[1]))
    ]
    return f'<select name="commune" aria-label="Commune">{"".join(options)}</select>'
