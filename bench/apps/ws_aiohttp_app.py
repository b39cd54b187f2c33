"""The WebSocket benchmark app on aiohttp.web: the same routes as ``ws_asgi_app``.

* ``/ws``    -> a WebSocket echo (``web.WebSocketResponse``, the ``async for msg in ws`` loop)
* ``GET /``  -> 200 ``ok``: the readiness check

Run: ``python -m bench.apps.ws_aiohttp_app --port 8000`` (from the repository root).
No access log; uvloop is used when it is installed (``--loop asyncio`` to turn it off).
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import WSMsgType, web
from bench.apps.aiohttp_app import _new_loop


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", ready)
    app.router.add_get("/ws", echo)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="aiohttp.web WebSocket benchmark app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    args = parser.parse_args(argv)
    loop = _new_loop(args.loop)
    asyncio.set_event_loop(loop)
    web.run_app(
        make_app(),
        host=args.host,
        port=args.port,
        backlog=args.backlog,
        access_log=None,
        print=None,
        loop=loop,
    )


if __name__ == "__main__":
    main()
