"""Events to bytes: response heads, the three body framings, and requests (for clients and tests).

Every field is validated before it is serialized (`headers.validate_outgoing`): nothing an
application passes can add a header line or end the head early.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from ._abnf import TARGET_CHARS, TOKEN_CHARS
from .errors import LocalProtocolError
from .headers import validate_outgoing

if TYPE_CHECKING:
    from .events import Headers, Request

__all__ = [
    "ChunkedWriter",
    "ContentLengthWriter",
    "NoBodyWriter",
    "UntilCloseWriter",
    "Writer",
    "reason_phrase",
    "status_line",
    "write_chunked_trailers",
    "write_fields",
    "write_fields_except",
    "write_request",
]

_REASON_CHARS = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
_status_lines: dict[int, bytes] = {}


def reason_phrase(status_code: int) -> str:
    """The standard reason phrase of a status code (RFC 9110 §15), ``""`` for an unknown one."""
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


def status_line(status_code: int, reason: bytes = b"") -> bytes:
    """Return ``HTTP/1.1 <code> <reason>\\r\\n``, the standard reason when `reason` is empty.

    Raises:
        LocalProtocolError: the reason phrase holds a CR, LF or other CTL.
    """
    if not reason:
        line = _status_lines.get(status_code)
        if line is None:
            phrase = reason_phrase(status_code).encode("ascii")
            line = _status_lines[status_code] = b"HTTP/1.1 %d %s\r\n" % (status_code, phrase)
        return line
    if reason.translate(None, _REASON_CHARS):
        raise LocalProtocolError("invalid character in reason phrase")
    return b"HTTP/1.1 %d %s\r\n" % (status_code, reason)


def write_fields(headers: Headers) -> bytes:
    """Serialize validated fields as ``name: value\\r\\n`` lines (no final blank line)."""
    return b"".join([b"%s: %s\r\n" % pair for pair in headers])


def write_fields_except(headers: Headers, drop: tuple[bytes, ...]) -> bytes:
    """Serialize fields as `write_fields` does, except those whose lowercase name is in `drop`."""
    return b"".join([b"%s: %s\r\n" % pair for pair in headers if pair[0].lower() not in drop])


class Writer:
    """Frames the content of one outgoing message."""

    __slots__ = ()

    def data(self, data: bytes) -> bytes:
        """Frame a piece of content."""
        raise NotImplementedError

    def end(self, trailers: Headers) -> bytes:
        """Finish the message, with trailers where the framing allows them."""
        raise NotImplementedError


class ContentLengthWriter(Writer):
    """Content delimited by Content-Length: exactly that many bytes, not one more or less."""

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    def data(self, data: bytes) -> bytes:
        self.remaining -= len(data)
        if self.remaining < 0:
            raise LocalProtocolError("more content than the declared Content-Length")
        return data

    def end(self, trailers: Headers) -> bytes:
        if self.remaining:
            raise LocalProtocolError(
                f"content ended {self.remaining} bytes short of Content-Length"
            )
        if trailers:
            raise LocalProtocolError("trailers need chunked framing")
        return b""


class ChunkedWriter(Writer):
    """Chunked content (RFC 9112 §7.1), with optional trailers."""

    __slots__ = ()

    def data(self, data: bytes) -> bytes:
        if not data:
            return b""  # an empty chunk would be the last-chunk
        return b"%x\r\n%b\r\n" % (len(data), data)

    def end(self, trailers: Headers) -> bytes:
        return write_chunked_trailers(trailers)


class UntilCloseWriter(Writer):
    """Content delimited by closing the connection (HTTP/1.0 peers without a length)."""

    __slots__ = ()

    def data(self, data: bytes) -> bytes:
        return data

    def end(self, trailers: Headers) -> bytes:
        if trailers:
            raise LocalProtocolError("trailers need chunked framing")
        return b""


class NoBodyWriter(Writer):
    """No content at all: 1xx, 204, 304 (RFC 9110 §6.4.1), or HEAD, where content is dropped."""

    __slots__ = ("discard",)

    def __init__(self, *, discard: bool) -> None:
        self.discard = discard

    def data(self, data: bytes) -> bytes:
        if data and not self.discard:
            raise LocalProtocolError("this response cannot have content")
        return b""

    def end(self, trailers: Headers) -> bytes:
        return b""


def write_chunked_trailers(trailers: Headers) -> bytes:
    """Return the last-chunk, the trailer section and the final CRLF."""
    if not trailers:
        return b"0\r\n\r\n"
    validate_outgoing(trailers)
    return b"0\r\n" + write_fields(trailers) + b"\r\n"


def write_request(request: Request) -> bytes:
    """Serialize a request head (for clients and tests; the server never sends requests).

    Args:
        request: the request; its headers must already carry Host and the framing fields.

    Raises:
        LocalProtocolError: the method, target or a field is invalid.
    """
    validate_outgoing(request.headers)
    method, target = request.method, request.target
    if not method or method.translate(None, TOKEN_CHARS):
        raise LocalProtocolError("invalid method")
    if not target or target.translate(None, TARGET_CHARS):
        raise LocalProtocolError("invalid request target")
    if request.http_version not in (b"1.0", b"1.1"):
        raise LocalProtocolError("invalid HTTP version")
    return (
        b"%s %s HTTP/%s\r\n" % (method, target, request.http_version)
        + write_fields(request.headers)
        + b"\r\n"
    )
