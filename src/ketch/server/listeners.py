"""Listening sockets: TCP (IPv4, IPv6, dual-stack), Unix sockets, inherited descriptors and
systemd socket activation (``LISTEN_FDS``)."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config

__all__ = ["SD_LISTEN_FDS_START", "bind_sockets", "describe", "systemd_sockets"]

SD_LISTEN_FDS_START = 3


class ListenError(OSError):
    """A listening socket could not be created; the message says which and why."""

    def __init__(self, errno: int | None, message: str) -> None:
        super().__init__(message)
        self.errno = errno

    def __str__(self) -> str:
        return str(self.args[0])


def systemd_sockets() -> list[socket.socket]:
    """Sockets passed by systemd socket activation, if they are meant for this process."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return []
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # not for our children
    return [
        socket.socket(fileno=fd) for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count)
    ]


def bind_sockets(config: Config) -> list[socket.socket]:
    """Create, bind and listen the sockets `config` asks for.

    Raises:
        ListenError: with a one-line reason (address in use, permission denied, ...).
    """
    if config.fd is not None:
        sock = socket.socket(fileno=config.fd)
        sock.setblocking(False)
        return [sock]
    inherited = systemd_sockets()
    if inherited:
        for sock in inherited:
            sock.setblocking(False)
        return inherited
    if config.uds is not None:
        return [_bind_unix(config.uds, config.backlog)]
    return _bind_tcp(config.host, config.port, config.backlog, config.reuse_port)


def _bind_unix(path: str, backlog: int) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)  # a stale socket from a previous run
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o666)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(exc.errno, f"cannot listen on unix:{path}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


def _bind_tcp(host: str, port: int, backlog: int, reuse_port: bool) -> list[socket.socket]:
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenError(0, f"cannot resolve {host!r}: {exc.strerror}") from exc
    seen = set()
    sockets: list[socket.socket] = []
    for family, kind, proto, _, address in infos:
        if (family, address[0]) in seen:
            continue
        seen.add((family, address[0]))
        if port == 0 and sockets:
            # Bind every address to the port the first one got.
            address = (address[0], sockets[0].getsockname()[1], *address[2:])
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                # '::' serves IPv4 too (dual-stack); a specific IPv6 address only IPv6.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host == "::" else 1)
            sock.bind(address)
            sock.listen(backlog)
        except OSError as exc:
            sock.close()
            for other in sockets:
                other.close()
            host_text = f"[{address[0]}]" if family == socket.AF_INET6 else str(address[0])
            where = f"{host_text}:{address[1]!s}"
            raise ListenError(exc.errno, f"cannot listen on {where}: {exc.strerror}") from exc
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def describe(family: int, address: Any, scheme: str) -> str:
    """A URL-ish description of a listening socket's address, for the start-up banner."""
    if family == socket.AF_UNIX:
        return f"unix:{address}"
    host, port = address[0], address[1]
    if family == socket.AF_INET6:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"
