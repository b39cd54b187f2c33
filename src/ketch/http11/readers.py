"""`RequestReader`: the incremental reader of the requests on one connection.

Theory of operation:

* `receive_data` appends to a buffer (``b""`` is EOF); `next_event` turns the buffer into the next
  event: `Request`, `Data`, `EndOfMessage` (with trailers), `ConnectionClosed` at EOF between
  requests, or `NEED_DATA`.  After `EndOfMessage` it reads the next request: on its own the reader
  parses pipelined requests back to back; `Connection` holds it back until each response is done.
* Heads are parsed only once complete, by `heads.parse_request_head`.  The search for the end of a
  head resumes where the last one stopped, and every limit is checked before a byte is parsed: a
  request line without CRLF in its first ``max_request_line`` bytes is a 414, a head that does not
  end within ``max_header_bytes`` a 431.
* Bodies come in the two framings a request may use, Content-Length and chunked (RFC 9112 §6);
  a request with neither has no body (§6.3 item 7).  Data events are slices of what arrived,
  never joined.
* The buffer is a ``bytes`` object while it holds at most one received piece (zero copies for the
  common case of one request per read) and a ``bytearray`` while pieces accumulate, so a head that
  arrives one byte at a time costs linear, not quadratic, copying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._abnf import CHUNK_LINE_RE
from .errors import RemoteProtocolError
from .events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request, Sentinel
from .headers import parse_field_lines
from .heads import CHUNKED, HeadInfo, parse_request_head

if TYPE_CHECKING:
    from .limits import Limits

__all__ = ["RequestReader", "parse_chunk_line"]

# Where the reader is.
_HEAD, _LENGTH, _SIZE, _DATA, _DATA_CRLF, _TRAILERS = range(6)


class RequestReader:
    """Reads the requests of one connection from the bytes it is given.

    Args:
        limits: bounds on what the peer may make the reader buffer.

    Attributes:
        info: the current request's head and framing, once its head was read.
    """

    __slots__ = (
        "_blank",
        "_body_seen",
        "_buf",
        "_eof",
        "_phase",
        "_pos",
        "_remaining",
        "_scanned",
        "info",
        "limits",
    )

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self._eof = False
        self._phase = _HEAD
        self._scanned = 0
        self._blank = 0  # bytes of empty lines skipped before the coming request line
        self._remaining = 0
        self._body_seen = 0
        self.info: HeadInfo | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet turned into events."""
        return len(self._buf) - self._pos

    @property
    def eof(self) -> bool:
        """Whether the peer closed its sending side."""
        return self._eof

    @property
    def trailing_data(self) -> tuple[bytes, bool]:
        """The unread bytes and whether EOF was seen."""
        return bytes(self._buf[self._pos :]), self._eof

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the peer; ``b""`` means EOF.

        Raises:
            RuntimeError: data after EOF.
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RuntimeError("received data after EOF")
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            self._buf = data
        elif type(buf) is bytearray:
            if pos:
                del buf[:pos]  # O(1): CPython moves the bytearray's start
            buf += data
        else:
            grown = bytearray(buf[pos:])
            grown += data
            self._buf = grown
        self._pos = 0

    def next_event(self) -> Request | Data | EndOfMessage | ConnectionClosed | Sentinel:
        """Return the next event, or `NEED_DATA`.

        Raises:
            RemoteProtocolError: the bytes are not a valid request, exceed a limit, or stop in the
                middle of one (EOF).  The reader must not be used afterwards.
        """
        phase = self._phase
        if phase == _HEAD:
            if self._pos >= len(self._buf) and not self._eof:
                return NEED_DATA  # the common case between requests: nothing buffered
            return self._read_head()
        if phase == _LENGTH:
            return self._read_length()
        return self._read_chunked()

    def read_whole_request(self, data: bytes) -> tuple[HeadInfo, bytes] | None:
        """Read `data` at once when it is exactly one whole request, without an Upgrade.

        The common case (a GET, or a small POST with its Content-Length body, in one read) in one
        step: the reader must be between requests with nothing buffered.  Returns the head and
        the body (``b""`` when there is none), or None, having read nothing, when `data` is
        anything else; give it to `receive_data` then.  A request that `next_event` would refuse
        is not read here either, so the refusal happens there, with its status.
        """
        end = data.find(b"\r\n\r\n")
        if (
            end < 0
            or self._phase != _HEAD
            or self._pos < len(self._buf)
            or self._eof
            or end + 4 > self.limits.max_header_bytes
            or data.startswith(b"\r\n")
        ):
            return None
        try:
            info = parse_request_head(data[:end], self.limits)
        except RemoteProtocolError:
            return None
        if info.body_length != len(data) - end - 4 or info.switch:  # CHUNKED is negative
            return None
        self.info = info
        self._blank = 0
        self._scanned = 0
        return info, data[end + 4 :] if info.body_length else b""

    def read_buffered_request(self) -> tuple[HeadInfo, bytes] | None:
        """Read the next buffered request in one step when it is whole, else return None.

        For pipelined requests: like `read_whole_request`, but from the buffer, leaving what
        follows the request there.  Applies between requests to a request that is not an Upgrade
        and has no chunked body; otherwise, or when the request is incomplete or invalid, nothing
        is read and `next_event` goes on (and refuses an invalid request, with its status).
        """
        buf, pos, limits = self._buf, self._pos, self.limits
        if self._phase != _HEAD or self._eof or buf.startswith(b"\r\n", pos):
            return None
        # Searching on from where the last search stopped keeps a slow head linear to read.
        end = buf.find(b"\r\n\r\n", pos + self._scanned, pos + limits.max_header_bytes)
        if end < 0:
            return None
        head = buf[pos:end] if type(buf) is bytes else bytes(buf[pos:end])
        try:
            info = parse_request_head(head, limits)
        except RemoteProtocolError:
            return None
        length = info.body_length
        start = end + 4
        if length < 0 or info.switch or start + length > len(buf):  # CHUNKED is negative
            return None
        self.info = info
        self._blank = 0
        self._scanned = 0
        self._pos = start + length
        if not length:
            return info, b""
        body = buf[start : self._pos]
        return info, body if type(body) is bytes else bytes(body)

    def _take(self, end: int) -> bytes:
        buf = self._buf
        pos = self._pos
        self._pos = end
        if type(buf) is bytes:
            return buf[pos:end]  # the whole buffer when a read held exactly this: no copy
        with memoryview(buf) as view:  # one copy, where slicing the bytearray would make two
            return view[pos:end].tobytes()

    def _read_head(self) -> Request | ConnectionClosed | Sentinel:
        buf, pos, limits = self._buf, self._pos, self.limits
        if buf.startswith(b"\r\n", pos):
            # RFC 9112 §2.2: a server SHOULD ignore at least one empty line before a request-line.
            start = pos
            while buf.startswith(b"\r\n", pos):
                pos += 2
            # Counted across calls, so the limit does not depend on how the lines were delivered.
            self._blank += pos - start
            if self._blank > limits.max_header_bytes:
                raise RemoteProtocolError("too many empty lines before the request")
            self._pos = pos
            self._scanned = 0
        end = buf.find(b"\r\n\r\n", pos + self._scanned)
        if end < 0:
            size = len(buf) - pos
            if (
                size > limits.max_request_line + 1
                and buf.find(b"\r\n", pos, pos + limits.max_request_line + 2) < 0
            ):
                raise RemoteProtocolError("request line too long", 414)
            if size > limits.max_header_bytes:
                raise RemoteProtocolError("request head too large", 431)
            if self._eof:
                if size:
                    raise RemoteProtocolError("client closed in the middle of a request head")
                return ConnectionClosed()
            if buf.find(b"\n\n", pos + self._scanned) >= 0:
                # A blank line ended by a bare LF: a head that will never end in CRLF CRLF.
                raise RemoteProtocolError("bare LF line ending in the request head")
            self._scanned = max(0, size - 3)
            return NEED_DATA
        self._scanned = 0
        self._blank = 0
        if end + 4 - pos > limits.max_header_bytes:
            if buf.find(b"\r\n", pos, pos + limits.max_request_line + 2) < 0:
                raise RemoteProtocolError("request line too long", 414)
            raise RemoteProtocolError("request head too large", 431)
        head = self._take(end)
        self._pos = end + 4
        info = self.info = parse_request_head(head, limits)
        length = info.body_length
        if length == CHUNKED:
            self._phase = _SIZE
            self._body_seen = 0
        else:
            self._phase = _LENGTH
            self._remaining = length
        return info.request

    def _read_length(self) -> Data | EndOfMessage | Sentinel:
        remaining = self._remaining
        if not remaining:
            self._phase = _HEAD
            return EndOfMessage()
        available = len(self._buf) - self._pos
        if not available:
            if self._eof:
                raise RemoteProtocolError("client closed before the end of the body")
            return NEED_DATA
        if available >= remaining:
            self._remaining = 0
            return Data(self._take(self._pos + remaining))
        self._remaining = remaining - available
        return Data(self._take(len(self._buf)))

    def _read_chunked(self) -> Data | EndOfMessage | Sentinel:
        buf, pos = self._buf, self._pos
        while True:
            phase = self._phase
            if phase == _DATA:
                available = len(buf) - pos
                if not available:
                    break
                size = min(available, self._remaining)
                self._remaining -= size
                if not self._remaining:
                    self._phase = _DATA_CRLF
                return Data(self._take(pos + size))
            if phase == _DATA_CRLF:
                if len(buf) - pos < 2:
                    break
                if not buf.startswith(b"\r\n", pos):
                    raise RemoteProtocolError("chunk data not followed by CRLF")
                pos = self._pos = pos + 2
                self._phase = _SIZE
            elif phase == _SIZE:
                limit = self.limits.max_chunk_line
                end = buf.find(b"\r\n", pos, pos + limit + 2)
                if end < 0:
                    if len(buf) - pos > limit + 1:
                        raise RemoteProtocolError("chunk-size line too long")
                    break
                size = parse_chunk_line(bytes(buf[pos:end]))
                pos = self._pos = end + 2
                if size:
                    self._body_seen += size
                    max_body = self.limits.max_body_size
                    if max_body is not None and self._body_seen > max_body:
                        raise RemoteProtocolError("request body too large", 413)
                    self._remaining = size
                    self._phase = _DATA
                else:
                    self._phase = _TRAILERS
            else:
                return self._read_trailers()
        if self._eof:
            raise RemoteProtocolError("client closed before the end of the chunked body")
        return NEED_DATA

    def _read_trailers(self) -> EndOfMessage | Sentinel:
        buf, pos, limits = self._buf, self._pos, self.limits
        if buf.startswith(b"\r\n", pos):
            self._pos = pos + 2
            self._phase = _HEAD
            return EndOfMessage()
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0 or end + 4 - pos > limits.max_header_bytes:
            if len(buf) - pos > limits.max_header_bytes or end >= 0:
                raise RemoteProtocolError("trailer section too large", 431)
            if self._eof:
                raise RemoteProtocolError("client closed in the middle of the trailers")
            return NEED_DATA
        lines = self._take(end).split(b"\r\n")
        self._pos = end + 4
        if len(lines) > limits.max_header_count:
            raise RemoteProtocolError("too many trailer fields", 431)
        trailers, special = parse_field_lines(lines)
        if special:
            # RFC 9110 §6.5.1: fields for framing (Content-Length, Transfer-Encoding), routing
            # (Host), connection handling and request modifiers cannot be processed after the
            # content.  llhttp applies framing and Connection fields found in trailers; refusing
            # them keeps one reading of where the message and the connection end.
            raise RemoteProtocolError(f"{special[0][0].decode()} field in the trailers")
        self._phase = _HEAD
        return EndOfMessage(headers=trailers)


def parse_chunk_line(line: bytes) -> int:
    """Parse a chunk-size line (without CRLF) and return the chunk size.

    Raises:
        RemoteProtocolError: the line is not ``chunk-size [ chunk-ext ]`` or the size overflows.
    """
    match = CHUNK_LINE_RE.fullmatch(line)
    if match is None:
        raise RemoteProtocolError("invalid chunk-size line")
    digits = match.group(1).lstrip(b"0") or b"0"
    if len(digits) > 15:  # 16**15 bytes: past any body; guards int() against huge hex strings
        raise RemoteProtocolError("chunk size too large")
    return int(digits, 16)
