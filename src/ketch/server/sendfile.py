"""Zero-copy file content: ``os.sendfile`` straight from the page cache to the socket.

asyncio's ``loop.sendfile`` exists only on the default loop, and uvloop (ketch's default when
installed) does not implement it.  So ketch does it itself, the same way for both loops:

1. wait until the transport has written everything it buffered (bytes must stay in order);
2. call ``os.sendfile`` on the socket until the kernel's send buffer is full;
3. wait for the socket to become writable again (watching a duplicate of its descriptor, because
   the loop does not let two parties watch one descriptor), and repeat.

The transport is left alone meanwhile: nothing else writes on a connection while one response is
being sent, and reading goes on as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Any

from .handler import ClientDisconnected

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .protocol import HTTPProtocol

__all__ = ["can_sendfile", "copy_by_reads", "sendfile"]

READ_CHUNK = 256 * 1024  # file content read per step when sendfile is not possible


def can_sendfile(proto: HTTPProtocol, file: Any) -> bool:
    """Whether `file` can go out zero-copy on this connection (plain TCP or Unix socket)."""
    if proto.state.is_ssl or not hasattr(os, "sendfile") or proto.transport is None:
        return False
    try:
        file.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return proto.transport.get_extra_info("socket") is not None


async def copy_by_reads(
    file: Any, offset: int, count: int, write: Callable[[bytes], Awaitable[None]]
) -> None:
    """Send `count` bytes of `file` from `offset` through `write`, a chunk at a time.

    For where sendfile cannot go (TLS, chunked framing, a small file): each chunk is read in the
    loop's executor, so a slow disk does not stall the loop.

    Raises:
        OSError: the file is shorter than `offset` + `count`.
    """
    loop = asyncio.get_running_loop()
    fd = file.fileno()
    while count > 0:
        data = await loop.run_in_executor(None, os.pread, fd, min(count, READ_CHUNK), offset)
        if not data:
            raise OSError("file shorter than expected")
        offset += len(data)
        count -= len(data)
        await write(data)


async def sendfile(proto: HTTPProtocol, file: Any, offset: int, count: int) -> None:
    """Send `count` bytes of `file` from `offset` on the connection's socket.

    Raises:
        ClientDisconnected: the client went away.
        OSError: the file could not be read (it shrank, for instance).
    """
    transport = proto.transport
    assert transport is not None
    await proto.flush()
    sock_fd = transport.get_extra_info("socket").fileno()
    file_fd = file.fileno()
    loop = proto.loop
    watch_fd = -1
    try:
        while count > 0:
            if proto.closed:
                raise ClientDisconnected("client disconnected")
            try:
                sent = os.sendfile(sock_fd, file_fd, offset, count)
            except BlockingIOError:
                if watch_fd < 0:
                    watch_fd = os.dup(sock_fd)
                await _writable(loop, watch_fd, proto)
                continue
            except (BrokenPipeError, ConnectionError) as exc:
                raise ClientDisconnected("client disconnected") from exc
            if sent == 0:
                raise OSError(f"file ended {count} bytes early")
            offset += sent
            count -= sent
    finally:
        if watch_fd >= 0:
            os.close(watch_fd)


async def _writable(loop: asyncio.AbstractEventLoop, fd: int, proto: HTTPProtocol) -> None:
    waiter: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not waiter.done():
            waiter.set_result(None)

    loop.add_writer(fd, ready)
    proto.sendfile_waiter = waiter  # connection_lost wakes it
    try:
        await waiter
    finally:
        proto.sendfile_waiter = None
        with contextlib.suppress(Exception):
            loop.remove_writer(fd)
    if proto.closed:
        raise ClientDisconnected("client disconnected")
