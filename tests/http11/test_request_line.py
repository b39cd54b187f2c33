"""The request line: method, request-target forms and HTTP-version (RFC 9112 §3)."""

from __future__ import annotations

import pytest

from ketch.http11 import Limits, heads

from .helpers import parse_one, read_chunks, rejects, request

# ---------------------------------------------------------------- request-target forms (§3.2)


@pytest.mark.parametrize("target", [b"/", b"/a/b?c=d&e", b"/%7Euser/x.html", b"//double", b"/?"])
def test_origin_form_target_is_kept_as_sent(target: bytes) -> None:
    req, _, _ = parse_one(request(target))
    assert req.target == target


@pytest.mark.parametrize(
    "target",
    [b"http://example.com/", b"https://example.com:8443/a?b", b"urn:x-ketch:test", b"h+t.t-p://x/"],
)
def test_absolute_form_target_is_accepted(target: bytes) -> None:
    req, _, _ = parse_one(request(target))
    assert req.target == target


@pytest.mark.parametrize("target", [b"example.com/a", b"?q=1", b"1http://x/", b"-x:y", b":/x"])
def test_target_neither_origin_nor_absolute_form_is_rejected(target: bytes) -> None:
    assert rejects(request(target)) == 400


@pytest.mark.parametrize(
    "target", [b"example.com:443", b"127.0.0.1:8080", b"[::1]:443", b"xn--bcher-kva.example:1"]
)
def test_connect_accepts_authority_form(target: bytes) -> None:
    stream = request(target, method=b"CONNECT", headers=[b"Host: " + target])
    req, _, _ = parse_one(stream, status=405)  # a 2xx would switch to a tunnel
    assert (req.method, req.target) == (b"CONNECT", target)


@pytest.mark.parametrize(
    "target",
    [
        b"example.com",  # no port
        b"example.com:",  # empty port
        b":443",  # no host
        b"example.com:https",  # port not digits
        b"exa%zz.com:443",  # bad percent-encoding
        b"user@example.com:443",  # userinfo is not part of authority-form
        b"http://example.com:443",
    ],
)
def test_connect_rejects_target_not_in_authority_form(target: bytes) -> None:
    assert rejects(request(target, method=b"CONNECT")) == 400


def test_connect_rejects_origin_form() -> None:
    assert rejects(request(b"/", method=b"CONNECT")) == 400


@pytest.mark.parametrize("method", [b"GET", b"POST", b"HEAD"])
def test_authority_form_is_for_connect_only(method: bytes) -> None:
    # "example.com:443" would be an absolute-URI with scheme "example.com"; a bare port is not.
    assert rejects(request(b"127.0.0.1:443", method=method)) == 400


def test_asterisk_form_is_accepted_for_options() -> None:
    req, _, _ = parse_one(request(b"*", method=b"OPTIONS"))
    assert (req.method, req.target) == (b"OPTIONS", b"*")


@pytest.mark.parametrize("method", [b"GET", b"M-SEARCH", b"PRI", b"options"])
def test_asterisk_form_is_rejected_for_other_methods(method: bytes) -> None:
    assert rejects(request(b"*", method=method)) == 400


def test_asterisk_followed_by_more_is_not_asterisk_form() -> None:
    assert rejects(request(b"*/x", method=b"OPTIONS")) == 400


# ---------------------------------------------------------------- target characters


@pytest.mark.parametrize("byte", [b"\x80", b"\xc3\xa9", b"\xff"])
def test_target_rejects_obs_text(byte: bytes) -> None:
    assert rejects(request(b"/caf" + byte)) == 400


@pytest.mark.parametrize("byte", [b"\x00", b"\x01", b"\t", b"\x1f", b"\x7f", b"\r", b"\n"])
def test_target_rejects_control_characters(byte: bytes) -> None:
    assert rejects(request(b"/a" + byte + b"b")) == 400


def test_target_with_space_splits_the_request_line_and_is_rejected() -> None:
    assert rejects(request(b"/a b")) == 400


@pytest.mark.parametrize("target", [b'/"q"', b"/a|b", b"/a{b}", b"/a#frag", b"/a^b"])
def test_target_allows_vchars_rfc3986_excludes_but_clients_send(target: bytes) -> None:
    req, _, _ = parse_one(request(target))
    assert req.target == target


# ---------------------------------------------------------------- methods


@pytest.mark.parametrize(
    "method",
    [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"TRACE", b"MKCOL", b"M-SEARCH"],
)
def test_method_token_is_accepted(method: bytes) -> None:
    req, _, _ = parse_one(request(method=method))
    assert req.method == method


def test_method_is_case_sensitive_and_kept_as_sent() -> None:
    req, _, _ = parse_one(request(method=b"get"))
    assert req.method == b"get"


def test_method_of_every_tchar_is_accepted() -> None:
    method = b"!#$%&'*+-.^_`|~09AZaz"
    req, _, _ = parse_one(request(method=method))
    assert req.method == method


@pytest.mark.parametrize("method", [b"GE(T", b"G\x00T", b"G\x80T", b"GET:", b"G/T", b'"GET"'])
def test_method_rejects_non_token_characters(method: bytes) -> None:
    assert rejects(request(method=method)) == 400


def test_empty_method_is_rejected() -> None:
    assert rejects(b" / HTTP/1.1\r\nHost: a\r\n\r\n") == 400


# ---------------------------------------------------------------- request-line shape


@pytest.mark.parametrize(
    "line",
    [
        b"GET  / HTTP/1.1",  # two spaces
        b"GET / HTTP/1.1 ",  # trailing space
        b" GET / HTTP/1.1",  # leading space
        b"GET\t/\tHTTP/1.1",  # HTAB is not SP here
        b"GET /",  # HTTP/0.9 simple request
        b"GET / HTTP/1.1 extra",
        b"GET /  HTTP/1.1",
    ],
)
def test_malformed_request_line_is_rejected(line: bytes) -> None:
    assert rejects(line + b"\r\nHost: a\r\n\r\n") == 400


def test_request_line_at_the_limit_is_accepted() -> None:
    limits = Limits(max_request_line=40)
    target = b"/" + b"a" * (40 - len(b"GET / HTTP/1.1"))
    req, _, _ = parse_one(request(target), limits=limits)
    assert len(b"GET %s HTTP/1.1" % req.target) == 40


def test_request_line_over_the_limit_is_414() -> None:
    limits = Limits(max_request_line=40)
    target = b"/" + b"a" * (41 - len(b"GET / HTTP/1.1"))
    assert rejects(request(target), limits=limits) == 414


def test_request_line_over_the_limit_is_414_before_its_end_arrives() -> None:
    limits = Limits(max_request_line=40)
    assert rejects(b"GET /" + b"a" * 100, limits=limits) == 414


@pytest.mark.parametrize("tail", [b"a", b"\r"])
def test_request_line_is_414_as_soon_as_its_crlf_cannot_fit(tail: bytes) -> None:
    # 42 bytes without a CRLF: the line is at least 41 bytes long, over the limit of 40.
    limits = Limits(max_request_line=40)
    stream = b"GET /" + b"a" * 36 + tail
    assert len(stream) == 42
    assert rejects(stream, limits=limits) == 414


def test_request_line_that_may_still_fit_waits_for_more() -> None:
    limits = Limits(max_request_line=40)
    outcome = read_chunks([b"GET /" + b"a" * 35 + b"\r"], limits=limits, eof=False)
    assert (outcome.end, outcome.error) == ("need_data", None)


def test_long_request_line_in_an_oversized_head_is_414_not_431() -> None:
    limits = Limits(max_request_line=40, max_header_bytes=60)
    assert rejects(request(b"/" + b"a" * 80), limits=limits) == 414


def test_default_request_line_limit_is_8190() -> None:
    fits = request(b"/" + b"a" * (8190 - len(b"GET / HTTP/1.1")))
    req, _, _ = parse_one(fits)
    assert len(req.target) == 8190 - len(b"GET  HTTP/1.1")
    assert rejects(request(b"/" + b"a" * (8191 - len(b"GET / HTTP/1.1")))) == 414


# ---------------------------------------------------------------- HTTP-version (§2.3)


def test_http_11_is_reported_as_1_1() -> None:
    req, _, _ = parse_one(request())
    assert req.http_version == b"1.1"


def test_http_10_is_reported_as_1_0() -> None:
    req, _, _ = parse_one(request(version=b"HTTP/1.0", headers=[]))
    assert req.http_version == b"1.0"


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/3.0", b"HTTP/0.9"])
def test_well_formed_unsupported_version_is_505(version: bytes) -> None:
    assert rejects(request(version=version)) == 505


def test_higher_minor_version_is_505_too() -> None:
    # RFC 9110 §2.5 says a recipient SHOULD process HTTP/1.2 as HTTP/1.1; ketch refuses versions
    # that do not exist rather than guess.  This pins the choice down.
    assert rejects(request(version=b"HTTP/1.2")) == 505


@pytest.mark.parametrize(
    "version",
    [
        b"RTSP/1.0",
        b"ICE/1.0",
        b"http/1.1",
        b"HTTP/1",
        b"HTTP/1.1.1",
        b"HTTP/1.10",
        b"HTTP/10.1",
        b"HTTP/11",
        b"HTTP/a.b",
        b"HTTP 1",
    ],
)
def test_malformed_or_foreign_version_is_400(version: bytes) -> None:
    assert rejects(request(version=version)) == 400


def test_http2_preface_is_refused() -> None:
    assert rejects(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505


def test_request_line_cache_stays_correct_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heads, "_LINE_CACHE_MAX", 2)
    monkeypatch.setattr(heads, "_line_cache", {})
    monkeypatch.setattr(heads, "_head_cache", {})
    targets = [b"/%d" % i for i in range(5)]
    for _ in range(2):
        for target in targets:
            req, _, _ = parse_one(request(target))
            assert req.target == target
    assert len(heads._line_cache) <= 2


def test_long_request_lines_are_parsed_every_time() -> None:
    target = b"/" + b"a" * 600
    for _ in range(2):
        req, _, _ = parse_one(request(target))
        assert req.target == target
    assert b"GET %s HTTP/1.1" % target not in heads._line_cache
