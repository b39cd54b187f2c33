"""`Site`: a directory served over HTTP, the part both front doors share.

`StaticFiles` (the ``ketch`` command's default, and an ASGI app) and ``ketch.web``'s
``web.static(prefix, directory)`` both map a URL path to what answers it with `Site.find`: a file,
a redirect of a directory to its ``/`` form (`directory_redirect`), a directory listing
(`Site.listing`), or nothing (404, or 403 for a directory shown to nobody).

`Site.find` is the whole check, on every request that is not a hit in `Site`'s cache of files:
the path is vetted by `resolve_under`, then the file is opened and its identity (device, inode,
ctime) recorded.  A hit opens the recorded path again and serves the file only if it is still the
same inode with the same ctime: a file written, replaced, renamed or deleted since, or a directory
on its path swapped for a link, fails that test and goes through `find` again.  So every answer is
from a file `resolve_under` vouched for and content is never stale; only the list of
precompressed siblings is kept a while (`VARIANTS_TTL`): a ``.gz`` created beside a file is
offered within that time, one removed is noticed at once (its open fails).
"""

from __future__ import annotations

import enum
import os
import stat
import time
from pathlib import Path
from urllib.parse import unquote

from .files import open_fd
from .listing import render_listing
from .mediatypes import guess_content_type
from .negotiation import precompressed_variants
from .paths import resolve_under

__all__ = [
    "CACHE_SIZE",
    "VARIANTS_TTL",
    "Entry",
    "Found",
    "Kind",
    "Site",
    "decode_path",
    "directory_redirect",
    "open_variant",
]

CACHE_SIZE = 1024  # files remembered; the oldest is forgotten first
VARIANTS_TTL = 1.0  # seconds the list of a file's precompressed siblings is trusted
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
VARIANT_FLAGS = OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0)  # a sibling must not be a link


class Kind(enum.Enum):
    """What answers a URL path."""

    FILE = "file"  # a regular file (the directory's index file included)
    REDIRECT = "redirect"  # a directory asked for without its trailing "/"
    LISTING = "listing"  # a directory without index file, listings on
    DIRECTORY = "directory"  # a directory without index file, listings off
    NOT_FOUND = "not found"  # missing, refused (outside the root, ..), or not a regular file


class Found:
    """The answer to `Site.find`: `kind`, and the file or directory (None if not found)."""

    __slots__ = ("kind", "path")

    def __init__(self, kind: Kind, path: Path | None = None) -> None:
        self.kind = kind
        self.path = path

    def __repr__(self) -> str:
        return f"Found({self.kind}, {self.path!r})"


NOT_FOUND = Found(Kind.NOT_FOUND)


class Entry:
    """A file `Site.find` vetted: its path, identity and what is known about it."""

    __slots__ = ("content_type", "head", "identity", "path", "variants", "variants_checked")

    def __init__(self, path: str, identity: tuple[int, int, int], content_type: bytes) -> None:
        self.path = path
        self.identity = identity  # (st_dev, st_ino, st_ctime_ns) when vetted
        self.content_type = content_type
        self.variants: list[tuple[str, bytes]] = []  # (path, coding), in server preference order
        self.variants_checked = -VARIANTS_TTL  # never: the first use scans
        # The head of a plain 200 (no conditionals, no Range), for the (size, mtime_ns, coding)
        # it was made for: (key, status line fields).
        self.head: tuple[tuple[int, int, bytes | None], list[tuple[bytes, bytes]]] | None = None


def identity(file_stat: os.stat_result) -> tuple[int, int, int]:
    return (file_stat.st_dev, file_stat.st_ino, file_stat.st_ctime_ns)


def directory_redirect(raw_path: bytes, query: bytes) -> bytes:
    """The Location that adds the missing ``/`` to a directory's URL, keeping the query.

    Relative to the request's own URL (``docs/`` for ``/static/docs``), so it holds under any
    mount point or path-stripping proxy.
    """
    name = raw_path.rsplit(b"/", 1)[-1]
    return name + b"/" + (b"?" + query if query else b"")


def decode_path(raw_path: bytes) -> str | None:
    """The percent-decoded path of a request target, None if it is not UTF-8 (no such file)."""
    try:
        return unquote(raw_path.decode("latin-1"), errors="strict")
    except UnicodeDecodeError:
        return None


class Site:
    """The files under `directory`: what answers a path, and a cache of the files served.

    Args:
        directory: the root; nothing outside it is ever served.
        follow_symlinks: serve symbolic links below the root wherever they point.
        listing: answer a directory without index file with its listing (`Kind.LISTING`), else
            `Kind.DIRECTORY`.
        index: the file that answers for its directory (None: none does).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        follow_symlinks: bool = False,
        listing: bool = True,
        index: str | None = "index.html",
    ) -> None:
        self.directory = Path(os.path.realpath(directory))
        if not self.directory.is_dir():
            raise ValueError(f"not a directory: {directory}")
        self.follow_symlinks = follow_symlinks
        self.listing_enabled = listing
        self.index = index
        self._entries: dict[bytes, Entry] = {}

    def find(self, url_path: str) -> Found:
        """What answers `url_path` (percent-decoded, ``/``-separated, below the root)."""
        path = resolve_under(self.directory, url_path, follow_symlinks=self.follow_symlinks)
        if path is None:
            return NOT_FOUND
        try:
            mode = os.stat(path).st_mode
        except (OSError, ValueError):
            return NOT_FOUND
        if stat.S_ISREG(mode):
            return Found(Kind.FILE, path)
        if not stat.S_ISDIR(mode):
            return NOT_FOUND
        if not url_path.endswith("/"):
            return Found(Kind.REDIRECT, path)
        if self.index is not None:
            index = path / self.index
            if index.is_file():  # (a link below a vetted directory is vetted again)
                vetted = resolve_under(
                    self.directory,
                    url_path + "/" + self.index,
                    follow_symlinks=self.follow_symlinks,
                )
                if vetted is not None:
                    return Found(Kind.FILE, vetted)
        return Found(Kind.LISTING if self.listing_enabled else Kind.DIRECTORY, path)

    def listing(self, directory: Path, url_path: str) -> bytes:
        """The HTML listing of a directory `find` returned, shown at `url_path`."""
        return render_listing(directory, url_path, parent=directory != self.directory)

    # -- The cache of files ----------------------------------------------------------------------

    def open_cached(self, key: bytes) -> tuple[Entry, int, os.stat_result] | None:
        """The file remembered for `key` (a raw request path) opened, if it is still the same.

        Returns the entry, an open descriptor (the caller closes it) and its ``fstat``; None
        when nothing is remembered or the file changed (the caller then uses `find`).
        """
        entry = self._entries.get(key)
        if entry is None:
            return None
        opened = _open_stat(entry.path, OPEN_FLAGS)
        if opened is None:
            del self._entries[key]
            return None
        fd, file_stat = opened
        if identity(file_stat) != entry.identity:
            os.close(fd)
            del self._entries[key]
            return None
        return entry, fd, file_stat

    def open_found(self, key: bytes, path: Path) -> tuple[Entry, int, os.stat_result]:
        """Open a file `find` returned and remember it under `key`.

        Raises:
            FileAccessError: it cannot be served (gone, not a regular file: 404; 403).
        """
        fd, file_stat = open_fd(path)
        name = os.fspath(path)
        entry = Entry(name, identity(file_stat), guess_content_type(name))
        entries = self._entries
        if len(entries) >= CACHE_SIZE:
            del entries[next(iter(entries))]
        entries[key] = entry
        return entry, fd, file_stat

    def variants(self, entry: Entry) -> list[tuple[str, bytes]]:
        """The precompressed siblings of a remembered file, scanned at most every TTL."""
        now = time.monotonic()
        if now - entry.variants_checked >= VARIANTS_TTL:
            entry.variants = [
                (os.fspath(path), coding)
                for path, coding in precompressed_variants(Path(entry.path))
            ]
            entry.variants_checked = now
        return entry.variants


def open_variant(path: str) -> tuple[int, os.stat_result] | None:
    """Open a precompressed sibling (a regular file, not a link); None if it is not one now."""
    opened = _open_stat(path, VARIANT_FLAGS)
    if opened is not None and not stat.S_ISREG(opened[1].st_mode):
        os.close(opened[0])
        return None
    return opened


def _open_stat(path: str, flags: int) -> tuple[int, os.stat_result] | None:
    """Open `path` and `fstat` it; None if it cannot be opened."""
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        return fd, os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
