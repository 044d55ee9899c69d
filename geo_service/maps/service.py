"""Maps of a workspace: the pieces and the pages, cached until the store changes.

This is what the CLI (``geo-service map``) and the web routes (``/maps/...``) call. The heavy
pieces of the territory map (simplified geometries, land and hexagon layers, raster image)
are cached per layer version with :meth:`Workspace.cached`; whole pages are kept in a small
LRU cache per results version, keyed by view, page options and the versions of the other
layers they show.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from geo_service import pipeline
from geo_service.errors import ParameterError
from geo_service.maps.assets import ALL_ASSETS, AssetMode, copy_assets
from geo_service.maps.commune_coverage import commune_coverage_layer
from geo_service.maps.layers import hexagon_layer, land_layer
from geo_service.maps.page import BASEMAP_NAMES, PageOptions
from geo_service.maps.popups import Links
from geo_service.maps.raster import raster_image
from geo_service.maps.territory import TerritoryData, commune_geometries, territory_html
from geo_service.maps.transport import FACILITY_STYLES, FacilityLayer, facility_layers
from geo_service.maps.view import TerritoryView
from geo_service.maps.viewport_service import territory_view, zone_geometries
from geo_service.maps.zone import zone_data, zone_html
from geo_service.workspace import CacheKey, CacheKind, Workspace

#: Pages kept in memory (per results version).
PAGE_CACHE_SIZE: Final = 32
_LAYERS_SHOWN: Final = (
    pipeline.LAND,
    pipeline.PREMISES,
    pipeline.COVERAGE,
    pipeline.ZONE_HISTORY,
    *FACILITY_STYLES,
)


def check_basemap(value: str) -> str:
    """``value`` if it names a basemap; ParameterError naming ``basemap`` otherwise."""
    if value not in BASEMAP_NAMES:
        raise ParameterError(
            "basemap", f"unknown basemap '{value}'; expected one of {', '.join(BASEMAP_NAMES)}"
        )
    return value


def territory_data(workspace: Workspace) -> TerritoryData:
    """The territory map's pieces, each computed once per version of its layer."""
    result = workspace.results()
    store = workspace.store
    land = None
    if store.has_layer(pipeline.LAND):
        land = workspace.cached(
            CacheKey(CacheKind.MAP, "land"),
            pipeline.LAND,
            lambda: land_layer(workspace.layer(pipeline.LAND)),
        )
    resolution = workspace.settings.h3_resolution
    hexagons = None
    if store.has_layer(pipeline.PREMISES):
        hexagons = workspace.cached(
            CacheKey(CacheKind.MAP, f"hexagons:{resolution}"),
            pipeline.PREMISES,
            lambda: hexagon_layer(workspace.layer(pipeline.PREMISES), resolution),
        )
    raster = None
    coverage = workspace.raster()
    if coverage is not None:
        raster = workspace.cached(
            CacheKey(CacheKind.MAP, "raster"), pipeline.COVERAGE, lambda: raster_image(coverage)
        )
    communes = workspace.cached(
        CacheKey(CacheKind.MAP, "commune-geometries"),
        pipeline.ZONE_RESULTS,
        lambda: commune_geometries(result),
    )
    return TerritoryData(
        result=result,
        zone_geometries=zone_geometries(workspace, result),
        commune_geometries=communes,
        land=land,
        hexagons=hexagons,
        raster=raster,
        commune_coverage=workspace.cached(
            CacheKey(CacheKind.MAP, "commune-coverage"),
            pipeline.ZONE_RESULTS,
            lambda: commune_coverage_layer(result, communes),
        ),
        transport=_facilities(workspace),
        history=workspace.optional_layer(pipeline.ZONE_HISTORY),
    )


def _facilities(workspace: Workspace) -> tuple[FacilityLayer, ...]:
    """The transport layers of the map, each prepared once per version of its layer."""
    out: list[FacilityLayer] = []
    for name in FACILITY_STYLES:
        if not workspace.store.has_layer(name):
            continue
        out += workspace.cached(
            CacheKey(CacheKind.MAP, f"facilities:{name}"),
            name,
            _facility_builder(workspace, name),
        )
    return tuple(out)


def _facility_builder(workspace: Workspace, name: str) -> Callable[[], tuple[FacilityLayer, ...]]:
    return lambda: facility_layers({name: workspace.layer(name)})


def territory_page(workspace: Workspace, view: TerritoryView, options: PageOptions) -> str:
    """The HTML page of the territory map for ``view`` (cached)."""
    key = ("territory", view.key(), _options_key(options), _versions(workspace))
    return _pages(workspace).get(
        key, lambda: territory_html(territory_data(workspace), view, options)
    )


def zone_page(workspace: Workspace, zone_id: str, options: PageOptions) -> str:
    """The HTML page of the map of zone ``zone_id`` (cached; NotFoundError if unknown)."""
    key = ("zone", zone_id, _options_key(options), _versions(workspace))

    def build() -> str:
        data = zone_data(
            workspace.results(),
            zone_id,
            land=workspace.optional_layer(pipeline.LAND),
            premises=workspace.optional_layer(pipeline.PREMISES),
            raster=workspace.raster(),
            history=workspace.optional_layer(pipeline.ZONE_HISTORY),
            transport={name: workspace.optional_layer(name) for name in FACILITY_STYLES},
        )
        return zone_html(data, options)

    return _pages(workspace).get(key, build)


@dataclass(frozen=True)
class MapFile:
    """A map written by :func:`export_map`."""

    path: Path
    size: int
    seconds: float
    assets: Path | None


def export_map(
    workspace: Workspace,
    out: Path,
    *,
    zone_id: str | None = None,
    status: str | None = None,
    commune: str | None = None,
    self_contained: bool = False,
    basemap: str | None = None,
    embed: bool = False,
) -> MapFile:
    """Write the territory map (or the map of ``zone_id``) to the HTML file ``out``.

    With ``self_contained``, every script, style and image is inlined: one file that works
    from ``file://`` with no network. Otherwise they are copied to ``<stem>_assets/`` beside
    the file and linked relatively. Links to zones' data and opinions use the settings'
    ``public_url``; without it the file carries none (no address would be true for its reader).
    """
    started = time.perf_counter()
    if zone_id is not None and (status or commune):
        raise ParameterError(
            "--status/--commune", "filter the territory map; omit them with --zone"
        )
    folder = out.parent / f"{out.stem}_assets"
    options = PageOptions(
        embed=embed,
        basemap=check_basemap(basemap or workspace.settings.basemap),
        assets=AssetMode.inline() if self_contained else AssetMode(quote(folder.name)),
        links=Links(workspace.settings.public_url) if workspace.settings.public_url else None,
        server=False,
    )
    if zone_id is not None:
        page = zone_page(workspace, zone_id, options)
    else:
        page = territory_page(workspace, territory_view(workspace, status, commune), options)
    content = page.encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
        if not self_contained:
            copy_assets(list(ALL_ASSETS), folder)
    except OSError as exc:
        raise ParameterError("--out", f"cannot write {out}: {exc.strerror or exc}") from None
    return MapFile(
        path=out,
        size=len(content),
        seconds=time.perf_counter() - started,
        assets=None if self_contained else folder,
    )


@dataclass
class _PageCache:
    """Least recently used pages, bounded by :data:`PAGE_CACHE_SIZE`."""

    pages: OrderedDict[tuple[Any, ...], str] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
                return page
        page = build()
        with self.lock:
            self.pages[key] = page
            while len(self.pages) > PAGE_CACHE_SIZE:
                self.pages.popitem(last=False)
        return page


def _pages(workspace: Workspace) -> _PageCache:
    return workspace.cached(CacheKey(CacheKind.MAP, "pages"), pipeline.ZONE_RESULTS, _PageCache)


def _versions(workspace: Workspace) -> tuple[str | None, ...]:
    return tuple(workspace.version(name) for name in _LAYERS_SHOWN)


def _options_key(options: PageOptions) -> tuple[Any, ...]:
    links = None if options.links is None else options.links.base
    return (
        options.embed,
        options.basemap,
        options.assets.prefix,
        links,
        options.server,
        options.viewport,
    )
