"""HTTP benchmark harness: ketch against its peers, measured with wrk.

Run from the repository root (either form works)::

    .venv/bin/python bench/http_servers.py --quick                 # a smoke run: 1 round of 2 s
    .venv/bin/python -m bench.http_servers --servers ketch,uvicorn --scenarios plaintext,pipelined
    .venv/bin/python bench/http_servers.py --install   # pip-install the missing peers first

Method:

* wrk (Debian's package, installed with apt-get when missing and running as root) drives the
  load, pinned to one core (``taskset -c 0``); the server under test is pinned to the other
  (``taskset -c 1``).
* Every run starts a fresh server process in its own process group on a port of its own, waits
  until the port accepts connections and the app answers correctly, runs wrk, then kills the
  whole process group.
* Runs are interleaved: for each scenario, every server runs once per round (A B A B ...), for
  several rounds.  The report gives the median and the min-max of the runs, the ratio of each
  median to the baseline server's (uvicorn by default), and flags every run in which wrk saw
  socket errors or non-2xx/3xx responses.
* The report (markdown) is printed and written to ``bench/results/<date>.md`` (git-ignored);
  ``--json PATH`` also writes the raw runs.

Standard library only; it calls wrk, taskset, apt-get and pip as external programs.  It imports
nothing from the stdlib ``http`` package, so running it as ``bench/http_servers.py`` (which puts
``bench/`` first on ``sys.path``) is safe.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
COMPILED_BUILD = ROOT / "build" / "compiled"  # scripts/build-compiled puts the mypyc build here
HOST = "127.0.0.1"

HELLO = b"Hello, world!"
ONE_MIB = 1 << 20
ECHO_PROBE = b'{"probe":"' + b"e" * 100 + b'"}'

# --------------------------------------------------------------------------------------------
# Servers: a registry.  Adding one is one entry here.
# In ``argv`` these placeholders are filled in: {python} (the venv's interpreter), {bin} (its
# scripts directory), {host}, {port}.  The process runs with the repository root as its
# working directory, so ``bench.apps...`` imports.
# --------------------------------------------------------------------------------------------

ASGI_APP = "bench.apps.asgi_app:app"


@dataclass(frozen=True)
class Server:
    name: str
    argv: tuple[str, ...]
    description: str
    modules: tuple[str, ...] = ()  # importable modules the server needs
    pip: tuple[str, ...] = ()  # what ``--install`` pip-installs when one of them is missing
    dists: tuple[str, ...] = ()  # distributions whose versions go in the report
    compiled: bool = False  # runs ketch's mypyc build (scripts/build-compiled), as pip installs it


KETCH_NATIVE_APP = "bench.apps.native_app:app"


def _ketch(name: str, app: str, what: str, *, compiled: bool) -> Server:
    build = "compiled, as `pip install .` builds it" if compiled else "interpreted sources"
    return Server(
        name=name,
        argv=("{bin}/ketch", app, "--host", "{host}", "--port", "{port}", "--no-access-log"),
        description=f"ketch, {what} (`ketch {app} --no-access-log`), {build}",
        modules=("ketch",),
        dists=("ketch",),
        compiled=compiled,
    )


SERVER_LIST: tuple[Server, ...] = (
    _ketch("ketch", ASGI_APP, "ASGI", compiled=True),
    _ketch("ketch-native", KETCH_NATIVE_APP, "native API", compiled=True),
    _ketch("ketch-py", ASGI_APP, "ASGI", compiled=False),
    _ketch("ketch-native-py", KETCH_NATIVE_APP, "native API", compiled=False),
    Server(
        name="uvicorn",
        argv=(
            "{bin}/uvicorn",
            ASGI_APP,
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ),
        description="uvicorn, ASGI, httptools + uvloop, no access log",
        modules=("uvicorn", "httptools", "uvloop"),
        pip=("uvicorn", "httptools", "uvloop"),
        dists=("uvicorn", "httptools", "uvloop"),
    ),
    Server(
        name="hypercorn",
        argv=(
            "{bin}/hypercorn",
            ASGI_APP,
            "--bind",
            "{host}:{port}",
            "--worker-class",
            "uvloop",
            "--workers",
            "1",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ),
        description="Hypercorn, ASGI, uvloop worker (no access log by default)",
        modules=("hypercorn", "uvloop"),
        pip=("hypercorn", "uvloop"),
        dists=("hypercorn",),
    ),
    Server(
        name="granian",
        argv=(
            "{bin}/granian",
            ASGI_APP,
            "--interface",
            "asgi",
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--http",
            "1",
            "--workers",
            "1",
            "--runtime-threads",
            "1",
            "--loop",
            "uvloop",
            "--backlog",
            "2048",
            "--no-access-log",
            "--log-level",
            "warning",
        ),
        description="Granian, ASGI interface, 1 worker, 1 runtime thread, uvloop",
        modules=("granian", "uvloop"),
        pip=("granian", "uvloop"),
        dists=("granian",),
    ),
    Server(
        name="aiohttp",
        argv=(
            "{python}",
            "-m",
            "bench.apps.aiohttp_app",
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--backlog",
            "2048",
        ),
        description="aiohttp.web (bench/apps/aiohttp_app.py), uvloop, no access log",
        modules=("aiohttp", "uvloop"),
        pip=("aiohttp", "uvloop"),
        dists=("aiohttp",),
    ),
)
SERVERS: dict[str, Server] = {s.name: s for s in SERVER_LIST}
DEFAULT_BASELINE = "uvicorn"
WRK_BUSY_PERCENT = 90.0  # wrk above this share of its core: the load generator may be the limit
NOISY_PERCENT = 10.0  # other processes above this share of a core during a run: not quiet


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    path: str = "/"
    connections: int = 64
    script: str | None = None  # a Lua file under bench/
    headers: tuple[str, ...] = ()
    throughput: bool = False  # also report MB/s


SCENARIO_LIST: tuple[Scenario, ...] = (
    Scenario("plaintext", "plaintext GET, keep-alive, 64 conns"),
    Scenario("pipelined", "pipelined x16 GET, 64 conns", script="wrk_pipeline.lua"),
    Scenario("json-echo", "1 KiB JSON POST echo, 64 conns", script="wrk_post_json.lua"),
    Scenario("1m", "1 MiB response GET /1m, 64 conns", path="/1m", throughput=True),
    Scenario("close", "Connection: close GET, 64 conns", headers=("Connection: close",)),
    Scenario("c1000", "plaintext GET, 1000 conns", connections=1000),
)
SCENARIOS: dict[str, Scenario] = {s.name: s for s in SCENARIO_LIST}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_sec: float
    transfer_mb_per_sec: float  # wrk's MB (MiB) per second
    requests: int
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    wrk_cpu_percent: float | None = None  # CPU time of wrk / wall time, in % of one core
    other_cpu_percent: float | None = None  # CPU used meanwhile by other processes (noise)

    @property
    def socket_error_total(self) -> int:
        return sum(self.socket_errors.values())


@dataclass
class Run:
    scenario: str
    server: str
    round: int
    ok: bool
    result: WrkResult | None = None
    error: str | None = None
    attempts: int = 1  # more than 1: earlier attempts were noisy and were run again

    @property
    def flags(self) -> list[str]:
        if not self.ok:
            return [f"failed: {self.error}"]
        assert self.result is not None
        out: list[str] = []
        if self.result.socket_error_total:
            errs = ", ".join(f"{k} {v}" for k, v in self.result.socket_errors.items())
            out.append(f"socket errors: {errs}")
        if self.result.non_2xx_3xx:
            out.append(f"non-2xx/3xx responses: {self.result.non_2xx_3xx}")
        return out


@dataclass
class Report:
    started: str
    machine: dict[str, str]
    config: dict[str, Any]
    servers: list[str]
    scenarios: list[str]
    baseline: str
    unavailable: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# wrk output parsing
# --------------------------------------------------------------------------------------------

_UNITS = {"": 1.0, "B": 1.0, "KB": 1024.0, "MB": 1024.0**2, "GB": 1024.0**3, "TB": 1024.0**4}
_TIME_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _bytes(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)([KMGT]?B?)", text.strip())
    if not m:
        raise ValueError(f"cannot parse a wrk byte count: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"cannot parse a wrk duration: {text!r}")
    return float(m.group(1)) * _TIME_MS[m.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Parse wrk's report (run with ``--latency``)."""
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", output, re.M)
    transfer = re.search(r"^Transfer/sec:\s*(\S+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    if not (rps and transfer and total):
        raise ValueError("wrk printed no Requests/sec, Transfer/sec or request count")
    errors: dict[str, int] = {}
    sock = re.search(r"Socket errors:(.*)$", output, re.M)
    if sock:
        for kind, count in re.findall(r"(\w+) (\d+)", sock.group(1)):
            errors[kind] = int(count)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.M)
    return WrkResult(
        requests_per_sec=float(rps.group(1)),
        transfer_mb_per_sec=_bytes(transfer.group(1)) / 1024.0**2,
        requests=int(total.group(1)),
        socket_errors=errors,
        non_2xx_3xx=int(non2xx.group(1)) if non2xx else 0,
        latency_p50_ms=_ms(p50.group(1)) if p50 else None,
        latency_p99_ms=_ms(p99.group(1)) if p99 else None,
    )


# --------------------------------------------------------------------------------------------
# Environment: wrk, file-descriptor limit, pinning, peers
# --------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when missing (as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        sys.exit(
            "bench/http_servers.py: wrk is not installed.  Install it (Debian/Ubuntu: "
            "`sudo apt-get install -y wrk`) and run again."
        )
    log("wrk is missing: apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([apt, "install", "-y", "wrk"], env=env, check=False).returncode != 0:
        log("apt-get install failed; running apt-get update first and trying again")
        subprocess.run([apt, "update"], env=env, check=False)
        subprocess.run([apt, "install", "-y", "wrk"], env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        sys.exit(
            "bench/http_servers.py: could not install wrk with apt-get; install it and run again."
        )
    return found


def raise_nofile_limit(wanted: int = 65536) -> int:
    """Raise RLIMIT_NOFILE (inherited by wrk and the servers) for the 1000-connection run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):  # raising the hard limit needs root
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def pin_prefix(cpu: int | None) -> list[str]:
    if cpu is None:
        return []
    return ["taskset", "-c", str(cpu)]


def venv_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    candidate = ROOT / ".venv" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    return sys.executable


def missing_modules(python: str, modules: tuple[str, ...]) -> list[str]:
    if not modules:
        return []
    code = (
        "import importlib.util, sys\n"
        "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
    )
    proc = subprocess.run(
        [python, "-c", code, *modules], capture_output=True, text=True, check=False, cwd=ROOT
    )
    return proc.stdout.split()


def dist_versions(python: str, dists: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try:\n"
        "        out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError:\n"
        "        out[d] = 'not installed'\n"
        "print(json.dumps(out))"
    )
    proc = subprocess.run(
        [python, "-c", code, *dists], capture_output=True, text=True, check=False, cwd=ROOT
    )
    try:
        result: dict[str, str] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {}
    return result


def machine_info(python: str, wrk: str) -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    py = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (wrk_version.stdout or wrk_version.stderr).splitlines()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{py or 'unknown'} ({python})",
        "wrk": first[0].split(" Copyright")[0].strip() if first else "unknown",
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --------------------------------------------------------------------------------------------
# Running one server + one wrk
# --------------------------------------------------------------------------------------------


class StartError(Exception):
    pass


_next_port = 0


def free_port(base: int) -> int:
    """A port that binds now, counting up from base so that each run gets a new one."""
    global _next_port
    port = max(base, _next_port)
    while port < 65535:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                port += 1
                continue
        _next_port = port + 1
        return port
    _next_port = base
    raise RuntimeError("no free port")


def _http(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """A one-shot HTTP/1.1 exchange (``Connection: close``); returns (status, body)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(request)
        chunks: list[bytes] = []
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise StartError(f"incomplete response: {data[:200]!r}")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body = _dechunk(body)
    elif b"content-length" in headers:
        body = body[: int(headers[b"content-length"])]
    return status, body


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    while True:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(rest[:size])
        data = rest[size + 2 :]


def check_app(port: int) -> None:
    """Fail unless the server answers the three routes as the scenarios expect."""
    base = f"Host: {HOST}:{port}\r\nConnection: close\r\n".encode()
    status, body = _http(port, b"GET / HTTP/1.1\r\n" + base + b"\r\n")
    if status != 200 or body != HELLO:
        raise StartError(f"GET / answered {status} {body[:60]!r}")
    status, body = _http(
        port,
        b"POST /echo HTTP/1.1\r\n"
        + base
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(ECHO_PROBE)).encode()
        + b"\r\n\r\n"
        + ECHO_PROBE,
    )
    if status != 200 or body != ECHO_PROBE:
        raise StartError(f"POST /echo answered {status} {body[:60]!r}")
    status, body = _http(port, b"GET /1m HTTP/1.1\r\n" + base + b"\r\n")
    if status != 200 or len(body) != ONE_MIB:
        raise StartError(f"GET /1m answered {status} with {len(body)} bytes")


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


@dataclass
class Options:
    python: str
    wrk: str
    server_cpu: int | None
    wrk_cpu: int | None
    duration: int
    warmup: int
    wrk_threads: int
    wrk_timeout: str
    start_timeout: float
    pause: float
    port_base: int
    logs: Path


def start_server(
    server: Server,
    opts: Options,
    port: int,
    log_path: Path,
    check: Callable[[int], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `server` and wait until its port answers `check` (default: the HTTP app check)."""
    values = {
        "python": opts.python,
        "bin": str(Path(opts.python).parent),
        "host": HOST,
        "port": str(port),
    }
    argv = [part.format(**values) for part in server.argv]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if server.compiled:
        env["PYTHONPATH"] = str(COMPILED_BUILD)
    with log_path.open("wb") as out:
        try:
            proc = subprocess.Popen(
                pin_prefix(opts.server_cpu) + argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed whole after the run
            )
        except OSError as exc:
            raise StartError(f"cannot run {argv[0]}: {exc}") from exc
    deadline = time.monotonic() + opts.start_timeout
    while True:
        if proc.poll() is not None:
            raise StartError(
                f"exited with status {proc.returncode} before listening:\n{_tail(log_path)}"
            )
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                stop_server(proc)
                raise StartError(
                    f"port {port} not accepting after {opts.start_timeout:.0f} s:\n"
                    f"{_tail(log_path)}"
                ) from None
            time.sleep(0.05)
    try:
        (check or check_app)(port)
    except (OSError, ValueError, IndexError, StartError) as exc:
        stop_server(proc)
        raise StartError(f"the app answered wrongly: {exc}\n{_tail(log_path)}") from exc
    if server.compiled and ", compiled)" not in log_path.read_text(errors="replace"):
        stop_server(proc)
        raise StartError(f"not running the compiled build:\n{_tail(log_path)}")
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left of it."""
    pgid = proc.pid  # start_new_session: the group id is the leader's pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)  # workers of a multi-process server, or a hung leader
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def wrk_argv(scenario: Scenario, opts: Options, port: int, duration: int) -> list[str]:
    threads = min(opts.wrk_threads, scenario.connections)
    argv = [
        *pin_prefix(opts.wrk_cpu),
        opts.wrk,
        "-t",
        str(threads),
        "-c",
        str(scenario.connections),
        "-d",
        f"{duration}s",
        "--timeout",
        opts.wrk_timeout,
        "--latency",
    ]
    for header in scenario.headers:
        argv += ["-H", header]
    if scenario.script:
        argv += ["-s", str(BENCH_DIR / scenario.script)]
    argv.append(f"http://{HOST}:{port}{scenario.path}")
    return argv


def run_wrk(scenario: Scenario, opts: Options, port: int, duration: int) -> tuple[str, float]:
    """wrk's report and the share of one core that wrk used (100 = one core saturated)."""
    argv = wrk_argv(scenario, opts, port, duration)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic()
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"wrk did not finish within {duration + 60} s") from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"wrk exited with status {proc.returncode}: {(proc.stderr or proc.stdout).strip()}"
        )
    wall = time.monotonic() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped here
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.stdout, 100.0 * cpu / wall if wall > 0 else 0.0


def cpu_ticks_by_pid() -> dict[int, tuple[int, int]]:
    """pid -> (process group, user + system clock ticks) for every process in /proc."""
    out: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields[0] is field 3 of proc(5) (state): pgrp is field 5, utime 14, stime 15
        out[int(entry.name)] = (int(fields[2]), int(fields[11]) + int(fields[12]))
    return out


def other_cpu_percent(
    before: dict[int, tuple[int, int]],
    after: dict[int, tuple[int, int]],
    exclude_groups: set[int],
    wall: float,
) -> float:
    """CPU used by processes other than ours during a run, in % of one core (noise)."""
    ticks = 0
    for pid, (pgrp, total) in after.items():
        if pgrp in exclude_groups:
            continue
        prev = before.get(pid)
        ticks += total - prev[1] if prev is not None and prev[0] == pgrp else total
    return 100.0 * ticks / os.sysconf("SC_CLK_TCK") / wall if wall > 0 else 0.0


def machine_noise(sample: float = 1.0) -> tuple[float, list[str]]:
    """CPU used by other processes over `sample` seconds (% of a core) and the top ones."""
    before, wall = cpu_ticks_by_pid(), time.monotonic()
    time.sleep(sample)
    after, wall = cpu_ticks_by_pid(), time.monotonic() - wall
    own = {os.getpgrp()}
    total = other_cpu_percent(before, after, own, wall)
    per_pid: list[tuple[float, int]] = []
    for pid, (pgrp, ticks) in after.items():
        if pgrp in own:
            continue
        prev = before.get(pid)
        used = ticks - prev[1] if prev is not None else ticks
        if used > 0:
            per_pid.append((100.0 * used / os.sysconf("SC_CLK_TCK") / wall, pid))
    top: list[str] = []
    for pct, pid in sorted(per_pid, reverse=True)[:3]:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            cmd = cmd or "[" + Path(f"/proc/{pid}/comm").read_text().strip() + "]"
        except (OSError, UnicodeDecodeError):
            cmd = "?"
        top.append(f"pid {pid} {pct:.0f}% {cmd.strip()[:80]}")
    return total, top


def wait_quiet(limit: float) -> float:
    """Wait up to `limit` seconds for other processes to leave the CPUs alone; the last noise."""
    deadline = time.monotonic() + limit
    while True:
        noise, _ = machine_noise(0.5)
        if noise < NOISY_PERCENT or time.monotonic() >= deadline:
            return noise
        time.sleep(1.0)


def one_run(server: Server, scenario: Scenario, rnd: int, opts: Options) -> Run:
    port = free_port(opts.port_base)
    log_path = opts.logs / f"{scenario.name}-{server.name}-r{rnd}.log"
    try:
        proc = start_server(server, opts, port, log_path)
    except StartError as exc:
        return Run(scenario.name, server.name, rnd, ok=False, error=f"start: {exc}")
    try:
        if opts.warmup:
            run_wrk(scenario, opts, port, opts.warmup)
        exclude = {os.getpgrp(), proc.pid}  # the harness with wrk, and the server's group
        before, wall = cpu_ticks_by_pid(), time.monotonic()
        output, wrk_cpu = run_wrk(scenario, opts, port, opts.duration)
        other = other_cpu_percent(before, cpu_ticks_by_pid(), exclude, time.monotonic() - wall)
        result = parse_wrk(output)
        result.wrk_cpu_percent = round(wrk_cpu, 1)
        result.other_cpu_percent = round(other, 1)
    except (RuntimeError, ValueError) as exc:
        return Run(scenario.name, server.name, rnd, ok=False, error=str(exc))
    finally:
        stop_server(proc)
    (opts.logs / f"{scenario.name}-{server.name}-r{rnd}.wrk.txt").write_text(output)
    return Run(scenario.name, server.name, rnd, ok=True, result=result)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(values: list[float], base: float | None, flagged: bool, is_baseline: bool) -> str:
    med = statistics.median(values)
    text = f"{_fmt(med)}"
    if len(values) > 1:
        text += f" [{_fmt(min(values))}-{_fmt(max(values))}]"
    if base and not is_baseline:
        text += f" ({med / base:.2f}x)"
    if flagged:
        text += " ⚠"
    return text


def render_markdown(report: Report) -> str:
    cfg = report.config
    lines = [
        f"# ketch HTTP benchmark — {report.started}",
        "",
        f"- Machine: {report.machine['cpu']}, {report.machine['cores']} cores, "
        f"{report.machine['kernel']}",
        f"- Python: {report.machine['python']}; load average at the start: "
        f"{report.machine['loadavg']}",
        f"- Load generator: {report.machine['wrk']}, {cfg['wrk_threads']} thread(s), "
        f"timeout {cfg['wrk_timeout']}",
        f"- Pinning: server on CPU {cfg['server_cpu']}, wrk on CPU {cfg['wrk_cpu']}",
        f"- Runs: {cfg['rounds']} round(s) of {cfg['duration']} s "
        f"(after a {cfg['warmup']} s warm-up), a fresh server per run, servers interleaved",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in cfg['versions'].items())}",
        "",
        "Cells: median [min-max of the runs] (ratio of the median to the baseline's, "
        f"{report.baseline}); ⚠ = a run had socket errors or non-2xx/3xx responses "
        "(listed below).",
        "",
    ]
    servers = report.servers
    header = ["scenario"] + [s + (" (baseline)" if s == report.baseline else "") for s in servers]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))

    def runs_for(scn: str, srv: str) -> list[Run]:
        return [r for r in report.runs if r.scenario == scn and r.server == srv]

    for scn_name in report.scenarios:
        scn = SCENARIOS[scn_name]
        metrics: list[tuple[str, str]] = [("req/s", "requests_per_sec")]
        if scn.throughput:
            metrics.append(("MB/s", "transfer_mb_per_sec"))
        for unit, attr in metrics:
            base_runs = [r for r in runs_for(scn_name, report.baseline) if r.ok and r.result]
            base_vals = [getattr(r.result, attr) for r in base_runs]
            base = statistics.median(base_vals) if base_vals else None
            row = [f"{scn.title} ({unit})"]
            for srv in servers:
                if srv in report.unavailable:
                    row.append("unavailable")
                    continue
                runs = runs_for(scn_name, srv)
                vals = [getattr(r.result, attr) for r in runs if r.ok and r.result]
                if not vals:
                    row.append("failed" if runs else "—")
                    continue
                flagged = any(r.flags for r in runs)
                row.append(_cell(vals, base, flagged, srv == report.baseline))
            lines.append("| " + " | ".join(row) + " |")

    flagged_runs = [r for r in report.runs if r.flags]
    if flagged_runs:
        lines += ["", "## Flagged runs", ""]
        for r in flagged_runs:
            detail = "; ".join(f.replace("\n", " / ") for f in r.flags)
            lines.append(f"- {r.scenario} / {r.server} / round {r.round}: {detail}")
    busy = [
        r for r in report.runs if r.result and (r.result.wrk_cpu_percent or 0.0) >= WRK_BUSY_PERCENT
    ]
    if busy:
        lines += [
            "",
            f"Note: wrk used at least {WRK_BUSY_PERCENT:.0f}% of its core in these runs, so the "
            "load generator, not the server, may be the limit there: "
            + ", ".join(f"{r.scenario}/{r.server}/r{r.round}" for r in busy)
            + ".",
        ]
    noisy = [
        r for r in report.runs if r.result and (r.result.other_cpu_percent or 0.0) >= NOISY_PERCENT
    ]
    if noisy:
        lines += [
            "",
            f"Note: other processes used at least {NOISY_PERCENT:.0f}% of a core during "
            f"{len(noisy)} of {len(report.runs)} runs (the machine was not quiet; those figures "
            "are low): "
            + ", ".join(
                f"{r.scenario}/{r.server}/r{r.round} {r.result.other_cpu_percent:.0f}%"
                for r in noisy
                if r.result
            )
            + ".",
        ]
    repeated = sum(r.attempts - 1 for r in report.runs)
    if repeated:
        lines += ["", f"{repeated} noisy run(s) were run again (--retry-noisy)."]
    if report.unavailable:
        lines += ["", "## Unavailable servers", ""]
        for name, why in report.unavailable.items():
            first = why.strip().splitlines()
            lines.append(f"- {name}: {' / '.join(line.strip() for line in first[:6])}")
    lines += ["", "## Servers", ""]
    for name in servers:
        lines.append(f"- {name}: {SERVERS[name].description}")
    lines.append("")
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    for run, raw in zip(report.runs, data["runs"], strict=True):
        raw["flags"] = run.flags
    summary: dict[str, dict[str, Any]] = {}
    for scn in report.scenarios:
        summary[scn] = {}
        for srv in report.servers:
            results = [
                r.result
                for r in report.runs
                if r.scenario == scn and r.server == srv and r.ok and r.result
            ]
            if not results:
                continue
            rps = [x.requests_per_sec for x in results]
            mbs = [x.transfer_mb_per_sec for x in results]
            summary[scn][srv] = {
                "median_rps": statistics.median(rps),
                "min_rps": min(rps),
                "max_rps": max(rps),
                "median_mb_per_sec": statistics.median(mbs),
                "min_mb_per_sec": min(mbs),
                "max_mb_per_sec": max(mbs),
                "runs": len(results),
                "flagged_runs": sum(
                    1 for r in report.runs if r.scenario == scn and r.server == srv and r.flags
                ),
            }
    data["summary"] = summary
    return data


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _names(text: str, known: dict[str, Any], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return names


def _seconds(text: str) -> int:
    m = re.fullmatch(r"(\d+)s?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"expected whole seconds such as 5 or 5s, got {text!r}")
    return int(m.group(1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/http_servers.py",
        description="wrk benchmark of ketch against uvicorn, Hypercorn, Granian and aiohttp.",
    )
    p.add_argument(
        "--servers",
        type=lambda t: _names(t, SERVERS, "server"),
        default=list(SERVERS),
        help=f"comma-separated (default: {','.join(SERVERS)})",
    )
    p.add_argument(
        "--scenarios",
        type=lambda t: _names(t, SCENARIOS, "scenario"),
        default=list(SCENARIOS),
        help=f"comma-separated (default: {','.join(SCENARIOS)})",
    )
    p.add_argument("--baseline", default=DEFAULT_BASELINE, help="ratios are to this server")
    p.add_argument("--rounds", type=int, default=3, help="runs per server and scenario")
    p.add_argument("--duration", type=_seconds, default=5, help="seconds per run (default 5)")
    p.add_argument("--warmup", type=_seconds, default=1, help="unmeasured seconds first")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s, no warm-up")
    p.add_argument("--install", action="store_true", help="pip-install missing peers")
    p.add_argument("--python", help="interpreter of the servers' venv (default: .venv)")
    p.add_argument("--server-cpu", type=int, default=1, help="core for the server (taskset)")
    p.add_argument("--wrk-cpu", type=int, default=0, help="core for wrk (taskset)")
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument("--wrk-threads", type=int, default=1, help="wrk -t (default 1: one core)")
    p.add_argument("--wrk-timeout", default="5s", help="wrk --timeout (default 5s)")
    p.add_argument("--start-timeout", type=float, default=20.0, help="seconds to wait for a port")
    p.add_argument("--pause", type=float, default=0.5, help="seconds between runs")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to this long until other processes use under "
        f"{NOISY_PERCENT:.0f}%% of a core (default 0: do not wait)",
    )
    p.add_argument(
        "--retry-noisy",
        type=int,
        default=0,
        metavar="N",
        help=f"run again, up to N times, a run during which other processes used "
        f"{NOISY_PERCENT:.0f}%% of a core or more (default 0)",
    )
    p.add_argument("--port-base", type=int, default=18000, help="first port tried")
    p.add_argument(
        "--json", metavar="PATH", help="also write the raw results as JSON ('-': stdout)"
    )
    p.add_argument("--no-save", action="store_true", help="do not write bench/results/<date>.md")
    p.add_argument("--list", action="store_true", help="list the servers and scenarios")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 2, 0
    if args.rounds < 1 or args.duration < 1:
        p.error("--rounds and --duration must be at least 1")
    return args


def run_matrix(
    report: Any,
    rounds: int,
    run_one: Callable[[str, str, int], Any],
    describe: Callable[[str, Any], str],
    *,
    pause: float,
    wait_quiet_limit: float = 0.0,
    retry_noisy: int = 0,
) -> None:
    """Run every scenario, round and server of `report`, servers interleaved within a round.

    `run_one(server, scenario, round)` returns a run (``ok``, ``result``, ``error``, ``flags``,
    ``attempts``); `describe(scenario, result)` is its log line.  A run while other processes
    used `NOISY_PERCENT` of a core is repeated up to `retry_noisy` times; a server that never
    starts is marked unavailable and skipped from then on.
    """
    total = len(report.scenarios) * rounds * len(report.servers)
    done = 0
    started_ok: set[str] = set()
    for scn_name in report.scenarios:
        for rnd in range(1, rounds + 1):
            for name in report.servers:
                done += 1
                if name in report.unavailable:
                    continue
                prefix = f"[{done}/{total}] {scn_name} r{rnd} {name}:"
                attempt = 1
                while True:
                    if wait_quiet_limit > 0:
                        wait_quiet(wait_quiet_limit)
                    run = run_one(name, scn_name, rnd)
                    run.attempts = attempt
                    other = (run.result.other_cpu_percent or 0.0) if run.result else 0.0
                    if other < NOISY_PERCENT or attempt > retry_noisy:
                        break
                    log(f"{prefix} other processes used {other:.0f}% of a core: run again")
                    attempt += 1
                    time.sleep(pause)
                report.runs.append(run)
                if run.ok and run.result is not None:
                    started_ok.add(name)
                    flags = f"  FLAGGED: {'; '.join(run.flags)}" if run.flags else ""
                    log(f"{prefix} {describe(scn_name, run.result)}{flags}")
                else:
                    log(f"{prefix} FAILED {run.error}")
                    if name not in started_ok and (run.error or "").startswith("start:"):
                        report.unavailable[name] = run.error or "did not start"
                        report.runs.remove(run)
                        log(f"{name}: marked unavailable (never started)")
                time.sleep(pause)


def save_report(
    markdown: str, as_json: dict[str, Any], name: str, no_save: bool, json_path: str | None
) -> None:
    """Print the table and save it as RESULTS_DIR/`name` (unless `no_save`); write the JSON to
    `json_path` (``-``: stdout, and the table goes to stderr)."""
    print(markdown, file=sys.stderr if json_path == "-" else sys.stdout)
    if not no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / name
        path.write_text(markdown)
        log(f"written: {path.relative_to(ROOT)}")
    if json_path:
        text = json.dumps(as_json, indent=2)
        if json_path == "-":
            print(text)
        else:
            Path(json_path).write_text(text + "\n")
            log(f"written: {json_path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for s in SERVER_LIST:
            print(f"server   {s.name:10} {s.description}")
        for c in SCENARIO_LIST:
            print(f"scenario {c.name:10} {c.title}")
        return 0

    python = venv_python(args.python)
    wrk = ensure_wrk()
    nofile = raise_nofile_limit()
    if (
        nofile != resource.RLIM_INFINITY
        and nofile < 2 * max(SCENARIOS[s].connections for s in args.scenarios) + 256
    ):
        log(f"warning: open-file limit is {nofile}; the 1000-connection run may fail")

    server_cpu: int | None = args.server_cpu
    wrk_cpu: int | None = args.wrk_cpu
    allowed = os.sched_getaffinity(0)
    if args.no_pin or shutil.which("taskset") is None:
        server_cpu = wrk_cpu = None
    elif server_cpu not in allowed or wrk_cpu not in allowed or server_cpu == wrk_cpu:
        log(f"warning: cannot pin to CPUs {server_cpu}/{wrk_cpu} (allowed {sorted(allowed)})")
        server_cpu = wrk_cpu = None

    servers: list[str] = list(dict.fromkeys(args.servers))
    baseline = args.baseline
    if baseline not in servers:
        log(f"note: baseline {baseline} is not among the servers; no ratios")

    unavailable: dict[str, str] = {}
    for name in servers:
        server = SERVERS[name]
        missing = missing_modules(python, server.modules)
        if missing and args.install and server.pip:
            log(f"{name}: installing {' '.join(server.pip)} (missing: {' '.join(missing)})")
            # pip's chatter goes to stderr with the progress, not into the report on stdout
            subprocess.run(
                [python, "-m", "pip", "install", *server.pip], stdout=sys.stderr, check=False
            )
            missing = missing_modules(python, server.modules)
        if missing:
            hint = f"; `{python} -m pip install {' '.join(server.pip)}` or --install"
            unavailable[name] = f"missing modules {', '.join(missing)}" + (
                hint if server.pip else ""
            )
            log(f"{name}: unavailable ({unavailable[name]})")

    if any(SERVERS[n].compiled for n in servers if n not in unavailable):
        log("building ketch with mypyc (scripts/build-compiled)")
        built = subprocess.run([str(ROOT / "scripts" / "build-compiled")], check=False)
        if built.returncode != 0:
            for name in servers:
                if SERVERS[name].compiled:
                    unavailable[name] = "scripts/build-compiled failed"
    dists = [d for n in servers for d in SERVERS[n].dists]
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y-%m-%d-%H%M%S")
    if args.no_save:
        logs = Path(tempfile.mkdtemp(prefix="ketch-bench-"))
    else:  # bench/results/ is git-ignored
        logs = RESULTS_DIR / f"{stamp}-logs"
        logs.mkdir(parents=True, exist_ok=True)
    opts = Options(
        python=python,
        wrk=wrk,
        server_cpu=server_cpu,
        wrk_cpu=wrk_cpu,
        duration=args.duration,
        warmup=args.warmup,
        wrk_threads=args.wrk_threads,
        wrk_timeout=args.wrk_timeout,
        start_timeout=args.start_timeout,
        pause=args.pause,
        port_base=args.port_base,
        logs=logs,
    )
    report = Report(
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine_info(python, wrk),
        config={
            "rounds": args.rounds,
            "duration": args.duration,
            "warmup": args.warmup,
            "wrk_threads": args.wrk_threads,
            "wrk_timeout": args.wrk_timeout,
            "server_cpu": server_cpu,
            "wrk_cpu": wrk_cpu,
            "nofile": nofile,
            "wait_quiet": args.wait_quiet,
            "retry_noisy": args.retry_noisy,
            "versions": dist_versions(python, list(dict.fromkeys(dists))),
        },
        servers=servers,
        scenarios=list(dict.fromkeys(args.scenarios)),
        baseline=baseline,
        unavailable=unavailable,
    )
    log(f"# {report.started}; server logs and wrk output in {logs}")
    noise, top = machine_noise()
    if noise >= NOISY_PERCENT:
        log(
            f"warning: other processes are using {noise:.0f}% of a core; the figures will be "
            "low and noisy (see --wait-quiet).  Busiest: " + "; ".join(top)
        )

    def describe(scenario: Scenario, res: Any) -> str:
        extra = f", {res.transfer_mb_per_sec:,.0f} MB/s" if scenario.throughput else ""
        extra += (
            f" (wrk CPU {res.wrk_cpu_percent:.0f}%, other processes {res.other_cpu_percent:.0f}%)"
        )
        return f"{res.requests_per_sec:,.0f} req/s{extra}"

    run_matrix(
        report,
        args.rounds,
        lambda name, scn_name, rnd: one_run(SERVERS[name], SCENARIOS[scn_name], rnd, opts),
        lambda scn_name, res: describe(SCENARIOS[scn_name], res),
        pause=opts.pause,
        wait_quiet_limit=args.wait_quiet,
        retry_noisy=args.retry_noisy,
    )

    save_report(
        render_markdown(report), report_json(report), f"{stamp}.md", args.no_save, args.json
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
