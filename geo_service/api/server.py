"""How ``geo-service serve`` runs uvicorn: its HTTP protocol, with a deadline on request heads.

uvicorn closes a keep-alive connection left idle after a response (``timeout_keep_alive``), but
not one whose request line and headers arrive a byte at a time (slowloris): a few hundred such
clients would hold every connection of the server. Here each connection must have sent a whole
request head within ``GEO_SERVICE_REQUEST_HEAD_TIMEOUT_S`` seconds of opening, or of the end of
its previous response, or it is closed. Bodies (uploads) are bounded by their size limit and
by the time to receive them (:mod:`geo_service.api.body_deadline`).
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, Final

from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds an idle keep-alive connection stays open after a response (uvicorn's own timer).
KEEP_ALIVE_S: Final = 5


class _HeadDeadline:
    """Mixin of a uvicorn HTTP protocol: close the connection when no request head came in
    time. A request's cycle is created when its head is complete."""

    head_timeout_s: float = 10.0
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._head_timer is not None and self.cycle is not self._head_cycle:
            self._disarm()  # a request head arrived

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._disarm()
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._head_cycle = self.cycle
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.head_timeout_s, self._too_slow
        )

    def _disarm(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        waiting = self.cycle is self._head_cycle and (
            self.cycle is None or self.cycle.response_complete
        )
        if waiting and not self.transport.is_closing():
            self.transport.close()


def http_protocol(head_timeout_s: float) -> type[asyncio.Protocol]:
    """The protocol uvicorn would choose (httptools when installed, else h11), with a
    deadline of ``head_timeout_s`` seconds on each request head."""
    base: type[asyncio.Protocol] = H11Protocol
    if importlib.util.find_spec("httptools") is not None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    return type(
        f"HeadDeadline{base.__name__}", (_HeadDeadline, base), {"head_timeout_s": head_timeout_s}
    )
