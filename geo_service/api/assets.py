"""Routes: the maps' scripts, styles and images, from installed packages (never a CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from geo_service.api.errors import NOT_FOUND_RESPONSES
from geo_service.maps.assets import asset_file, media_type
from geo_service.maps.style import favicon_svg

router = APIRouter(tags=["Maps"])


@router.get(
    "/assets/{name:path}",
    summary="Map asset",
    response_class=FileResponse,
    responses=NOT_FOUND_RESPONSES,
    include_in_schema=False,
)
def asset(name: str) -> FileResponse:
    """Leaflet, Leaflet.markercluster or geo-service's map script and style (``bundle/path``).

    404 for anything else; only files of known types inside a bundle are served.
    """
    return FileResponse(
        asset_file(name),
        media_type=media_type(name),
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The icon browsers ask for on every page (SVG)."""
    return Response(
        favicon_svg(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
