"""ASGI lifespan: start-up before serving, shutdown after, state into requests, the three modes."""

from __future__ import annotations

import logging
import sys
from typing import Any

import httpx
import pytest

import ketch
from ketch.asgi import LifespanFailure
from tests.support import KetchProcess, async_test, respond, run_ketch, serve


class LifespanApp:
    """Records lifespan events and requests in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["started"] = True
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        self.events.append(f"request {scope['path']} started={scope['state'].get('started')}")
        await respond(send, b"ok")


@async_test()
async def test_startup_runs_before_serving_and_shutdown_after_with_state() -> None:
    app = LifespanApp()
    async with serve(app) as server:
        assert app.events == ["lifespan.startup"]
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{server.port}/a")
        assert app.events[-1] == "request /a started=True"
    assert app.events == ["lifespan.startup", "request /a started=True", "lifespan.shutdown"]


@async_test()
async def test_lifespan_scope_has_asgi_versions_and_a_state_dict() -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        scopes.append(scope)
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async with serve(app):
        pass
    (scope,) = scopes
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["state"] == {}


@async_test()
async def test_startup_failure_message_stops_the_server_from_starting() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    server = ketch.Server(app, port=0)
    with pytest.raises(LifespanFailure, match="no database"):
        await server.start()
    assert not server.started.is_set()
    assert server.addresses == []  # nothing was bound


@async_test()
async def test_app_without_lifespan_support_is_served_with_lifespan_auto(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ketch")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unsupported scope {scope['type']}")
        await respond(send, b"no lifespan here")

    async with serve(app, lifespan="auto") as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.text == "no lifespan here"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("unsupported" in r.getMessage() for r in caplog.records)


@async_test()
async def test_app_raising_in_lifespan_with_lifespan_on_fails_the_start() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("no lifespan")

    server = ketch.Server(app, port=0, lifespan="on")
    with pytest.raises(LifespanFailure):
        await server.start()


@async_test()
async def test_lifespan_off_never_calls_the_app_with_a_lifespan_scope() -> None:
    scope_types: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope_types.append(scope["type"])
        await respond(send, b"ok")

    async with serve(app, lifespan="off") as server, httpx.AsyncClient() as client:
        await client.get(f"http://127.0.0.1:{server.port}/")
    assert scope_types == ["http"]


@async_test()
async def test_shutdown_failure_is_logged_and_the_server_still_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})

    async with serve(app):
        pass
    assert any(r.name == "ketch.error" and "flush failed" in r.getMessage() for r in caplog.records)


def test_cli_exits_non_zero_with_the_reason_when_startup_fails() -> None:
    result = run_ketch("tests.support.apps:failing_startup", "--port", "0")
    assert result.returncode != 0
    assert "database unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert "serving" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_cli_runs_startup_and_shutdown_around_serving() -> None:
    with KetchProcess("tests.support.apps:hello", "--port", "0") as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "hello"
        assert process.stop() == 0


@async_test()
async def test_lifespan_shutdown_runs_when_binding_fails_after_startup() -> None:
    import socket

    app = LifespanApp()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError, match="in use"):
            async with ketch.Server(app, port=busy.getsockname()[1]):
                pass
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]
