"""The ASGI ``tls`` extension and the client certificate in ketch.web, over real TLS sockets."""

from __future__ import annotations

import datetime
import ssl
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect

from ketch import web
from ketch.asgi.tls import rfc4514_name, server_certificate
from tests.support import RawClient, async_test, respond, serve

if TYPE_CHECKING:
    from tests.support.tls import Certificates


class ScopeApp:
    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            self.scopes.append(scope)
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close"})
            return
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        await respond(send, b"ok")


def mtls_settings(certs: Certificates, reqs: str = "required") -> dict[str, Any]:
    return {
        "ssl_certfile": str(certs.server_cert),
        "ssl_keyfile": str(certs.server_key),
        "ssl_ca_certs": str(certs.ca_cert),
        "ssl_cert_reqs": reqs,
    }


def der(pem: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem)


def iana_number(context: ssl.SSLContext, name: str) -> int:
    (cipher,) = [c for c in context.get_ciphers() if c["name"] == name]
    return int(cipher["id"]) & 0xFFFF


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_tls_extension_carries_the_client_certificate(certs: Certificates, loop: str) -> None:
    app = ScopeApp()
    context = certs.client_context(with_client_cert=True)
    async with (
        serve(app, **mtls_settings(certs)) as server,
        await RawClient.connect(server.port, ssl=context) as client,
    ):
        await client.request("GET", "/one")
        await client.request("GET", "/two")
        ssl_object = client.writer.get_extra_info("ssl_object")
        cipher_name = ssl_object.cipher()[0]
        version = ssl_object.version()
    first, second = (scope["extensions"]["tls"] for scope in app.scopes)
    assert second is first  # worked out once per connection
    assert set(first) == {
        "server_cert",
        "client_cert_chain",
        "client_cert_name",
        "client_cert_error",
        "tls_version",
        "cipher_suite",
    }
    assert der(first["server_cert"]) == der(certs.server_cert.read_text())
    client_cert = x509.load_pem_x509_certificate(certs.client_cert.read_bytes())
    chain = first["client_cert_chain"]
    assert chain
    assert der(chain[0]) == der(certs.client_cert.read_text())  # the client's own first
    assert first["client_cert_name"] == client_cert.subject.rfc4514_string()
    assert first["client_cert_name"] == "CN=ketch test client"
    assert first["client_cert_error"] is None
    assert first["tls_version"] == {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}[version]
    assert first["cipher_suite"] == iana_number(context, cipher_name)
    # The other extensions stay offered.
    assert "http.response.trailers" in app.scopes[0]["extensions"]


@async_test()
async def test_tls_extension_without_a_client_certificate(certs: Certificates) -> None:
    app = ScopeApp()
    async with (
        serve(app, **mtls_settings(certs, "optional")) as server,
        httpx.AsyncClient(verify=certs.client_context()) as client,
    ):
        await client.get(f"https://127.0.0.1:{server.port}/")
    tls = app.scopes[0]["extensions"]["tls"]
    assert tls["client_cert_chain"] == []
    assert tls["client_cert_name"] is None
    assert tls["client_cert_error"] is None
    assert tls["tls_version"] == 0x0304
    assert tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)


@async_test()
async def test_tls_1_2_is_reported_as_0x0303(certs: Certificates) -> None:
    app = ScopeApp()
    context = certs.client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    async with (
        serve(
            app, ssl_certfile=str(certs.server_cert), ssl_keyfile=str(certs.server_key)
        ) as server,
        await RawClient.connect(server.port, ssl=context) as client,
    ):
        await client.request()
        cipher_name = client.writer.get_extra_info("ssl_object").cipher()[0]
    tls = app.scopes[0]["extensions"]["tls"]
    assert tls["tls_version"] == 0x0303
    assert tls["cipher_suite"] == iana_number(context, cipher_name)


@async_test()
async def test_plain_http_has_no_tls_extension() -> None:
    app = ScopeApp()
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.request()
    assert "tls" not in app.scopes[0]["extensions"]


@async_test()
async def test_server_cert_is_none_with_a_given_ssl_context(certs: Certificates) -> None:
    app = ScopeApp()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    async with (
        serve(app, ssl_context=context) as server,
        httpx.AsyncClient(verify=certs.client_context()) as client,
    ):
        await client.get(f"https://127.0.0.1:{server.port}/")
    tls = app.scopes[0]["extensions"]["tls"]
    assert tls["server_cert"] is None
    assert tls["tls_version"] == 0x0304


@async_test()
async def test_websocket_scope_over_tls_has_the_tls_extension(certs: Certificates) -> None:
    app = ScopeApp()
    context = certs.client_context(with_client_cert=True)
    async with (
        serve(app, **mtls_settings(certs)) as server,
        connect(f"wss://127.0.0.1:{server.port}/ws", ssl=context) as ws,
    ):
        await ws.wait_closed()
    (scope,) = app.scopes
    assert scope["type"] == "websocket"
    assert "websocket.http.response" in scope["extensions"]
    assert scope["extensions"]["tls"]["client_cert_name"] == "CN=ketch test client"


@async_test()
async def test_web_request_transport_gives_the_peer_certificate(certs: Certificates) -> None:
    seen: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        seen["peercert"] = request.transport.get_extra_info("peercert")
        seen["cipher"] = request.transport.get_extra_info("cipher")
        seen["missing"] = request.transport.get_extra_info("no such thing", "default")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    async with (
        serve(app, **mtls_settings(certs)) as server,
        httpx.AsyncClient(verify=certs.client_context(with_client_cert=True)) as client,
    ):
        assert (await client.get(f"https://127.0.0.1:{server.port}/")).text == "ok"
    assert seen["peercert"]["subject"] == ((("commonName", "ketch test client"),),)
    assert seen["cipher"][0]
    assert seen["missing"] == "default"


def test_server_certificate_is_the_first_pem_of_the_file(
    certs: Certificates, tmp_path: Any
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(certs.server_cert.read_text() + certs.ca_cert.read_text())
    first = server_certificate(str(bundle))
    assert first is not None
    assert der(first) == der(certs.server_cert.read_text())
    assert server_certificate(str(tmp_path / "missing.pem")) is None


def make_cert(name: x509.Name) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def as_peercert(name: x509.Name) -> dict[str, Any]:
    """What ``getpeercert()`` returns for a subject: RDNs in order, OpenSSL's long names."""
    long_names = {
        NameOID.COUNTRY_NAME: "countryName",
        NameOID.ORGANIZATION_NAME: "organizationName",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "organizationalUnitName",
        NameOID.COMMON_NAME: "commonName",
        NameOID.DOMAIN_COMPONENT: "domainComponent",
    }
    return {
        "subject": tuple(tuple((long_names[a.oid], str(a.value)) for a in rdn) for rdn in name.rdns)
    }


@pytest.mark.parametrize(
    "attributes",
    [
        [(NameOID.COMMON_NAME, "alice")],
        [
            (NameOID.COUNTRY_NAME, "FR"),
            (NameOID.ORGANIZATION_NAME, "Ketch, Inc."),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "R+D"),
            (NameOID.COMMON_NAME, ' #quoted "name"; <x> \\ '),
        ],
        [(NameOID.DOMAIN_COMPONENT, "example"), (NameOID.COMMON_NAME, "#hash")],
    ],
)
def test_rfc4514_name_matches_cryptography(attributes: list[tuple[Any, str]]) -> None:
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    cert = make_cert(name)
    assert rfc4514_name(as_peercert(cert.subject)) == cert.subject.rfc4514_string()


def test_rfc4514_name_of_nothing_is_none() -> None:
    assert rfc4514_name({}) is None
