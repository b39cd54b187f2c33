"""The programmatic API: `Server` for embedding, `run` for scripts."""

from __future__ import annotations

import asyncio
from typing import Any

from .app_loading import front_door
from .logconfig import load_log_config
from .server import server as _server
from .server.config import Config

__all__ = ["Server", "run"]


class Server(_server.Server):
    """Serve an ASGI 3 (or 2) app, or a ``ketch.web`` application.

    Args:
        app: the application object.
        config: a full `Config`; or give settings as keyword arguments (``host=``, ``port=``, ...).

    Example::

        async with ketch.Server(app, port=0) as server:
            print(server.urls)          # bound addresses, port 0 resolved
            ...                          # serves until the block exits
    """

    def __init__(self, app: Any, config: Config | None = None, **settings: Any) -> None:
        config = config or Config(**settings)
        handler, lifespan = front_door(app, config)
        super().__init__(handler, config, lifespan=lifespan)
        self.app = app


def run(app: Any, **settings: Any) -> None:
    """Serve `app` until SIGINT/SIGTERM, then shut down gracefully.

    Settings are `Config` fields as keyword arguments: ``ketch.run(app, host="0.0.0.0", port=80)``.
    ``log_config`` is applied here (`Server` leaves logging to its embedder).
    """
    config = Config(**settings)
    if config.log_config:
        load_log_config(config.log_config)
    _server.install_loop(config.loop)
    asyncio.run(Server(app, config).serve())
