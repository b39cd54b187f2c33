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
from typing import ClassVar

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


class _Event:
    """Equality and repr by fields, as dataclasses have, without dataclasses' generated
    ``__init__``: a compiled build would run that one interpreted, on every request."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({values})"


class Request(_Event):
    """A request head.

    Attributes:
        method: the method token, case-sensitive (``b"GET"``).
        target: the request-target exactly as sent: origin-form (``/a?b``), absolute-form
            (``http://h/a``), authority-form (``h:443``, CONNECT only) or ``*`` (OPTIONS only).
        http_version: ``b"1.1"`` or ``b"1.0"``.
        headers: the header fields as received.
    """

    __slots__ = ("headers", "http_version", "method", "target")
    _fields = ("method", "target", "http_version", "headers")

    def __init__(
        self,
        *,
        method: bytes,
        target: bytes,
        http_version: bytes = b"1.1",
        headers: Headers | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.http_version = http_version
        self.headers: Headers = [] if headers is None else headers


class _ResponseBase(_Event):
    __slots__ = ("headers", "reason", "status_code")
    _fields = ("status_code", "headers", "reason")

    def __init__(
        self, *, status_code: int, headers: Headers | None = None, reason: bytes = b""
    ) -> None:
        self.status_code = status_code
        self.headers: Headers = [] if headers is None else headers
        self.reason = reason


class InformationalResponse(_ResponseBase):
    """A 1xx response: 100 Continue, 101 Switching Protocols, 103 Early Hints.

    Attributes:
        status_code: 100-199.
        headers: header fields to send; validated when written.
        reason: the reason phrase, or ``b""`` for the standard one.

    Raises:
        LocalProtocolError: the status code is not 1xx.
    """

    __slots__ = ()

    def __init__(
        self, *, status_code: int, headers: Headers | None = None, reason: bytes = b""
    ) -> None:
        if not 100 <= status_code < 200:
            raise LocalProtocolError(f"informational status must be 1xx, not {status_code}")
        super().__init__(status_code=status_code, headers=headers, reason=reason)


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

    __slots__ = ()

    def __init__(
        self, *, status_code: int, headers: Headers | None = None, reason: bytes = b""
    ) -> None:
        if not 200 <= status_code < 1000:
            raise LocalProtocolError(f"final status must be 200-999, not {status_code}")
        super().__init__(status_code=status_code, headers=headers, reason=reason)


class Data(_Event):
    """A piece of message content (never a whole body unless it was small)."""

    __slots__ = ("data",)
    _fields = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class EndOfMessage(_Event):
    """The end of a message, with the trailer fields of a chunked body (else empty)."""

    __slots__ = ("headers",)
    _fields = ("headers",)

    def __init__(self, *, headers: Headers | None = None) -> None:
        self.headers: Headers = [] if headers is None else headers


class ConnectionClosed(_Event):
    """The peer closed its sending side (EOF) at a message boundary."""

    __slots__ = ()


Event = Request | InformationalResponse | Response | Data | EndOfMessage | ConnectionClosed
