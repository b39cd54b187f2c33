"""`WebSocketResponse`: aiohttp.web's WebSocket API on ketch's WebSocket connection.

    async def echo(request):
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is web.WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

The handshake, framing, keepalive and close handshake are the shared `ketch.websocket` ones (the
ASGI front door uses the same); this module gives them aiohttp's names and message shapes.
Pings are always answered (aiohttp's ``autoping=True``) and a client's close is always answered
(``autoclose=True``); `receive` never returns PING or PONG messages.  Sends raise
`ClientDisconnected` (a `ConnectionError`-like `OSError`) once the WebSocket is closed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from .._compiled import mypyc_attr
from ..websocket import CLOSE_TIMEOUT, Closed, Handshake, HandshakeError, accept
from .exceptions import HTTPBadRequest, HTTPUpgradeRequired
from .response import StreamResponse
from .ws_types import (
    CLOSED_MESSAGE,
    CLOSING_MESSAGE,
    WebSocketError,
    WebSocketReady,
    WSCloseCode,
    WSMessage,
    WSMsgType,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ..websocket import WebSocket
    from .request import Request

__all__ = [
    "WSCloseCode",
    "WSMessage",
    "WSMsgType",
    "WebSocketError",
    "WebSocketReady",
    "WebSocketResponse",
]

_NO_LIMIT = 1 << 62  # max_msg_size=0 (aiohttp's "no limit"): larger than any message


_TEXT: Final = WSMsgType.TEXT
_BINARY: Final = WSMsgType.BINARY
_ERROR: Final = WSMsgType.ERROR
_new_message: Final = tuple.__new__  # WSMessage(...) without the NamedTuple's Python __new__


@mypyc_attr(allow_interpreted_subclasses=True)
class WebSocketResponse(StreamResponse):
    """A WebSocket, answered from a handler: `prepare` accepts it, the handler returns it.

    Args:
        protocols: subprotocols the handler speaks; the first the client offers (in the client's
            order) is chosen.
        heartbeat: seconds of silence before a ping; no pong within half of it closes (1011).
            Default: the server's ``ws_ping_interval``/``ws_ping_timeout``.
        compress: accept ``permessage-deflate`` if the client offers it (and the server allows).
        max_msg_size: the largest message accepted (close 1009); default: ``ws_max_size``;
            ``0``: no limit, as in aiohttp.
        receive_timeout: seconds `receive` waits by default (``asyncio.TimeoutError`` after).
        timeout: seconds `close` waits for the client's close.
    """

    def __init__(
        self,
        *,
        timeout: float = CLOSE_TIMEOUT,
        receive_timeout: float | None = None,
        autoclose: bool = True,
        autoping: bool = True,
        heartbeat: float | None = None,
        protocols: Iterable[str] = (),
        compress: bool = True,
        max_msg_size: int | None = None,
    ) -> None:
        if not autoclose or not autoping:
            raise ValueError("ketch always answers pings and closes (autoping, autoclose)")
        super().__init__(status=101)
        self._protocols = tuple(protocols)
        self._heartbeat = heartbeat
        self._compress: bool | int = compress
        self._max_msg_size = max_msg_size
        self._receive_timeout = receive_timeout
        self._close_timeout = timeout
        self._ws: WebSocket | None = None
        self._close_code: int | None = None
        self._closing = False  # close() was called
        self._close_reported = False  # receive() returned the CLOSE (or ERROR) message
        self._exception: BaseException | None = None
        self._subprotocol: str | None = None

    # ------------------------------------------------------------ handshake

    def _handshake(self, request: Request) -> tuple[Handshake, str | None]:
        try:
            handshake = Handshake.parse(request._exchange.request)
        except HandshakeError as exc:
            headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in exc.headers]
            if exc.status == 426:
                raise HTTPUpgradeRequired(headers=headers, text=str(exc)) from None
            raise HTTPBadRequest(text=str(exc)) from None
        if not request._exchange.switch_requested:
            raise HTTPBadRequest(text="not a WebSocket request (no Upgrade)")
        chosen = next((p for p in handshake.subprotocols if p in self._protocols), None)
        return handshake, chosen

    def can_prepare(self, request: Request) -> WebSocketReady:
        """Whether `request` is a valid WebSocket opening handshake, and the subprotocol."""
        if self._ws is not None:
            raise RuntimeError("already prepared")
        try:
            _, chosen = self._handshake(request)
        except (HTTPBadRequest, HTTPUpgradeRequired):
            return WebSocketReady(False, None)
        return WebSocketReady(True, chosen)

    async def prepare(self, request: Request) -> None:
        """Accept the WebSocket: answer ``101`` with `headers` (cookies included).

        Raises:
            HTTPBadRequest: not a valid opening handshake (the handler's caller answers 400).
            HTTPUpgradeRequired: another WebSocket version (426).
        """
        if self._exchange is not None:
            return
        handshake, chosen = self._handshake(request)
        await request._before_prepare(self)
        heartbeat = self._heartbeat
        head = self._head()
        self._ws = accept(
            request._exchange,
            handshake,
            subprotocol=chosen,
            headers=[(n, v) for n, v in head if n != b"content-type"],
            compression=bool(self._compress),
            max_size=_NO_LIMIT if self._max_msg_size == 0 else self._max_msg_size,
            ping_interval=heartbeat,
            ping_timeout=heartbeat / 2 if heartbeat else None,
        )
        self._subprotocol = chosen
        self._exchange = request._exchange
        # aiohttp's `compress` after prepare: the window bits agreed on, 0 for none.
        extensions = self._ws.protocol.extensions
        self._compress = extensions[0].remote_max_window_bits if extensions else 0  # type: ignore[attr-defined]

    def _send(self, request: Request) -> Any:
        return None  # the server closes the WebSocket (1000) if the handler did not

    # ------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """The conversation is over or closing (either side sent a close)."""
        ws = self._ws
        return self._closing or (ws is not None and not ws.is_open)

    @property
    def close_code(self) -> int | None:
        """The close code (the client's, or the one sent), once known."""
        return self._close_code

    @property
    def ws_protocol(self) -> str | None:
        """The negotiated subprotocol."""
        return self._subprotocol

    @property
    def compress(self) -> bool | int:
        """Before `prepare`, whether to offer compression; after, the window bits (0: none)."""
        return self._compress

    def exception(self) -> BaseException | None:
        """What ended the connection in error (a `WebSocketError`), if anything."""
        return self._exception

    def _open(self) -> WebSocket:
        ws = self._ws
        if ws is None:
            raise RuntimeError("call prepare() first")
        return ws

    # ------------------------------------------------------------ sending

    async def send_str(self, data: str, compress: bool | None = None) -> None:
        """Send a text message."""
        if not isinstance(data, str):
            raise TypeError(f"data argument must be str ({type(data)!r})")
        await self._open().send(data)

    async def send_bytes(self, data: bytes | bytearray | memoryview, compress: Any = None) -> None:
        """Send a binary message."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        await self._open().send(bytes(data))

    async def send_json(
        self, data: Any, compress: Any = None, *, dumps: Callable[[Any], str] = json.dumps
    ) -> None:
        """Send `data` as JSON text."""
        await self.send_str(dumps(data))

    async def ping(self, message: bytes = b"") -> None:
        await self._open().ping(bytes(message))

    async def pong(self, message: bytes = b"") -> None:
        await self._open().pong(bytes(message))

    async def close(self, *, code: int = 1000, message: bytes | str = b"") -> bool:
        """Close with `code`, then wait (at most `timeout`) for the client to finish.

        Returns:
            True if this call closed the WebSocket, False if it was already closing.
        """
        ws = self._open()
        if self._closing:
            return False
        reason = message.decode() if isinstance(message, bytes) else message
        sent = ws.start_close(int(code), reason)  # a code that may not be sent raises here
        self._closing = True
        if not sent:
            if self._close_code is None and ws.closed is not None:
                self._close_code = ws.closed.code
            return False
        self._close_code = int(code)
        await ws.wait_closed(self._close_timeout)
        return True

    # ------------------------------------------------------------ receiving

    async def receive(self, timeout: float | None = None) -> WSMessage:  # noqa: ASYNC109 (aiohttp)
        """The next message; CLOSE once when the client closes, CLOSED after that.

        Raises:
            asyncio.TimeoutError: nothing came within `timeout` (or ``receive_timeout``).
        """
        ws = self._open()
        if self._close_reported:
            return CLOSED_MESSAGE
        limit = timeout if timeout is not None else self._receive_timeout
        return self._message(await ws.receive(limit))

    def _message(self, message: str | bytes | Closed) -> WSMessage:
        """What `WebSocket.receive` returned, as aiohttp's message; the end is reported once
        (`_close_reported`: `receive` returns CLOSED after it)."""
        kind = type(message)
        if kind is str:
            return _new_message(WSMessage, (_TEXT, message, None))
        if kind is bytes:
            return _new_message(WSMessage, (_BINARY, message, None))
        assert isinstance(message, Closed)
        self._close_reported = True
        if self._close_code is None:
            self._close_code = message.code
        if self._closing:
            return CLOSING_MESSAGE
        if message.failed:
            self._exception = WebSocketError(message.code, message.reason)
            return WSMessage(WSMsgType.ERROR, self._exception, None)
        return WSMessage(WSMsgType.CLOSE, message.code, message.reason)

    async def receive_str(self, *, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """The next message, which must be text."""
        message = await self.receive(timeout)
        if message.type is not WSMsgType.TEXT:
            raise TypeError(f"Received message {message.type}:{message.data!r} is not str")
        return str(message.data)

    async def receive_bytes(self, *, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """The next message, which must be binary."""
        message = await self.receive(timeout)
        if message.type is not WSMsgType.BINARY:
            raise TypeError(f"Received message {message.type}:{message.data!r} is not bytes")
        return bytes(message.data)

    async def receive_json(
        self,
        *,
        loads: Callable[[Any], Any] = json.loads,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """The next text message, parsed as JSON."""
        return loads(await self.receive_str(timeout=timeout))

    def __aiter__(self) -> WebSocketResponse:
        return self

    async def __anext__(self) -> WSMessage:
        # Not through `receive`: one coroutine less per message on the commonest loop.
        ws = self._open()
        if not self._close_reported:
            message = self._message(await ws.receive(self._receive_timeout))
            kind = message.type
            if kind is _TEXT or kind is _BINARY or kind is _ERROR:  # not the end (CLOSE, ...)
                return message
        raise StopAsyncIteration

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("use send_str/send_bytes on a WebSocketResponse, not write()")

    async def write_eof(self, data: bytes = b"") -> None:
        """Close the WebSocket (aiohttp's `write_eof` on a WebSocket closes it)."""
        if self._ws is not None and not self._closing:
            await self.close()

    def __repr__(self) -> str:
        state = "not prepared" if self._ws is None else ("closed" if self.closed else "open")
        return f"<WebSocketResponse {state}>"
