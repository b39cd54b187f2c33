"""Listening sockets: port 0, IPv6, dual-stack, Unix sockets, inherited fds, systemd activation
and SO_REUSEPORT."""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import ketch
from tests.support import KetchProcess, RawClient, async_test, respond, serve
from tests.support.raw import ipv6_available

if TYPE_CHECKING:
    from pathlib import Path

needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="IPv6 loopback unavailable")


class Recorder:
    def __init__(self, name: str = "app") -> None:
        self.name = name
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        await respond(send, self.name.encode())


@async_test()
async def test_port_zero_binds_a_free_port_reported_by_port_addresses_and_urls() -> None:
    async with serve(Recorder(), port=0) as server:
        port = server.port
        assert port > 0
        assert server.addresses == [("127.0.0.1", port)]
        assert server.urls == [f"http://127.0.0.1:{port}"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(server.urls[0] + "/")).text == "app"


@async_test()
async def test_server_started_event_is_set_only_once_accepting() -> None:
    server = ketch.Server(Recorder(), port=0, access_log=False)
    assert not server.started.is_set()
    async with server:
        assert server.started.is_set()
        async with await RawClient.connect(server.port) as client:
            assert (await client.request()).status == 200


@async_test()
async def test_listener_is_closed_after_the_server_exits() -> None:
    async with serve(Recorder()) as server:
        port = server.port
    with pytest.raises(ConnectionRefusedError):
        await RawClient.connect(port)


@needs_ipv6
@async_test()
async def test_ipv6_loopback() -> None:
    app = Recorder()
    async with serve(app, host="::1") as server:
        port = server.port
        assert server.addresses[0][:2] == ("::1", port)
        assert server.urls == [f"http://[::1]:{server.port}"]
        async with await RawClient.connect(server.port, "::1") as client:
            assert (await client.request()).status == 200
        # IPv6-only: IPv4 loopback is not served.
        with pytest.raises(ConnectionRefusedError):
            await RawClient.connect(server.port, "127.0.0.1")
    assert app.scopes[0]["server"] == ("::1", port)
    assert app.scopes[0]["client"][0] == "::1"


@needs_ipv6
@async_test()
async def test_dual_stack_host_serves_ipv4_and_ipv6() -> None:
    app = Recorder()
    async with serve(app, host="::") as server:
        for host in ("127.0.0.1", "::1"):
            async with await RawClient.connect(server.port, host) as client:
                assert (await client.request()).status == 200
    assert len(app.scopes) == 2


@async_test()
async def test_unix_domain_socket_with_httpx(tmp_path: Path) -> None:
    path = str(tmp_path / "ketch.sock")
    app = Recorder()
    async with serve(app, uds=path) as server:
        assert server.addresses == [path]
        assert server.urls == [f"unix:{path}"]
        transport = httpx.AsyncHTTPTransport(uds=path)
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get("http://localhost/via-unix")
    assert response.text == "app"
    assert app.scopes[0]["path"] == "/via-unix"
    assert app.scopes[0]["client"] is None


@async_test()
async def test_unix_domain_socket_file_is_removed_on_shutdown(tmp_path: Path) -> None:
    path = tmp_path / "ketch.sock"
    async with serve(Recorder(), uds=str(path)):
        assert path.is_socket()
    assert not path.exists()


@async_test()
async def test_unix_domain_socket_replaces_a_stale_socket_file(tmp_path: Path) -> None:
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, as after a crash
    async with serve(Recorder(), uds=path), await RawClient.connect_unix(path) as client:
        assert (await client.request()).status == 200


@async_test()
async def test_unix_domain_socket_port_property_raises_without_tcp(tmp_path: Path) -> None:
    async with serve(Recorder(), uds=str(tmp_path / "s.sock")) as server:
        with pytest.raises(RuntimeError):
            server.port  # noqa: B018


@async_test()
async def test_inherited_listening_fd() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    fd = sock.detach()  # the server owns it from now on
    async with serve(Recorder(), fd=fd) as server:
        assert server.port == port
        async with await RawClient.connect(port) as client:
            assert (await client.request()).status == 200


@pytest.mark.skipif(sys.platform != "linux", reason="systemd socket activation is Linux-only")
def test_systemd_socket_activation_serves_the_passed_socket() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    # The wrapper plays systemd: the socket on fd 3, LISTEN_PID = the pid that execs ketch.
    wrapper = (
        "import os, sys\n"
        f"os.dup2({fd}, 3)\n"
        "os.environ['LISTEN_FDS'] = '1'\n"
        "os.environ['LISTEN_PID'] = str(os.getpid())\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    from tests.support.process import ketch_command

    argv = [sys.executable, "-c", wrapper, *ketch_command("tests.support.apps:describe")]
    try:
        with KetchProcess(argv=argv, pass_fds=(fd,)) as process:
            url = process.wait_serving()
            assert url == f"http://127.0.0.1:{port}"
            response = httpx.get(f"http://127.0.0.1:{port}/")
            scheme, pid, _ = response.text.split(" ", 2)
            assert (scheme, int(pid)) == ("http", process.pid)
            assert process.stop() == 0
    finally:
        listener.close()


@pytest.mark.skipif(sys.platform != "linux", reason="systemd socket activation is Linux-only")
def test_systemd_variables_for_another_pid_are_ignored() -> None:
    with KetchProcess(
        "tests.support.apps:hello", "--port", "0", env={"LISTEN_FDS": "1", "LISTEN_PID": "1"}
    ) as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "hello"
        assert process.stop() == 0


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
@async_test()
async def test_reuse_port_lets_two_servers_share_a_port() -> None:
    async with serve(Recorder("one"), reuse_port=True) as first:
        port = first.port
        async with serve(Recorder("two"), port=port, reuse_port=True) as second:
            assert second.port == port
            seen = set()
            for _ in range(40):
                async with await RawClient.connect(port) as client:
                    seen.add((await client.request()).body)
                if len(seen) == 2:
                    break
    assert seen <= {b"one", b"two"}
    assert seen  # the kernel spreads connections; both are usually seen


@async_test()
async def test_binding_a_busy_port_without_reuse_port_fails_with_a_clear_oserror() -> None:
    async with serve(Recorder()) as first:
        with pytest.raises(OSError, match=f"127.0.0.1:{first.port}.*in use"):
            async with serve(Recorder(), port=first.port):
                pass
