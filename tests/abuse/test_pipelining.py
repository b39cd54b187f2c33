"""Target 1: 100 pipelined requests in one write are answered in order."""

from __future__ import annotations

import time

from .harness import Client, ServerProcess, record, request_bytes, run

COUNT = 100


def test_hundred_pipelined_requests_in_one_write_are_answered_in_order() -> None:
    with ServerProcess() as server:

        async def scenario() -> tuple[list[str], list[int], float]:
            client = await Client.connect(server.port)
            try:
                batch = b"".join(request_bytes(f"/pipe/{index}") for index in range(COUNT))
                started = time.perf_counter()
                await client.send(batch)
                responses = await client.responses(COUNT, timeout=10)
                elapsed = time.perf_counter() - started
            finally:
                client.close()
            return [r.body.decode() for r in responses], [r.status for r in responses], elapsed

        bodies, statuses, elapsed = run(scenario(), timeout=30)
        in_order = bodies == [str(index) for index in range(COUNT)]
        record(
            "pipelining",
            requests=COUNT,
            responses=len(bodies),
            in_order=in_order,
            all_200=statuses == [200] * COUNT,
            ms_for_all=elapsed * 1000,
        )
        assert statuses == [200] * COUNT
        assert in_order, bodies
        assert not server.tracebacks(), server.stderr_text()
