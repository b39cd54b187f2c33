"""Reading ``multipart/byteranges`` bodies with the standard library's MIME parser."""

from __future__ import annotations

import email.message
import email.parser

__all__ = ["parse_byteranges"]


def parse_byteranges(content_type: bytes, body: bytes) -> list[tuple[str, str, bytes]]:
    """Return ``(content-range, content-type, data)`` for each part of a multipart body."""
    message = email.parser.BytesParser().parsebytes(
        b"content-type: " + content_type + b"\r\n\r\n" + body
    )
    assert message.is_multipart()
    parts = []
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        parts.append((str(part["content-range"]), str(part["content-type"]), data))
    return parts
