"""The opening handshake, sans-IO: what a request must carry, what the 101 answers."""

from __future__ import annotations

import base64
import hashlib

import pytest
from websockets.extensions.permessage_deflate import PerMessageDeflate

from ketch.http11 import Request
from ketch.websocket import Handshake, HandshakeError, is_websocket_request

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def request(
    *extra: tuple[bytes, bytes], method: bytes = b"GET", version: bytes = b"1.1"
) -> Request:
    headers = [
        (b"Host", b"example.com"),
        (b"Upgrade", b"websocket"),
        (b"Connection", b"keep-alive, Upgrade"),
        (b"Sec-WebSocket-Key", KEY),
        (b"Sec-WebSocket-Version", b"13"),
    ]
    names = {name.lower() for name, _ in extra}
    headers = [(n, v) for n, v in headers if n.lower() not in names]
    headers.extend((n, v) for n, v in extra if v is not None)
    return Request(method=method, target=b"/chat", http_version=version, headers=headers)


def without(name: bytes) -> Request:
    built = request()
    built.headers = [(n, v) for n, v in built.headers if n.lower() != name]
    return built


def test_the_rfc_example_key_gets_the_rfc_accept_value() -> None:
    handshake = Handshake.parse(request())
    headers = dict(handshake.accept_headers(None, None))
    assert headers[b"sec-websocket-accept"] == ACCEPT
    assert headers[b"upgrade"] == b"websocket"
    assert headers[b"connection"].lower() == b"upgrade"
    assert b"sec-websocket-protocol" not in headers
    assert b"sec-websocket-extensions" not in headers


def test_accept_value_is_the_sha1_of_key_and_guid() -> None:
    key = base64.b64encode(b"0123456789abcdef")
    digest = hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    handshake = Handshake.parse(request((b"Sec-WebSocket-Key", key)))
    assert dict(handshake.accept_headers(None, None))[b"sec-websocket-accept"] == base64.b64encode(
        digest
    )


@pytest.mark.parametrize(
    ("upgrade", "expected"),
    [(b"websocket", True), (b"WebSocket", True), (b"h2c, websocket", True), (b"h2c", False)],
)
def test_is_websocket_request_looks_at_the_upgrade_tokens(upgrade: bytes, expected: bool) -> None:
    assert is_websocket_request(request((b"Upgrade", upgrade))) is expected


def test_the_handshake_tokens_are_case_insensitive() -> None:
    Handshake.parse(request((b"Upgrade", b"WebSocket"), (b"Connection", b"UPGRADE")))


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (request(method=b"POST"), "GET"),
        (request(version=b"1.0"), "HTTP/1.1"),
        (request((b"Connection", b"keep-alive")), "Connection"),
        (without(b"sec-websocket-key"), "Sec-WebSocket-Key"),
        (request((b"Sec-WebSocket-Key", b"c2hvcnQ=")), "16 bytes"),  # "short"
        (request((b"Sec-WebSocket-Key", b"not base64 at all!!!!!==")), "16 bytes"),
        (request((b"Origin", b"https://a.example"), (b"Origin", b"https://b.example")), "Origin"),
        (request((b"Sec-WebSocket-Protocol", b"chat, ,,;")), "malformed"),
        (request((b"Sec-WebSocket-Extensions", b"permessage-deflate; =")), "malformed"),
    ],
)
def test_an_invalid_handshake_is_refused_with_400(broken: Request, message: str) -> None:
    with pytest.raises(HandshakeError, match=message) as caught:
        Handshake.parse(broken)
    assert caught.value.status == 400


def test_two_keys_are_refused() -> None:
    twice = request()
    twice.headers.append((b"Sec-WebSocket-Key", KEY))
    with pytest.raises(HandshakeError, match="repeated"):
        Handshake.parse(twice)


@pytest.mark.parametrize("version", [b"8", b"12", b"14", b""])
def test_another_version_gets_426_naming_13(version: bytes) -> None:
    with pytest.raises(HandshakeError) as caught:
        Handshake.parse(request((b"Sec-WebSocket-Version", version)))
    assert caught.value.status == 426
    assert (b"sec-websocket-version", b"13") in caught.value.headers


def test_missing_version_gets_426() -> None:
    with pytest.raises(HandshakeError) as caught:
        Handshake.parse(without(b"sec-websocket-version"))
    assert caught.value.status == 426


def test_subprotocols_and_origin_are_available() -> None:
    handshake = Handshake.parse(
        request(
            (b"Sec-WebSocket-Protocol", b"chat.v2, chat.v1"),
            (b"Origin", b"https://app.example"),
        )
    )
    assert handshake.subprotocols == ["chat.v2", "chat.v1"]
    assert handshake.origin == b"https://app.example"
    headers = dict(handshake.accept_headers("chat.v1", None))
    assert headers[b"sec-websocket-protocol"] == b"chat.v1"


def test_a_subprotocol_the_client_did_not_offer_is_refused() -> None:
    handshake = Handshake.parse(request((b"Sec-WebSocket-Protocol", b"chat")))
    with pytest.raises(ValueError, match="not offered"):
        handshake.accept_headers("mqtt", None)


def test_permessage_deflate_is_negotiated_when_offered_and_allowed() -> None:
    offer = b"permessage-deflate; client_max_window_bits"
    handshake = Handshake.parse(request((b"Sec-WebSocket-Extensions", offer)))
    header, extensions = handshake.negotiate(compression=True)
    assert header is not None
    assert header.startswith(b"permessage-deflate")
    assert len(extensions) == 1
    assert isinstance(extensions[0], PerMessageDeflate)
    assert handshake.negotiate(compression=False) == (None, [])


def test_an_offer_we_cannot_take_is_skipped_for_the_next_one() -> None:
    # server_max_window_bits=8 is below what zlib supports for raw deflate: declined.
    offers = b"permessage-deflate; server_max_window_bits=8, permessage-deflate"
    handshake = Handshake.parse(request((b"Sec-WebSocket-Extensions", offers)))
    header, extensions = handshake.negotiate(compression=True)
    assert header is not None
    assert b"server_max_window_bits=8" not in header
    assert len(extensions) == 1


def test_unknown_extensions_are_declined() -> None:
    handshake = Handshake.parse(request((b"Sec-WebSocket-Extensions", b"x-webkit-deflate-frame")))
    assert handshake.negotiate(compression=True) == (None, [])
