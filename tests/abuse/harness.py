"""A reusable harness for abusing a real server process over real 127.0.0.1 sockets.

Pieces:

* `ServerProcess`: starts ``ketch`` (or the aiohttp baseline) as a subprocess on port 0, learns the
  port from its start-up line, waits until it accepts, and reads its resident memory
  (``/proc/<pid>/status``), open descriptors (``/proc/<pid>/fd``) and stderr (collected by a thread,
  line by line with a timestamp, to assert "no traceback").  Always stopped at the end: SIGTERM,
  then SIGKILL after a bound.
* `RssSampler`: a thread that samples a server's RSS every few milliseconds during a phase and
  reports the peak (the kernel's high-water mark is reset first where allowed).
* The clients from `clients` (`Client`, `ResponseParser`, `blocking_exchange`, `get`, ...),
  re-exported so a test imports everything from here.
* `run`: runs a coroutine on a fresh uvloop loop (asyncio's when uvloop is missing).
* `record`: prints measured figures and stores them in `FIGURES_PATH` (JSON), keyed by test.

Everything is bounded: every wait has a timeout, every socket and process is closed in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .clients import (
    HOST,
    KIB,
    MIB,
    Client,
    Response,
    ResponseError,
    ResponseParser,
    blocking_exchange,
    get,
    request_bytes,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence

__all__ = [
    "FIGURES_PATH",
    "HOST",
    "KIB",
    "MIB",
    "REPO",
    "Client",
    "Response",
    "ResponseError",
    "ResponseParser",
    "RssSampler",
    "ServerProcess",
    "blocking_exchange",
    "get",
    "percentile",
    "raise_fd_limit",
    "record",
    "request_bytes",
    "run",
]

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
FIGURES_PATH = Path(os.environ.get("KETCH_ABUSE_FIGURES", "/tmp/ketch-abuse-figures.json"))

_PORT_LINE = re.compile(r"on https?://127\.0\.0\.1:(\d+)")


# ---------------------------------------------------------------------------- process limits


def raise_fd_limit() -> int:
    """Raise this process's RLIMIT_NOFILE soft limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------------------- figures


def record(test: str, **figures: Any) -> None:
    """Print `figures` and store them in the JSON file at `FIGURES_PATH` under `test`.

    Each call replaces that test's entry (other tests' entries stay), so the file always holds the
    latest run of every test.
    """
    for name, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"[{test}] {name} = {shown}", flush=True)
    try:
        data = json.loads(FIGURES_PATH.read_text())
    except (OSError, ValueError):
        data = {}
    data[test] = {**figures, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    tmp = FIGURES_PATH.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    tmp.replace(FIGURES_PATH)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` (0..1) percentile of `values`, nearest-rank; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


# ---------------------------------------------------------------------------- the server process


def _ketch_command() -> list[str]:
    script = Path(sys.executable).with_name("ketch")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ketch"]


class ServerProcess:
    """A server running as a child process, observed through /proc.

    Args:
        app: ``module:attribute`` of the ASGI app (importable from the repository root); ``""``
            for none (ketch then serves files, ``--root`` in `args`).
        args: extra command-line options, e.g. ``["--timeout-header", "5"]``.
        kind: ``"ketch"`` or ``"aiohttp"`` (the `tests.abuse.apps_aiohttp` baseline; `app` is
            ignored and `args` go to that script).
        env: extra environment variables for the child.
        start_timeout: seconds to wait for the start-up line and the first accepted connection.
        preexec: called in the child before it runs ketch (e.g. to drop root's capability to
            ignore file permissions).

    Use as a context manager: the process is started on enter and always gone on exit.
    """

    def __init__(
        self,
        app: str = "tests.abuse.apps:app",
        args: Iterable[str] = (),
        *,
        kind: str = "ketch",
        env: Mapping[str, str] | None = None,
        start_timeout: float = 15.0,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.args = list(args)
        self.kind = kind
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.preexec = preexec
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.returncode: int | None = None
        self._lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._port_found = threading.Event()
        self._reader: threading.Thread | None = None
        self._listener: int | None = None

    # ------------------------------------------------------------ life cycle

    def command(self) -> list[str]:
        if self.kind == "ketch":
            return [
                *_ketch_command(),
                *([self.app] if self.app else []),
                "--host",
                HOST,
                "--port",
                "0",
                "--no-access-log",
                *self.args,
            ]
        if self.kind == "aiohttp":
            return [sys.executable, "-m", "tests.abuse.apps_aiohttp", "--port", "0", *self.args]
        raise ValueError(f"unknown server kind {self.kind!r}")

    def start(self) -> Self:
        raise_fd_limit()
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            preexec_fn=self.preexec,
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.start_timeout
        while not self._port_found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.kind} did not start (exit {self.returncode}):\n{self.stderr_text()}"
                )
        self._wait_accepting(deadline)
        self._listener = self.listener_inode()
        return self

    def _read_stderr(self) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self._lines.append((time.monotonic(), line.rstrip("\n")))
            if not self._port_found.is_set():
                match = _PORT_LINE.search(line)
                if match:
                    self.port = int(match.group(1))
                    self._port_found.set()

    def _wait_accepting(self, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection((HOST, self.port), timeout=1.0):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.kind} never accepted on port {self.port}") from None
                time.sleep(0.02)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def send_signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; returns its status (raises TimeoutExpired)."""
        assert self.proc is not None
        self.returncode = self.proc.wait(timeout)
        self._finish_reader()
        return self.returncode

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit status."""
        proc = self.proc
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.returncode = proc.returncode
        self._finish_reader()
        return self.returncode

    def _finish_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(5)
        if self.proc is not None and self.proc.stderr is not None and not self._reader_alive():
            self.proc.stderr.close()

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------ observation

    def _status(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
        return fields

    def rss(self) -> int:
        """Resident set size in bytes (VmRSS)."""
        return int(self._status()["VmRSS"].split()[0]) * KIB

    def hwm(self) -> int:
        """Peak resident set size in bytes (VmHWM) since start or the last `reset_hwm`."""
        return int(self._status()["VmHWM"].split()[0]) * KIB

    def reset_hwm(self) -> bool:
        """Reset VmHWM to the current RSS (``echo 5 > clear_refs``); False if not permitted."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            return False
        return True

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used, in seconds."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fds(self) -> int:
        """Number of open file descriptors."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def threads(self) -> int:
        return int(self._status()["Threads"])

    def listener_inode(self) -> int | None:
        """The inode of the socket listening on our port (from /proc/net/tcp), if any."""
        wanted = f":{self.port:04X}"
        with open("/proc/net/tcp") as table:
            next(table)
            for line in table:
                parts = line.split()
                if parts[1].endswith(wanted) and parts[3] == "0A":
                    return int(parts[9])
        return None

    def listening(self) -> bool:
        """Whether the process still holds its listening socket open.

        Cheap enough to poll every millisecond: it looks through the process's descriptors for the
        listener's inode (found once) instead of rereading /proc/net/tcp, which lists every
        TIME_WAIT socket on the machine and can take tens of milliseconds to read.
        """
        if self._listener is None:
            self._listener = self.listener_inode()
            if self._listener is None:
                return False
        target = f"socket:[{self._listener}]"
        directory = f"/proc/{self.pid}/fd"
        for name in os.listdir(directory):
            with contextlib.suppress(OSError):
                if os.readlink(f"{directory}/{name}") == target:
                    return True
        return False

    def stderr_lines(self, since: float = 0.0) -> list[str]:
        """Stderr lines received at or after monotonic time `since`."""
        with self._lock:
            return [line for stamp, line in self._lines if stamp >= since]

    def stderr_text(self) -> str:
        return "\n".join(self.stderr_lines())

    def tracebacks(self) -> list[str]:
        """Lines that start a traceback (what 'no traceback in stderr' asserts empty)."""
        return [line for line in self.stderr_lines() if "Traceback" in line]

    def settle(self, probe: Callable[[], T], *, until: Callable[[T], bool], timeout: float) -> T:
        """Call `probe` every 50 ms until `until(value)` or `timeout`; returns the last value."""
        deadline = time.monotonic() + timeout
        value = probe()
        while not until(value) and time.monotonic() < deadline:
            time.sleep(0.05)
            value = probe()
        return value


class RssSampler:
    """Samples a server's RSS in a thread while the ``with`` block runs.

    Attributes:
        before: RSS when sampling started.
        peak: the highest of the samples and of the kernel's VmHWM (when it could be reset).
        samples: the number of samples taken.
    """

    def __init__(self, server: ServerProcess, interval: float = 0.005) -> None:
        self.server = server
        self.interval = interval
        self.before = 0
        self.peak = 0
        self.samples = 0
        self._hwm_valid = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def growth(self) -> int:
        return self.peak - self.before

    def __enter__(self) -> Self:
        self._hwm_valid = self.server.reset_hwm()
        self.before = self.peak = self.server.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, self.server.rss())
                self.samples += 1

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(OSError):
            self.peak = max(self.peak, self.server.rss())
            if self._hwm_valid:
                self.peak = max(self.peak, self.server.hwm())


# ---------------------------------------------------------------------------- running coroutines


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on a fresh event loop (uvloop when installed), within `timeout` seconds."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None

    async def bounded() -> T:
        if timeout is None:
            return await coro
        async with asyncio.timeout(timeout):
            return await coro

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(bounded())


raise_fd_limit()
