"""`MeteredProtocol`: the connection class used when metrics are on.

The plain `HTTPProtocol` has no recording hooks at all, so metrics cost nothing when off; with
``metrics_bind`` set the server makes its connections from this subclass, which records into a
`metrics.Recorder` around the same callbacks: connections opened and closed, bytes read, and each
response's status, duration (from its request head being read to its last byte handed to the
transport) and body size.  A 101 switch is not counted as a response; a WebSocket's bytes in are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .protocol import HTTPProtocol

if TYPE_CHECKING:
    import asyncio

    from ..http11 import Request
    from .cycle import Cycle
    from .metrics import Recorder
    from .state import ServerState

__all__ = ["MeteredProtocol"]


class MeteredProtocol(HTTPProtocol):
    """`HTTPProtocol` that records into `recorder` (see `metrics`)."""

    def __init__(self, state: ServerState, recorder: Recorder) -> None:
        super().__init__(state)
        self.recorder = recorder
        self.request_started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.recorder.connection_opened()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.recorder.connection_closed()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.recorder.received(len(data))
        super().data_received(data)

    def _new_cycle(self, request: Request) -> Cycle:
        self.request_started = self.loop.time()
        return super()._new_cycle(request)

    def response_done(self, cycle: Cycle) -> None:
        self.recorder.request(
            cycle.status, self.loop.time() - self.request_started, cycle.bytes_sent
        )
        super().response_done(cycle)
