"""Serving applications: `AppRunner` with TCP, Unix and socket sites, `web.run_app`, ``ketch.run``
and the ``ketch`` command, and `ketch.testing.TestClient`."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import textwrap
from typing import TYPE_CHECKING

import httpx
import pytest

from ketch import web
from ketch.testing import TestClient
from tests.support import KetchProcess, RawClient, async_test
from tests.support.apps import hello as asgi_hello

from .helpers import PYTHON, ScriptProcess, free_port, wait_answering

if TYPE_CHECKING:
    from pathlib import Path


def counting_app(events: list[str] | None = None) -> web.Application:
    """Answers with the number of requests so far and the client's address."""
    events = events if events is not None else []

    async def handle(request: web.Request) -> web.Response:
        request.app["count"] += 1
        return web.json_response({"count": request.app["count"], "remote": request.remote})

    async def on_shutdown(app: web.Application) -> None:
        events.append("shutdown")

    async def on_cleanup(app: web.Application) -> None:
        events.append("cleanup")

    app = web.Application()
    app["count"] = 0
    app.router.add_get("/", handle)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


# -- AppRunner and sites ----------------------------------------------------------------------


@async_test()
async def test_tcp_site_on_port_0_serves_and_reports_its_address() -> None:
    runner = web.AppRunner(counting_app())
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        assert site.name == "<not started>"
        await site.start()
        [(host, port)] = runner.addresses
        assert host == "127.0.0.1"
        assert port > 0
        assert site.name == f"http://127.0.0.1:{port}"
        assert runner.sites == [site]
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
        assert response.json() == {"count": 1, "remote": "127.0.0.1"}
    finally:
        await runner.cleanup()
    assert runner.sites == []
    assert runner.addresses == []


@async_test()
async def test_unix_site_serves_on_a_socket_path_and_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "web.sock"
    runner = web.AppRunner(counting_app())
    await runner.setup()
    try:
        await web.UnixSite(runner, path).start()
        assert runner.addresses == [str(path)]
        async with await RawClient.connect_unix(str(path)) as client:
            response = await client.request("GET", "/")
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport) as http:
            second = await http.get("http://localhost/")
    finally:
        await runner.cleanup()
    assert json.loads(response.body) == {"count": 1, "remote": None}
    assert second.json()["count"] == 2
    assert not path.exists()


@async_test()
async def test_sock_site_serves_on_a_socket_the_caller_bound_and_leaves_it_open() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        runner = web.AppRunner(counting_app())
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            assert runner.addresses == [("127.0.0.1", port)]
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{port}/")
        finally:
            await runner.cleanup()
        assert response.json()["count"] == 1
        assert sock.fileno() != -1  # still the caller's to close
    finally:
        sock.close()


@async_test()
async def test_two_sites_of_one_runner_serve_the_same_application(tmp_path: Path) -> None:
    path = tmp_path / "second.sock"
    runner = web.AppRunner(counting_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        await web.UnixSite(runner, path).start()
        assert len(runner.sites) == 2
        port = runner.addresses[0][1]
        async with httpx.AsyncClient() as client:
            first = await client.get(f"http://127.0.0.1:{port}/")
        async with await RawClient.connect_unix(str(path)) as raw:
            second = await raw.request("GET", "/")
    finally:
        await runner.cleanup()
    assert first.json()["count"] == 1
    assert json.loads(second.body)["count"] == 2  # one application, one state


@async_test()
async def test_runner_cleanup_runs_shutdown_and_cleanup_once() -> None:
    events: list[str] = []
    runner = web.AppRunner(counting_app(events))
    await runner.setup()
    await runner.setup()  # a second setup does not start the app twice
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await runner.cleanup()
    await runner.cleanup()
    assert events == ["shutdown", "cleanup"]


@async_test()
async def test_failed_runner_setup_cleans_up_once() -> None:
    events: list[str] = []

    async def fail(app: web.Application) -> None:
        raise OSError("no database")

    app = counting_app(events)
    app.on_startup.append(fail)
    runner = web.AppRunner(app)
    with pytest.raises(OSError, match="no database"):
        await runner.setup()
    await runner.cleanup()  # as run_app's finally does: nothing runs twice
    assert events == ["cleanup"]


@async_test()
async def test_site_start_before_runner_setup_is_refused() -> None:
    runner = web.AppRunner(counting_app())
    with pytest.raises(RuntimeError, match="setup"):
        await web.TCPSite(runner, "127.0.0.1", 0).start()


@async_test()
async def test_runner_cleanup_lets_an_in_flight_request_finish_before_on_shutdown() -> None:
    events: list[str] = []
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        events.append("answered")
        return web.Response(text="late but complete")

    app = counting_app(events)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, shutdown_timeout=10).start()
    port = runner.addresses[0][1]
    async with httpx.AsyncClient() as client:
        request = asyncio.ensure_future(client.get(f"http://127.0.0.1:{port}/slow"))
        await entered.wait()
        cleanup = asyncio.ensure_future(runner.cleanup())
        await asyncio.sleep(0)  # let the cleanup begin draining
        assert events == []
        release.set()
        response = await request
        await cleanup
    assert response.text == "late but complete"
    assert events == ["answered", "shutdown", "cleanup"]


# -- run_app, ketch.run and the ketch command -------------------------------------------------

RUN_APP_SCRIPT = textwrap.dedent(
    """
    from ketch import web
    from tests.web.apps import make_app

    async def factory():
        return make_app()

    web.run_app(factory(), host="127.0.0.1", port=0, access_log=False)
    """
)


def test_run_app_prints_its_address_serves_and_stops_cleanly_on_sigint() -> None:
    with ScriptProcess([PYTHON, "-c", RUN_APP_SCRIPT]) as proc:
        url = proc.wait_running()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/", timeout=10)
        assert response.text.startswith("hello from ")
        code = proc.stop(signal.SIGINT)
    assert code == 0, proc.stderr
    assert "(Press CTRL+C to quit)" in proc.stdout
    assert proc.stdout.index("on_startup ran") < proc.stdout.index("on_shutdown ran")
    assert proc.stdout.index("on_shutdown ran") < proc.stdout.index("on_cleanup ran")


def test_ketch_run_serves_a_web_app_until_sigterm() -> None:
    port = free_port()
    with ScriptProcess([PYTHON, "-m", "tests.web.apps", str(port)]) as proc:
        response = wait_answering(f"http://127.0.0.1:{port}/")
        assert response.text.startswith("hello from ")
        code = proc.stop(signal.SIGTERM)
    assert code == 0, proc.stderr
    assert "on_cleanup ran" in proc.stdout


def test_ketch_command_serves_a_web_app_with_its_lifecycle() -> None:
    with KetchProcess("tests.web.apps:app", "--port", "0", "--no-access-log") as proc:
        port = proc.port()
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert response.text == f"hello from {proc.pid}"
        code = proc.stop()
    assert code == 0, proc.stderr
    assert proc.stdout == ["on_startup ran", "on_shutdown ran", "on_cleanup ran"]


# -- TestClient -------------------------------------------------------------------------------


@async_test()
async def test_test_client_serves_a_web_app_with_its_lifecycle() -> None:
    events: list[str] = []
    app = counting_app(events)
    async with TestClient(app) as client:
        first = await client.get("/")
        second = await client.client.get("/")
        assert client.make_url("/x") == f"http://127.0.0.1:{client.port}/x"
        assert events == []
    assert first.json()["count"] == 1
    assert second.json()["count"] == 2
    assert events == ["shutdown", "cleanup"]


@async_test()
async def test_test_client_serves_an_asgi_app() -> None:
    async with TestClient(asgi_hello) as client:
        response = await client.post("/anything", content=b"ignored")
    assert response.status_code == 200
    assert response.text == "hello"


def test_test_client_outside_its_block_is_refused() -> None:
    client = TestClient(counting_app())
    with pytest.raises(RuntimeError, match="async with"):
        client.client  # noqa: B018
    with pytest.raises(AttributeError):
        client.no_such_method  # noqa: B018
