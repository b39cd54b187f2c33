"""Target 5: 5000 idle keep-alive connections: all served, at most 8 KiB of server memory each,
all closed at the keep-alive timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from .harness import KIB, Client, ServerProcess, record, request_bytes, run

CONNECTIONS = 5000
KEEP_ALIVE = 3.0
TICK = 0.5  # the server's sweeper period: a timeout may fire up to one tick early or late
SLACK = 2.0
PER_CONNECTION_LIMIT = 8 * KIB
WARM_UP = 200


async def _serve_and_idle(port: int, opening: asyncio.Semaphore) -> tuple[Client, float, int]:
    async with opening:
        client = await Client.connect(port, timeout=10)
        try:
            await client.send(request_bytes("/"))
            response = await client.response(timeout=10)
        except BaseException:
            client.close()
            raise
    return client, time.monotonic(), response.status


@pytest.mark.timeout(60)
def test_idle_keep_alive_connections_cost_little_memory_and_close_at_the_timeout() -> None:
    args = ["--timeout-keep-alive", str(KEEP_ALIVE)]
    with ServerProcess(args=args) as server:

        async def warm_up() -> None:
            clients = [await Client.connect(server.port) for _ in range(WARM_UP)]
            try:
                for client in clients:
                    await client.send(request_bytes("/"))
                for client in clients:
                    await client.response()
            finally:
                for client in clients:
                    client.close()

        run(warm_up(), timeout=20)
        fds_base = server.settle(server.fds, until=lambda n: n < 20, timeout=5)
        rss_before = server.rss()

        async def scenario() -> dict[str, object]:
            opening = asyncio.Semaphore(500)
            started = time.monotonic()
            results = await asyncio.gather(
                *(_serve_and_idle(server.port, opening) for _ in range(CONNECTIONS)),
                return_exceptions=True,
            )
            open_seconds = time.monotonic() - started
            clients = [r for r in results if isinstance(r, tuple)]
            errors = [repr(r) for r in results if not isinstance(r, tuple)]
            try:
                # Measured at once: the first connections were served up to open_seconds ago.
                rss_after = server.rss()
                fds_after = server.fds()
                statuses = [status for _, _, status in clients]

                async def closed_after(client: Client, served_at: float) -> tuple[float, str]:
                    try:
                        how = await client.wait_closed(KEEP_ALIVE + SLACK + 2)
                    except TimeoutError:
                        return float("inf"), "open"
                    except OSError as exc:
                        return time.monotonic() - served_at, repr(exc)
                    return time.monotonic() - served_at, how

                closes = await asyncio.gather(
                    *(closed_after(client, served_at) for client, served_at, _ in clients)
                )
            finally:
                for client, _, _ in clients:
                    client.close()
            return {
                "open_seconds": open_seconds,
                "errors": errors,
                "statuses": statuses,
                "rss_after": rss_after,
                "fds_after": fds_after,
                "closes": closes,
            }

        outcome = run(scenario(), timeout=45)
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()

    errors = outcome["errors"]
    statuses = outcome["statuses"]
    closes = outcome["closes"]
    rss_after = outcome["rss_after"]
    fds_after = outcome["fds_after"]
    assert isinstance(errors, list)
    assert isinstance(statuses, list)
    assert isinstance(closes, list)
    assert isinstance(rss_after, int)
    assert isinstance(fds_after, int)
    seconds = [s for s, _ in closes]
    open_at_measure = fds_after - fds_base
    per_connection = (rss_after - rss_before) / CONNECTIONS
    late = [s for s in seconds if s > KEEP_ALIVE + SLACK]
    early = [s for s in seconds if s < KEEP_ALIVE - TICK - 0.1]
    kinds: dict[str, int] = {}
    for _, how in closes:
        kinds[how] = kinds.get(how, 0) + 1
    record(
        "idle_keepalive_5000",
        connections=CONNECTIONS,
        served_200=statuses.count(200),
        errors=len(errors),
        first_errors=errors[:3],
        seconds_to_open_and_serve_all=outcome["open_seconds"],
        server_open_connections_at_measure=open_at_measure,
        rss_before_mib=rss_before / 1024 / 1024,
        rss_after_mib=rss_after / 1024 / 1024,
        rss_per_connection_bytes=per_connection,
        closed_after_s_min=min(seconds, default=float("nan")),
        closed_after_s_max=max(seconds, default=float("nan")),
        closed_late=len(late),
        closed_early=len(early),
        close_kinds=kinds,
    )
    assert not errors, errors[:5]
    assert statuses.count(200) == CONNECTIONS
    assert open_at_measure == CONNECTIONS, "some connections closed before RSS was measured"
    assert per_connection <= PER_CONNECTION_LIMIT
    assert not late
    assert not early
    assert not tracebacks, stderr
