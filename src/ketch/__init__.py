"""ketch: a strict, fast HTTP/1.1 server for asyncio.

The names below are imported on first use, so that ``import ketch.http11`` (the sans-IO core) does
not load asyncio, sockets or the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Server, run
    from .errors import KetchError, LocalProtocolError, ProtocolError, RemoteProtocolError
    from .server.config import Config

__all__ = [
    "Config",
    "KetchError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "Server",
    "__version__",
    "run",
]

_WHERE = {
    "Config": ".server.config",
    "KetchError": ".errors",
    "LocalProtocolError": ".errors",
    "ProtocolError": ".errors",
    "RemoteProtocolError": ".errors",
    "Server": ".api",
    "run": ".api",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ketch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
