"""A FastAPI application served by ketch, driven by httpx over the real port."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Annotated

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel

from tests.support import async_test, serve

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

FILE_DATA = os.urandom(150_000)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class OutOfStock(Exception):
    def __init__(self, item_id: int) -> None:
        self.item_id = item_id


def make_app(file_path: Path, events: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None) -> dict[str, object]:
        if item_id == 0:
            raise OutOfStock(item_id)
        if item_id < 0:
            raise HTTPException(status_code=404, detail="no such item")
        return {"item_id": item_id, "q": q}

    @app.post("/items", status_code=201)
    async def create_item(item: Item) -> Item:
        return item

    @app.post("/login")
    async def login(
        username: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> dict[str, str]:
        return {"user": username, "password_length": str(len(password))}

    @app.post("/raw-form")
    async def raw_form(request: Request) -> dict[str, str]:
        form = await request.form()
        return {key: str(value) for key, value in form.items()}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for i in range(3):
                yield f"line {i}\n"

        return StreamingResponse(lines(), media_type="text/plain")

    @app.get("/file")
    async def file() -> FileResponse:
        return FileResponse(file_path, media_type="application/octet-stream")

    @app.post("/notify")
    async def notify(tasks: BackgroundTasks) -> dict[str, str]:
        async def send_email() -> None:
            await asyncio.sleep(0.05)
            events.append("email sent")

        tasks.add_task(send_email)
        events.append("responded")
        return {"status": "queued"}

    @app.get("/sync")
    def sync_endpoint() -> dict[str, str]:  # runs in the thread pool
        return {"sync": "ok"}

    @app.exception_handler(OutOfStock)
    async def out_of_stock(request: Request, exc: OutOfStock) -> JSONResponse:
        return JSONResponse({"out_of_stock": exc.item_id}, status_code=409)

    return app


@pytest.fixture
def file_path(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)
    return path


async def client_for(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


@async_test()
async def test_fastapi_path_and_query_params(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        ok = await client.get("/items/42", params={"q": "caf\u00e9"})
        invalid = await client.get("/items/not-a-number")
    assert ok.json() == {"item_id": 42, "q": "caf\u00e9"}
    assert invalid.status_code == 422


@async_test()
async def test_fastapi_json_body_validation(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        created = await client.post("/items", json={"name": "pen", "price": 1.5, "tags": ["a"]})
        invalid = await client.post("/items", json={"name": "pen"})
        not_json = await client.post(
            "/items", content=b"{", headers={"content-type": "application/json"}
        )
    assert created.status_code == 201
    assert created.json() == {"name": "pen", "price": 1.5, "tags": ["a"]}
    assert invalid.status_code == 422
    assert not_json.status_code == 422


@async_test()
async def test_fastapi_urlencoded_form(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        login = await client.post("/login", data={"username": "ann", "password": "s3cr3t!"})
        raw = await client.post("/raw-form", data={"a": "1", "b": "two words"})
    assert login.json() == {"user": "ann", "password_length": "7"}
    assert raw.json() == {"a": "1", "b": "two words"}


@async_test()
async def test_fastapi_exception_handlers(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        custom = await client.get("/items/0")
        http_error = await client.get("/items/-1")
        missing = await client.get("/missing")
    assert (custom.status_code, custom.json()) == (409, {"out_of_stock": 0})
    assert (http_error.status_code, http_error.json()) == (404, {"detail": "no such item"})
    assert missing.status_code == 404


@async_test()
async def test_fastapi_streaming_response(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        response = await client.get("/stream")
    assert response.text == "line 0\nline 1\nline 2\n"


@async_test()
async def test_fastapi_file_response_full_and_ranged(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        full = await client.get("/file")
        ranged = await client.get("/file", headers={"Range": "bytes=1000-"})
        unsatisfiable = await client.get("/file", headers={"Range": "bytes=999999-"})
    assert full.content == FILE_DATA
    assert ranged.status_code == 206
    assert ranged.content == FILE_DATA[1000:]
    assert unsatisfiable.status_code == 416


@async_test()
async def test_fastapi_background_tasks_run_after_the_response(file_path: Path) -> None:
    events: list[str] = []
    async with (
        serve(make_app(file_path, events)) as server,
        await client_for(server.port) as client,
    ):
        response = await client.post("/notify")
        at_response = list(events)
        for _ in range(100):
            if "email sent" in events:
                break
            await asyncio.sleep(0.01)
    assert response.json() == {"status": "queued"}
    assert at_response == ["responded"]
    assert events == ["responded", "email sent"]


@async_test()
async def test_fastapi_sync_endpoint_in_the_thread_pool(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        responses = await asyncio.gather(*(client.get("/sync") for _ in range(10)))
    assert all(r.json() == {"sync": "ok"} for r in responses)


@async_test()
async def test_fastapi_openapi_schema_and_docs(file_path: Path) -> None:
    async with serve(make_app(file_path, [])) as server, await client_for(server.port) as client:
        schema = await client.get("/openapi.json")
        docs = await client.get("/docs")
    assert "/items/{item_id}" in schema.json()["paths"]
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def test_fastapi_with_a_sync_httpx_client_from_a_thread(file_path: Path) -> None:
    import threading

    ready = threading.Event()
    stop: list[asyncio.Event] = []
    port: list[int] = []

    async def run_server() -> None:
        async with serve(make_app(file_path, [])) as server:
            port.append(server.port)
            stop.append(asyncio.Event())
            ready.set()
            async with asyncio.timeout(20):
                await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run_server(),))
    thread.start()
    try:
        assert ready.wait(10)
        with httpx.Client(base_url=f"http://127.0.0.1:{port[0]}") as client:
            assert client.get("/items/5").json() == {"item_id": 5, "q": None}
            assert client.post("/items", json={"name": "x", "price": 2}).status_code == 201
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()
