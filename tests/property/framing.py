"""Framing oracles: how ketch, llhttp (httptools) and h11 cut one byte stream into requests.

Shared by the differential fuzz test (tests/property/test_differential_fuzz.py) and the long-run
fuzzer (fuzz/run.py).  Each ``read_with_*`` function drives one parser as a server drives it and
returns a `Reading`: the messages it framed completely (method, target, version, body) and how it
stopped.  `compare` then applies the rule of issue #7:

* For every message ketch accepts, the other parser must have framed the same message at the same
  place in the sequence (same method, target, version and body), or have rejected the stream at
  or before that message.  Anything else is a *misframe*: the other parser read a different
  message, more or fewer bytes of body, or still waits for bytes that ketch counted as a whole
  message.  A misframe is always a bug (request smuggling material): ketch must reject such input.
* When the other parser rejects a message ketch accepts, ketch is the more lenient one.  That is a
  bug too (ketch must then be fixed to reject), unless the difference is a documented limitation
  of the other parser, listed in `EXCLUSIONS` with the RFC text that makes ketch right.
* When ketch rejects, there is nothing to compare: being stricter is always allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import h11
import httptools

from ketch.http11 import (
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    RemoteProtocolError,
    Request,
    Response,
    Sentinel,
    State,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "EXCLUSIONS",
    "Divergence",
    "Framed",
    "Reading",
    "compare",
    "differential",
    "read_with_h11",
    "read_with_ketch",
    "read_with_llhttp",
]

Stop = Literal["error", "waiting", "switch", "closed"]


@dataclass(frozen=True)
class Framed:
    """One complete message as a parser framed it."""

    method: bytes
    target: bytes
    version: bytes
    body: bytes


@dataclass
class Reading:
    """What one parser made of a stream.

    Attributes:
        parser: ``ketch``, ``llhttp`` or ``h11``.
        messages: the messages framed completely, in order.
        stop: why reading ended: a rejection (``error``), the end of the bytes (``waiting``: in
            the middle of a message or between messages), a protocol switch (Upgrade, CONNECT:
            what follows is not HTTP/1.1), or a message after which the connection closes.
        error: the parser's error message when it rejected the stream.
        spans: (ketch only) the bytes of each framed message, for exclusion checks.
    """

    parser: str
    messages: list[Framed] = field(default_factory=list)
    stop: Stop = "waiting"
    error: str = ""
    spans: list[bytes] = field(default_factory=list)


# --------------------------------------------------------------------------------------- ketch


def read_with_ketch(pieces: Sequence[bytes], *, whole_first: bool = False) -> Reading:
    """Feed `pieces` to a server `Connection`, then EOF, answering each request with a 200.

    With `whole_first`, `next_request` (the server's one-step path) is tried before `next_event`.
    """
    conn = Connection()
    reading = Reading("ketch")
    fed = 0  # bytes given to receive_data so far
    start = 0  # offset of the current message in the stream
    stream = b"".join(pieces)
    current: Framed | None = None
    for piece in [*[p for p in pieces if p], b""]:
        conn.receive_data(piece)
        fed += len(piece)
        while True:
            whole = conn.next_request() if whole_first else None
            if whole is not None:
                request, body = whole
                events: list[Event] = [request, *([Data(body)] if body else []), EndOfMessage()]
            else:
                try:
                    got = conn.next_event()
                except RemoteProtocolError as exc:
                    reading.stop, reading.error = "error", str(exc)
                    return reading
                if isinstance(got, Sentinel):
                    break
                events = [got]
            for event in events:
                if isinstance(event, Request):
                    current = Framed(event.method, event.target, event.http_version, b"")
                elif isinstance(event, Data):
                    assert current is not None
                    current = Framed(
                        current.method, current.target, current.version, current.body + event.data
                    )
                elif isinstance(event, ConnectionClosed):
                    return reading
                else:
                    assert isinstance(event, EndOfMessage)
                    assert current is not None
                    reading.messages.append(current)
                    end = fed - conn.buffered
                    reading.spans.append(stream[start:end])
                    start = end
                    if conn.switch_requested:
                        reading.stop = "switch"
                        return reading
                    conn.send_complete(Response(status_code=200))
                    if conn.our_state is not State.DONE or conn.their_state is not State.DONE:
                        reading.stop = "closed"
                        return reading
                    conn.start_next_cycle()
    return reading


# -------------------------------------------------------------------------------------- llhttp


class _LlhttpCallbacks:
    def __init__(self) -> None:
        self.parser: httptools.HttpRequestParser | None = None
        self.messages: list[Framed] = []
        self.started = False
        self.url = b""
        self.body = b""
        self.method = b""
        self.version = b""

    def on_message_begin(self) -> None:
        self.started = True
        self.url = self.body = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.method = self.parser.get_method()
        self.version = self.parser.get_http_version().encode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.messages.append(Framed(self.method, self.url, self.version, self.body))
        self.started = False


def read_with_llhttp(stream: bytes) -> Reading:
    """Feed `stream` to httptools' llhttp request parser (strict: no lenient flags set).

    llhttp has no end-of-stream call for requests (a request body never runs to EOF), so a
    message it has not completed at the end of the bytes is reported as ``waiting``.
    """
    callbacks = _LlhttpCallbacks()
    parser = callbacks.parser = httptools.HttpRequestParser(callbacks)
    reading = Reading("llhttp", callbacks.messages)
    try:
        parser.feed_data(stream)
    except httptools.HttpParserUpgrade:
        reading.stop = "switch"
    except httptools.HttpParserError as exc:
        reading.stop, reading.error = "error", f"{type(exc).__name__}: {exc}"
    return reading


# ----------------------------------------------------------------------------------------- h11


def read_with_h11(stream: bytes) -> Reading:
    """Feed `stream` to an h11 server connection (no EOF: see `read_with_llhttp`).

    Each request is answered with a 200.  An Upgrade request is answered with a 200 too, which
    declines the switch (h11 proposes one on an Upgrade field alone, without
    ``Connection: upgrade``); a CONNECT ends the reading as a switch.
    """
    conn = h11.Connection(h11.SERVER)
    reading = Reading("h11")
    current: Framed | None = None
    conn.receive_data(stream)
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            reading.stop, reading.error = "error", f"RemoteProtocolError: {exc}"
            return reading
        if event is h11.NEED_DATA:
            return reading
        if isinstance(event, h11.Request):
            current = Framed(event.method, event.target, event.http_version, b"")
        elif isinstance(event, h11.Data):
            assert current is not None
            current = Framed(
                current.method, current.target, current.version, current.body + bytes(event.data)
            )
        elif isinstance(event, h11.EndOfMessage):
            assert current is not None
            reading.messages.append(current)
            if current.method == b"CONNECT":
                reading.stop = "switch"
                return reading
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                reading.stop = "closed"
                return reading
            conn.start_next_cycle()
        else:  # ConnectionClosed cannot come without EOF; PAUSED only after a switch proposal
            return reading


# ------------------------------------------------------------------------------ the comparison


@dataclass(frozen=True)
class Divergence:
    """A message ketch accepted that another parser did not frame the same way.

    Attributes:
        kind: ``misframe`` (the other framed it differently or waits for more bytes) or
            ``stricter`` (the other rejected it and no exclusion explains why).
        parser: the other parser.
        index: the message's position in the stream.
        detail: what each side made of it.
    """

    kind: Literal["misframe", "stricter"]
    parser: str
    index: int
    detail: str

    @property
    def signature(self) -> str:
        """A short key that groups divergences with the same cause (for deduplication)."""
        return f"{self.kind}:{self.parser}:{re.sub(r'[0-9]+', 'N', self.detail.split(' | ')[0])}"


@dataclass(frozen=True)
class Exclusion:
    """A documented case where the other parser's reading differs and ketch is right by the RFCs.

    `applies` gets the bytes of the message (as ketch framed it, with any empty lines before it),
    the bytes of the message before it (``b""`` for the first), and the other parser's reading.
    """

    parser: str
    name: str
    reason: str
    applies: Callable[[bytes, bytes, Reading], bool]


# llhttp (src/llparse/http.ts METHODS) knows a fixed list of methods and rejects any other token.
_LLHTTP_METHODS = frozenset(
    b"DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH "
    b"SEARCH UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY "
    b"SUBSCRIBE UNSUBSCRIBE PATCH PURGE MKCALENDAR LINK UNLINK SOURCE QUERY".split()
)
_CHUNK_LINE = re.compile(rb"(?:^|\r\n)([0-9A-Fa-f]+(?:[ \t]*;[^\r\n]*)?)\r\n")
_BWS = re.compile(rb"[ \t];|;[ \t]|[ \t]=|=[ \t]")
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _head(span: bytes) -> bytes:
    return span.lstrip(b"\r\n").partition(b"\r\n\r\n")[0] + b"\r\n"


def _target(span: bytes) -> bytes:
    return [*_head(span).split(b" "), b"", b""][1]


def _field_values(span: bytes, name: bytes) -> list[bytes]:
    pattern = rb"(?im)^" + re.escape(name) + rb":([^\r\n]*)\r$"
    return re.findall(pattern, _head(span))


def _chunk_lines(span: bytes) -> list[bytes]:
    body = span.lstrip(b"\r\n").partition(b"\r\n\r\n")[2]
    return [_QUOTED.sub(b'""', line) for line in _CHUNK_LINE.findall(b"\r\n" + body)]


def _repeated_length(span: bytes) -> bool:
    """The head has several Content-Length members (fields or list items), all the same."""
    members = [
        m.strip(b" \t") for v in _field_values(span, b"content-length") for m in v.split(b",")
    ]
    return len(members) > 1 and len(set(members)) == 1


EXCLUSIONS: list[Exclusion] = [
    Exclusion(
        "llhttp",
        "unknown method",
        "RFC 9110 §9.1: method = token, and methods are extensible (§16.1); llhttp only parses "
        "its built-in list and answers any other token with HPE_INVALID_METHOD.",
        lambda mine, before, other: (
            other.stop == "error"
            and "InvalidMethod" in other.error
            and mine.lstrip(b"\r\n").split(b" ", 1)[0] not in _LLHTTP_METHODS
        ),
    ),
    Exclusion(
        "llhttp",
        "repeated Content-Length",
        'RFC 9110 §8.6: for a Content-Length list of identical values ("42, 42", or the field '
        "repeated) a recipient MAY reject the message or replace them with one value; ketch does "
        "the latter (as h11 does), llhttp rejects any repetition.",
        lambda mine, before, other: (
            other.stop == "error" and "Content-Length" in other.error and _repeated_length(mine)
        ),
    ),
    Exclusion(
        "llhttp",
        "HTAB around Transfer-Encoding",
        'RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, OWS = *( SP / HTAB ); '
        'llhttp strips spaces around a Transfer-Encoding value but not tabs, so "chunked\\t" '
        "is not chunked to it and it rejects the request.",
        lambda mine, before, other: (
            other.stop == "error"
            and "Transfer-Encoding" in other.error
            and any(b"\t" in value for value in _field_values(mine, b"transfer-encoding"))
        ),
    ),
    Exclusion(
        "llhttp",
        "chunk-ext BWS",
        'RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS '
        "chunk-ext-val ] ); llhttp's strict mode rejects whitespace there.",
        lambda mine, before, other: (
            other.stop == "error"
            and "chunk" in other.error
            and any(_BWS.search(line) for line in _chunk_lines(mine))
        ),
    ),
    Exclusion(
        "llhttp",
        "URI schemes",
        'RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), and §3: an '
        'absolute-URI\'s hier-part may be a path without "//" authority ("urn:x"); llhttp '
        'takes letters only in a scheme and wants "//" after it.  (For http and https, RFC '
        '9110 §4.2.1 does require "//" and a host: ketch rejects those without.)',
        lambda mine, before, other: (
            other.stop == "error"
            and "url schema" in other.error
            and re.match(rb"[A-Za-z]+://", _target(mine)) is None
        ),
    ),
    Exclusion(
        "llhttp",
        "httptools skips the content of an Upgrade request",
        "RFC 9110 §7.8: the switch happens after the request, content included, and llhttp "
        'reads that content (its test connection.md "Upgrade POST request"); httptools\' '
        "on_headers_complete returns 1 for an upgrade, which tells llhttp to skip the body.  "
        "Only the body may differ, and only for the last message, where both readings stop.",
        lambda mine, before, other: other.stop == "switch" and not other.messages[-1].body,
    ),
    Exclusion(
        "h11",
        "empty lines before a request",
        "RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received before the "
        "request-line; ketch does, llhttp does, h11 rejects the first one.",
        lambda mine, before, other: (
            other.stop == "error"
            and "no request line received" in other.error
            and mine.startswith(b"\r\n")
        ),
    ),
    Exclusion(
        "h11",
        "chunk-ext BWS",
        "RFC 9112 §7.1.1 allows BWS in chunk extensions (see llhttp above); h11 follows RFC 7230, "
        "which had none.",
        lambda mine, before, other: (
            other.stop == "error"
            and "chunk" in other.error
            and any(_BWS.search(line) for line in _chunk_lines(mine))
        ),
    ),
    Exclusion(
        "h11",
        "long chunk-size",
        "RFC 9112 §7.1: chunk-size = 1*HEXDIG, leading zeros included; h11 caps it at 20 digits "
        "(ketch bounds the whole chunk line and the value instead).",
        lambda mine, before, other: (
            other.stop == "error"
            and "illegal chunk header" in other.error
            and any(len(line.split(b";")[0]) > 20 for line in _chunk_lines(mine))
        ),
    ),
    Exclusion(
        "h11",
        "HTTP/1.0 keep-alive",
        "RFC 9112 §9.3: an HTTP/1.0 request with the keep-alive connection option keeps the "
        "connection; h11 does not implement HTTP/1.0 keep-alive and closes after it.",
        lambda mine, before, other: (
            other.stop == "closed"
            and b" HTTP/1.0\r\n" in _head(before)
            and any(b"keep-alive" in v.lower() for v in _field_values(before, b"connection"))
        ),
    ),
]


def _excluded(ketch: Reading, other: Reading, index: int) -> bool:
    mine = ketch.spans[index]
    before = ketch.spans[index - 1] if index else b""
    return any(e.parser == other.parser and e.applies(mine, before, other) for e in EXCLUSIONS)


def compare(ketch: Reading, other: Reading) -> Divergence | None:
    """Return the first message ketch accepted that `other` framed differently, or None."""
    for index, mine in enumerate(ketch.messages):
        if index < len(other.messages):
            theirs = other.messages[index]
            if theirs == mine:
                continue
            # Only the body differs, in the last message of both, where both readings stop.
            last = index == len(ketch.messages) - 1 == len(other.messages) - 1
            same_head = (mine.method, mine.target, mine.version) == (
                theirs.method,
                theirs.target,
                theirs.version,
            )
            stopped = ketch.stop in ("switch", "closed")
            if last and same_head and stopped and _excluded(ketch, other, index):
                return None
            return Divergence(
                "misframe", other.parser, index, f"other message | {mine} != {theirs}"
            )
        # (A switch before this message is never excused: the other reads a tunnel from there.)
        if other.stop != "switch" and _excluded(ketch, other, index):
            return None
        if other.stop == "error":
            return Divergence(
                "stricter", other.parser, index, f"{other.error} | ketch accepted {mine}"
            )
        return Divergence(
            "misframe",
            other.parser,
            index,
            f"other {other.stop} after {index} messages | ketch framed {mine}",
        )
    return None


def differential(
    stream: bytes, pieces: Sequence[bytes] | None = None, *, whole_first: bool = False
) -> tuple[Reading, list[Divergence]]:
    """Read `stream` with all three parsers (ketch in `pieces`, if given) and compare.

    Returns:
        ketch's reading and the divergences of llhttp and h11 from it (at most one each).

    Raises:
        AssertionError: ketch read the split stream differently from the whole one.
    """
    ketch = read_with_ketch([stream])
    if pieces is not None:
        split = read_with_ketch(pieces, whole_first=whole_first)
        assert (split.messages, split.stop) == (ketch.messages, ketch.stop), (
            f"split changed ketch's reading: {split} != {ketch}"
        )
    found = [compare(ketch, read_with_llhttp(stream)), compare(ketch, read_with_h11(stream))]
    return ketch, [d for d in found if d is not None]
