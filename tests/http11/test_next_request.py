"""`Connection.next_request`: a whole request and its body in one step, else the general path.

Whatever it declines must behave exactly as `next_event` would have: the same events, the same
errors.
"""

from __future__ import annotations

import pytest

from ketch.http11 import (
    NEED_DATA,
    PAUSED,
    Connection,
    Data,
    EndOfMessage,
    Limits,
    RemoteProtocolError,
    Request,
    Response,
    State,
)

GET = b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
POST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab\r\n"


def fed(*chunks: bytes, limits: Limits | None = None) -> Connection:
    conn = Connection(limits)
    for chunk in chunks:
        conn.receive_data(chunk)
    return conn


def test_a_whole_get_is_read_and_the_client_is_done() -> None:
    conn = fed(GET)
    whole = conn.next_request()
    assert whole is not None
    request, body = whole
    assert body == b""
    assert request == Request(
        method=b"GET", target=b"/a?b", headers=[(b"Host", b"x"), (b"Accept", b"*/*")]
    )
    assert (conn.their_state, conn.our_state) == (State.DONE, State.SEND_RESPONSE)
    assert conn.request is request
    assert conn.keep_alive
    assert conn.next_request() is None  # our response first
    assert conn.next_event() is PAUSED
    conn.send_complete(Response(status_code=200), b"ok")
    conn.start_next_cycle()
    assert conn.next_request() is None
    assert conn.next_event() is NEED_DATA
    conn.receive_data(GET)
    assert conn.next_request() == (request, b"")  # and again on the next cycle


def test_a_post_with_its_whole_body() -> None:
    conn = fed(POST)
    assert conn.next_request() == (
        Request(method=b"POST", target=b"/", headers=[(b"Host", b"x"), (b"Content-Length", b"4")]),
        b"ab\r\n",
    )
    assert (conn.their_state, conn.our_state) == (State.DONE, State.SEND_RESPONSE)


def test_pipelined_requests_one_after_the_other() -> None:
    conn = fed(POST + GET + POST)
    for expected in (b"ab\r\n", b"", b"ab\r\n"):
        whole = conn.next_request()
        assert whole is not None
        assert whole[1] == expected
        conn.send_complete(Response(status_code=204))
        conn.start_next_cycle()
    assert conn.buffered == 0


def test_a_buffer_that_grew_across_reads() -> None:
    conn = fed(b"POST / HTTP/1.1\r\nHost: x\r\n", b"Content-Length: 4\r\n\r\nab", b"\r\n" + GET)
    assert conn.next_event() == Request(
        method=b"POST", target=b"/", headers=[(b"Host", b"x"), (b"Content-Length", b"4")]
    )
    assert conn.next_event() == Data(b"ab\r\n")
    assert isinstance(conn.next_event(), EndOfMessage)
    conn.send_complete(Response(status_code=204))
    conn.start_next_cycle()
    conn.receive_data(POST)  # the buffer is now a bytearray holding a GET and a POST
    whole = conn.next_request()
    assert whole is not None
    assert whole[0].target == b"/a?b"
    assert type(whole[0].target) is bytes
    conn.send_complete(Response(status_code=204))
    conn.start_next_cycle()
    whole = conn.next_request()
    assert whole is not None
    assert whole[1] == b"ab\r\n"
    assert type(whole[1]) is bytes


def test_connection_close_is_honoured() -> None:
    conn = fed(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert conn.next_request()
    assert not conn.keep_alive
    assert conn.their_state is State.MUST_CLOSE
    head = conn.send_complete(Response(status_code=200), b"")
    assert b"connection: close\r\n" in head
    assert conn.our_state is State.MUST_CLOSE


def test_http10_without_keep_alive_closes() -> None:
    conn = fed(b"GET / HTTP/1.0\r\n\r\n")
    assert conn.next_request()
    assert not conn.keep_alive


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(GET[:-2], id="partial head"),
        pytest.param(b"\r\n" + GET, id="leading empty line"),
        pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", id="body to come"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\na", id="part of body"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            id="upgrade",
        ),
    ],
)
def test_anything_else_takes_the_general_path(data: bytes) -> None:
    declined = fed(data)
    assert declined.next_request() is None
    general = fed(data)
    for _ in range(4):
        assert repr(declined.next_event()) == repr(general.next_event())
    assert declined.their_state is general.their_state


def test_after_eof_it_declines() -> None:
    conn = fed(GET, b"")
    assert conn.next_request() is None
    assert isinstance(conn.next_event(), Request)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nA: " + b"b" * 300 + b"\r\n\r\n", 431),
    ],
)
def test_an_invalid_request_is_refused_by_next_event(data: bytes, status: int) -> None:
    conn = fed(data, limits=Limits(max_request_line=100, max_header_bytes=256))
    assert conn.next_request() is None
    with pytest.raises(RemoteProtocolError) as caught:
        conn.next_event()
    assert caught.value.status_hint == status
    assert conn.their_state is State.ERROR


def test_a_slow_head_is_searched_from_where_the_last_search_stopped() -> None:
    conn = fed(b"GET / HTTP/1.1\r\n")
    for byte in b"Host: x\r\n":
        assert conn.next_request() is None
        assert conn.next_event() is NEED_DATA
        conn.receive_data(bytes([byte]))
    conn.receive_data(b"\r\n")
    assert conn.next_request() is not None
