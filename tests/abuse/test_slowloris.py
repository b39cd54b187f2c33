"""Target 4: 1000 slowloris connections (one head byte every 2 s) are all closed at the header
timeout, while a probe client keeps being answered quickly."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from .harness import (
    Client,
    Response,
    ResponseParser,
    ServerProcess,
    percentile,
    record,
    request_bytes,
    run,
)

CONNECTIONS = 1000
HEADER_TIMEOUT = 5.0
SLACK = 2.0  # a connection must be closed within HEADER_TIMEOUT + SLACK of its first byte
BYTE_EVERY = 2.0
PROBE_EVERY = 0.02
PROBE_P99_LIMIT = 0.100
_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 1000


class Prober(threading.Thread):
    """Sends GET / on a fresh blocking connection every PROBE_EVERY seconds; keeps latencies."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        request = request_bytes("/", close=True)
        while not self.stop.wait(PROBE_EVERY):
            started = time.perf_counter()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(request)
                    parser = ResponseParser()
                    done: list[Response] = []
                    while not done:
                        data = sock.recv(65536)
                        if not data:
                            break
                        done = parser.feed(data)
                if not done or done[0].status != 200:
                    self.errors.append("no 200")
                    continue
            except OSError as exc:
                self.errors.append(repr(exc))
                continue
            self.latencies.append(time.perf_counter() - started)


async def _loris(port: int, opened: asyncio.Semaphore) -> tuple[float, str, int]:
    """One slowloris connection: (seconds from first byte to close, how it closed, status seen)."""
    async with opened:
        client = await Client.connect(port, timeout=10)
    try:
        first = time.monotonic()
        for position in range(len(_HEAD)):
            try:
                await client.send(_HEAD[position : position + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - first, "send failed", 0
            try:
                how = await client.wait_closed(BYTE_EVERY)
            except TimeoutError:
                continue
            status = client.unread[0].status if client.unread else 0
            return time.monotonic() - first, how, status
        return time.monotonic() - first, "never closed", 0
    finally:
        client.close()


@pytest.mark.timeout(60)
def test_slowloris_connections_are_closed_at_the_header_timeout_while_others_are_served() -> None:
    args = ["--timeout-header", str(HEADER_TIMEOUT)]
    with ServerProcess(args=args) as server:
        prober = Prober(server.port)

        async def scenario() -> list[tuple[float, str, int]]:
            opened = asyncio.Semaphore(200)
            return await asyncio.gather(*(_loris(server.port, opened) for _ in range(CONNECTIONS)))

        prober.start()
        started = time.monotonic()
        try:
            outcomes = run(scenario(), timeout=HEADER_TIMEOUT + SLACK + 20)
        finally:
            prober.stop.set()
            prober.join(10)
        elapsed = time.monotonic() - started
        fds_after = server.fds()
        tracebacks = server.tracebacks()

    closed_after = [seconds for seconds, _, _ in outcomes]
    late = [s for s in closed_after if s > HEADER_TIMEOUT + SLACK]
    early = [s for s in closed_after if s < HEADER_TIMEOUT - 1.0]
    hows: dict[str, int] = {}
    statuses: dict[int, int] = {}
    for _, how, status in outcomes:
        hows[how] = hows.get(how, 0) + 1
        statuses[status] = statuses.get(status, 0) + 1
    p99 = percentile(prober.latencies, 0.99)
    record(
        "slowloris_1000",
        connections=CONNECTIONS,
        closed_after_s_min=min(closed_after),
        closed_after_s_median=percentile(closed_after, 0.5),
        closed_after_s_max=max(closed_after),
        closed_late=len(late),
        closed_early=len(early),
        close_kinds=hows,
        statuses_seen=statuses,
        probes=len(prober.latencies),
        probe_errors=len(prober.errors),
        probe_ms_p50=percentile(prober.latencies, 0.5) * 1000,
        probe_ms_p99=p99 * 1000,
        probe_ms_max=max(prober.latencies, default=float("nan")) * 1000,
        scenario_seconds=elapsed,
        server_fds_after=fds_after,
    )
    assert not late, f"{len(late)} connections closed later than {HEADER_TIMEOUT + SLACK} s"
    assert not early
    assert not prober.errors, prober.errors[:5]
    assert p99 < PROBE_P99_LIMIT
    assert not tracebacks
