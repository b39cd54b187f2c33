"""`Connection.receive_request`: a whole bodiless request in one step, else the general path.

Whatever it declines must behave exactly as `receive_data` would have: the same events, the same
errors.
"""

from __future__ import annotations

import pytest

from ketch.http11 import (
    NEED_DATA,
    PAUSED,
    Connection,
    EndOfMessage,
    Limits,
    RemoteProtocolError,
    Request,
    Response,
    State,
)

GET = b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"


def test_a_whole_get_is_read_and_the_client_is_done() -> None:
    conn = Connection()
    whole = conn.receive_request(GET)
    assert whole is not None
    request, body = whole
    assert body == b""
    assert request == Request(
        method=b"GET", target=b"/a?b", headers=[(b"Host", b"x"), (b"Accept", b"*/*")]
    )
    assert (conn.their_state, conn.our_state) == (State.DONE, State.SEND_RESPONSE)
    assert conn.request is request
    assert conn.keep_alive
    assert conn.next_event() is PAUSED
    conn.send_complete(Response(status_code=200), b"ok")
    conn.start_next_cycle()
    assert conn.receive_request(GET) == (request, b"")  # and again on the next cycle


def test_a_post_with_its_whole_body() -> None:
    conn = Connection()
    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab\r\n"
    whole = conn.receive_request(data)
    assert whole is not None
    assert whole[1] == b"ab\r\n"
    assert (conn.their_state, conn.our_state) == (State.DONE, State.SEND_RESPONSE)


def test_connection_close_is_honoured() -> None:
    conn = Connection()
    assert conn.receive_request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert not conn.keep_alive
    assert conn.their_state is State.MUST_CLOSE
    head = conn.send_complete(Response(status_code=200), b"")
    assert b"connection: close\r\n" in head
    assert conn.our_state is State.MUST_CLOSE


def test_http10_without_keep_alive_closes() -> None:
    conn = Connection()
    assert conn.receive_request(b"GET / HTTP/1.0\r\n\r\n")
    assert not conn.keep_alive


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(GET[:-2], id="partial head"),
        pytest.param(GET + GET, id="pipelined"),
        pytest.param(b"\r\n" + GET, id="leading empty line"),
        pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", id="body to come"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\na", id="part of body"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabc", id="body and more"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab" + GET, id="body, next"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", id="chunked"
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            id="upgrade",
        ),
    ],
)
def test_anything_else_takes_the_general_path(data: bytes) -> None:
    declined = Connection()
    assert declined.receive_request(data) is None
    general = Connection()
    general.receive_data(data)
    for _ in range(4):
        assert repr(declined.next_event()) == repr(general.next_event())
    assert declined.their_state is general.their_state


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
    conn = Connection(Limits(max_request_line=100, max_header_bytes=256))
    assert conn.receive_request(data) is None
    with pytest.raises(RemoteProtocolError) as caught:
        conn.next_event()
    assert caught.value.status_hint == status
    assert conn.their_state is State.ERROR


def test_only_between_requests_with_nothing_buffered() -> None:
    conn = Connection()
    conn.receive_data(b"GET / HT")
    assert conn.next_event() is NEED_DATA
    assert conn.receive_request(b"TP/1.1\r\nHost: x\r\n\r\n") is None  # completes the buffered head
    assert isinstance(conn.next_event(), Request)
    assert isinstance(conn.next_event(), EndOfMessage)
    # Mid-cycle (our response not sent): the bytes wait in the buffer, in order.
    assert conn.receive_request(GET) is None
    assert conn.next_event() is PAUSED
    conn.send_complete(Response(status_code=204))
    conn.start_next_cycle()
    assert isinstance(conn.next_event(), Request)


def test_after_eof_it_declines() -> None:
    conn = Connection()
    conn.receive_data(b"")
    with pytest.raises(RuntimeError):
        conn.receive_request(GET)
