"""`WebHandler`: the front door that turns an exchange into a call of the matching handler.

Per request: split the target, resolve the route, build a `Request`, await the handler (through
the middlewares, if any) and hand its response to the exchange.  A handler that answers without
waiting completes inside the server's first step of this coroutine (the server runs front doors
eagerly), and a `Response` leaves in one write.

Errors: an `HTTPException` becomes its response; anything else is logged with its traceback and
answered 500.  ``app.error_pages`` replaces either answer's page.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..http11 import split_target
from ..http11.writers import reason_phrase
from ..server.handler import ClientDisconnected
from .exceptions import HTTPException, HTTPMethodNotAllowed, HTTPNotFound
from .request import Request
from .response import Response, StreamResponse, send_returned
from .routing import StaticResource
from .static_routes import static_handler

if TYPE_CHECKING:
    from ..server.handler import Exchange
    from .app import Application, RequestHandler
    from .routing import Match

__all__ = ["WebHandler"]

error_log = logging.getLogger("ketch.error")

_METHODS = {
    m.encode(): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE")
}


class WebHandler:
    """Serve an `Application` through the server's handler interface."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.router = app.router
        self._chains: dict[Any, RequestHandler] = {}

    async def __call__(self, exchange: Exchange) -> None:
        head = exchange.request
        target = head.target
        if target[0] == 0x2F:  # origin-form
            raw_path, _, query = target.partition(b"?")
        else:
            raw_path, query = split_target(head.method, target)
        method = _METHODS.get(head.method) or head.method.decode("latin-1")
        match = self.router.resolve(method, raw_path.decode("latin-1"))
        app = self.app
        apps = match.apps
        if apps:
            apps = (app, *apps)
            app = apps[-1]
        request = Request(exchange, method, raw_path, query, match.match_info, app, apps)
        try:
            try:
                handler = match.handler
                if handler is None or app._middlewares or apps:
                    handler = self._chain(match, apps or (app,))
                response = await handler(request)
                if not isinstance(response, StreamResponse):
                    raise TypeError(
                        f"the handler of {method} {request.path} returned {response!r}, "
                        "not a response"
                    )
            except (ClientDisconnected, asyncio.CancelledError):
                raise
            except Exception as exc:
                if exchange.response_started or exchange.disconnected:
                    raise  # the server closes the connection (and logs it)
                response = await self._error_response(request, exc)
            try:
                sending = send_returned(response, request)
                if sending is not None:
                    await sending
            except (ClientDisconnected, asyncio.CancelledError):
                raise
            except Exception as exc:  # a missing file, a failing on_response_prepare, ...
                if exchange.response_started or exchange.disconnected:
                    raise  # a head the core refused: the server answers 500 (and logs it)
                response = await self._error_response(request, exc)
                sending = send_returned(response, request)
                if sending is not None:
                    await sending
        finally:
            if request._post is not None:
                request._close_files()

    def _chain(self, match: Match, apps: tuple[Application, ...]) -> RequestHandler:
        """The route's handler wrapped in the middlewares of every app on the way, outermost
        first (made once per route and cached)."""
        key = (match.route, apps)
        chain = self._chains.get(key) if match.status == 200 else None
        if chain is not None:
            return chain
        if match.status == 200:
            handler = match.handler
            if handler is None:  # a static-file route
                assert isinstance(match.resource, StaticResource)
                handler = static_handler(match.resource)
            chain = handler
        elif match.status == 405:
            chain = _not_allowed(match.allowed)
        else:
            chain = _not_found
        for app in reversed(apps):
            for middleware in reversed(app._middlewares):
                chain = _bind(middleware, chain)
        if match.status == 200 and len(self._chains) < 4096:
            self._chains[key] = chain
        return chain

    def _log(self, request: Request, exc: BaseException) -> None:
        error_log.error(
            "Exception in the application for %s %s", request.method, request.raw_path, exc_info=exc
        )

    async def _error_response(self, request: Request, exc: BaseException) -> StreamResponse:
        """The answer to `exc`: its error page, else its own response (500, logged, if it is not
        an `HTTPException`)."""
        if isinstance(exc, HTTPException):
            status = exc.status_code
        else:
            status = 500
            self._log(request, exc)
        page = request.app.error_pages.get(status) or self.app.error_pages.get(status)
        if page is not None:
            try:
                response: Any = await page(request, exc)
            except Exception as page_exc:
                self._log(request, page_exc)
            else:
                if isinstance(response, StreamResponse):
                    return response
                error_log.error(
                    "The error page for %d returned %r, not a response", status, response
                )
        if isinstance(exc, HTTPException):
            return Response(
                status=exc.status_code,
                reason=exc.reason if exc.reason != reason_phrase(exc.status_code) else None,
                text=exc.text,
                body=exc.body,
                headers=exc.headers or None,
                content_type=exc.content_type or ("text/plain" if exc.text is not None else None),
            )
        return Response(status=500, text="500: Internal Server Error")


async def _not_found(request: Request) -> StreamResponse:
    raise HTTPNotFound()


def _not_allowed(allowed: frozenset[str]) -> RequestHandler:
    async def answer(request: Request) -> StreamResponse:
        raise HTTPMethodNotAllowed(request.method, allowed)

    return answer


def _bind(middleware: Any, handler: RequestHandler) -> RequestHandler:
    async def call(request: Request) -> StreamResponse:
        response: StreamResponse = await middleware(request, handler)
        return response

    return call
