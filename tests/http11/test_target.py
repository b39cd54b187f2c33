"""`split_target`: the path and query of every request-target form."""

from __future__ import annotations

import pytest

from ketch.http11 import split_target


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        (b"GET", b"/a/b?x=1&y", (b"/a/b", b"x=1&y")),
        (b"GET", b"/", (b"/", b"")),
        (b"GET", b"/p%2Fq?", (b"/p%2Fq", b"")),
        (b"GET", b"http://example.com/a?b", (b"/a", b"b")),
        (b"GET", b"http://example.com", (b"/", b"")),
        (b"GET", b"http://example.com?q=1", (b"/", b"q=1")),
        (b"GET", b"http://example.com?q=/x", (b"/", b"q=/x")),
        (b"OPTIONS", b"*", (b"*", b"")),
        (b"CONNECT", b"example.com:443", (b"example.com:443", b"")),
    ],
)
def test_split_target_gives_raw_path_and_query(
    method: bytes, target: bytes, expected: tuple[bytes, bytes]
) -> None:
    assert split_target(method, target) == expected
