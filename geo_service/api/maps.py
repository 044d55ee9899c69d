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
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo_service.api.deps import SettingsDep, WorkspaceDep
from geo_service.api.errors import ERROR_RESPONSES, NOT_FOUND_RESPONSES
from geo_service.api.links import GEOJSON
from geo_service.api.params import parse_bbox, reject_unknown_parameters
from geo_service.api.responses import GeoJSONResponse
from geo_service.api.security import map_policy
from geo_service.maps.assets import AssetMode
from geo_service.maps.page import BASEMAPS, PageOptions, Viewport
from geo_service.maps.popups import Links
from geo_service.maps.viewport import MAX_FEATURES
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
_ZONES_RESPONSE = {
    "content": {GEOJSON: {}},
    "description": "A GeoJSON FeatureCollection with numberMatched and numberReturned.",
}


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
    from geo_service.maps.service import territory_page
    from geo_service.maps.viewport_service import territory_view

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
    from geo_service.maps.service import zone_page

    options = _page_options(request, settings, embed=embed, basemap=basemap)
    return _html(zone_page(workspace, zone_id, options), settings, options)


@router.get(
    "/maps/territory/zones",
    summary="Zones of the territory map in a bounding box",
    response_class=GeoJSONResponse,
    responses={200: _ZONES_RESPONSE, **ERROR_RESPONSES},
)
def territory_zones_route(
    request: Request,
    workspace: WorkspaceDep,
    bbox: Annotated[
        str | None,
        Query(
            description="Only the zones meeting this box: minLon,minLat,maxLon,maxLat (CRS84).",
            examples=["5.3,43.2,5.6,43.4"],
        ),
    ] = None,
    status: StatusQuery = None,
    commune: CommuneQuery = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Only the zones whose name, id or commune holds this."),
    ] = None,
    id: Annotated[str | None, Query(max_length=200, description="Only this zone.")] = None,
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_FEATURES, description="Most zones returned (the flagged first)."),
    ] = MAX_FEATURES,
) -> Response:
    """The zones as the territory map draws them (status, tooltip, popup, search key), for a
    map shown by viewport (a territory above `GEO_SERVICE_MAP_INLINE_ZONES_MAX` zones): the
    map asks for the zones of its view as the user zooms in. `numberMatched` says how many
    zones matched; at most `limit` come, the flagged ones first."""
    from geo_service.maps.viewport_service import territory_view, territory_zones

    view = territory_view(workspace, status, commune)
    found = territory_zones(
        workspace,
        view,
        Links(base=root_path(request)),
        bboxes=parse_bbox(bbox),
        query=q,
        zone_id=id,
        limit=limit,
    )
    return Response(found.as_json(), media_type=GEOJSON)


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
        viewport=Viewport(f"{root}/maps/territory/zones", settings.map_inline_zones_max),
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
