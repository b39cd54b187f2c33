"""`Application`: routes, middlewares, lifecycle signals and state, aiohttp.web's shape.

An application is served by any of ketch's entry points (``ketch module:app``, ``ketch.run(app)``,
`web.run_app`, `web.AppRunner`): each asks it for its front door through
``__ketch_front_door__``, which returns the request handler (handler.py) and the start-up and
shutdown hooks below.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, Self, SupportsIndex, TypeVar, cast, overload

from .exceptions import HTTPMethodNotAllowed
from .routing import UrlDispatcher

if TYPE_CHECKING:
    from ..server.config import Config
    from ..server.handler import Handler
    from .request import Request
    from .response import StreamResponse
    from .routing import AbstractRoute, AbstractRouteDef, PrefixedSubAppResource

__all__ = [
    "AppKey",
    "Application",
    "CleanupContext",
    "Middleware",
    "Signal",
    "View",
    "middleware",
]

error_log = logging.getLogger("ketch.error")

T = TypeVar("T")
RequestHandler = Callable[["Request"], Awaitable["StreamResponse"]]
Middleware = Callable[["Request", RequestHandler], Awaitable["StreamResponse"]]
ErrorPage = Callable[["Request", BaseException], Awaitable["StreamResponse"]]


def middleware(f: Middleware) -> Middleware:
    """Mark a ``async def mw(request, handler)`` as a middleware (optional, as in aiohttp 3.x)."""
    f.__middleware_version__ = 1  # type: ignore[attr-defined]
    return f


class AppKey(Generic[T]):
    """A typed key for application state: ``KEY = web.AppKey("db", Database)``."""

    __slots__ = ("name", "t")

    def __init__(self, name: str, t: type[T] | None = None) -> None:
        self.name = name
        self.t = t

    def __repr__(self) -> str:
        kind = getattr(self.t, "__name__", "object")
        return f"<AppKey({self.name!r}, type={kind})>"


class Signal(list[Callable[..., Awaitable[Any]]]):
    """A list of async callbacks, sent in order; frozen (no more changes) once the app starts."""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self._owner = owner
        self.frozen = False

    def freeze(self) -> None:
        self.frozen = True

    def _check(self) -> None:
        if self.frozen:
            raise RuntimeError("cannot modify a frozen signal (the application has started)")

    def append(self, callback: Callable[..., Awaitable[Any]]) -> None:
        self._check()
        super().append(callback)

    def extend(self, callbacks: Iterable[Callable[..., Awaitable[Any]]]) -> None:
        self._check()
        super().extend(callbacks)

    def insert(self, index: Any, callback: Callable[..., Awaitable[Any]]) -> None:
        self._check()
        super().insert(index, callback)

    def remove(self, callback: Callable[..., Awaitable[Any]]) -> None:
        self._check()
        super().remove(callback)

    # (mypy compares an __iadd__ override with list.__add__'s overloads; typeshed's is the same)
    def __iadd__(  # type: ignore[override, misc]
        self, callbacks: Iterable[Callable[..., Awaitable[Any]]]
    ) -> Self:
        self._check()
        return super().__iadd__(callbacks)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check()
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:
        self._check()
        super().__delitem__(index)

    def pop(self, index: SupportsIndex = -1) -> Callable[..., Awaitable[Any]]:
        self._check()
        return super().pop(index)

    def clear(self) -> None:
        self._check()
        super().clear()

    async def send(self, *args: Any) -> None:
        """Await every callback with `args`, in order."""
        for callback in self:
            await callback(*args)


class CleanupContext(list[Callable[["Application"], AsyncIterator[None]]]):
    """Async generators run to their ``yield`` at start-up and past it at clean-up."""

    def __init__(self) -> None:
        super().__init__()
        self._running: list[AsyncIterator[None]] = []

    async def _on_startup(self, app: Application) -> None:
        for factory in self:
            iterator = factory(app)
            await anext(iterator)
            self._running.append(iterator)

    async def _on_cleanup(self, app: Application) -> None:
        errors: list[Exception] = []
        for iterator in reversed(self._running):
            try:
                await anext(iterator)
            except StopAsyncIteration:
                continue
            except Exception as exc:
                errors.append(exc)
            else:
                errors.append(RuntimeError(f"{iterator!r} has more than one 'yield'"))
        self._running.clear()
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("errors while cleaning up the application", errors)


class Application(MutableMapping[str | AppKey[Any], Any]):
    """A web application: ``app = web.Application(); app.add_routes([web.get("/", handle)])``.

    Args:
        middlewares: ``async def mw(request, handler)`` callables, outermost first.
        client_max_size: the largest body `Request.read`/`post` accept (413 above; 0: no limit).
        debug: kept for aiohttp compatibility.

    The application is also a mapping for shared state (``app["db"]`` or ``app[DB_KEY]``).
    Set ``app.error_pages[status]`` to an ``async def page(request, exc)`` returning a response
    to replace the plain-text answer for that status (500 covers unhandled exceptions).
    """

    def __init__(
        self,
        *,
        middlewares: Iterable[Middleware] = (),
        client_max_size: int = 1024**2,
        debug: bool = False,
    ) -> None:
        self.router = UrlDispatcher()
        self._middlewares: list[Middleware] = list(middlewares)
        self._client_max_size = client_max_size
        self.debug = debug
        self._state: dict[Any, Any] = {}
        self._frozen = False
        self._pre_frozen = False
        self._subapps: list[Application] = []
        self.on_response_prepare: Signal = Signal(self)
        self.on_startup: Signal = Signal(self)
        self.on_shutdown: Signal = Signal(self)
        self.on_cleanup: Signal = Signal(self)
        self._cleanup_ctx = CleanupContext()
        self.on_startup.append(self._cleanup_ctx._on_startup)
        self.on_cleanup.append(self._cleanup_ctx._on_cleanup)
        self.error_pages: dict[int, ErrorPage] = {}

    # ------------------------------------------------------------ state

    @overload
    def __getitem__(self, key: AppKey[T]) -> T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: str | AppKey[Any]) -> Any:
        return self._state[key]

    def __setitem__(self, key: str | AppKey[Any], value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str | AppKey[Any]) -> None:
        del self._state[key]

    def __len__(self) -> int:
        return len(self._state)

    def __iter__(self) -> Iterator[str | AppKey[Any]]:
        return iter(self._state)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<Application 0x{id(self):x}>"

    # ------------------------------------------------------------ configuration

    @property
    def middlewares(self) -> list[Middleware]:
        return self._middlewares

    @property
    def cleanup_ctx(self) -> CleanupContext:
        return self._cleanup_ctx

    @property
    def frozen(self) -> bool:
        return self._frozen

    def add_routes(self, routes: Iterable[AbstractRouteDef]) -> list[AbstractRoute]:
        """Register route definitions (``web.get(...)``, a `RouteTableDef`, ...)."""
        return self.router.add_routes(routes)

    def add_subapp(self, prefix: str, subapp: Application) -> PrefixedSubAppResource:
        """Serve `subapp` under `prefix`: its routes, middlewares and signals join this app's."""
        if self._frozen:
            raise RuntimeError("cannot add a sub-application to a started application")
        if subapp._pre_frozen:
            raise RuntimeError("the sub-application is already mounted somewhere")
        if subapp is self:
            raise ValueError("an application cannot be its own sub-application")
        resource = self.router.add_subapp_resource(prefix, subapp)
        subapp._pre_frozen = True  # mounted once: its routes now carry this prefix
        self._subapps.append(subapp)
        self.on_startup.append(subapp._startup_hook)
        self.on_shutdown.append(subapp._shutdown_hook)
        self.on_cleanup.append(subapp._cleanup_hook)
        return resource

    def freeze(self) -> None:
        """Fix routes, middlewares and signals: done when the application starts."""
        if self._frozen:
            return
        self._pre_frozen = True
        self._frozen = True
        self.router.freeze()
        for signal in (
            self.on_response_prepare,
            self.on_startup,
            self.on_shutdown,
            self.on_cleanup,
        ):
            signal.freeze()
        for subapp in self._subapps:
            subapp.freeze()

    # ------------------------------------------------------------ lifecycle

    async def startup(self) -> None:
        """Freeze the application and run `on_startup` (cleanup contexts first)."""
        self.freeze()
        await self.on_startup.send(self)

    async def shutdown(self) -> None:
        """Run `on_shutdown`."""
        await self.on_shutdown.send(self)

    async def cleanup(self) -> None:
        """Run `on_cleanup` (cleanup contexts first)."""
        await self.on_cleanup.send(self)

    async def _startup_hook(self, parent: Application) -> None:
        await self.on_startup.send(self)

    async def _shutdown_hook(self, parent: Application) -> None:
        await self.on_shutdown.send(self)

    async def _cleanup_hook(self, parent: Application) -> None:
        await self.on_cleanup.send(self)

    def __ketch_front_door__(self, config: Config) -> tuple[Handler, AppLifespan]:
        """The request handler and lifespan hooks that serve this application."""
        from .handler import WebHandler

        return WebHandler(self), AppLifespan(self)

    def __call__(self) -> Application:
        """aiohttp's ``gunicorn`` entry point calls the app; return it."""
        return self


App = Application


class AppLifespan:
    """Start-up and shutdown of an application for the server (`server.handler.Lifespan`)."""

    def __init__(self, app: Application) -> None:
        self.app = app

    async def startup(self) -> None:
        try:
            await self.app.startup()
        except BaseException:
            # As aiohttp's runner does: clean up what started (cleanup contexts entered so far,
            # then on_cleanup), and report the start-up error.
            try:
                await self.app.cleanup()
            except Exception:
                error_log.exception("Exception while cleaning up after a failed start-up")
            raise

    async def shutdown(self) -> None:
        try:
            await self.app.shutdown()
        finally:
            await self.app.cleanup()


class View:
    """A class-based handler: a method per HTTP verb (``async def get(self)``).

    Register it with ``web.view(path, MyView)`` or ``app.router.add_view``.  A verb without a
    method gets 405 with the ``Allow`` header.
    """

    _METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")

    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def request(self) -> Request:
        return self._request

    def __await__(self) -> Any:
        return self._dispatch().__await__()

    async def _dispatch(self) -> StreamResponse:
        method = self._request.method
        handler = getattr(self, method.lower(), None) if method in self._METHODS else None
        if handler is None:
            allowed = {m for m in self._METHODS if hasattr(self, m.lower())}
            raise HTTPMethodNotAllowed(method, allowed)
        return cast("StreamResponse", await handler())
