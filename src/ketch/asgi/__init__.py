"""ASGI 3 front door: ``http`` and ``lifespan`` scopes over ketch's server."""

from .app import as_asgi3, is_asgi2
from .http import ASGIHandler
from .lifespan import Lifespan, LifespanFailure
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ASGIApp",
    "ASGIHandler",
    "Lifespan",
    "LifespanFailure",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "as_asgi3",
    "is_asgi2",
]
