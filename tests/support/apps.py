"""ASGI apps for the ``ketch`` subprocess tests (imported as ``tests.support.apps:NAME``)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request with 'hello'; supports lifespan."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b"hello"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def describe(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the scheme, the pid and the listener: "scheme pid server"."""
    if scope["type"] != "http":
        return
    body = f"{scope['scheme']} {os.getpid()} {scope['server']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def failing_startup(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reports lifespan.startup.failed with a reason."""
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "database unreachable"})


def make_app() -> Any:
    """An app factory (for --factory)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"from factory"})

    return app


async def hang(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Never answers (for shutdown tests)."""
    if scope["type"] != "http":
        return
    print(f"handling {scope['path']}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()
