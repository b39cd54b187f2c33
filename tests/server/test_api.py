"""The programmatic API: ketch.run, loop selection, app loading hooks."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from ketch.app_loading import AppLoadError, front_door, import_app
from ketch.server import Config
from ketch.server.listeners import ListenError, bind_sockets
from ketch.server.server import install_loop

if TYPE_CHECKING:
    from pathlib import Path

RUN_SCRIPT = """
import ketch

async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"run() works"})

ketch.run(app, uds=SOCKET_PATH, access_log=False)
"""


def test_ketch_run_serves_until_sigterm_and_exits_cleanly(tmp_path: Path) -> None:
    path = str(tmp_path / "run.sock")
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_SCRIPT.replace("SOCKET_PATH", repr(path))]
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(path):
            assert time.monotonic() < deadline, "ketch.run did not start"
            assert process.poll() is None, "ketch.run exited"
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(5)
            client.connect(path)
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(b"\r\n\r\nrun() works")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not os.path.exists(path)  # the socket file is removed on shutdown
    finally:
        process.kill()
        process.wait()


def test_install_loop_asyncio_selects_the_default_loop() -> None:
    previous = asyncio.get_event_loop_policy()
    try:
        install_loop("asyncio")
        loop = asyncio.new_event_loop()
        try:
            assert type(loop).__module__.startswith("asyncio")
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(previous)


def test_a_failing_app_factory_is_a_one_line_load_error(tmp_path: Path) -> None:
    (tmp_path / "broken_factory.py").write_text("def make():\n    raise ValueError('nope')\n")
    with pytest.raises(AppLoadError, match="error while calling the app factory"):
        import_app("broken_factory:make", app_dir=str(tmp_path), factory=True)


def test_an_object_with_its_own_front_door_is_served_by_it() -> None:
    sentinel: list[Any] = []

    class NativeApp:
        def __ketch_front_door__(self, config: Config) -> tuple[Any, None]:
            sentinel.append(config)
            return "handler", None

    config = Config()
    assert front_door(NativeApp(), config) == ("handler", None)
    assert sentinel == [config]


def test_an_unbindable_unix_socket_path_is_a_one_line_listen_error(tmp_path: Path) -> None:
    missing_dir = tmp_path / "no-such-dir" / "ketch.sock"
    with pytest.raises(ListenError, match=r"^cannot listen on unix:.*: No such file"):
        bind_sockets(Config(uds=str(missing_dir)))


def test_an_unresolvable_host_is_a_one_line_listen_error() -> None:
    with pytest.raises(ListenError, match=r"^cannot resolve 'no-such-host\.invalid'"):
        bind_sockets(Config(host="no-such-host.invalid", port=0))
