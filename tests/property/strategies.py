"""Hypothesis strategies for valid HTTP/1.1 request streams, and the events they must give.

A generated `Message` knows its exact bytes on the wire (`Message.wire`) and the events a correct
reader produces from them (`Message.events`).  The forms generated are the ones both ketch and h11
accept, so the same messages drive the split, round-trip and differential tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from hypothesis import strategies as st

from ketch.http11 import Data, EndOfMessage, Event, Headers, Request

TCHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VCHARS = bytes(range(0x21, 0x7F))
OBS_TEXT = bytes(range(0x80, 0x100))
# Field names with a meaning for framing or persistence are added by the message itself.
SPECIAL = {b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect"}

Framing = Literal["none", "length", "chunked"]


def _bytes_of(alphabet: bytes, min_size: int = 0, max_size: int = 16) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(alphabet), min_size=min_size, max_size=max_size).map(bytes)


tokens = _bytes_of(TCHARS, 1, 12)
methods = st.one_of(
    st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD"]),
    tokens.filter(lambda m: m != b"CONNECT"),
)
origin_targets = _bytes_of(VCHARS, 0, 40).map(lambda path: b"/" + path)
hosts = st.from_regex(rb"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,5})?(:[0-9]{1,5})?\Z")
targets = st.one_of(
    origin_targets,
    st.builds(lambda host, path: b"http://" + host + path, hosts, origin_targets),
)
field_names = tokens.filter(lambda name: name.lower() not in SPECIAL)
# field-value: VCHAR / obs-text, with SP / HTAB only inside (a reader strips them at the ends).
field_values = _bytes_of(VCHARS + OBS_TEXT + b" \t", 0, 24).map(lambda v: v.strip(b" \t"))
fields = st.lists(st.tuples(field_names, field_values), max_size=6)
bodies = st.binary(max_size=300)
CHUNK_EXTENSIONS = [b"", b";a", b";name=value", b';q="quoted; value"']
# RFC 9112 §7.1.1 allows BWS around ";" and "="; RFC 7230 (which h11 follows) did not.
CHUNK_EXTENSIONS_BWS = [b" ;a", b"\t; x = y"]


@dataclass(frozen=True)
class Chunking:
    """How a chunked body is laid out on the wire."""

    cuts: tuple[int, ...] = ()
    upper: bool = False
    zeros: int = 0
    extension: bytes = b""
    trailers: Headers = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    """One valid request, as bytes and as the events it must give."""

    method: bytes
    target: bytes
    host: bytes | None
    fields: Headers
    body: bytes
    framing: Framing
    chunking: Chunking = field(default_factory=Chunking)
    http_version: bytes = b"1.1"
    close: bool = False

    @property
    def headers(self) -> Headers:
        """Every field of the head, in order, as a reader must report them."""
        out: Headers = []
        if self.host is not None:
            out.append((b"Host", self.host))
        out.extend(self.fields)
        if self.framing == "length":
            out.append((b"Content-Length", b"%d" % len(self.body)))
        elif self.framing == "chunked":
            out.append((b"Transfer-Encoding", b"chunked"))
        if self.close:
            out.append((b"Connection", b"close"))
        return out

    @property
    def trailers(self) -> Headers:
        return self.chunking.trailers if self.framing == "chunked" else []

    def chunks(self) -> list[bytes]:
        """The body cut into the chunks the wire carries (empty chunks dropped)."""
        edges = [0, *sorted(self.chunking.cuts), len(self.body)]
        pieces = [self.body[a:b] for a, b in itertools.pairwise(edges)]
        return [piece for piece in pieces if piece]

    def wire(self) -> bytes:
        """The request's bytes."""
        head = b"%s %s HTTP/%s\r\n" % (self.method, self.target, self.http_version)
        head += b"".join(b"%s: %s\r\n" % pair for pair in self.headers) + b"\r\n"
        if self.framing != "chunked":
            return head + self.body
        c = self.chunking
        zeros = b"0" * c.zeros
        out = [head]
        for chunk in self.chunks():
            size = b"%X" % len(chunk) if c.upper else b"%x" % len(chunk)
            out.append(zeros + size + c.extension + b"\r\n" + chunk + b"\r\n")
        out.append(zeros + b"0" + c.extension + b"\r\n")
        out.extend(b"%s: %s\r\n" % pair for pair in c.trailers)
        out.append(b"\r\n")
        return b"".join(out)

    def events(self) -> list[Event]:
        """The events a reader gives for this request, `Data` merged into one."""
        request = Request(
            method=self.method,
            target=self.target,
            http_version=self.http_version,
            headers=self.headers,
        )
        data: list[Event] = [Data(self.body)] if self.body else []
        return [request, *data, EndOfMessage(headers=self.trailers)]


@st.composite
def chunkings(draw: st.DrawFn, body_size: int, *, bws: bool = True) -> Chunking:
    cuts = draw(st.lists(st.integers(0, body_size), max_size=5, unique=True))
    extensions = CHUNK_EXTENSIONS + CHUNK_EXTENSIONS_BWS if bws else CHUNK_EXTENSIONS
    return Chunking(
        cuts=tuple(cuts),
        upper=draw(st.booleans()),
        zeros=draw(st.integers(0, 2)),
        extension=draw(st.sampled_from(extensions)),
        trailers=draw(st.lists(st.tuples(field_names, field_values), max_size=3)),
    )


@st.composite
def messages(draw: st.DrawFn, *, last: bool = True, bws: bool = True) -> Message:
    """A valid request; `last` allows the forms that end the connection (HTTP/1.0, close), `bws`
    whitespace in chunk extensions."""
    http10 = last and draw(st.integers(0, 9)) == 0
    body = draw(bodies)
    framings: list[Framing] = ["length"] if http10 else ["length", "chunked"]
    if not body:
        framings.append("none")
    framing = draw(st.sampled_from(framings))
    return Message(
        method=draw(methods),
        target=draw(targets),
        host=draw(st.none() | hosts) if http10 else draw(hosts),
        fields=draw(fields),
        body=body,
        framing=framing,
        chunking=draw(chunkings(len(body), bws=bws)) if framing == "chunked" else Chunking(),
        http_version=b"1.0" if http10 else b"1.1",
        close=last and not http10 and draw(st.booleans()),
    )


@st.composite
def pipelines(draw: st.DrawFn, max_size: int = 4, *, bws: bool = True) -> list[Message]:
    """Several requests sent back to back; only the last may end the connection."""
    count = draw(st.integers(1, max_size))
    return [draw(messages(last=i == count - 1, bws=bws)) for i in range(count)]


def wire(pipeline: list[Message]) -> bytes:
    return b"".join(message.wire() for message in pipeline)


def expected_events(pipeline: list[Message]) -> list[Event]:
    return [event for message in pipeline for event in message.events()]
