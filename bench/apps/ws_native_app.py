"""The WebSocket benchmark app on ketch.web (the native API): the same routes as ``ws_asgi_app``.

* ``/ws``    -> a WebSocket echo (``web.WebSocketResponse``, the ``async for msg in ws`` loop)
* ``GET /``  -> 200 ``ok``: the readiness check

The code is ``ws_aiohttp_app``'s, on ``ketch.web`` (which mirrors aiohttp.web's API).
Run: ``ketch bench.apps.ws_native_app:app --no-access-log`` (from the repository root).
"""

from __future__ import annotations

from ketch import web


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == web.WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == web.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


app = web.Application()
app.router.add_get("/", ready)
app.router.add_get("/ws", echo)
