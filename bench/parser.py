"""Request-parsing throughput: ketch's sans-IO core against h11 and httptools (llhttp).

Every parser works as a server does on a keep-alive connection: ONE reader (or parser) object is
reused for the whole run, and for every request it produces the same record: method, target, the
``(name, value)`` header pairs as received and the body.  Buffers are fed over and over in a timed
loop; the parsers are interleaved per repetition (A B C A B C ...) so that machine noise hits all
three alike, and the garbage collector is off while a repetition is timed.

What each parser does between requests:

* ketch: its `RequestReader` (the reader inside `Connection`) goes on to the next request by
  itself, as llhttp does; no response is involved.
* h11: has no reader of its own, so each request is answered (``send`` of one pre-built
  ``h11.Response`` with Content-Length: 0 and ``h11.EndOfMessage``, then ``start_next_cycle()``);
  that cost is in its figure.
* httptools: llhttp goes on to the next message by itself.

ketch remembers whole heads it has parsed (a keep-alive client repeats its head), so the
"typical GET" figure is that of a repeated head; "GET, unseen heads" feeds 4096 different ones
in turn, the cost of a head never seen before.

Run: ``.venv/bin/python bench/parser.py`` (``--quick`` for a smoke run, ``--json PATH`` to save the
results, ``--check`` to exit 1 when ketch misses a target).  See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h11
import httptools

from ketch.http11 import NEED_DATA, Data, EndOfMessage, Limits, Request, RequestReader

if TYPE_CHECKING:
    from collections.abc import Callable

Header = tuple[bytes, bytes]
Record = tuple[bytes, bytes, list[Header], bytes]
"""What every parser produces per request: method, target, headers (as received), body."""

# ---------------------------------------------------------------------------------------- workloads


def _head(request_line: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [request_line, *(f"{name}: {value}" for name, value in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# A browser navigating to a search page: 12 fields, about 500 bytes of them.
TYPICAL_GET = _head(
    "GET /search?q=sans-io+http+parser&page=2&lang=en HTTP/1.1",
    [
        ("Host", "www.example.com"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36",
        ),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        ),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Connection", "keep-alive"),
        ("Referer", "https://www.example.com/"),
        ("Cookie", "session=3f2a9c4e8b7d6a5f1e0c; theme=dark; lang=en"),
        ("Upgrade-Insecure-Requests", "1"),
        ("Sec-Fetch-Dest", "document"),
        ("Sec-Fetch-Mode", "navigate"),
        ("If-None-Match", '"5d8c72a5edda8d6a"'),
    ],
)

_JSON_BODY = (
    b'{"customer_id": 48213, "items": [{"sku": "KT-1042", "qty": 2}, '
    b'{"sku": "KT-2210", "qty": 1}], "express": false}'
)

# An API client posting a small JSON document: 6 fields and a ~100-byte body.
JSON_POST = (
    _head(
        "POST /api/v1/orders HTTP/1.1",
        [
            ("Host", "api.example.com"),
            ("User-Agent", "python-httpx/0.27.0"),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(_JSON_BODY))),
            ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0ODIxMyJ9.c2lnbmF0dXJl"),
        ],
    )
    + _JSON_BODY
)

PIPELINE_DEPTH = 16

# A page's sub-resources, 16 smaller GETs (8 fields each) arriving in one read.
PIPELINED = b"".join(
    _head(
        f"GET /static/img/icon-{i:02d}.png HTTP/1.1",
        [
            ("Host", "www.example.com"),
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            ),
            ("Accept", "image/avif,image/webp,*/*"),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("Connection", "keep-alive"),
            ("Referer", "https://www.example.com/"),
            ("Sec-Fetch-Dest", "image"),
        ],
    )
    for i in range(PIPELINE_DEPTH)
)


UNSEEN_VARIANTS = 4096  # distinct heads, far more than any parser cache holds


def _unseen_gets() -> tuple[bytes, ...]:
    """The typical GET, but every head differs: another session cookie and page each time.

    ketch remembers whole heads it has parsed (a keep-alive client repeats its head); these never
    repeat within a cache's reach, so they measure the parse of heads not seen before.
    """
    variants = []
    for index in range(UNSEEN_VARIANTS):
        data = TYPICAL_GET.replace(b"3f2a9c4e8b7d6a5f1e0c", b"%020x" % (index * 7919 + 1))
        data = data.replace(b"https://www.example.com/", b"https://www.example.com/p/%d" % index)
        variants.append(data)
    return tuple(variants)


@dataclass(frozen=True)
class Workload:
    """Buffers fed to the parser in turn, one per call, each holding `requests` requests."""

    name: str
    buffers: tuple[bytes, ...]
    requests: int

    @property
    def data(self) -> bytes:
        return self.buffers[0]


TARGET_WORKLOAD = "typical GET"
WORKLOADS = (
    Workload(TARGET_WORKLOAD, (TYPICAL_GET,), 1),
    Workload("GET, unseen heads", _unseen_gets(), 1),
    Workload("JSON POST", (JSON_POST,), 1),
    Workload(f"pipelined x{PIPELINE_DEPTH}", (PIPELINED,), PIPELINE_DEPTH),
)

# ------------------------------------------------------------------------------------------ parsers


class KetchParser:
    """ketch's `RequestReader` (the reader inside `Connection`), reused across requests."""

    name = "ketch"

    def __init__(self) -> None:
        self._reader = RequestReader(Limits())

    def feed(self, data: bytes) -> list[Record]:
        reader = self._reader
        reader.receive_data(data)
        next_event = reader.next_event
        records: list[Record] = []
        method = target = b""
        headers: list[Header] = []
        chunks: list[bytes] = []
        while True:
            event = next_event()
            if type(event) is Request:
                method, target, headers = event.method, event.target, event.headers
                chunks = []
            elif type(event) is Data:
                chunks.append(event.data)
            elif type(event) is EndOfMessage:
                records.append((method, target, headers, b"".join(chunks)))
            elif event is NEED_DATA:
                return records
            else:
                raise AssertionError(f"unexpected ketch event {event!r}")


class H11Parser:
    """h11's `Connection(SERVER)`, reused; answers each request with a pre-built empty 200."""

    name = "h11"

    def __init__(self) -> None:
        self._conn = h11.Connection(h11.SERVER)
        self._response = h11.Response(status_code=200, headers=[(b"content-length", b"0")])
        self._end = h11.EndOfMessage()

    def feed(self, data: bytes) -> list[Record]:
        conn = self._conn
        conn.receive_data(data)
        next_event = conn.next_event
        send = conn.send
        response, end = self._response, self._end
        records: list[Record] = []
        method = target = b""
        headers: list[Header] = []
        chunks: list[bytes] = []
        while True:
            event = next_event()
            if type(event) is h11.Request:
                method, target, headers = event.method, event.target, event.headers.raw_items()
                chunks = []
            elif type(event) is h11.Data:
                chunks.append(event.data)
            elif type(event) is h11.EndOfMessage:
                records.append((method, target, headers, b"".join(chunks)))
                send(response)
                send(end)
                conn.start_next_cycle()
            elif event is h11.NEED_DATA:
                return records
            else:
                raise AssertionError(f"unexpected h11 event {event!r}")


class HttptoolsParser:
    """httptools' `HttpRequestParser` (llhttp), reused, with Python callbacks."""

    name = "httptools"

    def __init__(self) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._records: list[Record] = []
        self._method = b""
        self._url = b""
        self._headers: list[Header] = []
        self._chunks: list[bytes] = []

    def feed(self, data: bytes) -> list[Record]:
        records: list[Record] = []
        self._records = records
        self._parser.feed_data(data)
        return records

    # Callbacks, called by llhttp from inside feed_data.

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._chunks = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._method = self._parser.get_method()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self._records.append((self._method, self._url, self._headers, b"".join(self._chunks)))


ParserFactory = type[KetchParser] | type[H11Parser] | type[HttptoolsParser]
PARSERS: tuple[ParserFactory, ...] = (KetchParser, H11Parser, HttptoolsParser)

# ---------------------------------------------------------------------------------------- measuring


def check_agreement(workload: Workload) -> None:
    """Assert that the three parsers produce identical records, twice on one connection."""
    results = {}
    for factory in PARSERS:
        parser = factory()
        first = parser.feed(workload.data)
        second = parser.feed(workload.data)
        assert len(first) == workload.requests, (factory.name, workload.name, len(first))
        assert first == second, (factory.name, workload.name)
        results[factory.name] = first
    reference = results["httptools"]
    for name, records in results.items():
        assert records == reference, f"{name} disagrees with httptools on {workload.name}"


def time_once(
    feed: Callable[[bytes], list[Record]], buffers: tuple[bytes, ...], calls: int
) -> float:
    """Seconds to feed `calls` buffers, taking `buffers` in turn, with the garbage collector off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for data in islice(cycle(buffers), calls):
            feed(data)
        return time.perf_counter() - start
    finally:
        gc.enable()


@dataclass
class Result:
    workload: str
    parser: str
    requests_per_rep: int
    seconds: list[float]

    @property
    def median_rate(self) -> float:
        return self.requests_per_rep / statistics.median(self.seconds)

    @property
    def best_rate(self) -> float:
        return self.requests_per_rep / min(self.seconds)


def measure(workload: Workload, requests: int, reps: int) -> dict[str, Result]:
    """Time every parser on `workload`, interleaved per repetition, after a warm-up."""
    calls = max(1, requests // workload.requests)
    parsers = [factory() for factory in PARSERS]
    results = {
        p.name: Result(workload.name, p.name, calls * workload.requests, []) for p in parsers
    }
    for parser in parsers:  # warm-up: caches, branch predictors, allocator pools
        time_once(parser.feed, workload.buffers, max(1, calls // 10))
    for _ in range(reps):
        for parser in parsers:
            results[parser.name].seconds.append(time_once(parser.feed, workload.buffers, calls))
    return results


# ------------------------------------------------------------------------------------------ context


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src/ketch/http11"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" (+ uncommitted changes in src/ketch/http11)" if dirty else "")


def machine_info() -> dict[str, str]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "platform": platform.platform(),
        "cpu": f"{_cpu_model()} ({os.cpu_count() or '?'} logical CPUs)",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "ketch": f"{importlib.metadata.version('ketch')}, commit {_git_commit()}",
        "h11": importlib.metadata.version("h11"),
        "httptools": importlib.metadata.version("httptools"),
        "load": _load_average(),
    }


def _load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} (1- and 5-minute load averages at start)"


# ------------------------------------------------------------------------------------------ targets

TARGET_WORKLOAD = "typical GET"
TARGETS = (("h11", 3.0), ("httptools", 0.67))
"""ketch's median rate on `TARGET_WORKLOAD` must be at least this multiple of each baseline."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="a short run (a few seconds), for tests")
    ap.add_argument("--json", metavar="PATH", type=Path, help="also write the results as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when ketch misses a target")
    ap.add_argument("--requests", type=int, help="requests per repetition (default 20000)")
    ap.add_argument("--reps", type=int, help="timed repetitions per parser (default 7)")
    args = ap.parse_args(argv)
    requests = args.requests or (2000 if args.quick else 20000)
    reps = args.reps or (3 if args.quick else 7)

    info = machine_info()
    print("ketch HTTP/1.1 parser benchmark")
    for key, value in info.items():
        print(f"  {key + ':':<11}{value}")
    print(f"  {'method:':<11}{requests} requests x {reps} repetitions per parser, interleaved,")
    print(f"  {'':<11}GC off while timed; median and best of the repetitions")
    print()
    print("Workloads:")
    for w in WORKLOADS:
        head, _, rest = w.data.partition(b"\r\n\r\n")
        request_line, _, fields = head.partition(b"\r\n")
        body = len(rest) if w.requests == 1 else 0
        field_count = fields.count(b"\r\n") + 1
        print(
            f"  {w.name:<18}{w.requests:>2} x [request line {len(request_line):>2} B, "
            f"{field_count:>2} fields in {len(fields) + 4:>3} B, body {body:>3} B]"
            f" = {len(w.data):>4} B per buffer"
        )
    print()

    for w in WORKLOADS:
        check_agreement(w)
    print("Agreement check: all three parsers produce identical records for every workload.")
    print()

    results: dict[str, dict[str, Result]] = {}
    for w in WORKLOADS:
        results[w.name] = measure(w, requests, reps)

    header = (
        f"{'workload':<19}{'parser':<11}{'median req/s':>14}{'best req/s':>14}"
        f"{'us/req':>9}{'vs h11':>9}{'vs httptools':>14}"
    )
    print(header)
    print("-" * len(header))
    for w in WORKLOADS:
        by_parser = results[w.name]
        h11_rate = by_parser["h11"].median_rate
        ht_rate = by_parser["httptools"].median_rate
        for factory in PARSERS:
            r = by_parser[factory.name]
            rate = r.median_rate
            print(
                f"{w.name:<19}{r.parser:<11}{rate:>14,.0f}{r.best_rate:>14,.0f}"
                f"{1e6 / rate:>9.2f}{rate / h11_rate:>8.2f}x{rate / ht_rate:>13.2f}x"
            )
        print()

    print(f"Targets ({TARGET_WORKLOAD}, median rates):")
    verdicts = []
    ketch_rate = results[TARGET_WORKLOAD]["ketch"].median_rate
    for baseline, wanted in TARGETS:
        ratio = ketch_rate / results[TARGET_WORKLOAD][baseline].median_rate
        passed = ratio >= wanted
        verdicts.append(
            {"baseline": baseline, "wanted": wanted, "ratio": round(ratio, 3), "pass": passed}
        )
        print(
            f"  ketch >= {wanted:.2f}x {baseline:<10} got {ratio:5.2f}x  "
            f"{'PASS' if passed else 'FAIL'}"
        )
    all_passed = all(v["pass"] for v in verdicts)

    if args.json:
        payload: dict[str, Any] = {
            "machine": info,
            "requests_per_rep": requests,
            "reps": reps,
            "workloads": {
                w.name: {
                    "bytes": len(w.data),
                    "requests_per_buffer": w.requests,
                    "parsers": {
                        name: {
                            "median_rps": round(r.median_rate),
                            "best_rps": round(r.best_rate),
                            "seconds": r.seconds,
                            "vs_h11": round(r.median_rate / results[w.name]["h11"].median_rate, 3),
                            "vs_httptools": round(
                                r.median_rate / results[w.name]["httptools"].median_rate, 3
                            ),
                        }
                        for name, r in results[w.name].items()
                    },
                }
                for w in WORKLOADS
            },
            "targets": verdicts,
            "pass": all_passed,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nResults written to {args.json}")

    return 1 if args.check and not all_passed else 0


if __name__ == "__main__":
    sys.exit(main())
