"""``http.disconnect`` and ``send`` after the client went away (ASGI 2.4)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ketch.server import ClientDisconnected
from tests.support import RawClient, async_test, collect_body, respond, serve

if TYPE_CHECKING:
    import pytest


@async_test()
async def test_receive_after_the_response_returns_http_disconnect() -> None:
    after: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await collect_body(receive)
        await respond(send, b"done")
        after.set_result(await receive())

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        assert (await client.request("POST", "/", body=b"abc")).body == b"done"
        assert await asyncio.wait_for(after, 5) == {"type": "http.disconnect"}


@async_test()
async def test_receive_after_the_response_with_the_body_unread_returns_http_disconnect() -> None:
    after: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"done")
        after.set_result(await receive())

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        assert (await client.request("POST", "/", body=b"abc")).body == b"done"
        assert await asyncio.wait_for(after, 5) == {"type": "http.disconnect"}


async def long_poll_disconnect(how: str) -> dict[str, Any]:
    """An app reads the (empty) body, then waits on receive() until the client leaves by `how`."""
    waiting = asyncio.Event()
    got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await collect_body(receive)
        waiting.set()
        got.set_result(await receive())

    async with serve(app, timeout_graceful_shutdown=0.1) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"GET /poll HTTP/1.1\r\nHost: h\r\n\r\n")
        await waiting.wait()
        if how == "close":
            await client.close()
        else:
            client.reset()
        try:
            return await asyncio.wait_for(got, 2)
        finally:
            await client.close()


@async_test()
async def test_client_resetting_while_the_app_waits_on_receive_gives_http_disconnect() -> None:
    assert await long_poll_disconnect("reset") == {"type": "http.disconnect"}


@async_test()
async def test_client_closing_while_the_app_waits_on_receive_gives_http_disconnect() -> None:
    assert await long_poll_disconnect("close") == {"type": "http.disconnect"}


@async_test()
async def test_client_disconnecting_mid_body_gives_http_disconnect() -> None:
    got: list[dict[str, Any]] = []
    first = asyncio.Event()
    finished = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            while True:
                message = await receive()
                got.append(message)
                first.set()
                if message["type"] == "http.disconnect" or not message["more_body"]:
                    break
        finally:
            finished.set()

    async with serve(app) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhalf.")
        await first.wait()
        await client.close()
        await asyncio.wait_for(finished.wait(), 5)
    assert got[0] == {"type": "http.request", "body": b"half.", "more_body": True}
    assert got[-1] == {"type": "http.disconnect"}


@async_test()
async def test_send_after_the_client_disconnected_raises_an_oserror_subclass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The client resets the connection (RST): see the FIN case above for a plain close.
    caplog.set_level(logging.INFO, logger="ketch")
    raised: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive())["type"] != "http.disconnect":
            pass
        try:
            await respond(send, b"too late")
        except BaseException as exc:
            raised.set_result(exc)
            raise
        raised.set_result(None)

    async with serve(app) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await asyncio.sleep(0.05)
        client.reset()
        exc = await asyncio.wait_for(raised, 5)
        await client.close()
        await asyncio.sleep(0.05)
    assert isinstance(exc, OSError)
    assert isinstance(exc, ClientDisconnected)
    # A disconnect is the client's business: nothing is logged as an error.
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@async_test()
async def test_client_disconnect_during_a_streamed_response_is_not_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ketch")
    stopped: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:  # an endless stream, until the client goes away
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
        except BaseException as exc:
            stopped.set_result(exc)
            raise

    async with serve(app) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await client.reader.readexactly(100_000)
        await client.close()
        exc = await asyncio.wait_for(stopped, 5)
        await asyncio.sleep(0.05)  # the handler's end has been processed
    assert isinstance(exc, OSError)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@async_test()
async def test_server_stays_healthy_after_many_aborted_connections() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await asyncio.sleep(0.01)
        await respond(send, b"ok")

    async with serve(app) as server:
        for _ in range(20):
            client = await RawClient.connect(server.port)
            await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            client.reset()
        await asyncio.sleep(0.1)
        async with await RawClient.connect(server.port) as client:
            assert (await client.request()).body == b"ok"
