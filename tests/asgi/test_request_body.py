"""Request bodies reach the app as ``http.request`` messages, streamed with ``more_body``."""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import httpx
import pytest

from tests.support import RawClient, async_test, collect_body, respond, serve

BIG = os.urandom(4 * 1024 * 1024 + 123)


class BodyRecorder:
    """Reads the whole body, keeps its messages, answers with its length and SHA-256."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, self.messages = await collect_body(receive)
        await respond(send, f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode())


def expected(body: bytes) -> str:
    return f"{len(body)} {hashlib.sha256(body).hexdigest()}"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_content_length_upload_of_megabytes_arrives_intact_in_several_messages(
    loop: str,
) -> None:
    app = BodyRecorder()
    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{server.port}/", content=BIG)
    assert response.status_code == 200
    assert response.text == expected(BIG)
    assert len(app.messages) > 1
    assert all(m["more_body"] for m in app.messages[:-1])
    assert app.messages[-1]["more_body"] is False
    assert all(type(m["body"]) is bytes for m in app.messages)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_chunked_upload_of_megabytes_arrives_intact_in_several_messages(loop: str) -> None:
    app = BodyRecorder()

    async def pieces() -> Any:
        for start in range(0, len(BIG), 100_000):
            yield BIG[start : start + 100_000]

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{server.port}/", content=pieces())
    assert response.status_code == 200
    assert response.text == expected(BIG)
    assert len(app.messages) > 1
    assert app.messages[-1]["more_body"] is False


@async_test()
async def test_empty_body_is_one_message_without_more_body() -> None:
    app = BodyRecorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
    assert response.status == 200
    assert app.messages == [{"type": "http.request", "body": b"", "more_body": False}]


@async_test()
async def test_zero_content_length_post_is_one_empty_message() -> None:
    app = BodyRecorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request("POST", "/", [("Content-Length", "0")])
    assert response.status == 200
    assert app.messages == [{"type": "http.request", "body": b"", "more_body": False}]


@async_test()
async def test_chunked_body_with_trailer_fields_is_delivered_without_them() -> None:
    app = BodyRecorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
        )
        response = await client.response()
    assert response.status == 200
    assert response.body.decode() == expected(b"hello world")


@async_test()
async def test_body_sent_slowly_is_streamed_to_the_app_as_it_arrives() -> None:
    got: list[bytes] = []
    first = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            got.append(message["body"])
            first.set()
            if not message["more_body"]:
                break
        await respond(send, b"done")

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nfirst")
        await first.wait()  # the app sees the first half before the second is sent
        await client.send(b"secnd")
        response = await client.response()
    assert response.body == b"done"
    assert got[0] == b"first"
    assert b"".join(got) == b"firstsecnd"


@async_test()
async def test_unread_body_is_discarded_and_the_connection_reused() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, scope["path"].encode())

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        first = await client.request("POST", "/first", body=b"x" * 50_000)
        second = await client.request("GET", "/second")
    assert (first.body, second.body) == (b"/first", b"/second")
