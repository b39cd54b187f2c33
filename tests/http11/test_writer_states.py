"""The writing side's states and edges: persistence, misuse, the wire as h11 reads it,
`write_request`, and content the caller writes itself."""

from __future__ import annotations

import h11
import pytest

from ketch.http11 import (
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Headers,
    InformationalResponse,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    Response,
    State,
    write_request,
)
from ketch.http11 import headers as headers_module
from ketch.http11.writers import write_fields_except

from .helpers import GET, HEAD, ready, request

# ---------------------------------------------------------------- connection management


def test_app_connection_close_is_not_duplicated() -> None:
    conn = ready()
    out = conn.send_complete(Response(status_code=200, headers=[(b"Connection", b"Close")]))
    assert out == b"HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n"
    assert conn.our_state is State.MUST_CLOSE


def test_other_app_connection_options_keep_the_connection() -> None:
    conn = ready()
    conn.send_complete(Response(status_code=200, headers=[(b"Connection", b"x-other")]))
    assert conn.our_state is State.DONE


def test_response_to_a_client_that_asked_to_close_says_so() -> None:
    conn = ready(request(headers=[b"Host: a", b"Connection: close"]))
    out = conn.send_complete(Response(status_code=200))
    assert out == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def test_error_response_after_a_bad_head_says_connection_close() -> None:
    conn = Connection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    out = conn.send_complete(Response(status_code=info.value.status_hint), b"bad")
    assert out == b"HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad"
    assert (conn.our_state, conn.their_state) == (State.MUST_CLOSE, State.ERROR)


def test_error_response_after_a_bad_body_says_connection_close() -> None:
    conn = Connection()
    conn.receive_data(request(headers=[b"Host: a", b"Transfer-Encoding: chunked"]) + b"zz\r\n")
    assert isinstance(conn.next_event(), Request)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    out = conn.send_complete(Response(status_code=400))
    assert out == b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def test_response_without_a_request_closes_the_connection() -> None:
    # A 408 on an idle connection: there is no request, so no HEAD and no HTTP/1.0 to consider.
    conn = Connection()
    out = conn.send_complete(Response(status_code=408), b"timeout")
    assert out == (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 7\r\nconnection: close\r\n\r\ntimeout"
    )
    assert conn.our_state is State.MUST_CLOSE


def test_send_connection_closed_records_that_we_closed() -> None:
    conn = ready()
    assert conn.send(ConnectionClosed()) == b""
    assert conn.our_state is State.CLOSED


# ---------------------------------------------------------------- state errors


def test_data_before_response_raises() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError, match="cannot send Data"):
        conn.send(Data(b"x"))
    assert conn.our_state is State.ERROR


def test_end_of_message_before_response_raises() -> None:
    with pytest.raises(LocalProtocolError, match="cannot end a message"):
        ready().send(EndOfMessage())


def test_second_response_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=200))
    with pytest.raises(LocalProtocolError, match="cannot send Response"):
        conn.send(Response(status_code=200))


def test_data_after_end_of_message_raises() -> None:
    conn = ready()
    conn.send_complete(Response(status_code=200))
    with pytest.raises(LocalProtocolError, match="cannot send Data"):
        conn.send(Data(b"x"))


def test_server_cannot_send_a_request() -> None:
    with pytest.raises(LocalProtocolError, match="a server cannot send Request"):
        ready().send(Request(method=b"GET", target=b"/"))


def test_send_after_a_local_error_raises() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"x"))
    with pytest.raises(LocalProtocolError):
        conn.send_complete(Response(status_code=500))


def test_local_error_is_not_undone_by_the_next_request() -> None:
    conn = Connection()
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"x"))
    conn.receive_data(GET)
    assert isinstance(conn.next_event(), Request)
    assert conn.our_state is State.ERROR
    with pytest.raises(LocalProtocolError):
        conn.send(Response(status_code=200))


def test_response_after_we_closed_raises() -> None:
    conn = ready()
    conn.send(ConnectionClosed())
    with pytest.raises(LocalProtocolError):
        conn.send(Response(status_code=200))


# ---------------------------------------------------------------- the wire, read by h11


def h11_client_reads(stream: bytes, *events: Event, method: bytes = b"GET") -> list[object]:
    """Send our response to `stream` through h11's client and return what it parsed."""
    conn = ready(stream)
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("Host", "a")]))
    client.send(h11.EndOfMessage())
    client.receive_data(b"".join(conn.send(event) for event in events))
    if conn.our_state is State.MUST_CLOSE:
        client.receive_data(b"")
    parsed: list[object] = []
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            return parsed
        parsed.append(event)
        if isinstance(event, h11.EndOfMessage):
            return parsed


def test_h11_reads_our_chunked_response_with_trailers() -> None:
    events = h11_client_reads(
        GET,
        Response(status_code=201, headers=[(b"X-A", b"1")]),
        Data(b"hello "),
        Data(b"world"),
        EndOfMessage(headers=[(b"X-Trailer", b"t")]),
    )
    response, *data, end = events
    assert isinstance(response, h11.Response)
    assert response.status_code == 201
    assert (b"x-a", b"1") in list(response.headers)
    assert b"".join(bytes(d.data) for d in data if isinstance(d, h11.Data)) == b"hello world"
    assert isinstance(end, h11.EndOfMessage)
    assert list(end.headers) == [(b"x-trailer", b"t")]


def test_h11_reads_our_informational_and_content_length_response() -> None:
    events = h11_client_reads(
        GET,
        InformationalResponse(status_code=103, headers=[(b"Link", b"</a>")]),
        Response(status_code=200, headers=[(b"Content-Length", b"2")]),
        Data(b"ok"),
        EndOfMessage(),
    )
    assert isinstance(events[0], h11.InformationalResponse)
    assert events[0].status_code == 103
    assert isinstance(events[1], h11.Response)
    assert isinstance(events[2], h11.Data)
    assert bytes(events[2].data) == b"ok"
    assert isinstance(events[3], h11.EndOfMessage)


def test_h11_reads_our_head_response_without_a_body() -> None:
    events = h11_client_reads(
        HEAD,
        Response(status_code=200, headers=[(b"Content-Length", b"5")]),
        Data(b"hello"),
        EndOfMessage(),
        method=b"HEAD",
    )
    assert [type(e) for e in events] == [h11.Response, h11.EndOfMessage]


# ---------------------------------------------------------------- write_request and helpers


def test_write_request_serializes_a_request() -> None:
    event = Request(
        method=b"POST", target=b"/x?y", headers=[(b"Host", b"a"), (b"Content-Length", b"0")]
    )
    assert write_request(event) == b"POST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"


def test_write_request_http10() -> None:
    event = Request(method=b"GET", target=b"/", http_version=b"1.0")
    assert write_request(event) == b"GET / HTTP/1.0\r\n\r\n"


@pytest.mark.parametrize(
    ("method", "target", "version", "message"),
    [
        (b"", b"/", b"1.1", "invalid method"),
        (b"GE T", b"/", b"1.1", "invalid method"),
        (b"GET", b"", b"1.1", "invalid request target"),
        (b"GET", b"/a b", b"1.1", "invalid request target"),
        (b"GET", b"/\r\nX: y", b"1.1", "invalid request target"),
        (b"GET", b"/", b"1.1\r\nX: y", "invalid HTTP version"),
        (b"GET", b"/", b"2.0", "invalid HTTP version"),
    ],
)
def test_write_request_rejects_invalid_parts(
    method: bytes, target: bytes, version: bytes, message: str
) -> None:
    event = Request(method=method, target=target, http_version=version)
    with pytest.raises(LocalProtocolError, match=message):
        write_request(event)


def test_write_request_rejects_invalid_headers() -> None:
    with pytest.raises(LocalProtocolError, match="invalid character"):
        write_request(Request(method=b"GET", target=b"/", headers=[(b"Host", b"a\nb")]))


def test_write_fields_except_drops_named_fields_case_insensitively() -> None:
    fields: Headers = [(b"A", b"1"), (b"b", b"2"), (b"C", b"3")]
    assert write_fields_except(fields, (b"a", b"c")) == b"b: 2\r\n"


# ---------------------------------------------------------------- header caches and types


def test_header_name_cache_stays_correct_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(headers_module, "_CACHE_MAX", 2)
    fields: Headers = [(b"X-%d" % i, b"v") for i in range(5)] + [(b"Content-Length", b"2")]
    for _ in range(2):
        conn = ready()
        out = conn.send(Response(status_code=200, headers=fields))
        assert out == b"HTTP/1.1 200 OK\r\n" + write_fields_except(fields, ()) + b"\r\n"
        assert conn.send(Data(b"ok")) == b"ok"
    assert len(headers_module._out_names) <= 2


@pytest.mark.parametrize(
    "fields",
    [[(b"X", "text")], [(b"X", 1)], [("X", b"v")], [(bytearray(b"X"), b"v")]],
    ids=["str value", "int value", "str name", "bytearray name"],
)
def test_response_fields_must_be_bytes(fields: Headers) -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError, match=r"bytes|invalid header name"):
        conn.send(Response(status_code=200, headers=fields))
    assert conn.our_state is State.SEND_RESPONSE


# ---------------------------------------------------------------- content written by the caller


def test_send_external_accounts_for_content_length_bytes() -> None:
    conn = ready()
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"10")]))
    assert conn.content_remaining == 10
    assert conn.send_external(4) is True
    assert conn.send(Data(b"ab")) == b"ab"
    assert conn.send_external(4) is True
    assert conn.content_remaining == 0
    assert conn.send(EndOfMessage()) == b""
    assert conn.our_state is State.DONE


def test_send_external_past_content_length_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"3")]))
    with pytest.raises(LocalProtocolError, match="more content than the declared"):
        conn.send_external(4)
    assert conn.our_state is State.ERROR


def test_send_external_short_of_content_length_fails_at_the_end() -> None:
    conn = ready()
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"3")]))
    conn.send_external(2)
    with pytest.raises(LocalProtocolError, match="1 bytes short"):
        conn.send(EndOfMessage())


def test_send_external_for_head_says_skip_the_bytes() -> None:
    conn = ready(HEAD)
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"10")]))
    assert conn.send_external(10) is False
    assert conn.send_external(0) is False
    assert conn.content_remaining is None
    assert conn.send(EndOfMessage()) == b""


def test_send_external_for_204_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=204))
    with pytest.raises(LocalProtocolError, match="cannot have content"):
        conn.send_external(1)


def test_send_external_needs_content_length_framing() -> None:
    conn = ready()
    conn.send(Response(status_code=200))  # chunked
    assert conn.content_remaining is None
    with pytest.raises(LocalProtocolError, match="needs Content-Length framing"):
        conn.send_external(1)


def test_send_external_before_a_response_raises() -> None:
    conn = ready()
    assert conn.content_remaining is None
    with pytest.raises(LocalProtocolError, match="cannot send content"):
        conn.send_external(1)


def test_send_complete_to_http10_with_a_wrong_content_length_is_refused_unchanged() -> None:
    conn = ready(b"GET / HTTP/1.0\r\n\r\n")
    with pytest.raises(LocalProtocolError, match="does not match the 3-byte body"):
        conn.send_complete(Response(status_code=200, headers=[(b"content-length", b"4")]), b"abc")
    assert conn.our_state is State.SEND_RESPONSE
    out = conn.send_complete(Response(status_code=200), b"abc")
    assert out.endswith(b"\r\n\r\nabc")


def test_a_date_field_of_the_response_replaces_the_default_one() -> None:
    conn = ready()
    conn.date = b"Tue, 24 Nov 2026 05:12:51 GMT"
    out = conn.send_complete(
        Response(status_code=200, headers=[(b"Date", b"Mon, 01 Jan 2024 00:00:00 GMT")]), b"x"
    )
    assert out.count(b"Date: ") + out.count(b"date: ") == 1
    assert b"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" in out


def test_a_server_field_of_the_response_replaces_the_default_one() -> None:
    conn = ready(extra_headers=[(b"server", b"ketch"), (b"x-extra", b"1")])
    out = conn.send_complete(Response(status_code=200, headers=[(b"Server", b"myapp")]), b"x")
    assert b"Server: myapp\r\n" in out
    assert b"server: ketch" not in out
    assert b"x-extra: 1\r\n" in out


def test_an_app_connection_close_is_not_repeated_on_a_closing_http10_response() -> None:
    conn = ready(b"GET / HTTP/1.0\r\n\r\n")
    out = conn.send_complete(Response(status_code=200, headers=[(b"Connection", b"close")]), b"x")
    assert out.lower().count(b"connection: close") == 1
