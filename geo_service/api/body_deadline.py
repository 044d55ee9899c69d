"""A deadline on receiving a request's body: ``GEO_SERVICE_REQUEST_BODY_TIMEOUT_S``.

:mod:`geo_service.api.server` closes connections whose request head comes too slowly; a
client may still send its head in time, then its body a byte at a time (slowloris on the body),
holding the connection, the upload's temporary folder and a request slot for as long as it
likes. Here every request's body must have arrived within the deadline, counted from the
request's start: past it, the request is answered 408 naming the setting and the bytes
received, and the connection is closed. Once the body is complete, the application's waits
on the connection (a client's disconnect) are no longer bounded.
"""

from __future__ import annotations

from typing import Final

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_service.errors import RequestTimeoutError

_MB: Final = 1_000_000


class BodyDeadlineMiddleware:
    """Raise :class:`~geo_service.errors.RequestTimeoutError` (408) from the ``receive`` of a
    request whose body is not complete ``seconds`` after the request started."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        received = 0
        complete = False

        async def bounded() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                with anyio.fail_after(max(deadline - anyio.current_time(), 0.0)):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the request body did not arrive within {self.seconds:g} s "
                    f"(GEO_SERVICE_REQUEST_BODY_TIMEOUT_S; {received / _MB:,.1f} MB received): "
                    "send it on a faster connection, split the upload, or import the files "
                    "with 'geo-service import' on the server. Nothing was imported"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
            else:
                complete = True  # disconnected
            return message

        await self.app(scope, bounded, send)
