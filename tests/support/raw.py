"""`RawClient`: exact bytes out, h11-parsed responses in.

The requests are written by hand (the point is to send what a library would refuse to), and the
responses are parsed by h11, a strict reference parser, so the tests assert on parsed responses
and a framing mistake on ketch's side shows up as an h11 `RemoteProtocolError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Self

import h11

__all__ = ["IncompleteResponse", "RawClient", "RawResponse"]


class IncompleteResponse(Exception):
    """The server closed the connection before a whole response arrived."""


@dataclass
class RawResponse:
    """One response as h11 parsed it (header names lowercased)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    informational: list[h11.InformationalResponse] = field(default_factory=list)
    http_version: bytes = b"1.1"

    def header(self, name: bytes) -> bytes | None:
        """The value of the only field called `name`, or None (fails if there are several)."""
        values = self.header_values(name)
        assert len(values) <= 1, f"{name!r} appears {len(values)} times: {values}"
        return values[0] if values else None

    def header_values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]

    @property
    def names(self) -> set[bytes]:
        return {name for name, _ in self.headers}


class RawClient:
    """A connection to a server that writes raw bytes and reads h11-parsed responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buffer = b""
        self._eof = False

    @classmethod
    async def connect(
        cls, port: int, host: str = "127.0.0.1", *, ssl: Any = None, server_hostname: Any = None
    ) -> Self:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ssl, server_hostname=server_hostname
        )
        return cls(reader, writer)

    @classmethod
    async def connect_unix(cls, path: str) -> Self:
        reader, writer = await asyncio.open_unix_connection(path)
        return cls(reader, writer)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def sockname(self) -> Any:
        return self.writer.get_extra_info("sockname")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashed client or a middlebox does."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(
        self,
        method: str = "GET",
        target: str = "/",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        *,
        version: str = "1.1",
    ) -> RawResponse:
        """Send a simple request (Host and Content-Length added) and read its response."""
        fields = [("Host", "test")] if version == "1.1" else []
        fields += headers or []
        if body:
            fields.append(("Content-Length", str(len(body))))
        head = f"{method} {target} HTTP/{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
        await self.send(head.encode("latin-1") + b"\r\n" + body)
        return await self.response(method)

    async def _read_more(self) -> bytes:
        if self._eof:
            return b""
        try:
            data = await self.reader.read(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self._eof = True
        return data

    async def response(self, method: str = "GET") -> RawResponse:
        """Read one final response (and the 1xx before it) to a `method` request.

        Raises:
            IncompleteResponse: the server closed before the response was complete.
            h11.RemoteProtocolError: the response is not valid HTTP/1.1.
        """
        conn = h11.Connection(h11.CLIENT)
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "test")]))
        conn.send(h11.EndOfMessage())
        if self._buffer:
            conn.receive_data(self._buffer)  # (b"" would mean EOF to h11)
        self._buffer = b""
        if self._eof:
            conn.receive_data(b"")
        informational: list[h11.InformationalResponse] = []
        head: h11.Response | None = None
        body = []
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                if self._eof and _means_closed(str(exc)):
                    raise IncompleteResponse(str(exc)) from exc
                raise
            if event is h11.NEED_DATA:
                conn.receive_data(await self._read_more())
            elif isinstance(event, h11.InformationalResponse):
                informational.append(event)
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise IncompleteResponse("connection closed before a response")
            else:  # pragma: no cover
                raise AssertionError(f"unexpected event {event!r}")
        assert head is not None
        rest, _closed = conn.trailing_data
        self._buffer = bytes(rest)
        return RawResponse(
            status=head.status_code,
            headers=[(bytes(k), bytes(v)) for k, v in head.headers],
            body=b"".join(body),
            trailers=[(bytes(k), bytes(v)) for k, v in event.headers],
            informational=informational,
            http_version=bytes(head.http_version),
        )

    async def read_head_bytes(self) -> bytes:
        """Read until a blank line ends a head (for 1xx checks); leaves the rest buffered."""
        while b"\r\n\r\n" not in self._buffer:
            data = await self._read_more()
            if not data:
                raise IncompleteResponse(f"closed after {self._buffer!r}")
            self._buffer += data
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        return head + b"\r\n\r\n"

    async def read_until_eof(self) -> bytes:
        """Everything the server sends until it closes its side."""
        chunks = [self._buffer]
        self._buffer = b""
        while data := await self._read_more():
            chunks.append(data)
        return b"".join(chunks)

    async def assert_closed(self, within: float = 3.0) -> None:
        """The server closes the connection within `within` seconds without sending more."""
        async with asyncio.timeout(within):
            rest = await self.read_until_eof()
        assert rest == b"", f"unexpected bytes before close: {rest[:200]!r}"

    async def assert_silent(self, for_seconds: float = 0.3) -> None:
        """Nothing arrives (and the connection stays open) for `for_seconds`."""
        assert not self._buffer
        assert not self._eof
        try:
            async with asyncio.timeout(for_seconds):
                data = await self.reader.read(1)
        except TimeoutError:
            return
        raise AssertionError(f"expected silence, got {data!r}")


def _means_closed(message: str) -> bool:
    message = message.lower()
    return any(
        words in message for words in ("incomplete", "peer closed", "event type connectionclosed")
    )


def ipv6_available() -> bool:
    """Whether ::1 can be bound here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True
