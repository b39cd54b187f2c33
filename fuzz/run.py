"""Long-run differential fuzzing of ketch's HTTP/1.1 core against llhttp (httptools) and h11.

    .venv/bin/python fuzz/run.py --minutes 30 --seed 1

Draws mutated request streams (tests/property/mutations.py) in batches, each batch a Hypothesis
run with its own seed derived from ``--seed`` and its own number of mutations (1 to 6), and
compares the three parsers' framing (tests/property/framing.py).  A divergence with a cause not
seen before in this run is shrunk by Hypothesis and written to ``fuzz/found/<hash>.json`` (the
stream as a Python bytes literal and as hex, and what each parser made of it); the run then goes
on.  The bounded version of this runs in CI as tests/property/test_differential_fuzz.py.  Exit
status: 1 if anything was found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from tests.property.framing import differential as run_differential  # noqa: E402
from tests.property.framing import (  # noqa: E402
    read_with_h11,
    read_with_ketch,
    read_with_llhttp,
)
from tests.property.mutations import mutated_streams  # noqa: E402

BATCH = 500  # examples per Hypothesis run


class Found(Exception):
    def __init__(self, stream: bytes, signature: str, detail: str) -> None:
        super().__init__(signature)
        self.stream = stream
        self.signature = signature
        self.detail = detail


def check(stream: bytes, seen: set[str]) -> None:
    """Raise `Found` for a divergence (or a crash) whose signature is not in `seen`."""
    pieces = [stream[: len(stream) // 2], stream[len(stream) // 2 :]]
    try:
        _, divergences = run_differential(stream, pieces, whole_first=len(stream) % 2 == 0)
    except Exception as exc:  # a crash or a split-dependent reading: the fuzz contract
        signature = f"crash:{type(exc).__name__}:{str(exc)[:60]}"
        if signature not in seen:
            raise Found(stream, signature, repr(exc)) from exc
        return
    for divergence in divergences:
        if divergence.signature not in seen:
            raise Found(stream, divergence.signature, divergence.detail)


def record(found: Found, out: Path) -> Path:
    name = hashlib.sha256(found.signature.encode()).hexdigest()[:12]
    path = out / f"{name}.json"
    readings = {
        "ketch": repr(read_with_ketch([found.stream])),
        "llhttp": repr(read_with_llhttp(found.stream)),
        "h11": repr(read_with_h11(found.stream)),
    }
    report = {
        "signature": found.signature,
        "detail": found.detail,
        "stream": repr(found.stream),
        "stream_hex": found.stream.hex(),
        "readings": readings,
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first batch (0)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "fuzz" / "found", help="where reproducers go"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stop = time.monotonic() + args.minutes * 60
    seen: set[str] = set()
    examples = 0
    batch = 0
    started = time.monotonic()
    while time.monotonic() < stop:

        @seed(args.seed * 1_000_003 + batch)
        @settings(
            database=None,
            deadline=None,
            max_examples=BATCH,
            phases=[Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
        )
        @given(stream=mutated_streams(max_mutations=1 + batch % 6))
        def one_batch(stream: bytes) -> None:
            nonlocal examples
            examples += 1
            check(stream, seen)

        try:
            one_batch()
        except Found as found:
            seen.add(found.signature)
            path = record(found, args.out)
            print(f"FOUND {found.signature}\n  {found.stream!r}\n  -> {path}", flush=True)
        batch += 1
        elapsed = time.monotonic() - started
        print(
            f"[{elapsed:7.0f}s] batch {batch}, {examples} streams, {len(seen)} divergences",
            flush=True,
        )
    return 1 if seen else 0


if __name__ == "__main__":
    sys.exit(main())
