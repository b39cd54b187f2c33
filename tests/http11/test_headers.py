"""Header fields: syntax of field lines (RFC 9112 §5, RFC 9110 §5.5), Host (RFC 9112 §3.2), head
limits, and the helpers of `ketch.http11.headers`."""

from __future__ import annotations

from typing import Any

import pytest

from ketch.http11 import Limits, LocalProtocolError, RemoteProtocolError, heads, lowercase_names
from ketch.http11 import headers as headers_module
from ketch.http11.headers import (
    comma_tokens,
    get_values,
    parse_field_line,
    parse_field_lines,
    prepare_outgoing,
    validate_outgoing,
)

from .helpers import parse_one, rejects, request

# ---------------------------------------------------------------- field lines on the wire


def test_header_names_keep_their_case_and_order() -> None:
    req, _, _ = parse_one(request(headers=[b"Host: a", b"X-One: 1", b"x-two: 2", b"X-ONE: 3"]))
    assert req.headers == [(b"Host", b"a"), (b"X-One", b"1"), (b"x-two", b"2"), (b"X-ONE", b"3")]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"X: v", b"v"),
        (b"X:v", b"v"),
        (b"X:   v   ", b"v"),
        (b"X:\tv\t", b"v"),
        (b"X: \t v \t ", b"v"),
        (b"X: a  b\tc", b"a  b\tc"),
    ],
)
def test_optional_whitespace_around_value_is_stripped(line: bytes, value: bytes) -> None:
    req, _, _ = parse_one(request(headers=[b"Host: a", line]))
    assert req.headers[1] == (b"X", value)


@pytest.mark.parametrize("line", [b"X:", b"X: ", b"X:\t \t"])
def test_empty_value_is_allowed(line: bytes) -> None:
    req, _, _ = parse_one(request(headers=[b"Host: a", line]))
    assert req.headers[1] == (b"X", b"")


def test_obs_text_is_allowed_in_values() -> None:
    value = bytes(range(0x80, 0x100))
    req, _, _ = parse_one(request(headers=[b"Host: a", b"X: <" + value + b">"]))
    assert req.headers[1] == (b"X", b"<" + value + b">")


def test_every_vchar_is_allowed_in_values() -> None:
    value = bytes(range(0x21, 0x7F))
    req, _, _ = parse_one(request(headers=[b"Host: a", b"X: " + value]))
    assert req.headers[1] == (b"X", value)


def test_colon_inside_value_is_kept() -> None:
    req, _, _ = parse_one(request(headers=[b"Host: a", b"X: a:b: c"]))
    assert req.headers[1] == (b"X", b"a:b: c")


@pytest.mark.parametrize("line", [b"X : v", b"X\t: v", b"Host : a"])
def test_whitespace_before_colon_is_rejected(line: bytes) -> None:
    # RFC 9112 §5.1: "a server MUST reject, with a response status code of 400 (Bad Request), any
    # received request message that contains whitespace between a header field name and colon".
    assert rejects(request(headers=[b"Host: a", line])) == 400


@pytest.mark.parametrize("fold", [b" folded", b"\tfolded", b" X: y"])
def test_obs_fold_is_rejected(fold: bytes) -> None:
    # RFC 9112 §5.2: a server MUST either reject obs-fold with 400 or replace it; ketch rejects.
    assert rejects(request(headers=[b"Host: a", b"X: v", fold])) == 400


def test_obs_fold_right_after_request_line_is_rejected() -> None:
    assert rejects(request(headers=[b" Host: a"])) == 400


@pytest.mark.parametrize("line", [b"X: a\rb", b"X: a\r", b"X\r: a", b"X: \rb"])
def test_bare_cr_is_rejected(line: bytes) -> None:
    assert rejects(request(headers=[b"Host: a", line])) == 400


@pytest.mark.parametrize("line", [b"X: a\nb", b"X: a\nY: b", b"X\n: a", b"X: a\n"])
def test_bare_lf_is_rejected(line: bytes) -> None:
    assert rejects(request(headers=[b"Host: a", line])) == 400


def test_head_terminated_by_bare_lfs_never_completes() -> None:
    assert rejects(b"GET / HTTP/1.1\nHost: a\n\n") == 400


@pytest.mark.parametrize("byte", [*(bytes([b]) for b in range(0x20) if b != 0x09), b"\x7f"])
def test_ctl_in_value_is_rejected(byte: bytes) -> None:
    assert rejects(request(headers=[b"Host: a", b"X: a" + byte + b"b"])) == 400


def test_nul_in_value_is_rejected() -> None:
    assert rejects(request(headers=[b"Host: a", b"X: \x00"])) == 400


@pytest.mark.parametrize(
    "line", [b"X", b"no colon here", b": v", b"X@: v", b"X(y): v", b"\xe9: v", b"X/Y: v", b'"X": v']
)
def test_invalid_field_line_is_rejected(line: bytes) -> None:
    assert rejects(request(headers=[b"Host: a", line])) == 400


def test_every_tchar_is_allowed_in_names() -> None:
    name = b"!#$%&'*+-.^_`|~09AZaz"
    req, _, _ = parse_one(request(headers=[b"Host: a", name + b": v"]))
    assert req.headers[1] == (name, b"v")


# ---------------------------------------------------------------- Host (RFC 9112 §3.2)


def test_http11_request_without_any_header_is_rejected_for_missing_host() -> None:
    assert rejects(request(headers=[])) == 400


def test_http11_request_without_host_but_other_fields_is_rejected() -> None:
    assert rejects(request(headers=[b"Accept: */*"])) == 400


def test_http11_request_without_host_but_framing_fields_is_rejected() -> None:
    assert rejects(request(headers=[b"Content-Length: 0", b"Connection: close"])) == 400


@pytest.mark.parametrize("second", [b"Host: a", b"Host: b", b"host: a", b"HOST:"])
def test_duplicate_host_is_rejected(second: bytes) -> None:
    assert rejects(request(headers=[b"Host: a", second])) == 400


def test_duplicate_host_is_rejected_on_http10_too() -> None:
    assert rejects(request(version=b"HTTP/1.0", headers=[b"Host: a", b"Host: a"])) == 400


@pytest.mark.parametrize(
    "value",
    [
        b"example.com",
        b"example.com:8080",
        b"example.com:",  # RFC 3986 allows an empty port
        b"127.0.0.1",
        b"[::1]",
        b"[::1]:443",
        b"[fe80::1%25eth0]:80",
        b"a%20b",
        b"sub_domain.example",
        b"",  # RFC 9110 §7.2: empty when the target URI has no authority
    ],
)
def test_valid_host_is_accepted(value: bytes) -> None:
    req, _, _ = parse_one(request(headers=[b"Host: " + value]))
    assert req.headers == [(b"Host", value)]


@pytest.mark.parametrize(
    "value",
    [
        b"a b",
        b"a/b",
        b"a@b",
        b"user@example.com",
        b"a:b:c",
        b"example.com:http",
        b"[::1",
        b"::1",
        b"a%2",
        b"a%zz",
        b"exa\x80mple",
        b"a?b",
        b"a#b",
    ],
)
def test_invalid_host_is_rejected(value: bytes) -> None:
    assert rejects(request(headers=[b"Host: " + value])) == 400


def test_invalid_host_is_rejected_on_http10_too() -> None:
    assert rejects(request(version=b"HTTP/1.0", headers=[b"Host: a b"])) == 400


def test_host_is_optional_on_http10() -> None:
    req, _, _ = parse_one(request(version=b"HTTP/1.0", headers=[]))
    assert req.headers == []


def test_host_is_optional_on_http10_with_other_fields() -> None:
    req, _, _ = parse_one(request(version=b"HTTP/1.0", headers=[b"Connection: keep-alive"]))
    assert req.headers == [(b"Connection", b"keep-alive")]


def test_host_is_required_with_absolute_form_target() -> None:
    assert rejects(request(b"http://example.com/", headers=[])) == 400


# ---------------------------------------------------------------- head limits


def test_head_exactly_at_the_byte_limit_is_accepted() -> None:
    stream = request(headers=[b"Host: a", b"X: " + b"v" * 20])
    req, _, _ = parse_one(stream, limits=Limits(max_header_bytes=len(stream)))
    assert req.headers[1] == (b"X", b"v" * 20)


def test_head_one_byte_over_the_limit_is_431() -> None:
    stream = request(headers=[b"Host: a", b"X: " + b"v" * 20])
    assert rejects(stream, limits=Limits(max_header_bytes=len(stream) - 1)) == 431


def test_head_over_the_limit_is_431_before_it_ends() -> None:
    limits = Limits(max_header_bytes=100)
    assert rejects(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 200, limits=limits) == 431


def test_default_head_limit_is_32_kib() -> None:
    head = request(headers=[b"Host: a", b"X: "])
    filler = b"v" * (32 * 1024 - len(head))
    req, _, _ = parse_one(request(headers=[b"Host: a", b"X: " + filler]))
    assert len(req.headers[1][1]) == len(filler)
    assert rejects(request(headers=[b"Host: a", b"X: " + filler + b"v"])) == 431


def test_header_count_at_the_limit_is_accepted() -> None:
    lines = [b"Host: a", *(b"X-%d: v" % i for i in range(4))]
    req, _, _ = parse_one(request(headers=lines), limits=Limits(max_header_count=5))
    assert len(req.headers) == 5


def test_header_count_over_the_limit_is_431() -> None:
    lines = [b"Host: a", *(b"X-%d: v" % i for i in range(5))]
    assert rejects(request(headers=lines), limits=Limits(max_header_count=5)) == 431


def test_default_header_count_limit_is_100() -> None:
    lines = [b"Host: a", *(b"X-%d: v" % i for i in range(99))]
    req, _, _ = parse_one(request(headers=lines))
    assert len(req.headers) == 100
    assert rejects(request(headers=[*lines, b"X-Last: v"])) == 431


def test_limits_default_values() -> None:
    assert Limits() == Limits(
        max_request_line=8190,
        max_header_bytes=32768,
        max_header_count=100,
        max_body_size=None,
        max_chunk_line=4096,
    )


# ---------------------------------------------------------------- parse_field_line(s)


def test_parse_field_line_splits_at_the_first_colon() -> None:
    assert parse_field_line(b"Name:  a: b ") == (b"Name", b"a: b")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"Name", "without a colon"),
        (b": v", "invalid header name"),
        (b"Na me: v", "invalid header name"),
        (b"Name: \x01", "invalid character"),
    ],
)
def test_parse_field_line_rejects(line: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message) as info:
        parse_field_line(line)
    assert info.value.status_hint == 400


def test_parse_field_lines_returns_special_fields_lowercased() -> None:
    lines = [
        b"Host: a",
        b"Accept: */*",
        b"Content-Length: 3",
        b"TRANSFER-ENCODING: chunked",
        b"Connection: close",
        b"Upgrade: ws",
        b"Expect: 100-continue",
    ]
    headers, special = parse_field_lines(lines)
    assert headers == [parse_field_line(line) for line in lines]
    assert special == [
        (b"host", b"a"),
        (b"content-length", b"3"),
        (b"transfer-encoding", b"chunked"),
        (b"connection", b"close"),
        (b"upgrade", b"ws"),
        (b"expect", b"100-continue"),
    ]


def test_parse_field_lines_gives_the_same_result_from_its_cache() -> None:
    lines = [b"Host: cached", b"User-Agent: cached/1.0", b"Accept: text/html"]
    first = parse_field_lines(lines)
    second = parse_field_lines(lines)
    assert first == second
    assert first == (
        [(b"Host", b"cached"), (b"User-Agent", b"cached/1.0"), (b"Accept", b"text/html")],
        [(b"host", b"cached")],
    )


def test_parse_field_lines_never_caches_a_rejected_line() -> None:
    for _ in range(2):
        with pytest.raises(RemoteProtocolError):
            parse_field_lines([b"X-Never-Cached: \x00"])


@pytest.mark.parametrize("name", [b"X-Long", b"Host"])
def test_parse_field_lines_handles_lines_too_long_to_cache(name: bytes) -> None:
    line = name + b": " + b"a" * 2000
    for _ in range(2):
        headers, _ = parse_field_lines([line])
        assert headers == [(name, b"a" * 2000)]


@pytest.mark.parametrize(
    ("name", "cache"), [(b"X-Fill", "_plain_cache"), (b"Connection", "_special_cache")]
)
def test_parse_field_lines_stays_correct_when_its_cache_fills(
    monkeypatch: pytest.MonkeyPatch, name: bytes, cache: str
) -> None:
    monkeypatch.setattr(headers_module, "_CACHE_MAX", 3)
    lines = [name + b": v%d" % i for i in range(10)]
    for _ in range(2):
        headers, _ = parse_field_lines(lines)
        assert headers == [(name, b"v%d" % i) for i in range(10)]
    assert len(getattr(headers_module, cache)) <= 3


# ---------------------------------------------------------------- helpers


def test_lowercase_names_lowers_names_and_keeps_values() -> None:
    fields = [(b"Content-Type", b"Text/HTML"), (b"X-A", b"B"), (b"x-a", b"c")]
    for _ in range(2):  # the second time from the cache
        assert lowercase_names(fields) == [
            (b"content-type", b"Text/HTML"),
            (b"x-a", b"B"),
            (b"x-a", b"c"),
        ]


def test_lowercase_names_stays_correct_when_its_cache_fills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(headers_module, "_CACHE_MAX", 2)
    fields = [(b"N-%d" % i, b"v") for i in range(7)]
    for _ in range(2):
        assert lowercase_names(fields) == [(b"n-%d" % i, b"v") for i in range(7)]
    assert len(headers_module._lower_cache) <= 2


def test_get_values_matches_names_case_insensitively_in_order() -> None:
    fields = [(b"Accept", b"a"), (b"X", b"y"), (b"ACCEPT", b"b")]
    assert get_values(fields, b"accept") == [b"a", b"b"]
    assert get_values(fields, b"missing") == []


@pytest.mark.parametrize(
    ("values", "tokens"),
    [
        ([b"close"], [b"close"]),
        ([b"Keep-Alive, Upgrade"], [b"keep-alive", b"upgrade"]),
        ([b" a ,, b ,", b"C"], [b"a", b"b", b"c"]),
        ([b"", b" , "], []),
        ([b"a\t,\tb"], [b"a", b"b"]),
    ],
)
def test_comma_tokens_lowercases_and_drops_empty_members(
    values: list[bytes], tokens: list[bytes]
) -> None:
    assert comma_tokens(values) == tokens


def test_validate_outgoing_accepts_valid_fields() -> None:
    validate_outgoing([(b"X", b""), (b"Content-Type", b"text/plain; a=\t\xe9"), (b"!#$", b"v")])


@pytest.mark.parametrize("name", [b"", b"X Y", b"X:", b"X\r\nY", b"\xe9"])
def test_validate_outgoing_rejects_invalid_names(name: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="invalid header name"):
        validate_outgoing([(b"Ok", b"v"), (name, b"v")])


@pytest.mark.parametrize("value", [b"a\rb", b"a\nb", b"a\x00b", b"\r\nSet-Cookie: x", b"\x7f"])
def test_validate_outgoing_rejects_ctl_in_values(value: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="invalid character in header value"):
        validate_outgoing([(b"Ok", b"v"), (b"X", value)])


def test_host_cache_stays_correct_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heads, "_LINE_CACHE_MAX", 2)
    monkeypatch.setattr(heads, "_valid_hosts", set())
    monkeypatch.setattr(heads, "_head_cache", {})
    hosts = [b"h%d.example" % i for i in range(5)]
    for _ in range(2):
        for host in hosts:
            req, _, _ = parse_one(request(headers=[b"Host: " + host]))
            assert req.headers == [(b"Host", host)]
        assert rejects(request(headers=[b"Host: bad host"])) == 400
    assert len(heads._valid_hosts) <= 2


def test_http11_request_with_only_content_length_is_rejected_for_missing_host() -> None:
    assert rejects(request(headers=[b"Content-Length: 0"])) == 400


def test_http11_request_with_only_keep_alive_is_rejected_for_missing_host() -> None:
    assert rejects(request(headers=[b"Connection: keep-alive"])) == 400


@pytest.mark.parametrize(
    "fields",
    [
        [b"Host: a", b"Connection: keep-alive"],
        [b"Connection: Keep-Alive", b"Host: a"],
        [b"Host: a", b"Connection: close"],
        [b"Host: a", b"Content-Length: 0"],
    ],
)
def test_host_with_one_other_framing_field_is_accepted(fields: list[bytes]) -> None:
    req, _, _ = parse_one(request(headers=fields))
    assert len(req.headers) == 2


def test_two_hosts_are_rejected_even_with_nothing_else() -> None:
    assert rejects(request(headers=[b"Host: a", b"Host: a"])) == 400


class TestPrepareOutgoing:
    """Response fields: serialized, classified and checked, through a cache of known lines."""

    def test_block_and_classification(self) -> None:
        fields = [
            (b"Content-Type", b"text/plain"),
            (b"Content-Length", b"2"),
            (b"Connection", b"keep-alive, close"),
            (b"Date", b"x"),
            (b"Server", b"y"),
        ]
        for _ in range(2):  # learned, then from the cache
            block, length, coding, close, has_date, has_server = prepare_outgoing(fields)
            assert block == b"".join(b"%s: %s\r\n" % pair for pair in fields)
            assert (length, coding, close, has_date, has_server) == (b"2", None, True, True, True)
        assert prepare_outgoing([(b"Transfer-Encoding", b"chunked")])[2] == b"chunked"
        assert prepare_outgoing([])[0] == b""

    def test_pairs_that_are_not_tuples_are_checked_every_time(self) -> None:
        fields: Any = [[b"a", b"b"], (b"c", memoryview(b"d"))]
        assert prepare_outgoing(fields)[0] == b"a: b\r\nc: d\r\n"
        assert prepare_outgoing(fields)[0] == b"a: b\r\nc: d\r\n"

    @pytest.mark.parametrize(
        "pair",
        [
            (b"a", b"b\r\nc: d"),
            (b"a", b"b\x00"),
            (b"a", b"b\n"),
            (b"a b", b"c"),
            (b"", b"c"),
            ("a", b"c"),
            (b"a", "c"),
            (b"a", b"b", b"c"),
            (b"a",),
            [b"a", b"b\r"],
        ],
    )
    def test_invalid_fields_are_refused(self, pair: Any) -> None:
        with pytest.raises(LocalProtocolError):
            prepare_outgoing([(b"ok", b"1"), pair])

    def test_conflicting_content_lengths(self) -> None:
        with pytest.raises(LocalProtocolError, match="conflicting"):
            prepare_outgoing([(b"content-length", b"1"), (b"Content-Length", b"2")])
        assert prepare_outgoing([(b"content-length", b"1"), (b"Content-Length", b"1")])[1] == b"1"
