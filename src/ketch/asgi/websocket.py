"""The ASGI ``websocket`` scope (spec 2.4) over the connection's `WebSocket`.

Before the app accepts, the request is still plain HTTP: ``websocket.accept`` answers ``101`` and
switches; ``websocket.close`` answers ``403``; the ``websocket.http.response`` extension lets the
app answer with any HTTP response instead (a real 401 with a body, say).  An app that returns
without doing any of these gets a ``403``; one that raises gets a ``500`` (logged by the server).

After the accept, an app that raises closes the WebSocket with 1011, and one that returns without
closing closes it with 1000 (the server does both, `WebSocket.handler_done`).  ``send`` after the
close raises `ClientDisconnected`, an `OSError`, as the spec asks.

A request that is not a valid opening handshake (say, without ``Sec-WebSocket-Key``) never reaches
the app: it gets its ``400`` (or ``426`` for another protocol version) from here.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ..server.handler import ClientDisconnected
from ..websocket import Closed, Handshake, HandshakeError, accept

if TYPE_CHECKING:
    from ..server.handler import Exchange
    from ..websocket import WebSocket
    from .types import ASGIApp, Message, Scope

__all__ = ["serve_websocket"]

_CONNECT: Message = {"type": "websocket.connect"}
_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
_CLOSE = (b"connection", b"close")


class _Phase(enum.Enum):
    HANDSHAKE = 1  # the app has not answered the handshake yet
    RESPONSE = 2  # denying with websocket.http.response: body to follow
    OPEN = 3  # accepted
    CLOSED = 4  # closed by the app, denied, or the client is gone


async def serve_websocket(app: ASGIApp, scope: Scope, exchange: Exchange) -> None:
    """Run `app` for one WebSocket request; `scope` is the ``websocket`` scope."""
    try:
        handshake = Handshake.parse(exchange.request)
    except HandshakeError as exc:
        body = f"{exc}\n".encode()
        exchange.respond(exc.status, [_TEXT_PLAIN, *exc.headers, _CLOSE], body)
        return
    scope["subprotocols"] = handshake.subprotocols
    phase = _Phase.HANDSHAKE
    connect_sent = False
    websocket: WebSocket | None = None

    async def receive() -> Message:
        nonlocal connect_sent
        if not connect_sent:
            connect_sent = True
            return _CONNECT
        if websocket is None:
            # Not accepted (yet, or ever): the next thing that can happen is the client leaving.
            if phase is _Phase.HANDSHAKE or phase is _Phase.RESPONSE:
                await exchange.wait_disconnected()
            return {"type": "websocket.disconnect", "code": 1006, "reason": ""}
        message = await websocket.receive()
        if type(message) is str:
            return {"type": "websocket.receive", "text": message}
        if type(message) is bytes:
            return {"type": "websocket.receive", "bytes": message}
        assert isinstance(message, Closed)
        return {"type": "websocket.disconnect", "code": message.code, "reason": message.reason}

    async def send(message: Message) -> None:
        nonlocal phase, websocket
        kind = message["type"]
        if phase is _Phase.OPEN:
            assert websocket is not None
            if kind == "websocket.send":
                data = message.get("bytes")
                if data is None:
                    data = message.get("text")
                    if data is None:
                        raise RuntimeError("websocket.send needs 'bytes' or 'text'")
                await websocket.send(data)
                return
            if kind == "websocket.close":
                # Closing a WebSocket the client already closed is a no-op, not an error.
                websocket.start_close(message.get("code", 1000), message.get("reason") or "")
                phase = _Phase.CLOSED
                return
            raise RuntimeError(f"expected 'websocket.send' or 'websocket.close', got {kind!r}")
        if phase is _Phase.HANDSHAKE:
            if exchange.disconnected:
                raise ClientDisconnected("client disconnected")
            if kind == "websocket.accept":
                websocket = accept(
                    exchange,
                    handshake,
                    subprotocol=message.get("subprotocol"),
                    headers=[(bytes(n), bytes(v)) for n, v in message.get("headers", ())],
                )
                phase = _Phase.OPEN
                return
            if kind == "websocket.close":
                exchange.respond(403, [_TEXT_PLAIN, _CLOSE], b"Forbidden\n")
                phase = _Phase.CLOSED
                return
            if kind == "websocket.http.response.start":
                headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
                exchange.start(message["status"], [*headers, _CLOSE])
                phase = _Phase.RESPONSE
                return
            raise RuntimeError(f"expected 'websocket.accept' or 'websocket.close', got {kind!r}")
        if phase is _Phase.RESPONSE:
            if kind == "websocket.http.response.body":
                more = message.get("more_body", False)
                await exchange.write(message.get("body", b""), end=not more)
                if not more:
                    phase = _Phase.CLOSED
                return
            raise RuntimeError(f"expected 'websocket.http.response.body', got {kind!r}")
        raise ClientDisconnected(f"{kind!r} after the WebSocket was closed")

    await app(scope, receive, send)
    if phase is _Phase.HANDSHAKE and not exchange.disconnected:
        exchange.respond(403, [_TEXT_PLAIN, _CLOSE], b"Forbidden\n")  # never accepted
