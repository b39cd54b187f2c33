"""Run byte streams through a fresh `Connection`, whole, byte by byte and split, and compare.

Every parser test goes through `read_all_ways`: the core must give the same events (or the same
`RemoteProtocolError.status_hint`) however the stream is cut into `receive_data` calls, because
TCP may deliver it in any pieces (h11 ``test_io.py``).  After each `EndOfMessage` the helper
answers with a minimal response (`Connection.send_complete`) and starts the next cycle when both
sides are DONE, so pipelined requests are read in turn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ketch.http11 import (
    NEED_DATA,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Headers,
    Limits,
    RemoteProtocolError,
    Request,
    Response,
    Sentinel,
    State,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

End = Literal["need_data", "paused", "closed", "error"]

# Streams up to this long are also split in two at every position; longer ones at random positions.
_EVERY_SPLIT_MAX = 400
_RANDOM_CUTS = 12


@dataclass
class Outcome:
    """What reading a stream gave.

    Attributes:
        events: the events in order, consecutive `Data` merged into one.
        error: the ``status_hint`` of the `RemoteProtocolError` that ended reading, else ``None``.
        end: how reading stopped: waiting for bytes, paused, after `ConnectionClosed`, or on an
            error.
        message: the text of that error (for diagnostics only; never compared).
    """

    events: list[Event] = field(default_factory=list)
    error: int | None = None
    end: End = "need_data"
    message: str = field(default="", compare=False)

    @property
    def requests(self) -> list[Request]:
        """The `Request` events."""
        return [event for event in self.events if isinstance(event, Request)]


def _append(events: list[Event], event: Event) -> None:
    if isinstance(event, Data) and events and isinstance(events[-1], Data):
        events[-1] = Data(events[-1].data + event.data)
    else:
        events.append(event)


def _drain(conn: Connection, outcome: Outcome, status: int, whole_first: bool = False) -> None:
    """Call `next_event` until the connection needs data, pauses, closes or fails.

    With `whole_first`, `next_request` is tried first, as the server does, and what it returns is
    recorded as the events it stands for.
    """
    while True:
        whole = conn.next_request() if whole_first else None
        if whole is not None:
            request, body = whole
            _append(outcome.events, request)
            if body:
                _append(outcome.events, Data(body))
            _append(outcome.events, EndOfMessage())
            conn.send_complete(Response(status_code=status))
            if conn.our_state is State.DONE and conn.their_state is State.DONE:
                conn.start_next_cycle()
            continue
        try:
            event = conn.next_event()
        except RemoteProtocolError as exc:
            outcome.error = exc.status_hint
            outcome.end = "error"
            outcome.message = str(exc)
            return
        if isinstance(event, Sentinel):
            outcome.end = "need_data" if event is NEED_DATA else "paused"
            return
        _append(outcome.events, event)
        if isinstance(event, ConnectionClosed):
            outcome.end = "closed"
            return
        if isinstance(event, EndOfMessage):
            conn.send_complete(Response(status_code=status))
            if conn.our_state is State.DONE and conn.their_state is State.DONE:
                conn.start_next_cycle()


def read_chunks(
    chunks: Iterable[bytes],
    *,
    limits: Limits | None = None,
    eof: bool = True,
    status: int = 200,
    whole_first: bool = False,
) -> Outcome:
    """Feed `chunks` to a fresh server `Connection` one `receive_data` call each.

    Args:
        chunks: the pieces of the stream; empty pieces are skipped (``b""`` would mean EOF).
        limits: limits for the connection.
        eof: signal EOF after the last piece.
        status: the status of the response sent after each request.
        whole_first: try `Connection.next_request` before `next_event`, as the server does.

    Returns:
        The events read, and how reading ended.
    """
    conn = Connection(limits)
    outcome = Outcome()
    for chunk in chunks:
        if not chunk:
            continue
        conn.receive_data(chunk)
        _drain(conn, outcome, status, whole_first)
        if outcome.end in ("error", "closed"):
            return outcome
    if eof:
        conn.receive_data(b"")
        _drain(conn, outcome, status, whole_first)
    return outcome


def split_at(stream: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Cut `stream` at the given positions."""
    pieces = []
    start = 0
    for cut in sorted(cuts):
        pieces.append(stream[start:cut])
        start = cut
    pieces.append(stream[start:])
    return pieces


def splittings(stream: bytes, seed: int = 0) -> Iterator[tuple[str, list[bytes]]]:
    """Yield ``(description, pieces)``: whole, byte by byte, cut in two, cut at random."""
    yield "whole", [stream]
    yield "bytewise", [stream[i : i + 1] for i in range(len(stream))]
    rng = random.Random(seed)
    if len(stream) <= _EVERY_SPLIT_MAX:
        positions: Iterable[int] = range(1, len(stream))
    else:
        positions = rng.sample(range(1, len(stream)), _RANDOM_CUTS)
    for cut in positions:
        yield f"cut at {cut}", split_at(stream, [cut])
    for _ in range(_RANDOM_CUTS):
        cuts = rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(2, 8)))
        yield f"cut at {sorted(cuts)}", split_at(stream, cuts)


def read_all_ways(
    stream: bytes, *, limits: Limits | None = None, eof: bool = True, status: int = 200
) -> Outcome:
    """Read `stream` whole, byte by byte and split in many ways; all must agree.

    When the whole stream ends cleanly at a message boundary, it is also read with the start of a
    further request appended and no EOF: the events must be the same, without `ConnectionClosed`.

    Returns:
        The outcome (the same for every splitting).

    Raises:
        AssertionError: two splittings disagree.
    """
    expected = read_chunks([stream], limits=limits, eof=eof, status=status)
    for description, pieces in splittings(stream):
        got = read_chunks(pieces, limits=limits, eof=eof, status=status)
        assert got == expected, f"{description}: {got} != {expected} for {stream!r}"
    if expected.end == "closed":
        trailing = read_chunks(
            [stream + b"GET / HTTP/1.1\r\n"], limits=limits, eof=False, status=status
        )
        assert trailing.events == expected.events[:-1], f"with trailing bytes: {trailing}"
        assert trailing.end in ("need_data", "paused")
    return expected


def parse(stream: bytes, *, limits: Limits | None = None, status: int = 200) -> list[Event]:
    """Read a valid stream every way and return its events (ending with `ConnectionClosed`).

    Raises:
        AssertionError: the stream was rejected or did not end at a message boundary.
    """
    outcome = read_all_ways(stream, limits=limits, status=status)
    assert outcome.error is None, f"rejected with {outcome.error}: {outcome.message}"
    assert outcome.end == "closed", outcome
    return outcome.events


def parse_one(
    stream: bytes, *, limits: Limits | None = None, status: int = 200
) -> tuple[Request, bytes, EndOfMessage]:
    """Read a stream holding exactly one request; return it, its body and its `EndOfMessage`."""
    events = parse(stream, limits=limits, status=status)
    match events:
        case [Request() as req, EndOfMessage() as end, ConnectionClosed()]:
            return req, b"", end
        case [Request() as req, Data(data=body), EndOfMessage() as end, ConnectionClosed()]:
            return req, body, end
    raise AssertionError(f"not exactly one message: {events}")


def rejects(stream: bytes, *, limits: Limits | None = None) -> int:
    """Read an invalid stream every way and return the ``status_hint`` it was rejected with.

    Raises:
        AssertionError: the stream was not rejected.
    """
    outcome = read_all_ways(stream, limits=limits)
    assert outcome.error is not None, f"accepted: {outcome.events}"
    return outcome.error


def request(
    target: bytes = b"/",
    *,
    method: bytes = b"GET",
    version: bytes = b"HTTP/1.1",
    headers: Iterable[bytes] = (b"Host: example.com",),
    body: bytes = b"",
) -> bytes:
    """Build a request stream from raw pieces (no validation: tests use this to build bad ones)."""
    lines = [b"%s %s %s" % (method, target, version), *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


GET = request()
HEAD = request(method=b"HEAD")
GET10 = request(version=b"HTTP/1.0", headers=[])
GET10_KEEP_ALIVE = request(version=b"HTTP/1.0", headers=[b"Connection: keep-alive"])


def ready(stream: bytes = GET, *, extra_headers: Headers | None = None) -> Connection:
    """A connection that has read one whole request and waits for our response."""
    conn = Connection(extra_headers=extra_headers)
    conn.receive_data(stream)
    assert isinstance(conn.next_event(), Request)
    assert isinstance(conn.next_event(), EndOfMessage)
    return conn


def send_all(conn: Connection, *events: Event) -> bytes:
    """Send each event and join the bytes."""
    return b"".join(conn.send(event) for event in events)
