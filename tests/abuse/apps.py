"""Small ASGI apps for the abuse tests, all served by one router (`app`).

Routes (``GET`` unless said otherwise):

* ``/`` and anything unknown: ``hello``, a 5-byte body.
* ``/pipe/<n>``: answers ``<n>``, so pipelined responses can be matched to their requests.
* ``POST /echo-length``: reads the whole body, answers ``{"length": n, "seconds": t, "mib_s": r}``
  (timing from the first body byte to the last).
* ``/big?mib=N``: streams N MiB in 256 KiB chunks with a Content-Length; chunk ``k`` is filled
  with byte ``k % 13`` so a client can check the bytes, not only their count (the 13 chunks are
  built at import, so serving does not grow the app's memory).
* ``/slow?s=S``: sleeps S seconds, then answers; ``/inflight`` reports how many sleep right now.
* ``/tasks``: ``len(asyncio.all_tasks())`` of the server's loop.
* ``/objects``: ``{"gc_objects": n, "<type name>": count, ...}`` for the server's per-connection
  types (found by name, so the app does not import ketch internals), after a ``gc.collect()``
  (``?collect=0``: before any, so objects left in reference cycles are counted too); with
  ``PYTHONTRACEMALLOC=1`` also ``traced_bytes``, the memory Python allocated and holds.

Run with ``ketch tests.abuse.apps:app`` from the repository root.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "CHUNK",
    "app",
    "big_chunk",
    "big_response",
    "echo_length",
    "hello",
    "inflight",
    "lifespan",
    "objects",
    "slow",
    "tasks",
]

CHUNK = 256 * 1024
MIB = 1024 * 1024

_TEXT = [(b"content-type", b"text/plain")]
_JSON = [(b"content-type", b"application/json")]

PATTERNS = 13

_in_flight = 0
_chunks = [bytes([fill]) * CHUNK for fill in range(PATTERNS)]


def big_chunk(index: int) -> bytes:
    """The ``index``-th 256 KiB chunk of a ``/big`` response."""
    return _chunks[index % PATTERNS]


def _query(scope: dict[str, Any]) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {key: values[-1] for key, values in parsed.items()}


async def _answer(send: Any, body: bytes, headers: list[tuple[bytes, bytes]] = _TEXT) -> None:
    start_headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await _answer(send, b"hello")


async def pipe(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await _answer(send, scope["path"].rsplit("/", 1)[-1].encode())


async def echo_length(scope: dict[str, Any], receive: Any, send: Any) -> None:
    length = 0
    first = last = time.perf_counter()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        if body:
            if length == 0:
                first = time.perf_counter()
            length += len(body)
            last = time.perf_counter()
        if not message.get("more_body", False):
            break
    seconds = last - first
    rate = length / MIB / seconds if seconds > 0 else 0.0
    report = {"length": length, "seconds": seconds, "mib_s": rate}
    await _answer(send, json.dumps(report).encode(), _JSON)


async def big_response(scope: dict[str, Any], receive: Any, send: Any) -> None:
    mib = int(_query(scope).get("mib", "1"))
    total = mib * MIB
    headers = [*_TEXT, (b"content-length", str(total).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    count = total // CHUNK
    for index in range(count):
        await send(
            {"type": "http.response.body", "body": big_chunk(index), "more_body": index < count - 1}
        )


async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _in_flight
    seconds = float(_query(scope).get("s", "1"))
    _in_flight += 1
    try:
        await asyncio.sleep(seconds)
    finally:
        _in_flight -= 1
    await _answer(send, f"slept {seconds}".encode())


async def inflight(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await _answer(send, str(_in_flight).encode())


async def tasks(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await _answer(send, str(len(asyncio.all_tasks())).encode())


_WATCHED = ("HTTPProtocol", "Cycle", "Connection", "Future", "Task")


async def objects(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if _query(scope).get("collect") != "0":
        gc.collect()
    every = gc.get_objects()
    counts = dict.fromkeys(_WATCHED, 0)
    for obj in every:
        name = type(obj).__name__
        if name in counts:
            counts[name] += 1
    report = {"gc_objects": len(every), **counts}
    del every
    if tracemalloc.is_tracing():  # PYTHONTRACEMALLOC=1 in the server's environment
        report["traced_bytes"] = tracemalloc.get_traced_memory()[0]
    await _answer(send, json.dumps(report).encode(), _JSON)


async def lifespan(receive: Any, send: Any) -> None:
    """A lifespan that starts and stops at once (every abuse app's)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_ROUTES = {
    "/echo-length": echo_length,
    "/big": big_response,
    "/slow": slow,
    "/inflight": inflight,
    "/tasks": tasks,
    "/objects": objects,
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Route to one of the apps above by path."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path.startswith("/pipe/"):
        await pipe(scope, receive, send)
        return
    await _ROUTES.get(path, hello)(scope, receive, send)
