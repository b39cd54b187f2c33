"""`ProxyPreamble`: the PROXY protocol header a connection starts with, read before HTTP.

With ``--proxy-protocol``, a connection from a peer outside ``--forwarded-allow-ips`` is closed at
once.  Otherwise a `ProxyPreamble` takes the connection's bytes until the header is complete: it
stands in as the connection's switched-to protocol (`HTTPProtocol.upgraded`), so the HTTP path has
no branch of its own for it.  The header's source and destination become the connection's client
and server; a malformed header, an early end of stream, or no whole header within
``--timeout-header`` closes the connection without an answer (the peer is a proxy, not a client).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .proxy import ProxyProtocolError, read_proxy_header
from .timeouts import IDLE

if TYPE_CHECKING:
    from .protocol import HTTPProtocol

__all__ = ["ProxyPreamble", "expect_proxy_header"]

error_log = logging.getLogger("ketch.error")


def expect_proxy_header(proto: HTTPProtocol) -> None:
    """Start reading a new connection's PROXY header, or close it if its peer is not trusted."""
    if not proto.state.trusted_proxies.trusts(proto.client):
        error_log.debug("Closing a connection from %s: not a trusted proxy", proto.client)
        proto.close()
        return
    proto.upgraded = ProxyPreamble(proto)


class ProxyPreamble:
    """Reads the PROXY header, then hands the connection (and the bytes after it) back to HTTP."""

    def __init__(self, proto: HTTPProtocol) -> None:
        self.proto = proto
        self.buffer = b""
        self.started = proto.loop.time()

    def data_received(self, data: bytes) -> None:
        proto = self.proto
        buffer = self.buffer + data if self.buffer else data
        try:
            header = read_proxy_header(buffer)
        except ProxyProtocolError as exc:
            error_log.debug("Closing a connection from %s: %s", proto.client, exc)
            self.buffer = b""
            proto.close()
            return
        if header is None:
            self.buffer = buffer
            return
        self.buffer = b""
        if header.source is not None or header.unix:
            proto.client = header.source
            proto.server = header.destination
        if header.ssl:
            proto.scheme = "https"
        state = proto.state
        proto.proxy_trusted = state.proxy_headers and state.trusted_proxies.trusts(proto.client)
        proto.upgraded = None
        proto.waiting_for = IDLE
        proto.waiting_since = proto.loop.time()
        if header.rest:
            proto.data_received(header.rest)

    def eof_received(self) -> None:
        self.proto.close()

    def connection_lost(self) -> None:
        self.buffer = b""

    def check_timeouts(self, now: float) -> None:
        if now - self.started >= self.proto.state.config.timeout_header:
            error_log.debug("Closing a connection from %s: no PROXY header", self.proto.client)
            self.proto.close()

    def writing_resumed(self) -> None:
        pass

    def going_away(self) -> None:
        self.proto.close()

    def handler_done(self, failed: bool) -> None:
        pass
