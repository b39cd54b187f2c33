"""Behind proxies, over real loopback sockets: proxy fields and the PROXY protocol.

The test client connects from 127.0.0.1 (or ::1, or a Unix socket), so it is a trusted proxy under
the default ``--forwarded-allow-ips`` and an untrusted peer when the setting names other addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

import pytest

from ketch import web
from ketch.server.proxy import PROXY_V2_SIGNATURE
from tests.support import RawClient, async_test, respond, serve

if TYPE_CHECKING:
    from pathlib import Path

FORWARDED = [
    ("X-Forwarded-For", "198.51.100.1, 203.0.113.7"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "shop.example"),
]


class ScopeRecorder:
    """An ASGI app that keeps every scope and answers 200 (a WebSocket is refused)."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close"})
            return
        await respond(send, b"ok")

    @property
    def host(self) -> bytes:
        host: bytes = dict(self.scopes[-1]["headers"])[b"host"]
        return host


async def one_request(
    app: ScopeRecorder, fields: list[tuple[str, str]], host: str = "127.0.0.1", **settings: Any
) -> dict[str, Any]:
    async with serve(app, host=host, **settings) as server:
        async with await RawClient.connect(server.port, host) as client:
            response = await client.request("GET", "/", fields)
        assert response.status == 200
    return app.scopes[-1]


# ---------------------------------------------------------------- proxy fields, ASGI


@async_test()
async def test_trusted_proxy_fields_reach_the_asgi_scope() -> None:
    app = ScopeRecorder()
    scope = await one_request(app, FORWARDED)
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"
    assert scope["server"] == ("shop.example", 443)
    assert app.host == b"shop.example"
    assert dict(scope["headers"])[b"x-forwarded-for"] == b"198.51.100.1, 203.0.113.7"


@async_test()
async def test_untrusted_peer_fields_are_ignored() -> None:
    app = ScopeRecorder()
    scope = await one_request(app, FORWARDED, forwarded_allow_ips="10.0.0.0/8")
    assert scope["client"][0] == "127.0.0.1"
    assert scope["client"][1] != 0
    assert scope["scheme"] == "http"
    assert scope["server"][0] == "127.0.0.1"
    assert app.host == b"test"


@async_test()
async def test_proxy_headers_off_ignores_even_trusted_peers() -> None:
    app = ScopeRecorder()
    scope = await one_request(app, FORWARDED, proxy_headers=False)
    assert scope["client"][0] == "127.0.0.1"
    assert scope["scheme"] == "http"
    assert app.host == b"test"


@async_test()
async def test_star_trusts_any_peer() -> None:
    app = ScopeRecorder()
    scope = await one_request(app, FORWARDED, forwarded_allow_ips="*")
    assert scope["client"] == ("198.51.100.1", 0)  # every entry is trusted: the leftmost


@async_test()
async def test_ipv6_loopback_peer_is_trusted_only_when_listed() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    app = ScopeRecorder()
    scope = await one_request(app, FORWARDED, host="::1")
    assert scope["client"] == ("203.0.113.7", 0)
    scope = await one_request(app, FORWARDED, host="::1", forwarded_allow_ips="127.0.0.1")
    assert scope["client"][0] == "::1"


@async_test()
async def test_unix_socket_peers_are_trusted_whatever_the_setting(tmp_path: Path) -> None:
    app = ScopeRecorder()
    path = str(tmp_path / "k.sock")
    async with (
        serve(app, uds=path, forwarded_allow_ips=""),
        await RawClient.connect_unix(path) as client,
    ):
        response = await client.request("GET", "/", FORWARDED)
    assert response.status == 200
    assert app.scopes[0]["client"] == ("203.0.113.7", 0)
    assert app.scopes[0]["scheme"] == "https"
    assert app.scopes[0]["server"] == ("shop.example", 443)


@async_test()
async def test_forwarded_header_reaches_the_scope() -> None:
    app = ScopeRecorder()
    fields = [("Forwarded", 'for="[2001:db8::7]:4711";proto=https;host="shop.example:8443"')]
    scope = await one_request(app, fields)
    assert scope["client"] == ("2001:db8::7", 4711)
    assert scope["scheme"] == "https"
    assert scope["server"] == ("shop.example", 8443)
    assert app.host == b"shop.example:8443"


@async_test()
async def test_client_forwarded_field_does_not_beat_the_proxys_x_forwarded_for() -> None:
    app = ScopeRecorder()
    fields = [("Forwarded", "for=6.6.6.6;proto=https"), ("X-Forwarded-For", "203.0.113.7")]
    scope = await one_request(app, fields)
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "http"


@async_test()
async def test_malformed_fields_are_ignored_not_errors() -> None:
    app = ScopeRecorder()
    fields = [
        ("X-Forwarded-For", "not-an-ip"),
        ("X-Forwarded-Proto", "gopher"),
        ("X-Forwarded-Host", "bad host"),
        ("X-Forwarded-Port", "99999"),
    ]
    scope = await one_request(app, fields)
    assert scope["client"][0] == "127.0.0.1"
    assert scope["scheme"] == "http"
    assert app.host == b"test"


@async_test()
async def test_forwarded_host_is_added_to_an_http10_request_without_host() -> None:
    app = ScopeRecorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.0\r\nX-Forwarded-Host: shop.example\r\n\r\n")
        assert (await client.response()).status == 200
    assert app.host == b"shop.example"


@async_test()
async def test_each_request_on_a_connection_is_read_on_its_own() -> None:
    app = ScopeRecorder()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.request("GET", "/", [("X-Forwarded-For", "203.0.113.1")])
        await client.request("GET", "/", [])
        await client.request("GET", "/", [("X-Forwarded-For", "203.0.113.3")])
    clients = [scope["client"][0] for scope in app.scopes]
    assert clients == ["203.0.113.1", "127.0.0.1", "203.0.113.3"]


@async_test()
async def test_websocket_scope_scheme_follows_x_forwarded_proto() -> None:
    app = ScopeRecorder()
    handshake = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    for proto, scheme in (("https", "wss"), ("wss", "wss"), ("ws", "ws"), ("http", "ws")):
        async with serve(app) as server, await RawClient.connect(server.port) as client:
            fields = [*handshake, ("X-Forwarded-Proto", proto), ("X-Forwarded-For", "203.0.113.9")]
            response = await client.request("GET", "/ws", fields)
        assert response.status == 403
        scope = app.scopes[-1]
        assert scope["type"] == "websocket"
        assert scope["scheme"] == scheme
        assert scope["client"] == ("203.0.113.9", 0)


@async_test()
async def test_access_log_shows_the_forwarded_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ketch.access")
    await one_request(ScopeRecorder(), FORWARDED, access_log=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "ketch.access"]
    assert len(lines) == 1
    assert lines[0].startswith("203.0.113.7 - - [")


# ---------------------------------------------------------------- proxy fields, ketch.web


async def describe(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "remote": request.remote,
            "scheme": request.scheme,
            "secure": request.secure,
            "host": request.host,
            "url": request.url,
        }
    )


def web_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/{tail:.*}", describe)
    return app


async def web_request(fields: list[tuple[str, str]], **settings: Any) -> dict[str, Any]:
    async with serve(web_app(), **settings) as server, await RawClient.connect(server.port) as c:
        response = await c.request("GET", "/a/b?x=1", fields)
    assert response.status == 200
    info: dict[str, Any] = json.loads(response.body)
    return info


@async_test()
async def test_web_request_sees_what_a_trusted_proxy_says() -> None:
    info = await web_request([*FORWARDED, ("X-Forwarded-Port", "8443")])
    assert info == {
        "remote": "203.0.113.7",
        "scheme": "https",
        "secure": True,
        "host": "shop.example:8443",
        "url": "https://shop.example:8443/a/b?x=1",
    }


@async_test()
async def test_web_request_ignores_an_untrusted_peer() -> None:
    info = await web_request(FORWARDED, forwarded_allow_ips="192.0.2.1")
    assert info == {
        "remote": "127.0.0.1",
        "scheme": "http",
        "secure": False,
        "host": "test",
        "url": "http://test/a/b?x=1",
    }


# ---------------------------------------------------------------- PROXY protocol


def v2(command: int, family: int, block: bytes) -> bytes:
    return PROXY_V2_SIGNATURE + bytes([command, family]) + struct.pack("!H", len(block)) + block


def v2_tcp4(src: str, sport: int, dst: str, dport: int, tlvs: bytes = b"") -> bytes:
    block = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
    return v2(0x21, 0x11, block + struct.pack("!HH", sport, dport) + tlvs)


def v2_tcp6(src: str, sport: int, dst: str, dport: int) -> bytes:
    block = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
    return v2(0x21, 0x21, block + struct.pack("!HH", sport, dport))


GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


async def proxied_scope(preamble: bytes, **settings: Any) -> dict[str, Any]:
    """Send `preamble` and a GET on one connection; returns the scope the app saw."""
    app = ScopeRecorder()
    async with (
        serve(app, proxy_protocol=True, **settings) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(preamble + GET)
        assert (await client.response()).status == 200
    return app.scopes[-1]


@async_test()
async def test_proxy_v1_source_and_destination_become_client_and_server() -> None:
    scope = await proxied_scope(b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n")
    assert scope["client"] == ("203.0.113.7", 56324)
    assert scope["server"] == ("192.0.2.1", 443)
    assert scope["scheme"] == "http"


@async_test()
async def test_proxy_v1_tcp6() -> None:
    scope = await proxied_scope(b"PROXY TCP6 2001:db8::7 2001:db8::1 4711 80\r\n")
    assert scope["client"] == ("2001:db8::7", 4711)
    assert scope["server"] == ("2001:db8::1", 80)


@async_test()
async def test_proxy_v1_unknown_keeps_the_real_peer() -> None:
    scope = await proxied_scope(b"PROXY UNKNOWN\r\n")
    assert scope["client"][0] == "127.0.0.1"


@async_test()
async def test_proxy_v2_tcp4_and_tcp6() -> None:
    scope = await proxied_scope(v2_tcp4("203.0.113.7", 1234, "192.0.2.1", 443))
    assert scope["client"] == ("203.0.113.7", 1234)
    assert scope["server"] == ("192.0.2.1", 443)
    scope = await proxied_scope(v2_tcp6("2001:db8::7", 1, "2001:db8::1", 2))
    assert scope["client"] == ("2001:db8::7", 1)


@async_test()
async def test_proxy_v2_tls_tlv_makes_the_scheme_https() -> None:
    ssl = bytes([0x20]) + struct.pack("!H", 5) + b"\x01\x00\x00\x00\x00"
    noop = bytes([0x04]) + struct.pack("!H", 3) + b"\x00\x00\x00"
    scope = await proxied_scope(v2_tcp4("203.0.113.7", 1, "192.0.2.1", 443, noop + ssl))
    assert scope["scheme"] == "https"


@async_test()
async def test_proxy_v2_local_keeps_the_real_peer() -> None:
    scope = await proxied_scope(v2(0x20, 0x00, b""))
    assert scope["client"][0] == "127.0.0.1"


@async_test()
async def test_proxy_header_fed_byte_by_byte() -> None:
    app = ScopeRecorder()
    preamble = b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n"
    async with (
        serve(app, proxy_protocol=True) as server,
        await RawClient.connect(server.port) as client,
    ):
        for byte in preamble + GET[:5]:
            await client.send(bytes([byte]))
            await asyncio.sleep(0)
        await client.send(GET[5:])
        assert (await client.response()).status == 200
    assert app.scopes[0]["client"] == ("203.0.113.7", 56324)


@async_test()
async def test_proxy_header_holds_for_every_request_of_the_connection() -> None:
    app = ScopeRecorder()
    async with (
        serve(app, proxy_protocol=True) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n")
        for _ in range(3):
            assert (await client.request()).status == 200
    assert [scope["client"] for scope in app.scopes] == [("203.0.113.7", 56324)] * 3


@async_test()
async def test_proxy_fields_after_a_proxy_header_count_only_from_trusted_sources() -> None:
    fields = b"X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: https\r\n"
    request = b"GET / HTTP/1.1\r\nHost: test\r\n" + fields + b"\r\n"
    for source, client, scheme in (
        ("203.0.113.7", ("203.0.113.7", 5), "http"),  # the proxy's client sent them: ignored
        ("10.1.2.3", ("198.51.100.1", 0), "https"),  # a trusted hop (a CDN) in front
    ):
        app = ScopeRecorder()
        allow = "127.0.0.1,10.0.0.0/8"
        async with (
            serve(app, proxy_protocol=True, forwarded_allow_ips=allow) as server,
            await RawClient.connect(server.port) as conn,
        ):
            await conn.send(f"PROXY TCP4 {source} 192.0.2.1 5 80\r\n".encode() + request)
            assert (await conn.response()).status == 200
        assert app.scopes[0]["client"] == client
        assert app.scopes[0]["scheme"] == scheme


@async_test()
async def test_proxy_protocol_over_a_unix_socket(tmp_path: Path) -> None:
    app = ScopeRecorder()
    path = str(tmp_path / "k.sock")
    async with (
        serve(app, uds=path, proxy_protocol=True, forwarded_allow_ips=""),
        await RawClient.connect_unix(path) as client,
    ):
        await client.send(b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n" + GET)
        assert (await client.response()).status == 200
    assert app.scopes[0]["client"] == ("203.0.113.7", 56324)


async def assert_closed_unanswered(client: RawClient) -> None:
    async with asyncio.timeout(3):
        assert await client.read_until_eof() == b""


@async_test()
async def test_proxy_protocol_closes_untrusted_peers_at_once() -> None:
    app = ScopeRecorder()
    async with (
        serve(app, proxy_protocol=True, forwarded_allow_ips="10.0.0.0/8") as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n" + GET)
        await assert_closed_unanswered(client)
    assert app.scopes == []


@pytest.mark.parametrize(
    "preamble",
    [
        b"",  # a plain request where a PROXY header is required
        b"PROXY TCP4 203.0.113.7 192.0.2.1 56324\r\n",
        b"PROXY TCP4 203.0.113.999 192.0.2.1 1 2\r\n",
        b"PROXY UNKNOWN " + b"x" * 200,
        PROXY_V2_SIGNATURE + b"\x21\x12\x00\x0c" + b"\x00" * 12,  # UDP
        PROXY_V2_SIGNATURE + b"\x21\x11\x00\x08" + b"\x00" * 8,  # short address block
        PROXY_V2_SIGNATURE + b"\x21\x11\xff\xff",  # longer than allowed
    ],
)
@async_test()
async def test_malformed_proxy_header_closes_unanswered(preamble: bytes) -> None:
    app = ScopeRecorder()
    async with (
        serve(app, proxy_protocol=True) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(preamble + GET)
        await assert_closed_unanswered(client)
    assert app.scopes == []


@pytest.mark.parametrize("partial", [b"", b"PROXY TCP4 203.0.113.7", PROXY_V2_SIGNATURE[:14]])
@async_test()
async def test_proxy_header_must_arrive_within_the_header_timeout(partial: bytes) -> None:
    async with (
        serve(ScopeRecorder(), proxy_protocol=True, timeout_header=0.5) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(partial)
        started = time.monotonic()
        await assert_closed_unanswered(client)
        assert 0.4 <= time.monotonic() - started < 2.5


@async_test()
async def test_proxy_header_then_eof_closes() -> None:
    async with (
        serve(ScopeRecorder(), proxy_protocol=True) as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.send(b"PROXY TCP4 203.0.113.7")
        client.writer.write_eof()
        await assert_closed_unanswered(client)


@async_test()
async def test_pending_proxy_header_connection_is_closed_on_shutdown() -> None:
    async with serve(ScopeRecorder(), proxy_protocol=True) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"PROXY TCP4")
        await asyncio.sleep(0.05)
    async with client:
        await assert_closed_unanswered(client)


def test_invalid_forwarded_allow_ips_is_a_setting_error() -> None:
    from ketch.server.config import Config

    with pytest.raises(ValueError, match=r"forwarded_allow_ips: 'example\.com'"):
        Config(forwarded_allow_ips="127.0.0.1,example.com")
