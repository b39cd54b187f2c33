"""A WebSocket's life in the server: keepalive pings, the close handshake, graceful shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode

from tests.asgi.test_websocket import echo, handshake_bytes, websocket_only
from tests.support import RawClient, async_test, serving


def split_frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Parse the unmasked frames a server sends: ``(opcode, payload)`` pairs and the rest."""
    frames = []
    while len(data) >= 2:
        length = data[1] & 0x7F
        start = 2
        if length == 126:
            length, start = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(data[2:10], "big"), 10
        if len(data) < start + length:
            break
        frames.append((data[0] & 0x0F, data[start : start + length]))
        data = data[start + length :]
    return frames, data


async def read_frames(client: RawClient, until: int, limit: float = 5.0) -> list[tuple[int, bytes]]:
    """Read server frames after the 101 until one with opcode `until` arrives."""
    frames: list[tuple[int, bytes]] = []
    buffer = b""
    head_done = False
    async with asyncio.timeout(limit):
        while True:
            buffer += await client._read_more()
            if not head_done:
                if b"\r\n\r\n" not in buffer:
                    continue
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 101 "), head
                head_done = True
            parsed, buffer = split_frames(buffer)
            frames.extend(parsed)
            if any(opcode == until for opcode, _ in parsed):
                return frames


@async_test()
async def test_shutdown_sends_1001_and_waits_for_the_close_handshake() -> None:
    heard: list[dict[str, Any]] = []

    @websocket_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                heard.append(message)
                return

    async with serving(app) as (server, task), connect(f"ws://127.0.0.1:{server.port}/") as ws:
        await ws.send("hello")
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        server.request_shutdown()
        await ws.wait_closed()
        assert ws.close_code == 1001
        assert ws.close_reason == "server shutting down"
        async with asyncio.timeout(3):
            await task
        assert loop.time() - started < 2
    assert heard == [
        {"type": "websocket.disconnect", "code": 1001, "reason": "server shutting down"}
    ]


@async_test()
async def test_shutdown_does_not_wait_forever_for_a_client_that_ignores_the_close() -> None:
    # A raw client that never answers the close frame (nor reads): the close handshake times out
    # and the connection is aborted within the grace period.
    async with (
        serving(echo, timeout_graceful_shutdown=10) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(handshake_bytes())
        await read_frames_until_101(client)
        loop = asyncio.get_running_loop()
        started = loop.time()
        server.request_shutdown()
        async with asyncio.timeout(9):
            await task
        elapsed = loop.time() - started
        # The close handshake gets CLOSE_TIMEOUT (5 s) and the sweeper's tick, not the grace.
        assert elapsed < 7


async def read_frames_until_101(client: RawClient) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await client._read_more()
    assert data.startswith(b"HTTP/1.1 101 ")


@async_test()
async def test_shutdown_cancels_an_app_that_ignores_the_disconnect_after_the_grace() -> None:
    outcome: list[str] = []

    @websocket_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await asyncio.Event().wait()  # never reads again
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    async with (
        serving(app, timeout_graceful_shutdown=0.5) as (server, task),
        connect(f"ws://127.0.0.1:{server.port}/") as ws,
    ):
        server.request_shutdown()
        await ws.wait_closed()
        assert ws.close_code == 1001
        async with asyncio.timeout(3):
            await task
    assert outcome == ["cancelled"]


@async_test()
async def test_the_server_pings_a_silent_client_and_the_pong_keeps_it() -> None:
    async with (
        serving(echo, ws_ping_interval=0.5, ws_ping_timeout=1) as (server, _),
        connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None) as ws,
    ):
        # The websockets client answers pings by itself; after 2.5 s of our silence the server
        # has pinged and the connection is still open.
        pinged = asyncio.Event()
        original = ws.protocol.recv_frame

        def spy(frame: Frame) -> None:
            if frame.opcode is Opcode.PING:
                pinged.set()
            original(frame)

        ws.protocol.recv_frame = spy  # type: ignore[method-assign]
        async with asyncio.timeout(3):
            await pinged.wait()
        await asyncio.sleep(1.5)
        await ws.send("alive")
        assert await ws.recv() == "alive"


@async_test()
async def test_a_client_that_never_answers_pings_is_closed_with_1011() -> None:
    async with (
        serving(echo, ws_ping_interval=0.5, ws_ping_timeout=0.5) as (server, _),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(handshake_bytes())
        frames = await read_frames(client, until=Opcode.CLOSE, limit=5)
        kinds = [opcode for opcode, _ in frames]
        assert kinds[0] == Opcode.PING
        assert kinds[-1] == Opcode.CLOSE
        assert frames[-1][1][:2] == (1011).to_bytes(2, "big")
        await client.assert_closed()


@async_test()
async def test_keepalive_can_be_turned_off() -> None:
    async with (
        serving(echo, ws_ping_interval=0, ws_ping_timeout=0) as (server, _),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(handshake_bytes())
        await read_frames_until_101(client)
        await client.assert_silent(1.2)
