"""ketch behind a real nginx (Debian's package), on loopback, with a configuration of its own.

One nginx serves every case (the `stack` fixture), in front of three ``ketch`` processes:

* TLS at nginx, HTTP/1.1 keep-alive upstream over TCP, X-Forwarded-For/Proto/Host/Port set;
* plain HTTP at nginx, keep-alive upstream over a Unix socket;
* nginx's ``stream`` module relaying TCP to a Unix socket with ``proxy_protocol on``
  (ketch ``--proxy-protocol``).

The client connects from 127.0.0.2, so it is not a trusted proxy, while nginx reaches ketch from
127.0.0.1 (trusted by default) or over a Unix socket (always trusted).  The `NGINX_*` blocks below
are what docs/proxies.md shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support import KetchProcess, RawClient, async_test
from tests.support.tls import Certificates, make_certificates

if TYPE_CHECKING:
    from collections.abc import Iterator

NGINX_NAMES = ("nginx", "/usr/sbin/nginx")
STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
CLIENT_ADDRESS = "127.0.0.2"  # any 127/8 address is loopback; this one is not trusted
UPLOAD_MIB = 100

# The proxy fields, as docs/proxies.md recommends them.
NGINX_PROXY_FIELDS = """\
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
"""

NGINX_CONFIG = """\
load_module {stream_module};
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 64; }}

http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    upstream ketch_tcp {{
        server 127.0.0.1:{tcp_port};
        keepalive 8;
    }}
    upstream ketch_unix {{
        server unix:{unix_socket};
        keepalive 8;
    }}

    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        client_max_body_size 0;
        proxy_request_buffering off;

        location / {{
            proxy_pass http://ketch_tcp;
{proxy_fields}        }}
        # No X-Forwarded-For: the app sees nginx's own upstream connection.
        location /peer {{
            proxy_pass http://ketch_tcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}

    server {{
        listen 127.0.0.1:{http_port};
        location / {{
            proxy_pass http://ketch_unix;
{proxy_fields}        }}
    }}
}}

stream {{
    server {{
        listen 127.0.0.1:{stream_port};
        proxy_pass unix:{proxy_protocol_socket};
        proxy_protocol on;
    }}
}}
"""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reports what it is told about the request; ``/upload`` counts and hashes the body."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    headers = dict(scope["headers"])
    if scope["path"] == "/upload":
        digest = hashlib.sha256()
        size = 0
        while True:
            message = await receive()
            body = message.get("body", b"")
            size += len(body)
            digest.update(body)
            if not message.get("more_body", False):
                break
        report: dict[str, Any] = {"size": size, "sha256": digest.hexdigest()}
    else:
        report = {
            "client": scope["client"],
            "scheme": scope["scheme"],
            "server": scope["server"],
            "host": headers.get(b"host", b"").decode(),
            "x_forwarded_for": headers.get(b"x-forwarded-for", b"").decode(),
        }
    body = json.dumps(report).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def nginx_or_skip() -> str:
    """The nginx binary; a missing one skips the test, or fails it under ``CI=true``."""
    for name in NGINX_NAMES:
        path = shutil.which(name)
        if path:
            break
    else:
        path = None
    missing = []
    if path is None:
        missing.append("no nginx binary")
    if not STREAM_MODULE.exists():
        missing.append(f"no {STREAM_MODULE}")
    if not missing:
        assert path is not None
        return path
    reason = (
        f"{' and '.join(missing)}; scripts/install-test-deps installs Debian's nginx and "
        "libnginx-mod-stream packages when run as root"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, nginx: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        if nginx.poll() is not None:
            raise AssertionError(f"nginx exited ({nginx.returncode}): {log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nginx is not listening on {port}: {log.read_text()}")
        time.sleep(0.05)


@dataclass
class Stack:
    tls_port: int
    http_port: int
    stream_port: int
    certs: Certificates
    ketch_tcp: KetchProcess

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTPS client to nginx, connecting from `CLIENT_ADDRESS`."""
        context = self.certs.client_context()
        transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS, verify=context)
        return httpx.Client(transport=transport, timeout=20, **kwargs)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = nginx_or_skip()
    tmp = tmp_path_factory.mktemp("nginx")
    certs = make_certificates(tmp)
    unix_socket = tmp / "ketch.sock"
    proxy_protocol_socket = tmp / "ketch-pp.sock"
    common = ("tests.integration.test_nginx:app", "--no-access-log", "--timeout-keep-alive", "30")
    with contextlib.ExitStack() as stack:
        ketch_tcp = stack.enter_context(KetchProcess(*common, "--port", "0"))
        ketch_unix = stack.enter_context(KetchProcess(*common, "--uds", str(unix_socket)))
        ketch_pp = stack.enter_context(
            KetchProcess(*common, "--uds", str(proxy_protocol_socket), "--proxy-protocol")
        )
        tcp_port = ketch_tcp.port()
        ketch_unix.wait_serving()
        ketch_pp.wait_serving()
        ports = {"tls_port": free_port(), "http_port": free_port(), "stream_port": free_port()}
        config = tmp / "nginx.conf"
        config.write_text(
            NGINX_CONFIG.format(
                stream_module=STREAM_MODULE,
                tmp=tmp,
                tcp_port=tcp_port,
                unix_socket=unix_socket,
                proxy_protocol_socket=proxy_protocol_socket,
                cert=certs.server_cert,
                key=certs.server_key,
                proxy_fields=NGINX_PROXY_FIELDS,
                **ports,
            )
        )
        log = tmp / "error.log"
        process = subprocess.Popen(
            [nginx, "-p", str(tmp), "-c", str(config), "-e", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for port in ports.values():
                wait_listening(port, process, log)
            yield Stack(certs=certs, ketch_tcp=ketch_tcp, **ports)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT)  # graceful
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        for ketch in (ketch_tcp, ketch_unix, ketch_pp):
            assert ketch.stop() == 0, ketch.stderr


SPOOFS = {"X-Forwarded-For": "6.6.6.6", "Forwarded": "for=7.7.7.7;proto=https;host=evil.test"}


def test_tcp_upstream_sees_client_scheme_and_host(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get(f"https://localhost:{stack.tls_port}/", headers=SPOOFS)
    assert response.status_code == 200
    report = response.json()
    assert report["client"] == [CLIENT_ADDRESS, 0]
    assert report["scheme"] == "https"
    assert report["host"] == f"localhost:{stack.tls_port}"
    assert report["server"] == ["localhost", stack.tls_port]
    assert report["x_forwarded_for"] == f"6.6.6.6, {CLIENT_ADDRESS}"


def test_unix_socket_upstream_sees_client_scheme_and_host(stack: Stack) -> None:
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(transport=transport, timeout=20) as client:
        response = client.get(f"http://localhost:{stack.http_port}/x", headers=SPOOFS)
    assert response.status_code == 200
    report = response.json()
    assert report["client"] == [CLIENT_ADDRESS, 0]
    assert report["scheme"] == "http"
    assert report["host"] == f"localhost:{stack.http_port}"
    assert report["server"] == ["localhost", stack.http_port]


def test_upstream_connections_are_kept_alive(stack: Stack) -> None:
    # /peer sends no X-Forwarded-For: the app sees nginx's end of the upstream connection.
    with stack.client() as client:
        reports = [client.get(f"https://localhost:{stack.tls_port}/peer").json() for _ in range(6)]
    peers = {tuple(report["client"]) for report in reports}
    assert len(peers) == 1, peers
    ((host, port),) = peers
    assert host == "127.0.0.1"
    assert port != 0
    # Proxied requests share the pool, and each is read on its own.
    with stack.client() as client:
        for n in range(3):
            headers = {"X-Forwarded-For": f"6.6.6.{n}"}
            report = client.get(f"https://localhost:{stack.tls_port}/", headers=headers).json()
            assert report["client"] == [CLIENT_ADDRESS, 0]


@async_test()
async def test_proxy_protocol_through_the_stream_module(stack: Stack) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", stack.stream_port, local_addr=(CLIENT_ADDRESS, 0)
    )
    async with RawClient(reader, writer) as client:
        sockname = client.sockname
        reports = []
        for _ in range(3):  # keep-alive: one client connection, one upstream connection
            response = await client.request("GET", "/", [("X-Forwarded-For", "6.6.6.6")])
            assert response.status == 200
            reports.append(json.loads(response.body))
    for report in reports:
        assert report["client"] == [CLIENT_ADDRESS, sockname[1]]
        assert report["server"] == ["127.0.0.1", stack.stream_port]
        assert report["scheme"] == "http"
        assert report["host"] == "test"


def test_large_upload_is_streamed_through_nginx(stack: Stack) -> None:
    block = hashlib.sha512(b"ketch").digest() * (1024 * 1024 // 64)  # 1 MiB, not all one byte
    digest = hashlib.sha256()
    for _ in range(UPLOAD_MIB):
        digest.update(block)

    def body() -> Iterator[bytes]:
        for _ in range(UPLOAD_MIB):
            yield block

    started = time.monotonic()
    with stack.client() as client:
        response = client.post(
            f"https://localhost:{stack.tls_port}/upload",
            content=body(),
            headers={"Content-Length": str(UPLOAD_MIB * len(block))},
        )
    assert response.status_code == 200
    assert response.json() == {"size": UPLOAD_MIB * len(block), "sha256": digest.hexdigest()}
    assert time.monotonic() - started < 20
    # Streamed, never held: the ketch process stayed far below the body's size.
    rss_kib = _rss_kib(stack.ketch_tcp.pid)
    if rss_kib is not None:
        assert rss_kib < 80 * 1024, rss_kib


def _rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # the peak resident set size
                return int(line.split()[1])
    return None


def test_missing_nginx_skips_or_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.NGINX_NAMES", ("no-such-nginx-binary",))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no nginx binary"):
        nginx_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no nginx binary"):
        nginx_or_skip()
