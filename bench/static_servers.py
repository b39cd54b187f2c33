"""Static-file benchmark: ketch's file server beside nginx and aiohttp's static handler, with wrk.

Run from the repository root (either form works)::

    .venv/bin/python bench/static_servers.py            # 2 files x 3 servers x 3 rounds of 5 s
    .venv/bin/python bench/static_servers.py --quick    # smoke run: 1 round of 2 s
    .venv/bin/python -m bench.static_servers --servers ketch,nginx --rounds 5 --json out.json

Needs nginx and wrk (Debian: ``apt-get install -y nginx-light wrk``; run as root, the script
installs what is missing with apt-get) and aiohttp with uvloop in the venv.

Every server serves the same directory of two files of random bytes, ``1k.bin`` (1 KiB) and
``10m.bin`` (10 MiB), over loopback, pinned to one core (``taskset -c 1``), with wrk (one thread)
on the other core:

* ketch: ``ketch --root DIR --no-access-log`` (the command with no app: ``ketch.static``), the
  mypyc-compiled build (``scripts/build-compiled``, ``PYTHONPATH=build/compiled``); ketch-py runs
  the interpreted sources.
* nginx: one worker process (``worker_processes 1``; the master only waits), ``sendfile on``,
  ``access_log off``, keep-alive without a request limit (``keepalive_requests`` raised from
  1000 so that wrk's connections live the whole run, as they do on the Python servers), its own
  configuration and prefix in a temporary directory.
* aiohttp: ``web.static("/", DIR)`` (``bench/apps/aiohttp_static.py``), uvloop, no access log.

The method is ``http_servers.py``'s, and so is the code: starting and killing process groups,
waiting for the port, wrk and its output, the machine-noise checks and the table cells are
imported from it.  Rounds are interleaved (every server once per round); a cell is the median of
the rounds, its ``[min-max]`` and its ratio to nginx's median.  The report ends with the targets
(ketch at least 0.4x nginx on the 1 KiB file in requests/s and 0.8x on the 10 MiB file in
bytes/s), is printed, and written to ``bench/results/<date>-static.md`` with the logs beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

if __package__ in (None, ""):  # run as bench/static_servers.py: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import http_servers as hs
from bench.http_servers import HOST, ROOT, Scenario, Server, StartError, log

FILES = {"1k.bin": 1024, "10m.bin": 10 << 20}
SCENARIO_LIST: tuple[Scenario, ...] = (
    Scenario("1k", "1 KiB file, keep-alive, 64 conns", path="/1k.bin"),
    Scenario(
        "10m", "10 MiB file, keep-alive, 16 conns", path="/10m.bin", connections=16, throughput=True
    ),
)
SCENARIOS = {s.name: s for s in SCENARIO_LIST}
# (scenario, metric, minimum ratio of ketch's median to nginx's)
TARGETS = (("1k", "requests_per_sec", 0.4), ("10m", "transfer_mb_per_sec", 0.8))
BASELINE = "nginx"

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port} backlog=2048;
        root {root};
    }}
}}
"""


def _ketch(name: str, *, compiled: bool) -> Server:
    build = "compiled, as `pip install .` builds it" if compiled else "interpreted sources"
    return Server(
        name=name,
        argv=(
            "{bin}/ketch",
            "--root",
            "{root}",
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--no-access-log",
        ),
        description=f"ketch with no app (`ketch --root DIR --no-access-log`), {build}",
        modules=("ketch",),
        dists=("ketch",),
        compiled=compiled,
    )


SERVER_LIST: tuple[Server, ...] = (
    _ketch("ketch", compiled=True),
    Server(
        name="nginx",
        argv=("{nginx}", "-p", "{prefix}", "-e", "{prefix}/error.log", "-c", "{prefix}/nginx.conf"),
        description="nginx, 1 worker process, sendfile on, access_log off (config in the script)",
    ),
    Server(
        name="aiohttp",
        argv=(
            "{python}",
            "-m",
            "bench.apps.aiohttp_static",
            "--root",
            "{root}",
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--backlog",
            "2048",
        ),
        description="aiohttp.web, `web.static('/', DIR)` (bench/apps/aiohttp_static.py), uvloop,"
        " no access log",
        modules=("aiohttp", "uvloop"),
        pip=("aiohttp", "uvloop"),
        dists=("aiohttp",),
    ),
    _ketch("ketch-py", compiled=False),
)
SERVERS = {s.name: s for s in SERVER_LIST}
DEFAULT_SERVERS = ("ketch", "nginx", "aiohttp")


def make_files(root: Path) -> dict[str, str]:
    """Write the benchmark's files under `root` (readable by nginx's worker); their sha256."""
    root.chmod(0o755)
    digests = {}
    for name, size in FILES.items():
        data = os.urandom(size)
        (root / name).write_bytes(data)
        (root / name).chmod(0o644)
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def ensure_nginx() -> str | None:
    """nginx's path, installing Debian's nginx-light when missing and running as root."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    log("nginx is missing: apt-get install -y nginx-light")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "nginx-light"], env=env, check=False)
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )


@dataclass
class Setup:
    root: Path
    digests: dict[str, str]
    nginx: str | None
    work: Path  # per-run nginx prefixes go here


def _check(digests: dict[str, str]) -> Callable[[int], None]:
    def check(port: int) -> None:
        for name, digest in digests.items():
            request = f"GET /{name} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
            status, body = hs._http(port, request.encode(), timeout=20)
            if status != 200 or hashlib.sha256(body).hexdigest() != digest:
                raise StartError(f"GET /{name} answered {status} with {len(body)} other bytes")

    return check


def concrete(server: Server, setup: Setup, port: int) -> Server:
    """`server` with the directory (and nginx's prefix for this port) filled in."""
    values = {"root": str(setup.root), "nginx": setup.nginx or "nginx"}
    if server.name == "nginx":
        prefix = setup.work / f"nginx-{port}"
        prefix.mkdir()
        conf = NGINX_CONF.format(prefix=prefix, host=HOST, port=port, root=setup.root)
        (prefix / "nginx.conf").write_text(conf)
        values["prefix"] = str(prefix)
    argv = []
    for part in server.argv:
        for key, value in values.items():
            part = part.replace("{" + key + "}", value)
        argv.append(part)
    return dataclasses.replace(server, argv=tuple(argv))


def one_run(name: str, scenario: Scenario, rnd: int, opts: hs.Options, setup: Setup) -> hs.Run:
    port = hs.free_port(opts.port_base)
    log_path = opts.logs / f"{scenario.name}-{name}-r{rnd}.log"
    server = concrete(SERVERS[name], setup, port)
    try:
        proc = hs.start_server(server, opts, port, log_path, check=_check(setup.digests))
    except StartError as exc:
        return hs.Run(scenario.name, name, rnd, ok=False, error=f"start: {exc}")
    try:
        if opts.warmup:
            hs.run_wrk(scenario, opts, port, opts.warmup)
        exclude = {os.getpgrp(), proc.pid}
        before, wall = hs.cpu_ticks_by_pid(), time.monotonic()
        output, wrk_cpu = hs.run_wrk(scenario, opts, port, opts.duration)
        other = hs.other_cpu_percent(
            before, hs.cpu_ticks_by_pid(), exclude, time.monotonic() - wall
        )
        result = hs.parse_wrk(output)
        result.wrk_cpu_percent = round(wrk_cpu, 1)
        result.other_cpu_percent = round(other, 1)
    except (RuntimeError, ValueError) as exc:
        return hs.Run(scenario.name, name, rnd, ok=False, error=str(exc))
    finally:
        hs.stop_server(proc)
    (opts.logs / f"{scenario.name}-{name}-r{rnd}.wrk.txt").write_text(output)
    return hs.Run(scenario.name, name, rnd, ok=True, result=result)


def _values(report: hs.Report, scenario: str, server: str, attr: str) -> list[float]:
    return [
        getattr(r.result, attr)
        for r in report.runs
        if r.scenario == scenario and r.server == server and r.ok and r.result
    ]


def render_markdown(report: hs.Report) -> str:
    cfg = report.config
    m = report.machine
    lines = [
        f"# ketch static-file benchmark — {report.started}",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['kernel']}",
        f"- Python: {m['python']}; load average at the start: {m['loadavg']}",
        f"- Load generator: {m['wrk']}, {cfg['wrk_threads']} thread(s), "
        f"timeout {cfg['wrk_timeout']}",
        f"- Pinning: server on CPU {cfg['server_cpu']}, wrk on CPU {cfg['wrk_cpu']}",
        f"- Runs: {cfg['rounds']} round(s) of {cfg['duration']} s (after a {cfg['warmup']} s "
        "warm-up), a fresh server per run, servers interleaved",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in cfg['versions'].items())}",
        "",
        "Cells: median [min-max of the runs] (ratio of the median to nginx's); MiB/s is wrk's "
        "Transfer/sec (bodies and heads); ⚠ = a run had socket errors or non-2xx/3xx responses.",
        "",
    ]
    header = ["file"] + [
        s + (" (baseline)" if s == report.baseline else "") for s in report.servers
    ]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scn_name in report.scenarios:
        scn = SCENARIOS[scn_name]
        metrics = [("req/s", "requests_per_sec")]
        if scn.throughput:
            metrics.append(("MiB/s", "transfer_mb_per_sec"))
        for unit, attr in metrics:
            base_values = _values(report, scn_name, report.baseline, attr)
            base = statistics.median(base_values) if base_values else None
            row = [f"{scn.title} ({unit})"]
            for srv in report.servers:
                if srv in report.unavailable:
                    row.append("unavailable")
                    continue
                values = _values(report, scn_name, srv, attr)
                runs = [r for r in report.runs if r.scenario == scn_name and r.server == srv]
                if not values:
                    row.append("failed" if runs else "—")
                    continue
                flagged = any(r.flags for r in runs)
                row.append(hs._cell(values, base, flagged, srv == report.baseline))
            lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Targets", ""]
    for scn_name, attr, minimum in TARGETS:
        ketch = _values(report, scn_name, "ketch", attr)
        base_values = _values(report, scn_name, report.baseline, attr)
        if scn_name not in report.scenarios or not ketch or not base_values:
            lines.append(f"- {scn_name}: not measured")
            continue
        ratio = statistics.median(ketch) / statistics.median(base_values)
        verdict = "PASS" if ratio >= minimum else "FAIL"
        unit = "req/s" if attr == "requests_per_sec" else "MiB/s"
        lines.append(
            f"- {SCENARIOS[scn_name].title}, {unit}: ketch {ratio:.2f}x nginx "
            f"(target {minimum}x): {verdict}"
        )
    flagged_runs = [r for r in report.runs if r.flags]
    if flagged_runs:
        lines += ["", "## Flagged runs", ""]
        for r in flagged_runs:
            detail = "; ".join(f.replace("\n", " / ") for f in r.flags)
            lines.append(f"- {r.scenario} / {r.server} / round {r.round}: {detail}")
    notes = [
        f"{r.scenario}/{r.server}/r{r.round} wrk {r.result.wrk_cpu_percent:.0f}%"
        for r in report.runs
        if r.result and (r.result.wrk_cpu_percent or 0.0) >= hs.WRK_BUSY_PERCENT
    ]
    if notes:
        lines += [
            "",
            "Note: wrk near its core's limit (the load generator may be the limit): "
            + ", ".join(notes)
            + ".",
        ]
    noisy = [
        f"{r.scenario}/{r.server}/r{r.round} {r.result.other_cpu_percent:.0f}%"
        for r in report.runs
        if r.result and (r.result.other_cpu_percent or 0.0) >= hs.NOISY_PERCENT
    ]
    if noisy:
        lines += [
            "",
            "Note: other processes used a tenth of a core or more during: "
            + ", ".join(noisy)
            + " (those figures are low).",
        ]
    if report.unavailable:
        lines += ["", "## Unavailable servers", ""]
        for name, why in report.unavailable.items():
            lines.append(f"- {name}: {' / '.join(why.strip().splitlines()[:6])}")
    lines += ["", "## Servers", ""]
    lines += [f"- {name}: {SERVERS[name].description}" for name in report.servers]
    lines.append("")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/static_servers.py",
        description="wrk benchmark of ketch's static files against nginx and aiohttp.",
    )
    p.add_argument(
        "--servers",
        type=lambda t: hs._names(t, SERVERS, "server"),
        default=list(DEFAULT_SERVERS),
        help=f"comma-separated (default: {','.join(DEFAULT_SERVERS)}; also: ketch-py)",
    )
    p.add_argument(
        "--scenarios",
        type=lambda t: hs._names(t, SCENARIOS, "scenario"),
        default=list(SCENARIOS),
        help=f"comma-separated (default: {','.join(SCENARIOS)})",
    )
    p.add_argument("--rounds", type=int, default=3, help="runs per server and file")
    p.add_argument("--duration", type=hs._seconds, default=5, help="seconds per run (default 5)")
    p.add_argument("--warmup", type=hs._seconds, default=1, help="unmeasured seconds first")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s, no warm-up")
    p.add_argument("--python", help="interpreter of the servers' venv (default: .venv)")
    p.add_argument("--server-cpu", type=int, default=1, help="core for the server (taskset)")
    p.add_argument("--wrk-cpu", type=int, default=0, help="core for wrk (taskset)")
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument("--wrk-timeout", default="5s", help="wrk --timeout (default 5s)")
    p.add_argument("--start-timeout", type=float, default=20.0, help="seconds to wait for a port")
    p.add_argument("--pause", type=float, default=0.5, help="seconds between runs")
    p.add_argument("--port-base", type=int, default=19000, help="first port tried")
    p.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    p.add_argument("--no-save", action="store_true", help="write nothing under bench/results/")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 2, 0
    if args.rounds < 1 or args.duration < 1:
        p.error("--rounds and --duration must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    python = hs.venv_python(args.python)
    wrk = hs.ensure_wrk()
    servers = list(dict.fromkeys(args.servers))
    server_cpu: int | None = args.server_cpu
    wrk_cpu: int | None = args.wrk_cpu
    allowed = os.sched_getaffinity(0)
    if args.no_pin or shutil.which("taskset") is None:
        server_cpu = wrk_cpu = None
    elif server_cpu not in allowed or wrk_cpu not in allowed or server_cpu == wrk_cpu:
        log(f"warning: cannot pin to CPUs {server_cpu}/{wrk_cpu} (allowed {sorted(allowed)})")
        server_cpu = wrk_cpu = None

    unavailable: dict[str, str] = {}
    nginx = ensure_nginx() if "nginx" in servers else None
    if "nginx" in servers and nginx is None:
        unavailable["nginx"] = "nginx is not installed (apt-get install -y nginx-light)"
    for name in servers:
        missing = hs.missing_modules(python, SERVERS[name].modules)
        if missing:
            unavailable[name] = f"missing modules {', '.join(missing)}"
    if any(SERVERS[n].compiled for n in servers if n not in unavailable):
        log("building ketch with mypyc (scripts/build-compiled)")
        if subprocess.run([str(ROOT / "scripts" / "build-compiled")], check=False).returncode:
            for name in servers:
                if SERVERS[name].compiled:
                    unavailable[name] = "scripts/build-compiled failed"
    for name, why in unavailable.items():
        log(f"{name}: unavailable ({why})")

    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y-%m-%d-%H%M%S")
    if args.no_save:
        logs = Path(tempfile.mkdtemp(prefix="ketch-bench-"))
    else:  # bench/results/ is git-ignored
        logs = hs.RESULTS_DIR / f"{stamp}-static-logs"
        logs.mkdir(parents=True, exist_ok=True)
    opts = hs.Options(
        python=python,
        wrk=wrk,
        server_cpu=server_cpu,
        wrk_cpu=wrk_cpu,
        duration=args.duration,
        warmup=args.warmup,
        wrk_threads=1,
        wrk_timeout=args.wrk_timeout,
        start_timeout=args.start_timeout,
        pause=args.pause,
        port_base=args.port_base,
        logs=logs,
    )
    dists = [d for n in servers for d in SERVERS[n].dists]
    versions = hs.dist_versions(python, list(dict.fromkeys(dists)))
    if nginx is not None:
        out = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
        versions["nginx"] = (out.stderr or out.stdout).strip().rpartition("/")[2]
    report = hs.Report(
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        machine=hs.machine_info(python, wrk),
        config={
            "rounds": args.rounds,
            "duration": args.duration,
            "warmup": args.warmup,
            "wrk_threads": 1,
            "wrk_timeout": args.wrk_timeout,
            "server_cpu": server_cpu,
            "wrk_cpu": wrk_cpu,
            "versions": versions,
        },
        servers=servers,
        scenarios=list(dict.fromkeys(args.scenarios)),
        baseline=BASELINE,
        unavailable=unavailable,
    )
    work = Path(tempfile.mkdtemp(prefix="ketch-static-bench-"))
    try:
        site = work / "site"
        site.mkdir()
        work.chmod(0o755)  # nginx's worker runs as another user when started as root
        setup = Setup(root=site, digests=make_files(site), nginx=nginx, work=work)
        log(f"# {report.started}; files in {site}; logs in {logs}")

        def describe(scn_name: str, res: hs.WrkResult) -> str:
            return (
                f"{res.requests_per_sec:,.0f} req/s, {res.transfer_mb_per_sec:,.0f} MiB/s (wrk CPU "
                f"{res.wrk_cpu_percent:.0f}%, others {res.other_cpu_percent:.0f}%)"
            )

        hs.run_matrix(
            report,
            args.rounds,
            lambda name, scn_name, rnd: one_run(name, SCENARIOS[scn_name], rnd, opts, setup),
            describe,
            pause=opts.pause,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    hs.save_report(
        render_markdown(report),
        hs.report_json(report),
        f"{stamp}-static.md",
        args.no_save,
        args.json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
