"""A keep-alive connection's handlers on Python 3.11: run in the connection's `Runner` Task.

The behaviour a handler sees must be a Task's own, request after request: timeouts, cancelling
itself, contextvars, the end of the grace period, and no Task left behind by a closed connection.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import anyio
import pytest

from ketch.server.eager import RUNNERS, run_eagerly
from ketch.server.resume import Runner
from tests.support import RawClient, async_test, respond, serve, serving

WARM_UP = 3  # the runner is made at a connection's 2nd request and waits idle from the 3rd


class Recorder:
    """An app whose path says what to do; records the current Task of every request."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any] | None] = []
        self.outcome: list[str] = []
        self.waiting_forever = asyncio.Event()
        self.variable: contextvars.ContextVar[str] = contextvars.ContextVar("request")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        task = asyncio.current_task()
        self.tasks.append(task)
        assert task is not None
        seen = self.variable.get("unset")
        self.variable.set(path)
        if path == "/wait":
            await asyncio.sleep(0.01)
            assert asyncio.current_task() is task
        elif path == "/timeout":
            try:
                async with asyncio.timeout(0.02):
                    await asyncio.sleep(5)
            except TimeoutError:
                seen = "timed out"
        elif path == "/cancel-and-return":
            task.cancel()
            task.cancel()
        elif path == "/cancel-and-wait":
            task.cancel()
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                seen = "cancelled"
        elif path == "/task-group":
            # A failing child cancels the parent at once: unless the parent Task still counts
            # a cancellation asked of it before (TaskGroup tests cancelling()).
            async def fail() -> None:
                raise ValueError

            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(fail())
                    await asyncio.sleep(5)
            except* ValueError:
                seen = "group failed"
        elif path == "/move-on":
            with anyio.move_on_after(0.02) as scope:  # anyio counts the Task's cancellations
                await anyio.sleep(5)
            seen = "moved on" if scope.cancelled_caught else "not moved on"
        elif path == "/cancelling":
            seen = f"cancelling {task.cancelling()}"  # a fresh Task's count: 0
        elif path == "/forever":
            self.waiting_forever.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.outcome.append("cancelled")
                raise
        await respond(send, seen.encode())


async def bodies(client: RawClient, *paths: str) -> list[bytes]:
    """Request `paths` one after another on `client`; their bodies."""
    answers = []
    for path in paths:
        response = await client.request(target=path)
        assert response.status == 200, response
        answers.append(response.body)
    return answers


def runner_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if "_serve" in repr(task.get_coro())]


def assert_still_in_the_runner(app: Recorder) -> None:
    """On 3.11, the warmed-up connection's requests all ran in its one runner Task."""
    if RUNNERS:
        tasks = app.tasks[WARM_UP - 1 :]
        assert all(task is tasks[0] for task in tasks), tasks


@pytest.mark.skipif(not RUNNERS, reason="3.12+ gives every request an eager Task of its own")
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_handlers_of_a_keep_alive_connection_run_in_its_runner(loop: str) -> None:
    app = Recorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await bodies(client, *["/"] * WARM_UP, "/wait", "/", "/wait")
        (runner,) = runner_tasks()
    tasks = app.tasks[WARM_UP - 1 :]
    assert all(task is runner for task in tasks), tasks
    assert all(task is not runner for task in app.tasks[: WARM_UP - 1])


@async_test()
async def test_every_request_has_a_context_of_its_own() -> None:
    app = Recorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        paths = ["/", "/wait", "/", "/wait", "/wait", "/", "/"]
        assert await bodies(client, *paths) == [b"unset"] * len(paths)


@async_test()
async def test_a_timeout_fires_in_a_waiting_handler_and_the_connection_goes_on() -> None:
    app = Recorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        answers = await bodies(
            client, *["/"] * WARM_UP, "/timeout", "/wait", "/timeout", "/task-group", "/move-on"
        )
    assert answers[WARM_UP:] == [
        b"timed out",
        b"unset",
        b"timed out",
        b"group failed",
        b"moved on",
    ]
    assert_still_in_the_runner(app)


@async_test()
async def test_a_handler_that_cancels_its_task_and_returns_does_not_cancel_the_next() -> None:
    app = Recorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        answers = await bodies(
            client,
            *["/"] * WARM_UP,
            "/cancel-and-return",
            "/wait",
            "/cancel-and-return",
            "/",
            "/cancelling",
        )
    assert answers[WARM_UP:] == [b"unset"] * 4 + [b"cancelling 0"]
    assert_still_in_the_runner(app)


@async_test()
async def test_a_handler_that_cancels_its_task_then_waits_is_cancelled_there() -> None:
    app = Recorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        answers = await bodies(
            client,
            *["/"] * WARM_UP,
            "/cancel-and-wait",
            "/wait",
            "/cancel-and-wait",
            "/task-group",
            "/move-on",
            "/cancelling",
        )
    assert answers[WARM_UP:] == [
        b"cancelled",
        b"unset",
        b"cancelled",
        b"group failed",
        b"moved on",
        b"cancelling 0",
    ]
    assert_still_in_the_runner(app)


@async_test()
async def test_the_grace_period_ends_a_waiting_handler_and_shutdown_is_prompt() -> None:
    app = Recorder()
    async with (
        serving(app, timeout_graceful_shutdown=0.3) as (server, task),
        await RawClient.connect(server.port) as client,
    ):
        await bodies(client, *["/"] * WARM_UP)
        await client.send(b"GET /forever HTTP/1.1\r\nHost: h\r\n\r\n")
        await app.waiting_forever.wait()
        loop = asyncio.get_running_loop()
        began = loop.time()
        server.request_shutdown()
        await task
        # The grace period, not the grace period plus the wait for cancelled handlers.
        assert loop.time() - began < 0.8
    assert app.outcome == ["cancelled"]
    assert runner_tasks() == []


@async_test()
async def test_no_runner_outlives_its_connection() -> None:
    app = Recorder()
    async with serve(app) as server:
        for _ in range(3):
            async with await RawClient.connect(server.port) as client:
                await bodies(client, *["/"] * WARM_UP, "/wait")
        for _ in range(100):
            if not runner_tasks():
                break
            await asyncio.sleep(0.01)
        assert runner_tasks() == []


@async_test()
async def test_a_runner_closed_while_idle_ends() -> None:
    runner = Runner(asyncio.get_running_loop())
    await asyncio.sleep(0)
    assert runner.idle
    runner.close()
    async with asyncio.timeout(1):
        await runner.task
    assert not runner.idle


@async_test()
async def test_a_handler_started_within_another_ones_eager_step_gets_a_task_of_its_own() -> None:
    # A handler's first step can complete its response and so start the next request's handler
    # inside it; if both then wait, sharing the runner would lose one of them.
    loop = asyncio.get_running_loop()
    runner = Runner(loop)
    await asyncio.sleep(0)
    ended: list[str] = []
    both_ended = asyncio.Event()
    tasks: dict[str, asyncio.Task[Any] | None] = {}

    def done(name: str, exc: BaseException | None) -> None:
        assert exc is None
        ended.append(name)
        if len(ended) == 2:
            both_ended.set()

    async def inner() -> None:
        tasks["inner"] = asyncio.current_task()
        await asyncio.sleep(0.01)

    async def outer() -> None:
        tasks["outer"] = asyncio.current_task()
        run_eagerly(inner(), loop, done, "inner", runner)
        await asyncio.sleep(0.02)
        assert asyncio.current_task() is tasks["outer"]

    assert run_eagerly(outer(), loop, done, "outer", runner) is runner.task
    async with asyncio.timeout(2):
        await both_ended.wait()
    assert ended == ["inner", "outer"]
    assert tasks["outer"] is runner.task
    assert tasks["inner"] is not runner.task
    runner.close()
