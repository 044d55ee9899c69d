"""``create_app()`` only assembles: settings, workspace, routers, error handlers, middleware."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from geo_service.api import assets, docs, domain, maps, ogc, opinions, write
from geo_service.api.auth import KeyChecker
from geo_service.api.collections import COLLECTIONS
from geo_service.api.errors import install_error_handlers
from geo_service.api.features import feature_index
from geo_service.api.freshness import FreshWorkspaceMiddleware
from geo_service.api.point import what_is_here
from geo_service.api.security import ReadOnlyCORSMiddleware, SecurityHeadersMiddleware
from geo_service.settings import Settings
from geo_service.workspace import Workspace

DESCRIPTION = (
    "Broadband coverage of activity zones and business land (CCI Aix-Marseille-Provence): "
    "OGC API - Features (zones, communes, EPCIs, land, premises), zone endpoints, interactive "
    "maps and planning opinions. Invalid or unknown query parameters give 400, unknown ids 404, "
    'both with a JSON body `{"code": ..., "description": ...}`.'
)


def create_app(settings: Settings | None = None, *, prepare: bool = True) -> FastAPI:
    """The geo-service web application.

    Parameters
    ----------
    settings
        Configuration (default: from the environment).
    prepare
        Build and analyse the demo territory first when the store is empty.
    """
    settings = settings or Settings()
    workspace = Workspace(settings)
    if prepare:
        workspace.ensure_ready()
    app = FastAPI(
        title="geo-service", description=DESCRIPTION, version="0.1.0", docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.workspace = workspace
    app.state.key_checker = KeyChecker(settings.api_key_hash)
    app.state.write_lock = threading.Lock()
    install_error_handlers(app)
    app.add_middleware(FreshWorkspaceMiddleware, workspace=workspace)
    app.add_middleware(ReadOnlyCORSMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    for module in (ogc, domain, maps, assets, opinions, write, docs):
        app.include_router(module.router)
    app.include_router(ogc.fallback_router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def warm_up(app: FastAPI) -> None:
    """Load every served layer and build its indexes now, rather than on the first requests."""
    workspace: Workspace = app.state.workspace
    for spec in COLLECTIONS.values():
        if workspace.store.has_layer(spec.layer):
            feature_index(workspace, spec)
    what_is_here(workspace, "", 5.4, 43.3, 1.0)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, without FastAPI's 422 responses (invalid requests give 400)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in document.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                responses.pop("422", None)
                for status, response in responses.items():
                    if status.startswith(("4", "5")) and "content" in response:
                        # Errors are JSON whatever the route's own media type.
                        schemas = [c.get("schema") for c in response["content"].values()]
                        response["content"] = {"application/json": {"schema": schemas[0]}}
        schemas = document.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = document
    return app.openapi_schema
