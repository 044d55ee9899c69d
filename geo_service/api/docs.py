"""Route: the interactive API documentation (Swagger UI), served offline from installed assets.

FastAPI's default ``/docs`` loads Swagger UI from a CDN; this page links the copy of the
``swagger-ui-py`` package under ``/assets/swagger-ui/`` instead, and allows its one inline
script by hash, so the documentation works with no internet.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from geo_service.api.security import docs_policy

router = APIRouter()


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """Swagger UI on this service's OpenAPI document."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="geo-service — API",
        swagger_js_url="/assets/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/assets/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/assets/swagger-ui/favicon-32x32.png",
    )
    page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
    return page
