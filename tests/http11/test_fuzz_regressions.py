"""Cases found by differential fuzzing against llhttp and h11 (issue #7, fuzz/run.py).

Each test is one finding: the stream (shrunk by Hypothesis), what the other parser made of it, and
what ketch does now.  Every stream is also read by all three parsers (`differential`), which must
report no divergence.
"""

from __future__ import annotations

import pytest

from ..property.framing import differential
from .helpers import parse, read_all_ways, rejects

H = b"Host: 0\r\n"
CHUNKED_GET = b"GET / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "trailer",
    [
        # llhttp: "Content-Length can't be present with Transfer-Encoding"; h11: "bad
        # Content-Length" (for "+5") or "conflicting Content-Length headers".  Both apply framing
        # fields found in trailers; ketch used to pass them through as trailers.
        b"Content-Length: 0",
        b"Content-Length: +5",
        # llhttp: "Invalid `Transfer-Encoding` header value"; h11: "Only Transfer-Encoding:
        # chunked is supported".
        b"Transfer-Encoding: chunked",
        # llhttp closes the connection after a trailer "Connection: close" ("Data after
        # `Connection: close`" for the next request), where ketch read on: another message count.
        b"Connection: close",
    ],
)
def test_framing_field_in_trailers_is_rejected(trailer: bytes) -> None:
    stream = CHUNKED_GET + b"0\r\n" + trailer + b"\r\n\r\n" + b"GET / HTTP/1.1\r\n" + H + b"\r\n"
    assert rejects(stream) == 400
    assert differential(stream)[1] == []


@pytest.mark.parametrize("coding", [b"chunked;a=b", b"chunked ; a", b"Chunked;"])
def test_chunked_with_parameters_is_rejected(coding: bytes) -> None:
    # llhttp: "Request has invalid `Transfer-Encoding`"; ketch dropped the parameter.  RFC 9112
    # §7: "The chunked coding does not define any parameters.  Their presence SHOULD be treated as
    # an error."
    stream = CHUNKED_GET.replace(b"chunked", coding) + b"0\r\n\r\n" + b"GET / HTTP/1.1\r\n" + H
    assert rejects(stream + b"\r\n") == 400
    assert differential(stream + b"\r\n")[1] == []


@pytest.mark.parametrize(
    "framing",
    [b"Content-Length: 3\r\n\r\nabc", b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
)
def test_connect_with_content_is_rejected(framing: bytes) -> None:
    # llhttp starts the tunnel right after a CONNECT head (RFC 9110 §9.3.6: "A CONNECT request
    # message does not have content"), so "abc" was tunnel bytes to it and a body to ketch.
    stream = b"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n" + framing
    assert rejects(stream) == 400
    assert differential(stream)[1] == []


def test_connect_with_zero_content_length_is_accepted() -> None:
    stream = b"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nContent-Length: 0\r\n\r\n"
    ketch, divergences = differential(stream)
    assert (len(ketch.messages), ketch.stop, divergences) == (1, "switch", [])


@pytest.mark.parametrize(
    "target",
    [
        b"http:/0/0/",
        b"http:x",
        b"https://",
        b"http:///x",
        b"HTTP://@/x",
        b"http://:80/x",
        b'http://"0/',
        b"http://a%zz/",
        b"http://a@b@c/",
        b"http://a:b:c/",
    ],
)
def test_http_uri_without_a_valid_host_is_rejected(target: bytes) -> None:
    # Found as "GET http:/0/0/" (llhttp: "Unexpected char in url schema") and 'GET http://"0/'
    # (llhttp: "Unexpected char in url server").  RFC 9110 §4.2.1: an http URI is "http://"
    # authority ..., and one with an empty host MUST be rejected; a host is RFC 3986's.
    stream = b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert rejects(stream) == 400
    assert differential(stream)[1] == []


def test_absolute_form_with_userinfo_and_port_is_accepted() -> None:
    stream = b"GET http://u@a:80/x HTTP/1.1\r\nHost: a\r\n\r\n"
    assert parse(stream)[0] is not None
    assert differential(stream)[1] == []


def test_http10_upgrade_proposal_ends_the_connection() -> None:
    # RFC 9110 §7.8: the Upgrade of an HTTP/1.0 request is ignored, but llhttp switches on it, so
    # ketch read the next keep-alive request where llhttp saw the new protocol's bytes.
    stream = (
        b"GET / HTTP/1.0\r\nConnection: upgrade, keep-alive\r\nUpgrade: websocket\r\n\r\n"
        b"GET /next HTTP/1.0\r\n\r\n"
    )
    outcome = read_all_ways(stream)
    assert outcome.error is None
    assert [r.target for r in outcome.requests] == [b"/"]
    assert outcome.end == "paused"
    assert differential(stream)[1] == []


@pytest.mark.parametrize(
    "stream",
    [
        # llhttp: "Request has invalid `Transfer-Encoding`": it strips SP but not HTAB around
        # the value (RFC 9112 §5: OWS is SP or HTAB).  Excluded in framing.EXCLUSIONS.
        CHUNKED_GET.replace(b"chunked", b"chunked\t") + b"0\r\n\r\n",
        # llhttp: "Unexpected char in url schema": digits in a scheme are valid (RFC 3986 §3.1),
        # and so is a URI without an authority, outside http(s).
        b"GET http0://0/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        b"GET urn:x-ketch:test HTTP/1.1\r\nHost: a\r\n\r\n",
        # llhttp: "Duplicate Content-Length"; identical values may be folded (RFC 9110 §8.6).
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        # h11: "no request line received": empty lines before a request (RFC 9112 §2.2).
        b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
        # h11 closes after an HTTP/1.0 keep-alive request (RFC 9112 §9.3 keeps it open).
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        # h11: "illegal chunk header": more than 20 hex digits (RFC 9112 §7.1: 1*HEXDIG).
        CHUNKED_GET + b"0" * 21 + b"1\r\na\r\n0\r\n\r\n",
    ],
)
def test_documented_differences_are_accepted_and_excluded(stream: bytes) -> None:
    parse(stream)
    assert differential(stream)[1] == []


def test_upgrade_request_content_difference_is_excluded() -> None:
    # httptools reported the body of an Upgrade request as empty: its on_headers_complete tells
    # llhttp to skip the body of an upgrade.  llhttp itself reads the content before switching
    # (its test "Upgrade POST request", in the conformance corpus), as ketch does.
    stream = b"POST / HTTP/1.1\r\n" + H + b"Connection: upgrade\r\nUpgrade: h2c\r\n"
    stream += b"Content-Length: 3\r\n\r\nabc"
    ketch, divergences = differential(stream)
    assert (ketch.messages[0].body, ketch.stop, divergences) == (b"abc", "switch", [])
