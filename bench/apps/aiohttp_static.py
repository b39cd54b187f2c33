"""aiohttp.web's static handler over one directory: ``web.static("/", ROOT)``.

Run: ``python -m bench.apps.aiohttp_static --root DIR --port 8000`` (from the repository root).
No access log; uvloop is used when it is installed, as in ``aiohttp_app``.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
from bench.apps.aiohttp_app import _new_loop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="aiohttp.web static-file benchmark app")
    parser.add_argument("--root", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    args = parser.parse_args(argv)
    app = web.Application()
    app.add_routes([web.static("/", args.root)])
    loop = _new_loop(args.loop)
    asyncio.set_event_loop(loop)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        backlog=args.backlog,
        access_log=None,
        print=None,
        loop=loop,
    )


if __name__ == "__main__":
    main()
