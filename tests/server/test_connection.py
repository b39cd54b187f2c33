"""Connection handling over real sockets: keep-alive, HTTP/1.0, pipelining, 100-continue."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support import RawClient, async_test, collect_body, respond, serve


async def echo_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await respond(send, scope["path"].encode())


async def streaming(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Streams its body in two messages, without a Content-Length."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"streamed ", "more_body": True})
    await send({"type": "http.response.body", "body": b"body"})


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_keep_alive_reuses_one_connection_for_many_requests(loop: str) -> None:
    clients: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        clients.append(scope["client"])
        await respond(send, b"ok")

    async with serve(app) as server, httpx.AsyncClient() as client:
        for _ in range(5):
            response = await client.get(f"http://127.0.0.1:{server.port}/")
            assert response.status_code == 200
            assert response.headers.get("connection") is None
    assert len(set(clients)) == 1


@async_test()
async def test_keep_alive_on_a_raw_socket_serves_requests_one_after_another() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        for i in range(3):
            response = await client.request("GET", f"/{i}")
            assert response.body == f"/{i}".encode()
            assert response.header(b"connection") is None


@async_test()
async def test_connection_close_from_the_client_is_honoured() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/", [("Connection", "close")])
        assert response.header(b"connection") == b"close"
        await client.assert_closed()


@async_test()
async def test_http10_streamed_response_is_close_delimited_and_the_connection_closes() -> None:
    async with serve(streaming) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.0\r\n\r\n")
        response = await client.response()
        assert response.body == b"streamed body"
        assert response.header(b"transfer-encoding") is None
        assert response.header(b"content-length") is None
        await client.assert_closed()


@async_test()
async def test_http10_known_length_response_has_content_length_and_the_connection_closes() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET /ten HTTP/1.0\r\n\r\n")
        response = await client.response()
        assert response.body == b"/ten"
        assert response.header(b"content-length") == b"4"
        await client.assert_closed()


@async_test()
async def test_http10_keep_alive_request_keeps_the_connection_open() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        for path in ("/a", "/b"):
            await client.send(f"GET {path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
            response = await client.response()
            assert response.body == path.encode()
            assert response.header(b"connection") == b"keep-alive"


@async_test()
async def test_http10_keep_alive_request_with_a_streamed_response_still_closes() -> None:
    async with serve(streaming) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        response = await client.response()
        assert response.body == b"streamed body"
        await client.assert_closed()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_ten_pipelined_requests_get_ten_responses_in_order(loop: str) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        index = int(scope["path"][1:])
        await asyncio.sleep((9 - index) * 0.005)  # early requests finish last if run at once
        await respond(send, str(index).encode())

    requests = b"".join(f"GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n".encode() for i in range(10))
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(requests)
        bodies = [(await client.response()).body for _ in range(10)]
    assert bodies == [str(i).encode() for i in range(10)]


@async_test()
async def test_pipelined_requests_with_bodies_are_each_answered_with_their_own_body() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, _ = await collect_body(receive)
        await respond(send, body.upper())

    requests = (
        b"".join(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nab" + str(i).encode()
            for i in range(5)
        )
        + b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n"
    )
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(requests)
        bodies = [(await client.response("POST")).body for _ in range(6)]
    assert bodies == [b"AB0", b"AB1", b"AB2", b"AB3", b"AB4", b"ZZ"]


@async_test()
async def test_pipelined_head_and_get_are_framed_correctly() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        await client.send(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\n")
        head = await client.response("HEAD")
        get = await client.response("GET")
    assert (head.status, head.body) == (200, b"")
    assert get.body == b"/g"


@async_test()
async def test_pipelined_request_after_connection_close_is_not_answered() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
            b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        response = await client.response()
        assert response.body == b"/1"
        await client.assert_closed()


@async_test()
async def test_100_continue_is_sent_only_when_the_app_reads_the_body() -> None:
    read_now = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await read_now.wait()
        body, _ = await collect_body(receive)
        await respond(send, b"got " + body)

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        await client.assert_silent(0.3)  # the app has not asked for the body yet
        read_now.set()
        interim = await client.read_head_bytes()
        assert interim.startswith(b"HTTP/1.1 100 ")
        await client.send(b"hello")
        response = await client.response("POST")
        assert response.status == 200
        assert response.body == b"got hello"
        assert response.header(b"connection") is None
        assert (await client.request("GET")).status == 200  # still keep-alive


@async_test()
async def test_100_continue_is_not_sent_to_an_app_answering_413_and_the_connection_closes() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"too big", status=413)

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        response = await client.response("PUT")
        assert response.status == 413
        assert response.informational == []
        assert response.header(b"connection") == b"close"
        await client.assert_closed()


@async_test()
async def test_client_that_sends_the_body_without_waiting_for_100_gets_no_100() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, _ = await collect_body(receive)
        await respond(send, body)

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
        )
        response = await client.response("POST")
    assert response.informational == []
    assert response.body == b"hello"


@async_test()
async def test_httpx_expect_100_continue_upload_succeeds() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, _ = await collect_body(receive)
        await respond(send, str(len(body)).encode())

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.put(
            f"http://127.0.0.1:{server.port}/",
            content=b"x" * 100_000,
            headers={"Expect": "100-continue"},
        )
    assert response.text == "100000"


@async_test()
async def test_empty_lines_before_a_request_line_are_ignored() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        await client.send(b"\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        assert (await client.response()).body == b"/x"


@async_test()
async def test_a_client_that_half_closes_after_its_request_still_gets_the_response() -> None:
    async with serve(echo_path) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET /half HTTP/1.1\r\nHost: h\r\n\r\n")
        client.writer.write_eof()
        response = await client.response()
        assert response.body == b"/half"
        await client.assert_closed()


@async_test()
async def test_app_connection_close_header_closes_after_the_response() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"bye", headers=[(b"connection", b"close")])

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.body == b"bye"
        assert response.header_values(b"connection") == [b"close"]
        await client.assert_closed()
