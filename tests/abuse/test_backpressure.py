"""Target 3: a 200 MiB response to a client that stops reading for 20 s: the server honours write
backpressure (RSS grows by less than 32 MiB), then the client reads all 200 MiB intact."""

from __future__ import annotations

import socket
import time

import pytest

from .apps import CHUNK, big_chunk
from .harness import (
    KIB,
    MIB,
    Response,
    ResponseParser,
    RssSampler,
    ServerProcess,
    record,
    request_bytes,
)

SIZE_MIB = 200
STALL = 20.0
RSS_LIMIT = 32 * MIB


class BodyChecker:
    """Checks each body byte against `apps.big_chunk` as it arrives (nothing is kept)."""

    def __init__(self) -> None:
        self.offset = 0
        self.mismatch_at: int | None = None

    def __call__(self, view: memoryview) -> None:
        start = 0
        while start < len(view):
            index, within = divmod(self.offset, CHUNK)
            take = min(CHUNK - within, len(view) - start)
            expected = memoryview(big_chunk(index))[within : within + take]
            if self.mismatch_at is None and view[start : start + take] != expected:
                self.mismatch_at = self.offset
            self.offset += take
            start += take


@pytest.mark.timeout(120)
def test_big_response_to_a_stalled_reader_is_held_back_then_delivered_intact() -> None:
    with (
        ServerProcess() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock,
    ):
        checker = BodyChecker()
        parser = ResponseParser(keep_body=False, on_body=checker)
        with RssSampler(server) as rss:
            sock.sendall(request_bytes(f"/big?mib={SIZE_MIB}"))
            time.sleep(STALL)  # read nothing: the kernel buffers fill, then the server must wait
        stalled_growth = rss.growth
        with RssSampler(server) as rss_reading:
            started = time.perf_counter()
            responses: list[Response] = []
            while not responses:
                data = sock.recv(256 * KIB)
                if not data:
                    final = parser.feed_eof()
                    responses = [final] if final else []
                    break
                responses = parser.feed(data)
            read_seconds = time.perf_counter() - started
        tracebacks = server.tracebacks()

    response = responses[0] if responses else None
    record(
        "backpressure_200mib",
        rss_before_mib=rss.before / MIB,
        rss_growth_during_stall_mib=stalled_growth / MIB,
        rss_growth_while_reading_mib=rss_reading.growth / MIB,
        body_bytes=checker.offset,
        content_ok=checker.mismatch_at is None,
        read_seconds=read_seconds,
        read_mib_s=SIZE_MIB / read_seconds,
    )
    assert response is not None
    assert response.status == 200
    assert response.body_length == SIZE_MIB * MIB
    assert checker.mismatch_at is None, f"wrong byte at offset {checker.mismatch_at}"
    assert stalled_growth < RSS_LIMIT
    assert rss_reading.growth < RSS_LIMIT
    assert not tracebacks
