"""Helpers for the ketch.web tests: serve an application on a loopback port with a real client."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx

from tests.support import serve
from tests.support.process import REPO, KetchProcess

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


class ScriptProcess(KetchProcess):
    """A Python program in a subprocess, its stdout lines watched as they come.

    Use as a context manager (the process is killed on exit if still running).
    """

    def __init__(
        self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO
    ) -> None:
        path = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
        super().__init__(
            argv=argv, env={"PYTHONPATH": path, **(env or {})}, cwd=cwd, watch="stdout"
        )

    def wait_running(self, timeout: float = 15) -> str:
        """The URL of run_app's "======== Running on URL ========" banner."""
        return self.wait_for_line(RUN_APP_BANNER, timeout)["url"]


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
