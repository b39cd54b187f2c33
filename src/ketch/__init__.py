"""ketch: a strict, fast HTTP/1.1 server for asyncio."""

from .errors import KetchError, LocalProtocolError, ProtocolError, RemoteProtocolError

__version__ = "0.1.0"

__all__ = ["KetchError", "LocalProtocolError", "ProtocolError", "RemoteProtocolError", "__version__"]
