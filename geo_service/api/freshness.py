"""Keeping the served layers fresh without blocking the event loop.

Before a request reaches its route, :class:`FreshWorkspaceMiddleware` checks (one version read
per layer held: a ``stat`` of its file, or a query on PostGIS) whether the store replaced a
layer the workspace holds in memory. If so, the first such request waits, off the event loop,
for :meth:`~geo_service.workspace.Workspace.refresh` to rebuild the in-memory layers and
indexes in a worker thread; requests arriving meanwhile are served from the previous ones,
whole and consistent. So an import never stalls the server, and a client that reads after its
own write sees the new data. Each request then reads the generation of the in-memory layers
current when it started (:meth:`~geo_service.workspace.Workspace.pinned`), whole.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from geo_service.workspace import Workspace

logger = logging.getLogger("geo_service.api")

#: Paths that never read the store's layers.
_SKIPPED_PREFIXES: Final = ("/assets/", "/healthz", "/docs", "/openapi.json")


class FreshWorkspaceMiddleware:
    """Refreshes the workspace's stale layers off the loop before a request is handled."""

    def __init__(self, app: ASGIApp, workspace: Workspace) -> None:
        self.app = app
        self.workspace = workspace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not str(scope.get("path", "")).startswith(_SKIPPED_PREFIXES):
            try:
                await self.workspace.ensure_fresh()
            except Exception:  # the route reads the store itself and reports what fails
                logger.exception("cannot refresh the served layers")
            with self.workspace.pinned():
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)
