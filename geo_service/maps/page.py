"""The page around a map: basemap, assets, header, embed mode, and rendering to HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Final, Literal

from geo_service.maps.assets import LEAFLET_CSS, LEAFLET_JS, MAP_CSS, MAP_JS, AssetMode
from geo_service.maps.popups import Links

if TYPE_CHECKING:  # folium loads with the first map drawn, not with the API
    import folium

Basemap = Literal["none", "osm", "ign-plan"]


@dataclass(frozen=True)
class TileSource:
    """A basemap: tile URL template, escaped HTML attribution, and the host it loads from."""

    name: str
    url: str
    attribution: str
    host: str
    max_zoom: int = 19


#: Basemaps by setting value; ``none`` draws no tile layer at all (works offline).
BASEMAPS: Final[dict[str, TileSource]] = {
    "osm": TileSource(
        "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">'
        "les contributeurs d’OpenStreetMap</a>",
        "tile.openstreetmap.org",
    ),
    "ign-plan": TileSource(
        "Plan IGN v2",
        "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
        "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}",
        '&copy; <a href="https://www.ign.fr/">IGN</a> – Géoplateforme (Plan IGN v2)',
        "data.geopf.fr",
    ),
}
BASEMAP_NAMES: Final = ("none", *BASEMAPS)


@dataclass(frozen=True)
class Viewport:
    """How a served territory map loads its zones when there are too many to inline.

    ``url`` answers the zones of a bounding box (``GET /maps/territory/zones``); above
    ``inline_max`` zones the page holds an overview and loads the zones of the viewport.
    """

    url: str
    inline_max: int


@dataclass(frozen=True)
class PageOptions:
    """How a map page is made.

    Parameters
    ----------
    embed
        Chrome-free map filling its frame (for an ``<iframe>``).
    basemap
        ``none`` (no tiles: works offline), ``osm`` or ``ign-plan``.
    assets
        How the page refers to Leaflet and the map script (linked under a prefix, or inlined).
    links
        Where the app's pages are (API items, opinions, zone maps); None in a file made
        without a server address, which then has no such links.
    server
        Served by the app: the page offers filters and the iframe snippet.
    viewport
        Served with a zones endpoint: a territory with more zones than it allows is shown by
        viewport (None: every zone is inlined, as in a file that must work offline).
    """

    embed: bool = False
    basemap: str = "none"
    assets: AssetMode = field(default_factory=AssetMode)
    links: Links | None = field(default_factory=Links)
    server: bool = True
    viewport: Viewport | None = None


def new_map(options: PageOptions) -> folium.Map:
    """An empty folium map without any CDN asset, with the chosen basemap."""
    import folium

    fmap = folium.Map(
        location=[43.5, 5.4],
        zoom_start=10,
        tiles=None,
        zoom_control=True,
        control_scale=False,
        font_size="13px",
        maxZoom=19,
        zoomSnap=0.25,
        zoomDelta=0.5,
    )
    fmap.default_js = []
    fmap.default_css = []
    source = BASEMAPS.get(options.basemap)
    if source is not None:
        folium.TileLayer(
            tiles=source.url,
            attr=source.attribution,
            name=source.name,
            max_zoom=source.max_zoom,
            overlay=False,
            control=False,
        ).add_to(fmap)
    return fmap


def render_page(
    fmap: folium.Map,
    *,
    title: str,
    header: str | None,
    options: PageOptions,
    css: list[str] | None = None,
    js: list[str] | None = None,
) -> str:
    """The complete HTML document of ``fmap``.

    Parameters
    ----------
    title
        Plain-text title of the page (escaped here).
    header
        Escaped HTML of the page's header bar, or None (no header; always None when embedded).
    css, js
        Assets needed besides Leaflet and the map script, in load order.
    """
    from branca.element import Element, Figure

    from geo_service.maps.elements import PageScript

    figure = fmap.get_root()
    assert isinstance(figure, Figure)
    figure.title = escape(title)
    styles = [LEAFLET_CSS, *(css or []), MAP_CSS]
    scripts = [LEAFLET_JS, *(js or []), MAP_JS]
    icon = "" if options.assets.inlined else '<link rel="icon" href="data:,">\n'
    figure.header.add_child(
        Element(icon + options.assets.tags(styles, scripts)), name="geo_service_assets"
    )
    if header is not None and not options.embed:
        figure.html.add_child(Element(header), name="geo_service_header")
        fmap.add_child(PageScript({"title": escape(title), "copied": "Copié"}))
    html: str = figure.render()
    return html.replace("<html>", '<html lang="fr">', 1)


def header_bar(title: str, subtitle: str, extra: str = "") -> str:
    """Escaped HTML of a header bar: ``title`` and ``subtitle`` are plain text."""
    return (
        '<header class="gs-header">'
        f"<h1>{escape(title)}</h1>"
        f'<span class="gs-subtitle">{escape(subtitle)}</span>'
        f"{extra}</header>"
    )


def embed_snippet() -> str:
    """The "embed this map" box; the page script fills in the iframe code of the current view."""
    return (
        '<details class="gs-embed"><summary>Intégrer cette carte</summary>'
        '<div class="gs-embed-box"><p>Copiez ce code dans votre page :</p>'
        '<textarea id="gs-embed-code" readonly aria-label="Code d’intégration"></textarea>'
        '<button type="button" id="gs-embed-copy">Copier</button></div></details>'
    )
