"""The common frames without a parser: whole, unfragmented, uncompressed text and binary frames.

Most WebSocket traffic is one message per frame, and for those the work of the ``websockets``
library's frame parser (a generator per frame, an enum lookup, a dataclass, the protocol's
bookkeeping) costs more than all the rest of an echo.  `DataFrames` reads such frames straight
from the bytes a client sent, `data_header` writes their headers; `WebSocket` uses them only
while nothing else is going on:

* reading: no extension was negotiated, the connection is open, no fragmented message is under
  way, and websockets is not inside a frame: the bytes handed to it are followed to their frame
  boundaries (`DataFrames.hand_over`), since websockets' reader does not say whether it is
  (after a frame's first two bytes its buffer is empty, yet it waits for the rest).  A frame is
  taken only if it has FIN set, no RSV bit, opcode text or binary, the mask bit set, its length
  in the shortest encoding and within the size limit.  At the first other frame (a control
  frame, a fragment, anything invalid), that frame and every byte after it go to websockets,
  which handles them as always: validation, errors and their close codes stay the library's.
* writing: no extension, and no fragmented message being sent.

What both produce is checked against websockets byte for byte and message for message
(tests/websocket/test_fastpath.py).  This module is compiled (setup.py).
"""

from __future__ import annotations

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

__all__ = ["BINARY", "TEXT", "DataFrames", "data_header"]

TEXT = 0x81  # the first header byte of a whole text frame: FIN, no RSV bit, opcode 1
BINARY = 0x82  # ... and of a whole binary frame: opcode 2
_MASKED = 0x80
_LENGTH_16 = 126
_LENGTH_64 = 127
_VIEW_FROM = 1024  # from this payload size, unmask from a view of the bytes read, not a copy

# Headers of short frames, made once: a reply of under 126 bytes is one tuple lookup.
_SHORT_TEXT = tuple(bytes((TEXT, n)) for n in range(_LENGTH_16))
_SHORT_BINARY = tuple(bytes((BINARY, n)) for n in range(_LENGTH_16))


def data_header(first: int, length: int) -> bytes:
    """The header of a whole, unmasked (server) frame: `first` is `TEXT` or `BINARY`."""
    if length < _LENGTH_16:
        return _SHORT_TEXT[length] if first == TEXT else _SHORT_BINARY[length]
    if length < 0x10000:
        return bytes((first, _LENGTH_16)) + length.to_bytes(2, "big")
    return bytes((first, _LENGTH_64)) + length.to_bytes(8, "big")


class DataFrames:
    """Reads a client's whole text and binary frames (see the module doc).

    `feed` takes such frames from the start of the bytes it is given and returns the bytes from
    the first other frame on; their payloads wait in `messages` as ``(first byte, payload)``.  A
    frame whose payload is still arriving is kept (`reading`) until it is complete.
    """

    __slots__ = ("_chunks", "_first", "_head", "_mask", "_missing", "_owed", "limit", "messages")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit  # the largest payload taken here; larger frames go to websockets
        self.messages: list[tuple[int, bytes]] = []
        self._first = 0
        self._mask = b""
        self._missing = 0  # payload bytes still to come of the frame being read
        self._chunks: list[bytes | memoryview] = []
        # The frame websockets is reading: its bytes still to come, or its header so far.
        self._owed = 0
        self._head = b""

    @property
    def reading(self) -> bool:
        """A frame's payload is partly here: the bytes that follow must come here first."""
        return self._missing > 0

    @property
    def at_boundary(self) -> bool:
        """Whether websockets has every frame handed to it whole: reading here may resume."""
        return self._owed == 0 and not self._head

    def hand_over(self, data: bytes) -> None:
        """Follow the frames in `data`, which goes to websockets, to where they end."""
        size = len(data)
        if self._owed >= size:
            self._owed -= size
            return
        position = self._owed
        self._owed = 0
        if self._head:  # a header cut short by the previous read: read it again, whole
            data = self._head + data
            size = len(data)
            self._head = b""
        while position < size:
            if size - position < 2:
                self._head = data[position:]
                return
            second = data[position + 1]
            length = second & 0x7F
            start = position + (6 if second & _MASKED else 2)
            if length == _LENGTH_16:
                start += 2
            elif length == _LENGTH_64:
                start += 8
            if start > size:
                self._head = data[position:]
                return
            if length == _LENGTH_16:
                length = int.from_bytes(data[position + 2 : position + 4], "big")
            elif length == _LENGTH_64:
                length = int.from_bytes(data[position + 2 : position + 10], "big")
            position = start + length
        self._owed = position - size

    def feed(self, data: bytes) -> bytes:
        """Take the whole simple frames at the start of `data`; return what is left (or b"")."""
        position = 0
        size = len(data)
        if self._missing:
            position = self._continue(data)
            if self._missing:
                return b""
        messages = self.messages
        limit = self.limit
        while size - position >= 6:  # the shortest masked header
            first = data[position]
            second = data[position + 1]
            if (first != TEXT and first != BINARY) or not second & _MASKED:
                break
            length = second & 0x7F
            start = position + 6
            if length == _LENGTH_16:
                start = position + 8
                if size < start:
                    break
                length = int.from_bytes(data[position + 2 : position + 4], "big")
                if length < _LENGTH_16:
                    break  # not the shortest encoding: websockets decides
            elif length == _LENGTH_64:
                start = position + 14
                if size < start:
                    break
                length = int.from_bytes(data[position + 2 : position + 10], "big")
                if length < 0x10000 or length >= 1 << 63:
                    break
            if limit is not None and length > limit:
                break  # websockets fails the connection with 1009
            mask = data[start - 4 : start]
            end = start + length
            if end > size:
                self._first = first
                self._mask = mask
                self._missing = end - size
                self._chunks = [memoryview(data)[start:]]
                return b""
            if length < _VIEW_FROM:
                messages.append((first, apply_mask(data[start:end], mask)))
            else:  # unmasked straight from the bytes read: no copy of the payload first
                messages.append((first, apply_mask(memoryview(data)[start:end], mask)))
            position = end
        if position == 0:
            return data
        return data[position:]

    def _continue(self, data: bytes) -> int:
        """Add `data` to the frame being read; returns how much of it the frame took."""
        missing = self._missing
        if len(data) < missing:
            self._chunks.append(data)
            self._missing = missing - len(data)
            return len(data)
        self._chunks.append(memoryview(data)[:missing])
        self._missing = 0
        payload = b"".join(self._chunks)
        self._chunks = []
        self.messages.append((self._first, apply_mask(payload, self._mask)))
        return missing
