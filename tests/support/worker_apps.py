"""ASGI apps for the worker tests (``ketch tests.support.worker_apps:NAME --workers N``)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

_hoard: list[bytearray] = []


async def _answer(send: Any, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def pid(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the worker's pid.

    ``/slow?SECONDS`` answers after that long (and says "slow" on stderr as it starts);
    ``/grow?MIB`` first keeps that many MiB of touched memory for good.
    """
    if scope["type"] != "http":
        return
    query = scope["query_string"].decode()
    if scope["path"] == "/slow":
        os.write(sys.stderr.fileno(), f"slow {os.getpid()}\n".encode())  # one write: one line
        await asyncio.sleep(float(query or "1"))
    elif scope["path"] == "/grow":
        _hoard.append(bytearray(b"x" * (int(query or "1") << 20)))
    await _answer(send, str(os.getpid()).encode())
