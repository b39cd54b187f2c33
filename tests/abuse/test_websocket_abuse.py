"""WebSocket abuse: broken and hostile clients on raw sockets, against a real ketch process.

Every case checks the exact close code the server sends (its close frame parsed: 2-byte code and
reason), that the server then ends the TCP connection itself, that it stays up and serves a fresh
HTTP request and a fresh WebSocket echo afterwards, and that its stderr shows no traceback.
Memory is measured (`RssSampler`) where a client tries to make the server hold a lot: a frame that
declares 1 GiB, a deflate bomb, a client that never reads, a client that sends while the app does
not read, a ping flood.

The app is `tests.abuse.apps_ws`; client frames are built by hand (`ws_frames.frame`) when they
must be wrong, by ``websockets`` (`ws_frames.valid_frame`) when they must be right.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import TYPE_CHECKING

import pytest

from .apps_ws import FLOOD_LINE
from .harness import KIB, MIB, Client, RssSampler, ServerProcess, get, record, run
from .ws_frames import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    FrameReader,
    WsClient,
    abort_socket,
    blocking_connect,
    close_payload,
    compressed_frame,
    deflate_zeros,
    frame,
    handshake_request,
    parse_close,
    read_head,
    valid_frame,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

APP = "tests.abuse.apps_ws:app"
MAX_SIZE = 64 * KIB  # --ws-max-size of the shared server

PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
MESSAGE_TOO_BIG = 1009


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """One ketch process for the cases that need no special settings."""
    with ServerProcess(APP, ["--ws-max-size", str(MAX_SIZE)]) as process:
        yield process


# ---------------------------------------------------------------------------- shared checks


async def _echo_round_trip(port: int) -> None:
    client = await WsClient.connect(port)
    try:
        await client.send(valid_frame(TEXT, "héllo".encode()))
        got = await client.message()
        assert (got.opcode, got.payload) == (TEXT, "héllo".encode())
        await client.send(valid_frame(BINARY, b"\x00\xff" * 100))
        got = await client.message()
        assert (got.opcode, got.payload) == (BINARY, b"\x00\xff" * 100)
        assert await client.close_cleanly() == (1000, b"")
    finally:
        client.close()


def assert_healthy(server: ServerProcess, since: float) -> None:
    """The process is up, answers HTTP and a WebSocket echo, and logged no traceback."""
    assert server.proc is not None
    assert server.proc.poll() is None, f"the server died:\n{server.stderr_text()}"

    async def check() -> None:
        response = await get(server.port, "/")
        assert (response.status, response.body) == (200, b"hello")
        await _echo_round_trip(server.port)

    run(check(), timeout=15)
    tracebacks = [line for line in server.stderr_lines(since) if "Traceback" in line]
    assert not tracebacks, "\n".join(server.stderr_lines(since))


async def _fail_with(
    port: int,
    payloads: Sequence[bytes],
    *,
    path: str = "/echo",
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 5.0,  # noqa: ASYNC109
) -> tuple[int | None, bytes, float, str]:
    """Send `payloads` after a handshake; returns the server's (close code, reason, seconds
    from the last byte sent to the close frame, how TCP ended: "eof" or "reset")."""
    client = await WsClient.connect(port, path, headers=headers)
    try:
        for payload in payloads:
            await client.send(payload)
        sent = time.perf_counter()
        code, reason = await client.expect_close(timeout)
        seconds = time.perf_counter() - sent
        how = await client.closed_by_server(timeout)
    finally:
        client.close()
    return code, reason, seconds, how


def check_failure(
    server: ServerProcess,
    payloads: Sequence[bytes],
    expected: int,
    *,
    name: str,
) -> tuple[bytes, float]:
    """The whole check for one bad client: exact close code, TCP closed, server healthy."""
    since = time.monotonic()
    code, reason, seconds, how = run(_fail_with(server.port, payloads), timeout=15)
    record(f"ws_{name}", code=code, reason=reason.decode(), close_ms=seconds * 1000, tcp=how)
    assert code == expected, (code, reason)
    assert how in ("eof", "reset")
    assert seconds < 1.0  # at once: the server does not wait for more bytes
    reason.decode()  # the reason is UTF-8
    assert_healthy(server, since)
    return reason, seconds


# ---------------------------------------------------------------------------- 1, 2: sizes


def test_frame_declaring_1_gib_is_refused_at_once_without_buffering(server: ServerProcess) -> None:
    since = time.monotonic()
    header = frame(BINARY, b"x" * 10, length=1 << 30)  # 10 bytes of a declared 1 GiB
    with RssSampler(server) as rss:
        code, reason, seconds, how = run(_fail_with(server.port, [header]), timeout=15)
    record(
        "ws_frame_1gib_declared",
        code=code,
        close_ms=seconds * 1000,
        tcp=how,
        rss_growth_kib=rss.growth / KIB,
    )
    assert code == MESSAGE_TOO_BIG, (code, reason)
    assert how in ("eof", "reset")
    assert seconds < 0.5
    assert rss.growth < 4 * MIB
    assert_healthy(server, since)


def test_frame_one_byte_over_the_max_size_is_refused(server: ServerProcess) -> None:
    check_failure(
        server, [valid_frame(BINARY, bytes(MAX_SIZE + 1))], MESSAGE_TOO_BIG, name="frame_over_max"
    )


def test_messages_at_the_max_size_pass(server: ServerProcess) -> None:
    """The limit is inclusive: a whole message and a fragmented one of exactly MAX_SIZE echo."""

    async def scenario() -> None:
        client = await WsClient.connect(server.port)
        try:
            await client.send(valid_frame(BINARY, b"a" * MAX_SIZE))
            got = await client.message()
            assert (got.opcode, len(got.payload)) == (BINARY, MAX_SIZE)
            half = MAX_SIZE // 2
            await client.send(valid_frame(TEXT, b"b" * half, fin=False))
            await client.send(valid_frame(CONT, b"c" * half))
            got = await client.message()
            assert (got.opcode, got.payload) == (TEXT, b"b" * half + b"c" * half)
            assert await client.close_cleanly() == (1000, b"")
        finally:
            client.close()

    run(scenario(), timeout=15)


@pytest.mark.parametrize(
    ("name", "payloads"),
    [
        (
            "3_fragments_of_30_kib",
            [
                valid_frame(BINARY, bytes(30 * KIB), fin=False),
                valid_frame(CONT, bytes(30 * KIB), fin=False),
                valid_frame(CONT, bytes(30 * KIB)),
            ],
        ),
        (
            "700_fragments_of_100_bytes",
            [valid_frame(TEXT, b"t" * 100, fin=False)]
            + [valid_frame(CONT, b"t" * 100, fin=False)] * 699,
        ),
    ],
)
def test_fragmented_message_over_the_max_size_is_refused(
    server: ServerProcess, name: str, payloads: list[bytes]
) -> None:
    check_failure(server, [b"".join(payloads)], MESSAGE_TOO_BIG, name=f"fragments_{name}")


# ---------------------------------------------------------------------------- 3: UTF-8


@pytest.mark.parametrize(
    ("name", "payloads"),
    [
        ("byte_ff", [frame(TEXT, b"ok \xff")]),
        ("overlong_slash", [frame(TEXT, b"\xc0\xaf")]),
        ("surrogate", [frame(TEXT, b"\xed\xa0\x80")]),
        ("above_u10ffff", [frame(TEXT, b"\xf4\x90\x80\x80")]),
        ("truncated_at_the_end", [frame(TEXT, b"abc\xc3")]),
        # Fragmented: the bad fragment fails the connection at once; the final one never comes.
        (
            "bad_middle_fragment",
            [frame(TEXT, "héllo".encode(), fin=False), frame(CONT, b"ok\xff", fin=False)],
        ),
        (
            "bad_first_fragment",
            [frame(TEXT, b"\xff", fin=False)],
        ),
        # ... and a final fragment that ends inside a character fails too.
        (
            "truncated_in_the_final_fragment",
            [frame(TEXT, b"abc", fin=False), frame(CONT, b"\xe2\x82")],
        ),
    ],
)
def test_invalid_utf8_text_is_refused(
    server: ServerProcess, name: str, payloads: list[bytes]
) -> None:
    check_failure(server, payloads, INVALID_DATA, name=f"utf8_{name}")


def test_a_character_split_across_fragments_is_valid(server: ServerProcess) -> None:
    async def scenario() -> None:
        client = await WsClient.connect(server.port)
        try:
            euro = "€".encode()  # 3 bytes, one per fragment
            await client.send(frame(TEXT, b"a" + euro[:1], fin=False))
            await client.send(frame(CONT, euro[1:2], fin=False))
            await client.send(frame(PING, b"between fragments"))
            await client.send(frame(CONT, euro[2:] + b"z"))
            pong = await client.frame()
            assert (pong.opcode, pong.payload) == (PONG, b"between fragments")
            got = await client.message()
            assert (got.opcode, got.payload.decode()) == (TEXT, "a€z")
            assert await client.close_cleanly() == (1000, b"")
        finally:
            client.close()

    run(scenario(), timeout=15)


# ---------------------------------------------------------------------------- 4, 5: framing


@pytest.mark.parametrize(
    ("name", "payloads"),
    [
        ("unmasked_text", [frame(TEXT, b"hello", mask=False)]),
        ("unmasked_close", [frame(CLOSE, close_payload(1000), mask=False)]),
        ("rsv1_without_extension", [frame(TEXT, b"hello", rsv=4)]),
        ("rsv2", [frame(BINARY, b"hello", rsv=2)]),
        ("rsv3_on_a_ping", [frame(PING, b"hello", rsv=1)]),
        ("opcode_3", [frame(0x3, b"hello")]),
        ("opcode_7", [frame(0x7, b"")]),
        ("opcode_0xb", [frame(0xB, b"hello")]),
        ("opcode_0xf", [frame(0xF, b"")]),
        ("ping_126_bytes", [frame(PING, b"p" * 126)]),
        ("pong_200_bytes", [frame(PONG, b"p" * 200)]),
        ("close_126_bytes", [frame(CLOSE, close_payload(1000, b"r" * 124))]),
        ("fragmented_ping", [frame(PING, b"p", fin=False)]),
        ("fragmented_close", [frame(CLOSE, close_payload(1000), fin=False)]),
        ("continuation_without_start", [frame(CONT, b"orphan")]),
        ("final_continuation_without_start", [frame(CONT, b"orphan", fin=False)]),
        (
            "new_message_inside_a_fragmented_one",
            [frame(TEXT, b"one", fin=False), frame(BINARY, b"two")],
        ),
        (
            "close_inside_a_fragmented_message",
            [frame(BINARY, b"one", fin=False), frame(CLOSE, close_payload(1000))],
        ),
        (
            "rsv1_on_a_continuation",
            [frame(TEXT, b"one", fin=False), frame(CONT, b"two", rsv=4)],
        ),
    ],
)
def test_framing_violations_close_with_1002(
    server: ServerProcess, name: str, payloads: list[bytes]
) -> None:
    check_failure(server, payloads, PROTOCOL_ERROR, name=f"framing_{name}")


def test_64_bit_length_with_the_top_bit_set_is_refused(server: ServerProcess) -> None:
    """RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.  The server may call
    that a protocol error (1002) or a too big message (1009); it must not wait for the bytes."""
    since = time.monotonic()
    bad = bytes([0x82, 0x80 | 127]) + (1 << 63 | 5).to_bytes(8, "big") + b"\x00" * 4 + b"hello"
    code, reason, seconds, how = run(_fail_with(server.port, [bad]), timeout=15)
    record("ws_framing_length_top_bit", code=code, reason=reason.decode(), close_ms=seconds * 1000)
    assert code in (PROTOCOL_ERROR, MESSAGE_TOO_BIG), (code, reason)
    assert how in ("eof", "reset")
    assert_healthy(server, since)


def test_a_frame_cut_by_eof_ends_the_connection_quietly(server: ServerProcess) -> None:
    """A client that half-closes inside a frame: no close frame can be owed to it, the server
    closes TCP (websockets' 1006 is never sent on the wire)."""
    since = time.monotonic()

    async def scenario() -> tuple[str, bytes]:
        client = await WsClient.connect(server.port)
        try:
            await client.send(frame(BINARY, b"x" * 10, length=1000))
            client.client.sock.shutdown(socket.SHUT_WR)
            got = b""
            async with asyncio.timeout(5):
                while True:
                    try:
                        data = await client.recv(timeout=5)
                    except ConnectionResetError:
                        return "reset", got
                    if not data:
                        return "eof", got
                    got += data
        finally:
            client.close()

    how, got = run(scenario(), timeout=15)
    record("ws_eof_inside_a_frame", tcp=how, bytes_after=len(got))
    assert how == "eof"
    reader = FrameReader(got)
    frames = []
    while (found := reader.next()) is not None:
        frames.append(found)
    assert not reader.buffer
    assert all(f.opcode == CLOSE for f in frames), frames
    assert_healthy(server, since)


# ---------------------------------------------------------------------------- 10: close frames


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("code_999", close_payload(999), PROTOCOL_ERROR),
        ("code_1004", close_payload(1004), PROTOCOL_ERROR),
        ("code_1005", close_payload(1005), PROTOCOL_ERROR),
        ("code_1006", close_payload(1006), PROTOCOL_ERROR),
        ("code_1015", close_payload(1015), PROTOCOL_ERROR),
        ("code_1016", close_payload(1016), PROTOCOL_ERROR),
        ("code_2000", close_payload(2000), PROTOCOL_ERROR),
        ("code_2999", close_payload(2999), PROTOCOL_ERROR),
        ("code_5000", close_payload(5000), PROTOCOL_ERROR),
        ("code_65535", close_payload(65535), PROTOCOL_ERROR),
        ("one_byte_payload", b"\x03", PROTOCOL_ERROR),
        ("reason_byte_ff", close_payload(1000, b"bye \xff"), INVALID_DATA),
        ("reason_surrogate", close_payload(1000, b"\xed\xa0\x80"), INVALID_DATA),
        ("reason_truncated", close_payload(1001, b"caf\xc3"), INVALID_DATA),
    ],
)
def test_invalid_close_frames_are_refused(
    server: ServerProcess, name: str, payload: bytes, expected: int
) -> None:
    check_failure(server, [frame(CLOSE, payload)], expected, name=f"close_{name}")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", None),  # no code: echoed empty
        (close_payload(1000, b"au revoir"), 1000),
        (close_payload(1001), 1001),
        (close_payload(1014, "€".encode()), 1014),
        (close_payload(3000), 3000),
        (close_payload(4999, b"x" * 123), 4999),  # the longest reason that fits
    ],
)
def test_valid_close_frames_are_echoed(
    server: ServerProcess, payload: bytes, expected: int | None
) -> None:
    since = time.monotonic()
    code, reason, _, how = run(_fail_with(server.port, [frame(CLOSE, payload)]), timeout=15)
    assert (code, reason) == (expected, payload[2:])
    assert how == "eof"
    assert_healthy(server, since)


# ---------------------------------------------------------------------------- 9: handshakes

_KEY_15 = "AAAAAAAAAAAAAAAAAAAA"  # base64 of 15 bytes
_GOOD = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")]
_V8 = [("Sec-WebSocket-Version", "8")]


def _handshake(
    *,
    key: str | None = "dGhlIHNhbXBsZSBub25jZQ==",
    extra: Sequence[tuple[str, str]] = (),
    fields: Sequence[tuple[str, str]] = _GOOD,
    method: str = "GET",
    version: str = "HTTP/1.1",
) -> bytes:
    headers = [*fields]
    if key is not None:
        headers.append(("Sec-WebSocket-Key", key))
    request, _ = handshake_request(
        "/echo", headers=[*headers, *extra], method=method, version=version, standard=False
    )
    return request


HANDSHAKES = [
    ("missing_key", _handshake(key=None), 400),
    ("key_of_15_bytes", _handshake(key=_KEY_15), 400),
    ("key_of_17_bytes", _handshake(key="AAAAAAAAAAAAAAAAAAAAAAA="), 400),
    ("key_not_base64", _handshake(key="!!!!not*base64!!!!!!!=="), 400),
    ("empty_key", _handshake(key=""), 400),
    ("two_keys", _handshake(extra=[("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")]), 400),
    (
        "version_8",
        _handshake(fields=[("Upgrade", "websocket"), ("Connection", "Upgrade"), *_V8]),
        426,
    ),
    ("two_versions", _handshake(extra=[("Sec-WebSocket-Version", "8")]), 426),
    ("post", _handshake(method="POST", extra=[("Content-Length", "0")]), 400),
    ("put_with_body", _handshake(method="PUT", extra=[("Content-Length", "4")]) + b"body", 400),
    ("malformed_extensions", _handshake(extra=[("Sec-WebSocket-Extensions", ";;,=")]), 400),
    ("malformed_protocols", _handshake(extra=[("Sec-WebSocket-Protocol", "a b, ,c")]), 400),
    ("two_origins", _handshake(extra=[("Origin", "http://a"), ("Origin", "http://b")]), 400),
    # Not a switch at all: plain HTTP answers from the app.
    ("http_1_0", _handshake(version="HTTP/1.0"), 200),
    (
        "no_connection_upgrade",
        _handshake(fields=[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]),
        200,
    ),
]


@pytest.mark.parametrize(("name", "request_data", "expected"), HANDSHAKES)
def test_bad_handshakes_never_switch(
    server: ServerProcess, name: str, request_data: bytes, expected: int
) -> None:
    since = time.monotonic()

    async def scenario() -> tuple[int, str | None, bytes, str]:
        client = await Client.connect(server.port)
        try:
            await client.send(request_data)
            response = await client.response(timeout=5)
            how = "open"
            if response.closes or expected != 200:
                how = await client.wait_closed(5)
            return response.status, response.header("sec-websocket-version"), response.body, how
        finally:
            client.close()

    status, version, body, how = run(scenario(), timeout=15)
    record(f"ws_handshake_{name}", status=status, tcp=how, body=body[:80].decode("latin-1"))
    assert status == expected, (status, body)
    if expected == 426:
        assert version == "13"
    if expected == 200:
        assert body == b"hello"
    else:
        assert how in ("eof", "reset")  # a refused handshake ends the connection
    assert_healthy(server, since)


# ---------------------------------------------------------------------------- 6: deflate bomb


@pytest.mark.parametrize("inflated", [64 * MIB, 1 << 30], ids=["64mib", "1gib"])
def test_deflate_bomb_is_stopped_at_the_max_size(inflated: int) -> None:
    max_size = MIB
    bomb = deflate_zeros(inflated)
    assert len(bomb) < max_size  # the compressed frame itself passes the size check
    compressed = compressed_frame(bomb)
    extensions = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]
    with ServerProcess(APP, ["--ws-max-size", str(max_size)]) as server:
        since = time.monotonic()

        async def scenario() -> tuple[str | None, int | None, bytes, float, str]:
            client = await WsClient.connect(server.port, headers=extensions)
            try:
                assert client.handshake is not None
                answer = client.handshake.header("sec-websocket-extensions")
                assert answer is not None
                name, *params = (part.strip() for part in answer.split(";"))
                assert name == "permessage-deflate", answer
                # The bombs are compressed with a 12-bit window: the server must accept that.
                bits = dict(param.partition("=")[::2] for param in params)
                assert int(bits.get("client_max_window_bits") or 15) >= 12, answer
                # A small compressed message first: the extension really is in use.
                await client.send(compressed_frame(deflate_zeros(256 * KIB)))
                echo = await client.message(timeout=5)
                assert echo.opcode == BINARY
                await client.send(compressed)
                sent = time.perf_counter()
                code, reason = await client.expect_close(5)
                seconds = time.perf_counter() - sent
                how = await client.closed_by_server(5)
            finally:
                client.close()
            return answer, code, reason, seconds, how

        with RssSampler(server) as rss:
            answer, code, reason, seconds, how = run(scenario(), timeout=20)
        record(
            f"ws_deflate_bomb_{inflated // MIB}mib",
            compressed_bytes=len(bomb),
            extension_answer=answer,
            code=code,
            reason=reason.decode(),
            close_ms=seconds * 1000,
            tcp=how,
            rss_before_mib=rss.before / MIB,
            rss_growth_mib=rss.growth / MIB,
        )
        assert code == MESSAGE_TOO_BIG, (code, reason)
        assert how in ("eof", "reset")
        assert seconds < 2.0
        assert rss.growth < 8 * MIB
        assert_healthy(server, since)


# ---------------------------------------------------------------------------- 7: never reads

FLOOD_PING = 1.0  # --ws-ping-interval and --ws-ping-timeout of the flood server
FLOOD_RSS_LIMIT = 20 * MIB


def test_client_that_never_reads_holds_bounded_memory_and_is_dropped_by_keepalive() -> None:
    args = ["--ws-ping-interval", str(FLOOD_PING), "--ws-ping-timeout", str(FLOOD_PING)]
    with ServerProcess(APP, args) as server:
        since = time.monotonic()
        fds_before = server.fds()

        async def scenario() -> tuple[float, list[str], str, int]:
            # A small receive buffer: what the kernel holds for us is small too.
            client = await WsClient.connect(server.port, "/flood", rcvbuf=16 * KIB)
            try:
                opened = time.monotonic()
                lines: list[str] = []
                while not lines and time.monotonic() - opened < 8:
                    await asyncio.sleep(0.05)
                    lines = [
                        line for line in server.stderr_lines(since) if line.startswith(FLOOD_LINE)
                    ]
                gave_up = time.monotonic() - opened
                # Only now read: what the kernel kept, then the end of the connection.
                how, received = await client.drain_until_closed(5)
            finally:
                client.close()
            return gave_up, lines, how, received

        with RssSampler(server) as rss:
            gave_up, lines, how, received = run(scenario(), timeout=30)
        fds_after = server.settle(server.fds, until=lambda n: n <= fds_before, timeout=3)
        sent_messages = int(lines[0].split(" after ")[1].split()[0]) if lines else -1
        record(
            "ws_never_reads",
            app_line=lines[0] if lines else None,
            app_sent_mib=sent_messages * 64 * KIB / MIB,
            dropped_after_s=gave_up,
            client_read_kib=received / KIB,
            tcp=how,
            rss_growth_mib=rss.growth / MIB,
            fds_before=fds_before,
            fds_after=fds_after,
        )
        assert lines, f"the app's send never failed:\n{server.stderr_text()}"
        assert "ClientDisconnected" in lines[0], lines
        # Keepalive: a ping after FLOOD_PING s of silence, FLOOD_PING s to answer, 0.5 s sweeps.
        assert 1.5 <= gave_up < 2 * FLOOD_PING + 2.5
        assert how in ("eof", "reset")
        assert sent_messages * 64 * KIB < 64 * MIB  # sends waited: kernel buffers, not a queue
        assert rss.growth < FLOOD_RSS_LIMIT
        assert fds_after <= fds_before
        assert_healthy(server, since)


# ---------------------------------------------------------------------------- 8: app not reading

STALL_TOTAL = 200 * MIB
STALL_FRAME = 32 * KIB
STALL_SECONDS = 2.5
STALL_RSS_LIMIT = 20 * MIB


def _send_until_stuck(
    sock: socket.socket, data: memoryview, *, stuck_after: float, until: float
) -> int:
    """Send from `data` until all is sent, no progress for `stuck_after` s, or time `until`."""
    sent = 0
    last_progress = time.monotonic()
    sock.settimeout(0.05)
    while sent < len(data) and time.monotonic() < until:
        try:
            sent += sock.send(data[sent : sent + MIB])
            last_progress = time.monotonic()
        except TimeoutError:
            if time.monotonic() - last_progress >= stuck_after:
                break
    return sent


def test_client_sending_while_the_app_does_not_read_is_held_back(server: ServerProcess) -> None:
    since = time.monotonic()
    one = valid_frame(BINARY, os.urandom(STALL_FRAME))
    count = STALL_TOTAL // STALL_FRAME
    stream = memoryview(one * count)
    sock = blocking_connect(server.port)
    try:
        request, _ = handshake_request(f"/stall?s={STALL_SECONDS}")
        sock.sendall(request)
        answer = read_head(sock)
        assert answer.status == 101
        woke_at = time.monotonic() + STALL_SECONDS
        with RssSampler(server) as stalled_rss:
            stalled = _send_until_stuck(sock, stream, stuck_after=0.5, until=woke_at - 0.5)
        with RssSampler(server) as reading_rss:
            started = time.monotonic()
            rest = _send_until_stuck(sock, stream[stalled:], stuck_after=5, until=started + 15)
            sock.settimeout(10)
            sock.sendall(valid_frame(TEXT, b"count"))
            reader = FrameReader(answer.rest)
            reply = reader.next()
            while reply is None:
                data = sock.recv(64 * KIB)
                assert data, "closed before the count"
                reader.feed(data)
                reply = reader.next()
            seconds = time.monotonic() - started
        sock.sendall(frame(CLOSE, close_payload(1000)))
    finally:
        abort_socket(sock)
    record(
        "ws_app_not_reading",
        sent_while_stalled_mib=stalled / MIB,
        rss_growth_stalled_mib=stalled_rss.growth / MIB,
        rss_growth_reading_mib=reading_rss.growth / MIB,
        rest_sent_mib=rest / MIB,
        rest_seconds=seconds,
        app_count=reply.payload.decode(),
    )
    assert stalled < 32 * MIB, "the server kept reading for an app that does not"
    assert stalled_rss.growth < STALL_RSS_LIMIT
    assert stalled + rest == len(stream)
    assert reply.opcode == TEXT
    assert reply.payload.decode() == f"{count} {STALL_TOTAL}"
    assert reading_rss.growth < STALL_RSS_LIMIT
    assert_healthy(server, since)


KEEPALIVE = 0.5  # --ws-ping-interval and --ws-ping-timeout of the next test's server
BEHIND_SECONDS = 3.0
QUEUE_FILL = 16  # ketch.websocket.connection.QUEUE_MESSAGES (and 16 x 64 KiB is QUEUE_BYTES)


def test_keepalive_spares_a_responsive_client_while_the_app_is_behind() -> None:
    """The app does not read for a while, so the server stops reading; the client meanwhile
    answers every ping.  The pongs wait behind the unread messages: the server, not the client,
    is the one not listening, so keepalive must not fail the connection for it (1011)."""
    args = ["--ws-ping-interval", str(KEEPALIVE), "--ws-ping-timeout", str(KEEPALIVE)]
    messages = 2 * QUEUE_FILL
    with ServerProcess(APP, args) as server:
        since = time.monotonic()

        async def scenario() -> tuple[str, int]:
            client = await WsClient.connect(server.port, f"/stall?s={BEHIND_SECONDS}")
            pings = 0
            try:
                woke_at = time.monotonic() + BEHIND_SECONDS
                for _ in range(messages):  # more than the read queue takes: reading pauses
                    await client.send(valid_frame(BINARY, bytes(64 * KIB)))
                while time.monotonic() < woke_at + 0.5:
                    try:
                        got = await client.frame(
                            timeout=max(0.05, woke_at + 0.5 - time.monotonic())
                        )
                    except TimeoutError:
                        break
                    if got.opcode == CLOSE:
                        code, reason = parse_close(got.payload)
                        return f"closed {code} {reason.decode()}", pings
                    if got.opcode == PING:
                        pings += 1
                        await client.send(frame(PONG, got.payload))
                await client.send(valid_frame(TEXT, b"count"))
                reply = await client.message(timeout=5)
                assert await client.close_cleanly() == (1000, b"")
            except (ConnectionError, TimeoutError) as exc:
                return f"connection ended: {exc!r}", pings
            finally:
                client.close()
            return reply.payload.decode(), pings

        outcome, pings = run(scenario(), timeout=20)
        record("ws_keepalive_while_app_behind", outcome=outcome, pings_answered=pings)
        assert outcome == f"{messages} {messages * 64 * KIB}", outcome
        assert_healthy(server, since)


# ---------------------------------------------------------------------------- read queue accounting


def test_non_ascii_text_does_not_stall_the_read_queue(server: ServerProcess) -> None:
    """3 MB of two-byte characters through the echo, one message at a time.

    The read queue counts what waits for the app; whatever it adds for a message it must take
    away when the app takes it, or the count drifts up until reading pauses for good.
    """
    since = time.monotonic()
    text = "é" * 1000  # 2000 bytes of UTF-8, 1000 characters
    message = valid_frame(TEXT, text.encode())
    total = 1500  # 3 MB of UTF-8, 1.5 M characters

    async def scenario() -> int:
        client = await WsClient.connect(server.port)
        echoed = 0
        try:
            for _ in range(total):
                await client.send(message)
                try:
                    got = await client.message(timeout=2)
                except TimeoutError:
                    return echoed
                assert got.payload == text.encode()
                echoed += 1
            assert await client.close_cleanly() == (1000, b"")
        finally:
            client.close()
        return echoed

    echoed = run(scenario(), timeout=30)
    record("ws_non_ascii_text_echo", messages=total, echoed=echoed)
    assert echoed == total, f"the echo stalled after {echoed} of {total} messages"
    assert_healthy(server, since)


# ---------------------------------------------------------------------------- 11: ping floods

PINGS = 10_000
PING_PAYLOAD = b"p" * 125


def test_ping_flood_without_reading_pongs(server: ServerProcess) -> None:
    since = time.monotonic()
    flood = frame(PING, PING_PAYLOAD) * PINGS

    async def scenario() -> tuple[float, int, str]:
        client = await WsClient.connect(server.port, rcvbuf=16 * KIB)
        try:
            started = time.perf_counter()
            await client.send(flood, timeout=10)
            sent_seconds = time.perf_counter() - started
            await asyncio.sleep(0.3)  # let the server work through them, still not reading
            pongs = 0
            ending = "open"
            try:
                while pongs < PINGS:
                    got = await client.frame(timeout=5)
                    if got.opcode == CLOSE:
                        ending = "closed"
                        break
                    assert (got.opcode, got.payload) == (PONG, PING_PAYLOAD)
                    pongs += 1
            except (ConnectionError, TimeoutError) as exc:
                ending = type(exc).__name__
            if ending == "open":
                assert await client.close_cleanly() == (1000, b"")
        finally:
            client.close()
        return sent_seconds, pongs, ending

    with RssSampler(server) as rss:
        sent_seconds, pongs, ending = run(scenario(), timeout=30)
    record(
        "ws_ping_flood_10000",
        sent_ms=sent_seconds * 1000,
        pongs=pongs,
        ending=ending,
        rss_growth_mib=rss.growth / MIB,
    )
    assert ending in ("open", "closed")  # answered them all, or closed with a close frame
    assert rss.growth < 16 * MIB
    assert_healthy(server, since)


PING_FLOOD_TOTAL = 64 * MIB
PING_FLOOD_RSS_LIMIT = 24 * MIB


def test_endless_ping_flood_without_reading_is_held_back(server: ServerProcess) -> None:
    """Pings keep coming and the pongs are never read: the server must stop reading (or give
    up on the client), not queue a pong per ping in memory for ever."""
    since = time.monotonic()
    chunk = frame(PING, PING_PAYLOAD) * 8000  # about 1 MiB
    count = PING_FLOOD_TOTAL // len(chunk)
    stream = memoryview(chunk * count)
    sock = blocking_connect(server.port, rcvbuf=16 * KIB)
    try:
        request, _ = handshake_request("/echo")
        sock.sendall(request)
        assert read_head(sock).status == 101
        with RssSampler(server) as rss:
            started = time.monotonic()
            sent = _send_until_stuck(sock, stream, stuck_after=0.5, until=started + 8)
            seconds = time.monotonic() - started
    finally:
        abort_socket(sock)
    record(
        "ws_ping_flood_endless",
        sent_mib=sent / MIB,
        seconds=seconds,
        rss_growth_mib=rss.growth / MIB,
    )
    assert rss.growth < PING_FLOOD_RSS_LIMIT, (
        f"server RSS grew {rss.growth / MIB:.1f} MiB for {sent / MIB:.1f} MiB of unread pings"
    )
    assert_healthy(server, since)
