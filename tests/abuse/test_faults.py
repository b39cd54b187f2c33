"""Issue #7, faults, against a real ``ketch`` process.

* An ASGI app raising at each step of a response: a 500 while no byte of the response is on the
  wire, a cut connection after (never a truncated body passed off as complete), one log line
  with its traceback each time, and the server goes on serving.
* ``send`` after the client left raises an `OSError` (``ClientDisconnected``, ASGI 2.4).
* A lifespan startup failure: ``ketch`` exits non-zero with the reason on one line.
* A worker killed (SIGKILL) in the middle of requests: its clients' connections are cut at once,
  the other worker's requests in flight complete, and new connections are served.
* The static-file server with a file it may not read (403) and a file that shrinks while it is
  being sent (the connection is cut, one log line): ketch never writes files, so "disk full"
  means, for it, a file that fails or ends under it while it is sent.
* TLS: random bytes, a plain HTTP request and a silent client on the TLS port are closed (the
  first two at once, the last at the handshake timeout) without a traceback; HTTPS still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .harness import (
    HOST,
    KIB,
    MIB,
    REPO,
    Client,
    ResponseError,
    ResponseParser,
    ServerProcess,
    get,
    record,
    request_bytes,
    run,
)

APP = "tests.abuse.apps_faults:app"
_STEPS = ("before-start", "after-start", "mid-body", "mid-chunked", "after-end")


async def _exchange(port: int, path: str) -> dict[str, object]:
    """One request; the raw answer parsed, and how the connection ended."""
    client = await Client.connect(port)
    raw = b""
    try:
        await client.send(request_bytes(path))
        with contextlib.suppress(TimeoutError):
            while True:
                data = await client.recv(timeout=1)
                if not data:
                    break
                raw += data
    finally:
        client.close()
    parser = ResponseParser()
    responses = parser.feed(raw)
    complete = bool(responses)
    if not complete:
        with contextlib.suppress(ResponseError):
            final = parser.feed_eof()
            responses = [final] if final else []
    response = responses[0] if responses else None
    return {
        "status": int(raw[9:12]) if raw.startswith(b"HTTP/1.1 ") else None,
        "complete": complete,
        "body": response.body.decode() if response else None,
        "closed": client.eof,
    }


def _wait_for_lines(server: ServerProcess, since: float, word: str, count: int) -> list[str]:
    return server.settle(
        lambda: [line for line in server.stderr_lines(since) if word in line],
        until=lambda lines: len(lines) >= count,
        timeout=2,
    )


@pytest.mark.timeout(30)
def test_app_raising_at_every_asgi_step_gets_a_500_or_a_cut_and_one_traceback() -> None:
    outcomes: dict[str, dict[str, object]] = {}
    with ServerProcess(APP) as server:
        for step in _STEPS:
            mark = time.monotonic()
            outcome = run(_exchange(server.port, f"/raise/{step}"), timeout=10)
            tracebacks = _wait_for_lines(server, mark, "Traceback", 1)
            time.sleep(0.1)
            outcome["tracebacks"] = len(
                [ln for ln in server.stderr_lines(mark) if "Traceback" in ln]
            )
            outcome["error_lines"] = len(
                [ln for ln in server.stderr_lines(mark) if "Exception in the application" in ln]
            )
            outcome["names_the_fault"] = any(f"fault at {step}" in ln for ln in tracebacks) or any(
                f"fault at {step}" in ln for ln in server.stderr_lines(mark)
            )
            outcomes[step] = outcome
        still = run(get(server.port, "/")).status
    record("faults_app_raising", **outcomes, served_afterwards=still)

    for step in ("before-start", "after-start"):  # nothing on the wire yet: a clean 500
        assert outcomes[step]["status"] == 500, outcomes[step]
        assert outcomes[step]["closed"] is True
    for step in ("mid-body", "mid-chunked"):  # part of the body sent: cut, visibly incomplete
        assert outcomes[step]["status"] == 200, outcomes[step]
        assert outcomes[step]["complete"] is False
        assert outcomes[step]["closed"] is True
    assert outcomes["after-end"]["status"] == 200  # the response was whole: it stands
    assert outcomes["after-end"]["complete"] is True
    assert outcomes["after-end"]["body"] == "1234567890"
    for step, outcome in outcomes.items():
        assert outcome["tracebacks"] == 1, (step, outcome)
        assert outcome["error_lines"] == 1, (step, outcome)
        assert outcome["names_the_fault"] is True, (step, outcome)
    assert still == 200


@pytest.mark.timeout(30)
def test_send_after_the_client_left_raises_an_oserror_and_is_not_logged() -> None:
    async def leave_mid_stream(port: int) -> int:
        client = await Client.connect(port, rcvbuf=64 * KIB)
        try:
            await client.send(request_bytes("/stream-until-gone"))
            received = 0
            while received < MIB:
                received += len(await client.recv(timeout=5))
        finally:
            client.close()
        return received

    with ServerProcess(APP) as server:
        mark = time.monotonic()
        run(leave_mid_stream(server.port), timeout=10)
        errors = server.settle(
            lambda: json.loads(run(get(server.port, "/send-error")).body),
            until=bool,
            timeout=5,
        )
        lines = server.stderr_lines(mark)
    record("faults_send_after_disconnect", errors=errors, log_lines=len(lines))
    assert errors == [{"class": "ClientDisconnected", "is_oserror": True}]
    assert not [line for line in lines if "Traceback" in line or "ERROR" in line], lines


@pytest.mark.timeout(30)
def test_lifespan_startup_failure_exits_non_zero_with_the_reason_on_one_line() -> None:
    command = [
        str(Path(sys.executable).with_name("ketch")),
        "tests.abuse.apps_faults:failing_startup",
    ]
    started = time.monotonic()
    result = subprocess.run(
        [*command, "--host", HOST, "--port", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    seconds = time.monotonic() - started
    lines = result.stderr.splitlines()
    reason = [line for line in lines if "database unreachable" in line]
    record(
        "faults_lifespan_startup_failure",
        exit_status=result.returncode,
        reason_lines=reason,
        stderr_lines=len(lines),
        seconds=seconds,
    )
    assert result.returncode != 0
    assert len(reason) == 1
    assert "Traceback" not in result.stderr
    assert "serving" not in result.stderr


def _children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return {int(child) for child in file.read().split()}


@pytest.mark.timeout(40)
def test_a_worker_killed_mid_request_cuts_only_its_own_connections() -> None:
    async def scenario(port: int, workers: set[int]) -> dict[str, object]:
        clients: list[tuple[Client, int]] = []
        try:
            # Keep-alive connections until both workers hold some (the kernel spreads them).
            for _ in range(64):
                client = await Client.connect(port)
                await client.send(request_bytes("/pid"))
                clients.append((client, int((await client.response()).body)))
                if len({pid for _, pid in clients}) == len(workers) and len(clients) >= 8:
                    break
            victim = min(pid for _, pid in clients)
            for client, _ in clients:
                await client.send(request_bytes("/slow-pid?s=1.5"))
            await asyncio.sleep(0.5)  # every request is in its handler now
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()

            async def outcome(client: Client, pid: int) -> tuple[int, str, float]:
                try:
                    response = await client.response(timeout=5)
                    return pid, f"{response.status} from {response.body.decode()}", 0.0
                except (ConnectionError, TimeoutError) as exc:
                    return pid, type(exc).__name__, time.monotonic() - killed

            results = await asyncio.gather(*(outcome(c, pid) for c, pid in clients))
            fresh = [(await get(port, "/pid")).status for _ in range(20)]
        finally:
            for client, _ in clients:
                client.close()
        return {"victim": victim, "results": results, "fresh": fresh}

    with ServerProcess(APP, args=["--workers", "2"]) as server:
        workers = server.settle(
            lambda: _children(server.pid), until=lambda c: len(c) == 2, timeout=10
        )
        outcome = run(scenario(server.port, workers), timeout=30)
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()
    victim = outcome["victim"]
    results = outcome["results"]
    assert isinstance(results, list)
    cut = [(kind, after) for pid, kind, after in results if pid == victim]
    kept = [kind for pid, kind, _ in results if pid != victim]
    record(
        "faults_worker_killed_mid_request",
        connections=len(results),
        on_killed_worker=len(cut),
        cut_after_s_max=max((after for _, after in cut), default=float("nan")),
        how_cut=sorted({kind for kind, _ in cut}),
        on_other_worker=len(kept),
        other_answers=sorted(set(kept)),
        fresh_requests_ok=outcome["fresh"],
    )
    assert cut
    assert kept
    assert all(kind in {"ConnectionError", "ConnectionResetError"} for kind, _ in cut), cut
    assert all(after < 1.0 for _, after in cut), cut
    assert all(kind.startswith("200 from ") for kind in kept), kept
    assert outcome["fresh"] == [200] * 20
    assert not tracebacks, stderr


_libc = ctypes.CDLL(None, use_errno=True)
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _lose_root_file_override() -> None:
    """In the child: root without the capabilities that let it read any file (file modes bind)."""
    if os.geteuid() == 0:
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.timeout(30)
def test_static_files_unreadable_or_shrinking_under_the_server() -> None:
    big = 32 * MIB
    with tempfile.TemporaryDirectory(prefix="ketch-faults-") as folder:
        root = Path(folder)
        (root / "secret.txt").write_bytes(b"secret\n")
        (root / "secret.txt").chmod(0)
        (root / "big.bin").write_bytes(b"b" * big)
        (root / "ok.txt").write_bytes(b"ok\n")

        async def shrink_mid_send(port: int) -> dict[str, object]:
            client = await Client.connect(port, rcvbuf=64 * KIB)
            parser = ResponseParser(keep_body=False)
            try:
                await client.send(request_bytes("/big.bin"))
                received = 0
                while received < MIB:
                    data = await client.recv(timeout=5)
                    parser.feed(data)
                    received += len(data)
                os.truncate(root / "big.bin", 2 * MIB)
                how = "timeout"
                with contextlib.suppress(TimeoutError):
                    while data := await client.recv(timeout=5):
                        parser.feed(data)
                    how = "eof"
            except ConnectionResetError:
                how = "reset"
            finally:
                client.close()
            try:
                parser.feed_eof()
                complete = True
            except ResponseError:
                complete = False
            return {"closed": how, "complete": complete}

        with ServerProcess("", args=["--root", folder], preexec=_lose_root_file_override) as server:
            mark = time.monotonic()
            started = time.perf_counter()
            denied = run(get(server.port, "/secret.txt"))
            denied_ms = (time.perf_counter() - started) * 1000
            denied_lines = server.stderr_lines(mark)
            mark = time.monotonic()
            shrunk = run(shrink_mid_send(server.port), timeout=15)
            shrink_lines = _wait_for_lines(server, mark, "ERROR", 1)
            still = run(get(server.port, "/ok.txt"))
            fds = server.fds()
            stderr = server.stderr_text()
    record(
        "faults_static",
        permission_denied_status=denied.status,
        permission_denied_ms=denied_ms,
        permission_denied_log_lines=len(denied_lines),
        shrink_closed=shrunk["closed"],
        shrink_body_complete=shrunk["complete"],
        shrink_error_lines=shrink_lines,
        served_afterwards=still.status,
        server_fds_after=fds,
    )
    assert denied.status == 403
    assert shrunk["closed"] in {"eof", "reset"}
    assert shrunk["complete"] is False  # never passed off as the whole file
    assert len(shrink_lines) == 1, stderr
    assert "ended" in stderr  # the line says why
    assert still.status == 200
    assert still.body == b"ok\n"


async def _tls_abuse(port: int, payload: bytes) -> tuple[str, float]:
    """Send `payload` to the TLS port; how and how fast (seconds) the server closed."""
    client = await Client.connect(port)
    started = time.perf_counter()
    try:
        if payload:
            await client.send(payload)
        how = await client.wait_closed(5)
    except TimeoutError:
        how = "open"
    finally:
        client.close()
    return how, time.perf_counter() - started


@pytest.mark.timeout(30)
def test_tls_port_closes_garbage_plain_http_and_silence_without_a_traceback() -> None:
    handshake_timeout = 1.0
    args = ["--self-signed", "--timeout-header", str(handshake_timeout)]
    with ServerProcess(APP, args=args) as server:
        # Fixed bytes: random ones now and then start like a record longer than what follows
        # (0x90 0x52 0x01 ...: an SSLv2 ClientHello of 4178 bytes), and a TLS server rightly
        # waits for the rest, here until the handshake timeout (2 in 1800 random payloads).
        garbage = random.Random(1).randbytes(4 * KIB)
        results = {
            "garbage": run(_tls_abuse(server.port, garbage), timeout=10),
            "plain_http": run(_tls_abuse(server.port, request_bytes("/")), timeout=10),
            "client_hello_then_garbage": run(
                _tls_abuse(server.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" + garbage),
                timeout=10,
            ),
            "silent": run(_tls_abuse(server.port, b""), timeout=10),
        }
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection((HOST, server.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(request_bytes("/", close=True))
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
        tracebacks = server.tracebacks()
        stderr = server.stderr_text()
    record(
        "faults_tls",
        **{f"{name}_closed": how for name, (how, _) in results.items()},
        **{f"{name}_ms": seconds * 1000 for name, (_, seconds) in results.items()},
        https_afterwards=answer.split(b"\r\n", 1)[0].decode(),
        handshake_timeout_s=handshake_timeout,
    )
    for name in ("garbage", "plain_http", "client_hello_then_garbage"):
        how, seconds = results[name]
        assert how in {"eof", "reset"}, (name, how)
        assert seconds < 0.5, (name, seconds)  # at once, not at the 1 s handshake timeout
    how, seconds = results["silent"]
    assert how in {"eof", "reset"}
    assert handshake_timeout - 0.1 <= seconds <= handshake_timeout + 1.0
    assert answer.startswith(b"HTTP/1.1 200")
    assert not tracebacks, stderr
