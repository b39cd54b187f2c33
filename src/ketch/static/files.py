"""Sending a file as a response, through the server's handler interface.

Theory of operation:

* `send_file` opens a path, picks a precompressed variant when the client accepts one
  (`negotiation`), and hands the open file to `send_open_file`.
* `send_open_file` asks `plan_file_response` what to send and carries the plan out.  A bodiless
  answer (304, 412, 416, HEAD) and a small body go in one `Exchange.respond`, head and content in
  one write; larger ones go through `Exchange.sendfile`, zero-copy on plain TCP, with the part heads
  of ``multipart/byteranges`` written between the slices.
* Opening, ``fstat`` and reading a small body (up to `INLINE_LIMIT`) run on the event loop, as
  ASGI ``pathsend`` does: from the page cache they cost microseconds, less than a thread hop.  The
  content of larger files is read by the kernel.  A FIFO is opened without blocking and refused.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..http11.headers import get_values
from .mediatypes import guess_content_type
from .negotiation import choose_coding, precompressed_variants
from .plan import plan_file_response
from .sending import INLINE_LIMIT, send_plan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..server import Exchange

__all__ = [
    "INLINE_LIMIT",
    "FileAccessError",
    "open_fd",
    "open_file",
    "send_file",
    "send_open_file",
    "send_plan",
]


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open
# Errors that mean "nothing to serve here" rather than a fault of the server.
_ERRNO_STATUS = {
    errno.ENOENT: 404,
    errno.ENOTDIR: 404,
    errno.EISDIR: 404,
    errno.ELOOP: 404,
    errno.ENAMETOOLONG: 404,
    errno.EACCES: 403,
    errno.EPERM: 403,
}


class FileAccessError(Exception):
    """The file cannot be served; the caller answers `status` with a page of its choosing.

    Attributes:
        status: 404 (missing, a directory or another non-regular file) or 403 (permission).
        path: the path that was opened.

    The `OSError` behind it, if any, is the ``__cause__``.  Other errors (too many open files,
    I/O errors) are not turned into this: they are server faults.
    """

    def __init__(self, status: int, path: str, reason: str) -> None:
        super().__init__(f"{reason}: {path}")
        self.status = status
        self.path = path


def open_fd(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """Open a regular file for reading; return its descriptor and ``fstat`` (`open_file`'s
    checks and errors; the caller closes the descriptor)."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except ValueError as exc:  # a NUL in the name
        raise FileAccessError(404, name, "invalid file name") from exc
    except OSError as exc:
        status = _ERRNO_STATUS.get(exc.errno or 0)
        if status is None:
            raise
        raise FileAccessError(status, name, exc.strerror or "cannot open") from exc
    try:
        file_stat = os.fstat(fd)
        if not stat.S_ISREG(file_stat.st_mode):
            kind = "is a directory" if stat.S_ISDIR(file_stat.st_mode) else "not a regular file"
            raise FileAccessError(404, name, kind)
    except BaseException:
        os.close(fd)
        raise
    return fd, file_stat


def open_file(path: str | os.PathLike[str]) -> tuple[BinaryIO, os.stat_result]:
    """Open a regular file for reading; return it (unbuffered) and its ``fstat``.

    Raises:
        FileAccessError: it is missing, a directory, a FIFO or device (404), or not readable
            (403).
        OSError: any other failure (too many open files, an I/O error).
    """
    fd, file_stat = open_fd(path)
    try:
        file = open(fd, "rb", buffering=0)  # noqa: SIM115  # returned open: the caller closes it
    except BaseException:
        os.close(fd)  # open() leaves an fd it was given open when it fails
        raise
    return file, file_stat


async def send_file(
    exchange: Exchange,
    path: str | os.PathLike[str],
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
    status: int = 200,
    content_type: bytes | None = None,
    precompressed: bool = True,
    inline_limit: int = INLINE_LIMIT,
) -> None:
    """Answer the exchange's request with a file, honouring conditionals and Range.

    Every method gets the file (HEAD without content): answering 405 to methods other than GET
    and HEAD is the caller's choice.

    Args:
        exchange: the request to answer; no response may have been started.
        path: the file (already vetted, by `resolve_under` for instance).
        headers: more response fields (Cache-Control, Content-Disposition, ...).
        status: 200, or another status for an error page (no conditionals or ranges then).
        content_type: the Content-Type; None guesses it from the name (`guess_content_type`).
        precompressed: send ``path.br``/``.zst``/``.gz`` to clients that accept the coding, and
            ``Vary: Accept-Encoding`` whenever one of them exists.
        inline_limit: content up to this size is read at once and sent with the head in one
            write; larger content goes through `Exchange.sendfile`.

    Raises:
        FileAccessError: the file cannot be served (404 or 403); nothing was sent.
        ClientDisconnected: the client went away.
        OSError: the file could not be read.
    """
    path = Path(path)
    file, file_stat = open_file(path)
    encoding = None
    try:
        vary = False
        if precompressed:
            accept = get_values(exchange.request.headers, b"accept-encoding")
            vary, variant = _open_variant(path, accept)
            if variant is not None:
                file.close()
                file, file_stat, encoding = variant
        await send_open_file(
            exchange,
            file,
            file_stat,
            content_type=guess_content_type(path) if content_type is None else content_type,
            headers=headers,
            status=status,
            content_encoding=encoding,
            vary=vary,
            inline_limit=inline_limit,
        )
    finally:
        file.close()


def _open_variant(
    path: Path, accept_encoding: list[bytes]
) -> tuple[bool, tuple[BinaryIO, os.stat_result, bytes] | None]:
    """Whether `path` has variants, and the one opened for this client if any."""
    variants = precompressed_variants(path)
    coding = choose_coding([coding for _, coding in variants], accept_encoding)
    for variant, variant_coding in variants:
        if variant_coding == coding:
            try:
                file, file_stat = open_file(variant)
            except FileAccessError:
                break  # gone (or changed) since it was listed: the original will do
            return True, (file, file_stat, variant_coding)
    return bool(variants), None


async def send_open_file(
    exchange: Exchange,
    file: BinaryIO,
    file_stat: os.stat_result,
    *,
    content_type: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
    status: int = 200,
    etag: bytes | None = None,
    content_encoding: bytes | None = None,
    vary: bool = False,
    inline_limit: int = INLINE_LIMIT,
) -> None:
    """Answer the exchange's request with an open file; the caller closes it.

    `file_stat` gives the size and time (``os.fstat(file.fileno())``); the other arguments are
    `plan_file_response`'s and `send_file`'s.

    Raises:
        ClientDisconnected: the client went away.
        OSError: the file could not be read (it shrank, for instance).
    """
    request = exchange.request
    plan = plan_file_response(
        request.method,
        request.headers,
        size=file_stat.st_size,
        mtime=file_stat.st_mtime,
        content_type=content_type,
        etag=etag,
        extra_headers=headers,
        status=status,
        content_encoding=content_encoding,
        vary=vary,
    )
    sending = send_plan(exchange, file.fileno(), plan, inline_limit)
    if sending is not None:
        await sending
