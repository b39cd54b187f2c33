"""Byte ranges (RFC 9110 §14): parsing ``Range`` and framing ``multipart/byteranges``.

Policy, within what §14.2 lets a server do:

* A Range header that is malformed, names another unit, or lists more than `MAX_RANGES` ranges
  is ignored: the whole file is sent with 200 ("MAY ignore or reject").
* Ranges are sorted and those that overlap or touch are merged ("MAY coalesce ... regardless of
  the order"), so a response never holds more bytes than the file, whatever the client asks for
  (the "Apache killer" sent thousands of overlapping ranges, CVE-2011-3192).
* Ranges that start past the end are dropped; if none is left the request is unsatisfiable (416).
"""

from __future__ import annotations

__all__ = ["MAX_RANGES", "multipart_heads", "parse_range"]

MAX_RANGES = 16  # range-specs per request; nginx's max_ranges is unlimited, Apache's 200
# More digits than this is past any file size: read as "very large" without building the int
# (and without Python's 4300-digit int() limit).
_MAX_DIGITS = 18
_HUGE = 10**_MAX_DIGITS
_OWS = b" \t"


def parse_range(value: bytes, size: int) -> list[tuple[int, int]] | None:
    """Return the byte ranges of a ``Range`` value for a file of `size` bytes.

    Args:
        value: the field value, e.g. ``b"bytes=0-99, -500"``.
        size: the length of the selected representation (positive).

    Returns:
        None when the header must be ignored (malformed, not ``bytes``, too many ranges); an empty
        list when no range is satisfiable (416); otherwise ``(start, end_exclusive)`` pairs,
        sorted, merged, non-empty and within the file.
    """
    # ranges-specifier = range-unit "=" range-set ; range units are case-insensitive (§14.1)
    unit, equals, range_set = value.partition(b"=")
    if not equals or unit.lower() != b"bytes":
        return None
    # range-set = 1#range-spec (empty list elements are allowed and ignored, §5.6.1)
    specs = [spec for spec in (s.strip(_OWS) for s in range_set.split(b",")) if spec]
    if not specs or len(specs) > MAX_RANGES:
        return None
    ranges = []
    for spec in specs:
        first, dash, last = spec.partition(b"-")
        if not dash:
            return None
        if not first:
            # suffix-range = "-" suffix-length: the last N bytes; "-0" selects nothing.
            length = _number(last)
            if length is None:
                return None
            if length:
                ranges.append((max(size - length, 0), size))
            continue
        # int-range = first-pos "-" [ last-pos ]
        start = _number(first)
        end = _number(last) if last else size - 1
        if start is None or end is None or (last and end < start):
            return None
        if start < size:
            ranges.append((start, min(end + 1, size)))
    return _coalesce(ranges)


def _number(digits: bytes) -> int | None:
    # bytes.isdigit() is ASCII-only: int() would also take "+1", " 1", "1_0" and other scripts.
    if not digits.isdigit():
        return None
    return int(digits) if len(digits) <= _MAX_DIGITS else _HUGE


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            previous_start, previous_end = merged[-1]
            merged[-1] = (previous_start, max(previous_end, end))
        else:
            merged.append((start, end))
    return merged


def multipart_heads(
    ranges: list[tuple[int, int]], size: int, content_type: bytes, boundary: bytes
) -> tuple[list[bytes], bytes]:
    """Return the bytes before each range's slice in a ``multipart/byteranges`` body, and the
    closing delimiter that follows the last slice (RFC 9110 §14.6, RFC 2046 §5.1.1).

    The body is ``heads[0] + slice0 + heads[1] + slice1 + ... + closing``.  Each part has the
    Content-Type of the whole representation and its own Content-Range.
    """
    heads = [
        b"%s--%s\r\ncontent-type: %s\r\ncontent-range: bytes %d-%d/%d\r\n\r\n"
        % (b"\r\n" if index else b"", boundary, content_type, start, end - 1, size)
        for index, (start, end) in enumerate(ranges)
    ]
    return heads, b"\r\n--%s--\r\n" % boundary
