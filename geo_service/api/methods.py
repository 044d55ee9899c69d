"""HTTP methods every resource answers: HEAD wherever GET works, OPTIONS everywhere.

:class:`MethodsMiddleware` is the one place for both (pure ASGI, so streaming is untouched):

- ``HEAD`` is handled as the ``GET`` of the same URL, whose status and headers are sent
  (``Content-Length`` and ``Content-Encoding`` included, as HTTP requires) without its body;
- ``OPTIONS`` answers ``204 No Content`` with an ``Allow`` header listing every method the
  path's routes accept (``HEAD`` with ``GET``, and ``OPTIONS``), or passes to the app
  (``404``) when no route has the path. A CORS preflight (``Access-Control-Request-Method``)
  goes on to the CORS middleware.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.routing import iter_route_contexts
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The order methods are listed in ``Allow``.
_ORDER: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, scope: Scope) -> tuple[str, ...]:
    """The methods the app's routes accept at the request's path (empty: no such path)."""
    methods: set[str] = set()
    probe = {**scope, "method": "GET"}
    for context in iter_route_contexts(getattr(app, "routes", ())):
        route = context.original_route
        match, _ = route.matches(probe)
        if match is Match.NONE:
            continue
        # A mount (static assets) serves reads: GET.
        methods |= set(getattr(route, "methods", None) or ("GET",))
    if not methods:
        return ()
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return tuple(sorted(methods, key=lambda m: _ORDER.index(m) if m in _ORDER else len(_ORDER)))


class MethodsMiddleware:
    """HEAD as GET without the body; OPTIONS answered with the path's ``Allow``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method")
        if method == "HEAD":
            await self._head(scope, receive, send)
        elif method == "OPTIONS" and not _is_preflight(scope):
            await self._options(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = allowed_methods(scope.get("app"), scope)
        if not methods:
            await self.app(scope, receive, send)
            return
        headers = [(b"allow", ", ".join(methods).encode()), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _is_preflight(scope: Scope) -> bool:
    return any(name == b"access-control-request-method" for name, _ in scope.get("headers", ()))
