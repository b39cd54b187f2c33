"""The interface between the server and its front doors (ASGI, the native API, static files).

The server owns framing, keep-alive, limits, timeouts, error answers and access logging.  A front
door is a `Handler`: a callable that gets one `Exchange` per request and drives it to a response.
An `Exchange` is the request head, a body reader and a response writer in one object, so the native
API reaches the connection without building ASGI message dicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from ..http11 import Headers, Request
    from .config import Config
    from .protocol import HTTPProtocol

U = TypeVar("U", bound="Upgraded")

__all__ = ["ClientDisconnected", "Exchange", "Handler", "Lifespan", "Upgraded"]


class ClientDisconnected(ConnectionResetError):
    """The client went away: reading or writing is no longer possible.

    An `OSError` subclass, as the ASGI spec (2.4) asks of ``send`` on a closed connection, and a
    `ConnectionResetError`, which is what aiohttp code catches.
    """


class Exchange(Protocol):
    """One request and its response, as a front door sees it.

    Attributes:
        request: the request head (bytes, as received).
        client: the peer's ``(host, port)``, or ``None`` (Unix sockets).
        server: the local ``(host, port)``, or ``None``.
        scheme: ``"http"`` or ``"https"``.
        response_started: a response head has been handed over (`start` or `respond`).
        response_complete: the whole response has been written.
        disconnected: the client closed the connection.
    """

    request: Request
    client: tuple[str, int] | None
    server: tuple[str, int] | None
    scheme: str
    response_started: bool
    response_complete: bool
    disconnected: bool

    async def read(self) -> bytes:
        """Return the next piece of the request body, ``b""`` once it is complete.

        Sends ``100 Continue`` first if the client asked for it.  Waits (and lets the connection
        apply backpressure) while no body bytes are buffered.

        Raises:
            ClientDisconnected: the client went away before the body was complete.
        """
        ...

    @property
    def body_complete(self) -> bool:
        """Every byte of the request body has been returned by `read`."""
        ...

    async def wait_disconnected(self) -> None:
        """Return once the client has gone away (for ASGI's ``http.disconnect``)."""
        ...

    def start(self, status: int, headers: Headers, reason: bytes = b"") -> None:
        """Record the response head.  It is written with the first body bytes (one write).

        Raises:
            RuntimeError: a response was already started.
        """
        ...

    async def write(self, data: bytes, *, end: bool = False) -> None:
        """Write response content after `start`; ``end=True`` completes the response.

        Waits while the client is not reading (write backpressure).

        Raises:
            ClientDisconnected: the client went away.
            LocalProtocolError: invalid head or content (more than Content-Length, ...).
        """
        ...

    def finish(self, data: bytes = b"") -> None:
        """Write the last content after `start` and complete the response, without waiting.

        The same as ``await write(data, end=True)``, minus a coroutine: completing a response
        never waits for the client (the transport buffers the last bytes).

        Raises:
            ClientDisconnected: the client went away.
            RuntimeError: no response was started, or it is already complete.
        """
        ...

    async def end(self, trailers: Headers | None = None) -> None:
        """Complete the response, with trailers if the body is chunked."""
        ...

    def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Write a whole response in one write (Content-Length set from `body`).

        Raises:
            RuntimeError: a response was already started.
            ClientDisconnected: the client went away.
        """
        ...

    def informational(self, status: int, headers: Headers) -> None:
        """Write a 1xx response (103 Early Hints) before the final one."""
        ...

    async def sendfile(self, file: Any, offset: int, count: int) -> None:
        """Write `count` bytes of an open binary file from `offset` as response content.

        Uses ``loop.sendfile`` (zero copy) where the transport allows, plain writes otherwise.
        """
        ...

    @property
    def config(self) -> Config:
        """The server's settings."""
        ...

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The connection's transport information (``asyncio.BaseTransport.get_extra_info``):
        ``"peername"``, ``"sockname"``, and on TLS ``"ssl_object"``, ``"peercert"`` (the
        verified client certificate as a dict), ``"cipher"``; `default` when not available."""
        ...

    @property
    def switch_requested(self) -> bool:
        """The request asks to switch protocols (``Connection: upgrade`` with ``Upgrade``)."""
        ...

    def switch_protocol(self, headers: Headers, make: Callable[[HTTPProtocol], U]) -> U:
        """Answer ``101 Switching Protocols`` and hand the connection to ``make(connection)``.

        The bytes the client sent after the request are fed to the new protocol at once.

        Raises:
            LocalProtocolError: the request did not ask to switch, or was not read to its end.
            RuntimeError: a response was already started.
            ClientDisconnected: the client went away.
        """
        ...


class Upgraded(Protocol):
    """The protocol a connection carries after ``101 Switching Protocols`` (a WebSocket).

    The connection hands it every byte and event from then on; it writes through the connection
    (`HTTPProtocol.write`, `drain`, `close`, `abort`).
    """

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> None: ...

    def connection_lost(self) -> None: ...

    def check_timeouts(self, now: float) -> None:
        """Called by the server's sweeper every tick, with the loop's time."""
        ...

    def writing_resumed(self) -> None:
        """The transport's write buffer went below its low-water mark."""
        ...

    def going_away(self) -> None:
        """The server is shutting down gracefully."""
        ...

    def handler_done(self, failed: bool) -> None:
        """The handler that switched returned (or raised, `failed`)."""
        ...


class Handler(Protocol):
    """A front door: called once per request with its exchange."""

    def __call__(self, exchange: Exchange) -> Coroutine[Any, Any, None]: ...


class Lifespan(Protocol):
    """Optional start-up and shutdown hooks of a front door (ASGI lifespan, ``on_startup``)."""

    async def startup(self) -> None:
        """Run before the server accepts connections; raising aborts the start."""
        ...

    async def shutdown(self) -> None:
        """Run after the last connection closed."""
        ...
