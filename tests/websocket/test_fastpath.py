"""The fast path for whole data frames (websocket/fastpath.py) behaves exactly as websockets does.

* Headers: byte for byte what websockets' own serializer writes, at every length boundary.
* Reading: client byte streams mixing whole frames, fragmented messages, control frames and
  broken frames (unmasked, reserved bits, unknown opcodes, lengths not in their shortest form,
  frames over the size limit, invalid UTF-8), cut into pieces at random points, are sent to a
  real server.  What its app receives, and the frames it answers with, must be what websockets'
  own sans-IO protocol makes of the same bytes (the reference model below).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import OPEN, Protocol, Side
from websockets.speedups import apply_mask

from ketch.websocket.fastpath import BINARY, TEXT, DataFrames, data_header
from tests.support import RawClient, serve

LIMIT = 1000  # the server's ws_max_size here: oversized frames stay cheap to make
HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 100_000])
@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
def test_headers_are_the_ones_websockets_writes(length: int, opcode: Opcode) -> None:
    payload = b"a" * length
    first = TEXT if opcode is Opcode.TEXT else BINARY
    expected = Frame(opcode, payload).serialize(mask=False, extensions=[])
    assert data_header(first, length) + payload == expected


def test_a_frame_arriving_in_pieces_is_read_whole() -> None:
    mask = b"\x01\x02\x03\x04"
    wire = bytes((TEXT, 0x80 | 5)) + mask + apply_mask(b"hello", mask) + b"\x89\x80rest"
    frames = DataFrames(LIMIT)
    assert frames.feed(wire[:3]) == wire[:3]  # not even a whole header: not taken
    for cut in range(1, 11):
        frames = DataFrames(LIMIT)
        assert frames.feed(wire[:cut] if cut >= 6 else wire) in (b"", wire[11:])
    frames = DataFrames(LIMIT)
    assert frames.feed(wire[:8]) == b""
    assert frames.reading
    assert frames.feed(wire[8:]) == b"\x89\x80rest"  # the ping after it is not ours
    assert frames.messages == [(TEXT, b"hello")]


@pytest.mark.parametrize("form", [126, 127])
def test_an_extended_length_is_read_only_whole_and_in_its_shortest_form(form: int) -> None:
    mask = b"\x00\x00\x00\x00"
    long_enough = b"q" * (200 if form == 126 else 70_000)
    wire = client_frame(BINARY, long_enough)
    cut = 4 if form == 126 else 9  # inside the extended length
    frames = DataFrames(None)
    assert frames.feed(wire[:cut]) == wire[:cut]  # left to websockets, untouched
    assert frames.messages == []
    assert frames.feed(wire) == b""
    assert frames.messages == [(BINARY, long_enough)]
    short_in_long_form = bytes((BINARY, 0x80 | form)) + bytes(2 if form == 126 else 8)
    short_in_long_form = short_in_long_form[:-1] + b"\x05" + mask + b"hello"
    frames = DataFrames(None)
    assert frames.feed(short_in_long_form) == short_in_long_form


def test_websockets_is_followed_to_the_end_of_every_frame_it_is_given() -> None:
    # After a frame's first two bytes websockets' buffer is empty, yet it waits for the rest: a
    # read taken here then would be the tail of that frame, misread as a frame of its own.  This
    # is what the differential test below found.
    empty = client_frame(BINARY, b"")
    frames = DataFrames(LIMIT)
    frames.hand_over(empty[:2])
    assert not frames.at_boundary
    frames.hand_over(empty[2:])
    assert frames.at_boundary
    frames.hand_over(empty[:1])  # not even the length byte
    assert not frames.at_boundary
    frames.hand_over(empty[1:] + empty)
    assert frames.at_boundary


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
@pytest.mark.parametrize("masked", [True, False])
def test_the_end_of_a_handed_over_frame_is_found_at_every_cut(size: int, masked: bool) -> None:
    wire = client_frame(0x89 if size < 126 else BINARY, b"p" * size, masked=masked)
    for cut in {*range(min(15, len(wire))), len(wire) // 2, len(wire) - 1}:
        frames = DataFrames(LIMIT)
        frames.hand_over(wire[:cut])
        assert frames.at_boundary is (cut == 0)
        frames.hand_over(wire[cut:] + wire[:1])
        assert not frames.at_boundary
        frames.hand_over(wire[1:])
        assert frames.at_boundary


# ------------------------------------------------------------------ client byte streams


def client_frame(
    first: int,
    payload: bytes,
    *,
    masked: bool = True,
    long_form: int = 0,
    mask: bytes = b"\x37\xfa\x21\x3d",
) -> bytes:
    """A client frame as given: `first` is the whole first byte (FIN, RSV bits, opcode);
    `long_form` 126 or 127 writes the length in that form even where a shorter one would do."""
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if long_form == 127 or length >= 65536:
        head = bytes((first, mask_bit | 127)) + struct.pack("!Q", length)
    elif long_form == 126 or length >= 126:
        head = bytes((first, mask_bit | 126)) + struct.pack("!H", length)
    else:
        head = bytes((first, mask_bit | length))
    if not masked:
        return head + payload
    return head + mask + apply_mask(payload, mask)


texts = st.text(max_size=40) | st.sampled_from(["", "é" * 70, "x" * 200, "日本" * 30])
blobs = st.binary(max_size=40) | st.sampled_from([b"", b"\x00" * 126, b"\xff" * 700])
# Drawn, so that a failure replays (random masks made one look flaky), and often like a frame
# header (0x81 or 0x82, then the mask bit): what a reader that lost its place would misread.
masks = st.binary(min_size=4, max_size=4) | st.sampled_from(
    [b"\x82\x85\x00\x00", b"\x81\xfe\x00\x10", b"\x82\xff\x00\x00", b"\x81\x80\x81\x80"]
)


@st.composite
def fragmented(draw: st.DrawFn) -> list[bytes]:
    text = draw(st.booleans())
    data = draw(texts).encode() if text else draw(blobs)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), min_size=1, max_size=3)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    first = client_frame(0x01 if text else 0x02, pieces[0], mask=draw(masks))
    middle = [client_frame(0x00, piece, mask=draw(masks)) for piece in pieces[1:-1]]
    return [first, *middle, client_frame(0x80, pieces[-1], mask=draw(masks))]


def _one(first: int, payloads: st.SearchStrategy[bytes], long_form: int = 0) -> st.SearchStrategy:
    return st.builds(
        lambda payload, mask: [client_frame(first, payload, mask=mask, long_form=long_form)],
        payloads,
        masks,
    )


# Each a list of frames: one, or the fragments of a message.
good_frames = st.one_of(
    _one(TEXT, texts.map(str.encode)),
    _one(BINARY, blobs),
    fragmented(),
    _one(0x89, st.binary(max_size=20)),  # ping
    _one(0x8A, st.binary(max_size=20)),  # pong
    _one(BINARY, blobs, long_form=126),
    _one(BINARY, blobs, long_form=127),
)
bad_frames = st.one_of(
    st.just(client_frame(TEXT, b"\xc3\x28")),  # invalid UTF-8
    st.just(client_frame(BINARY, b"z" * (LIMIT + 1))),  # over the limit
    st.just(client_frame(BINARY, b"unmasked", masked=False)),
    st.just(client_frame(0xC1, b"rsv1")),  # RSV1 without an extension
    st.just(client_frame(0x83, b"opcode 3")),
    st.just(client_frame(0x80, b"continuation of nothing")),
)
# Good frames, then the client's close or one bad frame: the server fails the connection on it.
streams = st.builds(
    lambda groups, end: [frame for group in groups for frame in group] + [end],
    st.lists(good_frames, max_size=8),
    st.one_of(st.just(client_frame(0x88, Close(1000, "bye").serialize())), bad_frames),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=streams, cuts=st.lists(st.integers(0, 5000), max_size=6))
def test_handed_over_bytes_are_at_a_boundary_exactly_between_frames(
    frames: list[bytes], cuts: list[int]
) -> None:
    wire = b"".join(frames)
    ends = {0}
    for frame in frames:
        ends.add(max(ends) + len(frame))
    points = sorted({c % (len(wire) + 1) for c in cuts} | {len(wire)})
    handed = DataFrames(LIMIT)
    start = 0
    for point in points:
        handed.hand_over(wire[start:point])
        start = point
        assert handed.at_boundary is (point in ends), (point, sorted(ends))


def expected(frames: list[bytes]) -> tuple[list[Any], list[tuple[int, bytes]], int | None]:
    """What websockets' sans-IO protocol makes of `frames`: messages, answers, close code sent.

    Fed a frame at a time, so that answers and a UTF-8 failure (ketch's check, not the
    protocol's) come in the order of the frames that caused them.
    """
    protocol = Protocol(Side.SERVER, state=OPEN, max_size=(LIMIT, None))
    messages: list[Any] = []
    answers: list[tuple[int, bytes]] = []
    parts: list[bytes] = []
    text = False
    for wire in frames:
        protocol.receive_data(wire)
        for event in protocol.events_received():
            assert isinstance(event, Frame)
            if event.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                continue
            if event.opcode is not Opcode.CONT:
                text = event.opcode is Opcode.TEXT
                parts = []
            parts.append(bytes(event.data))
            if event.fin:
                data = b"".join(parts)
                if not text:
                    messages.append(data)
                    continue
                try:
                    messages.append(data.decode())
                except UnicodeDecodeError:
                    return messages, answers, 1007
        for data in protocol.data_to_send():
            if data:
                frame = parse_server_frame(data)
                if frame.opcode is Opcode.CLOSE:
                    return messages, answers, Close.parse(frame.data).code
                answers.append((frame.opcode.value, bytes(frame.data)))
    return messages, answers, None


def parse_server_frame(data: bytes) -> Frame:
    reader = Protocol(Side.CLIENT, state=OPEN)
    reader.receive_data(data)
    events = reader.events_received()
    assert len(events) == 1, events
    frame = events[0]
    assert isinstance(frame, Frame)
    return frame


async def through_ketch(
    pieces: list[bytes], pause: float = 0.002
) -> tuple[list[Any], list[Any] | None, int]:
    """Messages the app received, the server's answers (None if the connection was reset before
    they could be read: the server closes at once when it fails one) and the app's close code."""
    received: list[Any] = []
    codes: list[int] = []
    ended = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            text = message.get("text")
            received.append(text if text is not None else message["bytes"])
        codes.append(message["code"])
        ended.set()

    async with serve(app, ws_max_size=LIMIT, ws_per_message_deflate=False) as server:
        client = await RawClient.connect(server.port)
        await client.send(HANDSHAKE)
        head = await client.read_head_bytes()
        assert head.startswith(b"HTTP/1.1 101"), head
        try:
            for piece in pieces:
                await client.send(piece)
                await asyncio.sleep(pause)  # arrive separately, as the pieces they are
            rest: bytes | None = await client.read_until_eof()
        except ConnectionError:
            rest = None
        finally:
            with contextlib.suppress(OSError):
                await client.close()
        async with asyncio.timeout(5):
            await ended.wait()
    answers = None
    if rest is not None:
        reader = Protocol(Side.CLIENT, state=OPEN)
        reader.receive_data(rest)
        answers = []
        for frame in reader.events_received():
            assert isinstance(frame, Frame)
            if frame.opcode is Opcode.CLOSE:
                assert Close.parse(frame.data).code == codes[0]
                break
            answers.append((frame.opcode.value, bytes(frame.data)))
    return received, answers, codes[0]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    frames=streams,
    cuts=st.lists(st.integers(0, 2000), max_size=4),
    # Cuts inside a frame's header, where a reader is likeliest to lose its place.
    in_headers=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 14)), max_size=2),
)
def test_the_server_reads_any_stream_as_websockets_does(
    frames: list[bytes], cuts: list[int], in_headers: list[tuple[int, int]]
) -> None:
    wire = b"".join(frames)
    starts = [sum(map(len, frames[:index])) for index in range(len(frames))]
    cuts += [starts[index % len(starts)] + offset for index, offset in in_headers]
    points = sorted({c % (len(wire) + 1) for c in cuts})
    pieces = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    pieces = [p for p in pieces if p]
    messages, answers, closed = expected(frames)
    received, sent, code = asyncio.run(asyncio.wait_for(through_ketch(pieces), 10))
    assert received == messages
    assert code == closed
    if sent is not None:
        assert sent == answers


@pytest.mark.parametrize(("size", "split"), [(0, 2), (125, 2), (200, 4), (900, 4)])
def test_a_frame_cut_before_its_mask_is_not_read_from_its_mask(size: int, split: int) -> None:
    # What the differential test found: a read ending just before a frame's mask left websockets
    # inside the frame with an empty buffer, and the next read, taken here, began with a mask
    # that looked like a frame header (0x82, then the mask bit): it was read as a frame, and the
    # connection hung.  The pause makes each piece a read of its own.
    first = client_frame(BINARY, b"")
    second = client_frame(BINARY, b"s" * size, mask=b"\x82\x85\x00\x00")
    wire = first + second + client_frame(0xC1, b"rsv1")
    cut = len(first) + split
    pieces = [wire[:cut], wire[cut:]]
    received, _, code = asyncio.run(asyncio.wait_for(through_ketch(pieces, pause=0.05), 10))
    assert received == [b"", b"s" * size]
    assert code == 1002
