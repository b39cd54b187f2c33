"""`Server`: listeners, the connection protocol, lifespan, graceful shutdown and signals.

Shutdown (SIGINT/SIGTERM, or `Server.shutdown`):

1. Stop accepting at once: the listening sockets are closed, so new connections are refused, not
   accepted and reset.
2. Close idle keep-alive connections; requests in flight finish, their responses carry
   ``Connection: close``.  Handlers that go on after their response (background tasks) are
   waited for too.
3. After ``timeout_graceful_shutdown`` seconds, whatever is left is closed and its handlers are
   cancelled.  A second signal skips the wait.
4. The front door's shutdown hook (ASGI lifespan shutdown) runs; ``run`` returns and the process
   exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import TYPE_CHECKING, Any, Self, cast

from .config import Config
from .listeners import bind_sockets, describe
from .protocol import HTTPProtocol
from .state import ServerState

if TYPE_CHECKING:
    from types import TracebackType

    from .handler import Handler, Lifespan

__all__ = ["Server", "install_loop"]

error_log = logging.getLogger("ketch.error")

CANCEL_WAIT = 1.0
"""Seconds a handler cancelled at the end of the grace period gets to finish its cleanup."""


def install_loop(kind: str) -> None:
    """Make `kind` ("auto", "asyncio", "uvloop") the event loop policy for ``asyncio.run``."""
    if kind == "asyncio":
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
        return
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]  # a build env may lack it
    except ImportError:
        if kind == "uvloop":
            raise
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


class Server:
    """An HTTP/1.1 server for one front door.

    Args:
        handler: the front door (see `handler.Handler`).
        config: settings; defaults are `Config()`'s.
        lifespan: the front door's start-up/shutdown hooks, if any.

    Use ``async with Server(...) as server:`` to serve until the block exits, or `serve` to serve
    until a signal.  `addresses` lists the bound addresses (port 0 resolved), `started` is set
    once connections are accepted.
    """

    def __init__(
        self, handler: Handler, config: Config | None = None, *, lifespan: Lifespan | None = None
    ) -> None:
        self.handler = handler
        self.config = config or Config()
        self.lifespan = lifespan
        self.started = asyncio.Event()
        self._servers: list[asyncio.AbstractServer] = []
        self._sockets: list[socket.socket] = []
        self._state: ServerState | None = None
        self._draining: ServerState | None = None
        self._stopping: asyncio.Event | None = None
        self._force = False
        self._addresses: list[Any] = []
        self._described: list[tuple[int, Any]] = []

    @property
    def addresses(self) -> list[Any]:
        """The bound socket addresses (``(host, port, ...)`` tuples or Unix paths)."""
        return list(self._addresses)

    @property
    def port(self) -> int:
        """The first TCP listener's port (the one picked for port 0)."""
        for address in self.addresses:
            if isinstance(address, tuple):
                return int(address[1])
        raise RuntimeError("no TCP listener")

    @property
    def urls(self) -> list[str]:
        """Printable addresses of the listeners."""
        scheme = "https" if self.config.is_ssl else "http"
        return [describe(family, address, scheme) for family, address in self._described]

    async def start(self) -> None:
        """Run the start-up hook, bind, and start accepting connections."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self.lifespan is not None:
            await self.lifespan.startup()
        try:
            context = self.config.make_ssl_context()
            self._sockets = bind_sockets(self.config)
        except BaseException:
            if self.lifespan is not None:
                await self.lifespan.shutdown()
            raise
        self._addresses = [sock.getsockname() for sock in self._sockets]
        self._described = [(sock.family, sock.getsockname()) for sock in self._sockets]
        state = self._state = ServerState(self.config, self.handler, loop)
        try:
            for sock in self._sockets:
                listener = await loop.create_server(
                    lambda: cast("asyncio.Protocol", HTTPProtocol(state)),
                    sock=sock,
                    ssl=context,
                    backlog=self.config.backlog,
                    ssl_handshake_timeout=self.config.timeout_header if context else None,
                )
                self._servers.append(listener)
        except BaseException:
            for started in self._servers:
                started.close()
            for sock in self._sockets:
                sock.close()
            if self.lifespan is not None:
                await self.lifespan.shutdown()
            raise
        state.sweeper.start()
        self.started.set()

    async def serve(self, *, install_signal_handlers: bool = True) -> None:
        """Start, serve until SIGINT/SIGTERM (or `request_shutdown`), then shut down."""
        await self.start()
        if install_signal_handlers:
            self._install_signal_handlers()
        try:
            assert self._stopping is not None
            await self._stopping.wait()
        finally:
            await self.shutdown()

    def request_shutdown(self, *, force: bool = False) -> None:
        """Ask a serving server to shut down (what SIGTERM does); ``force`` skips the grace."""
        if force:
            self._force = True
            for state in (self._state, self._draining):
                if state is not None:
                    state.idle.set()
        if self._stopping is not None:
            self._stopping.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if self._stopping is not None and self._stopping.is_set():
                error_log.warning("Second %s: forcing shutdown", signal.Signals(signum).name)
                self.request_shutdown(force=True)
            else:
                error_log.info("%s: shutting down gracefully", signal.Signals(signum).name)
                self.request_shutdown()

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, on_signal, signum)

    async def shutdown(self) -> None:
        """Stop accepting, drain connections within the grace period, run the shutdown hook."""
        state = self._state
        if state is None:
            return
        self._state = None
        self._draining = state
        for server in self._servers:
            server.close()
        self._servers.clear()
        state.draining = True
        for proto in list(state.connections):
            if proto.cycle is None:
                proto.close()
            elif proto.upgraded is not None:
                proto.upgraded.going_away()  # WebSockets get a 1001 close, and the grace period
        if (state.connections or state.tasks) and not self._force:
            state.idle.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                    told = False
                    while (state.connections or state.tasks) and not self._force:
                        if not state.connections and not told:
                            error_log.info(
                                "Waiting for %d handler(s) still running after their response",
                                len(state.tasks),
                            )
                            told = True
                        await state.idle.wait()
                        state.idle.clear()
        state.draining_hard = True
        for proto in list(state.connections):
            if proto.cycle is not None:
                proto.cycle.lose()
            if proto.transport is not None:
                proto.transport.abort()
        # The grace period is over for the handlers too, including those whose response is sent.
        cancelled = list(state.tasks)
        for task in cancelled:
            task.cancel()
        # Let the aborted connections' callbacks run, and the cancelled handlers their cleanup
        # (a handler that ignores the cancellation gets CANCEL_WAIT seconds, not forever).
        for _ in range(3):
            await asyncio.sleep(0)
        if cancelled:
            await asyncio.wait(cancelled, timeout=CANCEL_WAIT)
        state.sweeper.stop()
        for family, address in self._described:
            if family == socket.AF_UNIX and isinstance(address, str) and address:
                with contextlib.suppress(OSError):
                    os.unlink(address)
        self._draining = None
        if self.lifespan is not None:
            await self.lifespan.shutdown()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()
