"""Carrying out a `FilePlan` with an open file: one write when small, sendfile when large.

Compiled with mypyc (the per-request part of sending a file); `files` opens and plans.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ..server import Exchange
    from .plan import FilePlan

__all__ = ["INLINE_LIMIT", "read_exactly", "send_plan"]

INLINE_LIMIT = 64 * 1024  # the server's own threshold below which sendfile is not worth it


def send_plan(
    exchange: Exchange, fd: int, plan: FilePlan, inline_limit: int = INLINE_LIMIT
) -> Awaitable[None] | None:
    """Carry out `plan` with the open file `fd`: at once when it fits one write (None is
    returned), else return the coroutine that sends it (with sendfile).  The caller closes `fd`
    after that."""
    if not plan.ranges:
        exchange.respond(plan.status, plan.headers)
        return None
    if plan.content_length <= inline_limit:
        exchange.respond(plan.status, plan.headers, _read_content(fd, plan))
        return None
    return _send_large(exchange, fd, plan)


async def _send_large(exchange: Exchange, fd: int, plan: FilePlan) -> None:
    # A file object for sendfile, around the caller's descriptor (opening nothing).
    file = open(fd, "rb", buffering=0, closefd=False)  # noqa: SIM115, ASYNC230
    try:
        exchange.start(plan.status, plan.headers)
        if not plan.part_heads:
            start, end = plan.ranges[0]
            await exchange.sendfile(file, start, end - start)
            await exchange.end()
            return
        for head, (start, end) in zip(plan.part_heads, plan.ranges, strict=True):
            await exchange.write(head)
            await exchange.sendfile(file, start, end - start)
        await exchange.write(plan.closing, end=True)
    finally:
        file.close()


def _read_content(fd: int, plan: FilePlan) -> bytes:
    """The whole content of a small plan, part heads included."""
    pieces = []
    heads = plan.part_heads or [b""]
    for head, (start, end) in zip(heads, plan.ranges, strict=True):
        pieces.append(head)
        pieces.append(read_exactly(fd, start, end - start))
    pieces.append(plan.closing)
    return b"".join(pieces)


def read_exactly(fd: int, offset: int, count: int) -> bytes:
    """`count` bytes of `fd` from `offset`.

    Raises:
        OSError: the file ended first (it shrank since its ``fstat``).
    """
    data = os.pread(fd, count, offset)
    while len(data) < count:
        more = os.pread(fd, count - len(data), offset + len(data))
        if not more:
            raise OSError(f"the file ended {count - len(data)} bytes early (it shrank)")
        data += more
    return data
