"""TLS: https scope, ALPN, client certificates, and plain HTTP sent to a TLS port."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support import KetchProcess, RawClient, async_test, respond, serve

if TYPE_CHECKING:
    from tests.support.tls import Certificates


class SchemeApp:
    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        await respond(send, scope["scheme"].encode())


def tls_settings(certs: Certificates, **extra: Any) -> dict[str, Any]:
    return {"ssl_certfile": str(certs.server_cert), "ssl_keyfile": str(certs.server_key), **extra}


@async_test()
async def test_https_request_has_scheme_https(certs: Certificates) -> None:
    app = SchemeApp()
    async with serve(app, **tls_settings(certs)) as server:
        assert server.urls == [f"https://127.0.0.1:{server.port}"]
        async with httpx.AsyncClient(verify=certs.client_context()) as client:
            response = await client.get(f"https://127.0.0.1:{server.port}/secure")
            again = await client.get(f"https://127.0.0.1:{server.port}/secure")
    assert response.text == "https"
    assert again.text == "https"
    assert app.scopes[0]["scheme"] == "https"
    assert app.scopes[0]["client"] == app.scopes[1]["client"]  # keep-alive over TLS


@async_test()
async def test_https_with_a_large_upload_and_download(certs: Certificates) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message["body"])
            if not message["more_body"]:
                break
        await respond(send, b"".join(chunks)[::-1])

    data = bytes(range(256)) * 8192  # 2 MiB
    async with (
        serve(app, **tls_settings(certs)) as server,
        httpx.AsyncClient(verify=certs.client_context()) as client,
    ):
        response = await client.post(f"https://127.0.0.1:{server.port}/", content=data)
    assert response.content == data[::-1]


@async_test()
async def test_alpn_selects_http11(certs: Certificates) -> None:
    context = certs.client_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    async with (
        serve(SchemeApp(), **tls_settings(certs)) as server,
        await RawClient.connect(server.port, ssl=context) as client,
    ):
        ssl_object = client.writer.get_extra_info("ssl_object")
        assert ssl_object.selected_alpn_protocol() == "http/1.1"
        assert (await client.request()).body == b"https"


@async_test()
async def test_client_certificate_required_accepts_a_client_with_a_certificate(
    certs: Certificates,
) -> None:
    settings = tls_settings(certs, ssl_ca_certs=str(certs.ca_cert), ssl_cert_reqs="required")
    async with serve(SchemeApp(), **settings) as server:
        context = certs.client_context(with_client_cert=True)
        async with httpx.AsyncClient(verify=context) as client:
            response = await client.get(f"https://127.0.0.1:{server.port}/")
    assert response.status_code == 200


@async_test()
async def test_client_certificate_required_refuses_a_client_without_one(
    certs: Certificates,
) -> None:
    app = SchemeApp()
    settings = tls_settings(certs, ssl_ca_certs=str(certs.ca_cert), ssl_cert_reqs="required")
    async with (
        serve(app, **settings) as server,
        httpx.AsyncClient(verify=certs.client_context()) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.get(f"https://127.0.0.1:{server.port}/")
    assert app.scopes == []


@async_test()
async def test_client_certificate_optional_accepts_a_client_without_one(
    certs: Certificates,
) -> None:
    settings = tls_settings(certs, ssl_ca_certs=str(certs.ca_cert), ssl_cert_reqs="optional")
    async with (
        serve(SchemeApp(), **settings) as server,
        httpx.AsyncClient(verify=certs.client_context()) as client,
    ):
        assert (await client.get(f"https://127.0.0.1:{server.port}/")).status_code == 200


@async_test()
async def test_plain_http_to_the_tls_port_is_closed_fast_without_a_traceback(
    certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = SchemeApp()
    async with serve(app, **tls_settings(certs)) as server:
        async with await RawClient.connect(server.port) as client:
            await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            async with asyncio.timeout(2):
                await client.read_until_eof()
        # The server still serves TLS afterwards.
        async with httpx.AsyncClient(verify=certs.client_context()) as http:
            assert (await http.get(f"https://127.0.0.1:{server.port}/")).text == "https"
    assert len(app.scopes) == 1
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@async_test()
async def test_tls_client_that_never_handshakes_is_dropped_after_the_header_timeout(
    certs: Certificates,
) -> None:
    async with (
        serve(SchemeApp(), timeout_header=0.5, **tls_settings(certs)) as server,
        await RawClient.connect(server.port) as client,
    ):
        async with asyncio.timeout(3):
            await client.read_until_eof()


@async_test()
async def test_ssl_context_setting_is_used_as_given(certs: Certificates) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    async with serve(SchemeApp(), ssl_context=context) as server:
        assert server.urls[0].startswith("https://")
        async with httpx.AsyncClient(verify=certs.client_context()) as client:
            assert (await client.get(f"https://127.0.0.1:{server.port}/")).text == "https"


def test_cli_serves_tls_with_certfile_and_keyfile(certs: Certificates) -> None:
    with KetchProcess(
        "tests.support.apps:describe",
        "--port",
        "0",
        "--ssl-certfile",
        str(certs.server_cert),
        "--ssl-keyfile",
        str(certs.server_key),
    ) as process:
        url = process.wait_serving()
        assert url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=certs.client_context()) as client:
            assert client.get(url + "/").text.startswith("https ")
        # Plain HTTP to the TLS port: closed, and nothing alarming in the log.
        port = int(url.rsplit(":", 1)[1])
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            while sock.recv(4096):
                pass
        assert process.stop() == 0
    stderr = "\n".join(process.stderr)
    assert "Traceback" not in stderr
    assert "ERROR" not in stderr
