"""The JSON API (FastAPI): OGC API - Features, domain endpoints, maps.

:func:`create_app` is loaded on first use, so that light modules of this package (the
server's start-up front, :mod:`geo_service.api.starting`) load without the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_service.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from geo_service.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
