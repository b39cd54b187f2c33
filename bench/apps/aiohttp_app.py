"""The benchmark app on aiohttp.web: the same routes as ``asgi_app``.

Run: ``python -m bench.apps.aiohttp_app --port 8000`` (from the repository root).
No access log; uvloop is used when it is installed (``--loop asyncio`` to turn it off).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util

from aiohttp import web

HELLO = b"Hello, world!"
ONE_MIB = b"x" * (1 << 20)


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=HELLO, content_type="text/plain")


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/json")


async def one_mib(request: web.Request) -> web.Response:
    return web.Response(body=ONE_MIB, content_type="application/octet-stream")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_post("/echo", echo)
    app.router.add_get("/1m", one_mib)
    return app


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop" or (kind == "auto" and importlib.util.find_spec("uvloop") is not None):
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="aiohttp.web benchmark app")
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
