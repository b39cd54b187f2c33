"""Run a handler coroutine eagerly: its first step runs now, not after a trip through the loop.

Most requests are answered without waiting for anything, so the handler's first step (up to its
first real wait) runs right away, inside the pump: the response is written before the next read,
pipelined answers leave together, and a handler that never waits is done when this returns.

The step runs *inside a Task*, as Python 3.12's eager tasks do: ``asyncio.current_task()`` is a
Task from the handler's first line, which ``asyncio.timeout``, anyio's cancel scopes (Starlette's
``BaseHTTPMiddleware``) and task groups need.

* On 3.12+ that is ``Task(eager_start=True)``: a Task per request, which costs little there.
* On 3.11 a Task is expensive (about 1.5 µs: made, scheduled, run, registered in a WeakSet), so a
  keep-alive connection has one, its `resume.Runner`.  While the runner is idle, a handler's
  first step runs with the runner's Task as the current one; a handler that finishes there costs
  no Task at all, one that waits is handed to the runner, which carries it on to its end.  So
  handlers that never wait share their connection's Task, as handlers did in aiohttp's
  per-connection task: keep per-request state in contextvars (each request has its own context,
  on every version), not in a dictionary keyed by ``current_task()``.  When the runner is busy or
  not started yet (a connection's first requests), the Task is made first, entered as current for
  the eager step, and its own step only carries on where the handler stopped
  (`resume.carry_on`), or ends at once if the handler finished.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import TYPE_CHECKING, Any, TypeVar

from .resume import Progress, Runner, carry_on, run

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = ["RUNNERS", "Runner", "run_eagerly"]

T = TypeVar("T")

_EAGER_START = sys.version_info >= (3, 12)
RUNNERS = not _EAGER_START
"""Whether keep-alive connections should make a `Runner` for their handlers (3.11)."""
_enter_task = asyncio.tasks._enter_task
_leave_task = asyncio.tasks._leave_task
_current_task = asyncio.current_task


def run_eagerly(
    coro: Coroutine[Any, Any, None],
    loop: asyncio.AbstractEventLoop,
    done: Callable[[T, BaseException | None], None],
    arg: T,
    runner: Runner | None = None,
) -> asyncio.Task[None] | None:
    """Start `coro` now, in a Task; call ``done(arg, exception or None)`` when it finishes.

    `runner`: the connection's `Runner` (3.11), used if idle; else the coroutine gets a Task of
    its own.

    Returns:
        The Task that carries on with the coroutine if it waits, else ``None`` (it finished
        within this call, and `done` was already called).
    """
    context = contextvars.copy_context()
    if runner is not None and runner.idle:
        return _run_in(runner, coro, loop, done, arg, context)
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
        exc = None  # (interpreted) its traceback holds this frame: no way back to it from there
        return None

    def finished(task: asyncio.Task[None]) -> None:
        if task.cancelled() and progress.coro is not None:
            # Cancelled before its first step: the handler never saw it, close it (its finally
            # blocks run).
            progress.coro.close()
        done(arg, None if task.cancelled() else task.exception())

    task.add_done_callback(finished)
    return task


def _run_in(
    runner: Runner,
    coro: Coroutine[Any, Any, None],
    loop: asyncio.AbstractEventLoop,
    done: Callable[[T, BaseException | None], None],
    arg: T,
    context: contextvars.Context,
) -> asyncio.Task[None] | None:
    """`run_eagerly` with the first step inside the idle `runner`'s Task."""
    task = runner.task
    outer = _current_task(loop)
    if outer is not None:
        _leave_task(loop, outer)
    _enter_task(loop, task)
    runner.stepping = True
    pending: Any = None
    exc: BaseException | None = None
    finished = False
    try:
        pending = context.run(coro.send, None)
    except StopIteration:
        finished = True
    except BaseException as error:
        finished = True
        exc = error
    finally:
        runner.stepping = False
        _leave_task(loop, task)
        if outer is not None:
            _enter_task(loop, outer)
    # (The step is inline in both paths, not a shared helper: in the compiled build an exception
    # leaving a function gets a traceback made, and StopIteration leaves every finished step.)
    if finished:
        done(arg, exc)
        exc = None  # as in run_eagerly
        return None
    runner.take(coro, pending, context, done, arg)
    return task
