"""Server-side cost of a WebSocket echo with ``websockets`` (sans-IO layer) and ``wsproto``.

Run from the repository root::

    .venv/bin/python bench/ws_libraries.py            # the full run, about 1.5 minutes
    .venv/bin/python bench/ws_libraries.py --quick    # a smoke run of a few seconds

Method (one process, no sockets, no event loop):

* For each library, a client and a server of that library complete a real opening handshake in
  memory, so the extensions are negotiated exactly as over a network: once without compression
  and once with permessage-deflate.  Both libraries are configured alike for the main
  comparison: ``ServerPerMessageDeflateFactory()`` / ``ClientPerMessageDeflateFactory()`` and
  ``PerMessageDeflate()`` with their defaults, i.e. 15-bit windows, zlib level 6, memLevel 8,
  context takeover in both directions.  A second table shows websockets with the settings its
  ``serve()`` and ``connect()`` actually use by default (12-bit windows, memLevel 5).
* Payloads are semi-random text: words drawn from a small vocabulary of ASCII words, exactly
  16 B, 4 KiB and 1 MiB long.  Text messages carry them as text, binary messages carry the
  same bytes.  Both libraries get the same payloads.  ``--non-ascii`` mixes in a few non-ASCII
  words: then CPython's UTF-8 decode and encode leave their ASCII fast paths, which costs about
  ten times more per byte (the same for both libraries) and dilutes the differences.
* The masked client frames are built beforehand by the library's own client, outside the
  timed part.  Each case cycles through several distinct payloads (at least 64 KiB in all,
  more than the 32 KiB deflate window), so with context takeover a message cannot simply
  refer back to an identical previous one.  The client compresses two rounds of that cycle;
  the server is fed the first round once and then the second round over and over, which is a
  valid stream for the server's inflater because the payloads repeat with the same period.
* Only the server side is timed: feed one client frame to the server protocol, take the
  message event, send the same payload back as a message of the same kind, take the bytes to
  send.  The websockets server decodes text frames as UTF-8 (``frame.data.decode()``) and
  encodes the string again to send it, as a server handing ``str`` to an application has to;
  wsproto does both itself.  Messages are unfragmented, so one frame is one message.
* Correctness: before timing, the server echoes two full rounds and the library's client
  decodes every reply, which must equal the payload sent (kind and content).  Inside the timed
  loop each event's kind and completeness are checked, and after it the length of the last
  echoed payload.
* Timing: ``time.perf_counter`` around a loop of N messages with the garbage collector
  disabled; N is calibrated so that one run lasts about ``--run-time`` seconds (fewer
  messages for 1 MiB).  Each case runs ``--repeats`` times, alternating the libraries, and the
  report gives the median, with the spread (max - min) / median.  Nothing runs in parallel.

Standard library plus ``websockets`` and ``wsproto``; pass ``--json PATH`` to keep the raw runs.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import websockets
import wsproto
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
    enable_client_permessage_deflate,
    enable_server_permessage_deflate,
)
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from websockets.extensions import ClientExtensionFactory, ServerExtensionFactory

KIB = 1 << 10
MIB = 1 << 20
SIZES = (16, 4 * KIB, MIB)
KINDS = ("text", "binary")
MIN_CYCLE_BYTES = 64 * KIB  # distinct payloads per case: more than a 32 KiB deflate window
SEED = 20261124

# Compression settings: "none", both libraries' defaults ("deflate"), and websockets' serve() and
# connect() defaults ("deflate-serve").
COMPRESSIONS = ("none", "deflate")
WS_SERVE_DEFAULTS = "deflate-serve"


# --- payloads ------------------------------------------------------------------------------------


def make_vocabulary(rng: random.Random, non_ascii: bool) -> list[str]:
    """A small vocabulary: 200 lowercase ASCII words, and a few non-ASCII ones if asked."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(200)}
    if non_ascii:
        words.update(["café", "naïve", "grüße", "déjà", "señor", "€uro"])
    return sorted(words)


def make_payload(rng: random.Random, vocabulary: Sequence[str], size: int) -> bytes:
    """Random words separated by spaces, exactly ``size`` bytes of valid UTF-8."""
    parts: list[bytes] = []
    length = 0
    while True:
        word = rng.choice(vocabulary).encode()
        if length + len(word) + 1 > size:
            break
        parts.append(word)
        length += len(word) + 1
    text = b" ".join(parts)
    text += b"." * (size - len(text))  # pad with ASCII so a multi-byte character is never cut
    assert len(text) == size
    text.decode()
    return text


def make_payloads(size: int, non_ascii: bool) -> list[bytes]:
    """The distinct payloads one case cycles through, the same for both libraries."""
    rng = random.Random(SEED + size)
    vocabulary = make_vocabulary(random.Random(SEED), non_ascii)
    count = max(2, math.ceil(MIN_CYCLE_BYTES / size))
    return [make_payload(rng, vocabulary, size) for _ in range(count)]


# --- the two libraries ---------------------------------------------------------------------------


class EchoCase(Protocol):
    """One connection of one library, with both sides in memory."""

    def client_frame(self, payload: bytes, text: bool) -> bytes:
        """The masked (and maybe compressed) frame the client sends for ``payload``."""
        ...

    def client_receive(self, data: bytes) -> list[tuple[bool, bytes]]:
        """Messages (is_text, UTF-8 or binary payload) the client decodes from server bytes."""
        ...

    def echo(self, frames: Iterator[bytes], count: int) -> int:
        """Serve ``count`` frames (the timed part); return the last echoed payload's length."""
        ...

    def echo_bytes(self, data: bytes) -> bytes:
        """Serve one frame, untimed; return everything the server has to send."""
        ...


class WebsocketsCase:
    """websockets' sans-IO ``ServerProtocol`` and ``ClientProtocol``."""

    def __init__(self, compression: str) -> None:
        client_ext: Sequence[ClientExtensionFactory] | None = None
        server_ext: Sequence[ServerExtensionFactory] | None = None
        if compression == "deflate":
            client_ext = [ClientPerMessageDeflateFactory()]
            server_ext = [ServerPerMessageDeflateFactory()]
        elif compression == WS_SERVE_DEFAULTS:
            client_ext = enable_client_permessage_deflate(None)
            server_ext = enable_server_permessage_deflate(None)
        self.client = ClientProtocol(parse_uri("ws://localhost/echo"), extensions=client_ext)
        self.server = ServerProtocol(extensions=server_ext)
        self.client.send_request(self.client.connect())
        self.server.receive_data(b"".join(self.client.data_to_send()))
        [request] = self.server.events_received()
        assert isinstance(request, WsRequest)
        self.server.send_response(self.server.accept(request))
        self.client.receive_data(b"".join(self.server.data_to_send()))
        self.client.events_received()
        assert self.server.state is State.OPEN, self.server.handshake_exc
        assert self.client.state is State.OPEN, self.client.handshake_exc
        negotiated = [ext.name for ext in self.server.extensions]
        assert negotiated == ([] if compression == "none" else ["permessage-deflate"]), negotiated
        self.negotiated = str(self.server.extensions)
        self.last_sent: list[bytes] = []

    def client_frame(self, payload: bytes, text: bool) -> bytes:
        if text:
            self.client.send_text(payload)
        else:
            self.client.send_binary(payload)
        return b"".join(self.client.data_to_send())

    def client_receive(self, data: bytes) -> list[tuple[bool, bytes]]:
        self.client.receive_data(data)
        messages: list[tuple[bool, bytes]] = []
        for frame in self.client.events_received():
            assert isinstance(frame, Frame)
            assert frame.fin
            messages.append((frame.opcode is Opcode.TEXT, bytes(frame.data)))
        return messages

    def echo(self, frames: Iterator[bytes], count: int) -> int:
        server = self.server
        receive_data = server.receive_data
        events_received = server.events_received
        send_text = server.send_text
        send_binary = server.send_binary
        data_to_send = server.data_to_send
        text_opcode = Opcode.TEXT
        binary_opcode = Opcode.BINARY
        length = -1
        sent: list[bytes] = []
        for data in itertools.islice(frames, count):
            receive_data(data)
            for frame in events_received():
                if not frame.fin:
                    raise AssertionError("fragmented message")
                if frame.opcode is text_opcode:
                    message = frame.data.decode()  # what the application would receive
                    send_text(message.encode())
                    length = len(message)
                elif frame.opcode is binary_opcode:
                    send_binary(frame.data)
                    length = len(frame.data)
                else:
                    raise AssertionError(f"unexpected frame {frame}")
            sent = data_to_send()
        self.last_sent = sent
        return length

    def echo_bytes(self, data: bytes) -> bytes:
        self.echo(iter([data]), 1)
        assert self.server.state is State.OPEN, self.server.parser_exc
        return b"".join(self.last_sent)


class WsprotoCase:
    """wsproto's ``WSConnection``, server and client."""

    def __init__(self, compression: str) -> None:
        assert compression in COMPRESSIONS
        deflate = compression == "deflate"
        self.client = WSConnection(ConnectionType.CLIENT)
        self.server = WSConnection(ConnectionType.SERVER)
        offer = [PerMessageDeflate()] if deflate else []
        self.server.receive_data(self.client.send(Request("localhost", "/echo", extensions=offer)))
        [request] = self.server.events()
        assert isinstance(request, Request)
        accept = [PerMessageDeflate()] if deflate else []
        self.client.receive_data(self.server.send(AcceptConnection(extensions=accept)))
        [accepted] = self.client.events()
        assert isinstance(accepted, AcceptConnection)
        assert self.server.connection is not None
        extensions = self.server.connection._proto.extensions  # the ones actually in use
        negotiated = [ext.name for ext in extensions]
        assert negotiated == (["permessage-deflate"] if deflate else []), negotiated
        self.negotiated = str(extensions)
        self.last_sent = b""

    def client_frame(self, payload: bytes, text: bool) -> bytes:
        if text:
            return self.client.send(TextMessage(data=payload.decode()))
        return self.client.send(BytesMessage(data=payload))

    def client_receive(self, data: bytes) -> list[tuple[bool, bytes]]:
        self.client.receive_data(data)
        messages: list[tuple[bool, bytes]] = []
        for event in self.client.events():
            if isinstance(event, TextMessage):
                assert event.message_finished
                messages.append((True, event.data.encode()))
            elif isinstance(event, BytesMessage):
                assert event.message_finished
                messages.append((False, bytes(event.data)))
            else:
                raise AssertionError(f"unexpected event {event}")
        return messages

    def echo(self, frames: Iterator[bytes], count: int) -> int:
        server = self.server
        receive_data = server.receive_data
        events = server.events
        send = server.send
        length = -1
        sent = b""
        for data in itertools.islice(frames, count):
            receive_data(data)
            for event in events():
                if isinstance(event, TextMessage):
                    if not event.message_finished:
                        raise AssertionError("fragmented message")
                    sent = send(TextMessage(data=event.data))
                    length = len(event.data)
                elif isinstance(event, BytesMessage):
                    if not event.message_finished:
                        raise AssertionError("fragmented message")
                    sent = send(BytesMessage(data=event.data))
                    length = len(event.data)
                else:
                    raise AssertionError(f"unexpected event {event}")
        self.last_sent = sent
        return length

    def echo_bytes(self, data: bytes) -> bytes:
        self.echo(iter([data]), 1)
        return self.last_sent


LIBRARIES = {"websockets": WebsocketsCase, "wsproto": WsprotoCase}


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Runner:
    """One (library, compression, size, kind) case, ready to be timed."""

    library: str
    compression: str
    size: int
    kind: str
    conn: EchoCase
    frames: Iterator[bytes]
    lengths: list[int]  # of each payload in the cycle, in characters for text
    position: int = 0  # messages served from the cycle so far
    count: int = 0
    seconds_per_message: list[float] = field(default_factory=list)

    def run(self, count: int) -> float:
        """Echo ``count`` messages; return the seconds per message."""
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            length = self.conn.echo(self.frames, count)
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        self.position += count
        expected = self.lengths[(self.position - 1) % len(self.lengths)]
        assert length == expected, (length, expected)
        return elapsed / count


def prepare(library: str, compression: str, size: int, kind: str, payloads: list[bytes]) -> Runner:
    """Handshake, build the client frames, and check two rounds of echoes end to end."""
    conn: EchoCase = LIBRARIES[library](compression)
    text = kind == "text"
    first = [conn.client_frame(p, text) for p in payloads]
    second = [conn.client_frame(p, text) for p in payloads]
    for frame_data, payload in zip(first + second, payloads + payloads, strict=True):
        echoed = conn.client_receive(conn.echo_bytes(frame_data))
        assert echoed == [(text, payload)], f"{library} {compression} {size} {kind}: bad echo"
    lengths = [len(p.decode()) if text else len(p) for p in payloads]
    return Runner(library, compression, size, kind, conn, itertools.cycle(second), lengths)


def calibrate(runner: Runner, run_time: float, min_count: int) -> int:
    """How many messages make one run last about ``run_time`` seconds."""
    count = 1
    while True:
        per_message = runner.run(count)
        if per_message * count >= min(0.05, run_time / 4) or count >= 1 << 20:
            break
        count *= 4
    return max(min_count, round(run_time / per_message))


@dataclass
class CaseResult:
    compression: str
    size: int
    kind: str
    runs: dict[str, list[float]]  # library -> seconds per message, one per repeat
    counts: dict[str, int]


def measure_case(
    compression: str,
    size: int,
    kind: str,
    libraries: Sequence[str],
    repeats: int,
    run_time: float,
    min_count: int,
    non_ascii: bool,
) -> CaseResult:
    payloads = make_payloads(size, non_ascii)
    runners: list[Runner] = []
    for library in libraries:
        lib_compression = compression
        if compression == WS_SERVE_DEFAULTS:
            lib_compression = WS_SERVE_DEFAULTS if library == "websockets" else "deflate"
        runners.append(prepare(library, lib_compression, size, kind, payloads))
    if size < MIB:
        min_count *= 10
    for runner in runners:
        runner.count = calibrate(runner, run_time, min_count)
    for repeat in range(repeats):
        order = runners if repeat % 2 == 0 else runners[::-1]
        for runner in order:
            runner.seconds_per_message.append(runner.run(runner.count))
    return CaseResult(
        compression,
        size,
        kind,
        {r.library: r.seconds_per_message for r in runners},
        {r.library: r.count for r in runners},
    )


# --- reporting -----------------------------------------------------------------------------------


def size_label(size: int) -> str:
    if size >= MIB:
        return f"{size // MIB} MiB"
    if size >= KIB:
        return f"{size // KIB} KiB"
    return f"{size} B"


def cell(runs: list[float]) -> str:
    median = statistics.median(runs)
    spread = (max(runs) - min(runs)) / median * 100
    return f"{1 / median:,.0f} | {median * 1e6:,.1f} | {spread:.0f}%"


def table(results: list[CaseResult], libraries: Sequence[str], names: Sequence[str]) -> list[str]:
    header = ["compression", "size", "kind"]
    for name in names:
        header += [f"{name} msg/s", f"{name} µs/msg", "spread"]
    header.append(f"{names[0]} / {names[1]} (msg/s)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 3)]
    for r in results:
        row = [r.compression, size_label(r.size), r.kind]
        row += [cell(r.runs[library]) for library in libraries]
        a, b = (statistics.median(r.runs[library]) for library in libraries)
        row.append(f"**{b / a:.2f}**")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: a few seconds in all")
    parser.add_argument("--repeats", type=int, help="runs per case (default 5, quick 1)")
    parser.add_argument("--run-time", type=float, help="seconds per run (default 0.25)")
    parser.add_argument(
        "--non-ascii", action="store_true", help="mix a few non-ASCII words into the payloads"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the raw runs as JSON")
    args = parser.parse_args(argv)
    repeats: int = args.repeats or (1 if args.quick else 5)
    run_time: float = args.run_time or (0.01 if args.quick else 0.25)
    min_count = 1 if args.quick else 3  # messages per run for 1 MiB; ten times that below

    libraries = ("websockets", "wsproto")
    started = time.perf_counter()
    results: list[CaseResult] = []
    serve_defaults: list[CaseResult] = []
    for compression in (*COMPRESSIONS, WS_SERVE_DEFAULTS):
        for size in SIZES:
            for kind in KINDS:
                result = measure_case(
                    compression, size, kind, libraries, repeats, run_time, min_count, args.non_ascii
                )
                (serve_defaults if compression == WS_SERVE_DEFAULTS else results).append(result)
                print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    total = time.perf_counter() - started

    ws_deflate = WebsocketsCase("deflate").negotiated
    wsp_deflate = WsprotoCase("deflate").negotiated
    ws_serve = WebsocketsCase(WS_SERVE_DEFAULTS).negotiated
    out = [
        "# WebSocket echo, server side only: websockets (sans-IO) vs wsproto",
        "",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, {platform.system()}",
        f"- websockets {websockets.__version__} "
        f"(C speedups: {'yes' if _websockets_speedups() else 'no'}), wsproto {wsproto.__version__}",
        f"- {repeats} run(s) per case of about {run_time:g} s each; median, "
        f"spread = (max - min) / median; {total:.0f} s in all",
        f"- payloads: random words, {'some' if args.non_ascii else 'all'} ASCII"
        f"{' (--non-ascii)' if args.non_ascii else ''}; text decoded to str and encoded again",
        f"- deflate: websockets `{ws_deflate}`; wsproto `{wsp_deflate}`",
        "- last column: websockets msg/s ÷ wsproto msg/s (above 1: websockets is faster)",
        "",
        *table(results, libraries, libraries),
        "",
        "## permessage-deflate with websockets' serve()/connect() defaults",
        "",
        f"websockets `{ws_serve}` against wsproto with its defaults (as above).",
        "",
        *table(serve_defaults, libraries, ("websockets (serve)", "wsproto")),
    ]
    print("\n".join(out))

    if args.json:
        raw = [
            {
                "compression": r.compression,
                "size": r.size,
                "kind": r.kind,
                "messages_per_run": r.counts,
                "seconds_per_message": r.runs,
            }
            for r in results + serve_defaults
        ]
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(raw, f, indent=2)
    return 0


def _websockets_speedups() -> bool:
    try:
        import websockets.speedups  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
