"""Run a handler coroutine eagerly: its first step runs now, not after a trip through the loop.

Most requests are answered without waiting for anything, so the handler's first step (up to its
first real wait) runs right away, inside the pump: the response is written before the next read,
pipelined answers leave together, and a handler that never waits is done when this returns.

The step runs *inside its Task*, as Python 3.12's eager tasks do: ``asyncio.current_task()`` is
the handler's own Task from its first line, which ``asyncio.timeout``, anyio's cancel scopes
(Starlette's ``BaseHTTPMiddleware``) and task groups need.  On 3.12+ that is
``Task(eager_start=True)`` itself.  On 3.11 the Task is made first and its first step is run here
with the Task entered as current; the Task's own first step then only carries on where the handler
stopped (`resume.carry_on`), or ends at once if the handler finished.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import TYPE_CHECKING, Any, TypeVar

from .resume import Progress, carry_on, run

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = ["run_eagerly"]

T = TypeVar("T")

_EAGER_START = sys.version_info >= (3, 12)
_enter_task = asyncio.tasks._enter_task
_leave_task = asyncio.tasks._leave_task
_current_task = asyncio.current_task


def run_eagerly(
    coro: Coroutine[Any, Any, None],
    loop: asyncio.AbstractEventLoop,
    done: Callable[[T, BaseException | None], None],
    arg: T,
) -> asyncio.Task[None] | None:
    """Start `coro` now, in its own Task; call ``done(arg, exception or None)`` when it finishes.

    Returns:
        The Task that carries on with the coroutine if it waits, else ``None`` (it finished
        within this call, and `done` was already called).
    """
    context = contextvars.copy_context()
    if _EAGER_START:
        task = asyncio.Task(run(coro), loop=loop, context=context, eager_start=True)  # type: ignore[call-arg]
        if task.done():
            done(arg, None if task.cancelled() else task.exception())
            return None
        task.add_done_callback(lambda t: done(arg, None if t.cancelled() else t.exception()))
        return task
    progress = Progress(coro)
    task = loop.create_task(carry_on(progress), context=context)
    outer = _current_task(loop)  # a handler may finish a response that starts the next one
    if outer is not None:
        _leave_task(loop, outer)
    _enter_task(loop, task)
    exc: BaseException | None = None
    try:
        progress.pending = context.run(coro.send, None)
    except StopIteration:
        progress.finished = True
    except BaseException as error:
        progress.finished = True
        exc = error
    finally:
        _leave_task(loop, task)
        if outer is not None:
            _enter_task(loop, outer)
    if progress.finished:
        done(arg, exc)
        return None

    def finished(task: asyncio.Task[None]) -> None:
        if task.cancelled() and progress.coro is not None:
            # Cancelled before its first step: the handler never saw it, close it (its finally
            # blocks run).
            progress.coro.close()
        done(arg, None if task.cancelled() else task.exception())

    task.add_done_callback(finished)
    return task
