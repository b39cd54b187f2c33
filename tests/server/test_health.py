"""--health-path: the server answers load balancer probes itself, 200 serving, 503 draining."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import ketch
from ketch.server.health import HealthCheck
from tests.support import RawClient, async_test, respond, serve, serving


class RecordingApp:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.paths.append(f"{scope['method']} {scope['path']}")
        await respond(send, b"from the app")


@async_test()
async def test_health_path_is_answered_200_ok_without_the_app() -> None:
    app = RecordingApp()
    async with (
        serve(app, health_path="/healthz") as server,
        await RawClient.connect(server.port) as client,
    ):
        response = await client.request("GET", "/healthz")
        with_query = await client.request("GET", "/healthz?probe=1")
        head = await client.request("HEAD", "/healthz")
    assert (response.status, response.body) == (200, b"ok\n")
    assert response.header(b"cache-control") == b"no-store"
    assert response.header(b"connection") is None  # kept alive
    assert (with_query.status, with_query.body) == (200, b"ok\n")
    assert (head.status, head.body) == (200, b"")
    assert app.paths == []


@async_test()
async def test_other_paths_and_methods_reach_the_app() -> None:
    app = RecordingApp()
    async with (
        serve(app, health_path="/healthz") as server,
        await RawClient.connect(server.port) as client,
    ):
        for method, target in [
            ("GET", "/"),
            ("POST", "/healthz"),
            ("GET", "/healthz/more"),
            ("GET", "/healthzz"),
        ]:
            assert (await client.request(method, target)).body == b"from the app"
    assert app.paths == ["GET /", "POST /healthz", "GET /healthz/more", "GET /healthzz"]


@async_test()
async def test_health_check_answers_503_and_closes_once_draining() -> None:
    # A graceful shutdown closes the listener and idle connections in the same step, so a probe
    # can only meet a draining server on a connection that was busy then.  The flag is set here
    # directly to put a probe at that moment deterministically.
    app = RecordingApp()
    async with (
        serve(app, health_path="/healthz") as server,
        await RawClient.connect(server.port) as client,
    ):
        assert (await client.request("GET", "/healthz")).status == 200
        assert server._state is not None
        server._state.draining = True
        response = await client.request("GET", "/healthz")
        assert (response.status, response.body) == (503, b"draining\n")
        assert response.header(b"connection") == b"close"
        await client.assert_closed()
        server._state.draining = False
    assert app.paths == []


@async_test()
async def test_a_probe_on_a_kept_alive_connection_during_a_drain_gets_503() -> None:
    app = RecordingApp()
    async with (
        serving(app, health_path="/healthz") as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        assert (await client.request("GET", "/")).status == 200
        server.request_shutdown()
        for _ in range(5):  # let the shutdown begin: listener closed, state draining
            await asyncio.sleep(0)
        assert server._draining is not None
        # The connection was used a moment ago: the drain keeps it a little for a request that
        # may be on its way, and a balancer's probe on it hears that the server is going away.
        response = await client.request("GET", "/healthz")
        assert (response.status, response.body) == (503, b"draining\n")
        assert response.header(b"connection") == b"close"
        await client.assert_closed()
        await task
    assert app.paths == ["GET /"]


@async_test()
async def test_probes_are_kept_out_of_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ketch.access")
    async with (
        serve(RecordingApp(), health_path="/healthz", access_log=True) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.request("GET", "/healthz")
        await client.request("GET", "/app")
        await client.request("POST", "/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "ketch.access"]
    assert len(lines) == 2
    assert '"GET /app HTTP/1.1" 200' in lines[0]
    assert '"POST /healthz HTTP/1.1" 200' in lines[1]


@async_test()
async def test_without_health_path_nothing_wraps_the_front_door() -> None:
    app = RecordingApp()
    async with (
        serve(app) as server,
        await RawClient.connect(server.port) as client,
    ):
        assert server._state is not None
        assert not isinstance(server._state.handler, HealthCheck)
        assert server._state.unlogged is None
        assert (await client.request("GET", "/healthz")).body == b"from the app"


def test_health_path_must_start_with_a_slash() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        ketch.Config(health_path="healthz")
