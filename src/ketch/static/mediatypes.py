"""The Content-Type of a file, from its name.

``mimetypes`` reads the system's tables (``/etc/mime.types``, the Windows registry), which differ
from machine to machine; the Windows registry has long mapped ``.js`` to ``text/plain``, which
browsers refuse for scripts.  The types the web platform depends on are therefore fixed here, and
the system's tables are asked about the rest.
"""

from __future__ import annotations

import functools
import mimetypes
from pathlib import PurePath

__all__ = ["guess_content_type"]

_FIXED = {
    ".js": "text/javascript",  # RFC 9239; Python 3.12 and later say so too
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".wasm": "application/wasm",  # WebAssembly.instantiateStreaming requires it
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
# A file that is itself compressed (``backup.tar.gz``) is served as the archive it is: saying
# ``Content-Encoding: gzip`` would make clients unpack it.
_ARCHIVES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
_UTF8 = ("application/javascript", "application/json")
_FALLBACK = b"application/octet-stream"


def guess_content_type(path: str | PurePath) -> bytes:
    """Return the Content-Type for a file name, ``application/octet-stream`` when unknown.

    Text types (``text/*``, ``application/javascript``, ``application/json``) get
    ``; charset=utf-8``.
    """
    suffixes = PurePath(path).suffixes
    # Only the last two suffixes matter (``.tar.gz``), which keeps the cache small.
    return _content_type("".join(suffixes[-2:]))


@functools.lru_cache(maxsize=512)
def _content_type(suffixes: str) -> bytes:
    last = suffixes[suffixes.rfind(".") :].lower()
    media_type = _FIXED.get(last)
    if media_type is None:
        media_type, encoding = mimetypes.guess_type("file" + suffixes, strict=False)
        if encoding is not None:
            media_type = _ARCHIVES.get(encoding)
        if media_type is None:
            return _FALLBACK
    if media_type.startswith("text/") or media_type in _UTF8:
        media_type += "; charset=utf-8"
    return media_type.encode("latin-1")
