"""`StaticFiles`: a directory served over HTTP, the ``ketch`` command's default with no app.

On ketch it is a front door of its own (no ASGI messages); under any other ASGI server it is an
ASGI 3 application (`StaticFiles.__call__`), the same logic behind a small adapter.

Per request: GET and HEAD only (405 otherwise), the path percent-decoded once and resolved under
the root (`resolve_under` refuses ``..``, backslashes, NUL, drive letters and, unless
``follow_symlinks``, links that lead out: 404, which does not reveal what exists out there), a
directory redirected to its ``/`` form, then answered with its ``index.html`` or its listing, and a
file answered by `send_file` (ETag and Last-Modified with 304s, Range and If-Range with 206/416,
precompressed siblings, zero-copy sending of large files).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from ..http11 import Request, split_target
from .files import FileAccessError, send_file
from .listing import render_listing
from .paths import resolve_under

if TYPE_CHECKING:
    from ..asgi.types import Receive, Scope, Send
    from ..http11 import Headers
    from ..server.config import Config
    from ..server.handler import Exchange

__all__ = ["StaticFiles"]

_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_HTML = (b"content-type", b"text/html; charset=utf-8")
_ANSWERS = {
    403: b"403 Forbidden\n",
    404: b"404 Not Found\n",
    405: b"405 Method Not Allowed\n",
}


class StaticFiles:
    """Serve the files under `directory` (give it to ``ketch.Server`` like an app).

    Args:
        directory: the root; nothing outside it is ever served.
        follow_symlinks: serve symbolic links below the root wherever they point.
        listing: answer a directory without ``index.html`` with an HTML index of it (else 404).
        index: the file that answers for its directory.
        cache_control: a ``Cache-Control`` value for every file (None: none).
    """

    def __init__(
        self,
        directory: str | Path = ".",
        *,
        follow_symlinks: bool = False,
        listing: bool = True,
        index: str = "index.html",
        cache_control: str | None = None,
    ) -> None:
        self.directory = Path(directory).resolve()
        if not self.directory.is_dir():
            raise ValueError(f"not a directory: {directory}")
        self.follow_symlinks = follow_symlinks
        self.listing = listing
        self.index = index
        self._file_headers = (
            [(b"cache-control", cache_control.encode("latin-1"))] if cache_control else []
        )

    def __ketch_front_door__(self, config: Config) -> tuple[Any, None]:
        """The server's handler for this directory (no lifespan)."""
        return self.handle, None

    def __repr__(self) -> str:
        return f"StaticFiles({str(self.directory)!r})"

    async def handle(self, exchange: Exchange) -> None:
        """Answer one request (the `Handler` interface)."""
        request = exchange.request
        if request.method not in (b"GET", b"HEAD"):
            exchange.respond(405, [_TEXT, (b"allow", b"GET, HEAD")], _ANSWERS[405])
            return
        target = request.target
        if target[:1] == b"/":
            raw_path, _, query = target.partition(b"?")
        else:
            raw_path, query = split_target(request.method, target)
        try:
            url_path = unquote(raw_path.decode("latin-1"), errors="strict")
        except UnicodeDecodeError:  # no file has a name that is not UTF-8 here
            exchange.respond(404, [_TEXT], _ANSWERS[404])
            return
        path = resolve_under(self.directory, url_path, follow_symlinks=self.follow_symlinks)
        if path is None:
            exchange.respond(404, [_TEXT], _ANSWERS[404])
            return
        if path.is_dir():
            if not url_path.endswith("/"):
                # Relative to the request's own URL, so it holds under any mount point.
                name = raw_path.rsplit(b"/", 1)[-1]
                location = name + b"/" + (b"?" + query if query else b"")
                exchange.respond(301, [_TEXT, (b"location", location)], b"Moved Permanently\n")
                return
            index = path / self.index
            if index.is_file():
                path = index
            elif self.listing:
                at_root = path == self.directory.resolve()
                page = render_listing(path, url_path, parent=not at_root)
                exchange.respond(200, [_HTML], page)
                return
            else:
                exchange.respond(404, [_TEXT], _ANSWERS[404])
                return
        try:
            await send_file(exchange, path, headers=self._file_headers)
        except FileAccessError as exc:
            exchange.respond(exc.status, [_TEXT], _ANSWERS[exc.status])

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


READ_CHUNK = 256 * 1024


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
        loop = asyncio.get_running_loop()
        while count > 0:
            size = min(count, READ_CHUNK)
            data = await loop.run_in_executor(None, os.pread, file.fileno(), size, offset)
            if not data:
                raise OSError("file shorter than expected")
            offset += len(data)
            count -= len(data)
            await self.write(data)

    async def send_pending(self) -> None:
        if self._pending is not None:
            body, self._pending = self._pending, None
            await self.write(body, end=True)
