"""The Task side of `run_eagerly`: carry on with a handler coroutine after its eager first step.

Kept out of the compiled build on purpose (setup.py's COMPILED list): when a pending Task is
dropped, the interpreter closes these coroutines, and the close reaches the handler as
GeneratorExit, so its ``finally`` blocks run (files get closed).  A compiled coroutine that is
dropped skips them (docs/build.md).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Coroutine, Generator

__all__ = ["Progress", "carry_on", "run"]


class Progress:
    """How far the eager first step of a handler got (filled in by `run_eagerly`)."""

    __slots__ = ("coro", "finished", "pending")

    def __init__(self, coro: Coroutine[Any, Any, None]) -> None:
        self.coro = coro
        self.pending: Any = None  # the future the handler waits on after its first step
        self.finished = False


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], pending: Any) -> Generator[Any, Any, None]:
    # Hand the future the coroutine is blocked on to the Task, then keep forwarding: exactly what
    # a Task does for a coroutine it started itself.
    while True:
        try:
            yield pending
        except BaseException as exc:  # cancellation included: deliver it where the coroutine waits
            try:
                pending = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                pending = coro.send(None)
            except StopIteration:
                return


async def carry_on(progress: Progress) -> None:
    """The Task's coroutine: nothing to do if the first step finished the handler."""
    if progress.finished:
        return
    try:
        await _resume(progress.coro, progress.pending)
    finally:
        progress.coro = None  # type: ignore[assignment]


async def run(coro: Coroutine[Any, Any, None]) -> None:
    """An interpreted frame around the handler for 3.12's eager tasks (see the module doc)."""
    await coro
