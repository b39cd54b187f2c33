"""The ASGI app of the WebSocket abuse tests (`test_websocket_abuse`).

Plain HTTP requests get ``hello`` (5 bytes).  WebSocket routes, each accepting at once:

* ``/echo`` (and anything unknown): echoes every text and binary message until the client leaves.
* ``/flood?size=N``: sends N-byte binary messages (64 KiB by default) in a loop, never reading,
  until a send raises; then writes one line to stderr:
  ``ws-flood: <exception type> after <n> messages (<bytes> bytes)``.
* ``/stall?s=S``: reads nothing for S seconds, then counts every message; a text message
  ``count`` is answered with ``<messages> <bytes>`` (the ``count`` itself not included).

Run with ``ketch tests.abuse.apps_ws:app`` from the repository root.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import parse_qs

from .apps import lifespan

__all__ = ["FLOOD_LINE", "app"]

FLOOD_LINE = "ws-flood:"

_TEXT = [(b"content-type", b"text/plain"), (b"content-length", b"5")]


def _query(scope: dict[str, Any]) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {key: values[-1] for key, values in parsed.items()}


async def _accept(receive: Any, send: Any) -> bool:
    message = await receive()
    if message["type"] != "websocket.connect":
        return False
    await send({"type": "websocket.accept"})
    return True


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if not await _accept(receive, send):
        return
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
        else:
            await send({"type": "websocket.send", "text": message["text"]})


async def flood(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if not await _accept(receive, send):
        return
    payload = bytes(int(_query(scope).get("size", str(64 * 1024))))
    count = 0
    try:
        while True:
            await send({"type": "websocket.send", "bytes": payload})
            count += 1
    except Exception as exc:  # ClientDisconnected (an OSError) is what the test expects
        sys.stderr.write(
            f"{FLOOD_LINE} {type(exc).__name__} after {count} messages"
            f" ({count * len(payload)} bytes)\n"
        )
        sys.stderr.flush()


async def stall(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if not await _accept(receive, send):
        return
    await asyncio.sleep(float(_query(scope).get("s", "2")))
    messages = size = 0
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("text") == "count":
            await send({"type": "websocket.send", "text": f"{messages} {size}"})
            continue
        data = message.get("bytes")
        if data is None:
            data = message["text"].encode()
        messages += 1
        size += len(data)


_ROUTES = {"/flood": flood, "/stall": stall}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Route by scope type, then by path."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
        await send({"type": "http.response.body", "body": b"hello"})
        return
    await _ROUTES.get(scope["path"], echo)(scope, receive, send)
