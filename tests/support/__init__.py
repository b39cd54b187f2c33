"""Helpers for the tests that run ketch over real loopback sockets.

* `async_test`: run an ``async def`` test under ``asyncio.run`` with a deadline (no pytest plugin).
* `serve`: an in-process ``ketch.Server`` on 127.0.0.1, port 0.
* `RawClient`: a socket client that writes exact bytes and parses responses with h11.
* `KetchProcess`: the ``ketch`` command in a subprocess, with its banner parsed for the port.
"""

from .aio import async_test
from .process import KetchProcess, ketch_command, run_ketch
from .raw import IncompleteResponse, RawClient, RawResponse
from .serving import collect_body, respond, serve, serving

__all__ = [
    "IncompleteResponse",
    "KetchProcess",
    "RawClient",
    "RawResponse",
    "async_test",
    "collect_body",
    "ketch_command",
    "respond",
    "run_ketch",
    "serve",
    "serving",
]
