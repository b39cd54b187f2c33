"""WebSocket (RFC 6455) on the wire, from the client side, for the abuse tests.

* `frame`: client frame bytes built by hand, so they can be wrong on purpose (unmasked, reserved
  bits, unknown opcodes, oversized control frames, lengths that do not match the payload).
* `valid_frame`: a correct client frame, serialized by ``websockets`` itself.
* `FrameReader`: parses the server's frames (which must be unmasked) from a byte stream.
* `WsClient`: one raw socket that did the opening handshake; sends bytes, reads frames and the
  close frame, tells how the server ended the TCP connection.  Every wait has a timeout.
* `handshake_request` / `read_head`: the opening handshake, for blocking sockets too.
* `deflate_zeros`: a ``permessage-deflate`` payload that inflates to N bytes of zeros, built
  without holding N bytes (cached per process).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import socket
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from websockets.frames import Frame, Opcode
from websockets.utils import accept_key, apply_mask

from .clients import HOST, KIB, MIB, Client

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "BINARY",
    "CLOSE",
    "CONT",
    "PING",
    "PONG",
    "TEXT",
    "Handshake",
    "ServerFrame",
    "WsClient",
    "close_payload",
    "compressed_frame",
    "deflate_zeros",
    "frame",
    "handshake_request",
    "parse_close",
    "read_head",
    "valid_frame",
]

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_SYNC_TAIL = b"\x00\x00\xff\xff"


# ---------------------------------------------------------------------------- client frames


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
    key: bytes = b"\x37\xfa\x21\x3d",
) -> bytes:
    """One client frame, by hand.

    Args:
        opcode: any 4-bit value, valid or not.
        rsv: the three reserved bits as a number 0..7 (4 is RSV1, 2 RSV2, 1 RSV3).
        mask: mask the payload (clients must; False makes an invalid frame).
        length: the payload length to declare (default: the real one); the encoding (7, 16 or
            64 bits) is chosen from it, so a huge length can be declared over a tiny payload.
    """
    declared = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)])
    mask_bit = 0x80 if mask else 0
    if declared < 126:
        head += bytes([mask_bit | declared])
    elif declared < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", declared)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", declared)
    if not mask:
        return head + payload
    return head + key + apply_mask(payload, key)


def valid_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A correct masked client frame, serialized by ``websockets``."""
    return Frame(Opcode(opcode), payload, fin).serialize(mask=True, extensions=[])


def compressed_frame(payload: bytes) -> bytes:
    """A whole ``permessage-deflate`` message: RSV1 set, `payload` already compressed."""
    return frame(BINARY, payload, rsv=4)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def parse_close(payload: bytes) -> tuple[int | None, bytes]:
    """The (code, reason bytes) of a close frame payload; code None when empty."""
    if not payload:
        return None, b""
    if len(payload) == 1:
        raise AssertionError(f"server sent a 1-byte close payload {payload!r}")
    return struct.unpack("!H", payload[:2])[0], payload[2:]


# ---------------------------------------------------------------------------- server frames


@dataclass
class ServerFrame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes


class FrameReader:
    """Server frames out of a byte stream (a server must not mask, RFC 6455 §5.1)."""

    def __init__(self, initial: bytes = b"") -> None:
        self.buffer = bytearray(initial)

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next(self) -> ServerFrame | None:
        """The next complete frame, or None if more bytes are needed."""
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        head1, head2 = buffer[0], buffer[1]
        if head2 & 0x80:
            raise AssertionError("the server sent a masked frame")
        length = head2 & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            (length,) = struct.unpack_from("!H", buffer, 2)
            offset = 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buffer, 2)
            offset = 10
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        return ServerFrame(bool(head1 & 0x80), (head1 >> 4) & 7, head1 & 0xF, payload)


# ---------------------------------------------------------------------------- the handshake


def handshake_request(
    path: str = "/echo",
    *,
    key: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    method: str = "GET",
    version: str = "HTTP/1.1",
    standard: bool = True,
) -> tuple[bytes, str]:
    """An opening handshake request and its key.

    Args:
        key: the Sec-WebSocket-Key (default: a fresh valid one).
        headers: extra fields.
        standard: add Upgrade, Connection, Sec-WebSocket-Key and Sec-WebSocket-Version: 13
            (False: only Host and `headers`, to build broken handshakes field by field).
    """
    if key is None:
        key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    if standard:
        lines += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


@dataclass
class Handshake:
    """The server's answer to an opening handshake."""

    status: int
    headers: list[tuple[str, str]]
    rest: bytes  # bytes after the head (the body of a refusal, or the first frames)

    def header(self, name: str) -> str | None:
        name = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found


def _parse_head(head: bytes, rest: bytes) -> Handshake:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return Handshake(status, headers, rest)


def read_head(sock: socket.socket) -> Handshake:
    """Read a response head from a blocking socket (its own timeout applies)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(64 * KIB)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return _parse_head(head, rest)


# ---------------------------------------------------------------------------- the client


class WsClient:
    """A raw socket after (or during) an opening handshake; build it with `WsClient.connect`."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.reader = FrameReader()
        self.handshake: Handshake | None = None
        self.eof = False

    @classmethod
    async def connect(
        cls,
        port: int,
        path: str = "/echo",
        *,
        headers: Sequence[tuple[str, str]] = (),
        rcvbuf: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Self:
        """Connect and complete the opening handshake (asserts a correct 101)."""
        client = await Client.connect(port, timeout=timeout, rcvbuf=rcvbuf)
        self = cls(client)
        try:
            request, key = handshake_request(path, headers=headers)
            answer = await self.request(request, timeout)
            assert answer.status == 101, answer
            assert answer.header("sec-websocket-accept") == accept_key(key), answer
        except BaseException:
            client.close()
            raise
        return self

    @classmethod
    async def raw(cls, port: int, *, timeout: float = 5.0) -> Self:  # noqa: ASYNC109
        """Only connect: the caller sends its own (broken) handshake with `request`."""
        return cls(await Client.connect(port, timeout=timeout))

    async def request(self, data: bytes, timeout: float = 5.0) -> Handshake:  # noqa: ASYNC109
        """Send a handshake request and read the response head."""
        await self.client.send(data, timeout)
        buffer = b""
        async with asyncio.timeout(timeout):
            while b"\r\n\r\n" not in buffer:
                chunk = await self.client.loop.sock_recv(self.client.sock, 64 * KIB)
                if not chunk:
                    raise ConnectionError(f"closed before a response head: {buffer!r}")
                buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        self.handshake = _parse_head(head, rest)
        if self.handshake.status == 101:
            self.reader.feed(rest)
        return self.handshake

    async def send(self, data: bytes, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self.client.send(data, timeout)

    async def recv(self, timeout: float = 5.0) -> bytes:  # noqa: ASYNC109
        """Raw bytes (b"" at EOF); raises ConnectionResetError, TimeoutError."""
        data = await self.client.recv(256 * KIB, timeout)
        if not data:
            self.eof = True
        return data

    async def frame(self, timeout: float = 5.0) -> ServerFrame:  # noqa: ASYNC109
        """The next server frame; raises ConnectionError at EOF, TimeoutError."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.reader.next()
                if found is not None:
                    return found
                data = await self.client.loop.sock_recv(self.client.sock, 256 * KIB)
                if not data:
                    self.eof = True
                    raise ConnectionError("connection closed before a complete frame")
                self.reader.feed(data)

    async def message(self, timeout: float = 5.0) -> ServerFrame:  # noqa: ASYNC109
        """The next data frame (pings and pongs skipped); must be a whole message."""
        while True:
            got = await self.frame(timeout)
            if got.opcode in (PING, PONG):
                continue
            assert got.fin, got
            return got

    async def expect_close(self, timeout: float = 5.0) -> tuple[int | None, bytes]:  # noqa: ASYNC109
        """Read frames until the server's close frame; returns its (code, reason).

        Data frames on the way are ignored (an echo may precede the failure).
        """
        async with asyncio.timeout(timeout):
            while True:
                got = await self.frame(timeout)
                if got.opcode == CLOSE:
                    return parse_close(got.payload)

    async def closed_by_server(self, timeout: float = 5.0) -> str:  # noqa: ASYNC109
        """After the close frame: wait for the server to end TCP; "eof" or "reset".

        Raises:
            AssertionError: the server sent more bytes after its close frame.
            TimeoutError: still open after `timeout`.
        """
        if self.reader.buffer:
            raise AssertionError(f"bytes after the close frame: {bytes(self.reader.buffer[:64])!r}")
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await self.client.loop.sock_recv(self.client.sock, 256 * KIB)
                except (ConnectionResetError, BrokenPipeError):
                    return "reset"
                if not data:
                    self.eof = True
                    return "eof"
                raise AssertionError(f"bytes after the close frame: {data[:64]!r}")

    async def drain_until_closed(self, timeout: float) -> tuple[str, int]:  # noqa: ASYNC109
        """Read and drop everything until the server ends TCP: ("eof" | "reset", bytes read)."""
        total = 0
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await self.client.loop.sock_recv(self.client.sock, 1 * MIB)
                except (ConnectionResetError, BrokenPipeError):
                    return "reset", total
                if not data:
                    self.eof = True
                    return "eof", total
                total += len(data)

    async def close_cleanly(self, timeout: float = 5.0) -> tuple[int | None, bytes]:  # noqa: ASYNC109
        """Send close 1000, return the server's answering close, expect it to end TCP."""
        await self.send(frame(CLOSE, close_payload(1000)), timeout)
        answer = await self.expect_close(timeout)
        await self.closed_by_server(timeout)
        return answer

    def close(self) -> None:
        self.client.close()

    def abort(self) -> None:
        self.client.abort()


def blocking_connect(
    port: int, *, timeout: float = 5.0, rcvbuf: int | None = None
) -> socket.socket:
    """A blocking socket to the server (buffer size set before connecting)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect((HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


def abort_socket(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---------------------------------------------------------------------------- deflate bombs


@functools.cache
def deflate_zeros(size: int, wbits: int = 12) -> bytes:
    """A raw-deflate ``permessage-deflate`` message payload that inflates to `size` zero bytes.

    Deflate's best ratio is about 1030:1, so 1 GiB takes about 1 MiB.  Built from three
    compressed blocks of `_BLOCK` zeros, each ended by a sync flush: after the first, the window
    holds only zeros, so every further block compresses to the same bytes and is repeated
    instead of compressed (about 0.3 s instead of 5 s for 1 GiB).  The final sync flush's empty
    block (``00 00 ff ff``) is removed, as RFC 7692 §7.2.1 asks of the sender.
    """
    block = min(size, _BLOCK)
    if size % block:
        raise ValueError(f"size must be a multiple of {block}")
    count = size // block
    compressor = zlib.compressobj(9, zlib.DEFLATED, -wbits)
    zeros = bytes(block)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    if count == 1:
        return first.removesuffix(_SYNC_TAIL)
    repeated = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    check = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    if repeated != check:
        raise AssertionError("zlib did not compress a block of zeros the same way twice")
    payload = first + repeated * (count - 1)
    assert payload.endswith(_SYNC_TAIL)
    return payload[: -len(_SYNC_TAIL)]


_BLOCK = 16 * MIB
