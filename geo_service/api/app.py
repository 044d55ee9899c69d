"""``create_app()`` only assembles: settings, workspace, routers, error handlers, middleware."""

from __future__ import annotations

from fastapi import FastAPI

from geo_service.api import assets, domain, maps, ogc
from geo_service.settings import Settings
from geo_service.workspace import Workspace


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
        title="geo-service",
        description=(
            "Broadband coverage of activity zones and business land (CCI Aix-Marseille-Provence): "
            "OGC API - Features, zone endpoints, interactive maps and planning opinions."
        ),
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.workspace = workspace
    for module in (ogc, domain, maps, assets):
        app.include_router(module.router)
    return app
