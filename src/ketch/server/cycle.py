"""`Cycle`: one request/response exchange on a connection, the `Exchange` front doors see.

The body arrives through `feed`/`feed_end` (called by the connection's pump) and leaves through
`read`; the response goes through `start`, `write`/`finish`/`end`, `respond` or `sendfile`.  The
head is held until the first body bytes, so that head and body leave in one write, and a head the
core refuses (a CR in a field, say) raises in the handler's call before anything is written.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from ..http11 import Data, EndOfMessage, Headers, InformationalResponse, Request, Response
from .handler import ClientDisconnected
from .proxy import forwarded_view, replace_host
from .sendfile import can_sendfile, copy_by_reads, sendfile
from .timeouts import BODY, BUSY

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from ..http11 import Connection
    from .config import Config
    from .handler import Upgraded
    from .protocol import HTTPProtocol

    U = TypeVar("U", bound=Upgraded)

__all__ = ["CLOSE", "SMALL_WRITE", "Cycle"]

SMALL_WRITE = 16 * 1024  # below this, head and content are joined into one write
JOIN_LIMIT = 64 * 1024  # buffered body pieces up to this total are handed over joined
SENDFILE_MIN = 64 * 1024  # below this a plain read and write is cheaper than sendfile

CLOSE = [(b"connection", b"close")]


class Cycle:
    """One request/response exchange on a connection (implements `handler.Exchange`)."""

    __slots__ = (
        "_chunks",
        "_disconnect_waiter",
        "_head",
        "_read_waiter",
        "body_ended",
        "buffered",
        "bytes_sent",
        "client",
        "disconnected",
        "drained",
        "handler_ended",
        "head_written",
        "proto",
        "request",
        "response_complete",
        "response_started",
        "scheme",
        "server",
        "started",
        "status",
        "task",
    )

    def __init__(self, proto: HTTPProtocol, request: Request) -> None:
        self.proto = proto
        self.request = request
        self.client = proto.client
        self.server = proto.server
        self.scheme = proto.scheme
        if proto.proxy_trusted:
            for name, _ in request.headers:
                first = name[0] | 0x20  # lowercased: proxy fields start with "x" or "f"
                if first == 0x78 or first == 0x66:
                    self._apply_proxy_fields()
                    break
        self._chunks: list[bytes] = []
        self.buffered = 0
        self.drained = 0
        self.body_ended = False  # the last body byte has arrived (it may not be read yet)
        self.disconnected = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._disconnect_waiter: asyncio.Future[None] | None = None
        self._head: Response | None = None
        self.response_started = False
        self.head_written = False
        self.response_complete = False
        self.status = 0
        self.bytes_sent = 0
        self.task: asyncio.Task[None] | None = None  # carries the handler if it waited
        self.handler_ended = False
        # When the head was read, for the access log's duration (a clock read only if it is on).
        self.started = perf_counter() if proto.state.access_log else 0.0

    def _apply_proxy_fields(self) -> None:
        """Take client, scheme and host from a trusted proxy's fields (proxy.py)."""
        request = self.request
        view = forwarded_view(
            request.headers, self.proto.state.trusted_proxies, self.client, self.scheme, self.server
        )
        if view is not None:
            self.client, self.scheme, self.server, host = view
            if host is not None:
                self.request = Request(
                    method=request.method,
                    target=request.target,
                    http_version=request.http_version,
                    headers=replace_host(request.headers, host),
                )

    def drop_head(self) -> None:
        """Forget a response head that was never written, so that another can be started."""
        self._head = None
        self.response_started = False

    def discard_body(self) -> None:
        """Drop the unread body: the response is done without it (the rest is drained too)."""
        self.drained = self.buffered
        self._chunks = []
        self.buffered = 0

    def _take_chunks(self) -> bytes:
        chunks = self._chunks
        if len(chunks) == 1:
            data = chunks[0]
            self._chunks = []
        elif self.buffered <= JOIN_LIMIT:
            data = b"".join(chunks)  # many small pieces: one message, one small copy
            self._chunks = []
        else:
            data = chunks.pop(0)  # large pieces go out one by one rather than copied together
        self.buffered -= len(data)
        return data

    # ------------------------------------------------------------ body, from the pump

    def feed(self, data: bytes) -> None:
        if self.response_complete:
            # The handler is done with this request: discard what is left of the body.
            self.drained += len(data)
            return
        self._chunks.append(data)
        self.buffered += len(data)
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def feed_end(self) -> None:
        self.body_ended = True
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def peer_closed(self) -> None:
        """The client closed its sending side: whoever waits for a disconnect is told now."""
        waiter = self._disconnect_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def lose(self) -> None:
        """The connection is gone (or unusable): wake everything that waits on it."""
        self.disconnected = True
        for waiter in (self._read_waiter, self._disconnect_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------ body, for the handler

    @property
    def body_complete(self) -> bool:
        """Every body byte has arrived and has been returned by `read`."""
        return self.body_ended and not self._chunks

    async def read(self) -> bytes:
        while True:
            if self._chunks:
                data = self._take_chunks()
                # Pull what the pump held back at the high-water mark.  It may feed more chunks
                # (and the end) into this cycle: they are returned by the next read, and
                # body_complete stays False until they are.
                self.proto.body_consumed()
                return data
            if self.body_ended:
                return b""
            if self.disconnected:
                raise ClientDisconnected("client disconnected before the end of the body")
            proto = self.proto
            conn = proto.conn
            if conn.client_is_waiting_for_100_continue and not self.response_started:
                proto.write(conn.send(InformationalResponse(status_code=100)))
            self._read_waiter = waiter = proto.loop.create_future()
            proto.waiting_since = proto.loop.time()
            proto.waiting_for = BODY
            proto.body_consumed()  # resume reading if a previous chunk left it paused
            try:
                await waiter
            finally:
                self._read_waiter = None
                if proto.waiting_for == BODY:
                    proto.waiting_for = BUSY

    async def wait_disconnected(self) -> None:
        if not self.disconnected and not self.proto.eof:
            if self._disconnect_waiter is None:
                self._disconnect_waiter = self.proto.loop.create_future()
            await self._disconnect_waiter

    # ------------------------------------------------------------ response

    def start(self, status: int, headers: Headers, reason: bytes = b"") -> None:
        if self.response_started:
            raise RuntimeError("response already started")
        # Fields are checked when the head is written (with the first body bytes, still in the
        # app's call); a bad one raises there and nothing reaches the wire.
        self._head = Response(status_code=status, headers=headers, reason=reason)
        self.response_started = True
        self.status = status

    def _write_complete(self, body: bytes) -> None:
        """Write the pending head and the whole body: one send when small, no copy when large."""
        head = self._head
        assert head is not None
        proto = self.proto
        conn = self._prepare_head(head)
        # The core refuses a head with an invalid field without changing state, so on a
        # LocalProtocolError here the handler's failure still gets its 500.
        head_bytes, content = conn.send_complete_parts(head, body)
        self._head = None
        self.head_written = True
        if len(content) < SMALL_WRITE:
            proto.write(head_bytes + content if content else head_bytes)
        else:
            proto.write_pair(head_bytes, content)

    def _head_bytes(self) -> bytes:
        """The pending head alone, its body to follow."""
        head = self._head
        assert head is not None
        data = self._prepare_head(head).send(head)
        self._head = None
        self.head_written = True
        return data

    def _prepare_head(self, head: Response) -> Connection:
        proto = self.proto
        conn = proto.conn
        state = proto.state
        conn.date = state.date
        if state.draining or conn.client_is_waiting_for_100_continue or proto.eof:
            # Shutting down, or the client still holds back a body it was never asked for, or it
            # already half-closed: this response is the connection's last.
            head.headers = head.headers + CLOSE
        return conn

    async def write(self, data: bytes, *, end: bool = False) -> None:
        if end:
            self.finish(data)
            return
        self._check_writable()
        proto = self.proto
        transport = proto.transport
        if transport is None or transport.is_closing():
            # The transport failed (the peer reset it) and connection_lost is still to come: it
            # drops writes now, and may have resumed writing, so without this a streaming handler
            # would never wait and never hear of the disconnect.
            self.lose()
            raise ClientDisconnected("client disconnected")
        conn = proto.conn
        if self._head is not None:
            head = self._head_bytes()
            body = conn.send(Data(data)) if data else b""
            if len(body) < SMALL_WRITE:
                proto.write(head + body)
            else:
                proto.write_pair(head, body)
        elif data:
            proto.write(conn.send(Data(data)))
        self.bytes_sent += len(data)
        if proto.write_paused:
            await proto.drain()

    def finish(self, data: bytes = b"") -> None:
        if self.disconnected or self.response_complete or not self.response_started:
            self._check_writable()
        proto = self.proto
        if self._head is not None:
            self._write_complete(data)
        else:
            conn = proto.conn
            out = conn.send(Data(data)) if data else b""
            proto.write(out + conn.send(EndOfMessage()))
        self.bytes_sent += len(data)
        proto.response_done(self)

    def _check_writable(self) -> None:
        if self.disconnected:
            raise ClientDisconnected("client disconnected")
        if not self.response_started:
            raise RuntimeError("write() before start()")
        if self.response_complete:
            raise RuntimeError("response already complete")

    async def end(self, trailers: Headers | None = None) -> None:
        if trailers:
            if self._head is not None:
                self.proto.write(self._head_bytes())
            if self.disconnected:
                raise ClientDisconnected("client disconnected")
            self.proto.write(self.proto.conn.send(EndOfMessage(headers=trailers)))
            self.proto.response_done(self)
        else:
            await self.write(b"", end=True)

    def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self.start(status, headers)
        if self.disconnected:
            raise ClientDisconnected("client disconnected")
        self._write_complete(body)
        self.bytes_sent += len(body)
        self.proto.response_done(self)

    def informational(self, status: int, headers: Headers) -> None:
        if self.head_written or self.disconnected:
            return
        proto = self.proto
        proto.write(proto.conn.send(InformationalResponse(status_code=status, headers=headers)))

    async def sendfile(self, file: Any, offset: int, count: int) -> None:
        if self.disconnected:
            raise ClientDisconnected("client disconnected")
        proto = self.proto
        if self._head is not None:
            proto.write(self._head_bytes())
        conn = proto.conn
        if (
            count >= SENDFILE_MIN
            and conn.content_remaining is not None
            and can_sendfile(proto, file)
        ):
            if conn.send_external(count):
                await sendfile(proto, file, offset, count)
                self.bytes_sent += count
            return
        await copy_by_reads(file, offset, count, self.write)  # TLS, chunked, or a small file

    # ------------------------------------------------------------ protocol switch

    @property
    def switch_requested(self) -> bool:
        return self.proto.conn.switch_requested

    @property
    def config(self) -> Config:
        return self.proto.state.config

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        transport = self.proto.transport
        return default if transport is None else transport.get_extra_info(name, default)

    def switch_protocol(self, headers: Headers, make: Callable[[HTTPProtocol], U]) -> U:
        if self.response_started:
            raise RuntimeError("response already started")
        if self.disconnected:
            raise ClientDisconnected("client disconnected")
        proto = self.proto
        conn = proto.conn
        conn.date = proto.state.date
        head = conn.send(InformationalResponse(status_code=101, headers=headers))
        upgraded = make(proto)
        self.response_started = self.head_written = self.response_complete = True
        self.status = 101
        proto.upgraded = upgraded
        proto.waiting_for = BUSY
        proto.write(head)
        if proto.state.access_log:
            proto.state.log_access(self)
        trailing, eof = conn.trailing_data
        if trailing:
            upgraded.data_received(trailing)
        if eof:
            upgraded.eof_received()
        return upgraded
