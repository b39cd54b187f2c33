"""WebSocket (RFC 6455) for every front door: the opening handshake and the connection after it.

`handshake` validates and negotiates (sans-IO); `connection` runs the WebSocket on a switched
HTTP/1.1 connection.  The frames themselves are the ``websockets`` library's (its sans-IO
`Protocol`): ketch does no framing of its own.  The ASGI and ketch.web front doors are thin layers
over `accept` and `WebSocket` (asgi/websocket.py, web/websocket.py).
"""

from .connection import CLOSE_TIMEOUT, Closed, WebSocket, accept
from .handshake import Handshake, HandshakeError, is_websocket_request

__all__ = [
    "CLOSE_TIMEOUT",
    "Closed",
    "Handshake",
    "HandshakeError",
    "WebSocket",
    "accept",
    "is_websocket_request",
]
