"""The ASGI ``websocket`` scope over real sockets, with the ``websockets`` and aiohttp clients."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support import RawClient, async_test, serve

Scope = dict[str, Any]


async def echo(scope: Scope, receive: Any, send: Any) -> None:
    """Accepts, echoes text as text and bytes as bytes, until the client leaves."""
    if scope["type"] != "websocket":
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def websocket_only(app: Any) -> Any:
    """Give lifespan and http scopes nothing (these apps speak WebSocket only)."""

    async def guarded(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await app(scope, receive, send)

    return guarded


def url(port: int, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{port}{path}"


@async_test()
async def test_echo_with_the_websockets_client() -> None:
    async with serve(echo) as server, connect(url(server.port)) as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        await ws.send(b"\x00\xff" * 40_000)
        assert await ws.recv() == b"\x00\xff" * 40_000
        for n in range(100):
            await ws.send(f"message {n}")
        assert [await ws.recv() for _ in range(100)] == [f"message {n}" for n in range(100)]


@async_test()
async def test_echo_with_the_aiohttp_client() -> None:
    async with (
        serve(echo) as server,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{server.port}/ws") as ws,
    ):
        await ws.send_str("text")
        assert await ws.receive_str() == "text"
        await ws.send_bytes(b"bytes")
        assert await ws.receive_bytes() == b"bytes"
        await ws.send_json({"a": [1, 2]})
        assert await ws.receive_json() == {"a": [1, 2]}


@async_test()
async def test_a_fragmented_message_arrives_whole() -> None:
    async with serve(echo) as server, connect(url(server.port)) as ws:
        await ws.send(["frag", "ment", "ed ✓"])  # an iterable is sent as fragments
        assert await ws.recv() == "fragmented ✓"
        await ws.send([b"ab", b"cd"])
        assert await ws.recv() == b"abcd"


@async_test()
async def test_compression_is_negotiated_and_used() -> None:
    async with serve(echo) as server, connect(url(server.port)) as ws:
        assert [type(e).__name__ for e in ws.protocol.extensions] == ["PerMessageDeflate"]
        text = "compressible " * 10_000
        await ws.send(text)
        assert await ws.recv() == text


@async_test()
async def test_compression_can_be_turned_off() -> None:
    async with (
        serve(echo, ws_per_message_deflate=False) as server,
        connect(url(server.port)) as ws,
    ):
        assert ws.protocol.extensions == []
        await ws.send("plain")
        assert await ws.recv() == "plain"


@async_test()
async def test_the_scope() -> None:
    scopes: list[Scope] = []

    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await receive()
        await send({"type": "websocket.accept"})

    async with serve(app, root_path="/api") as server:
        headers = {"Origin": "https://app.example", "X-Token": "t"}
        async with connect(
            url(server.port, "/room%201?user=ann"),
            additional_headers=headers,
            subprotocols=["chat.v2", "chat.v1"],  # type: ignore[list-item]
        ) as ws:
            await ws.wait_closed()
    (scope,) = scopes
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["scheme"] == "ws"
    assert scope["http_version"] == "1.1"
    assert scope["path"] == "/api/room 1"
    assert scope["raw_path"] == b"/api/room%201"
    assert scope["query_string"] == b"user=ann"
    assert scope["root_path"] == "/api"
    assert scope["subprotocols"] == ["chat.v2", "chat.v1"]
    assert (b"origin", b"https://app.example") in scope["headers"]
    assert (b"x-token", b"t") in scope["headers"]
    assert scope["client"][0] == "127.0.0.1"
    assert scope["server"] == ("127.0.0.1", server.port)
    assert "method" not in scope
    assert "websocket.http.response" in scope["extensions"]


@async_test()
async def test_accept_with_a_subprotocol_and_headers() -> None:
    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send(
            {
                "type": "websocket.accept",
                "subprotocol": "chat.v1",
                "headers": [(b"set-cookie", b"session=1")],
            }
        )
        await send({"type": "websocket.send", "text": "hi"})
        await receive()

    async with (
        serve(app) as server,
        connect(url(server.port), subprotocols=["chat.v2", "chat.v1"]) as ws,
    ):  # type: ignore[list-item]
        assert ws.subprotocol == "chat.v1"
        assert ws.response is not None
        assert ws.response.headers["Set-Cookie"] == "session=1"
        assert await ws.recv() == "hi"


@async_test()
async def test_the_app_closes_with_a_code_and_reason() -> None:
    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4001, "reason": "go away"})
        disconnect = await receive()
        assert disconnect["type"] == "websocket.disconnect"

    async with serve(app) as server, connect(url(server.port)) as ws:
        with pytest.raises(ConnectionClosed) as caught:
            await ws.recv()
        assert caught.value.rcvd is not None
        assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4001, "go away")


@async_test()
async def test_the_app_hears_the_clients_close_code_and_reason() -> None:
    heard: list[dict[str, Any]] = []

    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        heard.append(await receive())

    async with (
        serve(app) as server,
        connect(url(server.port)) as ws,
    ):
        await ws.close(code=4321, reason="done here")
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.01)
    assert heard == [{"type": "websocket.disconnect", "code": 4321, "reason": "done here"}]


@async_test()
async def test_sending_after_the_close_raises_an_oserror() -> None:
    outcome: list[BaseException] = []

    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:
            outcome.append(exc)
        await send({"type": "websocket.close"})  # closing again is harmless

    async with (
        serve(app) as server,
        connect(url(server.port)) as ws,
    ):
        await ws.close()
        for _ in range(100):
            if outcome:
                break
            await asyncio.sleep(0.01)
    assert len(outcome) == 1


@async_test()
async def test_an_app_that_returns_without_closing_closes_with_1000() -> None:
    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "bye"})

    async with serve(app) as server, connect(url(server.port)) as ws:
        assert await ws.recv() == "bye"
        await ws.wait_closed()
        assert ws.close_code == 1000


@async_test()
async def test_an_app_that_raises_after_accepting_closes_with_1011_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        raise RuntimeError("boom after accept")

    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with serve(app) as server, connect(url(server.port)) as ws:
            await ws.wait_closed()
            assert ws.close_code == 1011
    assert any(
        record.exc_info and "boom after accept" in str(record.exc_info[1])
        for record in caplog.records
    )


@async_test()
async def test_an_app_that_raises_before_accepting_gets_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("boom before accept")

    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with serve(app) as server:
            with pytest.raises(InvalidStatus) as caught:
                async with connect(url(server.port)):
                    pass
    assert caught.value.response.status_code == 500
    assert any("boom before accept" in str(r.exc_info and r.exc_info[1]) for r in caplog.records)


@async_test()
async def test_close_before_accept_and_never_accepting_both_get_403() -> None:
    @websocket_only
    async def closes(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close"})

    @websocket_only
    async def returns(scope: Scope, receive: Any, send: Any) -> None:
        await receive()

    for app in (closes, returns):
        async with serve(app) as server:
            with pytest.raises(InvalidStatus) as caught:
                async with connect(url(server.port)):
                    pass
            assert caught.value.response.status_code == 403


@async_test()
async def test_denial_response_reaches_the_client_whole() -> None:
    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"X")],
            }
        )
        await send(
            {"type": "websocket.http.response.body", "body": b'{"error":', "more_body": True}
        )
        await send({"type": "websocket.http.response.body", "body": b'"who are you"}'})

    async with (
        serve(app) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(handshake_bytes())
        response = await client.response()
        assert response.status == 401
        assert response.header(b"www-authenticate") == b"X"
        assert response.body == b'{"error":"who are you"}'
        await client.assert_closed()


def handshake_bytes(*extra: bytes, version: bytes = b"13") -> bytes:
    lines = [
        b"GET /ws HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        b"Sec-WebSocket-Version: " + version,
        *extra,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@async_test()
async def test_an_invalid_handshake_never_reaches_the_app() -> None:
    called: list[Scope] = []

    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        called.append(scope)
        await echo(scope, receive, send)

    async with (
        serve(app) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(handshake_bytes(version=b"8"))
        response = await client.response()
        assert response.status == 426
        assert response.header(b"sec-websocket-version") == b"13"
        async with await RawClient.connect(server.port) as client:
            await client.send(
                b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n"
            )
            response = await client.response()
            assert response.status == 400
            assert b"Sec-WebSocket-Key" in response.body
    assert called == []


@async_test()
async def test_a_client_leaving_before_the_accept_is_a_disconnect() -> None:
    heard: list[dict[str, Any]] = []
    waiting = asyncio.Event()

    @websocket_only
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        waiting.set()
        heard.append(await receive())

    async with (
        serve(app) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(handshake_bytes())
        await waiting.wait()
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.01)
    assert heard
    assert heard[0]["type"] == "websocket.disconnect"


@async_test()
async def test_first_frame_sent_with_the_handshake_is_not_lost() -> None:
    from websockets.frames import Frame, Opcode

    frame = Frame(Opcode.TEXT, b"eager").serialize(mask=True, extensions=[])
    async with serve(echo) as server, await RawClient.connect(server.port) as client:
        await client.send(handshake_bytes() + frame)
        data = b""
        while b"eager" not in data:
            data += await client._read_more()
        head, _, frames = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        assert frames == b"\x81\x05eager"


@async_test()
async def test_http_requests_still_work_beside_websockets() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"plain"})
        else:
            await echo(scope, receive, send)

    async with (
        serve(app) as server,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{server.port}/ws") as ws,
    ):
        async with session.get(f"http://127.0.0.1:{server.port}/") as response:
            assert await response.text() == "plain"
        await ws.send_str("still here")
        assert await ws.receive_str() == "still here"


@async_test()
async def test_an_upgrade_to_something_else_is_served_as_http() -> None:
    scopes: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        scopes.append(scope["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"no switch"})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
        )
        response = await client.response()
        assert response.status == 200
        assert response.body == b"no switch"
        # The switch was denied: the connection carries the next request.
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert (await client.response()).status == 200
    assert scopes == ["http", "http"]


@async_test()
async def test_many_connections_echo_concurrently() -> None:
    async def one(port: int, n: int) -> None:
        async with connect(url(port)) as ws:
            for i in range(50):
                await ws.send(f"{n}:{i}")
                assert await ws.recv() == f"{n}:{i}"

    async with serve(echo) as server:
        await asyncio.gather(*(one(server.port, n) for n in range(40)))
