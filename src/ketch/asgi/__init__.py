"""ASGI 3 front door: ``http`` and ``lifespan`` scopes over ketch's server."""

from .app import as_asgi3, is_asgi2
from .http import ASGIHandler
from .lifespan import Lifespan, LifespanFailure

__all__ = ["ASGIHandler", "Lifespan", "LifespanFailure", "as_asgi3", "is_asgi2"]
