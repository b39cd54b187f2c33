"""Graceful shutdown of an in-process server: drain in-flight requests, refuse new ones."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

import ketch
from tests.support import IncompleteResponse, RawClient, async_test, respond, serving

if TYPE_CHECKING:
    from collections.abc import Callable


class SlowApp:
    """Answers /slow once `release` is set, anything else at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.in_handler = asyncio.Event()
        self.outcome: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/slow":
            self.in_handler.set()
            await self.release.wait()
        elif scope["path"] == "/forever":
            self.in_handler.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.outcome.append("cancelled")
                raise
        await respond(send, scope["path"].encode())


async def refused(port: int) -> bool:
    """Whether a new connection to `port` is refused (polls briefly: shutdown is a task)."""
    for _ in range(100):
        try:
            client = await RawClient.connect(port)
        except (ConnectionRefusedError, ConnectionResetError):
            # Reset: the connection was queued in the backlog as the listener closed.
            return True
        await client.close()
        await asyncio.sleep(0.01)
    return False


@async_test()
async def test_in_flight_request_completes_with_connection_close_and_new_ones_are_refused() -> None:
    app = SlowApp()
    async with serving(app) as (server, task):
        port = server.port
        async with await RawClient.connect(port) as client:
            await client.send(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
            await app.in_handler.wait()
            server.request_shutdown()
            assert await refused(port)
            assert not task.done()  # still draining
            app.release.set()
            response = await client.response()
            assert response.body == b"/slow"
            assert response.header(b"connection") == b"close"
            await client.assert_closed()
        async with asyncio.timeout(3):
            await task


@async_test()
async def test_idle_keep_alive_connections_are_closed_at_once_on_shutdown() -> None:
    app = SlowApp()
    async with serving(app, timeout_keep_alive=30) as (server, task):
        async with await RawClient.connect(server.port) as client:
            assert (await client.request()).status == 200
            server.request_shutdown()
            await client.assert_closed(within=1)
        async with asyncio.timeout(1):
            await task


@async_test()
async def test_connection_without_a_request_yet_is_closed_on_shutdown() -> None:
    async with serving(SlowApp(), timeout_keep_alive=30) as (server, task):
        async with await RawClient.connect(server.port) as client:
            await asyncio.sleep(0.05)
            server.request_shutdown()
            await client.assert_closed(within=1)
        async with asyncio.timeout(1):
            await task


@async_test()
async def test_a_connection_accepted_as_shutdown_begins_is_drained_not_answered_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shutdown is requested from inside the accept, between making the connection's protocol and
    # its connection_made (asyncio runs them a loop turn apart): the request must still be
    # served, as a drained one, not met by a finished drain and a 503.
    operations = ketch.Server._operations

    def shutdown_on_first_accept(self: ketch.Server, state: Any) -> Callable[[], Any]:
        make_protocol = operations(self, state)
        accepted: list[object] = []

        def accept() -> Any:
            if not accepted:
                self.request_shutdown()
            accepted.append(make_protocol())
            return accepted[-1]

        return accept

    monkeypatch.setattr(ketch.Server, "_operations", shutdown_on_first_accept)
    async with serving(SlowApp()) as (server, task):
        async with await RawClient.connect(server.port) as client:
            await client.send(b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n")
            response = await client.response()
            assert (response.status, response.body) == (200, b"/late")
            assert response.header(b"connection") == b"close"
            await client.assert_closed()
        async with asyncio.timeout(2):
            await task


@async_test()
async def test_pipelined_request_behind_the_in_flight_one_is_not_started_during_drain() -> None:
    app = SlowApp()
    async with serving(app) as (server, task):
        async with await RawClient.connect(server.port) as client:
            await client.send(
                b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n"
            )
            await app.in_handler.wait()
            server.request_shutdown()
            await asyncio.sleep(0.05)
            app.release.set()
            response = await client.response()
            assert response.body == b"/slow"
            assert response.header(b"connection") == b"close"
            await client.assert_closed()
        await task


@async_test()
async def test_graceful_timeout_cuts_a_never_ending_handler() -> None:
    app = SlowApp()
    async with (
        serving(app, timeout_graceful_shutdown=0.3) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET /forever HTTP/1.1\r\nHost: h\r\n\r\n")
        await app.in_handler.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        server.request_shutdown()
        async with asyncio.timeout(3):
            await task
        assert 0.25 <= loop.time() - started < 2
        with pytest.raises(IncompleteResponse):
            await client.response()


@async_test()
async def test_graceful_timeout_cancels_the_never_ending_handler() -> None:
    app = SlowApp()
    async with (
        serving(app, timeout_graceful_shutdown=0.2) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET /forever HTTP/1.1\r\nHost: h\r\n\r\n")
        await app.in_handler.wait()
        server.request_shutdown()
        await task
        await asyncio.sleep(0.05)
    assert app.outcome == ["cancelled"]


@async_test()
async def test_a_cancelled_handler_finishes_its_cleanup_before_shutdown_returns() -> None:
    cleaned: list[str] = []
    in_handler = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        in_handler.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.05)  # cleanup that itself waits: closing a pool, a file
            cleaned.append("done")

    async with (
        serving(app, timeout_graceful_shutdown=0.1) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await in_handler.wait()
        server.request_shutdown()
        await task
        assert cleaned == ["done"]


class AfterResponseApp:
    """Sends its response, then goes on working (a Starlette background task) until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.responded = asyncio.Event()
        self.outcome: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"sent")
        self.responded.set()
        try:
            await self.release.wait()
            self.outcome.append("finished")
        except asyncio.CancelledError:
            self.outcome.append("cancelled")
            raise


@async_test()
async def test_shutdown_waits_for_a_handler_still_running_after_its_response() -> None:
    app = AfterResponseApp()
    async with (
        serving(app, timeout_graceful_shutdown=3) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert (await client.response()).body == b"sent"
        await app.responded.wait()
        server.request_shutdown()
        await asyncio.sleep(0.2)
        assert not task.done()  # the idle connection is closed, the handler is not done yet
        app.release.set()
        async with asyncio.timeout(2):
            await task
    assert app.outcome == ["finished"]


@async_test()
async def test_a_handler_running_after_its_response_is_cancelled_when_the_grace_is_over() -> None:
    app = AfterResponseApp()
    async with (
        serving(app, timeout_graceful_shutdown=0.2) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert (await client.response()).body == b"sent"
        await app.responded.wait()
        server.request_shutdown()
        async with asyncio.timeout(2):
            await task
        assert app.outcome == ["cancelled"]


@async_test()
async def test_forced_shutdown_during_the_drain_skips_the_rest_of_the_grace_period() -> None:
    app = SlowApp()
    async with (
        serving(app, timeout_graceful_shutdown=2.5) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        await app.in_handler.wait()
        server.request_shutdown()  # first SIGTERM
        await asyncio.sleep(0.05)
        server.request_shutdown(force=True)  # second SIGTERM
        try:
            async with asyncio.timeout(1):
                await asyncio.shield(task)
        finally:
            app.release.set()


@async_test()
async def test_forced_shutdown_request_skips_the_grace_period() -> None:
    app = SlowApp()
    async with (
        serving(app, timeout_graceful_shutdown=30) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        await app.in_handler.wait()
        server.request_shutdown(force=True)
        async with asyncio.timeout(2):
            await task
        app.release.set()


@async_test()
async def test_shutdown_of_an_idle_server_is_immediate() -> None:
    async with serving(SlowApp()) as (server, task):
        loop = asyncio.get_running_loop()
        started = loop.time()
        server.request_shutdown()
        await task
        assert loop.time() - started < 0.5
