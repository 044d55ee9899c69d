"""Security headers of every response, and CORS for reads only.

:class:`SecurityHeadersMiddleware` is the one place that adds the headers: a
Content-Security-Policy (CSP), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
``Cross-Origin-Resource-Policy`` and, for pages nobody may frame, ``X-Frame-Options``. The
policies themselves are built here too:

- JSON and other data: ``default-src 'none'; frame-ancestors 'none'`` (nothing to run or load);
- HTML documents (``f=html`` pages, opinions): their inline style sheet, images from the
  server and ``data:`` (the opinion's static map), no script at all, not framable;
- map pages (:func:`map_policy`): scripts from the server plus the page's own inline scripts
  allowed by their SHA-256 hashes (no ``'unsafe-inline'`` for scripts), styles from the server
  and inline (Leaflet positions its panes with style attributes), tiles from the basemap's
  host, framable by ``GEO_SERVICE_FRAME_ANCESTORS``;
- the interactive API documentation (``/docs``, :func:`docs_policy`): Swagger UI from the
  server and the page's inline script by its hash.

A route that sets its own ``Content-Security-Policy`` (the maps) keeps it. CORS is open to every
origin for reads (GET, HEAD) and absent from writes (:class:`ReadOnlyCORSMiddleware`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Policy of data responses (JSON, GeoJSON, PDF, Markdown, files).
DATA_POLICY: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: Policy of the HTML documents made by the service (no script, inline style sheet).
DOCUMENT_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REFERRER_POLICY: Final = "same-origin"
_INLINE_SCRIPT: Final = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def map_policy(frame_ancestors: str, tile_host: str | None, page: str) -> str:
    """The CSP of a map page: this server's assets, the page's inline scripts by hash, the
    basemap's tiles, framable by ``frame_ancestors``."""
    images = "'self' data:" + (f" https://{tile_host}" if tile_host else "")
    scripts = " ".join(f"'{h}'" for h in inline_script_hashes(page))
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {scripts}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def docs_policy(page: str) -> str:
    """The CSP of the API documentation page: Swagger UI from the server, its inline script."""
    scripts = " ".join(f"'{h}'" for h in inline_script_hashes(page))
    return (
        f"default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


@lru_cache(maxsize=64)
def inline_script_hashes(page: str) -> tuple[str, ...]:
    """``sha256-…`` sources of every inline ``<script>`` of ``page`` (cached per page text)."""
    hashes = dict.fromkeys(
        "sha256-" + base64.b64encode(hashlib.sha256(_as_parsed(body).encode()).digest()).decode()
        for body in _INLINE_SCRIPT.findall(page)
    )
    return tuple(hashes)


def _as_parsed(text: str) -> str:
    # Browsers hash a script's text after HTML parsing, which turns CR LF and CR into LF.
    return text.replace("\r\n", "\n").replace("\r", "\n")


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (pure ASGI: streaming is untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_headers(headers: MutableHeaders) -> None:
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = _default_policy(headers)
    if "frame-ancestors 'none'" in headers["content-security-policy"]:
        headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if "server" in headers:
        del headers["server"]


def _default_policy(headers: MutableHeaders) -> str:
    if headers.get("content-type", "").startswith("text/html"):
        return DOCUMENT_POLICY
    return DATA_POLICY


#: Methods CORS allows: reads only.
READ_METHODS: Final = ("GET", "HEAD")


class ReadOnlyCORSMiddleware:
    """CORS for reads: any origin may GET (and preflight a GET); writes get no CORS headers,
    so a browser on another site can neither send them with a key nor read their answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=["*"], allow_methods=list(READ_METHODS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in (*READ_METHODS, "OPTIONS"):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
