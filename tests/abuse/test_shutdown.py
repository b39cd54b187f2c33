"""Target 6: SIGTERM with 100 requests in flight: all complete with ``Connection: close``, a new
connection right after is refused (not accepted and reset), and the server exits 0."""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import pytest

from .harness import Client, ServerProcess, get, record, request_bytes, run

IN_FLIGHT = 100


async def _slow_request(client: Client, index: int) -> tuple[int, bool, bytes]:
    seconds = 1.0 + index / IN_FLIGHT  # 1.0 .. 1.99 s
    await client.send(request_bytes(f"/slow?s={seconds:.2f}"))
    response = await client.response(timeout=15)
    return response.status, response.closes, response.body


def _connect_once(port: int) -> str:
    """Try one new connection: "refused", or what happened to a request sent on it."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return f"connect error {exc!r}"
    with sock:
        try:
            sock.sendall(request_bytes("/", close=True))
            data = sock.recv(65536)
        except OSError as exc:
            return f"accepted, then {exc!r}"
        return f"accepted, answered {data[:40]!r}" if data else "accepted, then closed"


@pytest.mark.timeout(60)
def test_sigterm_lets_in_flight_requests_finish_and_refuses_new_connections() -> None:
    with ServerProcess() as server:

        async def scenario() -> dict[str, object]:
            clients = [await Client.connect(server.port) for _ in range(IN_FLIGHT)]
            try:
                tasks = [
                    asyncio.ensure_future(_slow_request(client, index))
                    for index, client in enumerate(clients)
                ]
                deadline = time.monotonic() + 10
                while True:  # every request is inside the app before the signal
                    in_app = int((await get(server.port, "/inflight")).body)
                    if in_app == IN_FLIGHT or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.01)
                signalled = time.monotonic()
                server.send_signal(signal.SIGTERM)
                # The listener must go away as soon as the server takes the signal.
                # Polling /proc is the only way to see it: there is no event to wait on.
                while server.listening() and time.monotonic() - signalled < 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
                listener_gone_ms = (time.monotonic() - signalled) * 1000
                new_connection = await asyncio.to_thread(_connect_once, server.port)
                results = await asyncio.gather(*tasks, return_exceptions=True)
                finished_s = time.monotonic() - signalled
            finally:
                for client in clients:
                    client.close()
            return {
                "in_app_at_signal": in_app,
                "listener_gone_ms": listener_gone_ms,
                "new_connection": new_connection,
                "results": results,
                "finished_s": finished_s,
            }

        outcome = run(scenario(), timeout=40)
        started_wait = time.monotonic()
        status = server.wait(timeout=10)
        exit_s = time.monotonic() - started_wait
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()

    results = outcome["results"]
    assert isinstance(results, list)
    errors = [repr(r) for r in results if not isinstance(r, tuple)]
    good = [
        r for r in results if isinstance(r, tuple) and r[0] == 200 and r[2].startswith(b"slept")
    ]
    with_close = [r for r in good if r[1]]
    record(
        "sigterm_100_in_flight",
        in_flight=IN_FLIGHT,
        in_app_at_signal=outcome["in_app_at_signal"],
        completed_200=len(good),
        with_connection_close=len(with_close),
        errors=len(errors),
        first_errors=errors[:3],
        listener_gone_ms_after_sigterm=outcome["listener_gone_ms"],
        new_connection_after_sigterm=outcome["new_connection"],
        all_done_s_after_sigterm=outcome["finished_s"],
        exit_status=status,
        exit_s_after_last_response=exit_s,
    )
    assert outcome["in_app_at_signal"] == IN_FLIGHT
    assert not errors, errors[:5]
    assert len(good) == IN_FLIGHT
    assert len(with_close) == IN_FLIGHT
    assert outcome["new_connection"] == "refused"
    assert status == 0
    assert not tracebacks, stderr
