"""ketch's HTTP/1.1 core: sans-IO, standard library only.

Bytes go in through `Connection.receive_data` and come out as events from `Connection.next_event`;
response events go in through `Connection.send` and come out as bytes.  Nothing here touches a
socket, a clock, a logger or an event loop (``tests/test_architecture.py`` checks it), so every rule
is tested with byte strings alone.
"""

from .connection import Connection
from .errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from .events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Headers,
    InformationalResponse,
    Request,
    Response,
    Sentinel,
)
from .headers import lowercase_names
from .limits import Limits
from .readers import RequestReader
from .state import State
from .target import split_target
from .writers import write_request

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "Connection",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Headers",
    "InformationalResponse",
    "Limits",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "Request",
    "RequestReader",
    "Response",
    "Sentinel",
    "State",
    "lowercase_names",
    "split_target",
    "write_request",
]
