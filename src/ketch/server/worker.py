"""A worker's life, in the process `supervisor.Supervisor` forked: build the server on the
inherited sockets, say "ready" on the status pipe, serve, drain on SIGTERM.

The status pipe protocol (one line each): ``ready LOOP``, ``error MESSAGE``, ``recycle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, NamedTuple

from ..errors import KetchError
from .server import install_loop

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from .config import Config
    from .metrics import MetricsBlock
    from .server import Server

__all__ = ["MetricsExport", "read_lines", "run_worker"]

error_log = logging.getLogger("ketch.error")


def read_lines(fd: int, buffer: bytes) -> tuple[list[bytes], bytes] | None:
    """Read what a non-blocking pipe holds: its complete lines (after `buffer`, the rest of the
    last read) and the new rest; None once the pipe is closed (or broken).

    Raises:
        BlockingIOError: nothing to read now.
    """
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        raise
    except OSError:
        data = b""
    if not data:
        return None
    *lines, rest = (buffer + data).split(b"\n")
    return lines, rest


class MetricsExport(NamedTuple):
    """A worker's part in --metrics-bind: the shared block, its own slot (None: record nothing)
    and the inherited metrics socket it answers ``/metrics`` on, with every other worker."""

    block: MetricsBlock
    slot: int | None
    sockets: list[socket.socket]


class _PidPrefix(logging.Filter):
    """Worker log lines say which worker: ``[pid 1234] message``."""

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"[pid {os.getpid()}] "

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and not record.msg.startswith(self.prefix):
            record.msg = self.prefix + record.msg
        return True


def run_worker(
    config: Config,
    build: Callable[[list[socket.socket]], Server],
    sockets: list[socket.socket],
    index: int,
    status_fd: int,
    life_fd: int,
    *,
    metrics: MetricsExport | None = None,
) -> int:
    """A worker's life, in the forked child: build the server, serve, drain; its exit status.

    `index` is the worker's slot (0..N-1), the same for its replacements: per-slot state such as
    a shared-memory block of metrics is found by it.
    """

    def report(message: str) -> None:
        with contextlib.suppress(OSError):
            os.write(status_fd, " ".join(message.split()).encode() + b"\n")

    logging.getLogger("ketch.error").addFilter(_PidPrefix())
    if config.reload:
        # A file edited twice within a second with the same size has a .pyc that looks fresh.
        sys.dont_write_bytecode = True

    async def serve() -> None:
        server = build(sockets)
        if metrics is not None:
            if metrics.slot is not None:
                server.metrics = metrics.block.slot(metrics.slot)
            server.metrics_export = (metrics.block, metrics.sockets)
        server.on_max_requests = lambda: report("recycle")
        await server.start()
        loop = asyncio.get_running_loop()

        def drain() -> None:
            if server._stopping is not None and not server._stopping.is_set():
                error_log.info("SIGTERM: shutting down gracefully")
                server.request_shutdown()

        def force() -> None:
            error_log.warning("SIGQUIT: forcing shutdown")
            server.request_shutdown(force=True)

        # SIGTERM drains, however often it comes; SIGQUIT (the supervisor's second signal) cuts.
        loop.add_signal_handler(signal.SIGTERM, drain)
        loop.add_signal_handler(signal.SIGQUIT, force)

        def supervisor_gone() -> None:
            loop.remove_reader(life_fd)
            error_log.warning("The supervisor is gone: shutting down")
            server.request_shutdown()

        loop.add_reader(life_fd, supervisor_gone)
        report("ready " + type(loop).__module__.split(".")[0])
        try:
            assert server._stopping is not None
            await server._stopping.wait()
        finally:
            loop.remove_reader(life_fd)
            await server.shutdown()

    install_loop(config.loop)
    try:
        asyncio.run(serve())
    except (KetchError, OSError) as exc:
        level = logging.ERROR if config.reload else logging.DEBUG
        error_log.log(level, "Worker %d failed to start", index, exc_info=exc.__cause__ or exc)
        report(f"error {exc}")
        return 1
    except Exception as exc:
        error_log.error("Worker %d failed", index, exc_info=exc)
        report(f"error {exc!r}")
        return 1
    return 0
