"""`Connection` as a whole on the reading side: empty lines, EOF, pipelining, keep-alive,
``Expect: 100-continue`` and protocol switches."""

from __future__ import annotations

import pytest

from ketch.http11 import (
    NEED_DATA,
    PAUSED,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    InformationalResponse,
    Limits,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    Response,
    Sentinel,
    State,
)

from .helpers import parse, read_all_ways, read_chunks, rejects, request


def connection(*chunks: bytes, limits: Limits | None = None) -> Connection:
    conn = Connection(limits)
    for chunk in chunks:
        conn.receive_data(chunk)
    return conn


def next_events(conn: Connection) -> list[Event | Sentinel]:
    """Call `next_event` until it returns a sentinel or `ConnectionClosed`; return everything."""
    events: list[Event | Sentinel] = []
    while True:
        event = conn.next_event()
        events.append(event)
        if isinstance(event, Sentinel | ConnectionClosed):
            return events


def read_request(conn: Connection) -> Request:
    events = next_events(conn)
    assert isinstance(events[0], Request), events
    assert isinstance(events[-2], EndOfMessage), events
    return events[0]


def finish_cycle(conn: Connection) -> None:
    conn.send_complete(Response(status_code=200))
    conn.start_next_cycle()


GET = request()
POST_HELLO = request(method=b"POST", headers=[b"Host: a", b"Content-Length: 5"], body=b"hello")


# ---------------------------------------------------------------- empty lines before a request


@pytest.mark.parametrize("prefix", [b"\r\n", b"\r\n\r\n\r\n"])
def test_empty_lines_before_the_request_line_are_ignored(prefix: bytes) -> None:
    events = parse(prefix + GET)
    assert isinstance(events[0], Request)
    assert events[0].target == b"/"


def test_empty_lines_between_pipelined_requests_are_ignored() -> None:
    events = parse(POST_HELLO + b"\r\n\r\n" + GET)
    assert [e.method for e in events if isinstance(e, Request)] == [b"POST", b"GET"]


def test_empty_lines_alone_then_eof_close_cleanly() -> None:
    assert parse(b"\r\n\r\n") == [ConnectionClosed()]


@pytest.mark.parametrize("prefix", [b"\n", b"\r", b" \r\n", b"\r\r\n"])
def test_other_whitespace_before_the_request_line_is_rejected(prefix: bytes) -> None:
    assert rejects(prefix + GET) == 400


def test_too_many_empty_lines_are_rejected() -> None:
    limits = Limits(max_header_bytes=100)
    assert rejects(b"\r\n" * 51 + GET, limits=limits) == 400


def test_empty_lines_up_to_the_head_limit_are_accepted() -> None:
    limits = Limits(max_header_bytes=100)
    events = parse(b"\r\n" * 50 + GET, limits=limits)
    assert isinstance(events[0], Request)


def test_empty_line_limit_counts_across_receive_data_calls() -> None:
    limits = Limits(max_header_bytes=100)
    outcome = read_chunks([b"\r\n"] * 51, limits=limits, eof=False)
    assert outcome.error == 400


def test_empty_line_count_restarts_for_each_request() -> None:
    limits = Limits(max_header_bytes=100)
    events = parse(b"\r\n" * 50 + GET + b"\r\n" * 50 + GET, limits=limits)
    assert len([e for e in events if isinstance(e, Request)]) == 2


# ---------------------------------------------------------------- EOF


def test_eof_before_any_byte_is_connection_closed() -> None:
    conn = connection(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.their_state is State.CLOSED


def test_eof_at_a_message_boundary_is_connection_closed() -> None:
    conn = connection(GET)
    read_request(conn)
    finish_cycle(conn)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.next_event() == ConnectionClosed()  # and stays so


def test_eof_after_the_request_before_the_response_is_connection_closed() -> None:
    conn = connection(GET, b"")
    assert next_events(conn)[-1] == ConnectionClosed()
    assert (conn.their_state, conn.our_state) == (State.CLOSED, State.SEND_RESPONSE)
    conn.send_complete(Response(status_code=200))  # the response can still be sent


@pytest.mark.parametrize("partial", [b"G", b"GET / HTTP/1.1", b"GET / HTTP/1.1\r\nHost: a\r\n"])
def test_eof_inside_a_head_is_rejected(partial: bytes) -> None:
    conn = connection(partial)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="closed in the middle") as info:
        conn.next_event()
    assert info.value.status_hint == 400


def test_eof_inside_a_body_is_rejected() -> None:
    conn = connection(POST_HELLO[:-2], b"")
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == Data(b"hel")
    with pytest.raises(RemoteProtocolError, match="before the end of the body"):
        conn.next_event()
    assert conn.their_state is State.ERROR


def test_eof_with_a_pipelined_request_left_pauses_until_it_is_read() -> None:
    conn = connection(GET + GET, b"")
    read_request(conn)
    assert conn.next_event() is PAUSED
    finish_cycle(conn)
    assert next_events(conn)[1:] == [EndOfMessage(), ConnectionClosed()]
    assert conn.their_state is State.CLOSED


def test_receive_data_after_eof_raises() -> None:
    conn = connection(b"")
    with pytest.raises(RuntimeError, match="after EOF"):
        conn.receive_data(b"GET")


def test_error_is_sticky() -> None:
    conn = connection(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="Host"):
        conn.next_event()
    assert conn.their_state is State.ERROR
    assert not conn.keep_alive
    conn.receive_data(GET)
    with pytest.raises(RemoteProtocolError, match="already sent invalid data") as info:
        conn.next_event()
    assert info.value.status_hint == 400


# ---------------------------------------------------------------- buffering


def test_need_data_until_the_head_is_complete() -> None:
    conn = Connection()
    for byte in GET[:-1]:
        conn.receive_data(bytes([byte]))
        assert conn.next_event() is NEED_DATA
    conn.receive_data(GET[-1:])
    assert isinstance(conn.next_event(), Request)


def test_body_is_delivered_as_it_arrives() -> None:
    conn = connection(POST_HELLO[:-3])
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == Data(b"he")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"l")
    conn.receive_data(b"lo")
    assert conn.next_event() == Data(b"llo")
    assert conn.next_event() == EndOfMessage()


def test_data_is_never_more_than_the_content_length() -> None:
    conn = connection(POST_HELLO + GET)
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == Data(b"hello")
    assert conn.next_event() == EndOfMessage()
    assert conn.buffered == len(GET)


def test_buffered_counts_unread_bytes() -> None:
    conn = connection(GET[:5])
    assert conn.buffered == 5
    conn.receive_data(GET[5:])
    assert conn.buffered == len(GET)
    conn.next_event()
    assert conn.buffered == 0


def test_request_property_follows_the_cycle() -> None:
    conn = connection(GET)
    seen = [conn.request]
    request_event = read_request(conn)
    seen.append(conn.request)
    finish_cycle(conn)
    seen.append(conn.request)
    assert seen == [None, request_event, None]
    assert seen[1] is request_event


def test_received_bytes_are_not_aliased() -> None:
    piece = bytearray(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
    conn = Connection()
    conn.receive_data(bytes(piece))
    conn.receive_data(b"x")
    piece[:] = b"garbage"
    assert isinstance(conn.next_event(), Request)


# ---------------------------------------------------------------- pipelining


def test_pipelined_request_waits_for_start_next_cycle() -> None:
    conn = connection(GET + request(b"/second"))
    assert read_request(conn).target == b"/"
    assert conn.next_event() is PAUSED
    assert conn.buffered == len(request(b"/second"))  # not parsed ahead
    conn.send_complete(Response(status_code=200))
    assert conn.next_event() is PAUSED
    conn.start_next_cycle()
    assert read_request(conn).target == b"/second"


def test_pipelined_requests_are_read_in_order() -> None:
    targets = [b"/%d" % i for i in range(5)]
    stream = b"".join(request(t) for t in targets[:4]) + POST_HELLO.replace(b"/ ", b"/4 ", 1)
    events = parse(stream)
    assert [e.target for e in events if isinstance(e, Request)] == targets
    assert Data(b"hello") in events


def test_start_next_cycle_before_the_response_raises() -> None:
    conn = connection(GET)
    read_request(conn)
    with pytest.raises(LocalProtocolError, match="not ready"):
        conn.start_next_cycle()


def test_start_next_cycle_before_the_request_ended_raises() -> None:
    conn = connection(POST_HELLO[:-1])
    conn.next_event()
    conn.send_complete(Response(status_code=200))
    with pytest.raises(LocalProtocolError, match="not ready"):
        conn.start_next_cycle()


def test_early_response_then_rest_of_body_completes_the_cycle() -> None:
    conn = connection(POST_HELLO[:-5])
    assert isinstance(conn.next_event(), Request)
    conn.send_complete(Response(status_code=413))
    conn.receive_data(b"hello" + GET)
    assert conn.next_event() == Data(b"hello")
    assert conn.next_event() == EndOfMessage()
    conn.start_next_cycle()
    assert read_request(conn).target == b"/"


# ---------------------------------------------------------------- keep-alive (RFC 9112 §9.3)


def keep_alive_after(stream: bytes) -> tuple[bool, State]:
    conn = connection(stream)
    read_request(conn)
    conn.send_complete(Response(status_code=200))
    return conn.keep_alive, conn.our_state


def test_http11_is_persistent_by_default() -> None:
    assert keep_alive_after(GET) == (True, State.DONE)


@pytest.mark.parametrize(
    "value", [b"close", b"Close", b"CLOSE", b"keep-alive, close", b"foo,close", b" , close\t"]
)
def test_http11_connection_close_ends_the_connection(value: bytes) -> None:
    stream = request(headers=[b"Host: a", b"Connection: " + value])
    assert keep_alive_after(stream) == (False, State.MUST_CLOSE)


def test_connection_close_in_a_second_connection_field_ends_the_connection() -> None:
    stream = request(headers=[b"Host: a", b"Connection: keep-alive", b"Connection: close"])
    assert keep_alive_after(stream) == (False, State.MUST_CLOSE)


def test_http11_other_connection_options_keep_the_connection() -> None:
    stream = request(headers=[b"Host: a", b"Connection: keep-alive, x-closed"])
    assert keep_alive_after(stream) == (True, State.DONE)


def test_http10_closes_by_default() -> None:
    stream = request(version=b"HTTP/1.0", headers=[b"Host: a"])
    assert keep_alive_after(stream) == (False, State.MUST_CLOSE)


def test_http10_without_any_header_closes() -> None:
    assert keep_alive_after(request(version=b"HTTP/1.0", headers=[])) == (False, State.MUST_CLOSE)


@pytest.mark.parametrize("value", [b"keep-alive", b"Keep-Alive", b"foo, keep-alive"])
def test_http10_keep_alive_is_persistent(value: bytes) -> None:
    stream = request(version=b"HTTP/1.0", headers=[b"Connection: " + value])
    assert keep_alive_after(stream) == (True, State.DONE)


def test_http10_keep_alive_and_close_closes() -> None:
    stream = request(version=b"HTTP/1.0", headers=[b"Connection: keep-alive, close"])
    assert keep_alive_after(stream) == (False, State.MUST_CLOSE)


def test_request_after_connection_close_is_never_read() -> None:
    stream = request(headers=[b"Host: a", b"Connection: close"]) + GET
    outcome = read_all_ways(stream)
    assert len(outcome.requests) == 1
    assert outcome.end == "paused"


def test_response_connection_close_ends_the_connection() -> None:
    conn = connection(GET)
    read_request(conn)
    conn.send_complete(Response(status_code=200, headers=[(b"Connection", b"close")]))
    assert (conn.keep_alive, conn.our_state, conn.their_state) == (
        False,
        State.MUST_CLOSE,
        State.MUST_CLOSE,
    )


def test_must_close_with_bytes_left_pauses_even_at_eof() -> None:
    conn = connection(request(headers=[b"Host: a", b"Connection: close"]) + b"junk", b"")
    read_request(conn)
    conn.send_complete(Response(status_code=200))
    assert conn.next_event() is PAUSED


def test_must_close_at_eof_is_connection_closed() -> None:
    conn = connection(request(headers=[b"Host: a", b"Connection: close"]))
    read_request(conn)
    conn.send_complete(Response(status_code=200))
    assert conn.next_event() is PAUSED
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.their_state is State.CLOSED


def test_remote_error_ends_keep_alive() -> None:
    conn = connection(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    assert not conn.keep_alive


# ---------------------------------------------------------------- Expect: 100-continue


def expecting(*fields: bytes, body: bytes = b"", version: bytes = b"HTTP/1.1") -> Connection:
    stream = request(method=b"PUT", version=version, headers=[b"Host: a", *fields], body=body)
    conn = connection(stream)
    assert isinstance(conn.next_event(), Request)
    return conn


@pytest.mark.parametrize("value", [b"100-continue", b"100-Continue", b"foo, 100-continue"])
def test_expect_100_continue_sets_the_flag(value: bytes) -> None:
    conn = expecting(b"Expect: " + value, b"Content-Length: 5")
    assert conn.client_is_waiting_for_100_continue


def test_expect_100_continue_with_chunked_body_sets_the_flag() -> None:
    conn = expecting(b"Expect: 100-continue", b"Transfer-Encoding: chunked")
    assert conn.client_is_waiting_for_100_continue


def test_expect_100_continue_without_a_body_does_not_wait() -> None:
    conn = expecting(b"Expect: 100-continue", b"Content-Length: 0")
    assert not conn.client_is_waiting_for_100_continue


def test_expect_100_continue_is_ignored_on_http10() -> None:
    # RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0 request
    # MUST ignore that expectation."
    conn = expecting(b"Expect: 100-continue", b"Content-Length: 5", version=b"HTTP/1.0")
    assert not conn.client_is_waiting_for_100_continue


def test_other_expectations_do_not_set_the_flag() -> None:
    conn = expecting(b"Expect: 200-ok", b"Content-Length: 5")
    assert not conn.client_is_waiting_for_100_continue


def test_sending_100_continue_clears_the_flag() -> None:
    conn = expecting(b"Expect: 100-continue", b"Content-Length: 5")
    assert conn.send(InformationalResponse(status_code=100)) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert not conn.client_is_waiting_for_100_continue
    conn.receive_data(b"hello")
    assert conn.next_event() == Data(b"hello")


def test_body_bytes_clear_the_flag() -> None:
    conn = expecting(b"Expect: 100-continue", b"Content-Length: 5", body=b"he")
    assert conn.client_is_waiting_for_100_continue
    assert conn.next_event() == Data(b"he")
    assert not conn.client_is_waiting_for_100_continue


def test_chunk_data_clears_the_flag() -> None:
    conn = expecting(b"Expect: 100-continue", b"Transfer-Encoding: chunked", body=b"5\r\nhe")
    assert conn.client_is_waiting_for_100_continue
    assert conn.next_event() == Data(b"he")
    assert not conn.client_is_waiting_for_100_continue


def test_final_response_clears_the_flag() -> None:
    conn = expecting(b"Expect: 100-continue", b"Content-Length: 5")
    conn.send(Response(status_code=417))
    assert not conn.client_is_waiting_for_100_continue


# ---------------------------------------------------------------- protocol switch


UPGRADE = request(headers=[b"Host: a", b"Connection: Upgrade", b"Upgrade: websocket"])


def test_upgrade_request_pauses_after_end_of_message() -> None:
    conn = connection(UPGRADE + b"\x81\x05hello")
    assert next_events(conn)[1:] == [EndOfMessage(), PAUSED]
    assert conn.their_state is State.MIGHT_SWITCH_PROTOCOL
    assert conn.next_event() is PAUSED


def test_101_switches_and_leaves_the_next_bytes_in_trailing_data() -> None:
    conn = connection(UPGRADE + b"\x81\x05hello")
    next_events(conn)
    out = conn.send(InformationalResponse(status_code=101, headers=[(b"Upgrade", b"websocket")]))
    assert out == b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    assert (conn.our_state, conn.their_state) == (State.SWITCHED_PROTOCOL, State.SWITCHED_PROTOCOL)
    assert conn.trailing_data == (b"\x81\x05hello", False)
    assert conn.next_event() is PAUSED


def test_trailing_data_reports_eof() -> None:
    conn = connection(UPGRADE + b"bye", b"")
    next_events(conn)
    conn.send(InformationalResponse(status_code=101))
    assert conn.trailing_data == (b"bye", True)


def test_trailing_data_after_split_delivery() -> None:
    conn = connection(UPGRADE[:10], UPGRADE[10:] + b"ab", b"cd")
    next_events(conn)
    conn.send(InformationalResponse(status_code=101))
    assert conn.trailing_data == (b"abcd", False)


def test_upgrade_with_body_switches_after_the_body() -> None:
    stream = request(
        method=b"POST",
        headers=[b"Host: a", b"Connection: upgrade", b"Upgrade: h2c", b"Content-Length: 3"],
        body=b"abcnext-protocol",
    )
    conn = connection(stream)
    assert next_events(conn)[1:] == [Data(b"abc"), EndOfMessage(), PAUSED]
    conn.send(InformationalResponse(status_code=101))
    assert conn.trailing_data == (b"next-protocol", False)


def test_denied_upgrade_continues_as_http11() -> None:
    conn = connection(UPGRADE + GET)
    next_events(conn)
    conn.send_complete(Response(status_code=200))
    assert (conn.our_state, conn.their_state) == (State.DONE, State.DONE)
    conn.start_next_cycle()
    assert read_request(conn).target == b"/"


def test_early_final_response_to_upgrade_request_denies_it() -> None:
    stream = request(
        method=b"POST",
        headers=[b"Host: a", b"Connection: upgrade", b"Upgrade: h2c", b"Content-Length: 3"],
    )
    conn = connection(stream)
    assert isinstance(conn.next_event(), Request)
    conn.send_complete(Response(status_code=413))
    conn.receive_data(b"abc")
    assert next_events(conn)[-2:] == [EndOfMessage(), PAUSED]
    assert conn.their_state is State.DONE
    conn.start_next_cycle()


@pytest.mark.parametrize(
    "fields",
    [
        [b"Upgrade: websocket"],
        [b"Connection: upgrade"],
        [b"Connection: keep-alive", b"Upgrade: websocket"],
    ],
)
def test_upgrade_needs_both_fields(fields: list[bytes]) -> None:
    conn = connection(request(headers=[b"Host: a", *fields]))
    assert next_events(conn)[-1] is PAUSED
    assert conn.their_state is State.DONE
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        conn.send(InformationalResponse(status_code=101))


def test_upgrade_is_ignored_on_http10() -> None:
    # RFC 9110 §7.8: "A server MUST ignore an Upgrade header field that is received in an
    # HTTP/1.0 request."
    stream = request(version=b"HTTP/1.0", headers=[b"Connection: upgrade", b"Upgrade: websocket"])
    conn = connection(stream)
    next_events(conn)
    assert conn.their_state is State.MUST_CLOSE
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        conn.send(InformationalResponse(status_code=101))


def test_101_without_a_request_raises() -> None:
    conn = connection(GET)
    read_request(conn)
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        conn.send(InformationalResponse(status_code=101))
    assert conn.our_state is State.ERROR


CONNECT = request(b"example.com:443", method=b"CONNECT", headers=[b"Host: example.com:443"])


def test_connect_2xx_switches_to_a_tunnel() -> None:
    conn = connection(CONNECT + b"\x16\x03\x01tls")
    next_events(conn)
    assert conn.their_state is State.MIGHT_SWITCH_PROTOCOL
    out = conn.send_complete(Response(status_code=200, headers=[(b"Content-Length", b"0")]))
    assert out == b"HTTP/1.1 200 OK\r\n\r\n"
    assert (conn.our_state, conn.their_state) == (State.SWITCHED_PROTOCOL, State.SWITCHED_PROTOCOL)
    assert conn.trailing_data == (b"\x16\x03\x01tls", False)


def test_connect_2xx_has_no_content() -> None:
    conn = connection(CONNECT)
    next_events(conn)
    with pytest.raises(LocalProtocolError, match="cannot have content"):
        conn.send_complete(Response(status_code=200), b"body")


def test_connect_2xx_sent_with_send_has_no_end_of_message() -> None:
    conn = connection(CONNECT)
    next_events(conn)
    assert conn.send(Response(status_code=204)) == b"HTTP/1.1 204 No Content\r\n\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send(EndOfMessage())


def test_connect_refused_continues_as_http11() -> None:
    conn = connection(CONNECT + GET)
    next_events(conn)
    conn.send_complete(Response(status_code=405))
    conn.start_next_cycle()
    assert read_request(conn).target == b"/"


def test_101_to_connect_raises() -> None:
    conn = connection(CONNECT)
    next_events(conn)
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        conn.send(InformationalResponse(status_code=101))


def test_connect_on_http10_without_headers_may_switch() -> None:
    conn = connection(b"CONNECT example.com:443 HTTP/1.0\r\n\r\n")
    next_events(conn)
    assert conn.their_state is State.MIGHT_SWITCH_PROTOCOL
    conn.send_complete(Response(status_code=200))
    assert conn.our_state is State.SWITCHED_PROTOCOL
