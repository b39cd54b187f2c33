"""A coarse clock and one periodic sweep for every timeout of every connection.

Re-arming a ``call_later`` timer per request costs uvicorn about 10 % of its CPU.  Instead each
connection records *when* it entered a waiting state (idle, reading a head, waiting for body bytes),
and one timer per server walks the connections once per `TICK` seconds and closes those that waited
too long.  A timeout therefore fires up to one tick late, never early, which is immaterial at these
durations.  The same tick refreshes the cached Date header value.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Iterable

__all__ = ["BODY", "BUSY", "HEAD", "IDLE", "TICK", "Sweeper", "Timed"]

TICK = 0.5

# What a connection is waiting for, which decides the timeout that applies to it.
IDLE = 0  # between requests: keep-alive timeout
HEAD = 1  # part of a request head is in: header timeout
BODY = 2  # the handler waits for body bytes: body timeout
BUSY = 3  # a handler is at work: no timeout


class Timed(Protocol):
    """A connection the sweeper can check."""

    def check_timeouts(self, now: float) -> None:
        """Close or answer the connection if it waited too long."""


class Sweeper:
    """Ticks every `TICK` seconds: updates `now` and `date`, checks every connection.

    Attributes:
        date: the current Date header value, e.g. ``b"Tue, 24 Nov 2026 05:12:51 GMT"``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connections: Callable[[], Iterable[Timed]],
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._loop = loop
        self._connections = connections
        self._on_tick = on_tick
        self._handle: asyncio.TimerHandle | None = None
        self.date = formatdate(usegmt=True).encode("ascii")

    def start(self) -> None:
        """Start ticking."""
        if self._handle is None:
            self._handle = self._loop.call_later(TICK, self._tick)

    def stop(self) -> None:
        """Stop ticking."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        now = self._loop.time()
        self.date = formatdate(usegmt=True).encode("ascii")
        for connection in list(self._connections()):
            connection.check_timeouts(now)
        if self._on_tick is not None:
            self._on_tick()
        self._handle = self._loop.call_later(TICK, self._tick)
