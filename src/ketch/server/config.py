"""`Config`: every server setting, defined once.

The CLI options, the ``KETCH_*`` environment variables and the settings reference are all generated
from these fields, so a setting has one name, one default and one help text.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ..http11 import Limits
from .proxy import TrustedProxies

__all__ = ["Config", "setting_fields"]


def _setting(
    default: Any, help: str, *, flag: str | None = None, metavar: str | None = None
) -> Any:
    return field(default=default, metadata={"help": help, "flag": flag, "metavar": metavar})


@dataclass(frozen=True, kw_only=True)
class Config:
    """Server settings.  Defaults are what ``ketch`` uses with no options."""

    host: str = _setting("127.0.0.1", "Bind to this address (use '::' for IPv4 and IPv6).")
    port: int = _setting(8000, "Bind to this TCP port (0 picks a free one).")
    uds: str | None = _setting(None, "Bind to this Unix domain socket path.", metavar="PATH")
    fd: int | None = _setting(None, "Serve on this inherited listening socket file descriptor.")
    backlog: int = _setting(2048, "Listen backlog (pending connections the kernel queues).")
    reuse_port: bool = _setting(False, "Set SO_REUSEPORT on the listening socket.")
    loop: Literal["auto", "asyncio", "uvloop"] = _setting(
        "auto", "Event loop: uvloop when installed (auto), or force one."
    )
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = _setting(
        "info", "Log level of the ketch.error logger."
    )
    access_log: bool = _setting(True, "Log one line per request on the ketch.access logger.")
    access_log_format: Literal["common", "combined", "json"] = _setting(
        "common", "Access log line format."
    )
    root_path: str = _setting("", "ASGI root_path: the prefix the app is mounted under.")
    lifespan: Literal["auto", "on", "off"] = _setting(
        "auto", "ASGI lifespan: run it, require it, or skip it."
    )
    interface: Literal["auto", "asgi", "asgi3", "asgi2", "native"] = _setting(
        "auto",
        "Application interface: auto detects a ketch.web application or ASGI 3 or 2; asgi "
        "detects ASGI 3 or 2; or force one.",
    )
    factory: bool = _setting(False, "Treat the app as a factory: call it to get the app.")
    app_dir: str = _setting(".", "Directory prepended to sys.path to import the app from.")
    server_header: bool = _setting(True, "Send 'server: ketch'.")
    date_header: bool = _setting(True, "Send a Date header.")
    timeout_keep_alive: float = _setting(
        5.0, "Seconds an idle keep-alive connection is kept before it is closed."
    )
    timeout_header: float = _setting(
        10.0, "Seconds from the first byte of a request head until the whole head must be in (408)."
    )
    timeout_body: float = _setting(
        30.0, "Seconds the server waits for the next request body bytes the app asked for (408)."
    )
    timeout_graceful_shutdown: float = _setting(
        30.0, "Seconds in-flight requests get to finish on shutdown before they are cut."
    )
    limit_request_line: int = _setting(8190, "Maximum request line length in bytes (414).")
    limit_header_bytes: int = _setting(32768, "Maximum request head size in bytes (431).")
    limit_header_count: int = _setting(100, "Maximum number of request header fields (431).")
    limit_body: int | None = _setting(None, "Maximum request body size in bytes (413).")
    limit_concurrency: int | None = _setting(
        None, "Maximum open connections; further requests are answered 503 and closed."
    )
    root: str = _setting(".", "With no app: the directory whose files are served.", metavar="DIR")
    follow_symlinks: bool = _setting(
        False, "With no app: serve symbolic links that lead out of the root directory."
    )
    static_cache_control: str | None = _setting(
        None,
        "With no app: the Cache-Control header of every file (e.g. 'max-age=3600').",
        metavar="VALUE",
    )
    workers: int | None = _setting(
        None, "Worker processes (default: $WEB_CONCURRENCY, else 1: no supervisor)."
    )
    limit_max_requests: int | None = _setting(
        None,
        "Replace a worker after it served this many requests, plus jitter (with one process: "
        "stop the server, for a process manager to restart).",
    )
    limit_max_requests_jitter: int | None = _setting(
        None, "Random extra requests added to --limit-max-requests per worker (default: 10 %)."
    )
    max_worker_memory: int | None = _setting(
        None, "Restart a worker whose resident memory exceeds this many MiB.", metavar="MIB"
    )
    timeout_worker_start: float = _setting(
        60.0, "Seconds a worker may take to start (import the app, run lifespan startup)."
    )
    reload: bool = _setting(False, "Restart the server when source files change (development).")
    reload_dirs: tuple[str, ...] = _setting(
        (),
        "Directory to watch with --reload (repeatable; default: the app directory).",
        flag="--reload-dir",
        metavar="DIR",
    )
    reload_include: tuple[str, ...] = _setting(
        (),
        "Glob of more files whose changes reload (repeatable; *.py always do).",
        metavar="GLOB",
    )
    reload_exclude: tuple[str, ...] = _setting(
        (),
        "Glob of more files or directories whose changes never reload (repeatable; .*, "
        "__pycache__, *.py[cod], venv, node_modules and *~ never do).",
        metavar="GLOB",
    )
    proxy_headers: bool = _setting(
        True,
        "Take the client address, scheme and host from X-Forwarded-For/-Proto/-Host/-Port (or, "
        "when none is sent, Forwarded) on requests from trusted peers (--forwarded-allow-ips).",
    )
    forwarded_allow_ips: str = _setting(
        "127.0.0.1,::1",
        "Comma-separated addresses and CIDR networks of the trusted proxies whose proxy headers "
        "and PROXY protocol headers are believed ('*': any).  Unix socket peers are always "
        "trusted.",
        metavar="IPS",
    )
    proxy_protocol: bool = _setting(
        False,
        "Require a PROXY protocol v1 or v2 header on every connection; connections from "
        "untrusted peers, or with a bad or late header, are closed.",
    )
    health_path: str | None = _setting(
        None,
        "Answer GET/HEAD on this path with 200 while serving and 503 while draining (for load "
        "balancers), before the app sees it.",
        metavar="PATH",
    )
    metrics_bind: str | None = _setting(
        None,
        "Serve Prometheus metrics at http://HOST:PORT/metrics on this separate address.",
        metavar="HOST:PORT",
    )
    log_config: str | None = _setting(
        None,
        "Logging configuration file: dictConfig JSON or YAML, or fileConfig INI.",
        metavar="PATH",
    )
    self_signed: bool = _setting(
        False, "Serve HTTPS with a certificate for localhost made on the fly (development)."
    )
    ws_max_size: int = _setting(
        16 * 1024 * 1024, "Maximum WebSocket message size in bytes, after inflating (close 1009)."
    )
    ws_max_frame_size: int | None = _setting(
        None, "Maximum WebSocket frame size in bytes (default: the message size)."
    )
    ws_ping_interval: float | None = _setting(
        20.0, "Seconds of WebSocket silence before the server pings (0: never)."
    )
    ws_ping_timeout: float | None = _setting(
        20.0, "Seconds a WebSocket ping may go unanswered before closing (0: forever)."
    )
    ws_per_message_deflate: bool = _setting(
        True, "Accept the WebSocket permessage-deflate extension when a client offers it."
    )
    ssl_certfile: str | None = _setting(None, "TLS certificate chain file (PEM).", metavar="PATH")
    ssl_keyfile: str | None = _setting(None, "TLS private key file (PEM).", metavar="PATH")
    ssl_keyfile_password: str | None = _setting(None, "Password of the TLS private key.")
    ssl_ca_certs: str | None = _setting(
        None, "CA certificates to verify client certificates with.", metavar="PATH"
    )
    ssl_cert_reqs: Literal["none", "optional", "required"] = _setting(
        "none", "Client certificates: not asked for, verified if sent, or required."
    )
    ssl_ciphers: str | None = _setting(None, "OpenSSL cipher list for TLS 1.2 and below.")
    ssl_context: ssl.SSLContext | None = field(default=None, metadata={"cli": False})

    def __post_init__(self) -> None:
        if self.self_signed and (self.ssl_certfile is not None or self.ssl_context is not None):
            raise ValueError("--self-signed and --ssl-certfile (or ssl_context) exclude each other")
        if self.health_path is not None and not self.health_path.startswith("/"):
            raise ValueError(f"--health-path must start with '/', got {self.health_path!r}")
        if self.metrics_bind is not None:
            from .metrics import parse_bind

            parse_bind(self.metrics_bind)
        TrustedProxies(self.forwarded_allow_ips)  # raises ValueError for a bad entry

    @property
    def limits(self) -> Limits:
        """The HTTP/1.1 core's limits."""
        return Limits(
            max_request_line=self.limit_request_line,
            max_header_bytes=self.limit_header_bytes,
            max_header_count=self.limit_header_count,
            max_body_size=self.limit_body,
        )

    @property
    def is_ssl(self) -> bool:
        """Whether connections use TLS."""
        return self.ssl_context is not None or self.ssl_certfile is not None or self.self_signed

    def make_ssl_context(self) -> ssl.SSLContext | None:
        """Build the server TLS context from the ``ssl_*`` settings (ALPN: http/1.1)."""
        if self.ssl_context is not None:
            return self.ssl_context
        if self.ssl_certfile is None and not self.self_signed:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if self.self_signed:
            # Loaded at once, so the files can go at once (the ketch command instead makes one
            # certificate up front, shared by its workers, and logs its fingerprint).
            from .devcert import make_dev_certificate

            cert = make_dev_certificate()
            try:
                context.load_cert_chain(cert.certfile, cert.keyfile)
            finally:
                cert.remove()
        else:
            assert self.ssl_certfile is not None
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile, self.ssl_keyfile_password)
        if self.ssl_ca_certs:
            context.load_verify_locations(self.ssl_ca_certs)
        context.verify_mode = {
            "none": ssl.CERT_NONE,
            "optional": ssl.CERT_OPTIONAL,
            "required": ssl.CERT_REQUIRED,
        }[self.ssl_cert_reqs]
        if self.ssl_ciphers:
            context.set_ciphers(self.ssl_ciphers)
        context.set_alpn_protocols(["http/1.1"])
        return context


def setting_fields() -> list[Any]:
    """The dataclass fields that are user settings (CLI flags, environment variables)."""
    return [f for f in fields(Config) if f.metadata.get("cli", True)]
