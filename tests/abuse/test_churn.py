"""Target 8: 20000 short connections in a row (connect, one request with Connection: close, read,
close) cause no error and no growth of the server's memory or descriptors."""

from __future__ import annotations

import asyncio
import time

import pytest

from .harness import MIB, Client, ServerProcess, record, request_bytes, run

TOTAL = 20000
WARM_UP = 2000
WORKERS = 16
RSS_SLACK = 2 * MIB


async def _connections(port: int, count: int) -> list[str]:
    """`count` short connections over WORKERS concurrent workers; returns the errors."""
    errors: list[str] = []
    request = request_bytes("/", close=True)
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                client = await Client.connect(port, timeout=5)
                try:
                    await client.send(request, timeout=5)
                    response = await client.response(timeout=5)
                    how = await client.wait_closed(5)
                finally:
                    client.close()
                if response.status != 200 or response.body != b"hello" or how != "eof":
                    errors.append(f"status {response.status}, body {response.body!r}, {how}")
            except (OSError, TimeoutError) as exc:
                errors.append(repr(exc))

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return errors


@pytest.mark.timeout(90)
def test_twenty_thousand_short_connections_leak_neither_memory_nor_descriptors() -> None:
    with ServerProcess() as server:
        fds_start = server.fds()
        started = time.monotonic()
        errors = run(_connections(server.port, WARM_UP), timeout=30)
        fds_warm = server.settle(server.fds, until=lambda n: n <= fds_start, timeout=5)
        rss_warm = server.rss()
        errors += run(_connections(server.port, TOTAL - WARM_UP), timeout=60)
        elapsed = time.monotonic() - started
        fds_end = server.settle(server.fds, until=lambda n: n <= fds_warm, timeout=5)
        rss_end = server.rss()
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()

    record(
        "churn_20000",
        connections=TOTAL,
        workers=WORKERS,
        errors=len(errors),
        first_errors=errors[:3],
        seconds=elapsed,
        connections_per_s=TOTAL / elapsed,
        rss_after_warm_up_mib=rss_warm / MIB,
        rss_end_mib=rss_end / MIB,
        rss_growth_after_warm_up_kib=(rss_end - rss_warm) / 1024,
        fds_start=fds_start,
        fds_after_warm_up=fds_warm,
        fds_end=fds_end,
    )
    assert not errors, errors[:5]
    assert rss_end - rss_warm <= RSS_SLACK
    assert fds_end <= fds_warm
    assert not tracebacks, stderr
