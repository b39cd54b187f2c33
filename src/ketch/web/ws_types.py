"""The names of aiohttp's WebSocket API: message kinds, close codes, messages (`WebSocketResponse`
is in websocket.py)."""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CLOSED_MESSAGE",
    "CLOSING_MESSAGE",
    "WSCloseCode",
    "WSMessage",
    "WSMsgType",
    "WebSocketError",
    "WebSocketReady",
]


class WSMsgType(enum.IntEnum):
    """The kinds of `WSMessage` (aiohttp's values)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    PING = 0x9
    PONG = 0xA
    CLOSE = 0x8
    CLOSING = 0x100
    CLOSED = 0x101
    ERROR = 0x102

    # aiohttp's lowercase aliases
    text = TEXT
    binary = BINARY
    ping = PING
    pong = PONG
    close = CLOSE
    closing = CLOSING
    closed = CLOSED
    error = ERROR


class WSCloseCode(enum.IntEnum):
    """Close codes (RFC 6455 §7.4.1)."""

    OK = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    ABNORMAL_CLOSURE = 1006
    INVALID_TEXT = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014


class WebSocketError(Exception):
    """The client broke the WebSocket protocol; `code` is the close code the server sent."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code

    def __str__(self) -> str:
        return str(self.args[1])


class WSMessage(NamedTuple):
    """One received message: ``data`` is ``str`` (TEXT), ``bytes`` (BINARY), the close code
    (CLOSE) or the exception (ERROR); ``extra`` is the close reason."""

    type: WSMsgType
    data: Any
    extra: Any

    def json(self, *, loads: Callable[[Any], Any] = json.loads) -> Any:
        """The data parsed as JSON."""
        return loads(self.data)


class WebSocketReady(NamedTuple):
    """What `WebSocketResponse.can_prepare` found: whether, and with which subprotocol."""

    ok: bool
    protocol: str | None

    def __bool__(self) -> bool:
        return self.ok


CLOSED_MESSAGE = WSMessage(WSMsgType.CLOSED, None, None)
CLOSING_MESSAGE = WSMessage(WSMsgType.CLOSING, None, None)
