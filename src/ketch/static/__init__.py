"""Static files: the logic behind ``ketch.web.FileResponse`` and the ``ketch`` static server.

`send_file` answers a request with a file through the server's handler interface (conditional
requests, byte ranges, precompressed variants, zero-copy sending); `plan_file_response` is its
decision part, free of I/O; `resolve_under` maps a URL path to a file without leaving the root.
"""

from .files import INLINE_LIMIT, FileAccessError, open_file, send_file, send_open_file
from .listing import render_listing
from .mediatypes import guess_content_type
from .negotiation import choose_coding, choose_precompressed, precompressed_variants
from .paths import resolve_under
from .plan import FilePlan, plan_file_response
from .ranges import MAX_RANGES, parse_range
from .server import StaticFiles
from .site import Found, Kind, Site
from .validators import format_http_date, make_etag, parse_http_date

__all__ = [
    "INLINE_LIMIT",
    "MAX_RANGES",
    "FileAccessError",
    "FilePlan",
    "Found",
    "Kind",
    "Site",
    "StaticFiles",
    "choose_coding",
    "choose_precompressed",
    "format_http_date",
    "guess_content_type",
    "make_etag",
    "open_file",
    "parse_http_date",
    "parse_range",
    "plan_file_response",
    "precompressed_variants",
    "render_listing",
    "resolve_under",
    "send_file",
    "send_open_file",
]
