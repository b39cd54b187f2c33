"""Issue #7: a pipelined flood of 100000 tiny requests from a client that reads no response.

The server must stop reading (its write buffer is full, so it answers nothing more and parses
nothing more): the requests pile up in the kernel, not in the server's memory.  Then the client
reads, and all 100000 responses arrive, in order.

Loopback's kernel buffers are large (the server's send buffer grows to 4 MiB), so the kernel may
take every request byte the client sends; what shows that ketch paused reading is the server
socket's receive queue, bytes the kernel holds because ketch does not read them, and a server that
uses no CPU while flooded.  Before ketch answered at most `PIPELINE_BURST` pipelined requests per
turn of the loop, this flood grew the process by 35 MiB (thousands of finished handlers' Tasks
waiting for the loop at once); the bound is now 8 MiB.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from .harness import HOST, KIB, MIB, ResponseParser, RssSampler, ServerProcess, record

COUNT = 100_000
STALL = 1.0  # the client's sending counts as stalled after this long without progress
RSS_LIMIT = 8 * MIB
_REQUESTS = b"".join(b"GET /pipe/%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(COUNT))


def _server_recv_queue(server_port: int, client_port: int) -> int | None:
    """Bytes the kernel holds for the server on this connection, unread (/proc/net/tcp)."""
    local, remote = f":{server_port:04X}", f":{client_port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            parts = line.split()
            if parts[1].endswith(local) and parts[2].endswith(remote):
                return int(parts[4].split(":")[1], 16)
    return None


def _send_until_stalled(sock: socket.socket, data: memoryview) -> int:
    """Send without reading until no byte was accepted for STALL seconds; bytes accepted."""
    sock.setblocking(False)
    offset = 0
    progress = time.monotonic()
    while offset < len(data) and time.monotonic() - progress < STALL:
        try:
            offset += sock.send(data[offset : offset + 256 * KIB])
            progress = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    return offset


@pytest.mark.timeout(60)
def test_pipelined_flood_without_reading_pauses_the_server_in_bounded_memory() -> None:
    data = memoryview(_REQUESTS)
    with ServerProcess() as server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * KIB)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * KIB)
            sock.connect((HOST, server.port))
            client_port = sock.getsockname()[1]
            with RssSampler(server) as rss:
                accepted = _send_until_stalled(sock, data)
                cpu_before = server.cpu_seconds()
                time.sleep(0.5)
                cpu_while_stalled = server.cpu_seconds() - cpu_before
                queued = _server_recv_queue(server.port, client_port)
            stalled_growth = rss.growth

            # Now read everything while a thread sends the rest.
            sock.setblocking(True)
            sock.settimeout(20)
            sender = threading.Thread(target=sock.sendall, args=(data[accepted:],), daemon=True)
            started = time.perf_counter()
            sender.start()
            parser = ResponseParser()
            bodies: list[bytes] = []
            statuses: set[int] = set()
            while len(bodies) < COUNT:
                chunk = sock.recv(256 * KIB)
                if not chunk:
                    break
                for response in parser.feed(chunk):
                    bodies.append(response.body)
                    statuses.add(response.status)
            drain_seconds = time.perf_counter() - started
            sender.join(10)
        finally:
            sock.close()
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()

    in_order = bodies == [b"%d" % i for i in range(COUNT)]
    record(
        "pipelined_flood_100000",
        requests=COUNT,
        request_bytes=len(_REQUESTS),
        bytes_accepted_before_stall=accepted,
        server_recv_queue_when_stalled=queued,
        server_cpu_s_in_0_5_s_stalled=cpu_while_stalled,
        rss_before_mib=rss.before / MIB,
        rss_growth_while_flooded_mib=stalled_growth / MIB,
        responses=len(bodies),
        in_order=in_order,
        statuses=sorted(statuses),
        seconds_to_read_all=drain_seconds,
    )
    # Reading paused: the kernel holds bytes the server does not read, and the server idles.
    assert queued is not None
    assert queued > 0
    assert cpu_while_stalled < 0.1
    assert stalled_growth < RSS_LIMIT
    assert statuses == {200}
    assert in_order, f"{len(bodies)} responses"
    assert not tracebacks, stderr
