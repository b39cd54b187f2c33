"""Bounds on what a peer may make the core buffer.

Every buffer the reader keeps is bounded by one of these; the server passes its configuration
through `Limits`, and tests pass small values to reach the limits cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Limits on one request, with the status a violation is answered with.

    Attributes:
        max_request_line: bytes in the request line, CRLF excluded (414). 8190 is Apache's
            ``LimitRequestLine`` and aiohttp's ``max_line_size``.
        max_header_bytes: bytes in the whole head, request line and final blank line included, and
            also in a chunked body's trailer section (431). 32 KiB sits between h11's 16 KiB and
            nginx's 4 x 8 KiB ``large_client_header_buffers``, room for large cookies.
        max_header_count: header fields in the head or the trailers (431). 100 is Apache's
            ``LimitRequestFields``.
        max_body_size: bytes of request content, or ``None`` for no limit (413). A Content-Length
            above it is refused before any body byte is read.
        max_chunk_line: bytes in one chunk-size line with its extensions (400). Chunk extensions
            are legal but useless; 4 KiB stops a peer from hiding megabytes in them.
    """

    max_request_line: int = 8190
    max_header_bytes: int = 32 * 1024
    max_header_count: int = 100
    max_body_size: int | None = None
    max_chunk_line: int = 4096
