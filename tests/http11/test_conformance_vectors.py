"""The llhttp request corpus (``/work/shared/conformance``) run against the core, byte for byte.

Each vector is read whole, byte by byte and split at every position (`read_all_ways`), so a vector
also checks that the outcome does not depend on how TCP cuts the stream.  What the outcomes mean is
in the corpus README: ``accept`` vectors must give exactly the listed messages, ``reject`` vectors
must end in a `RemoteProtocolError` (after at most the listed leading messages), ``either`` vectors
only have to respect the fuzz contract (events or `RemoteProtocolError`, nothing else).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ketch.http11 import Data, EndOfMessage, Event, Request

from .helpers import Outcome, read_all_ways

CORPUS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "llhttp-requests.json"
)


def _load() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        return []
    vectors: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["vectors"]
    return vectors


VECTORS = _load()
pytestmark = pytest.mark.skipif(not VECTORS, reason=f"conformance corpus not found at {CORPUS}")


def latin1(value: str | list[Any]) -> bytes:
    """Decode a corpus byte string: latin-1 text, or a list of parts (strings, repeats, pauses)."""
    if isinstance(value, str):
        return value.encode("latin-1")
    out = bytearray()
    for part in value:
        if isinstance(part, str):
            out += part.encode("latin-1")
        elif "repeat" in part:
            out += part["repeat"].encode("latin-1") * int(part["times"])
        elif "pause" not in part:  # a pause only changes timing, which a sans-IO core cannot see
            raise ValueError(f"bad raw part {part!r}")
    return bytes(out)


def _fields(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value.strip(b" \t")) for name, value in pairs]


def _expected_fields(pairs: list[list[Any]]) -> list[tuple[bytes, bytes]]:
    return _fields([(latin1(name), latin1(value)) for name, value in pairs])


def complete_messages(events: list[Event]) -> list[tuple[Request, bytes, EndOfMessage]]:
    """Group events into ``(request, body, end)`` for every message read to its end."""
    messages = []
    current: Request | None = None
    body = b""
    for event in events:
        if isinstance(event, Request):
            current, body = event, b""
        elif isinstance(event, Data):
            body += event.data
        elif isinstance(event, EndOfMessage):
            assert current is not None
            messages.append((current, body, event))
            current = None
    return messages


def assert_message_matches(got: tuple[Request, bytes, EndOfMessage], want: dict[str, Any]) -> None:
    """Compare a message with the corpus' expectation (names case-insensitive, values stripped)."""
    request, body, end = got
    assert request.method == latin1(want["method"])
    targets = [latin1(want["target"]), *(latin1(t) for t in want.get("target_alt", []))]
    assert request.target in targets
    assert request.http_version == latin1(want["version"])
    assert _fields(request.headers) == _expected_fields(want["headers"])
    assert body == latin1(want["body"])
    assert _fields(end.headers) == _expected_fields(want.get("trailers", []))


def _read(vector: dict[str, Any]) -> Outcome:
    # An input that ends inside a further request must not be answered: the server waits for
    # the rest, so no EOF is signalled (an EOF there would be a 400 for a truncated request).
    return read_all_ways(latin1(vector["raw"]), eof=not vector.get("trailing_incomplete"))


def _ids(kind: str) -> list[Any]:
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["expect"] == kind]


@pytest.mark.parametrize("vector", _ids("accept"))
def test_accept_vector_gives_exactly_the_listed_messages(vector: dict[str, Any]) -> None:
    outcome = _read(vector)
    messages = complete_messages(outcome.events)
    listed = vector["messages"]
    assert len(messages) >= len(listed), f"{outcome.message or outcome.end}: {outcome.events}"
    for got, want in zip(messages, listed, strict=False):
        assert_message_matches(got, want)
    if vector.get("extra_responses") == "non2xx_ok":
        # Another protocol's bytes follow the Upgrade request; the helper denied the upgrade with
        # a 200, so they are read as HTTP/1.1 and may be refused, but never form a message.
        assert len(messages) == len(listed)
        return
    assert len(messages) == len(listed), outcome.events
    assert outcome.error is None, outcome.message
    if vector.get("trailing_incomplete"):
        assert outcome.end == "need_data"
    else:
        # Either closed at a boundary, or parked after "Connection: close" with bytes left over.
        assert outcome.end in ("closed", "paused")


@pytest.mark.parametrize("vector", _ids("reject"))
def test_reject_vector_is_refused(vector: dict[str, Any]) -> None:
    outcome = _read(vector)
    messages = complete_messages(outcome.events)
    listed = vector["messages"]
    assert len(messages) <= len(listed), f"offending message accepted: {outcome.events}"
    for got, want in zip(messages, listed, strict=False):
        assert_message_matches(got, want)
    assert outcome.error is not None or outcome.end == "paused", outcome
    assert outcome.error is None or 400 <= outcome.error < 600


@pytest.mark.parametrize("vector", _ids("either"))
def test_either_vector_gives_events_or_remote_protocol_error(vector: dict[str, Any]) -> None:
    # read_all_ways lets any exception but RemoteProtocolError escape, which fails the test.
    outcome = _read(vector)
    assert outcome.events or outcome.error is not None


def test_every_vector_is_run() -> None:
    declared = json.loads(CORPUS.read_text(encoding="utf-8"))["counts"]
    counts = {kind: len(_ids(kind)) for kind in declared}
    assert counts == declared
    assert sum(counts.values()) == len(VECTORS)


def test_latin1_expands_parts_like_the_runner() -> None:
    parts = ["ab", {"repeat": "xy", "times": 3}, {"pause": 0.5}, "c"]
    assert latin1(parts) == b"abxyxyxyc"
    assert latin1("\xff") == b"\xff"
    with pytest.raises(ValueError, match="bad raw part"):
        latin1([{"bogus": 1}])
