"""The WebSocket benchmark app, pure ASGI 3, no framework, so that the server is what is measured.

Routes (the same in every ``ws_*_app`` under ``bench/apps``):

* ``/ws``    -> a WebSocket echo: every text message back as text, every binary one as binary
* ``GET /``  -> 200 ``ok`` (text/plain): the readiness check

Anything else is a 404 (a WebSocket elsewhere than ``/ws`` is refused with a close, 403).
Run: ``uvicorn bench.apps.ws_asgi_app:app`` or ``ketch bench.apps.ws_asgi_app:app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OK = b"ok"


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _echo(receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The WebSocket benchmark's ASGI application."""
    kind = scope["type"]
    if kind == "websocket":
        if scope["path"] == "/ws":
            await _echo(receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
    elif kind == "http":
        if scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            await _respond(send, 200, OK)
        else:
            await _respond(send, 404, b"Not Found")
    elif kind == "lifespan":
        await _lifespan(receive, send)
