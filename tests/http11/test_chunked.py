"""Chunked request bodies and trailers (RFC 9112 §7.1)."""

from __future__ import annotations

import pytest

from ketch.http11 import Limits, RemoteProtocolError
from ketch.http11.readers import parse_chunk_line

from .helpers import parse_one, rejects, request


def chunked(body: bytes) -> bytes:
    """A chunked POST whose chunked content is `body`, raw."""
    headers = [b"Host: a", b"Transfer-Encoding: chunked"]
    return request(b"/", method=b"POST", headers=headers, body=body)


def read_body(body: bytes, limits: Limits | None = None) -> bytes:
    _, content, _ = parse_one(chunked(body), limits=limits)
    return content


# ---------------------------------------------------------------- chunk sizes


def test_chunks_are_joined_into_the_content() -> None:
    assert read_body(b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n") == b"hello world"


def test_empty_chunked_body() -> None:
    assert read_body(b"0\r\n\r\n") == b""


@pytest.mark.parametrize("size", [b"a", b"A", b"0a", b"00A"])
def test_chunk_size_hex_digits_in_either_case(size: bytes) -> None:
    assert read_body(size + b"\r\n" + b"x" * 10 + b"\r\n0\r\n\r\n") == b"x" * 10


def test_chunk_size_mixed_case_hex() -> None:
    assert read_body(b"1aF\r\n" + b"y" * 0x1AF + b"\r\n0\r\n\r\n") == b"y" * 0x1AF


def test_chunk_size_leading_zeros_and_zero_padded_last_chunk() -> None:
    assert read_body(b"0003\r\nabc\r\n000\r\n\r\n") == b"abc"


def test_chunk_data_may_contain_crlf() -> None:
    assert read_body(b"6\r\na\r\n\r\nb\r\n0\r\n\r\n") == b"a\r\n\r\nb"


@pytest.mark.parametrize(
    "line", [b"", b"g", b"-1", b"+1", b"0x5", b" 5", b"5 ", b"5\t", b"\t5", b"5\x00", b"\xef5"]
)
def test_invalid_chunk_size_line_is_rejected(line: bytes) -> None:
    assert rejects(chunked(line + b"\r\nhello\r\n0\r\n\r\n")) == 400


def test_space_after_chunk_size_is_rejected() -> None:
    assert rejects(chunked(b"5 \r\nhello\r\n0\r\n\r\n")) == 400


def test_chunk_size_overflow_is_rejected() -> None:
    assert rejects(chunked(b"10000000000000000\r\nx\r\n0\r\n\r\n")) == 400


def test_chunk_size_of_16_hex_digits_is_rejected() -> None:
    assert rejects(chunked(b"1000000000000000\r\nx")) == 400


def test_parse_chunk_line_accepts_15_hex_digits_after_leading_zeros() -> None:
    assert parse_chunk_line(b"000fffffffffffffff") == 16**15 - 1
    with pytest.raises(RemoteProtocolError, match="too large"):
        parse_chunk_line(b"1000000000000000")


def test_eof_after_huge_chunk_size_is_rejected() -> None:
    assert rejects(chunked(b"fffffffffffffff\r\nsome data")) == 400


# ---------------------------------------------------------------- chunk extensions (§7.1.1)


@pytest.mark.parametrize(
    "ext",
    [
        b";name",
        b";name=value",
        b";a;b=c;d",
        b" ;name",
        b"\t; name = value",
        b';name="quoted value"',
        b';name=""',
        b';name="semi;colon, and \\"escapes\\\\"',
        b';name="tab\there"',
        b';name="obs \xe9 text"',
        b";!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~",
    ],
)
def test_valid_chunk_extensions_are_ignored(ext: bytes) -> None:
    assert read_body(b"5" + ext + b"\r\nhello\r\n0" + ext + b"\r\n\r\n") == b"hello"


@pytest.mark.parametrize(
    "ext",
    [
        b";",
        b"name",
        b" name",
        b";=value",
        b";name=",
        b";name value",
        b";name=value value",
        b';name="unterminated',
        b';name="a"b',
        b';name="ctl\x01"',
        b';name="ctl\\\x01"',
        b";na@me",
        b";name=val@ue",
        b";name;",
        b"; ",
    ],
)
def test_invalid_chunk_extensions_are_rejected(ext: bytes) -> None:
    assert rejects(chunked(b"5" + ext + b"\r\nhello\r\n0\r\n\r\n")) == 400


def test_invalid_extension_on_last_chunk_is_rejected() -> None:
    assert rejects(chunked(b"5\r\nhello\r\n0;\r\n\r\n")) == 400


def test_chunk_line_at_the_limit_is_accepted() -> None:
    line = b"5;x=" + b"v" * 16
    assert read_body(line + b"\r\nhello\r\n0\r\n\r\n", Limits(max_chunk_line=len(line))) == b"hello"


def test_chunk_line_over_the_limit_is_rejected() -> None:
    line = b"5;x=" + b"v" * 16
    stream = chunked(line + b"\r\nhello\r\n0\r\n\r\n")
    assert rejects(stream, limits=Limits(max_chunk_line=len(line) - 1)) == 400


def test_chunk_line_over_the_limit_is_rejected_before_its_end_arrives() -> None:
    stream = chunked(b"5;x=" + b"v" * 100)
    assert rejects(stream, limits=Limits(max_chunk_line=20)) == 400


def test_default_chunk_line_limit_is_4096() -> None:
    line = b"5;x=" + b"v" * 4092
    assert read_body(line + b"\r\nhello\r\n0\r\n\r\n") == b"hello"
    assert rejects(chunked(line + b"v\r\nhello\r\n0\r\n\r\n")) == 400


# ---------------------------------------------------------------- chunk data framing


@pytest.mark.parametrize(
    "after",
    [
        b"X\r\n0\r\n\r\n",
        b"\n0\r\n\r\n",
        b"\r0\r\n\r\n",
        b"0\r\n\r\n",
        # Two bytes that are not CRLF, then a valid last chunk: only the CRLF check catches it.
        b"XY0\r\n\r\n",
        b"\rX0\r\n\r\n",
        b"\n\r0\r\n\r\n",
    ],
)
def test_chunked_rejects_missing_crlf_after_data(after: bytes) -> None:
    assert rejects(chunked(b"5\r\nhello" + after)) == 400


def test_chunked_rejects_chunk_longer_than_its_size() -> None:
    assert rejects(chunked(b"3\r\nhello\r\n0\r\n\r\n")) == 400


def test_chunked_rejects_bare_lf_after_size() -> None:
    assert rejects(chunked(b"5\nhello\r\n0\r\n\r\n")) == 400


def test_chunked_rejects_missing_last_chunk() -> None:
    assert rejects(chunked(b"5\r\nhello\r\n\r\n")) == 400


@pytest.mark.parametrize(
    "body",
    [b"", b"5", b"5\r", b"5\r\nhel", b"5\r\nhello", b"5\r\nhello\r", b"0\r\n", b"0\r\n\r"],
)
def test_eof_inside_chunked_body_is_rejected(body: bytes) -> None:
    assert rejects(chunked(body)) == 400


def test_chunked_body_over_max_body_size_is_413() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    assert rejects(chunked(body), limits=Limits(max_body_size=10)) == 413


def test_chunked_body_at_max_body_size_is_accepted() -> None:
    body = b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
    assert read_body(body, Limits(max_body_size=10)) == b"helloworld"


def test_chunked_body_limit_is_checked_on_the_size_line() -> None:
    # The chunk is refused from its size alone; its data never has to arrive.
    assert rejects(chunked(b"b\r\n"), limits=Limits(max_body_size=10)) == 413


# ---------------------------------------------------------------- trailers (§7.1.2)


def test_trailers_are_returned_on_end_of_message() -> None:
    _, body, end = parse_one(chunked(b"3\r\nabc\r\n0\r\nX-Sum: 1234\r\nX-Other:  v \r\n\r\n"))
    assert body == b"abc"
    assert end.headers == [(b"X-Sum", b"1234"), (b"X-Other", b"v")]


def test_trailers_are_not_merged_into_the_request_headers() -> None:
    req, _, end = parse_one(chunked(b"0\r\nHost-Name: other\r\nContent-Type: x\r\n\r\n"))
    assert req.headers == [(b"Host", b"a"), (b"Transfer-Encoding", b"chunked")]
    assert end.headers == [(b"Host-Name", b"other"), (b"Content-Type", b"x")]


@pytest.mark.parametrize(
    "trailer",
    [
        b"Content-Length: 5",
        b"Transfer-Encoding: chunked",
        b"Connection: close",
        b"Host: other",
        b"Upgrade: websocket",
        b"expect: 100-continue",
    ],
)
def test_framing_and_connection_fields_in_trailers_are_rejected(trailer: bytes) -> None:
    # RFC 9110 §6.5.1: these cannot be processed after the content (and llhttp would apply them).
    assert rejects(chunked(b"0\r\n" + trailer + b"\r\n\r\n")) == 400


@pytest.mark.parametrize(
    "trailer", [b"X : v", b" X: v", b"X: v\r\n folded", b"X: \x00", b"no colon", b"X: a\rb"]
)
def test_invalid_trailer_line_is_rejected(trailer: bytes) -> None:
    assert rejects(chunked(b"0\r\n" + trailer + b"\r\n\r\n")) == 400


# The same limit bounds the head, so the trailer sections here are larger than the 55-byte head.


def test_trailer_section_at_the_byte_limit_is_accepted() -> None:
    section = b"X: " + b"v" * 100 + b"\r\n\r\n"
    _, _, end = parse_one(chunked(b"0\r\n" + section), limits=Limits(max_header_bytes=len(section)))
    assert end.headers == [(b"X", b"v" * 100)]


def test_trailer_section_over_the_byte_limit_is_431() -> None:
    section = b"X: " + b"v" * 100 + b"\r\n\r\n"
    stream = chunked(b"0\r\n" + section)
    assert rejects(stream, limits=Limits(max_header_bytes=len(section) - 1)) == 431


def test_trailer_section_over_the_byte_limit_is_431_before_it_ends() -> None:
    stream = chunked(b"0\r\nX: " + b"v" * 100)
    assert rejects(stream, limits=Limits(max_header_bytes=80)) == 431


def test_trailer_count_at_the_limit_is_accepted() -> None:
    trailers = b"".join(b"T%d: v\r\n" % i for i in range(3))
    _, _, end = parse_one(chunked(b"0\r\n" + trailers + b"\r\n"), limits=Limits(max_header_count=3))
    assert len(end.headers) == 3


def test_trailer_count_over_the_limit_is_431() -> None:
    trailers = b"".join(b"T%d: v\r\n" % i for i in range(4))
    stream = chunked(b"0\r\n" + trailers + b"\r\n")
    assert rejects(stream, limits=Limits(max_header_count=3)) == 431


@pytest.mark.parametrize("tail", [b"X: v", b"X: v\r\n", b"X: v\r\n\r"])
def test_eof_inside_trailers_is_rejected(tail: bytes) -> None:
    assert rejects(chunked(b"0\r\n" + tail)) == 400
