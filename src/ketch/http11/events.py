"""Events: what the core reads from and writes to an HTTP/1.1 connection.

Reading a request yields `Request`, then any number of `Data`, then `EndOfMessage` (which carries
the trailers of a chunked body), or `ConnectionClosed` when the peer is gone.  Writing a response
takes `InformationalResponse` (1xx) any number of times, then `Response`, `Data` and `EndOfMessage`.

Events are slotted dataclasses and are not frozen: the reader creates one or two per request, and a
frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs as much as parsing twelve
header lines.  Treat them as read-only; the core never mutates an event after creating it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .errors import LocalProtocolError

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Headers",
    "InformationalResponse",
    "Request",
    "Response",
    "Sentinel",
]

Headers = list[tuple[bytes, bytes]]
"""Header fields as ``(name, value)`` byte pairs, names as received (any case), in order."""


class Sentinel(enum.Enum):
    """What `Connection.next_event` returns when it has no event to give."""

    NEED_DATA = "need data"
    """More bytes must arrive before the next event (or EOF)."""
    PAUSED = "paused"
    """The peer is waiting for our response, or for a protocol switch to be accepted or denied."""


NEED_DATA = Sentinel.NEED_DATA
PAUSED = Sentinel.PAUSED


@dataclass(slots=True, kw_only=True)
class Request:
    """A request head.

    Attributes:
        method: the method token, case-sensitive (``b"GET"``).
        target: the request-target exactly as sent: origin-form (``/a?b``), absolute-form
            (``http://h/a``), authority-form (``h:443``, CONNECT only) or ``*`` (OPTIONS only).
        http_version: ``b"1.1"`` or ``b"1.0"``.
        headers: the header fields as received.
    """

    method: bytes
    target: bytes
    http_version: bytes = b"1.1"
    headers: Headers = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class _ResponseBase:
    status_code: int
    headers: Headers = field(default_factory=list)
    reason: bytes = b""


@dataclass(slots=True, kw_only=True)
class InformationalResponse(_ResponseBase):
    """A 1xx response: 100 Continue, 101 Switching Protocols, 103 Early Hints.

    Attributes:
        status_code: 100-199.
        headers: header fields to send; validated when written.
        reason: the reason phrase, or ``b""`` for the standard one.

    Raises:
        LocalProtocolError: the status code is not 1xx.
    """

    def __post_init__(self) -> None:
        if not 100 <= self.status_code < 200:
            raise LocalProtocolError(f"informational status must be 1xx, not {self.status_code}")


@dataclass(slots=True, kw_only=True)
class Response(_ResponseBase):
    """A final response head (200-999).

    Attributes:
        status_code: 200-999.
        headers: header fields to send; validated when written.  A Content-Length here fixes the
            body length; without one the body is chunked (HTTP/1.1 peers) or delimited by close.
        reason: the reason phrase, or ``b""`` for the standard one.

    Raises:
        LocalProtocolError: the status code is not in 200-999.
    """

    def __post_init__(self) -> None:
        if not 200 <= self.status_code < 1000:
            raise LocalProtocolError(f"final status must be 200-999, not {self.status_code}")


@dataclass(slots=True)
class Data:
    """A piece of message content (never a whole body unless it was small)."""

    data: bytes


@dataclass(slots=True, kw_only=True)
class EndOfMessage:
    """The end of a message, with the trailer fields of a chunked body (else empty)."""

    headers: Headers = field(default_factory=list)


@dataclass(slots=True)
class ConnectionClosed:
    """The peer closed its sending side (EOF) at a message boundary."""


Event = Request | InformationalResponse | Response | Data | EndOfMessage | ConnectionClosed
