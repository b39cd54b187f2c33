"""The writing side: response events to bytes (RFC 9112 §4, §6, §7; RFC 9110 §6.4.1, §15)."""

from __future__ import annotations

import pytest

from ketch.http11 import (
    Connection,
    Data,
    EndOfMessage,
    Headers,
    InformationalResponse,
    LocalProtocolError,
    Request,
    Response,
    State,
)
from ketch.http11.writers import status_line

from .helpers import GET, GET10, GET10_KEEP_ALIVE, HEAD, ready, request, send_all

# ---------------------------------------------------------------- status line


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (200, b"HTTP/1.1 200 OK\r\n"),
        (404, b"HTTP/1.1 404 Not Found\r\n"),
        (418, b"HTTP/1.1 418 I'm a Teapot\r\n"),
        (500, b"HTTP/1.1 500 Internal Server Error\r\n"),
        (299, b"HTTP/1.1 299 \r\n"),  # no standard reason: reason-phrase is optional
        (999, b"HTTP/1.1 999 \r\n"),
    ],
)
def test_status_line_with_standard_reason(status: int, line: bytes) -> None:
    assert status_line(status) == line
    assert status_line(status) == line  # and again, from the cache


def test_status_line_with_custom_reason() -> None:
    assert status_line(200, b"Fine, \xe9\tthanks") == b"HTTP/1.1 200 Fine, \xe9\tthanks\r\n"


@pytest.mark.parametrize("reason", [b"OK\r\nX: y", b"O\nK", b"O\rK", b"O\x00K", b"\x7f"])
def test_status_line_rejects_invalid_reason(reason: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="reason phrase"):
        status_line(200, reason)


def test_response_with_custom_reason() -> None:
    out = ready().send_complete(Response(status_code=200, reason=b"Very Good"))
    assert out == b"HTTP/1.1 200 Very Good\r\ncontent-length: 0\r\n\r\n"


def test_response_with_invalid_reason_is_refused_and_a_500_can_follow() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError):
        conn.send(Response(status_code=200, reason=b"OK\r\n"))
    assert conn.our_state is State.SEND_RESPONSE
    out = conn.send_complete(Response(status_code=500))
    assert out.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


# ---------------------------------------------------------------- event construction


@pytest.mark.parametrize("status", [99, 200, 0, -1])
def test_informational_response_needs_1xx(status: int) -> None:
    with pytest.raises(LocalProtocolError, match="informational status must be 1xx"):
        InformationalResponse(status_code=status)


@pytest.mark.parametrize("status", [100, 199, 1000, 0])
def test_final_response_needs_200_to_999(status: int) -> None:
    with pytest.raises(LocalProtocolError, match="final status must be 200-999"):
        Response(status_code=status)


# ---------------------------------------------------------------- header validation


@pytest.mark.parametrize(
    "value", [b"a\rb", b"a\nb", b"a\r\nSet-Cookie: evil=1", b"a\x00b", b"\x01", b"\x7f"]
)
def test_ctl_in_a_response_header_value_raises_and_never_reaches_output(value: bytes) -> None:
    conn = ready()
    response = Response(status_code=200, headers=[(b"Ok", b"fine"), (b"X-Test", value)])
    with pytest.raises(LocalProtocolError, match="invalid character in header value"):
        conn.send(response)
    with pytest.raises(LocalProtocolError, match="invalid character in header value"):
        conn.send_complete(response, b"body")
    # Refused as a whole, before any state change: a 500 can still be sent, and nothing of the
    # refused response comes out with it.
    assert conn.our_state is State.SEND_RESPONSE
    out = conn.send_complete(Response(status_code=500))
    assert out == b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"


@pytest.mark.parametrize("name", [b"", b"X Test", b"X:Test", b"X\r\nY", b"X\x00"])
def test_invalid_response_header_name_raises(name: bytes) -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError, match="invalid header name"):
        conn.send_complete(Response(status_code=200, headers=[(name, b"v")]))
    assert conn.our_state is State.SEND_RESPONSE


def test_response_header_values_may_hold_obs_text_and_htab() -> None:
    out = ready().send_complete(Response(status_code=200, headers=[(b"X", b"\xe9\tv")]))
    assert b"\r\nX: \xe9\tv\r\n" in out


def test_invalid_header_in_informational_response_raises() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError):
        conn.send(InformationalResponse(status_code=103, headers=[(b"Link", b"<a>\r\n")]))
    assert conn.our_state is State.ERROR


# ---------------------------------------------------------------- framing choice


def test_response_without_length_to_http11_is_chunked() -> None:
    conn = ready()
    out = send_all(
        conn,
        Response(status_code=200),
        Data(b"hello"),
        Data(b""),
        Data(b" world!"),
        EndOfMessage(),
    )
    assert out == (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n"
    )
    assert conn.our_state is State.DONE


def test_response_with_content_length_is_sent_raw() -> None:
    conn = ready()
    out = send_all(
        conn,
        Response(status_code=200, headers=[(b"Content-Length", b"5")]),
        Data(b"he"),
        Data(b"llo"),
        EndOfMessage(),
    )
    assert out == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def test_send_complete_sets_content_length() -> None:
    out = ready().send_complete(Response(status_code=200), b"hello")
    assert out == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"


def test_send_complete_keeps_a_matching_content_length() -> None:
    response = Response(status_code=200, headers=[(b"Content-Length", b"5")])
    out = ready().send_complete(response, b"hello")
    assert out == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize("length", [b"4", b"6"])
def test_send_complete_with_a_wrong_content_length_raises(length: bytes) -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError, match="does not match the 5-byte body"):
        conn.send_complete(
            Response(status_code=200, headers=[(b"Content-Length", length)]), b"hello"
        )
    assert conn.our_state is State.SEND_RESPONSE


def test_send_complete_with_app_chunked_frames_the_body() -> None:
    response = Response(status_code=200, headers=[(b"Transfer-Encoding", b"chunked")])
    out = ready().send_complete(response, b"hello")
    assert out == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"


def test_send_complete_without_body_to_chunked_response() -> None:
    response = Response(status_code=200, headers=[(b"Transfer-Encoding", b"chunked")])
    out = ready().send_complete(response)
    assert out == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"


def test_app_transfer_coding_ending_with_chunked_is_kept() -> None:
    conn = ready()
    head = conn.send(Response(status_code=200, headers=[(b"Transfer-Encoding", b"gzip, chunked")]))
    assert head == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    assert conn.send(Data(b"\x1f\x8b")) == b"2\r\n\x1f\x8b\r\n"


def test_app_transfer_coding_not_ending_with_chunked_raises() -> None:
    with pytest.raises(LocalProtocolError, match="must end with chunked"):
        ready().send(Response(status_code=200, headers=[(b"Transfer-Encoding", b"gzip")]))


def test_content_length_and_transfer_encoding_together_raise() -> None:
    headers = [(b"Content-Length", b"5"), (b"Transfer-Encoding", b"chunked")]
    with pytest.raises(LocalProtocolError, match="both Content-Length and Transfer-Encoding"):
        ready().send(Response(status_code=200, headers=headers))


def test_conflicting_content_lengths_raise() -> None:
    headers = [(b"Content-Length", b"5"), (b"content-length", b"6")]
    with pytest.raises(LocalProtocolError, match="conflicting Content-Length"):
        ready().send(Response(status_code=200, headers=headers))


def test_identical_content_lengths_are_allowed() -> None:
    headers = [(b"Content-Length", b"2"), (b"content-length", b"2")]
    out = ready().send_complete(Response(status_code=200, headers=headers), b"ok")
    assert out.endswith(b"Content-Length: 2\r\ncontent-length: 2\r\n\r\nok")


@pytest.mark.parametrize("value", [b"abc", b"-1", b"+5", b"5 ", b""])
def test_invalid_content_length_raises(value: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="invalid Content-Length"):
        ready().send(Response(status_code=200, headers=[(b"Content-Length", value)]))


def test_data_after_content_length_is_exhausted_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"3")]))
    assert conn.send(Data(b"abc")) == b"abc"
    with pytest.raises(LocalProtocolError, match="more content than the declared"):
        conn.send(Data(b"d"))
    assert conn.our_state is State.ERROR


def test_end_of_message_short_of_content_length_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"3")]))
    conn.send(Data(b"ab"))
    with pytest.raises(LocalProtocolError, match="1 bytes short"):
        conn.send(EndOfMessage())
    assert conn.our_state is State.ERROR


# ---------------------------------------------------------------- HTTP/1.0 clients


def test_http10_client_gets_a_close_delimited_body() -> None:
    conn = ready(GET10)
    out = send_all(conn, Response(status_code=200), Data(b"hello"), EndOfMessage())
    assert out == b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhello"
    assert (conn.keep_alive, conn.our_state) == (False, State.MUST_CLOSE)


def test_http10_keep_alive_client_without_length_still_gets_close_delimited_body() -> None:
    conn = ready(GET10_KEEP_ALIVE)
    out = send_all(conn, Response(status_code=200), Data(b"hi"), EndOfMessage())
    assert out == b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhi"
    assert conn.our_state is State.MUST_CLOSE


def test_http10_keep_alive_client_with_length_keeps_the_connection() -> None:
    conn = ready(GET10_KEEP_ALIVE)
    out = conn.send_complete(Response(status_code=200), b"hi")
    assert out == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nhi"
    assert (conn.keep_alive, conn.our_state) == (True, State.DONE)


def test_http10_client_with_length_is_told_connection_close() -> None:
    out = ready(GET10).send_complete(Response(status_code=200), b"hi")
    assert out == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"


def test_http10_client_never_gets_chunked() -> None:
    conn = ready(GET10)
    head = conn.send(Response(status_code=200, headers=[(b"Transfer-Encoding", b"chunked")]))
    assert head == b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"
    assert conn.send(Data(b"raw")) == b"raw"
    assert conn.send(EndOfMessage()) == b""


def test_trailers_on_close_delimited_body_raise() -> None:
    conn = ready(GET10)
    conn.send(Response(status_code=200))
    with pytest.raises(LocalProtocolError, match="trailers need chunked"):
        conn.send(EndOfMessage(headers=[(b"X", b"y")]))


# ---------------------------------------------------------------- responses without content


def test_head_response_keeps_content_length_and_discards_data() -> None:
    conn = ready(HEAD)
    out = send_all(
        conn,
        Response(status_code=200, headers=[(b"Content-Length", b"5")]),
        Data(b"hello"),
        EndOfMessage(),
    )
    assert out == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert conn.our_state is State.DONE


def test_head_send_complete_announces_the_length_without_the_body() -> None:
    out = ready(HEAD).send_complete(Response(status_code=200), b"hello")
    assert out == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


def test_head_response_drops_transfer_encoding() -> None:
    conn = ready(HEAD)
    out = send_all(
        conn,
        Response(status_code=200, headers=[(b"Transfer-Encoding", b"chunked"), (b"X", b"y")]),
        Data(b"hello"),
        EndOfMessage(),
    )
    assert out == b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n"


def test_head_response_without_length_adds_none() -> None:
    out = send_all(ready(HEAD), Response(status_code=200), EndOfMessage())
    assert out == b"HTTP/1.1 200 OK\r\n\r\n"


@pytest.mark.parametrize("stream", [GET, HEAD])
def test_204_drops_content_length_and_transfer_encoding(stream: bytes) -> None:
    headers: Headers = [
        (b"Content-Length", b"0"),
        (b"Transfer-Encoding", b"chunked"),
        (b"X", b"y"),
    ]
    out = ready(stream).send_complete(Response(status_code=204, headers=headers))
    assert out == b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n"


def test_204_with_content_raises() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError, match="cannot have content"):
        conn.send_complete(Response(status_code=204), b"x")


def test_204_data_raises_but_empty_data_is_fine() -> None:
    conn = ready()
    conn.send(Response(status_code=204))
    assert conn.send(Data(b"")) == b""
    with pytest.raises(LocalProtocolError, match="cannot have content"):
        conn.send(Data(b"x"))


def test_304_keeps_content_length_given_by_the_app() -> None:
    headers: Headers = [(b"Content-Length", b"42"), (b"ETag", b'"x"')]
    out = ready().send_complete(Response(status_code=304, headers=headers))
    assert out == b'HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\nETag: "x"\r\n\r\n'


def test_304_gets_no_content_length_from_send_complete() -> None:
    out = ready().send_complete(Response(status_code=304))
    assert out == b"HTTP/1.1 304 Not Modified\r\n\r\n"


def test_304_drops_transfer_encoding() -> None:
    headers: Headers = [(b"Transfer-Encoding", b"chunked")]
    out = send_all(ready(), Response(status_code=304, headers=headers), EndOfMessage())
    assert out == b"HTTP/1.1 304 Not Modified\r\n\r\n"


def test_304_with_content_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=304))
    with pytest.raises(LocalProtocolError, match="cannot have content"):
        conn.send(Data(b"x"))


def test_trailers_on_a_response_without_content_are_dropped() -> None:
    conn = ready(HEAD)
    conn.send(Response(status_code=200))
    assert conn.send(EndOfMessage(headers=[(b"X", b"y")])) == b""


# ---------------------------------------------------------------- trailers


def test_trailers_on_chunked_response() -> None:
    conn = ready()
    out = send_all(
        conn,
        Response(status_code=200, headers=[(b"Trailer", b"X-Sum")]),
        Data(b"abc"),
        EndOfMessage(headers=[(b"X-Sum", b"1"), (b"X-Two", b"2")]),
    )
    assert out.endswith(b"\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Two: 2\r\n\r\n")


def test_invalid_trailer_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=200))
    with pytest.raises(LocalProtocolError, match="invalid character"):
        conn.send(EndOfMessage(headers=[(b"X", b"a\r\nb")]))


def test_trailers_on_content_length_response_raise() -> None:
    conn = ready()
    conn.send(Response(status_code=200, headers=[(b"Content-Length", b"0")]))
    with pytest.raises(LocalProtocolError, match="trailers need chunked"):
        conn.send(EndOfMessage(headers=[(b"X", b"y")]))


# ---------------------------------------------------------------- informational responses


def test_100_continue() -> None:
    conn = ready(request(method=b"PUT", headers=[b"Host: a", b"Content-Length: 0"]))
    assert conn.send(InformationalResponse(status_code=100)) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert conn.our_state is State.SEND_RESPONSE


def test_103_early_hints_with_headers_then_final_response() -> None:
    conn = ready()
    hints = InformationalResponse(
        status_code=103, headers=[(b"Link", b"</style.css>; rel=preload; as=style")]
    )
    out = conn.send(hints) + conn.send(hints)
    assert out == 2 * (
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
    )
    assert conn.send_complete(Response(status_code=200)).startswith(b"HTTP/1.1 200 OK\r\n")


def test_informational_response_with_custom_reason() -> None:
    out = ready().send(InformationalResponse(status_code=102, reason=b"Still Busy"))
    assert out == b"HTTP/1.1 102 Still Busy\r\n\r\n"


def test_informational_response_after_final_response_raises() -> None:
    conn = ready()
    conn.send(Response(status_code=200))
    with pytest.raises(LocalProtocolError):
        conn.send(InformationalResponse(status_code=100))


def test_informational_response_without_a_request_raises() -> None:
    with pytest.raises(LocalProtocolError):
        Connection().send(InformationalResponse(status_code=100))


# ---------------------------------------------------------------- Date and extra headers


def test_date_is_added_once_when_set() -> None:
    conn = ready(GET + GET)
    conn.date = b"Sun, 06 Nov 1994 08:49:37 GMT"
    out = conn.send_complete(Response(status_code=200))
    assert out == (
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    )
    assert out.lower().count(b"date:") == 1


def test_date_given_by_the_app_is_not_duplicated() -> None:
    conn = ready()
    conn.date = b"Sun, 06 Nov 1994 08:49:37 GMT"
    out = conn.send_complete(Response(status_code=200, headers=[(b"DATE", b"x")]))
    assert out == b"HTTP/1.1 200 OK\r\nDATE: x\r\ncontent-length: 0\r\n\r\n"


def test_no_date_without_the_attribute() -> None:
    assert b"date" not in ready().send_complete(Response(status_code=200)).lower()


def test_date_is_not_added_to_informational_responses() -> None:
    conn = ready()
    conn.date = b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert conn.send(InformationalResponse(status_code=103)) == b"HTTP/1.1 103 Early Hints\r\n\r\n"


def test_extra_headers_are_added_to_every_response() -> None:
    stream = GET + GET
    conn = ready(stream, extra_headers=[(b"server", b"ketch")])
    first = conn.send_complete(Response(status_code=200))
    conn.start_next_cycle()
    assert isinstance(conn.next_event(), Request)
    assert isinstance(conn.next_event(), EndOfMessage)
    second = conn.send_complete(Response(status_code=404))
    assert first == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nserver: ketch\r\n\r\n"
    assert second == b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nserver: ketch\r\n\r\n"


def test_invalid_extra_headers_are_refused_at_construction() -> None:
    with pytest.raises(LocalProtocolError):
        Connection(extra_headers=[(b"server", b"ketch\r\nX: y")])
