"""Turning ``module:attr`` into an application, and an application into a front door."""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from typing import TYPE_CHECKING, Any

from .asgi import ASGIHandler, Lifespan, as_asgi3
from .asgi.tls import TLSScope
from .errors import KetchError

if TYPE_CHECKING:
    from .server.config import Config
    from .server.handler import Handler
    from .server.handler import Lifespan as LifespanHooks

__all__ = ["AppLoadError", "front_door", "import_app"]

error_log = logging.getLogger("ketch.error")


class AppLoadError(KetchError):
    """The application could not be imported; the message is one line saying why."""


def import_app(path: str, *, app_dir: str = ".", factory: bool = False) -> Any:
    """Import ``module:attr`` (attr may be dotted), with `app_dir` first on ``sys.path``.

    Raises:
        AppLoadError: bad path, missing module or attribute, import error, or a failing factory.
    """
    module_name, colon, attr = path.partition(":")
    if not colon or not module_name or not attr:
        raise AppLoadError(f"app must be given as 'module:attribute', not {path!r}")
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
            raise AppLoadError(f"error while importing {module_name!r}: {exc}") from exc
        raise AppLoadError(f"could not import module {module_name!r}") from exc
    except Exception as exc:
        raise AppLoadError(f"error while importing {module_name!r}: {exc!r}") from exc
    app: Any = module
    for part in attr.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            raise AppLoadError(f"attribute {attr!r} not found in module {module_name!r}") from None
    if factory:
        try:
            app = app()
        except Exception as exc:
            raise AppLoadError(f"error while calling the app factory {path!r}: {exc!r}") from exc
    return app


def front_door(app: Any, config: Config) -> tuple[Handler, LifespanHooks | None]:
    """Return the handler (and lifespan hooks) that serve `app`, by ``config.interface``.

    Objects with a ``__ketch_front_door__(config)`` method (``ketch.web`` applications,
    `ketch.static.StaticFiles`) supply their own handler: the native interface, which "auto"
    prefers.  Anything else is served as an ASGI 3 or 2 application.

    Raises:
        AppLoadError: the app does not fit the interface asked for.
    """
    interface = config.interface
    own = getattr(app, "__ketch_front_door__", None)
    if interface == "native" or (interface == "auto" and own is not None):
        if own is None:
            raise AppLoadError(
                f"{_describe(app)} is not a ketch.web application (--interface native)"
            )
        if config.root_path:
            error_log.warning(
                "--root-path applies to ASGI applications; ketch.web routes see paths as sent"
            )
        handler, hooks = own(config)
        return handler, hooks
    if not callable(app):
        raise AppLoadError(f"{_describe(app)} is not an ASGI application: it is not callable")
    if own is not None and not inspect.iscoroutinefunction(type(app).__call__):
        # A ketch.web Application is callable (aiohttp's factory idiom) but speaks no ASGI.
        raise AppLoadError(
            f"{_describe(app)} is a ketch.web application, not an ASGI one "
            "(use --interface native or auto)"
        )
    asgi = as_asgi3(app, "auto" if interface == "asgi" else interface)
    lifespan = Lifespan(asgi, config.lifespan) if config.lifespan != "off" else None
    state = lifespan.state if lifespan is not None else {}
    tls = TLSScope.from_config(config) if config.is_ssl else None
    return ASGIHandler(asgi, root_path=config.root_path, state=state, tls=tls), lifespan


def _describe(app: Any) -> str:
    kind = type(app)
    return f"the app (a {kind.__module__}.{kind.__qualname__})"
