"""ketch's asyncio server: sockets, flow control, timeouts, shutdown (no ASGI in here)."""

from .config import Config
from .handler import ClientDisconnected, Exchange, Handler, Lifespan
from .server import Server, install_loop

__all__ = [
    "ClientDisconnected",
    "Config",
    "Exchange",
    "Handler",
    "Lifespan",
    "Server",
    "install_loop",
]
