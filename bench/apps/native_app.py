"""The benchmark app on ketch.web (the native API): the same routes as ``asgi_app``.

Run: ``ketch bench.apps.native_app:app --no-access-log`` (from the repository root).
"""

from __future__ import annotations

from ketch import web

HELLO = b"Hello, world!"
ONE_MIB = b"x" * (1 << 20)


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=HELLO, content_type="text/plain")


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/json")


async def one_mib(request: web.Request) -> web.Response:
    return web.Response(body=ONE_MIB, content_type="application/octet-stream")


app = web.Application()
app.router.add_get("/", hello)
app.router.add_post("/echo", echo)
app.router.add_get("/1m", one_mib)
