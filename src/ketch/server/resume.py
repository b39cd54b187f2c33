"""The Task side of `run_eagerly`: carry on with a handler coroutine after its eager first step.

Kept out of the compiled build on purpose (setup.py's COMPILED list): when a pending Task is
dropped, the interpreter closes these coroutines, and the close reaches the handler as
GeneratorExit, so its ``finally`` blocks run (files get closed).  A compiled coroutine that is
dropped skips them (docs/build.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Generator

__all__ = ["Progress", "Runner", "carry_on", "run"]


class Progress:
    """How far the eager first step of a handler got (filled in by `run_eagerly`)."""

    __slots__ = ("coro", "finished", "pending")

    def __init__(self, coro: Coroutine[Any, Any, None]) -> None:
        self.coro = coro
        self.pending: Any = None  # the future the handler waits on after its first step
        self.finished = False


@types.coroutine
def _resume(
    coro: Coroutine[Any, Any, None],
    pending: Any,
    context: contextvars.Context | None = None,
    thrown: BaseException | None = None,
) -> Generator[Any, Any, None]:
    # Hand the future the coroutine is blocked on to the Task, then keep forwarding: exactly what
    # a Task does for a coroutine it started itself.  With a `context`, each step runs in it (a
    # `Runner` carries handlers of several requests, each with its own context).
    send = coro.send if context is None else lambda value: context.run(coro.send, value)
    throw = coro.throw if context is None else lambda exc: context.run(coro.throw, exc)
    if thrown is not None:
        try:
            pending = throw(thrown)
        except StopIteration:
            return
    while True:
        try:
            yield pending
        except BaseException as exc:  # cancellation included: deliver it where the coroutine waits
            try:
                pending = throw(exc)
            except StopIteration:
                return
        else:
            try:
                pending = send(None)
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


class Runner:
    """One keep-alive connection's Task for its handlers, on Python 3.11 (see eager.py).

    While `idle`, its Task waits, and a handler's eager first step runs with that Task as the
    current one; a handler that finished in that step cost no Task of its own.  One that waits is
    handed over (`take`) and carried on by the Task until it ends, then ``done(arg, exception)``
    is called and the Task waits again.  `close` (the connection is gone) ends the Task once no
    handler is carried on.
    """

    __slots__ = (
        "arg",
        "closed",
        "context",
        "coro",
        "done",
        "pending",
        "stepping",
        "task",
        "waiter",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.coro: Coroutine[Any, Any, None] | None = None
        self.pending: Any = None
        self.context: contextvars.Context | None = None
        self.done: Callable[[Any, BaseException | None], None] | None = None
        self.arg: Any = None
        self.waiter: asyncio.Future[None] | None = None  # what the Task waits on while idle
        self.closed = False
        self.stepping = False  # a handler's eager step runs in the Task now (`run_eagerly`)
        # A context of its own: none of the handlers' variables leak into the Task.
        self.task = loop.create_task(_serve(self, loop), context=contextvars.Context())

    @property
    def idle(self) -> bool:
        """Waiting for a handler: none carried on, none handed over, none in its eager step.

        (A handler's step can complete its response and so start the next request's handler,
        nested: that one must not share the Task.)
        """
        waiter = self.waiter
        return waiter is not None and not waiter.done() and not self.stepping

    def take(
        self,
        coro: Coroutine[Any, Any, None],
        pending: Any,
        context: contextvars.Context,
        done: Callable[[Any, BaseException | None], None],
        arg: Any,
    ) -> None:
        """Carry on with `coro`, which waits on `pending` after its eager step (was `idle`)."""
        self.coro = coro
        self.pending = pending
        self.context = context
        self.done = done
        self.arg = arg
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        # else: the step cancelled this Task; it wakes with the CancelledError and delivers it

    def close(self) -> None:
        """The connection is gone: end the Task once no handler is carried on."""
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _serve(runner: Runner, loop: asyncio.AbstractEventLoop) -> None:
    task = asyncio.current_task()
    assert task is not None
    while not runner.closed:
        runner.waiter = waiter = loop.create_future()
        thrown: BaseException | None = None
        try:
            await waiter
        except asyncio.CancelledError as cancelled:
            if runner.coro is None:
                # A handler that finished in its eager step cancelled its (this) Task on its
                # way out (maybe more than once): for a Task of its own that would have had no
                # effect.
                while task.cancelling():
                    task.uncancel()
                continue
            thrown = cancelled  # cancelled in the eager step, then waited: deliver it there
        finally:
            runner.waiter = None
        coro = runner.coro
        if coro is None:
            continue  # woken by close
        runner.coro = None
        error: BaseException | None = None
        try:
            await _resume(coro, runner.pending, runner.context, thrown)
        except BaseException as exc:  # the handler's end, for `done`
            error = exc
        done, arg = runner.done, runner.arg
        runner.pending = runner.context = runner.done = runner.arg = None
        assert done is not None
        # Cancellations asked of the Task while it carried the handler were the handler's, and
        # ended with it.  (Shutdown cancels a handler after aborting its connection: `closed`.)
        while task.cancelling():
            task.uncancel()
        done(arg, error)
        # The error's traceback holds this frame: no reference from the frame back to it.
        error = thrown = None
