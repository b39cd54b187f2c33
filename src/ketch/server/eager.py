"""Run a handler coroutine eagerly: no Task unless it actually suspends.

Most requests are answered without waiting for anything, and an asyncio Task per request costs
about 6 % of a request's CPU (../shared/design.md).  So the first step of the coroutine runs right
away, inside a copied context (as a Task's would); only if it suspends is the rest handed to a
Task, which resumes it where it stopped.  Python 3.12's eager task factory does the same thing.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, TypeVar

from .resume import drive

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Coroutine

__all__ = ["run_eagerly"]

T = TypeVar("T")


def run_eagerly(
    coro: Coroutine[Any, Any, None],
    loop: asyncio.AbstractEventLoop,
    done: Callable[[T, BaseException | None], None],
    arg: T,
) -> asyncio.Task[None] | None:
    """Start `coro` now; call ``done(arg, exception or None)`` when it finishes.

    Returns:
        The Task that carries on with the coroutine if it suspended, else ``None`` (it finished
        within this call, and `done` was already called).
    """
    context = contextvars.copy_context()
    try:
        pending = context.run(coro.send, None)
    except StopIteration:
        done(arg, None)
        return None
    except BaseException as exc:
        done(arg, exc)
        return None
    task = loop.create_task(drive(coro, pending), context=context)
    task.add_done_callback(lambda t: done(arg, None if t.cancelled() else t.exception()))
    return task
