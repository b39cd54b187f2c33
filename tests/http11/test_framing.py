"""Message body length: Content-Length and Transfer-Encoding (RFC 9112 §6, RFC 9110 §8.6)."""

from __future__ import annotations

import pytest

from ketch.http11 import ConnectionClosed, Data, EndOfMessage, Limits, Request

from .helpers import parse_one, read_chunks, rejects, request


def post(headers: list[bytes], body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return request(b"/upload", method=b"POST", version=version, headers=headers, body=body)


# ---------------------------------------------------------------- Content-Length


def test_content_length_body_is_read_exactly() -> None:
    _, body, end = parse_one(post([b"Host: a", b"Content-Length: 11"], b"hello world"))
    assert body == b"hello world"
    assert end == EndOfMessage()


def test_zero_content_length_gives_no_data() -> None:
    _, body, _ = parse_one(post([b"Host: a", b"Content-Length: 0"]))
    assert body == b""


def test_no_framing_fields_means_no_body() -> None:
    _, body, _ = parse_one(post([b"Host: a"]))
    assert body == b""


@pytest.mark.parametrize("value", [b"007", b"0000000000000000000000007", b" 7 ", b"\t7"])
def test_content_length_leading_zeros_and_whitespace(value: bytes) -> None:
    _, body, _ = parse_one(post([b"Host: a", b"Content-Length:" + value], b"abcdefg"))
    assert body == b"abcdefg"


@pytest.mark.parametrize(
    "fields",
    [
        [b"Content-Length: 5, 5"],
        [b"Content-Length: 5,5"],
        [b"Content-Length: 5 ,\t5, 5"],
        [b"Content-Length: 5", b"Content-Length: 5"],
        [b"Content-Length: 5", b"content-length: 5, 5"],
    ],
)
def test_identical_content_lengths_are_folded(fields: list[bytes]) -> None:
    _, body, _ = parse_one(post([b"Host: a", *fields], b"hello"))
    assert body == b"hello"


@pytest.mark.parametrize(
    "fields",
    [
        [b"Content-Length: 5, 6"],
        [b"Content-Length: 5", b"Content-Length: 6"],
        [b"Content-Length: 5", b"Content-Length: 05"],
        [b"Content-Length: 5,,5"],
        [b"Content-Length: 5,"],
        [b"Content-Length: 5", b"Content-Length:"],
    ],
)
def test_conflicting_content_lengths_are_rejected(fields: list[bytes]) -> None:
    assert rejects(post([b"Host: a", *fields], b"hello!")) == 400


@pytest.mark.parametrize(
    "value",
    [b"", b"+5", b"-5", b"5.0", b"0x5", b"5 5", b"five", b"5\x0b", b"\xd9\xa5", b"1e3", b"\xb2"],
)
def test_content_length_must_be_digits(value: bytes) -> None:
    assert rejects(post([b"Host: a", b"Content-Length: " + value], b"hello")) == 400


def test_content_length_with_19_digits_is_413() -> None:
    assert rejects(post([b"Host: a", b"Content-Length: 1000000000000000000"])) == 413


def test_content_length_overflowing_64_bits_is_413() -> None:
    assert rejects(post([b"Host: a", b"Content-Length: 18446744073709551617"])) == 413


def test_content_length_with_18_digits_is_accepted() -> None:
    stream = post([b"Host: a", b"Content-Length: 999999999999999999"], b"abc")
    outcome = read_chunks([stream], eof=False)
    assert outcome.error is None
    assert outcome.events[1:] == [Data(b"abc")]
    assert outcome.end == "need_data"


def test_content_length_over_max_body_size_is_413_before_the_body() -> None:
    stream = post([b"Host: a", b"Content-Length: 11"])  # no body byte sent
    assert rejects(stream, limits=Limits(max_body_size=10)) == 413


def test_content_length_at_max_body_size_is_accepted() -> None:
    stream = post([b"Host: a", b"Content-Length: 10"], b"0123456789")
    _, body, _ = parse_one(stream, limits=Limits(max_body_size=10))
    assert body == b"0123456789"


def test_eof_in_content_length_body_is_rejected() -> None:
    assert rejects(post([b"Host: a", b"Content-Length: 10"], b"short")) == 400


def test_bytes_after_content_length_body_start_the_next_request() -> None:
    stream = post([b"Host: a", b"Content-Length: 3"], b"abc") + request(b"/next")
    outcome = read_chunks([stream])
    assert [e.target for e in outcome.requests] == [b"/upload", b"/next"]


# ---------------------------------------------------------------- Transfer-Encoding


@pytest.mark.parametrize("value", [b"chunked", b"Chunked", b"CHUNKED", b" chunked\t"])
def test_chunked_coding_name_is_case_insensitive(value: bytes) -> None:
    stream = post([b"Host: a", b"Transfer-Encoding:" + value], b"3\r\nabc\r\n0\r\n\r\n")
    _, body, _ = parse_one(stream)
    assert body == b"abc"


@pytest.mark.parametrize(
    "fields",
    [
        [b"Transfer-Encoding: chunked, gzip"],
        [b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip"],
        [b"Transfer-Encoding: gzip"],
        [b"Transfer-Encoding: identity"],
        [b"Transfer-Encoding: chunkedchunked"],
        [b"Transfer-Encoding: xchunked"],
    ],
)
def test_transfer_encoding_must_end_with_chunked(fields: list[bytes]) -> None:
    # RFC 9112 §6.3 item 4: chunked not final in a request -> 400.
    assert rejects(post([b"Host: a", *fields], b"0\r\n\r\n")) == 400


@pytest.mark.parametrize(
    "fields",
    [
        [b"Transfer-Encoding: chunked, chunked"],
        [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
        [b"Transfer-Encoding: chunked, gzip, chunked"],
    ],
)
def test_chunked_applied_twice_is_rejected(fields: list[bytes]) -> None:
    # RFC 9112 §7: "A sender MUST NOT apply the chunked transfer coding more than once".
    assert rejects(post([b"Host: a", *fields], b"0\r\n\r\n")) == 400


@pytest.mark.parametrize(
    "fields",
    [
        [b"Transfer-Encoding: gzip, chunked"],
        [b"Transfer-Encoding: deflate,chunked"],
        [b"Transfer-Encoding: x-custom", b"Transfer-Encoding: chunked"],
    ],
)
def test_unknown_coding_before_chunked_is_501(fields: list[bytes]) -> None:
    # RFC 9112 §6.1: a server SHOULD answer 501 to a transfer coding it does not understand.
    assert rejects(post([b"Host: a", *fields], b"0\r\n\r\n")) == 501


@pytest.mark.parametrize(
    "fields",
    [
        [b"Transfer-Encoding: chunked", b"Content-Length: 5"],
        [b"Content-Length: 5", b"Transfer-Encoding: chunked"],
        [b"Content-Length: 0", b"Transfer-Encoding: chunked"],
        [b"Transfer-Encoding: identity", b"Content-Length: 5"],
    ],
)
def test_transfer_encoding_with_content_length_is_rejected(fields: list[bytes]) -> None:
    # RFC 9112 §6.3 item 3: such a message "ought to be handled as an error" (smuggling).
    assert rejects(post([b"Host: a", *fields], b"5\r\nhello\r\n0\r\n\r\n")) == 400


def test_transfer_encoding_on_http10_is_rejected() -> None:
    # RFC 9112 §6.1: TE in an HTTP/1.0 request means the framing is faulty.
    stream = post([b"Transfer-Encoding: chunked"], b"0\r\n\r\n", version=b"HTTP/1.0")
    assert rejects(stream) == 400


@pytest.mark.parametrize("value", [b"", b" ", b","])
def test_empty_transfer_encoding_is_rejected(value: bytes) -> None:
    assert rejects(post([b"Host: a", b"Transfer-Encoding:" + value])) == 400


@pytest.mark.parametrize("value", [b"chunked,", b", chunked", b"gzip,,chunked"])
def test_transfer_encoding_with_empty_list_member_is_rejected(value: bytes) -> None:
    # Stricter than RFC 9110 §5.6.1 (recipients ignore empty list elements): a framing field that
    # other parsers may read differently is refused rather than guessed at.
    assert rejects(post([b"Host: a", b"Transfer-Encoding: " + value], b"0\r\n\r\n")) == 400


@pytest.mark.parametrize("value", [b"chun ked", b"chunked@", b'"chunked"'])
def test_transfer_coding_must_be_a_token(value: bytes) -> None:
    assert rejects(post([b"Host: a", b"Transfer-Encoding: " + value], b"0\r\n\r\n")) == 400


def test_chunked_request_gives_request_data_end_of_message() -> None:
    stream = post([b"Host: a", b"Transfer-Encoding: chunked"], b"3\r\nabc\r\n0\r\n\r\n")
    outcome = read_chunks([stream])
    assert outcome.events == [
        Request(
            method=b"POST",
            target=b"/upload",
            headers=[(b"Host", b"a"), (b"Transfer-Encoding", b"chunked")],
        ),
        Data(b"abc"),
        EndOfMessage(),
        ConnectionClosed(),
    ]
