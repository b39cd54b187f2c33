"""Giving memory back to the operating system after a burst of connections.

A burst of connections that each buffered a few hundred KiB leaves the C allocator (glibc) holding
the freed memory: Python's own objects are all gone, but the process stays tens of MiB larger.
``malloc_trim(0)`` hands the free pages back.  The server calls it from its periodic tick once a
burst is over (`AfterBurst`), so it runs at most once a tick, never per request.  Elsewhere than
glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BURST", "AfterBurst", "release_free_memory"]

BURST = 64  # connections closed since the last release that make another one worth it


def _find_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, for one)
        return None
    return trim


_malloc_trim = _find_malloc_trim()


def release_free_memory() -> None:
    """Return the allocator's free memory to the operating system, where the platform allows."""
    if _malloc_trim is not None:
        _malloc_trim(0)


class AfterBurst:
    """Decides when a burst of connections is over, so that the memory it used can go back.

    A burst is `BURST` or more connections closed since the last release, whether they were open
    together or one after another (a slow or busy server sees even a simultaneous burst trickle
    in).  It is over when the connections still open are at most a quarter of the most that were
    open at once since the last release: under steady load nothing is released, since the memory
    is about to be used again.  If some connections were still open at a release, the last of them
    closing makes one more release due.
    """

    def __init__(self) -> None:
        self.peak = 0  # the most connections open at once since the last release
        self.closed = 0  # connections closed since the last release
        self.stragglers = False

    def opened(self, open_now: int) -> None:
        if open_now > self.peak:
            self.peak = open_now

    def due(self, open_now: int) -> bool:
        """Whether to release now, given the connections open; called from the server's tick."""
        if self.closed >= BURST and open_now <= self.peak // 4:
            self.peak = open_now
            self.closed = 0
            self.stragglers = open_now > 0
            return True
        if self.stragglers and open_now == 0:
            self.closed = 0
            self.stragglers = False
            return True
        return False
