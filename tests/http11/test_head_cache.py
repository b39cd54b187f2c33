"""The cache of whole heads: a hit must be exactly as strict as a parse, per connection's limits."""

from __future__ import annotations

import pytest

from ketch.http11 import Connection, Limits, RemoteProtocolError, Request, heads

HEAD = b"POST /upload HTTP/1.1\r\nHost: example.com\r\nA: 1\r\nB: 2\r\nContent-Length: 10\r\n\r\n"


def first_event(data: bytes, limits: Limits | None = None) -> object:
    conn = Connection(limits)
    conn.receive_data(data)
    return conn.next_event()


def test_a_cached_head_gives_a_fresh_request_with_its_own_header_list() -> None:
    first = first_event(HEAD)
    second = first_event(HEAD)
    assert isinstance(first, Request)
    assert isinstance(second, Request)
    assert first == second
    assert first.headers is not second.headers
    first.headers.append((b"X", b"mutated"))
    third = first_event(HEAD)
    assert isinstance(third, Request)
    assert (b"X", b"mutated") not in third.headers


def test_a_cached_head_is_refused_by_a_connection_with_a_lower_header_count_limit() -> None:
    first_event(HEAD)  # cached under the default limits
    with pytest.raises(RemoteProtocolError) as info:
        first_event(HEAD, Limits(max_header_count=3))
    assert info.value.status_hint == 431


def test_a_cached_head_is_refused_by_a_connection_with_a_lower_body_limit() -> None:
    first_event(HEAD)
    with pytest.raises(RemoteProtocolError) as info:
        first_event(HEAD, Limits(max_body_size=9))
    assert info.value.status_hint == 413


def test_a_cached_head_is_refused_by_a_connection_with_a_shorter_request_line_limit() -> None:
    first_event(HEAD)
    with pytest.raises(RemoteProtocolError) as info:
        first_event(HEAD, Limits(max_request_line=20))
    assert info.value.status_hint == 414


def test_an_invalid_head_is_never_cached() -> None:
    bad = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
    for _ in range(2):
        with pytest.raises(RemoteProtocolError):
            first_event(bad)
    assert bad[:-4] not in heads._head_cache


def test_the_head_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heads, "_HEAD_CACHE_MAX", 3)
    for index in range(10):
        first_event(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % index)
        assert len(heads._head_cache) <= 3


def test_a_long_head_is_parsed_but_not_cached() -> None:
    long_head = b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"x" * 4000 + b"\r\n\r\n"
    assert isinstance(first_event(long_head), Request)
    assert long_head[:-4] not in heads._head_cache
