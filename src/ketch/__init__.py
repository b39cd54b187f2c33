"""ketch: a strict, fast HTTP/1.1 server for asyncio."""

__version__ = "0.1.0"

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
