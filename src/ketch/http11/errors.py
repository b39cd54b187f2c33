"""Exceptions raised by the HTTP/1.1 core.

`RemoteProtocolError` means the peer sent bytes that are not valid HTTP/1.1: the server answers with
``status_hint`` and closes.  `LocalProtocolError` means our own caller (the server or an app behind
it) asked for something HTTP/1.1 forbids, such as a CR in a header value: it is a bug on our side
and is never turned into bytes on the wire.
"""

from __future__ import annotations

__all__ = ["KetchError", "LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


class KetchError(Exception):
    """Root of every exception ketch raises on purpose.

    It lives in the core because the core imports nothing from the rest of the package;
    `ketch.errors` re-exports it.
    """


class ProtocolError(KetchError):
    """Base class of protocol violations.

    Attributes:
        status_hint: the HTTP status that best answers the violation (400 unless a limit says
            413, 414 or 431, or an unsupported feature says 501 or 505).
    """

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


class LocalProtocolError(ProtocolError):
    """Our side tried to send something that is not valid HTTP/1.1."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not valid HTTP/1.1 (or exceeds a limit)."""
