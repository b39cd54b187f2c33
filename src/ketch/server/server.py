"""`Server`: listeners, the connection protocol, lifespan, graceful shutdown and signals.

Shutdown (SIGINT/SIGTERM, or `Server.shutdown`):

1. Stop accepting at once: the listening sockets are closed, so new connections are refused, not
   accepted and reset.  Connections accepted just before are still set up and drained.
2. Close idle keep-alive connections once they have been idle `DRAIN_IDLE` seconds (a client's
   next request may be on its way: it is answered, with ``Connection: close``); requests in
   flight finish, their responses carry ``Connection: close``.  Handlers that go on after their
   response (background tasks) are waited for too.
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
import random
import signal
import socket
from typing import TYPE_CHECKING, Any, Self, cast

from .config import Config
from .health import HealthCheck
from .listeners import bind_sockets, describe
from .metered import MeteredProtocol
from .metrics import MetricsBlock, metrics_handler, parse_bind
from .protocol import HTTPProtocol
from .state import ServerState

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from .handler import Handler, Lifespan
    from .metrics import Recorder

__all__ = ["Server", "install_loop"]

error_log = logging.getLogger("ketch.error")

CANCEL_WAIT = 1.0
"""Seconds a handler cancelled at the end of the grace period gets to finish its cleanup."""
DRAIN_IDLE = 0.25
"""Seconds a keep-alive connection must have been idle before shutdown closes it.  Closing one
the moment it goes idle loses the next request a busy client already sent on it (wrk counts read
errors on every rolling restart); what arrives meanwhile is answered with Connection: close."""
ACCEPT_TICKS = 2
"""Loop turns shutdown waits after closing the listeners.  asyncio makes the protocol of an
accepted connection one turn after the accept and calls its connection_made the turn after that;
a connection accepted just before the close must be in `connections` before the drain looks, or
its request finds the drain over and is answered 503."""


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
        sockets: listening sockets to serve on instead of binding `config`'s (a worker's
            inherited sockets); they are closed on shutdown but a Unix socket's path is left to
            whoever bound it.

    Use ``async with Server(...) as server:`` to serve until the block exits, or `serve` to serve
    until a signal.  `addresses` lists the bound addresses (port 0 resolved), `started` is set
    once connections are accepted.
    """

    def __init__(
        self,
        handler: Handler,
        config: Config | None = None,
        *,
        lifespan: Lifespan | None = None,
        sockets: Iterable[socket.socket] | None = None,
    ) -> None:
        self.handler = handler
        self.config = config or Config()
        self.lifespan = lifespan
        self.started = asyncio.Event()
        # Called once --limit-max-requests (plus jitter) responses are done; None: shut down.
        self.on_max_requests: Callable[[], None] | None = None
        # Where connections record metrics (a worker's slot, set by a supervisor before `start`);
        # None: with --metrics-bind, `start` makes a one-slot block and serves it itself.
        self.metrics: Recorder | None = None
        # A supervisor's shared block and inherited metrics sockets: serve /metrics from them.
        self.metrics_export: tuple[MetricsBlock, list[socket.socket]] | None = None
        self._metrics_server: Server | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._given_sockets = list(sockets) if sockets is not None else None
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
            if self._given_sockets is not None:
                self._sockets = self._given_sockets
            else:
                self._sockets = bind_sockets(self.config)
        except BaseException:
            if self.lifespan is not None:
                await self.lifespan.shutdown()
            raise
        self._addresses = [sock.getsockname() for sock in self._sockets]
        self._described = [(sock.family, sock.getsockname()) for sock in self._sockets]
        state = self._state = ServerState(self.config, self.handler, loop)
        state.requests_left = _request_budget(self.config)
        state.requests_spent = self._max_requests_reached
        make_protocol = self._operations(state)
        try:
            if self._metrics_server is not None:
                await self._metrics_server.start()
            for sock in self._sockets:
                listener = await loop.create_server(
                    make_protocol,
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
            if self._metrics_server is not None:
                await self._metrics_server.shutdown()
                self._metrics_server = None
            if self.lifespan is not None:
                await self.lifespan.shutdown()
            raise
        state.sweeper.start()
        self.started.set()

    def _operations(self, state: ServerState) -> Callable[[], asyncio.Protocol]:
        """Install the health check and metrics (if set); returns the connection factory."""
        config = self.config
        if config.health_path:
            health = HealthCheck(state.handler, config.health_path, lambda: state.draining)
            state.handler = health
            state.unlogged = health.matches
        recorder = self.metrics
        if self.metrics_export is not None:
            block, metrics_sockets = self.metrics_export
            self._metrics_server = Server(
                metrics_handler(block),
                Config(access_log=False, lifespan="off"),
                sockets=metrics_sockets,
            )
        elif recorder is None and config.metrics_bind:
            block = MetricsBlock(1)
            recorder = block.slot(0)
            host, port = parse_bind(config.metrics_bind)
            metrics_config = Config(host=host, port=port, access_log=False, lifespan="off")
            self._metrics_server = Server(metrics_handler(block), metrics_config)
        if recorder is None:
            return lambda: cast("asyncio.Protocol", HTTPProtocol(state))
        metered = recorder
        return lambda: cast("asyncio.Protocol", MeteredProtocol(state, metered))

    @property
    def metrics_url(self) -> str | None:
        """Where this server serves its metrics (``http://HOST:PORT/metrics``), if it does."""
        if self._metrics_server is None or not self._metrics_server.urls:
            return None
        return self._metrics_server.urls[0] + "/metrics"

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

    def _max_requests_reached(self) -> None:
        if self.on_max_requests is not None:
            self.on_max_requests()
        else:
            error_log.info("--limit-max-requests reached: shutting down gracefully")
            self.request_shutdown()

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
        for _ in range(ACCEPT_TICKS):
            await asyncio.sleep(0)
        for proto in list(state.connections):
            if proto.cycle is not None and proto.upgraded is not None:
                proto.upgraded.going_away()  # WebSockets get a 1001 close, and the grace period
        lingering = _close_idle(state)
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
                        if lingering:
                            with contextlib.suppress(TimeoutError):
                                async with asyncio.timeout(DRAIN_IDLE / 4):
                                    await state.idle.wait()
                            lingering = _close_idle(state)
                        else:
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
        if self._metrics_server is not None:
            await self._metrics_server.shutdown()
            self._metrics_server = None
        for family, address in self._described if self._given_sockets is None else ():
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


def _close_idle(state: ServerState) -> bool:
    """Close the connections idle for `DRAIN_IDLE` seconds; True while younger idle ones remain."""
    now = state.loop.time()
    lingering = False
    for proto in list(state.connections):
        if proto.cycle is None:
            if now - proto.waiting_since >= DRAIN_IDLE:
                proto.close()
            else:
                lingering = True
    return lingering


def _request_budget(config: Config) -> int:
    """Responses to serve before --limit-max-requests triggers; -1 (never reaches 0): no limit."""
    limit = config.limit_max_requests
    if limit is None or limit <= 0:
        return -1
    jitter = config.limit_max_requests_jitter
    if jitter is None:
        jitter = limit // 10
    return limit + random.randint(0, max(jitter, 0))
