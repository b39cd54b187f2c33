"""`HealthCheck`: the server's own answer to load balancer probes (``--health-path``).

A handler wrapped around the front door, installed only when ``health_path`` is set (so it costs
nothing otherwise): ``GET`` or ``HEAD`` on exactly that path (any query ignored) is answered by the
server, before the app sees it, with ``200 ok`` while serving and ``503 draining`` once a graceful
shutdown has begun (with ``Connection: close``, as every response during a drain).  Probes are
kept out of the access log.

When does a probe see the 503?  On shutdown ketch closes its listening sockets at once, so a probe
on a *new* connection is refused, which fails the check as surely as a 503; the 503 is for a probe
on a connection still open during the drain (a balancer's kept-alive probe connection that was
just used, or a probe pipelined behind a request in flight).  For a "lame duck" period in which
the instance keeps accepting while the balancer takes it out of rotation, delay the signal
(Kubernetes: a ``preStop`` hook that sleeps a few seconds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any

    from ..http11 import Request
    from .handler import Exchange, Handler

__all__ = ["HealthCheck"]

_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]


class HealthCheck:
    """A handler that answers health probes on `path` and passes everything else to `handler`.

    Args:
        handler: the front door.
        path: the probe path, such as ``"/healthz"``.
        draining: returns whether the server is shutting down.

    Raises:
        ValueError: `path` does not start with ``/``.
    """

    def __init__(self, handler: Handler, path: str, draining: Callable[[], bool]) -> None:
        if not path.startswith("/"):
            raise ValueError(f"--health-path must start with '/', got {path!r}")
        self.handler = handler
        self.path = path.encode("latin-1")
        self._with_query = self.path + b"?"
        self.draining = draining

    def matches(self, request: Request) -> bool:
        """Whether `request` is a probe (GET or HEAD on the path, any query)."""
        target = request.target
        return (target == self.path or target.startswith(self._with_query)) and (
            request.method == b"GET" or request.method == b"HEAD"
        )

    def __call__(self, exchange: Exchange) -> Coroutine[Any, Any, None]:
        # Not a coroutine function: an ordinary request costs one comparison and no extra frame.
        if self.matches(exchange.request):
            return self._answer(exchange)
        return self.handler(exchange)

    async def _answer(self, exchange: Exchange) -> None:
        if self.draining():
            exchange.respond(503, _HEADERS, b"draining\n")
        else:
            exchange.respond(200, _HEADERS, b"ok\n")
