"""Responses: streaming, HEAD, 204/304, trailers, 103 Early Hints, framing headers from the app."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from tests.support import RawClient, async_test, respond, serve

FILE_DATA = os.urandom(1024 * 1024 + 17)


@async_test()
async def test_response_streamed_with_more_body_is_chunked_and_complete() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one ", b"two ", b"", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.status == 200
        assert response.header(b"transfer-encoding") == b"chunked"
        assert response.header(b"content-length") is None
        assert response.body == b"one two three"
        # The connection is still usable: the chunked framing ended exactly.
        assert (await client.request()).status == 200


@async_test()
async def test_streamed_response_with_content_length_is_not_chunked() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", b"10")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"01234", "more_body": True})
        await send({"type": "http.response.body", "body": b"56789"})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
    assert response.header(b"content-length") == b"10"
    assert response.header(b"transfer-encoding") is None
    assert response.body == b"0123456789"


@async_test()
async def test_large_streamed_response_arrives_through_httpx_in_order() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for start in range(0, len(FILE_DATA), 65536):
            chunk = FILE_DATA[start : start + 65536]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body"})

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.content == FILE_DATA


@async_test()
async def test_head_response_has_no_body_but_keeps_content_length() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b"hello world"
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        head = await client.request("HEAD")
        assert head.status == 200
        assert head.header(b"content-length") == b"11"
        assert head.body == b""
        # No body bytes were written: the next response parses from the first byte.
        get = await client.request("GET")
        assert get.body == b"hello world"


@async_test()
async def test_head_response_gets_the_content_length_of_the_body_the_app_sent() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"twelve bytes")

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        head = await client.request("HEAD")
        assert head.header(b"content-length") == b"12"
        assert head.body == b""
        assert (await client.request("GET")).body == b"twelve bytes"


@async_test()
async def test_head_response_streamed_by_the_app_writes_no_body() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"def"})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        head = await client.request("HEAD")
        assert head.body == b""
        assert (await client.request("GET")).body == b"abcdef"


@async_test()
async def test_204_has_no_content_length_no_body_and_keeps_the_connection() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/204":
            await respond(send, status=204, headers=[(b"content-length", b"0")])
        else:
            await respond(send, b"after")

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        no_content = await client.request("DELETE", "/204")
        assert no_content.status == 204
        assert no_content.header(b"content-length") is None
        assert no_content.header(b"transfer-encoding") is None
        assert no_content.body == b""
        assert (await client.request("GET", "/next")).body == b"after"


@async_test()
async def test_304_keeps_the_content_length_of_the_representation_without_a_body() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/304":
            headers = [(b"content-length", b"1234"), (b"etag", b'"v1"')]
            await respond(send, status=304, headers=headers)
        else:
            await respond(send, b"after")

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        not_modified = await client.request("GET", "/304", [("If-None-Match", '"v1"')])
        assert not_modified.status == 304
        assert not_modified.header(b"content-length") == b"1234"
        assert not_modified.header(b"etag") == b'"v1"'
        assert not_modified.body == b""
        assert (await client.request("GET", "/next")).body == b"after"


@async_test()
async def test_trailers_are_sent_after_a_chunked_body() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"trailer", b"x-checksum, x-count")],
                "trailers": True,
            }
        )
        await send({"type": "http.response.body", "body": b"part1,", "more_body": True})
        await send({"type": "http.response.body", "body": b"part2"})
        await send(
            {
                "type": "http.response.trailers",
                "headers": [(b"x-checksum", b"abc123"), (b"x-count", b"2")],
            }
        )

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.header(b"transfer-encoding") == b"chunked"
        assert response.body == b"part1,part2"
        assert response.trailers == [(b"x-checksum", b"abc123"), (b"x-count", b"2")]
        assert (await client.request()).status == 200


@async_test()
async def test_trailers_split_over_more_trailers_messages_are_all_sent() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        start = {"type": "http.response.start", "status": 200, "headers": [], "trailers": True}
        await send(start)
        await send({"type": "http.response.body", "body": b"data"})
        await send(
            {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True}
        )
        await send({"type": "http.response.trailers", "headers": [(b"x-b", b"2")]})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
    assert response.body == b"data"
    assert response.trailers == [(b"x-a", b"1"), (b"x-b", b"2")]


@async_test()
async def test_early_hints_arrive_as_103_before_the_final_response() -> None:
    links = [b"</style.css>; rel=preload; as=style", b"</app.js>; rel=preload; as=script"]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.early_hint", "links": links})
        await respond(send, b"page")

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
    assert response.status == 200
    assert response.body == b"page"
    (hint,) = response.informational
    assert hint.status_code == 103
    assert [bytes(v) for k, v in hint.headers if k == b"link"] == links


@async_test()
async def test_slow_reading_client_gets_a_large_response_intact() -> None:
    """Write backpressure: the app's send waits while the client does not read."""
    sent = asyncio.Event()
    data = bytes(range(256)) * 65536  # 16 MiB: more than the socket buffers hold

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for start in range(0, len(data), 65536):
            chunk = data[start : start + 65536]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body"})
        sent.set()

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await asyncio.sleep(0.3)
        assert not sent.is_set()
        response = await client.response()
    assert sent.is_set()
    assert response.body == data


@async_test()
async def test_app_declared_chunked_transfer_encoding_is_framed_by_the_server() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"transfer-encoding", b"chunked")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"def"})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.header_values(b"transfer-encoding") == [b"chunked"]
        assert response.body == b"abcdef"
        assert (await client.request()).status == 200


@async_test()
async def test_response_header_names_keep_the_case_the_app_gave() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"x", headers=[(b"X-Mixed-Case", b"Value")])

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        head = await client.read_head_bytes()
    # h11 lowercases names, so split the head's field lines here.
    fields = [line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if line]
    assert [b"X-Mixed-Case", b"Value"] in fields
