"""`web.WebSocketResponse` over real sockets, with aiohttp's WebSocket client and the
``websockets`` library's: messages both ways, closing from either side, subprotocols, the opening
handshake's answers (101, 400, 426), headers and cookies on the 101, keepalive pings, message size,
compression, errors, many connections at once, broadcasting, middlewares, sub-applications and
graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.typing import Origin, Subprotocol

from ketch import web
from tests.support import RawClient, async_test, serve
from tests.support.tls import make_certificates

from .helpers import served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    import ketch

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CLOSE = aiohttp.WSMsgType.CLOSE
WAIT = 5.0  # seconds any one step may take before the test fails


def app_with(handler: Handler, path: str = "/ws") -> web.Application:
    app = web.Application()
    app.router.add_get(path, handler)
    return app


def url(server: ketch.Server, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


@contextlib.asynccontextmanager
async def aiohttp_ws(address: str, **kwargs: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """aiohttp's client WebSocket to `address` (``ws_connect`` keyword arguments)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(address, **kwargs) as ws:
        yield ws


async def receive(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    return await ws.receive(timeout=WAIT)


WEBSOCKET_HEAD = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
]


def raw_handshake(path: str = "/ws") -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in WEBSOCKET_HEAD)
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{head}Sec-WebSocket-Version: 13\r\n\r\n".encode()


def masked_text(text: str) -> bytes:
    """A client's text frame (masked with a zero key, so the payload reads as is)."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload


async def echo(request: web.Request) -> web.WebSocketResponse:
    """Echo text and binary messages until the client closes."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is web.WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type is web.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


class Observed:
    """What a handler saw, for the test to check once `done` is set (the handler returned)."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.values: dict[str, Any] = {}
        self.error: BaseException | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value

    def watch(self, handler: Handler) -> Handler:
        """`handler`, made to record an exception it raises (and set `done` then)."""

        async def watched(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except BaseException as exc:
                self.error = exc
                self.done.set()
                raise

        return watched

    async def wait(self) -> None:
        """Wait for `done`; fail at once (with its exception) if the handler raised."""
        async with asyncio.timeout(WAIT):
            await self.done.wait()
        if self.error is not None:
            raise AssertionError(f"the handler raised {self.error!r}") from self.error


# -- messages ---------------------------------------------------------------------------------


async def json_echo(request: web.Request) -> web.WebSocketResponse:
    """Text and bytes echoed; JSON answered with "n" + 1, read both ways aiohttp offers."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    assert await ws.receive_str() == "héllo"
    await ws.send_str("héllo back")
    assert await ws.receive_bytes() == b"\x00\xff"
    await ws.send_bytes(bytearray(b"\xff\x00"))
    data = await ws.receive_json()
    await ws.send_json({"n": data["n"] + 1})
    async for msg in ws:  # a JSON message through msg.json()
        assert msg.type is web.WSMsgType.TEXT
        await ws.send_json({"n": msg.json()["n"] + 1})
    return ws


@async_test()
async def test_text_bytes_and_json_both_ways_with_the_aiohttp_client() -> None:
    async with serve(app_with(json_echo)) as server, aiohttp_ws(url(server)) as ws:
        await ws.send_str("héllo")
        assert await ws.receive_str(timeout=WAIT) == "héllo back"
        await ws.send_bytes(b"\x00\xff")
        assert await ws.receive_bytes(timeout=WAIT) == b"\xff\x00"
        await ws.send_json({"n": 1})
        assert await ws.receive_json(timeout=WAIT) == {"n": 2}
        await ws.send_json({"n": 10})
        assert await ws.receive_json(timeout=WAIT) == {"n": 11}
        await ws.close()
        assert ws.close_code == 1000


@async_test()
async def test_text_bytes_and_json_both_ways_with_the_websockets_client() -> None:
    async with serve(app_with(json_echo)) as server, connect(url(server)) as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo back"
        await ws.send(b"\x00\xff")
        assert await ws.recv() == b"\xff\x00"
        await ws.send('{"n": 1}')
        assert await ws.recv() == '{"n": 2}'
        await ws.send('{"n": 10}')
        assert await ws.recv() == '{"n": 11}'


@async_test()
async def test_pings_and_pongs_are_answered_but_never_returned_by_receive() -> None:
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        observed["first"] = await ws.receive()
        await ws.ping(b"from server")
        await ws.pong(b"unsolicited")
        observed["second"] = await ws.receive()
        observed.done.set()
        return ws

    async with serve(app_with(handle)) as server, aiohttp_ws(url(server), autoping=False) as ws:
        await ws.ping(b"from client")
        await ws.pong(b"unsolicited")
        await ws.send_str("after the ping")
        pong = await receive(ws)
        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"from client")
        ping = await receive(ws)
        assert (ping.type, ping.data) == (aiohttp.WSMsgType.PING, b"from server")
        pong = await receive(ws)
        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"unsolicited")
        await ws.pong(ping.data)
        await ws.send_str("after the pong")
        await observed.wait()
        assert (await receive(ws)).type is CLOSE
    assert observed["first"] == (web.WSMsgType.TEXT, "after the ping", None)
    assert observed["second"] == (web.WSMsgType.TEXT, "after the pong", None)


@async_test()
async def test_send_and_receive_before_prepare_are_runtime_errors() -> None:
    async def handle(request: web.Request) -> web.Response:
        ws = web.WebSocketResponse()
        for attempt in (ws.send_str("x"), ws.receive(), ws.close()):
            with pytest.raises(RuntimeError):
                await attempt
        return web.Response(text="refused")

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/ws")
    assert response.text == "refused"


@async_test()
async def test_a_concurrent_receive_is_a_runtime_error() -> None:
    # aiohttp: RuntimeError("Concurrent call to receive() is not allowed") for the second call.
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await asyncio.sleep(0)  # (in a Task from here on)
        first = asyncio.ensure_future(ws.receive())
        await asyncio.sleep(0.05)  # the first receive is waiting
        try:
            observed["second"] = await ws.receive(timeout=1)
        except RuntimeError as exc:
            observed["second"] = exc
        except TimeoutError:
            observed["second"] = "timed out"
        try:
            observed["first"] = await asyncio.wait_for(first, 1)
        except TimeoutError:
            observed["first"] = "never returned"
        observed.done.set()
        return ws

    async with serve(app_with(handle)) as server, aiohttp_ws(url(server)) as ws:
        await asyncio.sleep(0.2)
        await ws.send_str("a")
        await ws.send_str("b")
        await observed.wait()
    assert isinstance(observed["second"], RuntimeError), observed["second"]
    assert observed["first"] == (web.WSMsgType.TEXT, "a", None)


@async_test()
async def test_a_handler_that_reads_late_gets_every_message_in_order() -> None:
    # More than the connection queues before it stops reading the socket (16 messages, 1 MiB).
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await release.wait()
        received = [await ws.receive_bytes() for _ in range(200)]
        await ws.send_str(",".join(str(len(data)) for data in received))
        await ws.close()
        return ws

    sizes = [(n * 7919) % 30_000 for n in range(200)]
    async with serve(app_with(handle)) as server, connect(url(server)) as ws:
        for size in sizes:
            await ws.send(os.urandom(size))
        release.set()
        assert await ws.recv() == ",".join(map(str, sizes))


@async_test()
async def test_large_messages_both_ways() -> None:
    text = "é" * (1024 * 1024)  # 2 MiB of UTF-8
    data = os.urandom(3 * 1024 * 1024)
    async with serve(app_with(echo)) as server:
        async with aiohttp_ws(url(server)) as ws:
            await ws.send_str(text)
            assert (await receive(ws)).data == text
            await ws.send_bytes(data)
            assert (await receive(ws)).data == data
        async with connect(url(server), max_size=None) as client:
            await client.send(text)
            assert await client.recv() == text
            await client.send(data)
            assert await client.recv() == data


@async_test()
async def test_a_long_conversation_in_non_ascii_text_does_not_stall() -> None:
    # One message at a time, so never more than one is queued: the reading side must not pause.
    message = "€" * 10_000  # 30,000 bytes of UTF-8, 10,000 characters
    async with serve(app_with(echo)) as server, aiohttp_ws(url(server)) as ws:
        for n in range(100):
            await ws.send_str(message)
            try:
                reply = await ws.receive(timeout=2)
            except TimeoutError:
                pytest.fail(f"no echo for message {n}: the server stopped reading")
            assert reply.data == message


@async_test()
async def test_invalid_utf8_in_a_text_message_is_an_error_1007() -> None:
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        observed["message"] = await ws.receive()
        observed["close_code"] = ws.close_code
        observed.done.set()
        return ws

    async with serve(app_with(handle)) as server, aiohttp_ws(url(server), compress=0) as ws:
        await ws.send_frame(b"caf\xe9", aiohttp.WSMsgType.TEXT)
        msg = await receive(ws)
        assert (msg.type, msg.data) == (CLOSE, 1007)
        await observed.wait()
    assert observed["message"].type is web.WSMsgType.ERROR
    assert observed["message"].data.code == 1007
    assert observed["close_code"] == 1007


def test_message_types_and_close_codes_are_aiohttps() -> None:
    # Every name aiohttp has, with its value: its lowercase aliases (WSMsgType.text, ...) too.
    for ours, theirs in (
        (web.WSMsgType, aiohttp.WSMsgType),
        (web.WSCloseCode, aiohttp.WSCloseCode),
    ):
        expected = {name: int(member) for name, member in theirs.__members__.items()}
        assert {name: int(member) for name, member in ours.__members__.items()} == expected
    assert web.WSMessage._fields == aiohttp.WSMessage._fields
    assert str(web.WebSocketError(1009, "too big")) == str(aiohttp.WebSocketError(1009, "too big"))


def test_autoping_and_autoclose_cannot_be_turned_off() -> None:
    with pytest.raises(ValueError, match="autoping"):
        web.WebSocketResponse(autoping=False)
    with pytest.raises(ValueError, match="autoclose"):
        web.WebSocketResponse(autoclose=False)
    web.WebSocketResponse(autoping=True, autoclose=True)  # aiohttp's defaults, spelled out


# -- closing ----------------------------------------------------------------------------------


def recording_echo(observed: Observed) -> Handler:
    """`echo` that records the state after its ``async for`` ended, and what receive says then."""

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        observed["closed before"] = ws.closed
        async for msg in ws:
            await ws.send_str(msg.data)
        observed["close_code"] = ws.close_code
        observed["closed"] = ws.closed
        observed["after"] = await ws.receive()
        observed["exception"] = ws.exception()
        observed["close"] = await ws.close()
        observed.done.set()
        return ws

    return handle


@async_test()
async def test_async_for_ends_when_the_aiohttp_client_closes_with_its_code() -> None:
    observed = Observed()
    async with serve(app_with(recording_echo(observed))) as server:
        async with aiohttp_ws(url(server)) as ws:
            await ws.send_str("one")
            assert (await receive(ws)).data == "one"
            assert await ws.close(code=4001, message=b"done here")
            assert ws.close_code == 4001  # the server echoed the client's code
        await observed.wait()
    assert observed["closed before"] is False
    assert observed["close_code"] == 4001
    assert observed["closed"] is True
    assert observed["after"].type is web.WSMsgType.CLOSED
    assert observed["exception"] is None
    assert observed["close"] is False  # the client's close was already answered


@async_test()
async def test_async_for_ends_when_the_websockets_client_closes_with_its_code() -> None:
    observed = Observed()
    async with serve(app_with(recording_echo(observed))) as server:
        async with connect(url(server)) as ws:
            await ws.send("one")
            assert await ws.recv() == "one"
            await ws.close(code=1001, reason="leaving")
        assert ws.close_code == 1001
        await observed.wait()
    assert observed["close_code"] == 1001
    assert observed["after"].type is web.WSMsgType.CLOSED


@async_test()
async def test_the_close_message_carries_the_clients_code_and_reason() -> None:
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        observed["message"] = await ws.receive()
        observed.done.set()
        return ws

    async with serve(app_with(handle)) as server:
        async with connect(url(server)) as ws:
            await ws.close(code=4002, reason="the reason")
        await observed.wait()
    assert observed["message"] == (web.WSMsgType.CLOSE, 4002, "the reason")


def closing_with(observed: Observed) -> Handler:
    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("about to close")
        observed["first"] = await ws.close(code=4000, message=b"bye")
        observed["second"] = await ws.close()
        observed["close_code"] = ws.close_code
        observed["closed"] = ws.closed
        observed["after"] = await ws.receive()
        observed.done.set()
        return ws

    return handle


@async_test()
async def test_server_close_with_code_and_message_reaches_the_aiohttp_client() -> None:
    observed = Observed()
    async with serve(app_with(closing_with(observed))) as server:
        async with aiohttp_ws(url(server)) as ws:
            assert (await receive(ws)).data == "about to close"
            msg = await receive(ws)
            assert (msg.type, msg.data, msg.extra) == (CLOSE, 4000, "bye")
            assert ws.close_code == 4000
        await observed.wait()
    assert observed["first"] is True
    assert observed["second"] is False
    assert observed["close_code"] == 4000
    assert observed["closed"] is True
    assert observed["after"].type in (web.WSMsgType.CLOSING, web.WSMsgType.CLOSED)


@async_test()
async def test_server_close_with_code_and_message_reaches_the_websockets_client() -> None:
    observed = Observed()
    async with serve(app_with(closing_with(observed))) as server:
        async with connect(url(server)) as ws:
            assert await ws.recv() == "about to close"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4000, "bye")
        await observed.wait()
    assert (observed["first"], observed["second"]) == (True, False)


@async_test()
async def test_a_close_code_that_may_not_be_sent_is_refused_and_the_socket_stays_open() -> None:
    # RFC 6455 §7.4: 1005, 1006, 1015 and codes below 1000 are never sent; the reason fits in a
    # control frame (123 bytes).  aiohttp sends whatever it is given; ketch raises ValueError,
    # before anything changes: the WebSocket is still open and closes normally afterwards.
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        for code, message in ((1005, ""), (1006, ""), (999, ""), (5000, ""), (1000, "x" * 124)):
            with pytest.raises(ValueError, match=r"close (code|reason)"):
                await ws.close(code=code, message=message)
        observed["closed"] = ws.closed
        await ws.send_str("still open")
        observed["close"] = await ws.close(code=3000, message="now")
        observed.done.set()
        return ws

    async with serve(app_with(handle)) as server, aiohttp_ws(url(server)) as ws:
        await ws.send_str("go")
        msg = await receive(ws)
        if msg.type is CLOSE:
            await observed.wait()  # the handler's exception, if that is why
        assert msg.data == "still open"
        msg = await receive(ws)
        assert (msg.type, msg.data, msg.extra) == (CLOSE, 3000, "now")
        await observed.wait()
    assert observed["closed"] is False
    assert observed["close"] is True


@async_test()
async def test_a_handler_that_returns_without_closing_closes_with_1000() -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("that is all")
        return ws

    async with serve(app_with(handle)) as server:
        async with aiohttp_ws(url(server)) as ws:
            assert (await receive(ws)).data == "that is all"
            msg = await receive(ws)
            assert (msg.type, msg.data) == (CLOSE, 1000)
        async with connect(url(server)) as client:
            assert await client.recv() == "that is all"
            with pytest.raises(ConnectionClosed):
                await client.recv()
        assert client.close_code == 1000


@async_test()
async def test_a_client_that_drops_the_connection_ends_the_loop_with_1006() -> None:
    # aiohttp reports this as a CLOSED message with close_code 1000; ketch as a CLOSE message
    # with 1006, the RFC's code for a connection lost without a close frame.
    observed = Observed()
    async with (
        serve(app_with(recording_echo(observed))) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(raw_handshake())
        assert (await client.read_head_bytes()).startswith(b"HTTP/1.1 101 ")
        await client.send(masked_text("one"))
        async with asyncio.timeout(WAIT):
            assert await client.reader.readexactly(5) == b"\x81\x03one"
        await client.close()  # no close frame
        await observed.wait()
    assert observed["close_code"] == 1006
    assert observed["closed"] is True
    assert observed["after"].type is web.WSMsgType.CLOSED


@async_test()
async def test_close_waits_at_most_timeout_for_a_client_that_does_not_answer() -> None:
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=0.3)
        await ws.prepare(request)
        await ws.receive()
        loop = asyncio.get_running_loop()
        started = loop.time()
        observed["close"] = await ws.close(code=4003, message="no answer?")
        observed["took"] = loop.time() - started
        observed.done.set()
        return ws

    async with serve(app_with(handle)) as server, await RawClient.connect(server.port) as client:
        await client.send(raw_handshake())
        assert (await client.read_head_bytes()).startswith(b"HTTP/1.1 101 ")
        await client.send(masked_text("go"))
        async with asyncio.timeout(WAIT):
            rest = await client.read_until_eof()  # the close frame, never answered, then EOF
        reason = b"no answer?"
        assert rest == bytes([0x88, 2 + len(reason)]) + (4003).to_bytes(2, "big") + reason
        await observed.wait()
    assert observed["close"] is True
    assert 0.25 <= observed["took"] < 2


@async_test()
async def test_a_handler_that_raises_after_prepare_closes_with_1011_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Boom(Exception):
        pass

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        msg = await ws.receive()
        raise Boom(f"the handler failed on {msg.data}")

    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with serve(app_with(handle)) as server:
            async with aiohttp_ws(url(server)) as ws:
                await ws.send_str("this")
                msg = await receive(ws)
                assert (msg.type, msg.data) == (CLOSE, 1011)
            async with aiohttp_ws(url(server)) as ws:  # the server goes on serving
                await ws.send_str("that")
                assert (await receive(ws)).data == 1011
    failures = [r for r in caplog.records if r.name == "ketch.error" and r.exc_info]
    assert len(failures) == 2
    assert all(r.exc_info and r.exc_info[0] is Boom for r in failures)
    assert "the handler failed on this" in caplog.text
    assert "Traceback" in caplog.text
    assert "in handle" in caplog.text  # the handler's frame is in the traceback


@async_test()
async def test_sends_after_close_raise_an_oserror() -> None:
    # aiohttp raises ClientConnectionResetError here, a ConnectionResetError; ketch raises
    # ClientDisconnected, an OSError that is not a ConnectionError.  Both are OSErrors.
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.query.get("who") == "server":
            await ws.close()
        else:
            async for _ in ws:
                pass
        errors = []
        for attempt in (ws.send_str("late"), ws.send_bytes(b"late"), ws.send_json([1]), ws.ping()):
            try:
                await attempt
            except Exception as exc:
                errors.append(exc)
        observed[request.query["who"]] = errors
        observed[request.query["who"] + " closed"] = ws.closed
        if len(observed.values) == 4:
            observed.done.set()
        return ws

    async with serve(app_with(handle)) as server:
        async with aiohttp_ws(url(server, "/ws?who=server")) as ws:
            assert (await receive(ws)).type is CLOSE
        async with aiohttp_ws(url(server, "/ws?who=client")) as ws:
            await ws.close()
        await observed.wait()
    for who in ("server", "client"):
        assert observed[f"{who} closed"] is True
        assert len(observed[who]) == 4
        assert all(isinstance(exc, OSError) for exc in observed[who]), observed[who]


# -- the opening handshake --------------------------------------------------------------------


async def protocol_echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=("chat.v1", "chat.v2", "chat.v3"))
    await ws.prepare(request)
    await ws.send_str(repr(ws.ws_protocol))
    await ws.close()
    return ws


@async_test()
async def test_the_subprotocol_is_the_clients_first_choice_that_the_handler_speaks() -> None:
    async with serve(app_with(protocol_echo)) as server:
        async with aiohttp_ws(url(server), protocols=("other", "chat.v3", "chat.v1")) as ws:
            assert ws.protocol == "chat.v3"
            assert (await receive(ws)).data == "'chat.v3'"
        async with connect(
            url(server), subprotocols=[Subprotocol("chat.v2"), Subprotocol("chat.v1")]
        ) as client:
            assert client.subprotocol == "chat.v2"
            assert client.response is not None
            assert client.response.headers["Sec-WebSocket-Protocol"] == "chat.v2"
            assert await client.recv() == "'chat.v2'"


@async_test()
async def test_no_common_subprotocol_means_no_protocol_header() -> None:
    async with serve(app_with(protocol_echo)) as server:
        async with aiohttp_ws(url(server), protocols=("graphql-ws",)) as ws:
            assert ws.protocol is None
            assert (await receive(ws)).data == "None"
        async with connect(url(server), subprotocols=[Subprotocol("graphql-ws")]) as client:
            assert client.subprotocol is None
            assert client.response is not None
            assert "Sec-WebSocket-Protocol" not in client.response.headers
            assert await client.recv() == "None"
        async with connect(url(server)) as client:  # offering none
            assert client.response is not None
            assert "Sec-WebSocket-Protocol" not in client.response.headers
            assert await client.recv() == "None"


@async_test()
async def test_can_prepare_tells_a_websocket_request_from_a_plain_get() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("chat",))
        ready = ws.can_prepare(request)
        if not ready:
            return web.Response(text=f"plain: {ready.ok} {ready.protocol}")
        await ws.prepare(request)
        await ws.send_str(f"websocket: {ready.ok} {ready.protocol}")
        await ws.close()
        return ws

    async with served(app_with(handle)) as (client, server):
        response = await client.get("/ws")
        assert (response.status_code, response.text) == (200, "plain: False None")
        async with connect(url(server), subprotocols=[Subprotocol("chat")]) as ws:
            assert await ws.recv() == "websocket: True chat"
        async with aiohttp_ws(url(server)) as aws:
            assert (await receive(aws)).data == "websocket: True None"


@async_test()
async def test_a_plain_get_to_a_websocket_handler_is_400_and_the_server_goes_on() -> None:
    app = app_with(echo)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", hello)
    async with served(app) as (client, server):
        first = await client.get("/ws")
        second = await client.get("/ws", headers={"Upgrade": "websocket"})  # no Connection
        assert (first.status_code, second.status_code) == (400, 400)
        assert (await client.get("/")).text == "hello"
        async with aiohttp_ws(url(server)) as ws:
            await ws.send_str("still serving")
            assert (await receive(ws)).data == "still serving"


@async_test()
async def test_another_websocket_version_is_426_with_the_version_spoken() -> None:
    # aiohttp answers 400 here; RFC 6455 §4.4 asks for 426 with Sec-WebSocket-Version.
    async with serve(app_with(echo)) as server, await RawClient.connect(server.port) as client:
        response = await client.request(
            "GET", "/ws", [*WEBSOCKET_HEAD, ("Sec-WebSocket-Version", "8")]
        )
        assert response.status == 426
        assert response.header(b"sec-websocket-version") == b"13"
    async with serve(app_with(echo)) as server, await RawClient.connect(server.port) as client:
        head = "".join(f"{name}: {value}\r\n" for name, value in WEBSOCKET_HEAD)
        await client.send(
            f"GET /ws HTTP/1.1\r\nHost: t\r\n{head}Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        switched = await client.read_head_bytes()
        assert switched.startswith(b"HTTP/1.1 101 ")
        fields = dict(line.split(b": ", 1) for line in switched.strip().split(b"\r\n")[1:])
        fields = {name.lower(): value for name, value in fields.items()}
        assert fields[b"sec-websocket-accept"] == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455's


@async_test()
async def test_headers_and_cookies_set_before_prepare_are_on_the_101() -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        ws.headers["X-Served-By"] = "ketch"
        ws.set_cookie("session", "abc123", httponly=True, path="/")
        await ws.prepare(request)
        await ws.close()
        return ws

    async with serve(app_with(handle)) as server, connect(url(server)) as ws:
        response = ws.response
        assert response is not None
        assert response.status_code == 101
        assert response.headers["X-Served-By"] == "ketch"
        (cookie,) = response.headers.get_all("Set-Cookie")
        assert cookie.startswith("session=abc123")
        assert "httponly" in cookie.lower()
        assert "Content-Type" not in response.headers
        assert response.headers["Upgrade"].lower() == "websocket"


@async_test()
async def test_on_response_prepare_runs_for_the_websocket_response() -> None:
    seen: list[tuple[str, str]] = []

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        seen.append((request.path, type(response).__name__))
        response.headers["X-Prepared"] = "yes"

    app = app_with(echo)
    app.on_response_prepare.append(on_prepare)
    async with serve(app) as server, connect(url(server)) as ws:
        assert ws.response is not None
        assert ws.response.headers["X-Prepared"] == "yes"
    assert seen == [("/ws", "WebSocketResponse")]


@async_test()
async def test_the_origin_header_is_in_request_headers() -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(request.headers.get("Origin", "no origin"))
        await ws.close()
        return ws

    async with serve(app_with(handle)) as server:
        async with aiohttp_ws(url(server), origin="https://app.example") as ws:
            assert (await receive(ws)).data == "https://app.example"
        async with connect(url(server), origin=Origin("https://other.example")) as client:
            assert await client.recv() == "https://other.example"
        async with connect(url(server)) as client:
            assert await client.recv() == "no origin"


@async_test()
async def test_websockets_over_tls(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    context = certificates.client_context()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(f"{request.scheme} {request.secure}")
        async for msg in ws:
            await ws.send_str(msg.data)
        return ws

    settings = {
        "ssl_certfile": str(certificates.server_cert),
        "ssl_keyfile": str(certificates.server_key),
    }
    async with serve(app_with(handle), **settings) as server:
        address = f"wss://127.0.0.1:{server.port}/ws"
        async with aiohttp_ws(address, ssl=context) as ws:
            assert (await receive(ws)).data == "https True"
            await ws.send_str("secret")
            assert (await receive(ws)).data == "secret"
        async with connect(address, ssl=context) as client:
            assert await client.recv() == "https True"
            await client.send("secret")
            assert await client.recv() == "secret"


@async_test()
async def test_a_handler_refuses_an_origin_with_403_before_prepare() -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        if request.headers.get("Origin") != "https://app.example":
            raise web.HTTPForbidden(text="not from here")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("welcome")
        await ws.close()
        return ws

    async with serve(app_with(handle)) as server:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with aiohttp_ws(url(server), origin="https://evil.example"):
                pass
        assert refused.value.status == 403
        with pytest.raises(InvalidStatus) as invalid:
            async with connect(url(server), origin=Origin("https://evil.example")):
                pass
        assert invalid.value.response.status_code == 403
        assert invalid.value.response.body == b"not from here"
        async with aiohttp_ws(url(server), origin="https://app.example") as ws:
            assert (await receive(ws)).data == "welcome"


# -- keepalive, timeouts, limits --------------------------------------------------------------


@async_test()
async def test_heartbeat_pings_and_a_client_that_answers_stays_connected() -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=0.5)
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(msg.data)
        return ws

    async with serve(app_with(handle)) as server, aiohttp_ws(url(server), autoping=False) as ws:
        for _ in range(2):  # two pings: the first answer kept the connection up
            ping = await receive(ws)
            assert ping.type is aiohttp.WSMsgType.PING
            await ws.pong(ping.data)
        await ws.send_str("still here")
        assert (await receive(ws)).data == "still here"


def one_message(observed: Observed, **options: Any) -> Handler:
    """A handler that receives one message (or the end) on a `WebSocketResponse(**options)`."""

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(**options)
        await ws.prepare(request)
        observed["message"] = await ws.receive()
        observed["close_code"] = ws.close_code
        observed["exception"] = ws.exception()
        observed.done.set()
        return ws

    return handle


@async_test()
async def test_heartbeat_closes_a_client_that_does_not_answer_pings() -> None:
    observed = Observed()
    handle = one_message(observed, heartbeat=0.5)
    loop = asyncio.get_running_loop()
    async with serve(app_with(handle)) as server, aiohttp_ws(url(server), autoping=False) as ws:
        started = loop.time()
        assert (await receive(ws)).type is aiohttp.WSMsgType.PING
        end = await receive(ws)  # not answered: the server gives up on us
        assert end.type in (CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), end
        if end.type is CLOSE:
            assert end.data == 1011
        assert loop.time() - started < 3
        await observed.wait()
    assert observed["message"].type is web.WSMsgType.ERROR
    assert observed["close_code"] == 1011
    assert isinstance(observed["exception"], web.WebSocketError)
    assert observed["exception"].code == 1011


@async_test()
async def test_receive_with_a_timeout_raises_timeout_error_and_the_socket_goes_on() -> None:
    observed = Observed()

    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(receive_timeout=0.2)
        await ws.prepare(request)
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.2)
        await ws.send_str("timed out")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive()  # receive_timeout
        await ws.send_str("timed out again")
        msg = await ws.receive(timeout=WAIT)
        await ws.send_str(f"then {msg.data}")
        await ws.close()
        observed.done.set()
        return ws

    async def text(ws: aiohttp.ClientWebSocketResponse) -> Any:
        msg = await receive(ws)
        if msg.type is CLOSE:
            await observed.wait()  # raises the handler's exception, if that is why
        return msg.data

    async with serve(app_with(handle)) as server, aiohttp_ws(url(server)) as ws:
        assert await text(ws) == "timed out"
        assert await text(ws) == "timed out again"
        await ws.send_str("a message")
        assert await text(ws) == "then a message"


def size_limited(observed: Observed) -> Handler:
    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1024)
        await ws.prepare(request)
        observed["fits"] = await ws.receive()
        observed["too big"] = await ws.receive()
        observed["close_code"] = ws.close_code
        observed["exception"] = ws.exception()
        observed["then"] = [msg async for msg in ws]
        observed.done.set()
        return ws

    return handle


def check_too_big(observed: Observed) -> None:
    assert observed["fits"].type is web.WSMsgType.BINARY or observed["fits"].type is (
        web.WSMsgType.TEXT
    )
    assert len(observed["fits"].data) == 1024
    error = observed["too big"]
    assert error.type is web.WSMsgType.ERROR
    assert isinstance(error.data, web.WebSocketError)
    assert error.data.code == web.WSCloseCode.MESSAGE_TOO_BIG
    assert int(web.WSCloseCode.MESSAGE_TOO_BIG) == 1009
    assert observed["close_code"] == 1009
    assert observed["exception"] is error.data
    assert observed["then"] == []


@async_test()
async def test_a_message_above_max_msg_size_is_an_error_1009_for_aiohttp() -> None:
    observed = Observed()
    async with serve(app_with(size_limited(observed))) as server:
        async with aiohttp_ws(url(server)) as ws:
            await ws.send_bytes(os.urandom(1024))
            await ws.send_bytes(os.urandom(2048))
            msg = await receive(ws)
            assert (msg.type, msg.data) == (CLOSE, 1009)
        await observed.wait()
    check_too_big(observed)


@async_test()
async def test_max_msg_size_0_means_no_limit_as_in_aiohttp() -> None:
    observed = Observed()
    handle = one_message(observed, max_msg_size=0)
    async with serve(app_with(handle), ws_max_size=1000) as server, aiohttp_ws(url(server)) as ws:
        await ws.send_bytes(b"b" * 5000)  # over the server's ws_max_size
        await observed.wait()
    assert observed["message"].data == b"b" * 5000


@async_test()
async def test_max_msg_size_applies_after_inflating_for_websockets() -> None:
    observed = Observed()
    async with serve(app_with(size_limited(observed))) as server:
        async with connect(url(server)) as ws:  # compression on: "x" * 2048 is a few bytes
            await ws.send("x" * 1024)
            await ws.send("x" * 2048)
            with pytest.raises(ConnectionClosedError):
                await ws.recv()
        assert ws.close_code == 1009
        await observed.wait()
    check_too_big(observed)


@async_test()
async def test_the_defaults_come_from_the_server_settings() -> None:
    # No max_msg_size, heartbeat or compress given: ws_max_size, ws_ping_interval,
    # ws_ping_timeout and ws_per_message_deflate decide.
    observed = Observed()
    settings = {
        "ws_max_size": 1024,
        "ws_ping_interval": 0.5,
        "ws_ping_timeout": 0.25,
        "ws_per_message_deflate": False,
    }
    async with serve(app_with(size_limited_by_default(observed)), **settings) as server:
        async with aiohttp_ws(url(server), autoping=False, compress=15) as ws:
            assert ws.compress == 0  # offered, not accepted: ws_per_message_deflate=False
            assert (await receive(ws)).type is aiohttp.WSMsgType.PING  # ws_ping_interval
            await ws.send_bytes(b"x" * 1025)
            msg = await receive(ws)
            assert (msg.type, msg.data) == (CLOSE, 1009)  # ws_max_size
        async with aiohttp_ws(url(server), autoping=False) as ws:
            assert (await receive(ws)).type is aiohttp.WSMsgType.PING
            end = await receive(ws)  # unanswered past ws_ping_timeout
            assert end.type in (CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), end
        await observed.wait()


def size_limited_by_default(
    observed: Observed,
) -> Handler:
    @observed.watch
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        observed.done.set()
        return ws

    return handle


# -- compression ------------------------------------------------------------------------------


def compressing(compress: bool) -> Handler:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compress)
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(msg.data * 2)
        return ws

    return handle


@async_test()
async def test_compression_is_negotiated_with_both_clients() -> None:
    big = "compress me " * 10_000
    async with serve(app_with(compressing(True))) as server:
        async with aiohttp_ws(url(server), compress=15) as ws:
            assert ws.compress  # the window bits agreed on, 0 for none
            await ws.send_str(big)
            assert (await receive(ws)).data == big * 2
        async with connect(url(server)) as client:
            assert client.response is not None
            assert "permessage-deflate" in client.response.headers["Sec-WebSocket-Extensions"]
            await client.send(big)
            assert await client.recv() == big * 2


@async_test()
async def test_compress_tells_whether_compression_was_negotiated() -> None:
    # aiohttp: after prepare, `compress` is what was negotiated (the window bits, 0 for none).
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        before = ws.compress
        await ws.prepare(request)
        await ws.send_str(f"{bool(before)} {bool(ws.compress)}")
        await ws.close()
        return ws

    async with serve(app_with(handle)) as server:
        async with connect(url(server)) as client:
            assert await client.recv() == "True True"
        async with connect(url(server), compression=None) as client:
            assert await client.recv() == "True False"


@async_test()
async def test_compress_false_answers_without_the_extension() -> None:
    big = "compress me " * 10_000
    async with serve(app_with(compressing(False))) as server:
        async with aiohttp_ws(url(server), compress=15) as ws:
            assert ws.compress == 0
            await ws.send_str(big)
            assert (await receive(ws)).data == big * 2
        async with connect(url(server)) as client:
            assert client.response is not None
            assert "Sec-WebSocket-Extensions" not in client.response.headers
            await client.send(big)
            assert await client.recv() == big * 2


# -- many sockets -----------------------------------------------------------------------------


@async_test()
async def test_fifty_connections_at_once_each_echo_a_hundred_messages() -> None:
    async def with_aiohttp(session: aiohttp.ClientSession, n: int) -> None:
        async with session.ws_connect(url(server)) as ws:
            for i in range(100):
                await ws.send_str(f"{n}:{i}")
            for i in range(100):
                assert (await receive(ws)).data == f"{n}:{i}"

    async def with_websockets(n: int) -> None:
        async with connect(url(server)) as ws:
            for i in range(100):
                await ws.send(f"{n}:{i}".encode())
            for i in range(100):
                assert await ws.recv() == f"{n}:{i}".encode()

    async with serve(app_with(echo)) as server, aiohttp.ClientSession() as session:
        await asyncio.gather(
            *(with_aiohttp(session, n) for n in range(25)),
            *(with_websockets(n) for n in range(25, 50)),
        )


SOCKETS = web.AppKey("sockets", dict[str, web.WebSocketResponse])
LEFT = web.AppKey("left", asyncio.Queue[str])


async def chat(request: web.Request) -> web.WebSocketResponse:
    """examples/chat.py's pattern: every message goes to every connected socket."""
    name = request.query["name"]
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets[name] = ws
    try:
        await ws.send_str(f"welcome {name}")
        async for msg in ws:
            for peer in list(sockets.values()):
                with contextlib.suppress(OSError):  # a peer that is leaving
                    await peer.send_str(f"{name}: {msg.data}")
    finally:
        del sockets[name]
        request.app[LEFT].put_nowait(name)
    return ws


@async_test()
async def test_a_handler_broadcasts_to_every_socket_kept_in_app_state() -> None:
    app = app_with(chat)
    app[SOCKETS] = {}
    app[LEFT] = asyncio.Queue()
    async with serve(app) as server, contextlib.AsyncExitStack() as stack:
        clients: dict[str, ClientConnection] = {}
        for name in ("ann", "bob", "cy"):
            clients[name] = await stack.enter_async_context(
                connect(url(server, f"/ws?name={name}"))
            )
            assert await clients[name].recv() == f"welcome {name}"
        await clients["ann"].send("hello all")
        for client in clients.values():
            assert await client.recv() == "ann: hello all"
        await clients["cy"].close()
        async with asyncio.timeout(WAIT):
            assert await app[LEFT].get() == "cy"
        sockets = app[SOCKETS]
        assert set(sockets) == {"ann", "bob"}
        await clients["bob"].send("cy left")
        for name in ("ann", "bob"):
            assert await clients[name].recv() == "bob: cy left"
    assert app[SOCKETS] == {}


# -- middlewares, sub-applications, shutdown --------------------------------------------------


@async_test()
async def test_a_middleware_wraps_the_websocket_handler() -> None:
    seen: list[Any] = []
    returned = asyncio.Event()

    @web.middleware
    async def outer(request: web.Request, handler: Any) -> web.StreamResponse:
        request["user"] = "alice"
        response: web.StreamResponse = await handler(request)
        seen.append((type(response).__name__, getattr(response, "closed", None)))
        returned.set()
        return response

    async def inner(request: web.Request, handler: Any) -> web.StreamResponse:
        request["user"] += " (checked)"
        response: web.StreamResponse = await handler(request)
        return response

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(request["user"])
        async for msg in ws:
            await ws.send_str(msg.data)
        return ws

    app = web.Application(middlewares=[outer, inner])
    app.router.add_get("/ws", handle)
    async with serve(app) as server:
        async with aiohttp_ws(url(server)) as ws:
            assert (await receive(ws)).data == "alice (checked)"
            await ws.send_str("echo")
            assert (await receive(ws)).data == "echo"
        async with asyncio.timeout(WAIT):
            await returned.wait()
    assert seen == [("WebSocketResponse", True)]


@async_test()
async def test_a_websocket_route_in_a_sub_application() -> None:
    prepared: list[str] = []

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        prepared.append(type(response).__name__)

    sub = web.Application()
    sub.router.add_get("/ws", echo)
    sub.on_response_prepare.append(on_prepare)
    app = web.Application()
    app.add_subapp("/chat/", sub)
    async with serve(app) as server:
        async with aiohttp_ws(url(server, "/chat/ws")) as ws:
            await ws.send_str("in the sub-app")
            assert (await receive(ws)).data == "in the sub-app"
        async with connect(url(server, "/chat/ws")) as client:
            await client.send(b"bytes too")
            assert await client.recv() == b"bytes too"
    assert prepared == ["WebSocketResponse", "WebSocketResponse"]


@async_test()
async def test_graceful_shutdown_closes_websockets_with_1001() -> None:
    codes: dict[str, int | None] = {}

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(msg.data)
        codes[request.query["client"]] = ws.close_code
        return ws

    async with (
        serve(app_with(handle), timeout_graceful_shutdown=5) as server,
        aiohttp_ws(url(server, "/ws?client=aiohttp")) as ws,
        connect(url(server, "/ws?client=websockets")) as client,
    ):
        await ws.send_str("before")
        assert (await receive(ws)).data == "before"
        await client.send("before")
        assert await client.recv() == "before"
        stopping = asyncio.create_task(server.shutdown())
        msg = await receive(ws)
        assert (msg.type, msg.data) == (CLOSE, 1001)
        with pytest.raises(ConnectionClosed):
            await client.recv()
        assert client.close_code == 1001
        async with asyncio.timeout(WAIT):
            await stopping  # both handlers ended: no need for the grace period
    # The handler's close_code is the client's answer, as in aiohttp: websockets echoes 1001,
    # aiohttp's client always answers 1000.
    assert codes == {"aiohttp": 1000, "websockets": 1001}
