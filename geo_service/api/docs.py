"""Route: the interactive API documentation (Swagger UI), served offline from installed assets.

FastAPI's default ``/docs`` loads Swagger UI from a CDN; this page links the copy of the
``swagger-ui-py`` package under ``/assets/swagger-ui/`` instead, and allows its one inline
script by hash, so the documentation works with no internet.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from geo_service.api.maps import root_path
from geo_service.api.security import docs_policy

router = APIRouter()


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI on this service's OpenAPI document (under the app's ``root_path``, as the
    maps' links are)."""
    root = root_path(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="geo-service — API",
        swagger_js_url=f"{root}/assets/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/assets/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{root}/assets/swagger-ui/favicon-32x32.png",
    )
    page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
    return page
