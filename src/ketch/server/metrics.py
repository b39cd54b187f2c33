"""Prometheus metrics: counters in shared memory, rendered as the text exposition format 0.0.4.

Theory of operation:

* Storage: a `MetricsBlock` is one anonymous shared mapping (``mmap.mmap(-1, size)``: MAP_SHARED)
  holding a fixed layout of 64-bit words, one *slot* per process.  A process only ever writes its
  own slot, through its `Recorder`; a reader sums the slots when it renders.  A block made before
  ``fork()`` is shared with the children, so a worker's counts are seen by whoever serves
  ``/metrics``, and a slot outlives its worker: counters stay monotonic across restarts.
* Cost: nothing is recorded unless metrics are on (the server then uses a connection class that
  records, `metered.MeteredProtocol`; the plain one has no hooks).  When on, a request costs a clock
  read, a bisection and four in-place additions.
* Reading while others write: every word is 8-byte aligned, and aligned 8-byte stores are atomic on
  the platforms ketch runs on, so a scrape sees each counter either before or after an update, never
  torn.  Counters of one scrape may be from slightly different instants, as with any Prometheus
  client.

Wiring, single process (what `ketch.server.server.Server` does when ``metrics_bind`` is set and no
recorder is given): ``MetricsBlock(1)``, record in slot 0, serve ``metrics_handler(block)`` on a
second `Server` bound to ``metrics_bind``, in the same loop.

Wiring, with a worker supervisor (``--workers N``): the supervisor

1. allocates ``block = MetricsBlock(N + 1)`` *before* forking its first worker;
2. passes each worker ``metrics=block.slot(i)`` for its stable slot index ``i`` in ``0..N-1``
   (``Server(..., metrics=recorder)``: a server given a recorder records into it and does not bind
   ``metrics_bind`` itself);
3. on a worker's death calls ``block.reset_gauges(i)`` (its open connections are gone) and
   ``block.slot(N).worker_restarted()`` when it starts a replacement;
4. serves ``/metrics`` itself: a `Server` with ``metrics_handler(block)`` on ``metrics_bind`` in
   its own event loop (or thread), since workers come and go.
"""

from __future__ import annotations

import mmap
from bisect import bisect_left
from typing import TYPE_CHECKING

from .. import __version__

if TYPE_CHECKING:
    from .handler import Exchange

__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "MetricsBlock",
    "Recorder",
    "metrics_handler",
    "parse_bind",
    "render",
]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Request duration histogram bounds in seconds (the Prometheus client libraries' defaults)."""

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

# The words of one slot, all int64.
_CLASSES = 0  # 5 words: requests answered 1xx .. 5xx
_OPEN = 5  # open connections (a gauge)
_CONNECTIONS = 6  # connections accepted
_RECEIVED = 7  # bytes read from connections
_SENT = 8  # response body bytes written
_RESTARTS = 9  # workers restarted (the supervisor's slot)
_HISTOGRAM = 10  # len(BUCKETS) + 1 words: durations per bucket, the last one past 10 s (+Inf)
_DURATION_SUM = _HISTOGRAM + len(BUCKETS) + 1  # total microseconds (exact, unlike a float sum)
_WORDS = _DURATION_SUM + 1
_GAUGES = (_OPEN,)


class Recorder:
    """The recording side of one slot: what a server process calls.

    All methods are cheap and never fail; they must be called from one thread per slot.
    """

    __slots__ = ("_base", "_ints")

    def __init__(self, ints: memoryview[int], base: int) -> None:
        self._ints = ints
        self._base = base

    def request(self, status: int, duration: float, sent: int) -> None:
        """Count a completed response: its status, seconds since its request head, body bytes."""
        ints = self._ints
        base = self._base
        index = status // 100 - 1
        if 0 <= index <= 4:
            ints[base + index] += 1
        ints[base + _HISTOGRAM + bisect_left(BUCKETS, duration)] += 1
        ints[base + _SENT] += sent
        ints[base + _DURATION_SUM] += int(duration * 1_000_000)

    def received(self, size: int) -> None:
        """Count bytes read from a connection."""
        self._ints[self._base + _RECEIVED] += size

    def connection_opened(self) -> None:
        ints = self._ints
        base = self._base
        ints[base + _OPEN] += 1
        ints[base + _CONNECTIONS] += 1

    def connection_closed(self) -> None:
        self._ints[self._base + _OPEN] -= 1

    def worker_restarted(self) -> None:
        """Count a worker restart (called by a supervisor, in its own slot)."""
        self._ints[self._base + _RESTARTS] += 1


class MetricsBlock:
    """Counters for `slots` processes in one shared anonymous mapping.

    Args:
        slots: how many processes record (workers, plus one for a supervisor); at least 1.

    Make it before forking: children share the mapping with their parent.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a metrics block needs at least one slot")
        self.slots = slots
        self._map = mmap.mmap(-1, slots * _WORDS * 8)
        self._ints: memoryview[int] = memoryview(self._map).cast("q")

    def slot(self, index: int) -> Recorder:
        """The recorder of slot `index` (``0 <= index < slots``)."""
        if not 0 <= index < self.slots:
            raise IndexError(f"metrics slot {index} out of range (0..{self.slots - 1})")
        return Recorder(self._ints, index * _WORDS)

    def reset_gauges(self, index: int) -> None:
        """Zero slot `index`'s gauges (its process died: its connections are gone)."""
        for word in _GAUGES:
            self._ints[index * _WORDS + word] = 0

    def total(self, word: int) -> int:
        """The sum over the slots of integer word `word` of the layout."""
        return sum(self._ints[slot * _WORDS + word] for slot in range(self.slots))

    def total_seconds(self) -> float:
        """The sum over the slots of the request durations."""
        return self.total(_DURATION_SUM) / 1_000_000


def render(block: MetricsBlock) -> bytes:
    """The block's metrics, summed over its slots, in the Prometheus text format 0.0.4."""
    total = block.total
    lines = [
        "# HELP ketch_info ketch version.",
        "# TYPE ketch_info gauge",
        f'ketch_info{{version="{__version__}"}} 1',
        "# HELP ketch_requests_total Responses completed, by status class.",
        "# TYPE ketch_requests_total counter",
    ]
    lines.extend(
        f'ketch_requests_total{{status="{n}xx"}} {total(_CLASSES + n - 1)}' for n in range(1, 6)
    )
    lines += [
        "# HELP ketch_request_duration_seconds Time from a request's head to its response's end.",
        "# TYPE ketch_request_duration_seconds histogram",
    ]
    cumulative = 0
    for i, bound in enumerate(BUCKETS):
        cumulative += total(_HISTOGRAM + i)
        lines.append(f'ketch_request_duration_seconds_bucket{{le="{bound}"}} {cumulative}')
    cumulative += total(_HISTOGRAM + len(BUCKETS))
    lines += [
        f'ketch_request_duration_seconds_bucket{{le="+Inf"}} {cumulative}',
        f"ketch_request_duration_seconds_sum {block.total_seconds()!r}",
        f"ketch_request_duration_seconds_count {cumulative}",
        "# HELP ketch_open_connections Client connections open now.",
        "# TYPE ketch_open_connections gauge",
        f"ketch_open_connections {total(_OPEN)}",
        "# HELP ketch_connections_total Client connections accepted.",
        "# TYPE ketch_connections_total counter",
        f"ketch_connections_total {total(_CONNECTIONS)}",
        "# HELP ketch_received_bytes_total Bytes read from client connections.",
        "# TYPE ketch_received_bytes_total counter",
        f"ketch_received_bytes_total {total(_RECEIVED)}",
        "# HELP ketch_sent_bytes_total Response body bytes sent.",
        "# TYPE ketch_sent_bytes_total counter",
        f"ketch_sent_bytes_total {total(_SENT)}",
        "# HELP ketch_worker_restarts_total Worker processes restarted by the supervisor.",
        "# TYPE ketch_worker_restarts_total counter",
        f"ketch_worker_restarts_total {total(_RESTARTS)}",
    ]
    return ("\n".join(lines) + "\n").encode()


class _MetricsHandler:
    """Answers ``GET /metrics`` (and HEAD) with `render`; 404 or 405 for anything else."""

    def __init__(self, block: MetricsBlock) -> None:
        self.block = block

    async def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        path = request.target.partition(b"?")[0]
        if path != b"/metrics":
            exchange.respond(404, [(b"content-type", b"text/plain")], b"Not Found\n")
        elif request.method not in (b"GET", b"HEAD"):
            exchange.respond(405, [(b"content-type", b"text/plain"), (b"allow", b"GET, HEAD")], b"")
        else:
            exchange.respond(200, [(b"content-type", CONTENT_TYPE)], render(self.block))


def metrics_handler(block: MetricsBlock) -> _MetricsHandler:
    """A ketch handler serving ``/metrics`` from `block` (for a `Server` of its own)."""
    return _MetricsHandler(block)


def parse_bind(text: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:9100`` for IPv6) into a host and a port.

    Raises:
        ValueError: not HOST:PORT with a port in 0..65535.
    """
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--metrics-bind: expected HOST:PORT, got {text!r}")
    return host, int(port)
