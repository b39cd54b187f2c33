"""Parsing Range and framing multipart/byteranges (RFC 9110 §14)."""

from __future__ import annotations

import pytest

from ketch.static import MAX_RANGES, parse_range
from ketch.static.ranges import multipart_heads


@pytest.mark.parametrize(
    ("value", "ranges"),
    [
        (b"bytes=0-99", [(0, 100)]),
        (b"bytes=-500", [(500, 1000)]),  # the last 500 bytes
        (b"bytes=500-", [(500, 1000)]),
        (b"bytes=-5000", [(0, 1000)]),  # a suffix longer than the file is all of it
        (b"bytes=900-5000", [(900, 1000)]),  # the last position is clamped
        (b"bytes=999-999", [(999, 1000)]),
        (b"BYTES=0-0", [(0, 1)]),  # units are case-insensitive
        (b"bytes= 0-9 ,\t20-29 ", [(0, 10), (20, 30)]),
        (b"bytes=0-9,,20-29,", [(0, 10), (20, 30)]),  # empty list members are ignored
        (b"bytes=0-0,999-,500-600,2000-", [(0, 1), (500, 601), (999, 1000)]),
    ],
)
def test_satisfiable_ranges_are_sorted_and_clamped(
    value: bytes, ranges: list[tuple[int, int]]
) -> None:
    assert parse_range(value, 1000) == ranges


@pytest.mark.parametrize(
    ("value", "ranges"),
    [
        (b"bytes=0-10,5-20", [(0, 21)]),  # overlapping
        (b"bytes=10-19,0-9", [(0, 20)]),  # adjacent, out of order
        (b"bytes=0-99,10-20,-10", [(0, 100), (990, 1000)]),  # contained
        (b"bytes=0-,0-,0-,0-", [(0, 1000)]),
    ],
)
def test_overlapping_and_adjacent_ranges_are_merged(
    value: bytes, ranges: list[tuple[int, int]]
) -> None:
    assert parse_range(value, 1000) == ranges


@pytest.mark.parametrize("value", [b"bytes=1000-", b"bytes=-0", b"bytes=1000-2000,5000-"])
def test_ranges_that_select_nothing_are_unsatisfiable(value: bytes) -> None:
    assert parse_range(value, 1000) == []


@pytest.mark.parametrize(
    "value",
    [
        b"bytes",
        b"bytes 0-99",
        b"items=0-99",
        b"bytes=",
        b"bytes=,",
        b"bytes=0",
        b"bytes=5-1",  # last before first
        b"bytes=a-9",
        b"bytes=0-b",
        b"bytes=-",
        b"bytes=--5",
        b"bytes=+1-5",  # int() would take these
        b"bytes= 1 - 5",
        b"bytes=1_0-20",
        "bytes=\u0661-2".encode(),  # an Arabic-Indic digit
        b"bytes=0-1,x",
    ],
)
def test_malformed_range_values_are_ignored(value: bytes) -> None:
    assert parse_range(value, 1000) is None


def test_too_many_ranges_are_ignored() -> None:
    specs = ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(MAX_RANGES + 1))
    assert parse_range(f"bytes={specs}".encode(), 1000) is None
    specs = ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(MAX_RANGES))
    assert len(parse_range(f"bytes={specs}".encode(), 1000) or []) == MAX_RANGES


def test_numbers_past_any_file_size_are_read_without_building_them() -> None:
    huge = b"9" * 5000  # past Python's int() digit limit
    assert parse_range(b"bytes=0-" + huge, 1000) == [(0, 1000)]
    assert parse_range(b"bytes=" + huge + b"-", 1000) == []
    assert parse_range(b"bytes=-" + huge, 1000) == [(0, 1000)]


def test_multipart_heads_frame_each_slice() -> None:
    heads, closing = multipart_heads([(0, 10), (20, 30)], 100, b"text/plain", b"B")
    assert heads == [
        b"--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-9/100\r\n\r\n",
        b"\r\n--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 20-29/100\r\n\r\n",
    ]
    assert closing == b"\r\n--B--\r\n"
