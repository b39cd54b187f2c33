"""`WebSocket`: one WebSocket connection after the switch, shared by every front door.

The framing is the ``websockets`` library's sans-IO `Protocol` (frame parsing and serializing,
masking, control frames, the close handshake, ``permessage-deflate`` with decompression bounded
by the message size limit).  What is ketch's is the connection around it:

* Messages: fragments are joined into messages, and text is checked as UTF-8 as it arrives
  (incrementally, so a bad fragment fails the connection with 1007 at once).
* Flow control, reading: at most `QUEUE_MESSAGES` messages or `QUEUE_BYTES` bytes wait for the
  app; past that the socket is not read until it takes some.
* Flow control, writing: a send waits while the transport's buffer is above its high-water mark,
  so a client that never reads holds one buffer's worth, not a growing queue.
* Keepalive: after ``ws_ping_interval`` seconds without a byte from the client a ping goes out;
  no answer within ``ws_ping_timeout`` fails the connection (1011).  The server's sweeper checks
  these, as it checks the HTTP timeouts: no timer per connection.
* Closing: after our close frame the client has `CLOSE_TIMEOUT` seconds to answer and close,
  then the connection is aborted.  Shutdown sends 1001 (`going_away`).

The app sees a message as ``str`` (text) or ``bytes`` (binary), and the end as a `Closed`.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from websockets.exceptions import InvalidState
from websockets.frames import CloseCode, Opcode
from websockets.protocol import CLOSED, OPEN, Protocol, Side

from ..server.cycle import SMALL_WRITE
from ..server.handler import ClientDisconnected
from .fastpath import BINARY, TEXT, DataFrames, data_header

if TYPE_CHECKING:
    from websockets.extensions import Extension
    from websockets.frames import Frame

    from ..http11 import Headers
    from ..server.handler import Exchange
    from ..server.protocol import HTTPProtocol
    from .handshake import Handshake

__all__ = ["CLOSE_TIMEOUT", "Closed", "WebSocket", "accept"]

CLOSE_TIMEOUT = 5.0  # seconds the client gets to complete a close handshake we started
QUEUE_MESSAGES = 16  # received messages waiting for the app before reading pauses (websockets')
QUEUE_BYTES = 1024 * 1024  # ... or bytes of them

_log = logging.getLogger("ketch.websocket")
_TEXT = Opcode.TEXT
_BINARY = Opcode.BINARY
_CONT = Opcode.CONT
_PONG = Opcode.PONG
_CLOSE = Opcode.CLOSE
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class Closed:
    """The end of a WebSocket conversation, as `WebSocket.receive` reports it.

    Attributes:
        code: the close code: the client's (1000, 1001, ... or 1005 for none), the one we failed
            the connection with (1002, 1007, 1009, 1011), or 1006 if the connection was lost.
        reason: the close reason ("" if none).
        failed: the server failed the connection (the client broke the protocol, sent a message
            too big or invalid UTF-8, or did not answer a keepalive ping).
    """

    __slots__ = ("code", "failed", "reason")

    def __init__(self, code: int, reason: str = "", *, failed: bool = False) -> None:
        self.code = code
        self.reason = reason
        self.failed = failed

    def __repr__(self) -> str:
        return f"Closed(code={self.code!r}, reason={self.reason!r}, failed={self.failed!r})"


def accept(
    exchange: Exchange,
    handshake: Handshake,
    *,
    subprotocol: str | None = None,
    headers: Headers = (),  # type: ignore[assignment]
    compression: bool = True,
    max_size: int | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
) -> WebSocket:
    """Accept the handshake: answer ``101`` and return the connection's `WebSocket`.

    `compression` (``permessage-deflate``, if the client offers it) also needs the server's
    ``ws_per_message_deflate``; `max_size`, `ping_interval` and `ping_timeout` default to the
    server's ``ws_*`` settings.

    Raises:
        ValueError: `subprotocol` was not offered by the client.
    """
    config = exchange.config
    extension_header, extensions = handshake.negotiate(
        compression=compression and config.ws_per_message_deflate
    )
    fields = handshake.accept_headers(subprotocol, extension_header)
    if headers:
        fields.extend(headers)

    def make(proto: HTTPProtocol) -> WebSocket:
        return WebSocket(
            proto,
            extensions,
            subprotocol,
            max_size=config.ws_max_size if max_size is None else max_size,
            ping_interval=config.ws_ping_interval if ping_interval is None else ping_interval,
            ping_timeout=config.ws_ping_timeout if ping_timeout is None else ping_timeout,
        )

    return exchange.switch_protocol(fields, make)


class WebSocket:
    """A WebSocket connection on a switched HTTP/1.1 connection.

    Made by the front doors with `Exchange.switch_protocol`; the connection (`HTTPProtocol`) then
    hands it every byte and event.  Sends raise `ClientDisconnected` (an `OSError`) once the
    connection is closing or closed.

    Attributes:
        subprotocol: the negotiated subprotocol, or None.
        closed: the `Closed` once the conversation is over (None while open).
    """

    def __init__(
        self,
        proto: HTTPProtocol,
        extensions: list[Extension],
        subprotocol: str | None = None,
        *,
        max_size: int,
        ping_interval: float | None,
        ping_timeout: float | None,
    ) -> None:
        config = proto.state.config
        self.proto = proto
        self.loop: asyncio.AbstractEventLoop = proto.loop
        self.subprotocol = subprotocol
        protocol = Protocol(
            Side.SERVER, state=OPEN, max_size=(max_size, config.ws_max_frame_size), logger=_log
        )
        protocol.extensions = extensions
        self.protocol = protocol
        # Whole text and binary frames skip websockets' parser and serializer (fastpath.py),
        # unless an extension (permessage-deflate) transforms them.
        self._fast = not extensions
        frame_limit = config.ws_max_frame_size
        self._frames = DataFrames(max_size if frame_limit is None else min(max_size, frame_limit))
        self.ping_interval = ping_interval or None  # 0 turns keepalive off
        self.ping_timeout = ping_timeout or None
        self.closed: Closed | None = None
        self._messages: deque[tuple[str | bytes, int]] = deque()  # with their size on the wire
        self._queued = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self._parts: list[Any] | None = None  # a fragmented message so far
        self._decoder: codecs.IncrementalDecoder | None = None  # ... and its UTF-8 state
        self._read_paused = False  # the app is behind: QUEUE_MESSAGES or QUEUE_BYTES wait for it
        self._write_blocked = False  # the client is not reading what we send (our pongs, say)
        self._heard = True  # bytes came in since the last sweep
        self._last_heard = self.loop.time()
        self._ping_sent: float | None = None
        self._close_deadline: float | None = None

    # ------------------------------------------------------------ from the connection

    def data_received(self, data: bytes) -> None:
        self._heard = True
        protocol = self.protocol
        frames = self._frames
        if frames.reading or (
            self._fast
            and self._parts is None
            and self.closed is None
            and protocol.state is OPEN
            and frames.at_boundary
        ):
            data = frames.feed(data)
            if frames.messages and not self._deliver_fast(frames.messages):
                return
            if not data:
                return
        if self._fast:
            frames.hand_over(data)
        protocol.receive_data(data)
        for event in protocol.events_received():
            frame = cast("Frame", event)  # a server protocol in OPEN state yields frames only
            opcode = frame.opcode
            if opcode is _TEXT:
                if frame.fin:
                    try:
                        text = frame.data.decode()  # type: ignore[union-attr]
                    except UnicodeDecodeError:
                        self._fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                        return
                    self._deliver(text, len(frame.data))
                else:
                    self._decoder = _utf8_decoder()
                    self._parts = []
                    if not self._add_fragment(bytes(frame.data), frame.fin):
                        return
            elif opcode is _BINARY:
                if frame.fin:
                    self._deliver(bytes(frame.data), len(frame.data))
                else:
                    self._decoder = None
                    self._parts = [bytes(frame.data)]
            elif opcode is _CONT:
                if not self._add_fragment(bytes(frame.data), frame.fin):
                    return
            elif opcode is _PONG:
                self._ping_sent = None
            elif opcode is _CLOSE:
                received = protocol.close_rcvd
                assert received is not None
                self._end(Closed(received.code, received.reason))
        if protocol.parser_exc is not None and self.closed is None:
            # websockets failed the connection (a protocol error, a message too big): its close
            # frame is in the output; the app hears the code we sent.
            sent = protocol.close_sent
            if sent is not None:
                self._end(Closed(sent.code, sent.reason, failed=True))
            else:
                self._end(Closed(CloseCode.ABNORMAL_CLOSURE, str(protocol.parser_exc)))
        self._flush()
        proto = self.proto
        if proto.write_paused and not self._write_blocked and not proto.closed:
            # What we answer by ourselves (pongs, the close echo) piles up unread: a client that
            # pings without reading would grow our buffer.  Read nothing more until it drains.
            self._write_blocked = True
            proto.stop_reading()

    def _deliver_fast(self, messages: list[tuple[int, bytes]]) -> bool:
        """Deliver what `DataFrames` read; False if the connection failed (bad UTF-8)."""
        for first, payload in messages:
            if first == TEXT:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    messages.clear()
                    self._fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                    return False
                self._deliver(text, len(payload))
            else:
                self._deliver(payload, len(payload))
        messages.clear()
        return True

    def writing_resumed(self) -> None:
        """The transport's buffer drained: read again, unless the app is still behind."""
        if self._write_blocked:
            self._write_blocked = False
            if not self._read_paused:
                self.proto.start_reading()

    def _add_fragment(self, data: bytes, fin: bool) -> bool:
        parts = self._parts
        assert parts is not None
        decoder = self._decoder
        if decoder is not None:
            try:
                parts.append(decoder.decode(data, fin))
            except UnicodeDecodeError:
                self._fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                return False
        else:
            parts.append(data)
        if fin:
            self._parts = None
            if decoder is not None:
                self._decoder = None
                text = "".join(parts)
                self._deliver(text, len(text))
            else:
                message = b"".join(parts)
                self._deliver(message, len(message))
        return True

    def eof_received(self) -> None:
        self.protocol.receive_eof()
        self._end(self._lost())
        self._flush()

    def connection_lost(self) -> None:
        self._end(self._lost())
        # websockets keeps its parser's last exception (EOFError at the end), whose traceback
        # holds the parser's frame and so the Protocol with its zlib state: a reference cycle.
        # Drop it, so all of that is freed with this connection, not at the next full GC pass.
        self.protocol.parser_exc = None
        waiter = self._closed_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _lost(self) -> Closed:
        received = self.protocol.close_rcvd
        if received is not None:
            return Closed(received.code, received.reason)
        return Closed(CloseCode.ABNORMAL_CLOSURE, "")

    def check_timeouts(self, now: float) -> None:
        """Keepalive and close handshake deadlines (called by the server's sweeper)."""
        if self._heard:
            self._heard = False
            self._last_heard = now
        if self._close_deadline is not None:
            if now >= self._close_deadline:
                self.proto.abort()
            return
        if self._read_paused and not self._write_blocked:
            # We stopped reading because the app is behind: the client's pong may be waiting in
            # the socket.  Its silence is ours, not its own.
            self._last_heard = now
            if self._ping_sent is not None:
                self._ping_sent = now
            return
        if self._ping_sent is not None:
            if self.ping_timeout is not None and now - self._ping_sent >= self.ping_timeout:
                _log.info("WebSocket client did not answer a keepalive ping; closing")
                self._fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
                self._close_deadline = now  # a client that does not answer may not read either
                self.proto.abort()
            return
        interval = self.ping_interval
        if (
            interval is not None
            and now - self._last_heard >= interval
            and self.protocol.state is OPEN
        ):
            self._ping_sent = now
            self.protocol.send_ping(b"ketch")
            self._flush()

    def going_away(self) -> None:
        """The server is shutting down: start the close handshake with 1001."""
        self.start_close(CloseCode.GOING_AWAY, "server shutting down")

    def handler_done(self, failed: bool) -> None:
        """The handler returned (or raised): close with 1000 (1011) if it did not."""
        if failed:
            self.start_close(CloseCode.INTERNAL_ERROR, "")
        else:
            self.start_close(CloseCode.NORMAL_CLOSURE, "")

    # ------------------------------------------------------------ internals

    def _deliver(self, message: str | bytes, size: int) -> None:
        self._messages.append((message, size))
        self._queued += size
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self._read_paused and (
            len(self._messages) >= QUEUE_MESSAGES or self._queued >= QUEUE_BYTES
        ):
            self._read_paused = True
            self.proto.stop_reading()

    def _end(self, closed: Closed) -> None:
        if self.closed is None:
            self.closed = closed
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _fail(self, code: int, reason: str) -> None:
        protocol = self.protocol
        if protocol.state is OPEN:
            protocol.fail(code, reason)
            self._end(Closed(code, reason, failed=True))
        else:
            # The close handshake began in the same read (websockets has answered the client's
            # close): the app hears the end the client hears.
            self._end(self._lost())
        self._flush()

    def _flush(self) -> None:
        protocol = self.protocol
        if not protocol.writes:  # the common case after a read: nothing to answer
            return
        proto = self.proto
        for data in protocol.data_to_send():
            if data:
                proto.write(data)
            else:
                # websockets' SEND_EOF: after the close handshake (or a failure) the server
                # closes the TCP connection first (RFC 6455 §7.1.1).
                proto.close()
                if self._close_deadline is None:
                    self._close_deadline = self.loop.time() + CLOSE_TIMEOUT

    # ------------------------------------------------------------ for the front doors

    async def receive(self, timeout: float | None = None) -> str | bytes | Closed:  # noqa: ASYNC109
        """The next message: ``str`` for text, ``bytes`` for binary, `Closed` at the end.

        Once closed, every further call returns the same `Closed` at once (buffered messages are
        returned first).

        Raises:
            TimeoutError: nothing came within `timeout` seconds (the WebSocket stays open).
            RuntimeError: another receive is already waiting.
        """
        messages = self._messages
        while not messages:
            if self.closed is not None:
                return self.closed
            if self._waiter is not None:
                raise RuntimeError("concurrent call to receive() is not allowed")
            waiter = self._waiter = self.loop.create_future()
            # A timer, not asyncio.timeout: a handler's first step runs before it has a Task.
            timer = None if timeout is None else self.loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        message, size = messages.popleft()
        self._queued -= size
        if (
            self._read_paused
            and len(messages) < QUEUE_MESSAGES // 2
            and self._queued < QUEUE_BYTES // 2
        ):
            self._read_paused = False
            if not self._write_blocked:
                self.proto.start_reading()
        return message

    def _check_open(self) -> None:
        if self.protocol.state is not OPEN:
            raise ClientDisconnected("the WebSocket is closed")

    async def send(self, message: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message; waits while the client lags.

        Raises:
            ClientDisconnected: the WebSocket is closing or closed.
        """
        self._check_open()
        protocol = self.protocol
        proto = self.proto
        if self._fast and not protocol.expect_continuation_frame:
            if protocol.writes:
                self._flush()
            if type(message) is str:
                payload = message.encode()
                first = TEXT
            else:
                payload = message  # type: ignore[assignment]
                first = BINARY
            header = data_header(first, len(payload))
            if len(payload) < SMALL_WRITE and type(payload) is bytes:  # one buffer, one send
                proto.write(header + payload)
            else:
                proto.write_pair(header, payload)
        else:
            try:
                if type(message) is str:
                    protocol.send_text(message.encode())
                else:
                    protocol.send_binary(message)  # type: ignore[arg-type]
            except InvalidState:  # pragma: no cover - _check_open ruled it out
                raise ClientDisconnected("the WebSocket is closed") from None
            self._flush()
        if proto.write_paused:
            await proto.drain()

    async def send_frame(self, data: str | bytes, *, fin: bool, first: bool) -> None:
        """Send one fragment of a message (`first` starts it, `fin` ends it)."""
        self._check_open()
        protocol = self.protocol
        payload = data.encode() if isinstance(data, str) else data
        if not first:
            protocol.send_continuation(payload, fin)
        elif isinstance(data, str):
            protocol.send_text(payload, fin)
        else:
            protocol.send_binary(payload, fin)
        self._flush()
        if self.proto.write_paused:
            await self.proto.drain()

    async def ping(self, data: bytes = b"") -> None:
        """Send a ping (the pong is handled here: it counts as keepalive)."""
        self._check_open()
        self.protocol.send_ping(data)
        self._flush()
        if self.proto.write_paused:
            await self.proto.drain()

    async def pong(self, data: bytes = b"") -> None:
        """Send an unsolicited pong (pings are answered automatically)."""
        self._check_open()
        self.protocol.send_pong(data)
        self._flush()

    def start_close(self, code: int = 1000, reason: str = "") -> bool:
        """Send a close frame, if none was sent yet; the client has `CLOSE_TIMEOUT` to answer.

        Returns:
            Whether a close frame was sent now.

        Raises:
            ValueError: `code` may not be sent (RFC 6455 §7.4), or `reason` is too long.
        """
        if code != 1000 and not (code in _SENDABLE or 3000 <= code < 5000):
            raise ValueError(f"invalid WebSocket close code {code}")
        if len(reason.encode()) > 123:
            raise ValueError("a WebSocket close reason is at most 123 bytes of UTF-8")
        protocol = self.protocol
        if protocol.state is not OPEN or self.proto.closed:
            return False
        protocol.send_close(code, reason)
        self._flush()
        self._close_deadline = self.loop.time() + CLOSE_TIMEOUT
        return True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame, then wait (`CLOSE_TIMEOUT` at most) for the connection to end."""
        self.start_close(code, reason)
        await self.wait_closed(CLOSE_TIMEOUT)

    async def wait_closed(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once the TCP connection is closed; after `timeout` seconds, abort it."""
        if self.proto.closed:
            return
        if self._closed_waiter is None:
            self._closed_waiter = self.loop.create_future()
        timer = None if timeout is None else self.loop.call_later(timeout, self.proto.abort)
        try:
            await asyncio.shield(self._closed_waiter)
        finally:
            if timer is not None:
                timer.cancel()

    @property
    def is_open(self) -> bool:
        """Whether messages may still be sent."""
        return self.protocol.state is OPEN and not self.proto.closed

    @property
    def is_closed(self) -> bool:
        """Whether the close handshake is complete or the connection is lost."""
        return self.protocol.state is CLOSED or self.proto.closed


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


# Codes an endpoint may send (RFC 6455 §7.4.1; 1005, 1006 and 1015 are for reporting only).
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})
