"""Helpers for the ketch.web tests: serve an application on a loopback port with a real client."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx

from tests.support import serve
from tests.support.process import REPO, clean_env

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import ketch
    from ketch import web

__all__ = [
    "PYTHON",
    "REPO",
    "ScriptProcess",
    "free_port",
    "served",
    "wait_answering",
]

PYTHON = sys.executable
RUN_APP_BANNER = re.compile(r"Running on (?P<url>http://\S+?)(?: =+)?$")


@contextlib.asynccontextmanager
async def served(
    app: web.Application, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, ketch.Server]]:
    """Serve `app` on 127.0.0.1 (port 0) and yield an httpx client for it and the server."""
    async with (
        serve(app, **settings) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        yield client, server


def free_port() -> int:
    """A port the kernel just handed out (bound to port 0, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ScriptProcess:
    """A Python program in a subprocess, its stdout lines collected as they come.

    Use as a context manager (the process is killed on exit if still running).
    """

    def __init__(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.argv = argv
        self.env = clean_env(env)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), *filter(None, [self.env.get("PYTHONPATH")])]
        )
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> ScriptProcess:
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=self.cwd,
        )
        for stream, sink, notify in (
            (self.proc.stdout, self.stdout, True),
            (self.proc.stderr, self.stderr, False),
        ):
            thread = threading.Thread(target=self._pump, args=(stream, sink, notify), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _pump(self, stream: Any, sink: list[str], notify: bool) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))
            if notify:
                self._lines.put(line.rstrip("\n"))
        if notify:
            self._lines.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = 15) -> re.Match[str]:
        """The first stdout line (from now on) that `pattern` finds something in."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no line matching {pattern.pattern!r} within {timeout}s; "
                    f"stdout: {self.stdout}, stderr: {self.stderr}"
                )
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._join()
                raise AssertionError(
                    f"the program exited ({self.proc and self.proc.poll()}) first; "
                    f"stdout: {self.stdout}, stderr: {self.stderr}"
                )
            match = pattern.search(line)
            if match:
                return match

    def wait_running(self, timeout: float = 15) -> str:
        """The URL of run_app's "======== Running on URL ========" banner."""
        return self.wait_for_line(RUN_APP_BANNER, timeout)["url"]

    def stop(self, sig: int, timeout: float = 15) -> int:
        """Send `sig`, wait for the exit and for the output; returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._join()
        return code

    def _join(self) -> None:
        for thread in self._threads:
            thread.join(5)

    def __exit__(self, *exc_info: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._join()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def wait_answering(url: str, timeout: float = 15) -> httpx.Response:
    """GET `url` until it answers (connection refused is retried) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)  # polling, with a deadline: the program gives no readiness signal
