"""ketch.web: the native request/response API, aiohttp.web's shape on ketch's connection core.

    from ketch import web

    async def handle(request):
        return web.Response(text="Hello!\\n")

    app = web.Application()
    app.add_routes([web.get("/", handle)])
    web.run_app(app, port=8080)

docs/web.md lists what is supported and where it differs from aiohttp.
"""

from .app import App, AppKey, Application, CleanupContext, Middleware, Signal, View, middleware
from .exceptions import *  # noqa: F403 (the HTTP exception family, as aiohttp.web exports it)
from .exceptions import __all__ as _exceptions
from .forms import FileField, FormError
from .multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from .normalize import normalize_path_middleware
from .request import BodyStream, HttpVersion, Request
from .response import FileResponse, Response, StreamResponse, json_response
from .routing import (
    AbstractRoute,
    AbstractRouteDef,
    Match,
    Resource,
    ResourceRoute,
    RouteDef,
    RouteTableDef,
    StaticDef,
    StaticResource,
    UrlDispatcher,
    delete,
    get,
    head,
    patch,
    post,
    put,
    route,
    static,
    view,
)
from .runner import AppRunner, BaseSite, SockSite, TCPSite, UnixSite, run_app
from .websocket import (
    WebSocketError,
    WebSocketReady,
    WebSocketResponse,
    WSCloseCode,
    WSMessage,
    WSMsgType,
)

__all__ = [
    "AbstractRoute",
    "AbstractRouteDef",
    "App",
    "AppKey",
    "AppRunner",
    "Application",
    "BaseSite",
    "BodyStream",
    "CIMultiDict",
    "CIMultiDictProxy",
    "CleanupContext",
    "FileField",
    "FileResponse",
    "FormError",
    "HttpVersion",
    "Match",
    "Middleware",
    "MultiDict",
    "MultiDictProxy",
    "Request",
    "Resource",
    "ResourceRoute",
    "Response",
    "RouteDef",
    "RouteTableDef",
    "Signal",
    "SockSite",
    "StaticDef",
    "StaticResource",
    "StreamResponse",
    "TCPSite",
    "UnixSite",
    "UrlDispatcher",
    "View",
    "WSCloseCode",
    "WSMessage",
    "WSMsgType",
    "WebSocketError",
    "WebSocketReady",
    "WebSocketResponse",
    "delete",
    "get",
    "head",
    "json_response",
    "middleware",
    "normalize_path_middleware",
    "patch",
    "post",
    "put",
    "route",
    "run_app",
    "static",
    "view",
    *_exceptions,
]
