"""Mutated request streams for differential fuzzing: valid pipelines, then framing-level damage.

`mutated_streams` draws a valid pipeline (`strategies.pipelines`) and applies a few mutations
aimed at what decides framing: Content-Length and Transfer-Encoding fields and their values,
chunk-size lines and extensions, line endings, whitespace around colons, header-name case,
HTTP/1.0 vs 1.1, control bytes, and byte insertions, deletions and replacements next to
framing-relevant bytes.  Shared by tests/property/test_differential_fuzz.py and fuzz/run.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from .strategies import pipelines, wire

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MUTATIONS", "mutated_streams"]

COMMON_METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD"]
LENGTH_VALUES = [
    b"0", b"5", b"05", b"+5", b"-5", b"-0", b" 5", b"5 ", b"5,5", b"5, 5", b"5,6", b"5, 6", b"5 5",
    b"0x5", b"5.0", b"1e1", b"", b",", b"5,", b",5", b"\t5", b"5\t", b"99999999999999999999",
    b"18446744073709551621", b"\xef\xbc\x95", b"5\x00", b"3",
]  # fmt: skip
CODING_VALUES = [
    b"chunked", b"Chunked", b"CHUNKED", b" chunked", b"chunked ", b"chunked, chunked",
    b"chunked,chunked", b"identity", b"identity, chunked", b"chunked, identity", b"gzip, chunked",
    b"gzip", b"xchunked", b"chunkedx", b"chunked;a=b", b"\tchunked", b"chunked\x00", b",chunked",
    b"chunked,", b", chunked ,", b'"chunked"', b"chunk ed", b"chunked\x0b", b"\x0cchunked", b"",
]  # fmt: skip
CONNECTION_VALUES = [
    b"close", b"keep-alive", b"upgrade", b"Close", b"close, upgrade", b"keep-alive, close",
    b"closed", b"",
]  # fmt: skip
FRAMING_NAMES = [
    b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"Content-length", b"Content-Length ",
    b"Content-Length\t", b" Content-Length", b"Content_Length", b"Content-Length\x00",
    b"Transfer-Encoding", b"transfer-encoding", b"TRANSFER-ENCODING", b"Transfer-Encoding ",
    b"\tTransfer-Encoding", b"Transfer_Encoding", b"Transfer-Encodings", b"Connection",
    b"Upgrade", b"Expect", b"Host",
]  # fmt: skip
NAME_VALUES: dict[bytes, list[bytes]] = {
    b"content-length": LENGTH_VALUES,
    b"transfer-encoding": CODING_VALUES,
    b"connection": CONNECTION_VALUES,
    b"upgrade": [b"websocket", b"h2c", b""],
    b"expect": [b"100-continue", b"x"],
    b"host": [b"a", b"", b"a b", b"a:80"],
}
SEPARATORS = [b": ", b":", b":\t", b" : ", b"\t:", b": \t", b":  "]
CHUNK_SIZES = [
    b"{s}", b"0{s}", b"000{s}", b"0x{s}", b"+{s}", b"-{s}", b" {s}", b"{s} ", b"{s}\t", b"{S}",
    b"{s};", b"{s};a", b"{s};a=", b"{s};a=b", b'{s};a="b"', b'{s};a="b;c"', b'{s};a="\r\n"',
    b'{s};a="', b"{s};a=b;c=d", b"{s} ;a", b"{s}; a", b"{s};a = b", b"{s};=b", b"{s};a=b c",
    b"{s}\x00", b"{s};\x00", b"1{s}", b"ffffffffffffffff{s}", b"{s}g", b"{s}\r", b"{s}\n",
]  # fmt: skip
LINE_ENDS = [b"\n", b"\r", b"\r\r\n", b"\n\r", b"\r\n ", b"\r\n\t", b"\r\n\r\n", b"", b"\r\x00\n"]
BYTES = [
    b"\r", b"\n", b"\r\n", b" ", b"\t", b"\x00", b"\x0b", b"\x0c", b"\x7f", b"\x80", b"\xff",
    b"0", b"1", b"a", b"A", b"f", b",", b";", b":", b'"', b"=", b"\\", b"-", b"+", b"x",
]  # fmt: skip
# Bytes next to which a mutation is likely to change how a message is framed.
_RELEVANT = re.compile(rb"[\r\n:;, \t0-9]")
_FIELD_LINE = re.compile(
    rb"(?im)^(content-length|transfer-encoding|connection|upgrade|expect|host)([ \t]*:[ \t]*)"
    rb"([^\r\n]*)\r$"
)
_CHUNK_LINE = re.compile(rb"\r\n([0-9A-Fa-f]+)((?:;[^\r\n]*)?)\r\n")


def _pick(draw: st.DrawFn, matches: list[re.Match[bytes]]) -> re.Match[bytes] | None:
    return draw(st.sampled_from(matches)) if matches else None


def add_field(draw: st.DrawFn, stream: bytes) -> bytes:
    """Insert a framing field line after one of the stream's CRLFs."""
    name = draw(st.sampled_from(FRAMING_NAMES))
    values = NAME_VALUES.get(name.strip(b" \t\x00").lower(), LENGTH_VALUES + CODING_VALUES)
    line = name + draw(st.sampled_from(SEPARATORS)) + draw(st.sampled_from(values)) + b"\r\n"
    ends = [m.end() for m in re.finditer(rb"\r\n", stream)] or [0]
    at = draw(st.sampled_from(ends[:8]))  # mostly inside the first heads
    return stream[:at] + line + stream[at:]


def change_field(draw: st.DrawFn, stream: bytes) -> bytes:
    """Replace the separator or value of a framing field, or duplicate or fold the line."""
    match = _pick(draw, list(_FIELD_LINE.finditer(stream)))
    if match is None:
        return add_field(draw, stream)
    name = match.group(1)
    how = draw(st.integers(0, 3))
    if how == 0:
        value = draw(st.sampled_from(NAME_VALUES[name.lower()]))
        return stream[: match.start(3)] + value + stream[match.end(3) :]
    if how == 1:
        sep = draw(st.sampled_from(SEPARATORS))
        return stream[: match.start(2)] + sep + stream[match.end(2) :]
    if how == 2:
        line = stream[match.start() : match.end() + 1]
        return stream[: match.end() + 1] + line + stream[match.end() + 1 :]
    fold = draw(st.sampled_from([b"\r\n ", b"\r\n\t", b"\r\n \r\n"]))
    extra = draw(st.sampled_from(NAME_VALUES[name.lower()]))
    return stream[: match.end(3)] + fold + extra + stream[match.end(3) :]


def change_chunk_line(draw: st.DrawFn, stream: bytes) -> bytes:
    """Rewrite a chunk-size line: prefixes, hex case, extensions, stray bytes."""
    match = _pick(draw, list(_CHUNK_LINE.finditer(stream)))
    if match is None:
        return change_field(draw, stream)
    size = match.group(1)
    form = draw(st.sampled_from(CHUNK_SIZES))
    line = form.replace(b"{s}", size).replace(b"{S}", size.upper().swapcase())
    return stream[: match.start(1)] + line + stream[match.end(2) :]


def change_line_end(draw: st.DrawFn, stream: bytes) -> bytes:
    """Replace one CRLF with a bare LF, a bare CR, an obs-fold start, ..."""
    ends = [m.start() for m in re.finditer(rb"\r\n", stream)]
    if not ends:
        return stream
    at = draw(st.sampled_from(ends))
    return stream[:at] + draw(st.sampled_from(LINE_ENDS)) + stream[at + 2 :]


def change_version(draw: st.DrawFn, stream: bytes) -> bytes:
    """Swap HTTP/1.1 and HTTP/1.0 in one request line."""
    found = [m.start() for m in re.finditer(rb"HTTP/1\.[01]\r", stream)]
    if not found:
        return stream
    at = draw(st.sampled_from(found)) + 7
    return stream[:at] + (b"0" if stream[at : at + 1] == b"1" else b"1") + stream[at + 1 :]


def flip_case(draw: st.DrawFn, stream: bytes) -> bytes:
    """Swap the case of a framing field's name or value."""
    match = _pick(draw, list(_FIELD_LINE.finditer(stream)))
    if match is None:
        return stream
    group = draw(st.sampled_from([1, 3]))
    return stream[: match.start(group)] + match.group(group).swapcase() + stream[match.end(group) :]


def edit_byte(draw: st.DrawFn, stream: bytes) -> bytes:
    """Insert, replace or delete a byte next to a framing-relevant byte."""
    spots = [m.start() for m in _RELEVANT.finditer(stream)]
    if not spots:
        return stream
    at = draw(st.sampled_from(spots)) + draw(st.integers(-1, 1))
    at = min(max(at, 0), len(stream))
    new = draw(st.sampled_from(BYTES))
    how = draw(st.integers(0, 2))
    if how == 0:
        return stream[:at] + new + stream[at:]
    if how == 1:
        return stream[:at] + new + stream[at + 1 :]
    return stream[:at] + stream[at + 1 :]


def propose_switch(draw: st.DrawFn, stream: bytes) -> bytes:
    """Turn a request into an Upgrade proposal or a CONNECT (the bytes after it are a tunnel)."""
    lines = list(re.finditer(rb"(?m)^([A-Za-z]+) (\S+) (HTTP/1\.[01])\r$", stream))
    match = _pick(draw, lines)
    if match is None:
        return stream
    if draw(st.booleans()):
        fields = b"Connection: upgrade\r\nUpgrade: websocket\r\n"
        return stream[: match.end() + 1] + fields + stream[match.end() + 1 :]
    target = draw(st.sampled_from([b"a:443", b"a", b"/"]))
    return stream[: match.start()] + b"CONNECT " + target + stream[match.start(3) - 1 :]


MUTATIONS: list[Callable[[st.DrawFn, bytes], bytes]] = [
    add_field,
    change_field,
    change_chunk_line,
    change_line_end,
    change_version,
    flip_case,
    edit_byte,
    propose_switch,
]


@st.composite
def mutated_streams(draw: st.DrawFn, max_mutations: int = 3) -> bytes:
    """A valid pipeline of up to three requests with 0 to `max_mutations` mutations applied.

    Mostly with methods llhttp knows (it rejects any other token) and without whitespace in chunk
    extensions (h11 and llhttp reject it), so that all three parsers get past the parts where
    they are known to differ and on to framing.
    """
    pipeline = draw(pipelines(max_size=3, bws=draw(st.integers(0, 9)) == 0))
    if draw(st.integers(0, 9)):
        pipeline = [replace(m, method=draw(st.sampled_from(COMMON_METHODS))) for m in pipeline]
    stream = wire(pipeline)
    for _ in range(draw(st.integers(0, max_mutations))):
        stream = draw(st.sampled_from(MUTATIONS))(draw, stream)
    return stream
