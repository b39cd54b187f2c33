"""`StaticFiles`: a directory served over HTTP, the ``ketch`` command's default with no app.

Per request: GET and HEAD only (405 otherwise), the path percent-decoded once and resolved under
the root (`resolve_under` refuses ``..``, backslashes, NUL, drive letters and, unless
``follow_symlinks``, links that lead out: 404, which does not reveal what exists out there), a
directory redirected to its ``/`` form, then answered with its ``index.html`` or its listing, and a
file answered by `send_file` (ETag and Last-Modified with 304s, Range and If-Range with 206/416,
precompressed siblings, zero-copy sending of large files).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..http11 import split_target
from .files import FileAccessError, send_file
from .listing import render_listing
from .paths import resolve_under

if TYPE_CHECKING:
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
                location = raw_path + b"/" + (b"?" + query if query else b"")
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
