"""limit_concurrency: beyond the limit, requests get 503 and the connection closes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support import RawClient, async_test, respond, serve


class Gate:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/hold":
            self.entered.set()
            await self.release.wait()
        await respond(send, b"ok")


@async_test()
async def test_requests_beyond_the_concurrency_limit_get_503_and_close() -> None:
    app = Gate()
    async with (
        serve(app, limit_concurrency=1) as server,
        await RawClient.connect(server.port) as first,
    ):
        await first.send(b"GET /hold HTTP/1.1\r\nHost: h\r\n\r\n")
        await app.entered.wait()
        async with await RawClient.connect(server.port) as second:
            response = await second.request()
            assert response.status == 503
            assert response.header(b"connection") == b"close"
            await second.assert_closed()
        app.release.set()
        assert (await first.response()).status == 200


@async_test()
async def test_capacity_comes_back_once_connections_close() -> None:
    app = Gate()
    app.release.set()
    async with serve(app, limit_concurrency=2) as server:
        for _ in range(5):
            async with await RawClient.connect(server.port) as client:
                response = await client.request("GET", "/", [("Connection", "close")])
                assert response.status == 200
            await asyncio.sleep(0.02)


@async_test()
async def test_many_concurrent_clients_within_the_limit_are_all_served() -> None:
    app = Gate()
    app.release.set()
    async with serve(app, limit_concurrency=50) as server:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(limits=limits) as client:
            responses = await asyncio.gather(
                *(client.get(f"http://127.0.0.1:{server.port}/{i}") for i in range(100))
            )
    assert [r.status_code for r in responses] == [200] * 100
