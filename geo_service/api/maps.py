"""Routes: the interactive maps (territory map with URL filters, zone maps, embed mode).

Pages are HTML documents built by :mod:`geo_service.maps.service` (the same code as
``geo-service map``); their scripts and styles come from ``/assets`` (never a CDN). Each page
carries a Content-Security-Policy that allows loads from this server only (plus the tile host
of a basemap, when one is configured) and lets the sites of ``GEO_SERVICE_FRAME_ANCESTORS``
frame it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from geo_service.api.deps import SettingsDep, WorkspaceDep
from geo_service.api.errors import NOT_FOUND_RESPONSES
from geo_service.api.params import reject_unknown_parameters
from geo_service.api.security import map_policy
from geo_service.maps.assets import AssetMode
from geo_service.maps.page import BASEMAPS, PageOptions
from geo_service.maps.popups import Links
from geo_service.maps.service import territory_page, territory_view, zone_page
from geo_service.settings import Settings

router = APIRouter(tags=["Maps"], dependencies=[Depends(reject_unknown_parameters)])

StatusQuery = Annotated[
    str | None,
    Query(
        description="Show only the zones of these statuses (comma-separated): served, "
        "underserved, unserved, unknown.",
        examples=["underserved,unserved"],
    ),
]
CommuneQuery = Annotated[
    str | None,
    Query(
        description="Show only the zones of this commune (INSEE code) and fit the map to it.",
        examples=["13901"],
    ),
]
EmbedQuery = Annotated[
    bool,
    Query(description="`1`: the map alone, sized to fill an iframe (no header, no snippet)."),
]
BasemapQuery = Annotated[
    Literal["none", "osm", "ign-plan"] | None,
    Query(
        description="Basemap: none (no tiles, works offline), osm or ign-plan [default: "
        "GEO_SERVICE_BASEMAP]."
    ),
]
_HTML_RESPONSE = {"content": {"text/html": {}}, "description": "The map, as an HTML page."}


@router.get("/maps", include_in_schema=False)
def maps_index(request: Request) -> RedirectResponse:
    """The territory map."""
    return RedirectResponse(f"{root_path(request)}/maps/territory", status_code=307)


@router.get(
    "/maps/territory",
    summary="Territory map",
    response_class=HTMLResponse,
    responses={200: _HTML_RESPONSE, **NOT_FOUND_RESPONSES},
)
def territory(
    request: Request,
    workspace: WorkspaceDep,
    settings: SettingsDep,
    status: StatusQuery = None,
    commune: CommuneQuery = None,
    embed: EmbedQuery = False,
    basemap: BasemapQuery = None,
) -> HTMLResponse:
    """Activity zones by broadband status, available land, coverage (H3 hexagons, raster) and
    communes, with legend, search, popups (key figures, reasons, links to the zone's API item
    and opinion). `status` and `commune` filter the zones so that a view can be shared as a
    link; `embed=1` gives the map alone for an iframe."""
    view = territory_view(workspace, status, commune)
    options = _page_options(request, settings, embed=embed, basemap=basemap)
    return _html(territory_page(workspace, view, options), settings, options)


@router.get(
    "/maps/zones/{zone_id}",
    summary="Zone map",
    response_class=HTMLResponse,
    responses={200: _HTML_RESPONSE, **NOT_FOUND_RESPONSES},
)
def zone(
    request: Request,
    workspace: WorkspaceDep,
    settings: SettingsDep,
    zone_id: str,
    embed: EmbedQuery = False,
    basemap: BasemapQuery = None,
) -> HTMLResponse:
    """One zone, fitted: its outline and figures, the land plots around it, its premises by
    ARCEP class (clustered), and the coverage raster around it. 404 for an unknown zone."""
    options = _page_options(request, settings, embed=embed, basemap=basemap)
    return _html(zone_page(workspace, zone_id, options), settings, options)


def root_path(request: Request) -> str:
    """The path the app is mounted under (``root_path``, e.g. behind a proxy), without ``/``."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _page_options(
    request: Request, settings: Settings, *, embed: bool, basemap: str | None
) -> PageOptions:
    root = root_path(request)
    return PageOptions(
        embed=embed,
        basemap=basemap or settings.basemap,
        assets=AssetMode(prefix=f"{root}/assets"),
        links=Links(base=root),
        server=True,
    )


def _html(page: str, settings: Settings, options: PageOptions) -> HTMLResponse:
    return HTMLResponse(page, headers=security_headers(settings, options.basemap, page))


def security_headers(settings: Settings, basemap: str, page: str = "") -> dict[str, str]:
    """Headers of a map page: loads from this server only (and the basemap's tile host), the
    page's own inline scripts allowed by their hashes, and framing by the sites of
    ``frame_ancestors`` (the other security headers come from the app's middleware)."""
    source = BASEMAPS.get(basemap)
    policy = map_policy(settings.frame_ancestors, source.host if source else None, page)
    return {"Content-Security-Policy": policy, "Cache-Control": "no-cache"}
