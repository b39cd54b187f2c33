"""However TCP cuts a valid stream, the core reads the same events, and the right ones."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketch.http11 import ConnectionClosed, Data, Event

from ..http11.helpers import read_chunks, split_at
from .strategies import Message, expected_events, pipelines, wire

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is not a bug
)


@SETTINGS
@given(pipeline=pipelines(), data=st.data())
def test_any_split_of_a_valid_stream_gives_the_same_events(
    pipeline: list[Message], data: st.DataObject
) -> None:
    stream = wire(pipeline)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=12, unique=True))
    whole = read_chunks([stream])
    split = read_chunks(split_at(stream, cuts))
    assert split == whole
    assert whole.error is None, whole.message
    assert whole.events == [*expected_events(pipeline), ConnectionClosed()]


@SETTINGS
@given(pipeline=pipelines(), data=st.data())
def test_whole_requests_first_gives_the_same_events(
    pipeline: list[Message], data: st.DataObject
) -> None:
    """`next_request` (the server's one-step path) is only a shortcut through `next_event`."""
    stream = wire(pipeline)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=12, unique=True))
    assert read_chunks(split_at(stream, cuts), whole_first=True) == read_chunks([stream])


@SETTINGS
@given(pipeline=pipelines(max_size=2))
def test_byte_by_byte_delivery_gives_the_same_events(pipeline: list[Message]) -> None:
    stream = wire(pipeline)
    bytewise = read_chunks([stream[i : i + 1] for i in range(len(stream))])
    assert bytewise.events == [*expected_events(pipeline), ConnectionClosed()]


@SETTINGS
@given(pipeline=pipelines(), data=st.data())
def test_stream_cut_short_gives_a_prefix_of_the_events(
    pipeline: list[Message], data: st.DataObject
) -> None:
    # Without EOF a truncated stream waits for more; what was read so far is a prefix of the
    # events, except that a body cut in the middle ends with a shorter Data.
    stream = wire(pipeline)
    cut = data.draw(st.integers(0, len(stream)))
    outcome = read_chunks([stream[:cut]], eof=False)
    assert outcome.error is None, outcome.message
    assert outcome.end in ("need_data", "paused")
    assert is_truncation(outcome.events, expected_events(pipeline))


def is_truncation(got: list[Event], expected: list[Event]) -> bool:
    if got == expected[: len(got)]:
        return True
    *head, last = got
    want = expected[len(head)]
    return (
        head == expected[: len(head)]
        and isinstance(last, Data)
        and isinstance(want, Data)
        and want.data.startswith(last.data)
    )
