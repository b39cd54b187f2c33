"""Differential test against h11, the reference sans-IO parser: on valid requests both must read
the same method, target, headers (h11 lowercases names), body and trailers."""

from __future__ import annotations

from dataclasses import dataclass

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketch.http11 import Data, EndOfMessage, Headers, Request, lowercase_names

from ..http11.helpers import read_chunks, split_at
from .strategies import Message, pipelines, wire

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is not a bug
)


@dataclass
class Read:
    """One request as a parser read it, in h11's terms: lowercase names, version as bytes."""

    method: bytes
    target: bytes
    http_version: bytes
    headers: Headers
    body: bytes
    trailers: Headers


def read_with_h11(pieces: list[bytes]) -> list[Read]:
    conn = h11.Connection(h11.SERVER)
    reads: list[Read] = []
    current: Read | None = None
    for piece in [*pieces, b""]:
        conn.receive_data(piece)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.ConnectionClosed):
                return reads
            if isinstance(event, h11.Request):
                current = Read(
                    event.method, event.target, event.http_version, list(event.headers), b"", []
                )
            elif isinstance(event, h11.Data):
                assert current is not None
                current.body += bytes(event.data)
            else:
                assert isinstance(event, h11.EndOfMessage)
                assert current is not None
                current.trailers = list(event.headers)
                reads.append(current)
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
    return reads


def read_with_ketch(pieces: list[bytes]) -> list[Read]:
    outcome = read_chunks(pieces)
    assert outcome.error is None, outcome.message
    reads: list[Read] = []
    current: Read | None = None
    for event in outcome.events:
        if isinstance(event, Request):
            headers = lowercase_names(event.headers)
            current = Read(event.method, event.target, event.http_version, headers, b"", [])
        elif isinstance(event, Data):
            assert current is not None
            current.body += event.data
        elif isinstance(event, EndOfMessage):
            assert current is not None
            current.trailers = lowercase_names(event.headers)
            reads.append(current)
    return reads


@SETTINGS
@given(pipeline=pipelines(max_size=3, bws=False), data=st.data())
def test_ketch_and_h11_read_valid_requests_alike(
    pipeline: list[Message], data: st.DataObject
) -> None:
    stream = wire(pipeline)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=6, unique=True))
    pieces = split_at(stream, cuts)
    ketch_reads = read_with_ketch(pieces)
    assert ketch_reads == read_with_h11(pieces)
    assert len(ketch_reads) == len(pipeline)
