"""`StaticFiles`: a directory served over HTTP, the ``ketch`` command's default with no app.

On ketch it is a front door of its own (no ASGI messages); under any other ASGI server it is an
ASGI 3 application (`StaticFiles.__call__`), the same logic behind a small adapter.

Per request: GET and HEAD only (405 otherwise); then a path whose file `Site` remembers is opened
and checked to be the same file (`Site.open_cached`), and any other is percent-decoded once and
looked up by `Site.find` (`resolve_under` refuses ``..``, backslashes, NUL, drive letters and,
unless ``follow_symlinks``, links that lead out: 404, which does not reveal what exists out
there): a directory is redirected to its ``/`` form, then answered with its ``index.html`` or
its listing.  A file is answered from its open descriptor: a precompressed sibling the client
accepts, ETag and Last-Modified with 304s, Range and If-Range with 206/416, one write for a small
file and zero-copy sending for a large one; the head of a plain 200 is made once per version of
the file."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .._compiled import mypyc_attr
from ..http11 import Request, split_target
from ..http11.headers import get_values
from ..server.sendfile import copy_by_reads
from .files import FileAccessError
from .negotiation import choose_coding
from .plan import FilePlan, conditional_fields, plan_file_response
from .sending import INLINE_LIMIT, read_exactly, send_plan
from .site import Kind, Site, decode_path, directory_redirect, open_variant

if TYPE_CHECKING:
    from pathlib import Path

    from ..asgi.types import Receive, Scope, Send
    from ..http11 import Headers
    from ..server.config import Config
    from ..server.handler import Exchange
    from .site import Entry

__all__ = ["StaticFiles"]

_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_HTML = (b"content-type", b"text/html; charset=utf-8")
_ANSWERS = {
    403: b"403 Forbidden\n",
    404: b"404 Not Found\n",
    405: b"405 Method Not Allowed\n",
}
_NOT_ALLOWED = [_TEXT, (b"allow", b"GET, HEAD")]


@mypyc_attr(allow_interpreted_subclasses=True)
class StaticFiles:
    """Serve the files under `directory` (give it to ``ketch.Server`` like an app).

    Args:
        directory: the root; nothing outside it is ever served.
        follow_symlinks: serve symbolic links below the root wherever they point.
        listing: answer a directory without ``index.html`` with an HTML index of it (else 404).
        index: the file that answers for its directory (None: none does).
        cache_control: a ``Cache-Control`` value for every file (None: none).
        precompressed: send ``name.br``, ``name.zst`` or ``name.gz`` instead of ``name`` to
            clients that accept the coding (with ``Vary: Accept-Encoding``).

    Raises:
        ValueError: `directory` is not a directory.
    """

    def __init__(
        self,
        directory: str | Path = ".",
        *,
        follow_symlinks: bool = False,
        listing: bool = True,
        index: str | None = "index.html",
        cache_control: str | None = None,
        precompressed: bool = True,
    ) -> None:
        self.site = Site(directory, follow_symlinks=follow_symlinks, listing=listing, index=index)
        self.directory = self.site.directory
        self.follow_symlinks = follow_symlinks
        self.listing = listing
        self.index = index
        self.precompressed = precompressed
        self._file_headers: Headers = (
            [(b"cache-control", cache_control.encode("latin-1"))] if cache_control else []
        )

    @classmethod
    def from_config(cls, config: Config) -> StaticFiles:
        """The ``ketch`` command's default with no app: ``--root``, ``--follow-symlinks`` and
        ``--static-cache-control``.

        Raises:
            ValueError: the root is not a directory.
        """
        return cls(
            config.root,
            follow_symlinks=config.follow_symlinks,
            cache_control=config.static_cache_control,
        )

    def __ketch_front_door__(self, config: Config) -> tuple[Any, None]:
        """The server's handler for this directory (no lifespan)."""
        return self.handle, None

    def __repr__(self) -> str:
        return f"StaticFiles({str(self.directory)!r})"

    async def handle(self, exchange: Exchange) -> None:
        """Answer one request (the `Handler` interface)."""
        request = exchange.request
        method = request.method
        if method != b"GET" and method != b"HEAD":
            exchange.respond(405, _NOT_ALLOWED, _ANSWERS[405])
            return
        target = request.target
        if target[:1] == b"/":
            raw_path, _, query = target.partition(b"?")
        else:
            raw_path, query = split_target(method, target)
        opened = self.site.open_cached(raw_path) or self._open(exchange, raw_path, query)
        if opened is None:
            return  # answered already
        entry, fd, file_stat = opened
        try:
            sending = self._send(exchange, entry, fd, file_stat)
            if sending is not None:
                await sending
        finally:
            os.close(fd)

    def _open(
        self, exchange: Exchange, raw_path: bytes, query: bytes
    ) -> tuple[Entry, int, os.stat_result] | None:
        """Find what answers a path not in the cache: open a file (and remember it), or answer
        with a redirect, a listing or an error and return None."""
        site = self.site
        url_path = decode_path(raw_path)
        found = site.find(url_path) if url_path is not None else None
        if found is None or found.path is None:
            exchange.respond(404, [_TEXT], _ANSWERS[404])
            return None
        kind = found.kind
        if kind is Kind.FILE:
            try:
                return site.open_found(raw_path, found.path)
            except FileAccessError as exc:
                exchange.respond(exc.status, [_TEXT], _ANSWERS[exc.status])
                return None
        if kind is Kind.REDIRECT:
            location = directory_redirect(raw_path, query)
            exchange.respond(301, [_TEXT, (b"location", location)], b"Moved Permanently\n")
        elif kind is Kind.LISTING and url_path is not None:
            exchange.respond(200, [_HTML], site.listing(found.path, url_path))
        else:
            exchange.respond(404, [_TEXT], _ANSWERS[404])
        return None

    def _send(self, exchange: Exchange, entry: Entry, fd: int, file_stat: os.stat_result) -> Any:
        """Answer with an open file: the precompressed variant the client takes, conditionals,
        ranges.  Returns None when done, or the awaitable that sends a large body."""
        request = exchange.request
        headers = request.headers
        vary = False
        if self.precompressed:
            variants = self.site.variants(entry)
            if variants:
                vary = True
                accept = get_values(headers, b"accept-encoding")
                coding = choose_coding([c for _, c in variants], accept) if accept else None
                if coding is not None:
                    for path, variant_coding in variants:
                        if variant_coding == coding:
                            opened = open_variant(path)
                            if opened is not None:
                                return self._send_variant(exchange, entry, opened, coding)
                            break  # gone since it was listed: the original will do
        fields = conditional_fields(headers)
        if fields:
            plan = plan_file_response(
                request.method,
                headers,
                size=file_stat.st_size,
                mtime=file_stat.st_mtime,
                content_type=entry.content_type,
                extra_headers=self._file_headers,
                vary=vary,
            )
            return send_plan(exchange, fd, plan)
        # The common case, no conditionals nor Range: the head made for this version.
        size = file_stat.st_size
        key = (size, file_stat.st_mtime_ns, b"vary" if vary else None)
        head = entry.head
        if head is None or head[0] != key:
            plan = plan_file_response(
                b"HEAD",
                [],
                size=size,
                mtime=file_stat.st_mtime,
                content_type=entry.content_type,
                extra_headers=self._file_headers,
                vary=vary,
            )
            head = entry.head = (key, plan.headers)
        if request.method == b"HEAD" or not size:
            exchange.respond(200, head[1])
            return None
        if size <= INLINE_LIMIT:
            exchange.respond(200, head[1], read_exactly(fd, 0, size))
            return None
        return send_plan(exchange, fd, FilePlan(status=200, headers=head[1], ranges=[(0, size)]))

    def _send_variant(
        self,
        exchange: Exchange,
        entry: Entry,
        opened: tuple[int, os.stat_result],
        coding: bytes,
    ) -> Any:
        fd, file_stat = opened
        request = exchange.request
        try:
            plan = plan_file_response(
                request.method,
                request.headers,
                size=file_stat.st_size,
                mtime=file_stat.st_mtime,
                content_type=entry.content_type,
                extra_headers=self._file_headers,
                content_encoding=coding,
            )
            sending = send_plan(exchange, fd, plan, INLINE_LIMIT)
        except BaseException:
            os.close(fd)
            raise
        if sending is None:
            os.close(fd)
            return None
        return _closing(sending, fd)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 application, for other servers (and for mounting in ASGI frameworks)."""
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif kind == "http":
            exchange = _ASGIExchange(scope, send)
            await self.handle(exchange)  # type: ignore[arg-type]
            await exchange.send_pending()
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close"})


async def _closing(sending: Any, fd: int) -> None:
    try:
        await sending
    finally:
        os.close(fd)


class _ASGIExchange:
    """The part of the server's `Exchange` that `StaticFiles.handle` uses, as ASGI messages."""

    def __init__(self, scope: Scope, send: Send) -> None:
        raw = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
        root = quote(scope.get("root_path", "")).encode("ascii")
        if root and raw.startswith(root):
            raw = raw[len(root) :] or b"/"  # the path below the mount point
        query = scope.get("query_string", b"")
        self.request = Request(
            method=scope["method"].encode("ascii"),
            target=raw + b"?" + query if query else raw,
            http_version=scope.get("http_version", "1.1").encode("ascii"),
            headers=list(scope["headers"]),
        )
        self._send = send
        self._start: Headers | None = None  # a response head not sent yet
        self._status = 0
        self._pending: bytes | None = None  # the whole body of a `respond`, sent after the call

    def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        # The server's `respond` writes at once; ASGI's send is a coroutine: `send_pending`
        # sends it when the handler returns.
        self.start(status, headers)
        if not any(name.lower() == b"content-length" for name, _ in headers):
            assert self._start is not None
            self._start.append((b"content-length", str(len(body)).encode()))
        self._pending = body

    def start(self, status: int, headers: Headers, reason: bytes = b"") -> None:
        self._status = status
        self._start = list(headers)

    async def _flush_start(self) -> None:
        if self._start is not None:
            message = {"type": "http.response.start", "status": self._status}
            await self._send({**message, "headers": self._start})
            self._start = None

    async def write(self, data: bytes, *, end: bool = False) -> None:
        await self._flush_start()
        await self._send({"type": "http.response.body", "body": data, "more_body": not end})

    async def end(self, trailers: Headers | None = None) -> None:
        await self.write(b"", end=True)

    async def sendfile(self, file: Any, offset: int, count: int) -> None:
        await copy_by_reads(file, offset, count, self.write)

    async def send_pending(self) -> None:
        if self._pending is not None:
            body, self._pending = self._pending, None
            await self.write(body, end=True)
