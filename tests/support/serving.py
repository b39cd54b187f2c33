"""In-process servers and tiny ASGI building blocks."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import ketch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["collect_body", "respond", "serve", "serving"]


@contextlib.asynccontextmanager
async def serve(app: Any, **settings: Any) -> AsyncIterator[ketch.Server]:
    """Serve `app` on 127.0.0.1 with a port picked by the kernel until the block exits.

    Settings are `ketch.Config` fields; the access log is off unless asked for.
    """
    settings.setdefault("host", "127.0.0.1")
    settings.setdefault("port", 0)
    settings.setdefault("access_log", False)
    async with ketch.Server(app, **settings) as server:
        assert server.started.is_set()
        yield server


@contextlib.asynccontextmanager
async def serving(
    app: Any, **settings: Any
) -> AsyncIterator[tuple[ketch.Server, asyncio.Task[None]]]:
    """Run ``server.serve()`` in a task, as ``ketch.run`` does, for shutdown tests.

    Yields (server, task); the task ends when the server has shut down.  A test that did not shut
    the server down itself gets a forced shutdown at the end.
    """
    settings.setdefault("host", "127.0.0.1")
    settings.setdefault("port", 0)
    settings.setdefault("access_log", False)
    settings.setdefault("timeout_graceful_shutdown", 3)  # a failing test must not hang
    server = ketch.Server(app, **settings)
    task = asyncio.create_task(server.serve(install_signal_handlers=False))
    await server.started.wait()
    try:
        yield server, task
    finally:
        server.request_shutdown(force=True)
        await task


async def collect_body(receive: Any) -> tuple[bytes, list[dict[str, Any]]]:
    """Read a whole request body; returns it and the ``http.request`` messages it came in."""
    messages = []
    chunks = []
    while True:
        message = await receive()
        messages.append(message)
        assert message["type"] == "http.request", message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


async def respond(
    send: Any,
    body: bytes = b"",
    *,
    status: int = 200,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a whole response in two ASGI messages."""
    if headers is None:
        headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
