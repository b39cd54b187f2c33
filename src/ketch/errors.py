"""ketch's exception hierarchy: one root, `KetchError`, with the protocol errors under it."""

from __future__ import annotations

from .http11.errors import KetchError, LocalProtocolError, ProtocolError, RemoteProtocolError

__all__ = ["KetchError", "LocalProtocolError", "ProtocolError", "RemoteProtocolError"]
