"""A request reflector: every request is answered with JSON describing it.

Run ``ketch ketch.apps.echo:app`` behind a proxy chain to see what reaches the backend: the method,
the request-target as sent, the HTTP version, every header field in order (repeated ones too),
the client and local addresses, and the body (text when it is UTF-8, base64 otherwise).
"""

from __future__ import annotations

import base64
from typing import Any

from ketch import web

__all__ = ["app", "describe", "echo"]


async def describe(request: web.Request) -> dict[str, Any]:
    """The JSON-ready description of `request` that `echo` answers with."""
    body = await request.read()
    version = request.version
    description: dict[str, Any] = {
        "method": request.method,
        "target": request.target,
        "path": request.path,
        "query": request.query_string,
        "version": f"{version.major}.{version.minor}",
        "headers": [
            [name.decode("latin-1"), value.decode("latin-1")] for name, value in request.raw_headers
        ],
        "client": list(request.peername) if request.peername else None,
        "server": list(request.sockname) if request.sockname else None,
        "scheme": request.scheme,
    }
    try:
        description["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        description["body_base64"] = base64.b64encode(body).decode("ascii")
    return description


async def echo(request: web.Request) -> web.Response:
    """Answer any request with the JSON description of itself."""
    return web.json_response(await describe(request))


app = web.Application(client_max_size=16 * 1024 * 1024)
app.router.add_route("*", "/{tail:.*}", echo)
