"""Mapping a URL path to a file under a root directory, refusing every way out of it.

Checks run on the text before the filesystem is touched: a NUL (truncates C paths), a backslash
(a separator on Windows, and never in a sane URL), a ``..`` segment (also one that another round
of percent-decoding would make), a drive letter (``C:``).  Segments are joined one by one under
the root, so ``//etc/passwd`` cannot make an absolute path.  Then the real path (symbolic links
resolved) must lie under the root's real path, unless links are trusted to leave it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

__all__ = ["resolve_under"]

_FORBIDDEN = ("\x00", "\\")


def resolve_under(root: str | Path, url_path: str, *, follow_symlinks: bool = False) -> Path | None:
    """Return the file under `root` that a decoded URL path names, or None if it is refused.

    Args:
        root: the directory files are served from.
        url_path: the request's path, percent-decoded once (``/css/site.css``).  Empty and ``.``
            segments are skipped.
        follow_symlinks: trust symbolic links below `root` wherever they point (aiohttp's
            ``follow_symlinks``).  The path itself must still stay under `root`.

    Returns:
        The path to open: the resolved real path, or with `follow_symlinks` the root's real path
        joined with the segments.  None when the path is refused; whether it exists is not checked
        (opening it says so).
    """
    segments = []
    for segment in url_path.split("/"):
        if not segment or segment == ".":
            continue
        if _refused(segment) or ("%" in segment and _refused(unquote(segment))):
            return None
        segments.append(segment)
    real_root = Path(os.path.realpath(root))
    candidate = real_root.joinpath(*segments)
    if follow_symlinks:
        return candidate
    real = Path(os.path.realpath(candidate))
    return real if real.is_relative_to(real_root) else None


def _refused(segment: str) -> bool:
    return (
        segment == ".."
        or any(char in segment for char in _FORBIDDEN)
        or "/" in segment  # only after unquote: "%2F" would become a separator there
        or (
            len(segment) >= 2
            and segment[1] == ":"
            and segment[0].isascii()
            and segment[0].isalpha()
        )
    )
