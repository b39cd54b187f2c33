"""ketch.web applications for the subprocess tests (``ketch tests.web.apps:app``, ``ketch.run``).

Each lifecycle step prints a line on stdout, so a test can see that it ran.
"""

from __future__ import annotations

import os
import sys

from ketch import web


async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello from {os.getpid()}")


async def on_startup(app: web.Application) -> None:
    print("on_startup ran", flush=True)


async def on_shutdown(app: web.Application) -> None:
    print("on_shutdown ran", flush=True)


async def on_cleanup(app: web.Application) -> None:
    print("on_cleanup ran", flush=True)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", hello)
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


app = make_app()


if __name__ == "__main__":  # python -m tests.web.apps PORT: serve with ketch.run
    import ketch

    ketch.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
