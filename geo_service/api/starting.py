"""The server's front while it starts: ``/healthz`` at once, every other request once loaded.

``geo-service serve`` listens before it imports the web application, prepares the store and
loads the served layers with their indexes (seconds at département scale, more on a busy
machine): :class:`StartingFront` runs that loading in a background thread and answers, until it
is done,

- ``GET``/``HEAD /healthz`` with 200 ``{"status": "loading", "analysed": null}`` (the process
  is alive; whether the store holds results is not known yet);
- any other request by waiting for the loaded application, then handing the request to it: no
  answer is made from half-loaded layers.

Once loaded, every request (``/healthz`` included, ``{"status": "ok", ...}``) goes to the
application. If loading fails, waiting requests get 503 ``StoreUnavailable`` and the server is
asked to stop; :meth:`StartingFront.raise_failure` re-raises the error for the command to report.

This module loads only Starlette pieces, so that the front listens within a second.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from geo_service.api.security import ReadOnlyCORSMiddleware, SecurityHeadersMiddleware

#: The answer of ``/healthz`` while the server loads.
LOADING: Final = {"status": "loading", "analysed": None}
_HEALTH_PATH: Final = "/healthz"


class StartingFront:
    """ASGI application in front of the one ``load()`` makes in a background thread."""

    def __init__(self, load: Callable[[], ASGIApp], on_failure: Callable[[], None]) -> None:
        self._load = load
        self._on_failure = on_failure
        self._app: ASGIApp | None = None
        self._failure: BaseException | None = None
        self._done = False
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._loading = _with_headers(_loading_answer)
        self._unavailable = _with_headers(_unavailable_answer)

    def start(self) -> threading.Thread:
        """Start loading the application; the thread is returned (a daemon)."""
        thread = threading.Thread(target=self._run, name="geo-service-loading", daemon=True)
        thread.start()
        return thread

    @property
    def loaded(self) -> bool:
        """Whether the application is loaded and answers every request."""
        return self._app is not None

    def raise_failure(self) -> None:
        """Re-raise the error that stopped the loading, if any."""
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        try:
            app = self._load()
        except BaseException as exc:  # reported by the command once the server stopped
            self._finish(None, exc)
            self._on_failure()
            return
        self._finish(app, None)

    def _finish(self, app: ASGIApp | None, failure: BaseException | None) -> None:
        with self._lock:
            self._app, self._failure, self._done = app, failure, True
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def _loaded(self) -> ASGIApp | None:
        """The application once loaded (``None`` if loading failed)."""
        with self._lock:
            if self._done:
                return self._app
            event = asyncio.Event()
            self._waiters.append((asyncio.get_running_loop(), event))
        await event.wait()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        app = self._app
        if app is None:
            if _is_health(scope) and not self._done:
                await self._loading(scope, receive, send)
                return
            app = await self._loaded()
            if app is None:
                if scope["type"] == "http":
                    await self._unavailable(scope, receive, send)
                return
        await app(scope, receive, send)


def _is_health(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["path"] == _HEALTH_PATH
        and scope["method"] in ("GET", "HEAD")
    )


def _with_headers(answer: ASGIApp) -> ASGIApp:
    """``answer`` with the security and CORS headers the application gives its answers."""
    return SecurityHeadersMiddleware(ReadOnlyCORSMiddleware(answer))


async def _loading_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse(LOADING)(scope, receive, send)


async def _unavailable_answer(scope: Scope, receive: Receive, send: Send) -> None:
    body = {"code": "StoreUnavailable", "description": "the server could not load the store"}
    await JSONResponse(body, status_code=503)(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Start-up and shut-down of the front (the application has no lifespan work of its own)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
