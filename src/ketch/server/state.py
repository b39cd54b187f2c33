"""`ServerState`: what every connection of one server shares."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .accesslog import AccessRecord
from .memory import AfterBurst, release_free_memory
from .proxy import TrustedProxies
from .timeouts import Sweeper

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..http11 import Headers, Request
    from .config import Config
    from .cycle import Cycle
    from .handler import Handler
    from .protocol import HTTPProtocol

__all__ = ["ServerState"]

access_log = logging.getLogger("ketch.access")


class ServerState:
    """Settings, the handler, the open connections and the shutdown flags of one server.

    Attributes:
        draining: shutting down: finish in-flight requests with ``Connection: close``.
        draining_hard: the grace period is over: answer anything new with 503.
        in_flight: handlers running now.
        tasks: the handlers that suspended, each carried on by a Task.  Shutdown waits for them
            too: a handler may go on after its response is sent (a background task).
        requests_left: responses until --limit-max-requests calls `requests_spent` once (counts
            down past 0; -1: no limit).
    """

    def __init__(self, config: Config, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.handler = handler
        self.loop = loop
        self.limits = config.limits
        self.is_ssl = config.is_ssl
        self.extra_headers: Headers = [(b"server", b"ketch")] if config.server_header else []
        self.connections: set[HTTPProtocol] = set()
        self.sweeper = Sweeper(loop, lambda: self.connections, self._after_tick)
        self.after_burst = AfterBurst()
        self.draining = False
        self.draining_hard = False
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.idle = asyncio.Event()
        self.access_log = config.access_log
        # Behind proxies (proxy.py): whose proxy fields and PROXY protocol headers count.
        self.trusted_proxies = TrustedProxies(config.forwarded_allow_ips)
        self.proxy_headers = config.proxy_headers
        self.proxy_protocol = config.proxy_protocol
        self.date_header = config.date_header
        # The Date header value to send, refreshed by the sweeper (None: no Date header).
        self.date: bytes | None = self.sweeper.date if self.date_header else None
        self._access_format = config.access_log_format
        # Requests kept out of the access log (health probes), or None.
        self.unlogged: Callable[[Request], bool] | None = None
        self.requests_left = -1
        self.requests_spent: Callable[[], None] = _nothing

    def log_access(self, cycle: Cycle) -> None:
        unlogged = self.unlogged
        if unlogged is not None and unlogged(cycle.request):
            return
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s", AccessRecord(cycle, self._access_format))

    def _after_tick(self) -> None:
        if self.date_header:
            self.date = self.sweeper.date
        if self.after_burst.due(len(self.connections)):
            release_free_memory()  # what the burst's buffers used goes back to the system

    def count_response(self) -> None:
        self.requests_left -= 1
        if self.requests_left == 0:
            self.requests_spent()

    def on_connection_closed(self) -> None:
        self.after_burst.closed += 1
        if self.draining and not self.connections and not self.tasks:
            self.idle.set()

    def on_task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if self.draining and not self.connections and not self.tasks:
            self.idle.set()


def _nothing() -> None:
    pass
