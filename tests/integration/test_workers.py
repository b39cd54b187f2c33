"""``ketch --workers N``: the supervisor and its workers, as real processes on real sockets."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support import KetchProcess, run_ketch
from tests.support.tls import make_certificates

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

APP = "tests.support.worker_apps:pid"
PID_APP = """\
import os

async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
"""
REPLACED = re.compile(r"Worker (\d+) replaced \((\S+)\): pid (\d+) serves, pid (\d+) drains")


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def wait_until(condition: Callable[[], object], timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or condition}")
        time.sleep(0.02)


def send(process: KetchProcess, sig: int) -> None:
    assert process.proc is not None
    process.proc.send_signal(sig)


def get(port: int, path: str = "/", timeout: float = 10) -> str:
    """One request on a new connection; returns the body (the answering worker's pid)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200, response.status
        return response.read().decode()
    finally:
        conn.close()


class Load:
    """Client loops in threads, until the block ends: half on new connections, half keep-alive.

    `failures` lists every failed request; `failed_at` when each failed; `pids` every pid that
    answered.
    """

    def __init__(self, port: int, clients: int = 4) -> None:
        self.port = port
        self.clients = clients
        self.ok = 0
        self.failures: list[str] = []
        self.failed_at: list[float] = []
        self.pids: list[int] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _run(self, keep_alive: bool) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise AssertionError(f"status {response.status}")
                with self._lock:
                    self.ok += 1
                    self.pids.append(int(body))
            except Exception as exc:
                with self._lock:
                    self.failures.append(repr(exc))
                    self.failed_at.append(time.monotonic())
                conn.close()
                conn = None
                continue
            if not keep_alive:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Load:
        for number in range(self.clients):
            thread = threading.Thread(target=self._run, args=(number % 2 == 1,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def wait_for(self, more: int, timeout: float = 15) -> None:
        """Wait until `more` further requests succeeded."""
        target = self.ok + more
        wait_until(lambda: self.ok >= target, timeout, f"{more} more requests")


@contextlib.contextmanager
def workers(*args: str, count: int = 2) -> Iterator[tuple[KetchProcess, int]]:
    """A ``ketch --workers COUNT`` serving; yields it and its port once every worker runs."""
    with KetchProcess(*args, "--workers", str(count), "--port", "0", "--no-access-log") as process:
        port = process.port(timeout=30)
        wait_until(lambda: len(children(process.pid)) == count, what=f"{count} workers")
        yield process, port


def test_two_workers_serve_from_two_pids_and_the_banner_says_so() -> None:
    with workers(APP) as (process, port):
        pids = children(process.pid)
        assert process.pid not in pids
        seen: set[int] = set()

        def both_answered() -> bool:
            # Concurrent slow requests, so that both workers must take some.
            with Load(port, clients=6) as load:
                load.wait_for(30)
            seen.update(load.pids)
            return seen == pids

        wait_until(both_answered, what="answers from both workers")
        assert process.stop() == 0
    (banner,) = [line for line in process.stderr if " serving " in line]
    assert banner.endswith(" with 2 workers")
    assert not any("Traceback" in line for line in process.stderr)


def test_a_killed_worker_is_replaced_within_2_seconds_and_other_clients_see_no_error() -> None:
    with workers(APP) as (process, port):
        before = children(process.pid)
        victim = min(before)
        with Load(port) as load:
            load.wait_for(20)
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            ready = process.wait_for_line(re.compile(r"Worker \d \(pid (\d+)\) ready \(restart\)"))
            assert time.monotonic() - killed < 2.0
            load.wait_for(20)
        replacement = int(ready[1])
        assert children(process.pid) == (before - {victim}) | {replacement}
        assert replacement in load.pids
        # Only the requests on the killed worker's connections failed (at most one per client,
        # at the moment of the kill); no connection was refused.
        assert len(load.failures) <= load.clients, load.failures
        assert all(at - killed < 0.5 for at in load.failed_at), load.failures
        assert not any("Refused" in failure for failure in load.failures)
        assert process.stop() == 0


@pytest.mark.parametrize("group", [False, True], ids=["supervisor", "process-group"])
def test_sigterm_drains_every_worker_and_in_flight_requests_complete(group: bool) -> None:
    # group: SIGTERM to every process, as systemd (KillMode=control-group) and `timeout` do; a
    # worker's second SIGTERM (the supervisor's) must not cut its grace period short.
    with workers(APP, "--timeout-graceful-shutdown", "10") as (process, port):
        answers: list[str] = []
        errors: list[BaseException] = []

        def slow() -> None:
            try:
                answers.append(get(port, "/slow?1.5"))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=slow) for _ in range(4)]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: sum(line.startswith("slow ") for line in process.stderr) >= 4,
            what=f"4 requests in the app: {process.stderr}, {errors}",
        )
        started = time.monotonic()
        if group:
            for worker in children(process.pid):
                os.kill(worker, signal.SIGTERM)
        assert process.stop(signal.SIGTERM, timeout=20) == 0
        for thread in threads:
            thread.join(10)
        assert errors == []
        assert len(answers) == 4
        assert time.monotonic() - started < 10


def test_a_second_signal_cuts_the_grace_period_short() -> None:
    args = ("tests.support.apps:hang", "--timeout-graceful-shutdown", "30")
    with workers(*args) as (process, port):

        def hang() -> None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                get(port, "/hang", timeout=10)

        client = threading.Thread(target=hang, daemon=True)
        client.start()
        wait_until(lambda: any("handling /hang" in line for line in process.stderr))
        send(process, signal.SIGTERM)
        process.wait_for_line(re.compile("SIGTERM: stopping 2 workers gracefully"))
        started = time.monotonic()
        assert process.stop(signal.SIGINT, timeout=10) == 0
        assert time.monotonic() - started < 5
        assert any("SIGINT: forcing the shutdown" in line for line in process.stderr)


def test_sighup_restarts_the_workers_one_by_one_without_a_failed_request() -> None:
    with workers(APP) as (process, port):
        before = children(process.pid)
        with Load(port) as load:
            load.wait_for(20)
            send(process, signal.SIGHUP)
            rolled = [process.wait_for_line(REPLACED) for _ in before]
            load.wait_for(20)
        assert load.failures == []
        assert {int(match[4]) for match in rolled} == before
        after = {int(match[3]) for match in rolled}
        assert after.isdisjoint(before)
        wait_until(lambda: children(process.pid) == after, what="the old workers exit")
        assert after & set(load.pids)
        assert process.stop() == 0


def test_sighup_with_code_that_no_longer_imports_keeps_the_old_workers(tmp_path: Path) -> None:
    (tmp_path / "pidapp.py").write_text(PID_APP)
    with KetchProcess(
        "pidapp:app", "--app-dir", str(tmp_path), "--workers", "2", "--port", "0"
    ) as (process):
        port = process.port(timeout=30)
        wait_until(lambda: len(children(process.pid)) == 2, what="2 workers")
        before = children(process.pid)
        (tmp_path / "pidapp.py").write_text("raise RuntimeError('half-deployed')\n")
        send(process, signal.SIGHUP)
        failed = process.wait_for_line(
            re.compile(r"could not start \(SIGHUP\): (.*); pid \d+ keeps")
        )
        assert "half-deployed" in failed[1]
        assert int(get(port)) in before
        assert children(process.pid) == before
        assert process.stop() == 0


def test_sighup_makes_new_workers_read_new_certificate_files(tmp_path: Path) -> None:
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    first, second = make_certificates(tmp_path / "first"), make_certificates(tmp_path / "second")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(first.server_cert, cert)
    shutil.copy(first.server_key, key)
    args = (APP, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with workers(*args) as (process, port):
        url = f"https://localhost:{port}/"
        assert httpx.get(url, verify=first.client_context()).status_code == 200
        shutil.copy(second.server_cert, cert)
        shutil.copy(second.server_key, key)
        send(process, signal.SIGHUP)
        for _ in range(2):
            process.wait_for_line(REPLACED)
        wait_until(lambda: len(children(process.pid)) == 2, what="the old workers exit")
        assert httpx.get(url, verify=second.client_context()).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, verify=first.client_context())
        assert process.stop() == 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_sighup_under_wrk_load_fails_no_request() -> None:
    with workers(APP) as (process, port):
        wrk = subprocess.Popen(
            ["wrk", "-t2", "-c16", "-d4s", f"http://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            time.sleep(1)
            send(process, signal.SIGHUP)
            for _ in range(2):
                process.wait_for_line(REPLACED)
            output, _ = wrk.communicate(timeout=30)
        finally:
            wrk.kill()
            wrk.wait()
        assert " requests in " in output, output
        assert "Socket errors" not in output, output
        assert "Non-2xx" not in output, output
        assert process.stop() == 0


def test_sigttin_adds_a_worker_and_sigttou_removes_one_but_never_the_last() -> None:
    with workers(APP) as (process, port):
        send(process, signal.SIGTTIN)
        wait_until(lambda: len(children(process.pid)) == 3, what="3 workers")
        process.wait_for_line(re.compile(r"Worker 2 \(pid \d+\) ready"))
        for _ in range(3):
            send(process, signal.SIGTTOU)
            time.sleep(0.2)
        process.wait_for_line(re.compile("SIGTTOU: keeping the last worker"))
        wait_until(lambda: len(children(process.pid)) == 1, what="1 worker")
        assert get(port) == str(min(children(process.pid)))
        assert process.stop() == 0


def test_limit_max_requests_recycles_workers_without_failing_a_request() -> None:
    args = (APP, "--limit-max-requests", "10", "--limit-max-requests-jitter", "0")
    with workers(*args) as (process, port):
        before = children(process.pid)
        answered: set[int] = set()

        def a_new_worker_answered() -> bool:
            answered.add(int(get(port)))
            return bool(answered - before)

        # Each worker keeps serving until its successor is ready: every request succeeds.
        wait_until(a_new_worker_answered, what="a new pid")
        match = process.wait_for_line(REPLACED)
        assert match[2] == "limit-max-requests"
        assert any("served --limit-max-requests" in line for line in process.stderr)
        assert process.stop() == 0


def test_limit_max_requests_without_workers_stops_the_server() -> None:
    with KetchProcess(
        APP, "--port", "0", "--limit-max-requests", "3", "--limit-max-requests-jitter", "0"
    ) as process:
        port = process.port()
        for _ in range(3):
            get(port)
        assert process.wait(timeout=15) == 0


def test_max_worker_memory_recycles_a_worker_that_grew() -> None:
    with workers(APP, "--max-worker-memory", "100") as (process, port):
        grown = int(get(port, "/grow?150"))
        match = process.wait_for_line(REPLACED)
        assert int(match[4]) == grown
        assert match[2] == "max-worker-memory"
        wait_until(lambda: grown not in children(process.pid), what="the grown worker exits")
        assert len(children(process.pid)) == 2
        assert process.stop() == 0


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ("brokenapp:app", "no_such_dependency_for_ketch"),
        ("tests.support.apps:failing_startup", "database unreachable"),
    ],
    ids=["import-error", "startup-failure"],
)
def test_a_worker_that_cannot_start_ends_the_command_with_its_one_line_error(
    tmp_path: Path, app: str, expected: str
) -> None:
    (tmp_path / "brokenapp.py").write_text("import no_such_dependency_for_ketch\n")
    started = time.monotonic()
    app_dir = str(tmp_path) if app.startswith("brokenapp") else "."
    result = run_ketch(app, "--app-dir", app_dir, "--workers", "2", "--port", "0")
    assert time.monotonic() - started < 15  # no restart loop
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ketch: error: ")
    assert expected in lines[0]


def test_web_concurrency_is_the_default_number_of_workers() -> None:
    with KetchProcess(APP, "--port", "0", env={"WEB_CONCURRENCY": "2"}) as process:
        process.port()
        wait_until(lambda: len(children(process.pid)) == 2, what="2 workers")
        assert process.stop() == 0
    assert any(line.endswith(" with 2 workers") for line in process.stderr)


def test_workers_flag_overrides_web_concurrency() -> None:
    with KetchProcess(APP, "--port", "0", "--workers", "1", env={"WEB_CONCURRENCY": "3"}) as p:
        port = p.port()
        assert get(port) == str(p.pid)  # no supervisor: the process itself serves
        assert p.stop() == 0


def test_reuse_port_gives_each_worker_its_own_socket() -> None:
    with workers(APP, "--reuse-port") as (process, port):
        pids = children(process.pid)
        seen: set[int] = set()

        def both_answered() -> bool:
            seen.update(int(get(port)) for _ in range(10))
            return seen == pids

        wait_until(both_answered, what="answers from both workers")
        assert process.stop() == 0


def test_workers_serve_files_on_a_unix_socket(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello from a file\n")
    path = str(tmp_path / "ketch.sock")
    with KetchProcess(
        "--uds", path, "--root", str(tmp_path), "--workers", "2", "--no-access-log"
    ) as process:
        assert process.wait_serving() == f"unix:{path}"
        with httpx.Client(transport=httpx.HTTPTransport(uds=path)) as client:
            for _ in range(4):
                assert client.get("http://ketch/hello.txt").text == "hello from a file\n"
        assert process.stop() == 0
    assert not os.path.exists(path)


def scrape(url: str) -> dict[str, float]:
    samples = {}
    for line in httpx.get(url, timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_sum_every_worker_and_survive_a_restart() -> None:
    """Every worker records into its own slot of one shared block; any of them answers."""
    metrics_line = re.compile(r"Metrics on (http://\S+/metrics)")
    with workers(APP, "--metrics-bind", "127.0.0.1:0") as (process, port):
        url = process.wait_for_line(metrics_line)[1]
        for _ in range(40):
            get(port)
        ok = 'ketch_requests_total{status="2xx"}'

        def counted(samples: dict[str, float]) -> bool:
            return samples[ok] >= 40  # a connection's request is counted as its response ends

        wait_until(lambda: counted(scrape(url)), what="40 requests counted")
        assert scrape(url)[ok] == 40, "scrapes are not counted"
        victim = min(children(process.pid))
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(children(process.pid) - {victim}) == 2, what="the worker replaced")
        samples = scrape(url)
        assert samples[ok] == 40, "counts outlive the worker that made them"
        assert samples["ketch_worker_restarts_total"] == 1
        assert samples["ketch_open_connections"] >= 0
        for _ in range(10):
            get(port)
        wait_until(lambda: scrape(url)[ok] == 50, what="10 more requests counted")
        assert process.stop() == 0
