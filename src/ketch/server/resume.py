"""The Task side of `run_eagerly`: resume a handler coroutine that suspended.

Kept out of the compiled build on purpose (setup.py's COMPILED list): when a pending Task is
dropped, the interpreter closes this coroutine, and the close reaches the handler as
GeneratorExit, so its ``finally`` blocks run (files get closed).  A compiled coroutine that is
dropped skips them (docs/build.md).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Coroutine, Generator

__all__ = ["drive"]


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


async def drive(coro: Coroutine[Any, Any, None], pending: Any) -> None:
    await _resume(coro, pending)
