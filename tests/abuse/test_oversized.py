"""Target 7: an oversized head is refused fast: a 1 MiB header block and 10000 header fields get
431, a 100 KiB request line 414, each within 100 ms of the bytes being sent, with no traceback, and
the server keeps answering."""

from __future__ import annotations

import asyncio
import time

import pytest

from .harness import KIB, MIB, Client, ServerProcess, get, record, run

LATENCY_LIMIT = 0.100

_BIG_BLOCK = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    + b"".join(b"X-Fill-%05d: %s\r\n" % (i, b"f" * 1000) for i in range(MIB // 1014))
    + b"\r\n"
)
_MANY_FIELDS = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    + b"".join(b"X-%d: v\r\n" % i for i in range(10000))
    + b"\r\n"
)
_LONG_LINE = b"GET /" + b"a" * (100 * KIB) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

CASES = [
    ("header_block_1mib", _BIG_BLOCK, 431),
    ("headers_10000", _MANY_FIELDS, 431),
    ("request_line_100kib", _LONG_LINE, 414),
]


async def _oversized(port: int, payload: bytes) -> dict[str, object]:
    """Send `payload` while reading; times are from the last byte handed to the kernel."""
    client = await Client.connect(port)
    try:
        started = time.perf_counter()
        sent_at: list[float] = []
        send_error: list[str] = []

        async def sender() -> None:
            try:
                await client.send(payload)
            except OSError as exc:
                send_error.append(type(exc).__name__)
            sent_at.append(time.perf_counter())

        sending = asyncio.ensure_future(sender())
        try:
            response = await client.response(timeout=5)
            answered = time.perf_counter()
            error = None
        except (OSError, TimeoutError) as exc:
            response, answered, error = None, time.perf_counter(), repr(exc)
        await sending
        try:
            closed = await client.wait_closed(2)
        except (TimeoutError, OSError) as exc:
            closed = repr(exc)
    finally:
        client.close()
    return {
        "status": response.status if response else None,
        "read_error": error,
        "send_error": send_error[0] if send_error else None,
        "after_last_byte_ms": (answered - sent_at[0]) * 1000,
        "after_first_byte_ms": (answered - started) * 1000,
        "then": closed,
    }


@pytest.mark.timeout(60)
def test_oversized_heads_are_refused_fast_without_traceback() -> None:
    figures: dict[str, object] = {}
    failures: list[str] = []
    # The default limits (32 KiB head, 100 fields), then a head-size limit high enough that the
    # 10000 fields hit the field-count limit instead.
    for label, args, cases in (
        ("default", [], CASES),
        ("count_limit", ["--limit-header-bytes", str(4 * MIB)], CASES[1:2]),
    ):
        with ServerProcess(args=args) as server:
            for name, payload, expected in cases:
                outcome = run(_oversized(server.port, payload), timeout=15)
                key = f"{label}_{name}"
                figures[f"{key}_bytes"] = len(payload)
                for field, value in outcome.items():
                    figures[f"{key}_{field}"] = value
                latency = outcome["after_last_byte_ms"]
                assert isinstance(latency, float)
                if outcome["status"] != expected:
                    failures.append(f"{key}: status {outcome['status']} ({outcome['read_error']})")
                if latency > LATENCY_LIMIT * 1000:
                    failures.append(f"{key}: answered {latency:.1f} ms after the last byte")
            still = run(get(server.port, "/"), timeout=10)
            figures[f"{label}_served_afterwards"] = still.status
            if still.status != 200:
                failures.append(f"{label}: not answering afterwards")
            tracebacks = server.tracebacks()
            figures[f"{label}_stderr_lines"] = len(server.stderr_lines())
            if tracebacks:
                failures.append(f"{label}: traceback in stderr:\n{server.stderr_text()}")
    record("oversized_heads", **figures)
    assert not failures, failures
