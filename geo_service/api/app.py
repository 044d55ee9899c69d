"""``create_app()`` only assembles: settings, workspace, routers, error handlers, middleware."""

from __future__ import annotations

import threading
from typing import Final

from fastapi import FastAPI, Request, Response
from starlette.middleware.gzip import GZipMiddleware

from geo_service import import_worker
from geo_service.api import (
    assets,
    docs,
    domain,
    history,
    maps,
    ogc,
    opinions,
    record,
    tiles,
    write,
)
from geo_service.api.auth import KeyChecker
from geo_service.api.body_deadline import BodyDeadlineMiddleware
from geo_service.api.collections import COLLECTIONS
from geo_service.api.errors import install_error_handlers
from geo_service.api.features import feature_index
from geo_service.api.freshness import FreshWorkspaceMiddleware
from geo_service.api.links import OPENAPI
from geo_service.api.methods import MethodsMiddleware
from geo_service.api.openapi import openapi_document
from geo_service.api.point import what_is_here
from geo_service.api.responses import json_response
from geo_service.api.security import ReadOnlyCORSMiddleware, SecurityHeadersMiddleware
from geo_service.settings import Settings
from geo_service.workspace import Workspace

DESCRIPTION = (
    "Broadband coverage of activity zones and business land (CCI Aix-Marseille-Provence): "
    "OGC API - Features (zones, communes, EPCIs, land, premises), zone endpoints, interactive "
    "maps and planning opinions. Invalid or unknown query parameters give 400, unknown ids 404, "
    'both with a JSON body `{"code": ..., "description": ...}`.'
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The geo-service web application over the store ``settings`` name (default: from the
    environment), served as it is: an empty store is served empty (``geo-service serve``
    prepares the store first, see :func:`geo_service.pipeline.prepare_store`).
    """
    settings = settings or Settings()
    workspace = Workspace(settings)
    app = FastAPI(
        title="geo-service",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.workspace = workspace
    app.state.key_checker = KeyChecker(settings.api_key_hash)
    app.state.write_lock = threading.Lock()
    install_error_handlers(app)
    # Outermost last: security headers on every answer; HEAD and OPTIONS; compression; CORS
    # for reads; fresh layers for the routes; a deadline on request bodies.
    app.add_middleware(BodyDeadlineMiddleware, seconds=settings.request_body_timeout_s)
    app.add_middleware(FreshWorkspaceMiddleware, workspace=workspace)
    app.add_middleware(ReadOnlyCORSMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    for module in (ogc, tiles, domain, history, maps, assets, opinions, record, write, docs):
        app.include_router(module.router)
    app.include_router(ogc.fallback_router)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.add_api_route("/openapi.json", _openapi_route, include_in_schema=False)
    return app


#: Answers smaller than this are sent uncompressed; larger ones gzipped when accepted.
GZIP_MINIMUM_BYTES: Final = 1024
#: zlib level: 5 compresses a page of zones 8x at a fraction of level 9's time.
GZIP_LEVEL: Final = 5


def _openapi_route(request: Request) -> Response:
    """The OpenAPI 3.0 document (``application/vnd.oai.openapi+json;version=3.0``)."""
    return json_response(request.app.openapi(), OPENAPI)


def warm_up(app: FastAPI) -> None:
    """Load every served layer and build its indexes now, rather than on the first requests;
    start the imports' fork server when writing is enabled."""
    workspace: Workspace = app.state.workspace
    if app.state.settings.api_key_hash:
        import_worker.start()
    for spec in COLLECTIONS.values():
        if workspace.store.has_layer(spec.layer):
            feature_index(workspace, spec)
    what_is_here(workspace, "", 5.4, 43.3, 1.0)
