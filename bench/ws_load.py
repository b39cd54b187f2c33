"""A lean WebSocket echo load generator: asyncio + uvloop, raw ``asyncio.Protocol`` connections.

Run from the repository root (either form works)::

    .venv/bin/python bench/ws_load.py --port 8000                      # text:16,text:4k,binary:64k
    .venv/bin/python -m bench.ws_load --port 8000 --messages text:16 --connections 64 --duration 5
    .venv/bin/python bench/ws_load.py --port 8000 --json                # one JSON object per line

Each of ``--connections`` connections does the HTTP/1.1 Upgrade handshake (status 101 and
``Sec-WebSocket-Accept`` are checked; no extension is offered, so no compression), then loops:
send one message (a masked frame built once per payload, with a fixed mask key), wait until the
whole echoed frame is back (server frames are unmasked: only the header is parsed, to know how
many bytes follow), count it, send again.  One message in flight per connection.  The payload of
the first echo of every connection is compared with what was sent (``--verify-all``: every echo).
After ``--warmup`` seconds (not counted) it measures for ``--duration`` seconds, then closes
every connection with a close frame (code 1000) and waits for the server's.

Printed: messages/s (echoes received per second, all connections together), the payload MiB/s
one way, and the share of one core this process used while measuring (``getrusage``):
near 100%, the load generator rather than the server is the limit.

Errors are reported, never hidden: a failed connect or handshake, a connection that gets no echo
(or no close answer) within ``--timeout`` seconds, an echo that differs from what was sent, a
close frame or a dropped connection from the server, a protocol violation.  Exit status: 0 when
clean, 1 when there were errors, 2 when no connection could be used at all.

The frame helpers and :func:`probe` (one blocking round trip, used by ``bench/ws_servers.py`` as
its readiness check) need only the standard library; uvloop is imported when the load runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import resource
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable

HOST = "127.0.0.1"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MASK_KEY = b"\x5a\xc3\x1e\x97"  # fixed: masking is for proxies, not a secret here

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
KINDS = {"text": OP_TEXT, "binary": OP_BINARY}
CLOSE_NORMAL = 1000
DEFAULT_MESSAGES = "text:16,text:4k,binary:64k"


class WsError(ValueError):
    """A handshake or protocol failure (a ValueError, as the harness's start checks expect)."""


# --------------------------------------------------------------------------------------------
# Frames and the handshake (standard library only)
# --------------------------------------------------------------------------------------------


def mask_bytes(payload: bytes, key: bytes = MASK_KEY) -> bytes:
    """``payload`` XOR the repeated 4-byte key (done once per payload, with big integers)."""
    n = len(payload)
    if n == 0:
        return b""
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")


def frame_header(opcode: int, length: int, *, masked: bool) -> bytes:
    """The header of a final (FIN) frame, without the mask key."""
    b0 = 0x80 | opcode
    bit = 0x80 if masked else 0
    if length < 126:
        return bytes((b0, bit | length))
    if length < 1 << 16:
        return bytes((b0, bit | 126)) + length.to_bytes(2, "big")
    return bytes((b0, bit | 127)) + length.to_bytes(8, "big")


def client_frame(opcode: int, payload: bytes, key: bytes = MASK_KEY) -> bytes:
    """A whole masked client frame."""
    return frame_header(opcode, len(payload), masked=True) + key + mask_bytes(payload, key)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return code.to_bytes(2, "big") + reason


def describe_close(payload: bytes | bytearray) -> str:
    if len(payload) < 2:
        return "no status code"
    reason = bytes(payload[2:]).decode("utf-8", "replace")
    code = int.from_bytes(payload[:2], "big")
    return f"code {code}" + (f" {reason!r}" if reason else "")


def make_payload(kind: str, size: int) -> bytes:
    """A payload that is not one repeated byte (so that a masking bug shows), UTF-8 for text."""
    pattern = bytes(range(0x21, 0x7F)) if kind == "text" else bytes(range(256))  # ASCII for text
    return (pattern * (size // len(pattern) + 1))[:size]


def parse_spec(text: str) -> tuple[str, int]:
    """``text:16``, ``text:4k``, ``binary:64k`` -> (kind, size in bytes)."""
    m = re.fullmatch(r"(text|binary):(\d+)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(
            f"expected KIND:SIZE such as text:16, text:4k or binary:64k, got {text!r}"
        )
    size = int(m.group(2)) * {"": 1, "k": 1024, "m": 1 << 20}[m.group(3).lower()]
    return m.group(1), size


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_for(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value the server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + WS_GUID).digest()).decode("ascii")


def upgrade_request(host: str, port: int, path: str, key: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n"
    ).encode("ascii")


def check_upgrade_response(head: bytes, key: str) -> None:
    """Raise WsError unless ``head`` (up to the blank line) accepts the upgrade for ``key``."""
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "101":
        raise WsError(f"upgrade answered {lines[0]!r}, not 101")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise WsError(f"101 without Upgrade: websocket ({headers.get('upgrade')!r})")
    if headers.get("sec-websocket-accept") != accept_for(key):
        raise WsError(
            f"wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}"
            f" (expected {accept_for(key)!r})"
        )
    if headers.get("sec-websocket-extensions"):
        raise WsError(f"an extension nobody offered: {headers['sec-websocket-extensions']!r}")


# --------------------------------------------------------------------------------------------
# probe: one blocking round trip (the harness's readiness check)
# --------------------------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int, buf: bytearray) -> bytes:
    while len(buf) < n:
        chunk = sock.recv(max(1 << 16, n - len(buf)))
        if not chunk:
            raise WsError(f"connection closed by the server after {len(buf)} of {n} bytes")
        buf += chunk
    out = bytes(buf[:n])
    del buf[:n]
    return out


def _recv_frame(sock: socket.socket, buf: bytearray) -> tuple[int, bool, bytes]:
    """(opcode, fin, payload) of the next server frame."""
    b0, b1 = _recv_exact(sock, 2, buf)
    if b1 & 0x80:
        raise WsError("the server masked a frame")
    if b0 & 0x70:
        raise WsError(f"RSV bits set without an extension (first byte {b0:#04x})")
    length = b1 & 0x7F
    if length == 126:
        length = int.from_bytes(_recv_exact(sock, 2, buf), "big")
    elif length == 127:
        length = int.from_bytes(_recv_exact(sock, 8, buf), "big")
    return b0 & 0x0F, bool(b0 & 0x80), _recv_exact(sock, length, buf)


def _recv_message(sock: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    """(opcode, payload) of the next data message (fragments joined, pings answered)."""
    opcode = -1
    parts: list[bytes] = []
    while True:
        op, fin, payload = _recv_frame(sock, buf)
        if op == OP_PING:
            sock.sendall(client_frame(OP_PONG, payload))
            continue
        if op == OP_PONG:
            continue
        if op == OP_CLOSE:
            raise WsError(f"the server closed the WebSocket: {describe_close(payload)}")
        if op == OP_CONT and opcode < 0:
            raise WsError("a continuation frame outside a message")
        if op != OP_CONT:
            if opcode >= 0:
                raise WsError("a new message inside a fragmented one")
            opcode = op
        parts.append(payload)
        if fin:
            return opcode, b"".join(parts)


def probe(host: str, port: int, path: str = "/ws", timeout: float = 5.0) -> None:
    """Handshake, echo a text and a binary message, close; raise WsError (or OSError) if wrong."""
    key = new_key()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(upgrade_request(host, port, path, key))
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise WsError(f"connection closed during the handshake: {bytes(buf[:200])!r}")
            buf += chunk
        end = buf.index(b"\r\n\r\n")
        check_upgrade_response(bytes(buf[:end]), key)
        del buf[: end + 4]
        for kind, payload in (("text", make_payload("text", 300)), ("binary", bytes(range(256)))):
            sock.sendall(client_frame(KINDS[kind], payload))
            opcode, echoed = _recv_message(sock, buf)
            if opcode != KINDS[kind]:
                raise WsError(f"a {kind} message was echoed with opcode {opcode}")
            if echoed != payload:
                raise WsError(f"the {kind} echo differs: {echoed[:40]!r}... ({len(echoed)} B)")
        sock.sendall(client_frame(OP_CLOSE, close_payload(CLOSE_NORMAL)))
        while True:
            op, _, payload = _recv_frame(sock, buf)
            if op == OP_CLOSE:
                break


# --------------------------------------------------------------------------------------------
# The load: one asyncio.Protocol per connection
# --------------------------------------------------------------------------------------------

CONNECTING = 0  # TCP connect and upgrade handshake
OPEN = 1  # echoing
CLOSING = 2  # our close frame sent, waiting for the server's
CLOSED = 3  # the server's close frame came (or the connection failed): waiting for the TCP end


class Load:
    """What all connections of one run share: the frame to send, the echo to expect, the errors."""

    def __init__(
        self, host: str, port: int, path: str, kind: str, size: int, *, verify_all: bool
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.kind, self.size = kind, size
        self.opcode = KINDS[kind]
        self.payload = make_payload(kind, size)
        self.frame = client_frame(self.opcode, self.payload)
        self.echo_header = frame_header(self.opcode, size, masked=False)
        self.echo_len = len(self.echo_header) + size
        self.close_frame = client_frame(OP_CLOSE, close_payload(CLOSE_NORMAL))
        self.verify_all = verify_all
        self.stopping = False
        self.errors: list[str] = []
        self.close_failures: list[str] = []


class EchoConnection(asyncio.Protocol):
    def __init__(self, load: Load, index: int, loop: asyncio.AbstractEventLoop) -> None:
        self.load = load
        self.index = index
        self.key = new_key()
        self.transport: asyncio.Transport | None = None
        self.state = CONNECTING
        self.handshake: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()  # the TCP connection ended
        self.head = bytearray()
        self.count = 0  # echoes received
        self.failed = False
        # watchdog bookkeeping: progress seen at its last tick, and since when it has not moved
        self.seen = -1
        self.seen_state = -1
        self.since = 0.0
        # frame parser state (the general path)
        self.hdr = bytearray()  # header bytes of a frame split between reads
        self.remaining = 0  # payload bytes of the current frame still to come
        self.frame_op = 0
        self.frame_fin = False
        self.msg_op = -1  # opcode of the data message being received (-1: none)
        self.msg_len = 0
        self.verify = True  # compare the payload of the next echo (the first one always)
        self.collect: bytearray | None = None  # the data message's payload, when verifying
        self.control = bytearray()  # a control frame's payload

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        load = self.load
        self.transport.write(upgrade_request(load.host, load.port, load.path, self.key))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.state == CONNECTING:
            self.fail(f"connection lost during the handshake ({exc or 'closed by the server'})")
        elif self.state == OPEN:
            self.fail(
                f"connection lost after {self.count} echoes ({exc or 'closed by the server'})"
            )
        elif self.state == CLOSING and not self.failed:
            self.failed = True  # a close failure, not an echo error
            self.load.close_failures.append(
                f"conn {self.index}: connection closed without a close frame from the server"
            )
        self.state = CLOSED
        if not self.handshake.done():
            self.handshake.set_result(None)
        if not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        load = self.load
        # fast path: exactly one whole echo frame, nothing pending, nothing to compare
        if (
            len(data) == load.echo_len
            and not self.verify
            and not self.remaining
            and not self.hdr
            and data.startswith(load.echo_header)
        ):
            self.echo_done()
            return
        if self.state == CONNECTING:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > 65536:
                    self.fail("no end of the handshake response in 64 KiB")
                return
            try:
                check_upgrade_response(bytes(self.head[:end]), self.key)
            except WsError as exc:
                self.fail(f"handshake: {exc}")
                return
            rest = bytes(self.head[end + 4 :])
            self.head.clear()
            self.state = OPEN
            self.handshake.set_result(None)
            if rest:
                self.parse(rest)
            return
        self.parse(data)

    # -- frames --------------------------------------------------------------------------------

    def parse(self, data: bytes) -> None:
        view = memoryview(data)
        pos, end = 0, len(data)
        hdr = self.hdr
        while pos < end and self.transport is not None:
            if self.remaining:
                take = min(self.remaining, end - pos)
                if self.frame_op >= OP_CLOSE:
                    self.control += view[pos : pos + take]
                elif self.collect is not None:
                    self.collect += view[pos : pos + take]
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.frame_done()
                continue
            if len(hdr) < 2:
                take = min(2 - len(hdr), end - pos)
                hdr += view[pos : pos + take]
                pos += take
                if len(hdr) < 2:
                    return
            b1 = hdr[1]
            if b1 & 0x80:
                self.fail("the server masked a frame")
                return
            length = b1 & 0x7F
            size = 2 if length < 126 else 4 if length == 126 else 10
            if len(hdr) < size:
                take = min(size - len(hdr), end - pos)
                hdr += view[pos : pos + take]
                pos += take
                if len(hdr) < size:
                    return
            if size > 2:
                length = int.from_bytes(hdr[2:size], "big")
            b0 = hdr[0]
            hdr.clear()
            self.frame_start(b0, length)
            if not length and self.transport is not None:
                self.frame_done()

    def frame_start(self, b0: int, length: int) -> None:
        if b0 & 0x70:
            self.fail(f"RSV bits set without an extension (first byte {b0:#04x})")
            return
        op = b0 & 0x0F
        self.frame_op, self.frame_fin, self.remaining = op, bool(b0 & 0x80), length
        if op >= OP_CLOSE:
            if not self.frame_fin or length > 125:
                self.fail(f"a fragmented or oversized control frame (opcode {op})")
                return
            self.control = bytearray()
            return
        if op == OP_CONT:
            if self.msg_op < 0:
                self.fail("a continuation frame outside a message")
                return
        elif self.msg_op >= 0:
            self.fail("a new message inside a fragmented one")
            return
        elif op != self.load.opcode:
            self.fail(f"a {self.load.kind} message was echoed with opcode {op}")
            return
        else:
            self.msg_op, self.msg_len = op, 0
            self.collect = bytearray() if self.verify else None
        self.msg_len += length

    def frame_done(self) -> None:
        op = self.frame_op
        if op == OP_PING:
            if self.transport is not None and self.state == OPEN:
                self.transport.write(client_frame(OP_PONG, bytes(self.control)))
            return
        if op == OP_PONG:
            return
        if op == OP_CLOSE:
            self.server_closed()
            return
        if not self.frame_fin:
            return
        load = self.load
        if self.msg_len != load.size:
            self.fail(f"echo of {self.msg_len} bytes, {load.size} sent")
            return
        if self.collect is not None and self.collect != load.payload:
            self.fail(f"the echo differs from what was sent: {bytes(self.collect[:40])!r}...")
            return
        self.msg_op, self.collect = -1, None
        self.verify = load.verify_all
        self.echo_done()

    def echo_done(self) -> None:
        self.count += 1
        assert self.transport is not None
        if self.load.stopping:
            self.state = CLOSING
            self.transport.write(self.load.close_frame)
        else:
            self.transport.write(self.load.frame)

    def server_closed(self) -> None:
        why = describe_close(self.control)
        if self.state == CLOSING:
            self.state = CLOSED
            if not why.startswith(f"code {CLOSE_NORMAL}"):
                self.load.close_failures.append(f"conn {self.index}: close answered with {why}")
        else:
            self.fail(f"the server closed the WebSocket after {self.count} echoes: {why}")
            return
        # RFC 6455 7.1.1: the server closes the TCP connection first; the watchdog aborts it
        # if that does not come within the timeout

    # -- start, failure ------------------------------------------------------------------------

    def start(self) -> None:
        """Send the first message."""
        assert self.transport is not None
        self.transport.write(self.load.frame)

    def fail(self, why: str) -> None:
        """Record an error (the first one of this connection) and drop the connection."""
        if not self.failed:
            self.failed = True
            self.load.errors.append(f"conn {self.index}: {why}")
        self.drop()

    def drop(self) -> None:
        """Abort the TCP connection; connection_lost follows and ends it."""
        self.state = CLOSED
        if self.transport is not None:
            self.transport.abort()
            self.transport = None
        elif not self.done.done():  # no connection (or a broken one): no connection_lost to come
            self.done.set_result(None)
        if not self.handshake.done():
            self.handshake.set_result(None)


async def watchdog(conns: list[EchoConnection], limit: float, tick: float = 0.25) -> None:
    """Fail a connection whose state and echo count have not moved for ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(tick)
        now = loop.time()
        for c in conns:
            if c.done.done():
                continue
            if c.count != c.seen or c.state != c.seen_state:
                c.seen, c.seen_state, c.since = c.count, c.state, now
                continue
            if now - c.since < limit:
                continue
            if c.state == CONNECTING:
                c.fail(f"no upgrade response within {limit:g} s")
            elif c.state == OPEN:
                c.fail(f"no echo within {limit:g} s (after {c.count} echoes)")
            elif c.state == CLOSING:
                c.load.close_failures.append(f"conn {c.index}: no close frame within {limit:g} s")
                c.failed = True  # counted once, as a close failure
                c.drop()
            else:  # CLOSED: the server did not end the TCP connection; end it
                c.drop()


@dataclass
class LoadResult:
    kind: str
    size: int
    connections: int
    connected: int
    warmup: float
    seconds: float  # measured wall time
    messages: int  # echoes received while measuring
    messages_per_sec: float
    mb_per_sec: float  # payload MiB/s, one way
    cpu_percent: float  # this process's CPU time / wall time while measuring, in % of one core
    cpu_user_percent: float  # the user-space part of it (the rest is the kernel's, the sockets)
    errors: list[str] = field(default_factory=list)
    close_failures: list[str] = field(default_factory=list)
    closed_ok: int = 0


async def run_load(
    host: str,
    port: int,
    path: str,
    kind: str,
    size: int,
    *,
    connections: int,
    warmup: float,
    duration: float,
    echo_timeout: float,
    verify_all: bool = False,
) -> LoadResult:
    loop = asyncio.get_running_loop()
    load = Load(host, port, path, kind, size, verify_all=verify_all)
    conns = [EchoConnection(load, i, loop) for i in range(connections)]
    dog = asyncio.create_task(watchdog(conns, echo_timeout))

    async def connect(c: EchoConnection) -> None:
        try:
            await asyncio.wait_for(loop.create_connection(lambda: c, host, port), echo_timeout)
        except (OSError, TimeoutError) as exc:
            c.fail(f"connect: {str(exc) or type(exc).__name__}")
            return
        await c.handshake

    try:
        await asyncio.gather(*(connect(c) for c in conns))
        live = [c for c in conns if c.state == OPEN]
        for c in live:
            c.start()
        if live:
            await asyncio.sleep(warmup)
        count0 = sum(c.count for c in conns)
        ru0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        if live:
            await asyncio.sleep(duration)
        count1 = sum(c.count for c in conns)
        ru1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        load.stopping = True  # each connection sends a close frame after its echo in flight
        await asyncio.gather(*(c.done for c in conns))
    finally:
        dog.cancel()
        for c in conns:
            if c.transport is not None:
                c.transport.abort()
    seconds = wall1 - wall0 if live else 0.0
    user, system = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
    messages = count1 - count0
    rate = messages / seconds if seconds > 0 else 0.0
    return LoadResult(
        kind=kind,
        size=size,
        connections=connections,
        connected=len(live),
        warmup=warmup,
        seconds=round(seconds, 3),
        messages=messages,
        messages_per_sec=round(rate, 1),
        mb_per_sec=round(rate * size / (1 << 20), 2),
        cpu_percent=round(100.0 * (user + system) / seconds, 1) if seconds > 0 else 0.0,
        cpu_user_percent=round(100.0 * user / seconds, 1) if seconds > 0 else 0.0,
        errors=load.errors,
        close_failures=load.close_failures,
        closed_ok=sum(1 for c in conns if c.state == CLOSED and not c.failed),
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _specs(text: str) -> list[tuple[str, int]]:
    return [parse_spec(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/ws_load.py", description="WebSocket echo load generator (asyncio + uvloop)."
    )
    p.add_argument("--host", default=HOST)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/ws")
    p.add_argument(
        "--messages",
        type=_specs,
        default=_specs(DEFAULT_MESSAGES),
        help=f"comma-separated KIND:SIZE, run one after the other (default {DEFAULT_MESSAGES})",
    )
    p.add_argument("--connections", "-c", type=int, default=64)
    p.add_argument("--duration", "-d", type=float, default=5.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    p.add_argument(
        "--timeout", type=float, default=5.0, help="seconds without an echo before an error"
    )
    p.add_argument("--verify-all", action="store_true", help="compare every echo, not the first")
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    args = p.parse_args(argv)
    if args.connections < 1 or args.duration <= 0 or args.warmup < 0 or args.timeout <= 0:
        p.error("--connections and --duration must be positive, --warmup not negative")
    return args


def _line(r: LoadResult) -> str:
    text = (
        f"{r.kind}:{r.size} x {r.connected}/{r.connections} conns: "
        f"{r.messages_per_sec:,.0f} msg/s, {r.mb_per_sec:,.1f} MiB/s, "
        f"client CPU {r.cpu_percent:.0f}% (user {r.cpu_user_percent:.0f}%), "
        f"{r.messages} echoes in {r.seconds:.2f} s"
    )
    if r.errors:
        text += f"\n  {len(r.errors)} error(s): " + "; ".join(r.errors[:5])
    if r.close_failures:
        text += f"\n  {len(r.close_failures)} close failure(s): " + "; ".join(r.close_failures[:5])
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if args.loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    status = 0
    for kind, size in args.messages:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            result = runner.run(
                run_load(
                    args.host,
                    args.port,
                    args.path,
                    kind,
                    size,
                    connections=args.connections,
                    warmup=args.warmup,
                    duration=args.duration,
                    echo_timeout=args.timeout,
                    verify_all=args.verify_all,
                )
            )
        if args.json:
            print(json.dumps(asdict(result)), flush=True)
        else:
            print(_line(result), flush=True)
        if not result.connected:
            status = 2
        elif status == 0 and (result.errors or result.close_failures):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
