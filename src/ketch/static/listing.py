"""The directory listing page: an HTML index of a directory's entries, directories first."""

from __future__ import annotations

import html
import os
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["render_listing"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Index of {title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}td{{padding:0 1em 0 0}}
td.size{{text-align:right}}</style></head>
<body><h1>Index of {title}</h1>
<table>
{rows}
</table>
</body>
</html>
"""


def render_listing(
    directory: Path, url_path: str, *, parent: bool = True, show_hidden: bool = False
) -> bytes:
    """The HTML index of `directory`, served at `url_path` (decoded, ending with ``/``).

    Names are escaped for HTML and quoted for links; hidden entries (a leading dot) are left out
    unless `show_hidden`; a ``../`` link leads up when `parent` (not at the served root).
    """
    entries: list[tuple[bool, str, int, float]] = []
    with os.scandir(directory) as scan:
        for entry in scan:
            if entry.name.startswith(".") and not show_hidden:
                continue
            try:
                is_dir = entry.is_dir()
                stat = entry.stat()
            except OSError:
                continue  # vanished or unreadable since scandir saw it
            entries.append((not is_dir, entry.name, 0 if is_dir else stat.st_size, stat.st_mtime))
    entries.sort(key=lambda item: (item[0], item[1].lower()))
    rows = [
        '<tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Modified</th></tr>'
    ]
    if parent:
        rows.append('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
    for is_file, name, size, mtime in entries:
        shown = name if is_file else name + "/"
        link = quote(name) + ("" if is_file else "/")
        size_cell = f"{size:,}" if is_file else ""
        modified = time.strftime("%Y-%m-%d %H:%M", time.gmtime(mtime))
        rows.append(
            f'<tr><td><a href="{html.escape(link)}">{html.escape(shown)}</a></td>'
            f'<td class="size">{size_cell}</td><td><time>{modified} UTC</time></td></tr>'
        )
    page = _PAGE.format(title=html.escape(url_path), rows="\n".join(rows))
    return page.encode("utf-8")
