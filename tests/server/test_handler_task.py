"""A handler runs in its own Task from its first line, though that line runs eagerly."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.middleware.base import BaseHTTPMiddleware

from ketch import web
from tests.support import async_test, respond, serve


@async_test()
async def test_asyncio_timeout_works_in_the_first_step_of_an_asgi_app() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        async with asyncio.timeout(5):  # needs asyncio.current_task()
            await respond(send, b"in time")

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert (response.status_code, response.text) == (200, "in time")


@async_test()
async def test_the_task_is_the_same_before_and_after_the_first_wait() -> None:
    seen: list[asyncio.Task[Any] | None] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(asyncio.current_task())
        await asyncio.sleep(0.01)
        seen.append(asyncio.current_task())
        await respond(send, b"ok")

    async with serve(app) as server, httpx.AsyncClient() as client:
        await client.get(f"http://127.0.0.1:{server.port}/")
        await client.get(f"http://127.0.0.1:{server.port}/")
    assert len(seen) == 4
    assert seen[0] is not None
    assert seen[0] is seen[1]
    assert seen[2] is seen[3]
    assert seen[0] is not seen[2]


@async_test()
async def test_a_timeout_started_eagerly_fires_after_the_handler_waits() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)
        except TimeoutError:
            await respond(send, b"timed out")

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.text == "timed out"


@async_test()
async def test_starlette_base_http_middleware_works() -> None:
    class Stamp(BaseHTTPMiddleware):
        async def dispatch(self, request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers["x-stamp"] = "yes"
            return response

    app = FastAPI()
    app.add_middleware(Stamp)

    @app.get("/")
    async def index() -> dict[str, int]:
        return {"ok": 1}

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.status_code == 200
    assert response.headers["x-stamp"] == "yes"


@async_test()
async def test_asyncio_timeout_works_in_a_web_handler_that_never_waits() -> None:
    async def handle(request: web.Request) -> web.Response:
        async with asyncio.timeout(5):  # noqa: ASYNC100 (what is tested is entering it)
            return web.Response(text="in time")

    app = web.Application()
    app.add_routes([web.get("/", handle)])
    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert (response.status_code, response.text) == (200, "in time")


@async_test()
async def test_pipelined_requests_each_get_their_own_task() -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        tasks.append(asyncio.current_task())
        await respond(send, b"x")

    async with serve(app) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n" * 3)
        data = b""
        while data.count(b"HTTP/1.1 200") < 3:
            data += await reader.read(65536)
        writer.close()
        await writer.wait_closed()
    assert len(tasks) == 3
    assert all(task is not None for task in tasks)
    assert len({id(task) for task in tasks}) == 3
