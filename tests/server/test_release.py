"""A closed connection is freed by reference counting, not left for the garbage collector.

A burst of resets once left every protocol, transport and buffer in reference cycles (through the
handler's exception and its traceback, the protocol and its exchange, a WebSocket and its
connection) until the collector's next full pass: megabytes held after the burst.  Each test
here runs with the collector off, then asks it what it would free.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING, Any

import pytest
from websockets.asyncio.client import connect
from websockets.protocol import Protocol

from ketch.server.cycle import Cycle
from ketch.server.protocol import HTTPProtocol
from ketch.websocket.connection import WebSocket
from tests.support import RawClient, async_test, respond, serve

if TYPE_CHECKING:
    from collections.abc import Iterator

    import ketch

CHUNK = b"z" * (256 * 1024)
_SERVER_SIDE = (HTTPProtocol, Cycle, WebSocket, Protocol)  # (the client's is a ClientProtocol)


@pytest.fixture(autouse=True)
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    # pytest keeps log records, and a record's traceback would keep a failed request's objects.
    error_log = logging.getLogger("ketch.error")
    error_log.disabled = True
    try:
        yield
    finally:
        error_log.disabled = False
        gc.enable()


def left_behind() -> dict[str, int]:
    """The server's objects that only the collector would free (unreachable, in cycles)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        counts: dict[str, int] = {}
        for obj in gc.garbage:
            kind = type(obj)
            if kind in _SERVER_SIDE:
                counts[kind.__name__] = counts.get(kind.__name__, 0) + 1
        return counts
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def all_closed(server: ketch.Server) -> None:
    state = server._state
    assert state is not None
    async with asyncio.timeout(5):
        while state.connections or state.in_flight or state.tasks:  # noqa: ASYNC110 (state, no event)
            await asyncio.sleep(0.01)
    for _ in range(3):  # done callbacks, the runner's last step
        await asyncio.sleep(0)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text") or ""})
        return
    path = scope["path"]
    if path == "/big":  # more than the socket buffers hold: waits in drain
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(64):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/upload":
        while (await receive()).get("more_body"):
            pass
        await respond(send, b"read")
    elif path == "/raise-now":
        raise RuntimeError("fails in its first step")
    elif path == "/raise-later":
        await asyncio.sleep(0)
        raise RuntimeError("fails after waiting")
    else:
        await respond(send, b"hello")


@pytest.mark.parametrize(
    "scenario",
    ["keep-alive", "connection-close", "reset-mid-download", "reset-mid-upload", "raise-now",
     "raise-later"],
)  # fmt: skip
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_a_closed_http_connection_leaves_nothing_for_the_collector(
    scenario: str, loop: str
) -> None:
    async with serve(app) as server:
        for index in range(3):  # a connection's first request, and later ones (its runner's)
            client = await RawClient.connect(server.port)
            if scenario == "keep-alive":
                for _ in range(3):
                    await client.request("GET", "/")
                await client.close()
            elif scenario == "connection-close":
                await client.request("GET", "/", headers=[("Connection", "close")])
                await client.read_until_eof()
                await client.close()
            elif scenario == "reset-mid-download":
                await client.request("GET", "/")
                await client.send(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
                await client.reader.readexactly(64 * 1024)
                client.reset()
            elif scenario == "reset-mid-upload":
                await client.send(
                    b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 9999999\r\n\r\n"
                )
                await client.send(CHUNK)
                await asyncio.sleep(0.02)
                client.reset()
            else:
                for _ in range(index):  # from the third request on, in the connection's runner
                    await client.request("GET", "/")
                response = await client.request("GET", f"/{scenario}")
                assert response.status == 500
                await client.close()
        await all_closed(server)
        assert left_behind() == {}


@pytest.mark.parametrize("ending", ["close", "abort"])
@async_test()
async def test_a_closed_websocket_leaves_nothing_for_the_collector(ending: str) -> None:
    async with serve(app) as server:
        for _ in range(3):
            ws = await connect(f"ws://127.0.0.1:{server.port}/")
            await ws.send("ping")
            assert await ws.recv() == "ping"
            if ending == "close":
                await ws.close()
            else:
                ws.transport.abort()
        await all_closed(server)
        assert left_behind() == {}
