"""The aiohttp.web baseline for the upload throughput test.

``python -m tests.abuse.apps_aiohttp [--loop asyncio|uvloop]`` binds 127.0.0.1 on a free port,
prints ``serving on http://127.0.0.1:<port>`` to stderr (the line the harness waits for) and
serves until SIGTERM.  ``POST /echo-length`` answers exactly like `tests.abuse.apps.echo_length`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import time

from aiohttp import web

MIB = 1024 * 1024


async def echo_length(request: web.Request) -> web.Response:
    length = 0
    first = last = time.perf_counter()
    async for data in request.content.iter_any():
        if length == 0:
            first = time.perf_counter()
        length += len(data)
        last = time.perf_counter()
    seconds = last - first
    rate = length / MIB / seconds if seconds > 0 else 0.0
    body = json.dumps({"length": length, "seconds": seconds, "mib_s": rate})
    return web.Response(text=body, content_type="application/json")


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def serve(port: int) -> None:
    application = web.Application()
    application.router.add_post("/echo-length", echo_length)
    application.router.add_get("/", hello)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"serving on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    options = parser.parse_args()
    if options.loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(options.port))
    else:
        asyncio.run(serve(options.port))


if __name__ == "__main__":
    main()
