"""Giving memory back to the operating system after a burst of connections.

A burst of connections that each buffered a few hundred KiB leaves the C allocator (glibc) holding
the freed memory: Python's own objects are all gone, but the process stays tens of MiB larger.
``malloc_trim(0)`` hands the free pages back.  The server calls it from its periodic tick when the
number of open connections has fallen well below its recent peak, so it runs once per burst, never
per request.  Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["release_free_memory"]


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
