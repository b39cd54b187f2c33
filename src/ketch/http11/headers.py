"""Header fields: parsing received field lines, validating fields we send, comma-list helpers.

Theory of operation (reading):

* The reader splits a head on CRLF once and hands the field lines here.  Each line is
  ``field-name ":" OWS field-value OWS`` (RFC 9112 §5); a line that is not exactly that is a 400:
  whitespace before the colon (§5.1: "MUST respond with 400"), a line starting with whitespace
  (obs-fold, §5.2: we reject rather than unfold), a bare CR or LF (they never survive the CRLF split
  as anything but a forbidden byte), or a CTL/NUL in the value (RFC 9110 §5.5).
* A browser repeats the same lines on every request (``User-Agent``, ``Accept``, ...).  Lines are
  parsed once and remembered in a bounded dict keyed on their exact bytes, so the common case costs
  one dict lookup per line, done in C by ``map``.  The remembered result is the immutable
  ``(name, value)`` tuple of a line that passed validation, so a hit is exactly as strict as a miss.
  Lines whose name matters to framing or persistence are kept in a second dict with their kind so
  the reader learns the kind without lowercasing anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._abnf import FIELD_VALUE_CHARS, TOKEN_CHARS
from .errors import LocalProtocolError, RemoteProtocolError

if TYPE_CHECKING:
    from .events import Headers

__all__ = [
    "SPECIAL_NAMES",
    "comma_tokens",
    "get_values",
    "lowercase_names",
    "outgoing_kind",
    "parse_field_line",
    "parse_field_lines",
    "prepare_outgoing",
    "validate_outgoing",
]

# Fields whose value changes how the reader frames or continues the connection.  Everything else
# is passed through untouched.
SPECIAL_NAMES = frozenset(
    (b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect")
)

_CACHE_MAX = 4096  # entries in each line cache; cleared when full (a cache, never a store)
_LINE_MAX = 1024  # longer lines are parsed every time: they are rarely repeated
_plain_cache: dict[bytes, tuple[bytes, bytes]] = {}
_special_cache: dict[bytes, tuple[tuple[bytes, bytes], bytes]] = {}
_lower_cache: dict[bytes, bytes] = {}

_OWS = b" \t"


def parse_field_line(line: bytes) -> tuple[bytes, bytes]:
    """Parse one field line (without its CRLF) into ``(name, value)``.

    Args:
        line: ``field-name ":" OWS field-value OWS``.

    Returns:
        The name as sent and the value without surrounding whitespace.

    Raises:
        RemoteProtocolError: the line is not a valid field line (400).
    """
    name, colon, value = line.partition(b":")
    if not colon:
        raise RemoteProtocolError("header line without a colon")
    if not name or name.translate(None, TOKEN_CHARS):
        # Covers obs-fold (leading SP/HTAB) and whitespace before the colon (RFC 9112 §5.1).
        raise RemoteProtocolError(f"invalid header name {name[:64]!r}")
    value = value.strip(_OWS)
    if value.translate(None, FIELD_VALUE_CHARS):
        raise RemoteProtocolError(f"invalid character in the value of header {name[:64]!r}")
    return name, value


def parse_field_lines(lines: list[bytes]) -> tuple[Headers, list[tuple[bytes, bytes]]]:
    """Parse field lines, returning the header list and the special fields among them.

    Args:
        lines: field lines without CRLF.

    Returns:
        ``(headers, special)``: every field as ``(name, value)`` in order, and the fields named in
        `SPECIAL_NAMES` as ``(lowercase_name, value)``, in order.

    Raises:
        RemoteProtocolError: a line is not a valid field line (400).
    """
    pairs: list[tuple[bytes, bytes] | None] = list(map(_plain_cache.get, lines))
    special: list[tuple[bytes, bytes]] = []
    misses = pairs.count(None)
    index = -1
    for _ in range(misses):
        index = pairs.index(None, index + 1)
        line = lines[index]
        hit = _special_cache.get(line)
        if hit is None:
            pair = parse_field_line(line)
            lname = pair[0].lower()
            if lname not in SPECIAL_NAMES:
                if len(line) <= _LINE_MAX:
                    if len(_plain_cache) >= _CACHE_MAX:
                        _plain_cache.clear()
                    _plain_cache[line] = pair
                pairs[index] = pair
                continue
            hit = (pair, lname)
            if len(line) <= _LINE_MAX:
                if len(_special_cache) >= _CACHE_MAX:
                    _special_cache.clear()
                _special_cache[line] = hit
        pairs[index] = hit[0]
        special.append((hit[1], hit[0][1]))
    return pairs, special  # type: ignore[return-value]  # every None was replaced above


def lowercase_names(headers: Headers) -> Headers:
    """Return the fields with lowercase names (what ASGI wants), sharing the value objects."""
    # One comprehension over a cache of lowered names: a third of the instructions of
    # splitting names and values and zipping them back (measured with valgrind).
    lowered = _lower_cache.get
    return [(lowered(name) or _lower_and_remember(name), value) for name, value in headers]


def _lower_and_remember(name: bytes) -> bytes:
    lowered = name.lower()
    if len(_lower_cache) >= _CACHE_MAX:
        _lower_cache.clear()
    _lower_cache[name] = lowered
    return lowered


def get_values(headers: Headers, lname: bytes) -> list[bytes]:
    """Return the values of every field named `lname` (lowercase), in order."""
    return [value for name, value in headers if name.lower() == lname]


def comma_tokens(values: list[bytes]) -> list[bytes]:
    """Split comma-separated list values into lowercase members, dropping empty ones.

    RFC 9110 §5.6.1: a recipient MUST accept empty list elements and ignore them.
    """
    tokens = []
    for value in values:
        for member in value.split(b","):
            member = member.strip(_OWS)
            if member:
                tokens.append(member.lower())
    return tokens


# What a response field name means to the writer, cached per name object value.
OUT_PLAIN, OUT_LENGTH, OUT_CODING, OUT_CONNECTION, OUT_DATE, OUT_SERVER = range(6)
_OUT_KINDS = {
    b"content-length": OUT_LENGTH,
    b"transfer-encoding": OUT_CODING,
    b"connection": OUT_CONNECTION,
    b"date": OUT_DATE,
    b"server": OUT_SERVER,
}
_out_names: dict[bytes, int] = {}
_out_lines: dict[tuple[bytes, bytes], tuple[bytes, int]] = {}
# A serialized field block holds field-value bytes plus the CRLF ending each line.
_FIELD_LINE_CHARS = FIELD_VALUE_CHARS + b"\r\n"


def outgoing_kind(name: Any) -> int:
    """Return what a field name we send means to framing (``OUT_*``), validating it once.

    Raises:
        LocalProtocolError: the name is not a token.
    """
    try:
        kind = _out_names.get(name)
    except TypeError:  # unhashable, so not bytes: refused just below
        kind = None
    if kind is None:
        if type(name) is not bytes:
            raise LocalProtocolError(f"header names and values must be bytes, not {name!r:.64}")
        if not name or name.translate(None, TOKEN_CHARS):
            raise LocalProtocolError(f"invalid header name {name[:64]!r}")
        kind = _OUT_KINDS.get(name.lower(), OUT_PLAIN)
        if len(_out_names) >= _CACHE_MAX:
            _out_names.clear()
        _out_names[name] = kind
    return kind


def prepare_outgoing(
    headers: Headers,
) -> tuple[bytes, bytes | None, bytes | None, bool, bool, bool]:
    """Validate, classify and serialize the fields of a response we are about to send.

    Field lines already checked are cached (names and values from apps repeat), so a known line
    costs one dictionary lookup.

    Returns:
        ``(block, content_length, transfer_encoding, close, has_date, has_server)``: the field
        lines as bytes, the values of those two fields (None when absent), whether Connection
        says close, and whether Date and Server are set by the response itself.

    Raises:
        LocalProtocolError: a name is not a token, a value holds a forbidden byte (a CR, LF or
            NUL would let the app inject lines), a name or value is not bytes, or Content-Length
            fields disagree.
    """
    length: bytes | None = None
    coding: bytes | None = None
    close = has_date = has_server = False
    lines = []
    # Any: apps hand over lists, str or int values; they must reach _check_line's error, not a
    # TypeError from compiled code's type checks.
    pairs: list[Any] = headers
    for pair in pairs:
        try:
            known = _out_lines.get(pair)
        except TypeError:  # a list, say: checked, never cached
            known = None
        line, kind = _check_line(pair) if known is None else known
        lines.append(line)
        if kind:
            value = pair[1]
            if kind == OUT_LENGTH:
                if length is not None and value != length:
                    raise LocalProtocolError("conflicting Content-Length fields")
                length = value
            elif kind == OUT_CODING:
                coding = value
            elif kind == OUT_CONNECTION:
                close = close or b"close" in comma_tokens([value])
            elif kind == OUT_SERVER:
                has_server = True
            else:
                has_date = True
    return b"".join(lines), length, coding, close, has_date, has_server


def _check_line(pair: Any) -> tuple[bytes, int]:
    try:
        name, value = pair
        line = b"%s: %s\r\n" % (name, value)
    except (TypeError, ValueError):
        raise LocalProtocolError(
            f"a header must be a (name, value) pair of bytes: {pair!r:.64}"
        ) from None
    kind = outgoing_kind(name)
    if line.count(b"\n") != 1 or line.count(b"\r") != 1 or line.translate(None, _FIELD_LINE_CHARS):
        raise LocalProtocolError(f"invalid character in header value {bytes(value[:64])!r}")
    if type(value) is bytes and type(pair) is tuple:
        if len(_out_lines) >= _CACHE_MAX:
            _out_lines.clear()
        _out_lines[pair] = (line, kind)
    return line, kind


def validate_outgoing(headers: Headers) -> None:
    """Check fields we are about to send: token names, no CTL (bar HTAB) in values.

    A CR, LF or NUL from an application would let it inject header lines or split the response, so
    this runs on every field before it is turned into bytes.

    Raises:
        LocalProtocolError: a name is not a token or a value holds a forbidden byte.
    """
    names = [name for name, _ in headers]
    if b"".join(names).translate(None, TOKEN_CHARS) or not all(names):
        bad = next(n for n in names if not n or n.translate(None, TOKEN_CHARS))
        raise LocalProtocolError(f"invalid header name {bad[:64]!r}")
    values = [value for _, value in headers]
    if b"".join(values).translate(None, FIELD_VALUE_CHARS):
        bad = next(v for v in values if v.translate(None, FIELD_VALUE_CHARS))
        raise LocalProtocolError(f"invalid character in header value {bad[:64]!r}")
