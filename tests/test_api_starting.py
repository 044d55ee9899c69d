"""The server's front while it starts (issue 18): ``/healthz`` answers at once, every other
request waits for the loaded application, a failed load answers 503 and is reported."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from geo_service.api.starting import StartingFront
from geo_service.errors import StoreError


async def _health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "analysed": True})


async def _zones(_: Request) -> JSONResponse:
    return JSONResponse({"zones": 1})


#: Stands for the loaded application.
LOADED = Starlette(routes=[Route("/healthz", _health), Route("/zones", _zones)])


def _client(front: StartingFront) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://test")


def test_healthz_answers_while_loading_and_other_requests_wait_for_the_application() -> None:
    gate = threading.Event()

    def load() -> Starlette:
        assert gate.wait(30)
        return LOADED

    front = StartingFront(load, on_failure=lambda: pytest.fail("the load did not fail"))
    loading = front.start()

    async def scenario() -> None:
        async with _client(front) as client:
            health = await client.get("/healthz", headers={"origin": "https://umap.example"})
            assert health.status_code == 200
            assert health.json() == {"status": "loading", "analysed": None}
            assert health.headers["x-content-type-options"] == "nosniff"
            assert health.headers["access-control-allow-origin"] == "*"
            assert (await client.head("/healthz")).status_code == 200
            waiting = asyncio.create_task(client.get("/zones"))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "answered before the application was loaded"
            assert not front.loaded
            gate.set()
            answer = await asyncio.wait_for(waiting, 30)
            assert answer.status_code == 200
            assert answer.json() == {"zones": 1}
            assert front.loaded
            assert (await client.get("/healthz")).json() == {"status": "ok", "analysed": True}

    asyncio.run(scenario())
    loading.join(30)
    front.raise_failure()  # nothing to raise


def test_a_failed_load_answers_503_stops_the_server_and_is_reported() -> None:
    stopped = threading.Event()

    def load() -> Starlette:
        raise StoreError("cannot open the store")

    front = StartingFront(load, on_failure=stopped.set)
    front.start().join(30)
    assert stopped.is_set()

    async def scenario() -> None:
        async with _client(front) as client:
            for path in ("/zones", "/healthz"):
                answer = await client.get(path)
                assert answer.status_code == 503, path
                assert answer.json()["code"] == "StoreUnavailable"

    asyncio.run(scenario())
    with pytest.raises(StoreError, match="cannot open the store"):
        front.raise_failure()
