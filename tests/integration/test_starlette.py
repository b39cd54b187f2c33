"""A Starlette application served by ketch, driven by httpx over the real port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from tests.support import RawClient, async_test, serve

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from starlette.requests import Request

FILE_DATA = os.urandom(200_000)


class Teapot(Exception):
    pass


def make_app(file_path: Path, events: list[str]) -> Starlette:
    async def hello(request: Request) -> Response:
        return PlainTextResponse(f"hello {request.path_params['name']}")

    async def echo_json(request: Request) -> Response:
        data = await request.json()
        return JSONResponse({"got": data, "method": request.method})

    async def form(request: Request) -> Response:
        async with request.form() as data:
            return JSONResponse({key: data[key] for key in data})

    async def stream(request: Request) -> Response:
        async def numbers() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"{i}\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(numbers(), media_type="text/plain")

    async def endless(request: Request) -> Response:
        async def forever() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65536

        return StreamingResponse(forever())

    async def file(request: Request) -> Response:
        return FileResponse(file_path)

    async def background(request: Request) -> Response:
        async def task() -> None:
            events.append("task started")
            await asyncio.sleep(0.05)
            events.append("task done")

        events.append("responding")
        return PlainTextResponse("sent", background=BackgroundTask(task))

    async def teapot(request: Request) -> Response:
        raise Teapot()

    async def crash(request: Request) -> Response:
        raise RuntimeError("boom")

    async def on_teapot(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "teapot"}, status_code=418)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hi"}
        events.append("shutdown")

    async def state(request: Request) -> Response:
        return PlainTextResponse(request.state.greeting)

    return Starlette(
        routes=[
            Route("/hello/{name}", hello),
            Route("/json", echo_json, methods=["POST", "PUT"]),
            Route("/form", form, methods=["POST"]),
            Route("/stream", stream),
            Route("/endless", endless),
            Route("/file", file),
            Route("/background", background),
            Route("/teapot", teapot),
            Route("/crash", crash),
            Route("/state", state),
        ],
        exception_handlers={Teapot: on_teapot},
        lifespan=lifespan,
    )


@pytest.fixture
def file_path(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)
    return path


@async_test()
async def test_starlette_routes_path_params_json_and_lifespan_state(file_path: Path) -> None:
    events: list[str] = []
    async with serve(make_app(file_path, events)) as server:
        assert events == ["startup"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            hello = await client.get("/hello/w%C3%B6rld")
            posted = await client.post("/json", json={"a": [1, 2], "b": None})
            missing = await client.get("/nope")
            not_allowed = await client.get("/json")
            state = await client.get("/state")
    assert events == ["startup", "shutdown"]
    assert hello.text == "hello w\u00f6rld"
    assert posted.json() == {"got": {"a": [1, 2], "b": None}, "method": "POST"}
    assert missing.status_code == 404
    assert not_allowed.status_code == 405
    assert state.text == "hi"


@async_test()
async def test_starlette_form_urlencoded(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{server.port}/form", data={"name": "ketch", "q": "a b&c"}
        )
    assert response.json() == {"name": "ketch", "q": "a b&c"}


@async_test()
async def test_starlette_streaming_response(file_path: Path) -> None:
    async with (
        serve(make_app(file_path, [])) as server,
        httpx.AsyncClient() as client,
        client.stream("GET", f"http://127.0.0.1:{server.port}/stream") as response,
    ):
        assert response.headers["transfer-encoding"] == "chunked"
        lines = [line async for line in response.aiter_lines()]
    assert lines == ["0", "1", "2", "3", "4"]


@async_test()
async def test_starlette_file_response_whole_file_via_pathsend(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/file")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(FILE_DATA))
    assert response.content == FILE_DATA


@async_test()
async def test_starlette_file_response_range_gives_206(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, httpx.AsyncClient() as client:
        response = await client.get(
            f"http://127.0.0.1:{server.port}/file", headers={"Range": "bytes=100-1099"}
        )
        suffix = await client.get(
            f"http://127.0.0.1:{server.port}/file", headers={"Range": "bytes=-10"}
        )
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 100-1099/{len(FILE_DATA)}"
    assert response.content == FILE_DATA[100:1100]
    assert suffix.status_code == 206
    assert suffix.content == FILE_DATA[-10:]


@async_test()
async def test_starlette_file_response_to_head_has_length_and_no_body(file_path: Path) -> None:
    async with (
        serve(make_app(file_path, [])) as server,
        await RawClient.connect(server.port) as client,
    ):
        head = await client.request("HEAD", "/file")
        get = await client.request("GET", "/file")
    assert head.header(b"content-length") == str(len(FILE_DATA)).encode()
    assert head.body == b""
    assert get.body == FILE_DATA


@async_test()
async def test_starlette_background_task_runs_after_the_response(file_path: Path) -> None:
    events: list[str] = []
    async with serve(make_app(file_path, events)) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/background")
        assert response.text == "sent"
        at_response = list(events)
        for _ in range(100):
            if "task done" in events:
                break
            await asyncio.sleep(0.01)
    assert "task done" not in at_response
    assert events[:4] == ["startup", "responding", "task started", "task done"]


@async_test()
async def test_starlette_exception_handler_and_unhandled_error(
    file_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(make_app(file_path, [])) as server, httpx.AsyncClient() as client:
        teapot = await client.get(f"http://127.0.0.1:{server.port}/teapot")
        crash = await client.get(f"http://127.0.0.1:{server.port}/crash")
    assert teapot.status_code == 418
    assert teapot.json() == {"error": "teapot"}
    assert crash.status_code == 500
    assert len([r for r in caplog.records if r.exc_info and r.name == "ketch.error"]) == 1


@async_test()
async def test_starlette_stream_to_a_client_that_leaves_ends_without_an_error_log(
    file_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ketch")
    async with serve(make_app(file_path, [])) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"GET /endless HTTP/1.1\r\nHost: h\r\n\r\n")
        await client.reader.readexactly(200_000)
        client.reset()
        await asyncio.sleep(0.2)  # the app's next send fails; its handler ends
        await client.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
