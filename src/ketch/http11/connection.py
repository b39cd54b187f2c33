"""`Connection`: the server side of one HTTP/1.1 connection, without I/O.

Theory of operation:

* Bytes in: `receive_data` appends to the receive buffer (``b""`` means EOF).  `next_event` turns
  buffered bytes into at most one event per call, or returns `NEED_DATA` (feed more) or `PAUSED`
  (answer the current request first).  Pipelined requests stay in the buffer, unparsed, until
  `start_next_cycle`, so a client can never make the server parse ahead of its responses.
* Bytes out: `send` turns response events into bytes; `send_complete` writes a whole response in
  one piece (head and body, Content-Length set), the fast path for bodies that are already known.
* Reading is done by a `RequestReader`; the connection only asks it for the next event while the
  client is IDLE or sending a body, which is what keeps pipelined requests unread until their turn.
* Errors: a `RemoteProtocolError` from reading puts the client in ERROR; the server may still send
  one final response (its ``status_hint``) and must then close.  A `LocalProtocolError` from
  `send` puts us in ERROR: the response is broken and the connection must be closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Headers,
    InformationalResponse,
    Request,
    Response,
    Sentinel,
)
from .headers import comma_tokens, prepare_outgoing, validate_outgoing
from .limits import Limits
from .readers import RequestReader
from .state import ConnectionState, State
from .writers import (
    ChunkedWriter,
    ContentLengthWriter,
    NoBodyWriter,
    UntilCloseWriter,
    Writer,
    status_line,
    write_fields,
    write_fields_except,
)

if TYPE_CHECKING:
    from .heads import HeadInfo

__all__ = ["Connection"]

_DEFAULT_LIMITS = Limits()


class Connection:
    """The server side of an HTTP/1.1 connection.

    Args:
        limits: bounds on what the client may make us buffer (`Limits` defaults otherwise).
        extra_headers: default fields added to every response head (``server: ketch``, for
            instance), validated once, here.  A ``server`` field among them yields to one the
            response carries itself.

    Attributes:
        date: the value of the Date field added to responses that have none, or ``None`` for no
            Date field.  The server sets it once per second; the core has no clock.
        client_is_waiting_for_100_continue: the current request said ``Expect: 100-continue`` and
            no body byte, 100 or final response has been exchanged since.
    """

    __slots__ = (
        "_extra",
        "_extra_no_server",
        "_info",
        "_reader",
        "_state",
        "_writer",
        "client_is_waiting_for_100_continue",
        "date",
        "limits",
    )

    def __init__(
        self, limits: Limits | None = None, *, extra_headers: Headers | None = None
    ) -> None:
        self.limits = limits or _DEFAULT_LIMITS
        self._state = ConnectionState()
        self._reader = RequestReader(self.limits)
        self._info: HeadInfo | None = None
        self._writer: Writer | None = None
        if extra_headers:
            validate_outgoing(extra_headers)
        extra = extra_headers or []
        self._extra = write_fields(extra)
        # What is added when the response has its own Server field.
        self._extra_no_server = write_fields([f for f in extra if f[0].lower() != b"server"])
        self.date: bytes | None = None
        self.client_is_waiting_for_100_continue = False

    # ------------------------------------------------------------------ state

    @property
    def our_state(self) -> State:
        """The server's state."""
        return self._state.ours

    @property
    def their_state(self) -> State:
        """The client's state."""
        return self._state.theirs

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this cycle."""
        return self._state.keep_alive

    @property
    def request(self) -> Request | None:
        """The request of the current cycle, once its head has been read."""
        return self._info.request if self._info is not None else None

    @property
    def switch_requested(self) -> bool:
        """The current request proposes a protocol switch (Upgrade or CONNECT) still undecided."""
        return self._state.pending_switch

    @property
    def buffered(self) -> int:
        """Bytes received and not yet turned into events."""
        return self._reader.buffered

    @property
    def trailing_data(self) -> tuple[bytes, bool]:
        """The unread bytes and whether EOF was seen (after a switch, the new protocol's bytes)."""
        return self._reader.trailing_data

    def start_next_cycle(self) -> None:
        """Begin the next request after both sides finished the current one.

        Raises:
            LocalProtocolError: either side is not DONE.
        """
        self._state.start_next_cycle()
        self._info = None
        self._writer = None
        self.client_is_waiting_for_100_continue = False

    # ------------------------------------------------------------------ reading

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the client; ``b""`` means the client closed its side (EOF).

        Raises:
            RuntimeError: data after EOF.
        """
        self._reader.receive_data(data)

    def receive_request(self, data: bytes) -> tuple[Request, bytes] | None:
        """Receive `data` and, when it is exactly one whole request, return it and its body.

        The common case in one step (a GET, or a small POST whose Content-Length body came in the
        same read), equivalent to `receive_data` followed by `next_event` returning the
        `Request`, its body as one `Data` (if any) and its `EndOfMessage`: the client is DONE
        afterwards.  It applies only between requests with nothing buffered, to a request that
        cannot switch protocols; otherwise `data` is received as by `receive_data` and None is
        returned, and `next_event` goes on from there.
        """
        state = self._state
        if state.theirs is State.IDLE and state.ours is State.IDLE:
            whole = self._reader.read_whole_request(data)
            if whole is not None:
                return self._took_whole(*whole)
        self._reader.receive_data(data)
        return None

    def next_request(self) -> tuple[Request, bytes] | None:
        """Return the next buffered request and its body in one step, when both are whole.

        For pipelined requests, what `receive_request` is for a lone one: equivalent to
        `next_event` returning the `Request`, its body as one `Data` (if any) and its
        `EndOfMessage`, so the client is DONE afterwards, and the bytes after the request stay
        buffered.  It applies between requests to a request that cannot switch protocols and has
        no chunked body.  None means nothing was read: `next_event` goes on from there (and
        refuses an invalid request).
        """
        state = self._state
        if state.theirs is not State.IDLE or state.ours is not State.IDLE:
            return None
        whole = self._reader.read_buffered_request()
        return None if whole is None else self._took_whole(*whole)

    def _took_whole(self, info: HeadInfo, body: bytes) -> tuple[Request, bytes]:
        """Move the states as the events of a whole request would (both one-step reads)."""
        self._info = info
        state = self._state
        state.ours = State.SEND_RESPONSE
        # (IDLE, Request) -> SEND_BODY -> (EndOfMessage) -> DONE: THEIR_TRANSITIONS, rule 1.
        state.theirs = State.DONE
        if not info.keep_alive:
            state.close_after_this()
        return info.request, body

    def next_event(self) -> Event | Sentinel:
        """Return the next event from the buffer, `NEED_DATA` or `PAUSED`.

        Raises:
            RemoteProtocolError: the client sent invalid bytes, or closed mid-message; its
                ``status_hint`` is the status to answer.  The client is in ERROR afterwards.
        """
        state = self._state
        theirs = state.theirs
        if theirs is State.IDLE or theirs is State.SEND_BODY:
            try:
                event = self._reader.next_event()
            except RemoteProtocolError:
                state.their_error()
                raise
            kind = type(event)
            if kind is Request:
                info = self._info = self._reader.info
                assert info is not None
                # THEIR_TRANSITIONS (IDLE, Request) -> SEND_BODY, coupled with ours IDLE ->
                # SEND_RESPONSE (state.py, rule 1), spelled out for the hot path.
                state.theirs = State.SEND_BODY
                if state.ours is State.IDLE:
                    state.ours = State.SEND_RESPONSE
                state.pending_switch = info.switch
                if not info.keep_alive:
                    state.close_after_this()
                self.client_is_waiting_for_100_continue = (
                    info.expect_continue and info.body_length != 0
                )
            elif kind is EndOfMessage:
                # (SEND_BODY, EndOfMessage) -> DONE, or MIGHT_SWITCH_PROTOCOL (rule 1).
                state.theirs = State.MIGHT_SWITCH_PROTOCOL if state.pending_switch else State.DONE
                if not state.keep_alive:
                    state.settle()
            elif kind is Data:
                self.client_is_waiting_for_100_continue = False
            elif kind is ConnectionClosed:
                state.their_event(ConnectionClosed)
            return event
        if theirs is State.ERROR:
            raise RemoteProtocolError("the client already sent invalid data")
        if theirs is State.CLOSED:
            return ConnectionClosed()
        if (theirs is State.DONE or theirs is State.MUST_CLOSE) and (
            self._reader.eof and not self._reader.buffered
        ):
            state.their_event(ConnectionClosed)
            return ConnectionClosed()
        return PAUSED

    # ------------------------------------------------------------------ writing

    def send(self, event: Event) -> bytes:
        """Turn a response event into bytes to write.

        Args:
            event: `InformationalResponse`, `Response`, `Data`, `EndOfMessage` (its headers are
                trailers, which need chunked framing) or `ConnectionClosed` (no bytes; records
                that we closed).

        Returns:
            The bytes to write, possibly empty.

        Raises:
            LocalProtocolError: the event is not allowed now or is invalid (a CR in a header, more
                content than Content-Length, ...).  We are in ERROR afterwards, except when a
                `Response` was refused for its own fields: nothing changed then, and another
                response (a 500) may be sent instead.
        """
        if type(event) is Response:
            return self._send_response(event, None)
        try:
            if type(event) is Data:
                if self._state.ours is not State.SEND_BODY or self._writer is None:
                    raise LocalProtocolError(f"cannot send Data in state {self._state.ours}")
                return self._writer.data(event.data)
            if type(event) is EndOfMessage:
                writer = self._writer
                if self._state.ours is not State.SEND_BODY or writer is None:
                    raise LocalProtocolError(f"cannot end a message in state {self._state.ours}")
                out = writer.end(event.headers)
                self._state.our_event(EndOfMessage)
                return out
            if type(event) is InformationalResponse:
                return self._send_informational(event)
            if type(event) is ConnectionClosed:
                self._state.our_event(ConnectionClosed)
                return b""
            raise LocalProtocolError(f"a server cannot send {type(event).__name__}")
        except LocalProtocolError:
            self._state.our_error()
            raise

    def send_complete(self, response: Response, body: bytes = b"") -> bytes:
        """Write a whole response at once: head, body and end of message, as one bytes object.

        See `send_complete_parts`, which this joins.

        Raises:
            LocalProtocolError: as for `send`.
        """
        head, content = self.send_complete_parts(response, body)
        return head + content if content else head

    def send_complete_parts(self, response: Response, body: bytes = b"") -> tuple[bytes, bytes]:
        """Write a whole response at once, as the head and the content to write after it.

        The content is `body` itself (not a copy) unless the framing changes it, so a large body
        costs nothing to pass through; write both, in order.  Content-Length is set to
        ``len(body)`` unless the response has a Content-Length (which must then match), a
        Transfer-Encoding (the body is then one chunk and the last-chunk), or no content is
        allowed (HEAD, 204, 304, a 2xx that accepts a CONNECT).

        Raises:
            LocalProtocolError: as for `send`.
        """
        state = self._state
        info = self._info
        status = response.status_code
        if (
            state.ours is State.SEND_RESPONSE
            and info is not None
            and not state.pending_switch
            and status != 204
            and status != 304
            and info.request.method != b"HEAD"
            and info.request.http_version == b"1.1"
        ):
            # The common case, in one step: an HTTP/1.1 response with content that needs no
            # writer and cannot switch protocols.
            scanned = prepare_outgoing(response.headers)
            if scanned[2] is None:  # no Transfer-Encoding
                return self._complete(response, body, scanned), body
        # _send_response refuses, before any state changes, a body its framing cannot carry (a
        # Content-Length that does not match, content on a 204 or 304), so nothing below raises.
        head = self._send_response(response, len(body))
        writer = self._writer
        assert writer is not None
        out = writer.data(body) if body else b""
        if self._state.ours is not State.SWITCHED_PROTOCOL:
            # A 2xx to CONNECT has no content and no end: the tunnel starts after the head.
            out += writer.end([])  # the last-chunk, when the app asked for chunked
            self._state.our_event(EndOfMessage)
        return head, out

    def _complete(
        self,
        response: Response,
        body: bytes,
        scanned: tuple[bytes, bytes | None, bytes | None, bool, bool, bool],
    ) -> bytes:
        """The head of a complete Content-Length response (`send_complete_parts`' fast path)."""
        fields, length, _, app_close, has_date, has_server = scanned
        size = len(body)
        if length is None:
            added = b"content-length: %d\r\n" % size
        elif not length.isdigit() or int(length) != size:
            declared = length[:32].decode("latin-1")
            raise LocalProtocolError(
                f"Content-Length {declared} does not match the {size}-byte body"
            )
        else:
            added = b""
        head = status_line(response.status_code, response.reason)
        # Nothing can fail past this point.  OUR_TRANSITIONS: SEND_RESPONSE -Response-> SEND_BODY
        # -EndOfMessage-> DONE, taken in one step.
        state = self._state
        if app_close:
            state.keep_alive = False
        elif not state.keep_alive:
            added += b"connection: close\r\n"
        if not has_date and self.date is not None:
            added += b"date: " + self.date + b"\r\n"
        state.ours = State.DONE
        if not state.keep_alive:
            state.settle()
        self.client_is_waiting_for_100_continue = False
        self._writer = None
        extra = self._extra_no_server if has_server else self._extra
        return b"".join((head, fields, added, extra, b"\r\n"))

    def send_external(self, count: int) -> bool:
        """Account for `count` content bytes that the caller writes itself (``sendfile``).

        Only Content-Length framing lets content bypass the writer unchanged; with chunked or
        close-delimited framing the caller must send `Data` instead.

        Returns:
            True if the caller should write the bytes; False if the response has no content on
            the wire (HEAD), so the bytes must be skipped.

        Raises:
            LocalProtocolError: no response body is being sent, the framing is not
                Content-Length, or `count` exceeds what is left of it.
        """
        writer = self._writer
        if self._state.ours is not State.SEND_BODY or writer is None:
            raise LocalProtocolError(f"cannot send content in state {self._state.ours}")
        if isinstance(writer, NoBodyWriter):
            writer.data(b"x" if count else b"")  # HEAD discards; 204/304 raise
            return False
        if not isinstance(writer, ContentLengthWriter):
            raise LocalProtocolError("external content needs Content-Length framing")
        if count > writer.remaining:
            self._state.our_error()
            raise LocalProtocolError("more content than the declared Content-Length")
        writer.remaining -= count
        return True

    @property
    def content_remaining(self) -> int | None:
        """Content bytes still owed under Content-Length framing, else None."""
        writer = self._writer
        return writer.remaining if isinstance(writer, ContentLengthWriter) else None

    def _send_informational(self, event: InformationalResponse) -> bytes:
        info = self._info
        is_connect = info is not None and info.request.method == b"CONNECT"
        validate_outgoing(event.headers)
        self._state.our_event(
            InformationalResponse, status_code=event.status_code, is_connect=is_connect
        )
        self.client_is_waiting_for_100_continue = False
        return status_line(event.status_code, event.reason) + write_fields(event.headers) + b"\r\n"

    def _send_response(self, response: Response, known_length: int | None) -> bytes:
        state = self._state
        headers = response.headers
        # Validate and classify every field before any state changes: a response with a bad
        # field is refused as a whole, and the caller may still send another one (a 500).
        fields, length, coding, app_close, has_date, has_server = prepare_outgoing(headers)
        status = response.status_code
        head = status_line(status, response.reason)
        if state.ours is State.IDLE:
            # Answering a request that never parsed (their ERROR), or a timeout: one response,
            # then close.
            state.ours = State.SEND_RESPONSE
            state.close_after_this()
        info = self._info
        method = info.request.method if info is not None else b"GET"
        http10 = info is not None and info.request.http_version == b"1.0"

        drop: tuple[bytes, ...] = ()
        added = b""
        close = False
        writer: Writer
        if (
            status == 204
            or status == 304
            or method == b"HEAD"
            or (method == b"CONNECT" and 200 <= status < 300)
        ):
            if known_length and method != b"HEAD":
                # send_complete with content this response cannot carry: refuse it whole.
                raise LocalProtocolError(f"a {status} response cannot have content")
            writer = NoBodyWriter(discard=method == b"HEAD")
            if status == 204 or method == b"CONNECT":
                # RFC 9110 §8.6, §9.3.6: no Content-Length in a 204 or a 2xx to CONNECT
                drop = (b"content-length", b"transfer-encoding")
            elif coding is not None:
                drop = (b"transfer-encoding",)
            elif length is None and known_length is not None and status != 304:
                added = b"content-length: %d\r\n" % known_length
        elif coding is not None:
            if length is not None:
                raise LocalProtocolError("both Content-Length and Transfer-Encoding")
            if comma_tokens([coding])[-1:] != [b"chunked"]:
                raise LocalProtocolError("Transfer-Encoding must end with chunked")
            if http10:
                writer = UntilCloseWriter()
                drop = (b"transfer-encoding",)
                close = True
            else:
                writer = ChunkedWriter()
        elif length is not None:
            if not length.isdigit():
                raise LocalProtocolError(f"invalid Content-Length {length[:32]!r}")
            if known_length is not None and int(length) != known_length:
                raise LocalProtocolError(
                    f"Content-Length {length.decode()} does not match the {known_length}-byte body"
                )
            writer = ContentLengthWriter(int(length))
        elif known_length is not None:
            writer = ContentLengthWriter(known_length)
            added = b"content-length: %d\r\n" % known_length
        elif http10:
            writer = UntilCloseWriter()
            close = True
        else:
            writer = ChunkedWriter()
            added = b"transfer-encoding: chunked\r\n"

        state.our_event(Response, status_code=status, is_connect=method == b"CONNECT")
        self.client_is_waiting_for_100_continue = False
        self._writer = writer
        if close or app_close:
            state.close_after_this()
        if not state.keep_alive and state.ours is not State.SWITCHED_PROTOCOL:
            if not app_close:
                added += b"connection: close\r\n"
        elif http10:
            added += b"connection: keep-alive\r\n"
        if not has_date and self.date is not None:
            added += b"date: " + self.date + b"\r\n"
        if drop:
            fields = write_fields_except(headers, drop)
        extra = self._extra_no_server if has_server else self._extra
        return head + fields + added + extra + b"\r\n"
