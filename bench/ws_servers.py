"""WebSocket benchmark harness: ketch against its peers, measured with bench/ws_load.py.

Run from the repository root (either form works)::

    .venv/bin/python bench/ws_servers.py --quick                # a smoke run: 1 round of 2 s
    .venv/bin/python -m bench.ws_servers --servers uvicorn,aiohttp --scenarios text-16
    .venv/bin/python bench/ws_servers.py --list                 # the servers and scenarios

The counterpart of ``bench/http_servers.py``, with the same method and most of its code (the
server registry's ``Server``, starting and stopping a server's process group, pinning, the
machine-noise checks, the table cells), imported from it:

* The load generator is ``bench/ws_load.py`` (wrk cannot speak WebSocket): asyncio + uvloop, raw
  protocol connections, one message in flight per connection, pinned to one core
  (``taskset -c 0``); the server under test is pinned to the other (``taskset -c 1``).
* Every run starts a fresh server in its own process group on a port of its own, waits until the
  port accepts connections, checks that ``GET /`` answers ``ok`` and that ``/ws`` echoes a text
  and a binary message (``ws_load.probe``), runs the load (warm-up, then the measurement, on the
  same connections), then kills the whole process group.
* Runs are interleaved (A B A B ...) for several rounds; the report gives the median and min-max
  of messages/s, the ratio to the baseline (uvicorn by default), flags runs with errors, and
  notes runs where the load generator used 90% or more of its core (client-bound) and runs
  during which other processes used the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as bench/ws_servers.py: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import http_servers as hs
from bench import ws_load
from bench.http_servers import HOST, ROOT, Server, StartError, log

RESULTS_DIR = hs.RESULTS_DIR

# --------------------------------------------------------------------------------------------
# Servers: http_servers' entries with the WebSocket apps.  Adding one is one entry here.
# --------------------------------------------------------------------------------------------

WS_ASGI_APP = "bench.apps.ws_asgi_app:app"
WS_NATIVE_APP = "bench.apps.ws_native_app:app"


def _with_app(base: str, name: str, description: str, *extra: str, modules: str = "") -> Server:
    """http_servers' ``base`` entry (same flags), serving the WebSocket app instead."""
    server = hs.SERVERS[base]
    apps = {hs.ASGI_APP: WS_ASGI_APP, "bench.apps.aiohttp_app": "bench.apps.ws_aiohttp_app"}
    argv = tuple(apps.get(part, part) for part in server.argv) + extra
    more = tuple(modules.split())
    return dataclasses.replace(
        server,
        name=name,
        argv=argv,
        description=description,
        modules=server.modules + more,
        pip=server.pip + more,
        dists=server.dists + more,
    )


SERVER_LIST: tuple[Server, ...] = (
    hs._ketch("ketch", WS_ASGI_APP, "ASGI", compiled=True),
    hs._ketch("ketch-native", WS_NATIVE_APP, "native API", compiled=True),
    hs._ketch("ketch-py", WS_ASGI_APP, "ASGI", compiled=False),
    hs._ketch("ketch-native-py", WS_NATIVE_APP, "native API", compiled=False),
    _with_app(
        "uvicorn",
        "uvicorn",
        "uvicorn, ASGI, httptools + uvloop, `--ws auto` (its default: in uvicorn 0.54, "
        "websockets' Sans-I/O implementation, as `--ws websockets-sansio`), no access log",
        modules="websockets",
    ),
    _with_app(
        "uvicorn",
        "uvicorn-sansio",
        "uvicorn, ASGI, httptools + uvloop, `--ws websockets-sansio`",
        "--ws",
        "websockets-sansio",
        modules="websockets",
    ),
    _with_app(
        "uvicorn",
        "uvicorn-websockets",
        "uvicorn, ASGI, httptools + uvloop, `--ws websockets` (websockets' legacy asyncio "
        "implementation, deprecated)",
        "--ws",
        "websockets",
        modules="websockets",
    ),
    _with_app(
        "uvicorn",
        "uvicorn-wsproto",
        "uvicorn, ASGI, httptools + uvloop, `--ws wsproto`",
        "--ws",
        "wsproto",
        modules="wsproto",
    ),
    _with_app(
        "hypercorn",
        "hypercorn",
        "Hypercorn, ASGI, uvloop worker (WebSocket via wsproto)",
        modules="wsproto",
    ),
    _with_app("granian", "granian", "Granian, ASGI interface, 1 worker, 1 runtime thread, uvloop"),
    _with_app(
        "aiohttp",
        "aiohttp",
        "aiohttp.web (bench/apps/ws_aiohttp_app.py, `web.WebSocketResponse`), uvloop, "
        "no access log",
    ),
)
SERVERS: dict[str, Server] = {s.name: s for s in SERVER_LIST}
# run when --servers is not given; the others are there to be named
DEFAULT_SERVERS = ("ketch", "ketch-native", "ketch-py", "ketch-native-py", "uvicorn", "aiohttp")
DEFAULT_BASELINE = "uvicorn"
CLIENT_BUSY_PERCENT = hs.WRK_BUSY_PERCENT  # the client above this share of its core: client-bound
NOISY_PERCENT = hs.NOISY_PERCENT


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    kind: str  # text or binary
    size: int  # payload bytes per message
    connections: int = 64
    throughput: bool = False  # also report MiB/s

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.size}"


SCENARIO_LIST: tuple[Scenario, ...] = (
    Scenario("text-16", "16 B text echo, 64 conns", "text", 16),
    Scenario("text-4k", "4 KiB text echo, 64 conns", "text", 4096),
    Scenario("binary-64k", "64 KiB binary echo, 64 conns", "binary", 65536, throughput=True),
)
SCENARIOS: dict[str, Scenario] = {s.name: s for s in SCENARIO_LIST}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class WsResult:
    messages_per_sec: float
    mb_per_sec: float  # payload MiB/s, one way
    messages: int
    seconds: float
    connections: int
    connected: int
    client_cpu_percent: float  # the load generator's CPU while measuring, in % of one core
    client_user_percent: float
    errors: list[str] = field(default_factory=list)
    close_failures: list[str] = field(default_factory=list)
    other_cpu_percent: float | None = None  # CPU used meanwhile by other processes (noise)
    # the server's process group over the client's whole run (connects, warm-up, closes too)
    server_cpu_percent: float | None = None


@dataclass
class Run:
    scenario: str
    server: str
    round: int
    ok: bool
    result: WsResult | None = None
    error: str | None = None
    attempts: int = 1  # more than 1: earlier attempts were noisy and were run again

    @property
    def flags(self) -> list[str]:
        if not self.ok:
            return [f"failed: {self.error}"]
        assert self.result is not None
        res = self.result
        out: list[str] = []
        if res.connected < res.connections:
            out.append(f"only {res.connected} of {res.connections} connections opened")
        if res.errors:
            out.append(f"{len(res.errors)} error(s): " + "; ".join(res.errors[:3]))
        if res.close_failures:
            out.append(
                f"{len(res.close_failures)} close failure(s): " + "; ".join(res.close_failures[:3])
            )
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
# One run: a fresh server, the readiness check, the load
# --------------------------------------------------------------------------------------------


@dataclass
class Options:
    python: str
    server_cpu: int | None
    client_cpu: int | None
    duration: int
    warmup: int
    timeout: float
    connections: int | None  # overrides the scenarios' count
    start_timeout: float
    pause: float
    port_base: int
    logs: Path

    def http_options(self) -> hs.Options:
        """What ``http_servers.start_server`` reads (the wrk fields are unused)."""
        return hs.Options(
            python=self.python,
            wrk="",
            server_cpu=self.server_cpu,
            wrk_cpu=self.client_cpu,
            duration=self.duration,
            warmup=self.warmup,
            wrk_threads=1,
            wrk_timeout="",
            start_timeout=self.start_timeout,
            pause=self.pause,
            port_base=self.port_base,
            logs=self.logs,
        )


def check_ws_app(port: int) -> None:
    """Fail unless ``GET /`` answers ``ok`` and ``/ws`` echoes a text and a binary message."""
    status, body = hs._http(
        port, f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    )
    if status != 200 or body.strip() != b"ok":
        raise StartError(f"GET / answered {status} {body[:60]!r}")
    try:
        ws_load.probe(HOST, port, "/ws")
    except ws_load.WsError as exc:
        raise StartError(f"/ws: {exc}") from exc


def start_server(
    server: Server, opts: Options, port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    """``http_servers.start_server`` (process group, pinning, compiled-build check) with the
    WebSocket app's readiness check in place of the HTTP routes' one."""
    return hs.start_server(server, opts.http_options(), port, log_path, check=check_ws_app)


def client_argv(scenario: Scenario, opts: Options, port: int) -> list[str]:
    return [
        *hs.pin_prefix(opts.client_cpu),
        opts.python,
        "-m",
        "bench.ws_load",
        "--host",
        HOST,
        "--port",
        str(port),
        "--messages",
        scenario.spec,
        "--connections",
        str(opts.connections or scenario.connections),
        "--duration",
        str(opts.duration),
        "--warmup",
        str(opts.warmup),
        "--timeout",
        str(opts.timeout),
        "--json",
    ]


def run_client(scenario: Scenario, opts: Options, port: int) -> tuple[WsResult, str]:
    """Run ws_load once; its result and its output (stdout and stderr)."""
    argv = client_argv(scenario, opts, port)
    limit = opts.warmup + opts.duration + 4 * opts.timeout + 30
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=limit, check=False, cwd=ROOT
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the load generator did not finish within {limit:.0f} s") from exc
    output = proc.stdout + (f"\n--- stderr ---\n{proc.stderr}" if proc.stderr else "")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode not in (0, 1) or not lines:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(
            f"the load generator exited with status {proc.returncode}: "
            + " / ".join(detail[-4:] if detail else ["no output"])
        )
    raw = json.loads(lines[-1])
    result = WsResult(
        messages_per_sec=raw["messages_per_sec"],
        mb_per_sec=raw["mb_per_sec"],
        messages=raw["messages"],
        seconds=raw["seconds"],
        connections=raw["connections"],
        connected=raw["connected"],
        client_cpu_percent=raw["cpu_percent"],
        client_user_percent=raw["cpu_user_percent"],
        errors=raw["errors"],
        close_failures=raw["close_failures"],
    )
    return result, output


def group_cpu_percent(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], pgrp: int, wall: float
) -> float:
    """CPU used by one process group (the server's) between two samples, in % of one core."""
    ticks = 0
    for pid, (group, total) in after.items():
        if group == pgrp:
            prev = before.get(pid)
            ticks += total - prev[1] if prev is not None and prev[0] == group else total
    return 100.0 * ticks / os.sysconf("SC_CLK_TCK") / wall if wall > 0 else 0.0


def one_run(server: Server, scenario: Scenario, rnd: int, opts: Options) -> Run:
    port = hs.free_port(opts.port_base)
    stem = f"{scenario.name}-{server.name}-r{rnd}"
    try:
        proc = start_server(server, opts, port, opts.logs / f"{stem}.log")
    except StartError as exc:
        return Run(scenario.name, server.name, rnd, ok=False, error=f"start: {exc}")
    output = ""
    try:
        exclude = {os.getpgrp(), proc.pid}  # the harness with the client, and the server's group
        before, wall = hs.cpu_ticks_by_pid(), time.monotonic()
        result, output = run_client(scenario, opts, port)
        after, wall = hs.cpu_ticks_by_pid(), time.monotonic() - wall
        result.other_cpu_percent = round(hs.other_cpu_percent(before, after, exclude, wall), 1)
        result.server_cpu_percent = round(group_cpu_percent(before, after, proc.pid, wall), 1)
    except (RuntimeError, ValueError, KeyError) as exc:
        return Run(scenario.name, server.name, rnd, ok=False, error=str(exc))
    finally:
        hs.stop_server(proc)
        if output:
            (opts.logs / f"{stem}.client.txt").write_text(output)
    if not result.connected:
        first = result.errors[0] if result.errors else "no connection opened"
        return Run(scenario.name, server.name, rnd, ok=False, result=result, error=first)
    return Run(scenario.name, server.name, rnd, ok=True, result=result)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def render_markdown(report: Report) -> str:
    cfg = report.config
    lines = [
        f"# ketch WebSocket benchmark — {report.started}",
        "",
        f"- Machine: {report.machine['cpu']}, {report.machine['cores']} cores, "
        f"{report.machine['kernel']}",
        f"- Python: {report.machine['python']}; load average at the start: "
        f"{report.machine['loadavg']}",
        "- Load generator: bench/ws_load.py (asyncio + uvloop, raw protocol), one message in "
        f"flight per connection, echo timeout {cfg['timeout']:g} s",
        f"- Pinning: server on CPU {cfg['server_cpu']}, load generator on CPU {cfg['client_cpu']}",
        f"- Runs: {cfg['rounds']} round(s) of {cfg['duration']} s "
        f"(after a {cfg['warmup']} s warm-up on the same connections), a fresh server per run, "
        "servers interleaved",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in cfg['versions'].items())}",
        "",
        "Cells: median messages/s (echoes received per second, all connections together) "
        "[min-max of the runs] (ratio of the median to the baseline's, "
        f"{report.baseline}); ⚠ = a run had errors (listed below).",
        "",
    ]
    servers = report.servers
    header = ["scenario"] + [s + (" (baseline)" if s == report.baseline else "") for s in servers]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))

    def runs_for(scn: str, srv: str) -> list[Run]:
        return [r for r in report.runs if r.scenario == scn and r.server == srv]

    def values(scn: str, srv: str, attr: str) -> list[float]:
        return [getattr(r.result, attr) for r in runs_for(scn, srv) if r.ok and r.result]

    for scn_name in report.scenarios:
        scn = SCENARIOS[scn_name]
        metrics = [("msg/s", "messages_per_sec")]
        if scn.throughput:
            metrics.append(("MiB/s one way", "mb_per_sec"))
        for unit, attr in metrics:
            base_vals = values(scn_name, report.baseline, attr)
            base = statistics.median(base_vals) if base_vals else None
            row = [f"{scn.title} ({unit})"]
            for srv in servers:
                if srv in report.unavailable:
                    row.append("unavailable")
                    continue
                vals = values(scn_name, srv, attr)
                if not vals:
                    row.append("failed" if runs_for(scn_name, srv) else "—")
                    continue
                flagged = any(r.flags for r in runs_for(scn_name, srv))
                row.append(hs._cell(vals, base, flagged, srv == report.baseline))
            lines.append("| " + " | ".join(row) + " |")

    lines += [
        "",
        "CPU, median % of one core: the load generator while measuring (its user-space part in "
        "parentheses; the rest is the kernel's, which on loopback includes delivering what it "
        "sends) / the server over the load generator's whole run:",
        "",
        "| scenario | " + " | ".join(servers) + " |",
        "|" + "---|" * (len(servers) + 1),
    ]
    for scn_name in report.scenarios:
        row = [scn_name]
        for srv in servers:
            total = values(scn_name, srv, "client_cpu_percent")
            user = values(scn_name, srv, "client_user_percent")
            server = values(scn_name, srv, "server_cpu_percent")
            cell = "—"
            if total:
                cell = f"{statistics.median(total):.0f}% ({statistics.median(user):.0f}%)"
                if server:
                    cell += f" / {statistics.median(server):.0f}%"
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")

    flagged_runs = [r for r in report.runs if r.flags]
    if flagged_runs:
        lines += ["", "## Flagged runs", ""]
        for r in flagged_runs:
            detail = "; ".join(f.replace("\n", " / ") for f in r.flags)
            lines.append(f"- {r.scenario} / {r.server} / round {r.round}: {detail}")
    busy = [
        r
        for r in report.runs
        if r.result and r.result.client_cpu_percent >= CLIENT_BUSY_PERCENT and r.ok
    ]
    if busy:
        lines += [
            "",
            f"Note: the load generator used at least {CLIENT_BUSY_PERCENT:.0f}% of its core in "
            "these runs, so it, not the server, may be the limit there (client-bound): "
            + ", ".join(
                f"{r.scenario}/{r.server}/r{r.round} {r.result.client_cpu_percent:.0f}%"
                for r in busy
                if r.result
            )
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
            runs = [r for r in report.runs if r.scenario == scn and r.server == srv]
            results = [r.result for r in runs if r.ok and r.result]
            if not results:
                continue
            rate = [x.messages_per_sec for x in results]
            cpu = [x.client_cpu_percent for x in results]
            summary[scn][srv] = {
                "median_messages_per_sec": statistics.median(rate),
                "min_messages_per_sec": min(rate),
                "max_messages_per_sec": max(rate),
                "median_mb_per_sec": statistics.median(x.mb_per_sec for x in results),
                "median_client_cpu_percent": statistics.median(cpu),
                "max_client_cpu_percent": max(cpu),
                "median_server_cpu_percent": statistics.median(
                    x.server_cpu_percent or 0.0 for x in results
                ),
                "runs": len(results),
                "flagged_runs": sum(1 for r in runs if r.flags),
            }
    data["summary"] = summary
    return data


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/ws_servers.py",
        description="WebSocket echo benchmark of ketch against uvicorn and aiohttp.",
    )
    p.add_argument(
        "--servers",
        type=lambda t: hs._names(t, SERVERS, "server"),
        default=list(DEFAULT_SERVERS),
        help=f"comma-separated (default: {','.join(DEFAULT_SERVERS)}; also: "
        + ",".join(s for s in SERVERS if s not in DEFAULT_SERVERS)
        + ")",
    )
    p.add_argument(
        "--scenarios",
        type=lambda t: hs._names(t, SCENARIOS, "scenario"),
        default=list(SCENARIOS),
        help=f"comma-separated (default: {','.join(SCENARIOS)})",
    )
    p.add_argument("--baseline", default=DEFAULT_BASELINE, help="ratios are to this server")
    p.add_argument("--rounds", type=int, default=3, help="runs per server and scenario")
    p.add_argument("--duration", type=hs._seconds, default=5, help="seconds per run (default 5)")
    p.add_argument("--warmup", type=hs._seconds, default=1, help="unmeasured seconds first")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s, no warm-up")
    p.add_argument("--connections", type=int, help="connections in every scenario (default: 64)")
    p.add_argument(
        "--timeout", type=float, default=5.0, help="seconds without an echo: an error (5)"
    )
    p.add_argument("--install", action="store_true", help="pip-install missing peers")
    p.add_argument("--python", help="interpreter of the servers' venv (default: .venv)")
    p.add_argument("--server-cpu", type=int, default=1, help="core for the server (taskset)")
    p.add_argument("--client-cpu", type=int, default=0, help="core for ws_load (taskset)")
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
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
    p.add_argument("--port-base", type=int, default=19000, help="first port tried")
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
    if args.connections is not None and args.connections < 1:
        p.error("--connections must be at least 1")
    return args


def _availability(python: str, servers: list[str], install: bool) -> dict[str, str]:
    """Servers that cannot run, and why (missing modules; the compiled build failing)."""
    unavailable: dict[str, str] = {}
    for name in servers:
        server = SERVERS[name]
        missing = hs.missing_modules(python, server.modules)
        if missing and install and server.pip:
            log(f"{name}: installing {' '.join(server.pip)} (missing: {' '.join(missing)})")
            subprocess.run(
                [python, "-m", "pip", "install", *server.pip], stdout=sys.stderr, check=False
            )
            missing = hs.missing_modules(python, server.modules)
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
    return unavailable


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for s in SERVER_LIST:
            default = "" if s.name in DEFAULT_SERVERS else " [not run by default]"
            print(f"server   {s.name:18} {s.description}{default}")
        for c in SCENARIO_LIST:
            print(f"scenario {c.name:18} {c.title}")
        return 0

    python = hs.venv_python(args.python)
    nofile = hs.raise_nofile_limit()
    server_cpu: int | None = args.server_cpu
    client_cpu: int | None = args.client_cpu
    allowed = os.sched_getaffinity(0)
    if args.no_pin or shutil.which("taskset") is None:
        server_cpu = client_cpu = None
    elif server_cpu not in allowed or client_cpu not in allowed or server_cpu == client_cpu:
        log(f"warning: cannot pin to CPUs {server_cpu}/{client_cpu} (allowed {sorted(allowed)})")
        server_cpu = client_cpu = None

    servers: list[str] = list(dict.fromkeys(args.servers))
    baseline = args.baseline
    if baseline not in servers:
        log(f"note: baseline {baseline} is not among the servers; no ratios")
    if hs.missing_modules(python, ("uvloop",)):
        sys.exit(f"bench/ws_servers.py: the load generator needs uvloop in {python}")
    unavailable = _availability(python, servers, args.install)

    dists = ["uvloop"] + [d for n in servers for d in SERVERS[n].dists]
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y-%m-%d-%H%M%S")
    if args.no_save:
        logs = Path(tempfile.mkdtemp(prefix="ketch-ws-bench-"))
    else:  # bench/results/ is git-ignored
        logs = RESULTS_DIR / f"{stamp}-ws-logs"
        logs.mkdir(parents=True, exist_ok=True)
    opts = Options(
        python=python,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        duration=args.duration,
        warmup=args.warmup,
        timeout=args.timeout,
        connections=args.connections,
        start_timeout=args.start_timeout,
        pause=args.pause,
        port_base=args.port_base,
        logs=logs,
    )
    # http_servers' machine_info asks wrk for its version; `true` stands in and is dropped
    machine = hs.machine_info(python, shutil.which("true") or "true")
    machine.pop("wrk", None)
    report = Report(
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        config={
            "rounds": args.rounds,
            "duration": args.duration,
            "warmup": args.warmup,
            "timeout": args.timeout,
            "connections": args.connections,
            "server_cpu": server_cpu,
            "client_cpu": client_cpu,
            "nofile": nofile,
            "wait_quiet": args.wait_quiet,
            "retry_noisy": args.retry_noisy,
            "versions": hs.dist_versions(python, list(dict.fromkeys(dists))),
        },
        servers=servers,
        scenarios=list(dict.fromkeys(args.scenarios)),
        baseline=baseline,
        unavailable=unavailable,
    )
    log(f"# {report.started}; server logs and load generator output in {logs}")
    noise, top = hs.machine_noise()
    if noise >= NOISY_PERCENT:
        log(
            f"warning: other processes are using {noise:.0f}% of a core; the figures will be "
            "low and noisy (see --wait-quiet).  Busiest: " + "; ".join(top)
        )

    def describe(scenario: Scenario, res: Any) -> str:
        extra = f", {res.mb_per_sec:,.0f} MiB/s" if scenario.throughput else ""
        extra += (
            f" (client CPU {res.client_cpu_percent:.0f}%,"
            f" server {res.server_cpu_percent or 0.0:.0f}%,"
            f" other processes {res.other_cpu_percent or 0.0:.0f}%)"
        )
        return f"{res.messages_per_sec:,.0f} msg/s{extra}"

    hs.run_matrix(
        report,
        args.rounds,
        lambda name, scn_name, rnd: one_run(SERVERS[name], SCENARIOS[scn_name], rnd, opts),
        lambda scn_name, res: describe(SCENARIOS[scn_name], res),
        pause=opts.pause,
        wait_quiet_limit=args.wait_quiet,
        retry_noisy=args.retry_noisy,
    )
    hs.save_report(
        render_markdown(report), report_json(report), f"{stamp}-ws.md", args.no_save, args.json
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
