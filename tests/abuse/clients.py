"""HTTP/1.1 on the wire, from the client side: raw sockets and a response parser.

* `ResponseParser`: sans-IO response parsing (Content-Length, chunked, until-close), with an
  optional per-chunk body callback so 200 MiB bodies are checked without being kept.
* `Client`: one raw non-blocking socket driven by ``loop.sock_*`` (no streams, no buffering we do
  not control): connect, send, receive with timeouts, wait for the close, abort with an RST.
* `blocking_exchange`: the thread-friendly blocking twin, for throughput where the client must not
  be the bottleneck.

Every socket is 127.0.0.1; every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "HOST",
    "KIB",
    "MIB",
    "Client",
    "Response",
    "ResponseError",
    "ResponseParser",
    "blocking_exchange",
    "get",
    "request_bytes",
]

KIB = 1024
MIB = 1024 * 1024
HOST = "127.0.0.1"


# ---------------------------------------------------------------------------- HTTP responses


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    body_length: int = 0

    def header(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive), or None."""
        name = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found

    @property
    def closes(self) -> bool:
        return (self.header("connection") or "").lower() == "close"


class ResponseError(Exception):
    """The server sent something that is not a valid HTTP/1.1 response."""


@dataclass
class ResponseParser:
    """Bytes in, `Response` objects out.

    Args:
        keep_body: keep body bytes in `Response.body` (else only count them in `body_length`).
        on_body: called with every body chunk (a memoryview) as it is parsed.
    """

    keep_body: bool = True
    on_body: Callable[[memoryview], None] | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _current: Response | None = None
    _mode: str = ""  # "length", "chunked", "close"
    _remaining: int = 0
    _chunk_state: str = "size"  # "size", "data", "crlf", "trailers"
    _parts: list[bytes] = field(default_factory=list)

    @property
    def in_body(self) -> bool:
        return self._current is not None

    def feed(self, data: bytes) -> list[Response]:
        self._buffer += data
        done: list[Response] = []
        while True:
            if self._current is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > 1 << 20:
                        raise ResponseError("response head over 1 MiB")
                    return done
                head = bytes(self._buffer[:end])
                del self._buffer[: end + 4]
                response = self._start(head)
                if response is not None:
                    done.append(response)
                continue
            response = self._body()
            if response is None:
                return done
            done.append(response)

    def feed_eof(self) -> Response | None:
        """The peer closed: complete an until-close body; None if nothing was in progress."""
        if self._current is not None and self._mode == "close":
            return self._finish()
        if self._current is not None:
            raise ResponseError(f"connection closed inside a {self._mode} body")
        return None

    def _start(self, head: bytes) -> Response | None:
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
            raise ResponseError(f"bad status line {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ResponseError(f"bad header line {line!r}")
            headers.append((name.strip(), value.strip()))
        response = Response(
            int(status_line[1]), status_line[2] if len(status_line) > 2 else "", headers
        )
        if 100 <= response.status < 200:
            return None  # informational: the final response follows
        self._current = response
        self._parts = []
        encoding = (response.header("transfer-encoding") or "").lower()
        length = response.header("content-length")
        if "chunked" in encoding:
            self._mode, self._chunk_state = "chunked", "size"
        elif length is not None:
            self._mode, self._remaining = "length", int(length)
            if self._remaining == 0:
                return self._finish()
        else:
            self._mode = "close"
        return None

    def _take(self, count: int) -> None:
        view = memoryview(self._buffer)[:count]
        try:
            assert self._current is not None
            self._current.body_length += count
            if self.on_body is not None:
                self.on_body(view)
            if self.keep_body:
                self._parts.append(bytes(view))
        finally:
            view.release()
        del self._buffer[:count]

    def _body(self) -> Response | None:
        if self._mode == "length":
            count = min(self._remaining, len(self._buffer))
            if count:
                self._take(count)
                self._remaining -= count
            return self._finish() if self._remaining == 0 else None
        if self._mode == "close":
            if self._buffer:
                self._take(len(self._buffer))
            return None
        while True:  # chunked
            if self._chunk_state == "size":
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    return None
                size = int(bytes(self._buffer[:end]).split(b";")[0], 16)
                del self._buffer[: end + 2]
                self._remaining = size
                self._chunk_state = "data" if size else "trailers"
            elif self._chunk_state == "data":
                count = min(self._remaining, len(self._buffer))
                if count == 0:
                    return None
                self._take(count)
                self._remaining -= count
                if self._remaining == 0:
                    self._chunk_state = "crlf"
            elif self._chunk_state == "crlf":
                if len(self._buffer) < 2:
                    return None
                del self._buffer[:2]
                self._chunk_state = "size"
            else:  # trailers: lines until an empty one
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    return None
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                if not line:
                    return self._finish()

    def _finish(self) -> Response:
        response = self._current
        assert response is not None
        if self.keep_body:
            response.body = b"".join(self._parts)
        self._parts = []
        self._current = None
        self._mode = ""
        return response


def request_bytes(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    close: bool = False,
) -> bytes:
    """A request as bytes (Host added; Content-Length added when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------------------- clients


class Client:
    """One raw, non-blocking TCP connection to 127.0.0.1, driven by ``loop.sock_*``.

    Build it with `Client.connect`; always `close` or `abort` it (both are idempotent).  Every
    awaiting method takes its own ``timeout`` (hence the ASYNC109 exemptions): a test cannot forget
    to bound a wait on a server that misbehaves.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = ResponseParser()
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.eof = False
        self._pending: list[Response] = []

    @classmethod
    async def connect(
        cls,
        port: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        rcvbuf: int | None = None,
        sndbuf: int | None = None,
    ) -> Self:
        """Connect (raises ConnectionRefusedError, TimeoutError...); buffer sizes set before."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if sndbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            async with asyncio.timeout(timeout):
                await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    async def send(self, data: bytes | memoryview, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self.loop.sock_sendall(self.sock, data)

    async def recv(self, size: int = 256 * KIB, timeout: float = 10.0) -> bytes:  # noqa: ASYNC109
        """Up to `size` bytes; b"" at EOF.  Raises ConnectionResetError, TimeoutError."""
        async with asyncio.timeout(timeout):
            data = await self.loop.sock_recv(self.sock, size)
        if not data:
            self.eof = True
        return data

    async def response(self, timeout: float = 10.0) -> Response:  # noqa: ASYNC109
        """Read the next complete response (pipelined ones stay queued in the parser)."""
        if self._pending:
            return self._pending.pop(0)
        async with asyncio.timeout(timeout):
            while True:
                data = await self.loop.sock_recv(self.sock, 256 * KIB)
                if not data:
                    self.eof = True
                    final = self.parser.feed_eof()
                    if final is None:
                        raise ConnectionError("connection closed before a response")
                    return final
                done = self.parser.feed(data)
                if done:
                    self._pending = done[1:]
                    return done[0]

    async def responses(self, count: int, timeout: float = 10.0) -> list[Response]:  # noqa: ASYNC109
        return [await self.response(timeout) for _ in range(count)]

    @property
    def unread(self) -> list[Response]:
        """Responses parsed but not yet returned by `response` (e.g. seen by `wait_closed`)."""
        return self._pending

    async def wait_closed(self, timeout: float) -> str:  # noqa: ASYNC109
        """Read until the server closes: returns "eof" or "reset".

        Complete responses seen on the way are kept in `unread`.

        Raises:
            TimeoutError: still open after `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await self.loop.sock_recv(self.sock, 256 * KIB)
                except (ConnectionResetError, BrokenPipeError):
                    return "reset"
                if not data:
                    self.eof = True
                    return "eof"
                self._pending += self.parser.feed(data)

    def abort(self) -> None:
        """Close with SO_LINGER 0: the kernel sends an RST, not a FIN."""
        if not self.closed:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


async def get(port: int, path: str = "/", timeout: float = 5.0) -> Response:  # noqa: ASYNC109
    """One GET on a fresh connection with ``Connection: close``."""
    client = await Client.connect(port, timeout=timeout)
    try:
        await client.send(request_bytes(path, close=True), timeout)
        return await client.response(timeout)
    finally:
        client.close()


def blocking_exchange(
    port: int,
    head: bytes,
    body: Iterable[bytes | memoryview],
    *,
    timeout: float = 60.0,
) -> tuple[Response, float, float]:
    """Send `head` and then every buffer of `body` on a blocking socket, then read one response.

    Meant to run in a thread: ``sendall`` on a preallocated memoryview releases the GIL and does
    no copying in Python, so the client is not what limits throughput.

    Returns:
        (response, seconds from the first byte sent to the last, seconds to the full response).
    """
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        sock.sendall(head)
        for buffer in body:
            sock.sendall(buffer)
        sent = time.perf_counter()
        parser = ResponseParser()
        while True:
            data = sock.recv(256 * KIB)
            if not data:
                final = parser.feed_eof()
                if final is None:
                    raise ConnectionError("connection closed before a response")
                return final, sent - started, time.perf_counter() - started
            done = parser.feed(data)
            if done:
                return done[0], sent - started, time.perf_counter() - started
