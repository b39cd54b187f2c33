"""Serialize, then parse: requests written with `write_request` and the core's body writers read
back unchanged, and responses the core writes read back unchanged by h11's client."""

from __future__ import annotations

import itertools

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketch.http11 import (
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Headers,
    Request,
    Response,
    lowercase_names,
    write_request,
)
from ketch.http11.writers import ChunkedWriter, ContentLengthWriter

from ..http11.helpers import read_chunks
from .strategies import bodies, field_names, field_values, fields, hosts, methods, targets

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=250,
    suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is not a bug
)


@SETTINGS
@given(
    method=methods,
    target=targets,
    host=hosts,
    extra=fields,
    body=bodies,
    chunked=st.booleans(),
    pieces=st.lists(st.integers(0, 300), max_size=4),
    trailers=st.lists(st.tuples(field_names, field_values), max_size=3),
)
def test_written_request_reads_back_unchanged(
    method: bytes,
    target: bytes,
    host: bytes,
    extra: Headers,
    body: bytes,
    chunked: bool,
    pieces: list[int],
    trailers: Headers,
) -> None:
    headers: Headers = [(b"Host", host), *extra]
    edges = sorted({0, len(body), *(min(p, len(body)) for p in pieces)})
    parts = [body[a:b] for a, b in itertools.pairwise(edges)]
    if chunked:
        headers.append((b"Transfer-Encoding", b"chunked"))
        chunk_writer = ChunkedWriter()
        content = b"".join(chunk_writer.data(part) for part in parts) + chunk_writer.end(trailers)
    else:
        headers.append((b"Content-Length", b"%d" % len(body)))
        length_writer = ContentLengthWriter(len(body))
        content = b"".join(length_writer.data(part) for part in parts) + length_writer.end([])
        trailers = []
    sent = Request(method=method, target=target, headers=headers)
    outcome = read_chunks([write_request(sent) + content])
    assert outcome.error is None, outcome.message
    data = [Data(body)] if body else []
    assert outcome.events == [sent, *data, EndOfMessage(headers=trailers), ConnectionClosed()]


STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 206, 301, 304, 400, 404, 418, 500, 503]),
    st.integers(200, 599),
)


@SETTINGS
@given(
    method=st.sampled_from([b"GET", b"POST", b"HEAD"]),
    status=STATUSES,
    headers=fields,
    body=bodies,
    mode=st.sampled_from(["complete", "length", "chunked"]),
    trailers=st.lists(st.tuples(field_names, field_values), max_size=3),
    date=st.booleans(),
)
def test_written_response_reads_back_unchanged_in_h11(
    method: bytes,
    status: int,
    headers: Headers,
    body: bytes,
    mode: str,
    trailers: Headers,
    date: bool,
) -> None:
    # A client/server pair on one wire: h11's client writes the request, the core reads it,
    # the core writes the response, h11's client reads it.
    client = h11.Connection(h11.CLIENT)
    server = Connection()
    if date:
        server.date = b"Sun, 06 Nov 1994 08:49:37 GMT"
    server.receive_data(
        client.send(h11.Request(method=method, target="/", headers=[("Host", "example.com")]))
        + client.send(h11.EndOfMessage())
    )
    assert isinstance(server.next_event(), Request)
    assert isinstance(server.next_event(), EndOfMessage)

    no_content = method == b"HEAD" or status in (204, 304)
    if status in (204, 304):
        body = b""
    if mode == "complete":
        wire = server.send_complete(Response(status_code=status, headers=headers), body)
        trailers = []
    else:
        framing: Headers = [(b"Content-Length", b"%d" % len(body))] if mode == "length" else []
        if mode == "length" or no_content:
            trailers = []
        wire = server.send(Response(status_code=status, headers=[*headers, *framing]))
        wire += server.send(Data(body)) + server.send(EndOfMessage(headers=trailers))

    client.receive_data(wire)
    response = client.next_event()
    assert isinstance(response, h11.Response)
    assert response.status_code == status
    got = list(response.headers)
    sent = lowercase_names(headers)
    assert [pair for pair in got if pair in sent] == sent  # every field, in order
    received = b""
    while True:
        event = client.next_event()
        if isinstance(event, h11.Data):
            received += bytes(event.data)
            continue
        assert isinstance(event, h11.EndOfMessage)
        break
    assert received == (b"" if no_content else body)
    assert list(event.headers) == lowercase_names(trailers)
    assert client.our_state is h11.DONE
    assert client.their_state is h11.DONE
