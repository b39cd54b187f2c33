"""ASGI lifespan: start-up and shutdown events, with state shared into every request's scope."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..errors import KetchError

if TYPE_CHECKING:
    from .types import ASGIApp, Message

__all__ = ["Lifespan", "LifespanFailure"]

error_log = logging.getLogger("ketch.error")


class LifespanFailure(KetchError):
    """The app reported ``lifespan.startup.failed``, or crashed in start-up with lifespan "on"."""


class Lifespan:
    """Runs the app's lifespan scope in a task beside the server.

    Args:
        app: the ASGI 3 app.
        mode: "auto" (an app that raises on the lifespan scope is taken not to support it),
            "on" (failing to run it is an error) or "off" (never run it).
    """

    def __init__(self, app: ASGIApp, mode: str = "auto") -> None:
        self.app = app
        self.mode = mode
        self.state: dict[str, Any] = {}
        self._receive_queue: asyncio.Queue[Message] = asyncio.Queue()
        self._startup_done = asyncio.Event()
        self._shutdown_done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failed: str | None = None
        self._unsupported = False
        self._error = False

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the answer.

        Raises:
            LifespanFailure: the app said start-up failed, or crashed with lifespan "on".
        """
        if self.mode == "off":
            return
        self._task = asyncio.get_running_loop().create_task(self._main())
        await self._receive_queue.put({"type": "lifespan.startup"})
        await self._startup_done.wait()
        if self._failed is not None or (self._error and self.mode == "on"):
            raise LifespanFailure(f"application start-up failed: {self._failed or 'it raised'}")

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the answer."""
        if self.mode == "off" or self._task is None or self._unsupported or self._error:
            return
        await self._receive_queue.put({"type": "lifespan.shutdown"})
        await self._shutdown_done.wait()
        if self._failed is not None:
            error_log.error("Application shutdown failed: %s", self._failed)

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:
            if not self._startup_done.is_set() and self.mode == "auto":
                self._unsupported = True
                error_log.info("ASGI 'lifespan' protocol appears unsupported (%r).", exc)
            else:
                self._error = True
                error_log.error("Exception in 'lifespan' protocol", exc_info=exc)
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
        finally:
            self._startup_done.set()
            self._shutdown_done.set()

    async def _receive(self) -> Message:
        return await self._receive_queue.get()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self._startup_done.set()
        elif kind == "lifespan.startup.failed":
            self._failed = message.get("message", "") or "no reason given"
            self._startup_done.set()
        elif kind == "lifespan.shutdown.complete":
            self._shutdown_done.set()
        elif kind == "lifespan.shutdown.failed":
            self._failed = message.get("message", "") or "no reason given"
            self._shutdown_done.set()
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message type {kind!r}")
