"""The WebSocket opening handshake (RFC 6455 §4.2): validate the request, negotiate, answer.

Sans-IO, like the HTTP/1.1 core: a `Request` in, the fields of the ``101`` out.  The header
grammars (extension offers, subprotocol lists) and the ``permessage-deflate`` negotiation are the
``websockets`` library's; what is ketch's is deciding what a request that asks for a WebSocket
must carry, and what to answer when it does not:

* ``400`` for a request that is not a valid opening handshake (not GET, no or a malformed
  ``Sec-WebSocket-Key``, a malformed extension or subprotocol list);
* ``426 Upgrade Required`` with ``Sec-WebSocket-Version: 13`` for another protocol version
  (§4.4), so the client may retry with one we speak.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from websockets.exceptions import InvalidHeader, NegotiationError
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.headers import build_extension, parse_extension, parse_subprotocol
from websockets.utils import accept_key

if TYPE_CHECKING:
    from websockets.extensions import Extension
    from websockets.typing import ExtensionHeader

    from ..http11 import Headers, Request

__all__ = ["Handshake", "HandshakeError", "is_websocket_request"]

VERSION = b"13"

# websockets' own server defaults: smaller windows than zlib's, for ~64 KiB of zlib state per
# connection instead of ~300 KiB, at a small cost in ratio.
_DEFLATE = ServerPerMessageDeflateFactory(
    server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
)


class HandshakeError(Exception):
    """The request asks for a WebSocket but is not a valid opening handshake.

    Attributes:
        status: the HTTP status to answer with (400 or 426).
        headers: extra response fields (``Sec-WebSocket-Version`` on a 426).
    """

    def __init__(self, message: str, status: int = 400, headers: Headers | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers: Headers = headers if headers is not None else []


def _tokens(request: Request, name: bytes) -> list[bytes]:
    """The comma-separated tokens of every `name` field, lowercased."""
    tokens: list[bytes] = []
    for field_name, value in request.headers:
        if field_name.lower() == name:
            tokens.extend(token.strip().lower() for token in value.split(b","))
    return tokens


def _values(request: Request, name: bytes) -> list[bytes]:
    return [value for field_name, value in request.headers if field_name.lower() == name]


def is_websocket_request(request: Request) -> bool:
    """Whether `request` asks to switch to WebSocket (``Upgrade: websocket``).

    Only asks; `Handshake.parse` decides whether it does so correctly.  The core has already
    checked ``Connection: upgrade`` for the request to propose a switch at all.
    """
    return b"websocket" in _tokens(request, b"upgrade")


class Handshake:
    """A valid opening handshake, and the negotiation of its answer.

    Attributes:
        key: the client's ``Sec-WebSocket-Key``.
        subprotocols: the subprotocols the client offers, in its order of preference.
        origin: the ``Origin`` field (browsers always send it), or None.
    """

    __slots__ = ("_offers", "key", "origin", "subprotocols")

    def __init__(
        self,
        key: bytes,
        subprotocols: list[str],
        offers: list[ExtensionHeader],
        origin: bytes | None,
    ) -> None:
        self.key = key
        self.subprotocols = subprotocols
        self._offers = offers
        self.origin = origin

    @classmethod
    def parse(cls, request: Request) -> Handshake:
        """Validate a request that asks for a WebSocket (RFC 6455 §4.2.1).

        Raises:
            HandshakeError: the request is not a valid opening handshake.
        """
        if request.method != b"GET":
            raise HandshakeError("a WebSocket opening handshake must be a GET request")
        if request.http_version != b"1.1":
            raise HandshakeError("a WebSocket opening handshake needs HTTP/1.1")
        if b"upgrade" not in _tokens(request, b"connection"):
            raise HandshakeError("missing 'Connection: upgrade'")
        versions = _values(request, b"sec-websocket-version")
        if versions != [VERSION]:
            raise HandshakeError(
                "unsupported WebSocket version (this server speaks 13)",
                426,
                [(b"sec-websocket-version", VERSION), (b"upgrade", b"websocket")],
            )
        keys = _values(request, b"sec-websocket-key")
        if len(keys) != 1:
            raise HandshakeError("missing or repeated Sec-WebSocket-Key")
        key = keys[0].strip()
        try:
            decoded = base64.b64decode(key, validate=True)
        except binascii.Error:
            decoded = b""
        if len(decoded) != 16:
            raise HandshakeError("Sec-WebSocket-Key is not 16 bytes in base64")
        origins = _values(request, b"origin")
        if len(origins) > 1:
            raise HandshakeError("repeated Origin field")
        try:
            subprotocols = [
                str(protocol)
                for value in _values(request, b"sec-websocket-protocol")
                for protocol in parse_subprotocol(value.decode("latin-1"))
            ]
            offers = [
                offer
                for value in _values(request, b"sec-websocket-extensions")
                for offer in parse_extension(value.decode("latin-1"))
            ]
        except InvalidHeader as exc:
            raise HandshakeError(f"malformed WebSocket header: {exc}") from None
        return cls(key, subprotocols, offers, origins[0] if origins else None)

    def negotiate(self, *, compression: bool) -> tuple[bytes | None, list[Extension]]:
        """Accept ``permessage-deflate`` if offered and `compression` is on.

        Returns:
            The ``Sec-WebSocket-Extensions`` value to answer with (None: no extension), and the
            extensions to give the framing layer.
        """
        if not compression:
            return None, []
        for name, params in self._offers:
            if name != _DEFLATE.name:
                continue
            try:
                response_params, extension = _DEFLATE.process_request_params(params, [])
            except NegotiationError:
                continue  # an offer we cannot take; the client may have listed another
            header = build_extension([(name, response_params)])
            return header.encode("latin-1"), [extension]
        return None, []

    def accept_headers(
        self, subprotocol: str | None, extension_header: bytes | None
    ) -> list[tuple[bytes, bytes]]:
        """The fields of the ``101 Switching Protocols`` answer.

        Raises:
            ValueError: `subprotocol` is not one the client offered (RFC 6455 §4.2.2).
        """
        headers = [
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
            (b"sec-websocket-accept", accept_key(self.key.decode("ascii")).encode("ascii")),
        ]
        if subprotocol is not None:
            if subprotocol not in self.subprotocols:
                raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
            headers.append((b"sec-websocket-protocol", subprotocol.encode("latin-1")))
        if extension_header is not None:
            headers.append((b"sec-websocket-extensions", extension_header))
        return headers
