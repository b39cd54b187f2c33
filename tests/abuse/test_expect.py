"""Issue #7: ``Expect: 100-continue`` with a 10 GiB Content-Length, refused by the app.

The app answers 413 without reading the body: ketch must not send ``100 Continue``, must not read
the body, and must close the connection cleanly (a FIN after the response, no reset, no
traceback); a client that sends the body anyway is cut off, not read for 10 GiB.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from .harness import MIB, Client, ResponseParser, ServerProcess, get, record, run

APP = "tests.abuse.apps_faults:app"
TEN_GIB = 10 * 1024 * MIB
LATENCY_LIMIT = 0.100
SEND_LIMIT = 64 * MIB  # what a client sending anyway gets through before it is cut off
_HEAD = (
    b"POST /refuse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n"
    b"Expect: 100-continue\r\n\r\n" % TEN_GIB
)


async def _waiting_client(port: int) -> dict[str, object]:
    """Sends the head and waits, as a client honouring 100-continue does."""
    client = await Client.connect(port)
    started = time.perf_counter()
    raw = b""
    try:
        await client.send(_HEAD)
        how = "timeout"
        with contextlib.suppress(TimeoutError):
            while True:
                data = await client.recv(timeout=3)
                if not data:
                    how = "eof"
                    break
                raw += data
    except ConnectionResetError:
        how = "reset"
    finally:
        client.close()
    elapsed = time.perf_counter() - started
    responses = ResponseParser().feed(raw)
    return {
        "continue_sent": b" 100 " in raw.split(b"\r\n", 1)[0],
        "status": responses[0].status if responses else None,
        "connection_close": bool(responses and responses[0].closes),
        "closed": how,
        "ms_to_close": elapsed * 1000,
    }


async def _impatient_client(port: int) -> dict[str, object]:
    """Sends the head, then the body without waiting, until the server cuts it off."""
    client = await Client.connect(port)
    piece = b"b" * MIB
    sent = 0
    outcome = "sent everything"
    started = time.perf_counter()
    try:
        await client.send(_HEAD)
        while sent < SEND_LIMIT * 2:
            await client.send(piece, timeout=3)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError) as exc:
        outcome = type(exc).__name__
    except TimeoutError:
        outcome = "stalled"
    finally:
        client.close()
    return {"sent_bytes": sent, "outcome": outcome, "ms": (time.perf_counter() - started) * 1000}


@pytest.mark.timeout(30)
def test_expect_100_continue_with_10_gib_refused_by_the_app_reads_nothing_and_closes() -> None:
    with ServerProcess(APP) as server:
        rss_before = server.rss()
        waiting = run(_waiting_client(server.port), timeout=10)
        impatient = run(_impatient_client(server.port), timeout=20)
        rss_after = server.rss()
        refused = json.loads(run(get(server.port, "/refused")).body)
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()

    record(
        "expect_100_continue_10gib",
        content_length=TEN_GIB,
        **{f"waiting_{key}": value for key, value in waiting.items()},
        **{f"impatient_{key}": value for key, value in impatient.items()},
        app_refused=refused["requests"],
        rss_growth_mib=(rss_after - rss_before) / MIB,
    )
    assert waiting["continue_sent"] is False
    assert waiting["status"] == 413
    assert waiting["connection_close"] is True
    assert waiting["closed"] == "eof"
    ms_to_close = waiting["ms_to_close"]
    assert isinstance(ms_to_close, float)
    assert ms_to_close < LATENCY_LIMIT * 1000
    sent = impatient["sent_bytes"]
    assert isinstance(sent, int)
    assert sent < SEND_LIMIT, impatient
    assert refused["requests"] == 2
    assert rss_after - rss_before < 16 * MIB
    assert not tracebacks, stderr
