"""Dependencies shared by the routes: settings and the workspace of the running app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final

import anyio
from fastapi import Depends, Request

from geo_service import pipeline
from geo_service.settings import Settings
from geo_service.workspace import Workspace

if TYPE_CHECKING:
    from geo_service.api.collections import CollectionSpec


def get_workspace(request: Request) -> Workspace:
    """The app's workspace (store and cached layers)."""
    workspace: Workspace = request.app.state.workspace
    return workspace


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def _workspace(request: Request) -> Workspace:
    # Async so that FastAPI resolves it on the event loop, not in a worker thread.
    return get_workspace(request)


async def _settings(request: Request) -> Settings:
    return get_settings(request)


WorkspaceDep = Annotated[Workspace, Depends(_workspace)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def is_synthetic(workspace: Workspace) -> bool:
    """Whether the data served is (or includes) the synthetic demo territory."""
    for name in (pipeline.ZONE_RESULTS, pipeline.ZONES):
        if workspace.store.has_layer(name):
            return workspace.meta(name).synthetic
    return False


#: Large collections' pages (premises) built at once: one per core, so that however many such
#: requests arrive, threads remain for every other request.
HEAVY_PAGES_AT_ONCE: Final = 2


def thread_limiter(request: Request, spec: CollectionSpec) -> anyio.CapacityLimiter | None:
    """The thread limiter of ``spec``'s pages and tiles: a small one of its own for the
    collections whose answers are made on request (premises), the default one for the others."""
    if spec.precompute:
        return None
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "heavy_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(HEAVY_PAGES_AT_ONCE)
        request.app.state.heavy_limiter = limiter
    return limiter
