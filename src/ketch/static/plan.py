"""Deciding the response to a request for a file, without I/O: conditionals and byte ranges.

Theory of operation: `plan_file_response` gets the request's method and headers and the file's
size and time, and returns a `FilePlan`: the status, the head, and the slices of the file to send.
The sender (`send_open_file`) only carries it out, so every rule here is tested without sockets.

* Preconditions are evaluated in RFC 9110 §13.2.2's order: If-Match, or else
  If-Unmodified-Since (412 when false); If-None-Match, or else If-Modified-Since for GET and HEAD
  (304 when false, or 412 for other methods).  Only a 200 answer is conditional (§13.2.1).
* Then, for GET only, If-Range and Range (206, 416; see `ranges` for what is ignored).
* HEAD gets the head GET would get, Range aside, and no content.
* Dates count in whole seconds, as Last-Modified does; ETags are compared weakly for
  If-None-Match and strongly for If-Match and If-Range.
"""

from __future__ import annotations

import math
import secrets
from typing import TYPE_CHECKING

from .ranges import multipart_heads, parse_range
from .validators import (
    MAX_HTTP_DATE,
    format_http_date,
    make_etag,
    parse_etag_list,
    parse_http_date,
    strong_match,
    weak_match,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..http11 import Headers

__all__ = ["FilePlan", "conditional_fields", "plan_file_response"]

_CONDITIONAL = frozenset(
    (
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"if-range",
        b"range",
    )
)
_ACCEPT_RANGES = (b"accept-ranges", b"bytes")
_VARY = (b"vary", b"accept-encoding")
_OWS = b" \t"


class FilePlan:
    """What to send in answer to a request for a file.

    Attributes:
        status: 200, 206, 304, 412, 416, or the status asked for (an error page).
        headers: the response fields, Content-Length included.
        ranges: the slices of the file to send, ``(start, end_exclusive)``, in order; empty when
            the response has no content (HEAD, 304, 412, 416, an empty file).
        part_heads: for ``multipart/byteranges``, the bytes to write before each slice.
        closing: for ``multipart/byteranges``, the bytes to write after the last slice.
    """

    # A plain class, not a dataclass: one is made per request, and a dataclass's generated
    # __init__ stays interpreted in the compiled build (docs/build.md).
    __slots__ = ("closing", "headers", "part_heads", "ranges", "status")

    def __init__(
        self,
        *,
        status: int,
        headers: Headers,
        ranges: list[tuple[int, int]] | None = None,
        part_heads: list[bytes] | None = None,
        closing: bytes = b"",
    ) -> None:
        self.status = status
        self.headers = headers
        self.ranges: list[tuple[int, int]] = [] if ranges is None else ranges
        self.part_heads: list[bytes] = [] if part_heads is None else part_heads
        self.closing = closing

    def __repr__(self) -> str:
        return (
            f"FilePlan(status={self.status}, headers={self.headers!r}, ranges={self.ranges!r}, "
            f"part_heads={self.part_heads!r}, closing={self.closing!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilePlan):
            return NotImplemented
        return (self.status, self.headers, self.ranges, self.part_heads, self.closing) == (
            other.status,
            other.headers,
            other.ranges,
            other.part_heads,
            other.closing,
        )

    @property
    def content_length(self) -> int:
        """The number of content bytes the ranges, part heads and closing add up to."""
        return _content_length(self.ranges, self.part_heads, self.closing)


def plan_file_response(
    method: bytes,
    request_headers: Headers,
    *,
    size: int,
    mtime: float,
    content_type: bytes,
    etag: bytes | None = None,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    status: int = 200,
    content_encoding: bytes | None = None,
    vary: bool = False,
    boundary: bytes | None = None,
) -> FilePlan:
    """Decide the response to a request for a file, without any I/O.

    Args:
        method: the request method (``b"GET"``, ``b"HEAD"``, ...).
        request_headers: the request's fields, names in any case.
        size: the file's length in bytes.
        mtime: its modification time, seconds since the epoch (Last-Modified, to the second).
        content_type: the Content-Type of the file (of the original for a precompressed one).
        etag: the entity-tag, quoted (``b'"v1"'`` or ``b'W/"v1"'``); None makes a strong one from
            `size`, `mtime` and `content_encoding` (`make_etag`).
        extra_headers: more response fields (Cache-Control, ...), added as given.  Fields this
            function sets must not be among them.  Bodiless answers (304, 412, 416) leave out
            the ``content-*`` ones (RFC 9110 §15.4.5).
        status: the status of a full answer.  Anything but 200 (an error page) ignores the
            conditionals and Range (RFC 9110 §13.2.1) and sends no validators.
        content_encoding: the content coding of a precompressed file; the file is then the
            representation and ranges count its bytes.  A request for several ranges of it gets
            the whole file: a multipart body cannot say that only its parts are encoded.
        vary: add ``Vary: Accept-Encoding`` (the file has precompressed variants).  Implied by
            `content_encoding`.
        boundary: the ``multipart/byteranges`` boundary; None picks a random one.

    Returns:
        The plan.  HEAD gets the head GET would get (Range aside) and no ranges.
    """
    vary = vary or content_encoding is not None
    if status != 200:
        headers = _head(content_type, size, content_encoding, [], vary, extra_headers)
        return _whole(method, status, headers, size)
    if etag is None:
        etag = make_etag(size, mtime, content_encoding)
    seconds = math.floor(mtime)
    modified = seconds if 0 <= seconds < MAX_HTTP_DATE else None
    validators = [(b"etag", etag)]
    if modified is not None:
        validators.append((b"last-modified", format_http_date(modified)))
    fields = conditional_fields(request_headers)
    failed = _failed_precondition(method, fields, etag, modified) if fields else 0
    if failed == 304:
        return FilePlan(status=304, headers=_bodiless(validators, vary, extra_headers))
    if failed:
        return FilePlan(status=412, headers=_bodiless([], False, extra_headers))
    validators.append(_ACCEPT_RANGES)
    ranges = _requested_ranges(method, fields, size, etag, modified, content_encoding)
    if ranges is None:
        headers = _head(content_type, size, content_encoding, validators, vary, extra_headers)
        return _whole(method, 200, headers, size)
    if not ranges:
        unsatisfiable = [(b"content-range", b"bytes */%d" % size), _ACCEPT_RANGES]
        return FilePlan(status=416, headers=_bodiless(unsatisfiable, False, extra_headers))
    if len(ranges) == 1:
        start, end = ranges[0]
        content_range = b"bytes %d-%d/%d" % (start, end - 1, size)
        headers = _head(
            content_type, end - start, content_encoding, validators, vary, extra_headers
        )
        headers.insert(2, (b"content-range", content_range))  # after Content-Length
        return FilePlan(status=206, headers=headers, ranges=ranges)
    if boundary is None:
        boundary = secrets.token_hex(16).encode()
    part_heads, closing = multipart_heads(ranges, size, content_type, boundary)
    length = _content_length(ranges, part_heads, closing)
    multipart = b"multipart/byteranges; boundary=" + boundary
    headers = _head(multipart, length, None, validators, vary, extra_headers)
    return FilePlan(
        status=206, headers=headers, ranges=ranges, part_heads=part_heads, closing=closing
    )


def _content_length(ranges: list[tuple[int, int]], part_heads: list[bytes], closing: bytes) -> int:
    return sum(end - start for start, end in ranges) + sum(map(len, part_heads)) + len(closing)


def conditional_fields(request_headers: Headers) -> dict[bytes, list[bytes]]:
    """The request's precondition and Range fields, by lowercased name (empty: none)."""
    fields: dict[bytes, list[bytes]] = {}
    for name, value in request_headers:
        lname = name.lower()
        if lname in _CONDITIONAL:
            fields.setdefault(lname, []).append(value)
    return fields


def _failed_precondition(
    method: bytes, fields: dict[bytes, list[bytes]], etag: bytes, modified: int | None
) -> int:
    """Return 412 or 304 if a precondition fails, else 0 (RFC 9110 §13.2.2, steps 1-4)."""
    if_match = fields.get(b"if-match")
    if if_match is not None:
        if not _any_tag(if_match, etag, strong_match):
            return 412
    elif (since := _single_date(fields.get(b"if-unmodified-since"))) is not None and (
        # Without a Last-Modified there is nothing to compare: the condition cannot fail.
        modified is not None and modified > since
    ):
        return 412
    is_read = method in (b"GET", b"HEAD")
    if_none_match = fields.get(b"if-none-match")
    if if_none_match is not None:
        if _any_tag(if_none_match, etag, weak_match):
            return 304 if is_read else 412
    elif (
        is_read
        and (since := _single_date(fields.get(b"if-modified-since"))) is not None
        and modified is not None
        and modified <= since
    ):
        return 304
    return 0


def _any_tag(values: list[bytes], etag: bytes, match: Callable[[bytes, bytes], bool]) -> bool:
    """Whether an If-Match/If-None-Match list holds ``*`` or a tag that matches `etag`."""
    if [value.strip(_OWS) for value in values] == [b"*"]:
        return True  # the file exists, which is all "*" asks
    tags = parse_etag_list(values)
    return tags is not None and any(match(tag, etag) for tag in tags)


def _single_date(values: list[bytes] | None) -> int | None:
    # "MUST ignore ... if the received field value is not a valid HTTP-date, or if the field
    # value has more than one member" (RFC 9110 §13.1.3, §13.1.4).
    if values is None or len(values) != 1:
        return None
    return parse_http_date(values[0].strip(_OWS))


def _requested_ranges(
    method: bytes,
    fields: dict[bytes, list[bytes]],
    size: int,
    etag: bytes,
    modified: int | None,
    content_encoding: bytes | None,
) -> list[tuple[int, int]] | None:
    """The ranges to send, [] if unsatisfiable (416), None to send the whole file (200)."""
    values = fields.get(b"range")
    # Range is for GET only (§14.2), is a singleton field, and an empty file has no byte to
    # point at: the whole file is the answer then.
    if method != b"GET" or values is None or len(values) != 1 or size == 0:
        return None
    if_range = fields.get(b"if-range")
    if if_range is not None and not _if_range_holds(if_range, etag, modified):
        return None
    ranges = parse_range(values[0], size)
    if ranges is not None and len(ranges) > 1 and content_encoding is not None:
        return None
    return ranges


def _if_range_holds(values: list[bytes], etag: bytes, modified: int | None) -> bool:
    """RFC 9110 §13.1.5: a strong ETag match, or a date equal to Last-Modified."""
    if len(values) != 1:
        return False
    value = values[0].strip(_OWS)
    if value.startswith((b'"', b"W/")):
        return strong_match(value, etag)
    return modified is not None and parse_http_date(value) == modified


def _head(
    content_type: bytes,
    length: int,
    encoding: bytes | None,
    validators: Headers,
    vary: bool,
    extra: Sequence[tuple[bytes, bytes]],
) -> Headers:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % length)]
    if encoding is not None:
        headers.append((b"content-encoding", encoding))
    headers += validators
    if vary:
        headers.append(_VARY)
    headers += extra
    return headers


def _bodiless(headers: Headers, vary: bool, extra: Sequence[tuple[bytes, bytes]]) -> Headers:
    # RFC 9110 §15.4.5: a 304 repeats Cache-Control, Vary, Expires, ... but no content metadata
    # (412 and 416 have no content to describe either).
    if vary:
        headers.append(_VARY)
    headers += [pair for pair in extra if not _describes_content(pair[0])]
    return headers


def _describes_content(name: bytes) -> bool:
    lname = name.lower()
    return lname.startswith(b"content-") and lname != b"content-location"


def _whole(method: bytes, status: int, headers: Headers, size: int) -> FilePlan:
    ranges = [(0, size)] if size and method != b"HEAD" else []
    return FilePlan(status=status, headers=headers, ranges=ranges)
