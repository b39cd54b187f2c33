"""A pure ASGI 3 app, no framework, so that the server is what the benchmark measures.

Routes (the same in every app under ``bench/apps``):

* ``GET /``       -> 200 ``Hello, world!`` (text/plain)
* ``POST /echo``  -> 200 echo of the request body (application/json)
* ``GET /1m``     -> 200 with a 1 MiB body (application/octet-stream)

Anything else is a 404 (405 for a known path with another method).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO = b"Hello, world!"
ONE_MIB = b"x" * (1 << 20)

_TEXT = b"text/plain"
_JSON = b"application/json"
_BINARY = b"application/octet-stream"


async def _respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The benchmark's ASGI application."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    method = scope["method"]
    if path == "/":
        if method in ("GET", "HEAD"):
            await _respond(send, 200, _TEXT, HELLO)
        else:
            await _respond(send, 405, _TEXT, b"Method Not Allowed")
    elif path == "/echo":
        if method == "POST":
            await _respond(send, 200, _JSON, await _read_body(receive))
        else:
            await _respond(send, 405, _TEXT, b"Method Not Allowed")
    elif path == "/1m":
        if method in ("GET", "HEAD"):
            await _respond(send, 200, _BINARY, ONE_MIB)
        else:
            await _respond(send, 405, _TEXT, b"Method Not Allowed")
    else:
        await _respond(send, 404, _TEXT, b"Not Found")
