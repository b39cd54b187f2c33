"""Differential fuzzing against llhttp (httptools) and h11 (issue #7): ketch must never accept a
message that another parser frames differently.  Bounded and deterministic for CI (fixed
derandomized examples, no database); fuzz/run.py is the long-run version of the same check."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..http11.helpers import split_at
from .framing import differential
from .mutations import mutated_streams
from .strategies import Message, pipelines, wire

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is not a bug
)


@settings(SETTINGS, max_examples=1500)
@given(stream=mutated_streams(), data=st.data())
def test_ketch_never_accepts_what_llhttp_or_h11_frame_differently(
    stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=4, unique=True))
    _, divergences = differential(
        stream, split_at(stream, cuts), whole_first=data.draw(st.booleans())
    )
    assert not divergences, f"{stream!r}: {divergences}"


@settings(SETTINGS, max_examples=150)
@given(pipeline=pipelines(max_size=3))
def test_all_three_parsers_frame_valid_pipelines_alike(pipeline: list[Message]) -> None:
    stream = wire(pipeline)
    ketch, divergences = differential(stream)
    assert not divergences, f"{stream!r}: {divergences}"
    assert len(ketch.messages) == len(pipeline)
