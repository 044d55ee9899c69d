"""Dependencies shared by the routes: settings and the workspace of the running app."""

from __future__ import annotations

from fastapi import Request

from geo_service.settings import Settings
from geo_service.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    """The app's workspace (store and cached layers)."""
    workspace: Workspace = request.app.state.workspace
    return workspace


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings
