"""Finding out what kind of application we were given, and wrapping ASGI 2 apps."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .types import ASGIApp, Receive, Scope, Send

__all__ = ["as_asgi3", "is_asgi2"]


def is_asgi2(app: Any) -> bool:
    """ASGI 2 apps are called with the scope alone and return a coroutine-function instance."""
    if inspect.isclass(app):
        return not hasattr(app, "__await__")
    call = app
    if not (inspect.isfunction(app) or inspect.ismethod(app)) and callable(app):
        call = type(app).__call__
    return not asyncio.iscoroutinefunction(call) and not inspect.iscoroutinefunction(call)


def as_asgi3(app: Any, interface: str = "auto") -> ASGIApp:
    """Return `app` as an ASGI 3 callable (``interface`` is "auto", "asgi3" or "asgi2":
    "auto" tells ASGI 2 from 3)."""
    if interface == "asgi2" or (interface == "auto" and is_asgi2(app)):

        async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
            instance = app(scope)
            await instance(receive, send)

        return asgi3
    return app  # type: ignore[no-any-return]
