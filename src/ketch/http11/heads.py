"""Parsing a complete request head: the request line, the fields, and what they say about framing.

Strategy: a head is parsed only once it is complete (CRLF CRLF seen), in bulk: one split on CRLF,
the request line split on SP, field lines looked up or parsed by `headers.parse_field_lines`.  There
are no per-byte loops in Python; every byte is checked by a ``translate`` table or a compiled
pattern.  Anything that admits two readings is rejected (RFC 9112 §6.3, §11.2): that is what stops
request smuggling through a proxy that would read the message the other way.

Parsing is a pure function of the head's bytes (and the limits), and the same heads come again and
again: a keep-alive client repeats its head for every sub-resource of a page, health checks and API
clients send the very same bytes each time.  So the result of a head that passed is remembered, in a
bounded cache keyed on its exact bytes; a hit costs one hash of the head instead of a parse, and is
re-checked against the connection's limits.  Heads not seen before take the full path (which has its
own bounded caches of request lines and field lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._abnf import HOST_RE, HTTP_AUTHORITY_RE, SCHEME_RE, TARGET_CHARS, TOKEN_CHARS, VERSION_RE
from .errors import RemoteProtocolError
from .events import Request
from .headers import comma_tokens, parse_field_lines

if TYPE_CHECKING:
    from .limits import Limits

__all__ = ["CHUNKED", "HeadInfo", "parse_request_head", "parse_request_line"]

CHUNKED = -1
"""`HeadInfo.body_length` of a chunked body."""

# Methods seen on every busy server skip the token check; any other token is still accepted.
_KNOWN_METHODS = frozenset(
    (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE")
)
# Request lines and Host values repeat as much as header lines do (see headers.py): remember the
# ones that passed validation, in bounded caches that are cleared when full.
_LINE_CACHE_MAX = 1024
_LINE_CACHE_LENGTH = 512
_line_cache: dict[bytes, tuple[bytes, bytes, bytes]] = {}
_valid_hosts: set[bytes] = set()

# Whole heads that parsed, keyed on their bytes (see the module docstring).  Bounded in count and
# in the size of a head kept; cleared when full, like the other caches.
_HEAD_CACHE_MAX = 512
_HEAD_CACHE_LENGTH = 2048
_head_cache: dict[
    bytes, tuple[bytes, bytes, bytes, tuple[tuple[bytes, bytes], ...], int, bool, bool, bool, int]
] = {}

_MAX_LENGTH_DIGITS = 18  # 10**18 - 1 bytes is far past any body; more digits is an overflow attempt


class HeadInfo:
    """What the head says about the rest of the exchange.

    Attributes:
        request: the request event.
        body_length: content length in bytes, or `CHUNKED`.
        keep_alive: the client allows the connection to be reused (RFC 9112 §9.3).
        expect_continue: the client waits for 100 Continue before sending the body.
        switch: the request asks for a protocol switch (Upgrade with ``Connection: upgrade``, or
            CONNECT); the bytes after it may belong to another protocol.
    """

    __slots__ = ("body_length", "expect_continue", "keep_alive", "request", "switch")

    # A plain __init__, not a dataclass's: the compiled build would run that one interpreted.
    def __init__(
        self,
        request: Request,
        body_length: int,
        keep_alive: bool,
        expect_continue: bool,
        switch: bool,
    ) -> None:
        self.request = request
        self.body_length = body_length
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.switch = switch

    def __repr__(self) -> str:
        return (
            f"HeadInfo(request={self.request!r}, body_length={self.body_length!r}, "
            f"keep_alive={self.keep_alive!r}, expect_continue={self.expect_continue!r}, "
            f"switch={self.switch!r})"
        )


def parse_request_head(head: bytes, limits: Limits) -> HeadInfo:
    """Parse a complete request head (see `_parse`), through the cache of heads already seen.

    Args:
        head: the request line and field lines, CRLF-separated, without the final CRLF CRLF.
        limits: the limits to enforce.

    Returns:
        The request (a new `Request` with its own header list) and its framing.

    Raises:
        RemoteProtocolError: as `_parse`.
    """
    hit = _head_cache.get(head)
    if hit is not None:
        method, target, version, fields, length, keep_alive, expect, switch, line = hit
        max_body = limits.max_body_size
        if (
            line <= limits.max_request_line
            and len(fields) <= limits.max_header_count
            and (max_body is None or length <= max_body)
        ):
            request = Request(method=method, target=target, http_version=version, headers=[*fields])
            return HeadInfo(request, length, keep_alive, expect, switch)
    info = _parse(head, limits)
    if len(head) <= _HEAD_CACHE_LENGTH:
        if len(_head_cache) >= _HEAD_CACHE_MAX:
            _head_cache.clear()
        request = info.request
        _head_cache[head] = (
            request.method,
            request.target,
            request.http_version,
            tuple(request.headers),
            info.body_length,
            info.keep_alive,
            info.expect_continue,
            info.switch,
            _request_line_length(head),
        )
    return info


def _request_line_length(head: bytes) -> int:
    end = head.find(b"\r\n")
    return len(head) if end < 0 else end


def _parse(head: bytes, limits: Limits) -> HeadInfo:
    """Parse a complete request head.

    Args:
        head: the request line and field lines, CRLF-separated, without the final CRLF CRLF.
        limits: the limits to enforce.

    Returns:
        The request and its framing.

    Raises:
        RemoteProtocolError: the head is invalid (400), too large (414, 431), declares a body over
            the limit (413) or a transfer coding we do not implement (501), or an HTTP version we
            do not speak (505).
    """
    lines = head.split(b"\r\n")
    request_line = lines[0]
    if len(request_line) > limits.max_request_line:
        raise RemoteProtocolError("request line too long", 414)
    parsed = _line_cache.get(request_line)
    if parsed is None:
        parsed = parse_request_line(request_line)
        if len(request_line) <= _LINE_CACHE_LENGTH:
            if len(_line_cache) >= _LINE_CACHE_MAX:
                _line_cache.clear()
            _line_cache[request_line] = parsed
    method, target, http_version = parsed
    del lines[0]
    if len(lines) > limits.max_header_count:
        raise RemoteProtocolError("too many header fields", 431)
    headers, special = parse_field_lines(lines)
    request = Request(method=method, target=target, http_version=http_version, headers=headers)
    if http_version == b"1.1" and len(special) <= 2:
        # The most common heads by far: Host, perhaps "Connection: keep-alive", and nothing else
        # that affects framing.
        host = None
        for name, value in special:
            if name == b"host" and host is None:
                host = value
            elif name != b"connection" or value.lower() != b"keep-alive":
                break
        else:
            if host is not None:
                if host not in _valid_hosts:
                    _check_host(host)
                return HeadInfo(request, 0, True, False, method == b"CONNECT")
    if not special:
        if http_version == b"1.1":
            raise RemoteProtocolError("missing Host header")
        return HeadInfo(request, 0, False, False, method == b"CONNECT")
    return _interpret(request, special, limits)


def parse_request_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    """Parse ``method SP request-target SP HTTP-version`` (RFC 9112 §3).

    Returns:
        ``(method, target, http_version)`` with the version as ``b"1.1"`` or ``b"1.0"``.

    Raises:
        RemoteProtocolError: 400 for a malformed line, 505 for an HTTP version other than 1.x.
    """
    parts = line.split(b" ")
    if len(parts) != 3:
        # Exactly one SP between the three parts, none inside them.
        raise RemoteProtocolError("malformed request line")
    method, target, version = parts
    if method not in _KNOWN_METHODS and (not method or method.translate(None, TOKEN_CHARS)):
        raise RemoteProtocolError("invalid method")
    if version == b"HTTP/1.1":
        http_version = b"1.1"
    elif version == b"HTTP/1.0":
        http_version = b"1.0"
    elif VERSION_RE.fullmatch(version):
        raise RemoteProtocolError("unsupported HTTP version", 505)
    else:
        raise RemoteProtocolError("invalid HTTP version")
    _check_target(method, target)
    return method, target, http_version


def _check_host(value: bytes) -> None:
    if not HOST_RE.fullmatch(value):
        raise RemoteProtocolError("invalid Host header")
    if len(_valid_hosts) >= _LINE_CACHE_MAX:
        _valid_hosts.clear()
    _valid_hosts.add(value)


def _check_target(method: bytes, target: bytes) -> None:
    if not target or target.translate(None, TARGET_CHARS):
        raise RemoteProtocolError("invalid character in request target")
    if target[0] == 0x2F:  # "/": origin-form, by far the most common
        if method == b"CONNECT":
            raise RemoteProtocolError("CONNECT needs an authority-form target")
        return
    if method == b"CONNECT":
        # authority-form = uri-host ":" port (RFC 9112 §3.2.3)
        host, colon, port = target.rpartition(b":")
        if not colon or not host or not port.isdigit() or not HOST_RE.fullmatch(target):
            raise RemoteProtocolError("invalid authority-form target")
    elif target == b"*":
        if method != b"OPTIONS":
            raise RemoteProtocolError("asterisk-form target is for OPTIONS only")
    else:
        scheme = SCHEME_RE.match(target)
        if scheme is None:
            raise RemoteProtocolError("invalid request target")
        # An http(s) URI needs "//" and a valid, non-empty host (llhttp rejects "http:/x" too).
        if scheme.group().lower() in (b"http:", b"https:"):
            authority = HTTP_AUTHORITY_RE.match(target, scheme.end())
            if authority is None or not HOST_RE.fullmatch(authority.group(1)):
                raise RemoteProtocolError("invalid authority in an http URI")


def _interpret(request: Request, special: list[tuple[bytes, bytes]], limits: Limits) -> HeadInfo:
    hosts: list[bytes] = []
    lengths: list[bytes] = []
    codings: list[bytes] = []
    connection: list[bytes] = []
    upgrade = False
    expect: list[bytes] = []
    for lname, value in special:
        if lname == b"host":
            hosts.append(value)
        elif lname == b"connection":
            connection.append(value)
        elif lname == b"content-length":
            lengths.append(value)
        elif lname == b"transfer-encoding":
            codings.append(value)
        elif lname == b"upgrade":
            upgrade = True
        else:  # expect
            expect.append(value)

    http11 = request.http_version == b"1.1"
    # RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request with more than
    # one Host line or an invalid Host value.
    if len(hosts) != 1:
        if hosts or http11:
            raise RemoteProtocolError("missing Host header" if not hosts else "duplicate Host")
    elif hosts[0] not in _valid_hosts:
        _check_host(hosts[0])

    if codings:
        body_length = _chunked_framing(codings, lengths, http11)
    elif lengths:
        body_length = _content_length(lengths)
        if limits.max_body_size is not None and body_length > limits.max_body_size:
            raise RemoteProtocolError("request body too large", 413)
    else:
        body_length = 0

    tokens = comma_tokens(connection) if connection else []
    if http11:
        keep_alive = b"close" not in tokens
    else:
        keep_alive = b"keep-alive" in tokens and b"close" not in tokens
    proposal = upgrade and b"upgrade" in tokens
    connect = request.method == b"CONNECT"
    if connect and body_length:
        # RFC 9110 §9.3.6: "A CONNECT request message does not have content."  llhttp starts the
        # tunnel right after the head, so content framing would be a second reading.
        raise RemoteProtocolError("CONNECT request with content")
    if proposal and not http11:
        # RFC 9110 §7.8: a server MUST ignore an Upgrade header field received in an HTTP/1.0
        # request.  llhttp switches all the same, so the connection ends with this request
        # rather than reading on where llhttp would see the other protocol's bytes.
        keep_alive = False
    switch = (proposal and http11) or connect
    # RFC 9110 §10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
    expect_continue = http11 and bool(expect) and b"100-continue" in comma_tokens(expect)
    return HeadInfo(request, body_length, keep_alive, expect_continue, switch)


def _content_length(values: list[bytes]) -> int:
    # RFC 9110 §8.6: Content-Length = 1*DIGIT.  A list of identical values ("5, 5", or the same
    # field twice) may be folded into one; anything else is an unrecoverable framing error
    # (RFC 9112 §6.3 item 5).
    members = set()
    for value in values:
        for member in value.split(b","):
            members.add(member.strip(b" \t"))
    if len(members) != 1:
        raise RemoteProtocolError("conflicting Content-Length values")
    digits = members.pop()
    if not digits.isdigit():  # bytes.isdigit() is ASCII-only
        raise RemoteProtocolError("invalid Content-Length")
    digits = digits.lstrip(b"0") or b"0"
    if len(digits) > _MAX_LENGTH_DIGITS:
        raise RemoteProtocolError("Content-Length too large", 413)
    return int(digits)


def _chunked_framing(codings: list[bytes], lengths: list[bytes], http11: bool) -> int:
    # RFC 9112 §6.1: a server receiving Transfer-Encoding in an HTTP/1.0 request MUST treat the
    # framing as faulty; §6.3 item 3: with Content-Length too, the message is a smuggling attempt.
    if not http11:
        raise RemoteProtocolError("Transfer-Encoding in an HTTP/1.0 request")
    if lengths:
        raise RemoteProtocolError("both Transfer-Encoding and Content-Length")
    names = []
    for value in codings:
        for member in value.split(b","):
            coding, parameters, _ = member.partition(b";")
            name = coding.strip(b" \t").lower()
            # §7: "The chunked coding does not define any parameters.  Their presence SHOULD be
            # treated as an error."
            if not name or name.translate(None, TOKEN_CHARS) or (parameters and name == b"chunked"):
                raise RemoteProtocolError("invalid Transfer-Encoding")
            names.append(name)
    # §6.3 item 4: chunked must be the final coding of a request, else 400.  Applying it twice is
    # forbidden (§7).  A coding we do not decode before it is a 501 (§6.1).
    if not names or names[-1] != b"chunked" or names.count(b"chunked") != 1:
        raise RemoteProtocolError("Transfer-Encoding must end with a single chunked")
    if len(names) > 1:
        raise RemoteProtocolError("unsupported transfer coding", 501)
    return CHUNKED
