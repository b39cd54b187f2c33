"""ASGI apps that fail on purpose, for `test_faults` and `test_expect`.

Routes of `app` (``GET`` unless said otherwise):

* ``/raise/<step>``: raises ``RuntimeError("fault at <step>")`` at one ASGI step:
  ``before-start`` (before ``http.response.start``), ``after-start`` (after it, before any body),
  ``mid-body`` (after 5 of 10 bytes announced by Content-Length), ``mid-chunked`` (after a first
  chunk, no Content-Length) and ``after-end`` (after the complete response).
* ``/stream-until-gone``: streams 64 KiB pieces until ``send`` raises; the exception's class
  and whether it is an `OSError` are kept for ``/send-error``.
* ``POST /refuse``: answers ``413`` without reading the body (an app refusing an upload it will
  not take); ``/refused`` says how many requests it refused.
* ``/pid`` and ``/slow-pid?s=S``: the worker's process id, at once or after S seconds.
* anything else: ``hello``.

`failing_startup` fails its lifespan startup with a reason.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any
from urllib.parse import parse_qs

from .apps import lifespan

__all__ = ["app", "failing_startup"]

_TEXT = [(b"content-type", b"text/plain")]

_send_errors: list[dict[str, object]] = []
_refused = {"requests": 0}


async def _answer(send: Any, body: bytes, status: int = 200) -> None:
    headers = [*_TEXT, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _raise_at(step: str, send: Any) -> None:
    fault = RuntimeError(f"fault at {step}")
    if step == "before-start":
        raise fault
    if step == "mid-chunked":
        await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        raise fault
    headers = [*_TEXT, (b"content-length", b"10")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if step == "after-start":
        raise fault
    if step == "mid-body":
        await send({"type": "http.response.body", "body": b"12345", "more_body": True})
        raise fault
    await send({"type": "http.response.body", "body": b"1234567890"})
    raise fault  # after-end


async def _stream_until_gone(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    piece = b"s" * 65536
    try:
        for _ in range(100_000):  # 6 GiB: far more than a client reads before it leaves
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    except Exception as exc:
        _send_errors.append({"class": type(exc).__name__, "is_oserror": isinstance(exc, OSError)})
        return
    _send_errors.append({"class": None, "is_oserror": False})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Route to one of the faults above by path."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}
    if path.startswith("/raise/"):
        await _raise_at(path.removeprefix("/raise/"), send)
    elif path == "/stream-until-gone":
        await _stream_until_gone(send)
    elif path == "/send-error":
        await _answer(send, json.dumps(_send_errors).encode())
    elif path == "/refuse":
        _refused["requests"] += 1
        await _answer(send, b"too large for us", status=413)
    elif path == "/refused":
        await _answer(send, json.dumps(_refused).encode())
    elif path == "/pid":
        await _answer(send, str(os.getpid()).encode())
    elif path == "/slow-pid":
        await asyncio.sleep(float(query.get("s", "1")))
        await _answer(send, str(os.getpid()).encode())
    else:
        await _answer(send, b"hello")


async def failing_startup(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Refuses to start: lifespan ``startup.failed`` with the reason."""
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
