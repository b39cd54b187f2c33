"""The ASGI 3 ``http`` scope over the server's `Exchange`.

One `ASGIHandler` serves every request: it builds the scope (header names lowercased through a
cache, the path decoded once) and gives the app ``receive``/``send`` closures that map messages onto
the exchange.  Message order is checked against a small state enum, so an app that sends a body
before its start, or anything after the end, gets a clear RuntimeError rather than a broken wire.

Extensions offered in ``scope["extensions"]``: ``http.response.trailers``,
``http.response.early_hint`` (103), ``http.response.pathsend`` and ``http.response.zerocopysend``;
on TLS connections also ``tls`` (tls.py).
"""

from __future__ import annotations

import enum
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..http11 import lowercase_names, split_target
from ..server.handler import ClientDisconnected, Exchange
from ..websocket import is_websocket_request
from .websocket import serve_websocket

if TYPE_CHECKING:
    from .tls import TLSScope
    from .types import ASGIApp, Message, Scope

__all__ = ["ASGIHandler"]

_ASGI = {"version": "3.0", "spec_version": "2.4"}
_EXTENSIONS: dict[str, dict[str, Any]] = {
    "http.response.trailers": {},
    "http.response.early_hint": {},
    "http.response.pathsend": {},
    "http.response.zerocopysend": {},
}
_DISCONNECT: Message = {"type": "http.disconnect"}
_VERSIONS = {b"1.1": "1.1", b"1.0": "1.0"}
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")}


def _method(method: bytes) -> str:
    text = _METHODS.get(method)
    return text if text is not None else method.decode("latin-1")


class _Phase(enum.Enum):
    START = 1  # nothing sent yet
    BODY = 2  # http.response.start sent
    TRAILERS = 3  # body complete, trailers announced and pending
    DONE = 4


class ASGIHandler:
    """Serve an ASGI 3 application through the server's handler interface.

    Args:
        app: the ASGI 3 callable.
        root_path: ASGI ``root_path`` (prefixed to ``path`` and ``raw_path``, as uvicorn does).
        state: the lifespan state, shallow-copied into every request's scope.
        tls: for a TLS server, what builds the ``tls`` extension (None: plain HTTP).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        root_path: str = "",
        state: dict[str, Any] | None = None,
        tls: TLSScope | None = None,
    ):
        self.app = app
        self.root_path = root_path
        self._root_raw = root_path.encode("utf-8")
        self.state = state if state is not None else {}
        self.tls = tls

    def scope(self, exchange: Exchange) -> Scope:
        """Build the ``http`` scope of a request."""
        request = exchange.request
        target = request.target
        if target[0] == 0x2F:  # origin-form: "/" path [ "?" query ]
            raw_path, _, query = target.partition(b"?")
        else:
            raw_path, query = split_target(request.method, target)
        path = raw_path.decode("latin-1")
        if "%" in path:
            path = unquote(path)
        state = self.state
        return {
            "type": "http",
            "asgi": _ASGI,
            "http_version": _VERSIONS[request.http_version],
            "method": _method(request.method),
            "scheme": exchange.scheme,
            "path": self.root_path + path,
            "raw_path": self._root_raw + raw_path if self._root_raw else raw_path,
            "query_string": query,
            "root_path": self.root_path,
            "headers": lowercase_names(request.headers),
            "client": exchange.client,
            "server": exchange.server,
            "state": state.copy() if state else {},
            "extensions": _EXTENSIONS
            if self.tls is None
            else self.tls.extensions(exchange, _EXTENSIONS),
        }

    def websocket_scope(self, exchange: Exchange) -> Scope:
        """Build the ``websocket`` scope of a request that asks for a WebSocket."""
        scope = self.scope(exchange)
        del scope["method"]
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if exchange.scheme == "https" else "ws"
        extensions: dict[str, Any] = {"websocket.http.response": {}}
        scope["extensions"] = (
            extensions if self.tls is None else self.tls.extensions(exchange, extensions)
        )
        return scope

    async def __call__(self, exchange: Exchange) -> None:
        if exchange.switch_requested and is_websocket_request(exchange.request):
            await serve_websocket(self.app, self.websocket_scope(exchange), exchange)
            return
        phase = _Phase.START
        trailers_expected = False
        trailers: list[tuple[bytes, bytes]] = []
        body_message_sent = False

        async def receive() -> Message:
            nonlocal body_message_sent
            if exchange.response_complete or exchange.disconnected:
                return _DISCONNECT
            if body_message_sent and exchange.body_complete:
                await exchange.wait_disconnected()
                return _DISCONNECT
            try:
                data = await exchange.read()
            except ClientDisconnected:
                return _DISCONNECT
            body_message_sent = True
            return {"type": "http.request", "body": data, "more_body": not exchange.body_complete}

        async def send(message: Message) -> None:
            nonlocal phase, trailers_expected
            kind = message["type"]
            if exchange.disconnected:
                raise ClientDisconnected("client disconnected")
            if phase is _Phase.START:
                if kind == "http.response.start":
                    headers = message.get("headers", ())
                    if type(headers) is not list:
                        headers = list(headers)
                    if headers and type(headers[0]) is not tuple:
                        headers = [(bytes(n), bytes(v)) for n, v in headers]
                    exchange.start(message["status"], headers)
                    trailers_expected = bool(message.get("trailers", False))
                    phase = _Phase.BODY
                    return
                if kind == "http.response.early_hint":
                    links = message.get("links", ())
                    exchange.informational(103, [(b"link", bytes(link)) for link in links])
                    return
                raise RuntimeError(f"expected 'http.response.start', got {kind!r}")
            if phase is _Phase.BODY:
                if kind == "http.response.body":
                    more = message.get("more_body", False)
                    if more or trailers_expected:
                        await exchange.write(message.get("body", b""))
                    else:
                        exchange.finish(message.get("body", b""))
                    if not more:
                        phase = _Phase.TRAILERS if trailers_expected else _Phase.DONE
                    return
                if kind == "http.response.pathsend":
                    await _send_path(exchange, message["path"])
                    phase = _Phase.TRAILERS if trailers_expected else _Phase.DONE
                    if not trailers_expected:
                        await exchange.end()
                    return
                if kind == "http.response.zerocopysend":
                    more = await _send_file(exchange, message)
                    if not more:
                        phase = _Phase.TRAILERS if trailers_expected else _Phase.DONE
                        if not trailers_expected:
                            await exchange.end()
                    return
                raise RuntimeError(f"expected 'http.response.body', got {kind!r}")
            if phase is _Phase.TRAILERS:
                if kind == "http.response.trailers":
                    trailers.extend((bytes(n), bytes(v)) for n, v in message.get("headers", ()))
                    if not message.get("more_trailers", False):
                        await exchange.end(trailers)
                        phase = _Phase.DONE
                    return
                raise RuntimeError(f"expected 'http.response.trailers', got {kind!r}")
            raise RuntimeError(f"unexpected ASGI message {kind!r} after the response completed")

        await self.app(self.scope(exchange), receive, send)


async def _send_path(exchange: Exchange, path: str) -> None:
    # Opening a local file does not block for any time worth a thread hop; reading it is done by
    # sendfile in the kernel.
    file = open(path, "rb")  # noqa: ASYNC230, SIM115
    try:
        size = os.fstat(file.fileno()).st_size
        await exchange.sendfile(file, 0, size)
    finally:
        file.close()


async def _send_file(exchange: Exchange, message: Message) -> bool:
    file = message["file"]
    if isinstance(file, int):
        file = os.fdopen(file, "rb", closefd=False)
    offset = message.get("offset")
    if offset is None:
        offset = file.tell()
    count = message.get("count")
    if count is None:
        count = os.fstat(file.fileno()).st_size - offset
    await exchange.sendfile(file, offset, count)
    return bool(message.get("more_body", False))
