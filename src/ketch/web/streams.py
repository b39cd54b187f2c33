"""`BodyStream`: the request body as an async byte stream (aiohttp's ``request.content``).

The iterators are classes, as aiohttp's are, rather than async generators: an iterator left
unfinished holds nothing that needs closing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .._compiled import mypyc_attr

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from ..server.handler import Exchange

__all__ = ["BodyStream", "Pieces", "once"]


class Pieces:
    """An async iterator over what `read` returns, until it returns ``b""``."""

    def __init__(self, read: Callable[[], Awaitable[bytes]]) -> None:
        self._read = read

    def __aiter__(self) -> Pieces:
        return self

    async def __anext__(self) -> bytes:
        data = await self._read()
        if not data:
            raise StopAsyncIteration
        return data


class _Once:
    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        data = self._data
        if data is None:
            raise StopAsyncIteration
        self._data = None
        return data


def once(data: bytes) -> AsyncIterator[bytes]:
    """An async iterator yielding `data` once."""
    return _Once(data)


@mypyc_attr(allow_interpreted_subclasses=True)
class BodyStream:
    """The request body as an async byte stream (aiohttp's ``request.content``).

    Reads take what the connection buffered; while nothing is buffered they wait, and the
    connection reads from the socket only as fast as this stream is read.
    """

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._buffer = b""
        self._eof = False
        self.total_bytes = 0

    async def _fill(self) -> bool:
        """Add the next body piece to the buffer; False at the end of the body."""
        if self._eof:
            return False
        data = await self._exchange.read()
        if not data:
            self._eof = True
            return False
        self.total_bytes += len(data)
        self._buffer = self._buffer + data if self._buffer else data
        return True

    def at_eof(self) -> bool:
        """The whole body was read (and nothing is left in the buffer)."""
        return not self._buffer and (self._eof or self._exchange.body_complete)

    def is_eof(self) -> bool:
        """`at_eof` under aiohttp's other name."""
        return self.at_eof()

    async def readany(self) -> bytes:
        """The next available bytes (``b""`` at the end)."""
        if not self._buffer and not await self._fill():
            return b""
        data, self._buffer = self._buffer, b""
        return data

    async def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes (at least one unless at the end); the whole rest when ``n < 0``."""
        if n < 0:
            chunks = [self._buffer] if self._buffer else []
            self._buffer = b""
            while await self._fill():
                chunks.append(self._buffer)
                self._buffer = b""
            return b"".join(chunks)
        if not n:
            return b""
        if not self._buffer and not await self._fill():
            return b""
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    async def readexactly(self, n: int) -> bytes:
        """Exactly `n` bytes; ``asyncio.IncompleteReadError`` if the body ends first."""
        while len(self._buffer) < n:
            if not await self._fill():
                partial, self._buffer = self._buffer, b""
                raise asyncio.IncompleteReadError(partial, n)
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Bytes up to and including `separator`, or the rest of the body if it never comes."""
        start = 0
        while True:
            found = self._buffer.find(separator, start)
            if found >= 0:
                end = found + len(separator)
                data, self._buffer = self._buffer[:end], self._buffer[end:]
                return data
            start = max(0, len(self._buffer) - len(separator) + 1)
            if not await self._fill():
                data, self._buffer = self._buffer, b""
                return data

    async def readline(self) -> bytes:
        """One line, its ``\\n`` included (the last line may lack it)."""
        return await self.readuntil(b"\n")

    async def readchunk(self) -> tuple[bytes, bool]:
        """The next piece of the body and True (aiohttp's chunk-boundary flag); ``(b"", True)`` at
        the end."""
        return await self.readany(), True

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        """Pieces of at most `n` bytes until the end."""
        return Pieces(lambda: self.read(n))

    def iter_any(self) -> AsyncIterator[bytes]:
        """Pieces as they arrive until the end."""
        return Pieces(self.readany)

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Lines, as aiohttp's ``async for line in request.content``."""
        return Pieces(self.readline)
