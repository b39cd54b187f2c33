"""Keep-alive, header and body timeouts (small values; the sweeper ticks every 0.5 s)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tests.support import RawClient, async_test, collect_body, respond, serve


async def ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await collect_body(receive)
    await respond(send, b"ok")


@async_test()
async def test_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() -> None:
    async with (
        serve(ok, timeout_keep_alive=0.5) as server,
        await RawClient.connect(server.port) as client,
    ):
        assert (await client.request()).status == 200
        loop = asyncio.get_running_loop()
        started = loop.time()
        await client.assert_closed(within=3)
        assert 0.3 <= loop.time() - started <= 2


@async_test()
async def test_keep_alive_connection_in_use_is_not_closed_early() -> None:
    async with (
        serve(ok, timeout_keep_alive=0.5) as server,
        await RawClient.connect(server.port) as client,
    ):
        for _ in range(10):  # 2 s in all, each gap under half the timeout
            assert (await client.request()).status == 200
            await asyncio.sleep(0.2)


@async_test()
async def test_connection_that_never_sends_is_closed_after_the_keep_alive_timeout() -> None:
    async with (
        serve(ok, timeout_keep_alive=0.5) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.assert_closed(within=3)


@async_test()
async def test_partial_head_gets_408_after_the_header_timeout() -> None:
    async with (
        serve(ok, timeout_header=1, timeout_keep_alive=30) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n")
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(4):
            response = await client.response()
        assert 0.5 <= loop.time() - started <= 3
        assert response.status == 408
        assert response.header(b"connection") == b"close"
        await client.assert_closed()


@async_test()
async def test_head_trickled_byte_by_byte_still_times_out() -> None:
    """A slowloris client: bytes keep coming, but the whole head must arrive in time."""
    async with (
        serve(ok, timeout_header=1, timeout_keep_alive=30) as server,
        await RawClient.connect(server.port) as client,
    ):

        async def trickle() -> None:
            for byte in b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 1000:
                await client.send(bytes([byte]))
                await asyncio.sleep(0.05)

        trickler = asyncio.create_task(trickle())
        try:
            async with asyncio.timeout(4):
                response = await client.response()
        finally:
            trickler.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await trickler
        assert response.status == 408


@async_test()
async def test_app_waiting_for_a_body_that_never_comes_gets_disconnect_and_client_408() -> None:
    messages: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] == "http.disconnect" or not message["more_body"]:
                    return
        finally:
            done.set()

    async with (
        serve(app, timeout_body=1, timeout_keep_alive=30) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        async with asyncio.timeout(4):
            response = await client.response("POST")
            await done.wait()
        assert response.status == 408
        await client.assert_closed()
    assert messages[0] == {"type": "http.request", "body": b"abc", "more_body": True}
    assert messages[-1] == {"type": "http.disconnect"}


@async_test()
async def test_slow_but_steady_body_is_not_timed_out() -> None:
    async with serve(ok, timeout_body=1) as server, await RawClient.connect(server.port) as client:
        await client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n")
        for byte in b"12345678":  # 1.6 s in all, 0.2 s between bytes
            await asyncio.sleep(0.2)
            await client.send(bytes([byte]))
        response = await client.response("POST")
    assert response.status == 200


@async_test()
async def test_slow_app_is_not_subject_to_the_timeouts() -> None:
    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await collect_body(receive)
        await asyncio.sleep(1.2)
        await respond(send, b"slow")

    async with (
        serve(slow, timeout_keep_alive=0.5, timeout_header=0.5, timeout_body=0.5) as server,
        await RawClient.connect(server.port) as client,
    ):
        assert (await client.request()).body == b"slow"
