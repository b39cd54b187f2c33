"""Serving an application from your own code: `AppRunner` and its sites, or `run_app`.

A runner owns the application's lifecycle (``on_startup`` at `AppRunner.setup`, ``on_shutdown``
and ``on_cleanup`` at `AppRunner.cleanup`); each site is one ketch server listening somewhere,
all serving the same application.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..server.config import Config
from ..server.server import Server, install_loop

if TYPE_CHECKING:
    import socket
    import ssl

    from ..server.handler import Handler
    from .app import Application

__all__ = ["AppRunner", "BaseSite", "SockSite", "TCPSite", "UnixSite", "run_app"]


class AppRunner:
    """Run an application's lifecycle for the sites that serve it.

    Args:
        app: the application.
        access_log: log a line per request on ``ketch.access`` (off unless asked, as a library).
        settings: further `ketch.Config` fields every site uses (``timeout_keep_alive=...``).
    """

    def __init__(self, app: Application, *, access_log: bool = False, **settings: Any) -> None:
        self.app = app
        self._settings = {"access_log": access_log, **settings}
        self._handler: Handler | None = None
        self._sites: list[BaseSite] = []

    @property
    def sites(self) -> list[BaseSite]:
        return list(self._sites)

    @property
    def addresses(self) -> list[Any]:
        """Every bound address of every started site."""
        return [address for site in self._sites for address in site.addresses]

    async def setup(self) -> None:
        """Start the application (``on_startup``)."""
        if self._handler is not None:
            return
        handler, lifespan = self.app.__ketch_front_door__(Config())
        await lifespan.startup()
        self._handler = handler

    async def shutdown(self) -> None:
        """Stop every site (in-flight requests finish within their grace period)."""
        sites, self._sites = self._sites, []
        await asyncio.gather(*(site.stop() for site in sites))

    async def cleanup(self) -> None:
        """Stop the sites, then run ``on_shutdown`` and ``on_cleanup``."""
        await self.shutdown()
        if self._handler is None:
            return
        self._handler = None
        try:
            await self.app.shutdown()
        finally:
            await self.app.cleanup()

    def _config(self, **settings: Any) -> Config:
        return Config(**{**self._settings, **settings})


class BaseSite:
    """One listener serving a runner's application."""

    def __init__(
        self,
        runner: AppRunner,
        *,
        shutdown_timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 128,
    ) -> None:
        self._runner = runner
        self._settings: dict[str, Any] = {
            "timeout_graceful_shutdown": shutdown_timeout,
            "ssl_context": ssl_context,
            "backlog": backlog,
        }
        self._server: Server | None = None

    @property
    def addresses(self) -> list[Any]:
        return self._server.addresses if self._server is not None else []

    @property
    def name(self) -> str:
        """The site's URL (its first bound address)."""
        if self._server is not None and self._server.urls:
            return self._server.urls[0]
        return "<not started>"

    async def start(self) -> None:
        """Bind and start accepting connections."""
        handler = self._runner._handler
        if handler is None:
            raise RuntimeError("call runner.setup() before site.start()")
        self._server = Server(handler, self._runner._config(**self._settings))
        await self._server.start()
        self._runner._sites.append(self)

    async def stop(self) -> None:
        """Stop accepting and drain this site's connections."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()
        if self in self._runner._sites:
            self._runner._sites.remove(self)


class TCPSite(BaseSite):
    """Listen on a TCP host and port (``port=0`` picks a free one; see `addresses`)."""

    def __init__(
        self,
        runner: AppRunner,
        host: str | None = None,
        port: int | None = None,
        *,
        reuse_port: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(runner, **kwargs)
        self._settings.update(
            host=host or "0.0.0.0",
            port=port if port is not None else 8443 if kwargs.get("ssl_context") else 8080,
            reuse_port=bool(reuse_port),
        )


class UnixSite(BaseSite):
    """Listen on a Unix domain socket path."""

    def __init__(self, runner: AppRunner, path: str | os.PathLike[str], **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self._settings["uds"] = os.fspath(path)


class SockSite(BaseSite):
    """Listen on a socket you created and bound (it stays yours: ketch serves a duplicate)."""

    def __init__(self, runner: AppRunner, sock: socket.socket, **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self._sock = sock

    async def start(self) -> None:
        self._settings["fd"] = os.dup(self._sock.fileno())
        await super().start()


def run_app(
    app: Application | Awaitable[Application] | Callable[[], Awaitable[Application]],
    *,
    host: str | None = None,
    port: int | None = None,
    path: str | None = None,
    sock: socket.socket | None = None,
    shutdown_timeout: float = 60.0,
    ssl_context: ssl.SSLContext | None = None,
    print: Callable[..., None] | None = print,
    backlog: int = 128,
    access_log: bool = True,
    handle_signals: bool = True,
    reuse_port: bool | None = None,
    loop: str = "auto",
    **settings: Any,
) -> None:
    """Serve `app` until SIGINT or SIGTERM, then shut down gracefully (aiohttp's ``run_app``).

    `app` may also be a coroutine (or coroutine function) that returns the application.
    Further keyword arguments are `ketch.Config` fields.
    """
    install_loop(loop)
    asyncio.run(
        _run_app(
            app,
            host=host,
            port=port,
            path=path,
            sock=sock,
            print_=print,
            handle_signals=handle_signals,
            settings={
                "timeout_graceful_shutdown": shutdown_timeout,
                "ssl_context": ssl_context,
                "backlog": backlog,
                "access_log": access_log,
                "reuse_port": bool(reuse_port),
                **settings,
            },
        )
    )


async def _run_app(
    app: Any,
    *,
    host: str | None,
    port: int | None,
    path: str | None,
    sock: socket.socket | None,
    print_: Callable[..., None] | None,
    handle_signals: bool,
    settings: dict[str, Any],
) -> None:
    if callable(app) and not hasattr(app, "__ketch_front_door__"):
        app = app()
    if asyncio.iscoroutine(app) or isinstance(app, Awaitable):
        app = await app
    if sock is not None:
        settings["fd"] = os.dup(sock.fileno())
    elif path is not None:
        settings["uds"] = path
    else:
        settings["host"] = host or "0.0.0.0"
        settings["port"] = 8080 if port is None else port
    from ..api import Server as AppServer

    server = AppServer(app, Config(**settings))
    serving = asyncio.ensure_future(server.serve(install_signal_handlers=handle_signals))
    started = asyncio.ensure_future(server.started.wait())
    await asyncio.wait((serving, started), return_when=asyncio.FIRST_COMPLETED)
    if started.done() and print_ is not None:
        for url in server.urls:
            print_(f"======== Running on {url} ========")
        print_("(Press CTRL+C to quit)")
    started.cancel()
    await serving
