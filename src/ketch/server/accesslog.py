"""Access log lines on the ``ketch.access`` logger: common, combined or JSON lines.

Formatting is deferred: the logger gets a small record object whose ``__str__`` builds the line, so
a handler that filters the record out costs no formatting, and a disabled access log costs one
attribute check per request.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ..http11.headers import get_values

if TYPE_CHECKING:
    from .cycle import Cycle

__all__ = ["AccessRecord"]


class AccessRecord:
    """One request's access log line, formatted only when it is emitted."""

    __slots__ = ("cycle", "duration", "format", "when")

    def __init__(self, cycle: Cycle, format: str) -> None:
        self.cycle = cycle
        self.format = format
        self.when = time.time()
        self.duration = time.perf_counter() - cycle.started  # head read to response complete

    def __str__(self) -> str:
        cycle = self.cycle
        request = cycle.request
        client = cycle.client[0] if cycle.client else "-"
        method = request.method.decode("latin-1")
        target = request.target.decode("latin-1")
        version = request.http_version.decode("latin-1")
        if self.format == "json":
            return json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.when)),
                    "client": client,
                    "method": method,
                    "target": target,
                    "http_version": version,
                    "status": cycle.status,
                    "bytes": cycle.bytes_sent,
                    "referer": _header(cycle, b"referer"),
                    "user_agent": _header(cycle, b"user-agent"),
                    "request_id": _header(cycle, b"x-request-id"),
                    "duration_ms": round(self.duration * 1000, 3),
                }
            )
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.when))
        line = (
            f'{client} - - [{stamp}] "{_escape(method)} {_escape(target)} HTTP/{version}" '
            f"{cycle.status} {cycle.bytes_sent or '-'}"
        )
        if self.format == "combined":
            referer = _escape(_header(cycle, b"referer") or "-")
            agent = _escape(_header(cycle, b"user-agent") or "-")
            line += f' "{referer}" "{agent}"'
        return line


def _header(cycle: Cycle, lname: bytes) -> str | None:
    values = get_values(cycle.request.headers, lname)
    return values[0].decode("latin-1") if values else None


def _escape(text: str) -> str:
    # Header values and targets come from the client: never let them forge a log line.
    escaped = text.encode("unicode_escape").decode("ascii")  # backslashes and controls first
    return escaped.replace('"', '\\"')
