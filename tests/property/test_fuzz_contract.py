"""The fuzz contract (h11 ``fuzz/README.rst``): any bytes yield events or a `RemoteProtocolError`;
any other exception is a bug.  The outcome must also not depend on how the bytes were cut."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketch.http11 import Limits

from ..http11.helpers import Outcome, read_chunks, split_at
from .strategies import Message, pipelines, wire

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=250,
    suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is not a bug
)

# Small limits reach every limit check with short inputs.
SMALL = Limits(
    max_request_line=40,
    max_header_bytes=120,
    max_header_count=4,
    max_body_size=64,
    max_chunk_line=16,
)
# Bytes that matter to the grammar, so that random streams reach past the request line.
INTERESTING = [
    b"\r\n",
    b"\r\n\r\n",
    b"\r",
    b"\n",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b'"',
    b"\x00",
    b"\xff",
    b"GET / HTTP/1.1\r\n",
    b"POST /x HTTP/1.0\r\n",
    b"Host: a\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 0, 0\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: upgrade\r\nUpgrade: x\r\n",
    b"Connection: close\r\n",
    b"Expect: 100-continue\r\n",
    b"5\r\nhello\r\n",
    b"0\r\n\r\n",
    b"0\r\nX: y\r\n\r\n",
    b'ff;a="b"\r\n',
]
streams = st.lists(st.one_of(st.sampled_from(INTERESTING), st.binary(max_size=8)), max_size=24).map(
    b"".join
)


def check_contract(
    stream: bytes, cuts: list[int], limits: Limits | None = None, status: int = 200
) -> Outcome:
    """Read `stream` whole and cut; any exception but RemoteProtocolError propagates.

    `status` answers every request: 200 accepts CONNECT and denies Upgrade, 400 denies both.
    """
    whole = read_chunks([stream], limits=limits, status=status)
    assert read_chunks(split_at(stream, cuts), limits=limits, status=status) == whole
    return whole


@SETTINGS
@given(stream=st.binary(max_size=200), data=st.data())
def test_arbitrary_bytes_give_events_or_remote_protocol_error(
    stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=6, unique=True))
    check_contract(stream, cuts)


@SETTINGS
@given(stream=streams, small=st.booleans(), status=st.sampled_from([200, 400]), data=st.data())
def test_grammar_shaped_bytes_give_events_or_remote_protocol_error(
    stream: bytes, small: bool, status: int, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=6, unique=True))
    check_contract(stream, cuts, SMALL if small else None, status)


def _mutate(stream: bytes, data: st.DataObject) -> bytes:
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(stream)))
        kind = data.draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "swapcase"]))
        if kind == "insert":
            stream = stream[:pos] + data.draw(st.sampled_from(INTERESTING)) + stream[pos:]
        elif kind == "delete":
            stream = stream[:pos] + stream[pos + data.draw(st.integers(1, 8)) :]
        elif kind == "replace":
            stream = stream[:pos] + bytes([data.draw(st.integers(0, 255))]) + stream[pos + 1 :]
        elif kind == "duplicate":
            end = pos + data.draw(st.integers(1, 16))
            stream = stream[:end] + stream[pos:end] + stream[end:]
        else:
            stream = stream[:pos] + stream[pos : pos + 8].swapcase() + stream[pos + 8 :]
    return stream


@SETTINGS
@given(
    pipeline=pipelines(max_size=3),
    small=st.booleans(),
    status=st.sampled_from([200, 400]),
    data=st.data(),
)
def test_mutated_valid_requests_give_events_or_remote_protocol_error(
    pipeline: list[Message], small: bool, status: int, data: st.DataObject
) -> None:
    stream = _mutate(wire(pipeline), data)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=6, unique=True))
    check_contract(stream, cuts, SMALL if small else None, status)


@SETTINGS
@given(stream=streams)
def test_byte_by_byte_delivery_of_any_bytes_agrees_with_whole(stream: bytes) -> None:
    bytewise = [stream[i : i + 1] for i in range(len(stream))]
    assert read_chunks(bytewise) == read_chunks([stream])
