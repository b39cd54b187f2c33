"""Validators of a file's representation: entity tags and HTTP dates (RFC 9110 §8.8, §5.6.7).

ETags are strong and made from the file's size and modification time, as nginx does: a write
changes the time (kept to the microsecond here, nginx keeps seconds), so two versions of a file
get two tags without reading its bytes.  The inode is left out on purpose: copies of one file on
several machines behind a load balancer must share their tags (Apache's ``FileETag INode``
regret).  A precompressed variant is a representation of its own, so its tag carries the coding.

Dates have one-second resolution, like Last-Modified itself.  Parsing accepts the three formats
RFC 9110 §5.6.7 says a recipient MUST accept, and nothing else.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime

__all__ = [
    "format_http_date",
    "make_etag",
    "parse_etag_list",
    "parse_http_date",
    "strong_match",
    "weak_match",
]

_DAYS = b"Mon Tue Wed Thu Fri Sat Sun".split()
_MONTHS = b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}
# IMF-fixdate has a 4DIGIT year: later (or negative) times have no HTTP-date.
MAX_HTTP_DATE = 253402300800  # 10000-01-01T00:00:00Z

_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = rb"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT ; date1 = day SP month SP year
_IMF_FIXDATE = re.compile(_DAY + rb", ([0-9]{2}) " + _MONTH + rb" ([0-9]{4}) " + _TIME + rb" GMT")
# rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT ; date2 = day "-" month "-" 2DIGIT
_RFC850 = re.compile(
    rb"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rb"([0-9]{2})-" + _MONTH + rb"-([0-9]{2}) " + _TIME + rb" GMT"
)
# asctime-date = day-name SP date3 SP time-of-day SP year
# date3 = month SP ( 2DIGIT / ( SP DIGIT ) )
_ASCTIME = re.compile(_DAY + rb" " + _MONTH + rb" ([0-9]{2}| [0-9]) " + _TIME + rb" ([0-9]{4})")

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text  (RFC 9110 §8.8.3)
_ETAG = re.compile(rb'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')
_WEAK = b"W/"


def make_etag(size: int, mtime: float, encoding: bytes | None = None) -> bytes:
    """Return the strong ETag of a file: ``"<mtime in µs, hex>-<size, hex>[-<coding>]"``.

    Args:
        size: the file's size in bytes.
        mtime: its modification time, in seconds since the epoch.
        encoding: the content coding of a precompressed variant (``b"gzip"``), or None.
    """
    tag = b'"%x-%x' % (round(mtime * 1_000_000), size)
    return tag + (b'-%s"' % encoding if encoding else b'"')


@functools.lru_cache(maxsize=256)
def format_http_date(seconds: int) -> bytes:
    """Return `seconds` since the epoch as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``).

    Raises:
        ValueError: the time is before 1970 or after 9999 (no IMF-fixdate spells it).
    """
    if not 0 <= seconds < MAX_HTTP_DATE:
        raise ValueError(f"no HTTP-date for {seconds} seconds since the epoch")
    t = time.gmtime(seconds)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday],
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def parse_http_date(value: bytes) -> int | None:
    """Return an HTTP-date as whole seconds since the epoch, or None if it is not one.

    The obsolete RFC 850 form has a two-digit year: 70-99 are read as 19xx and 00-69 as 20xx (the
    POSIX ``%y`` rule; RFC 9110's "50 years ahead" rule would need a clock here).
    """
    if match := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hour, minute, second = match.groups()
    elif match := _ASCTIME.fullmatch(value):
        month, day, hour, minute, second, year = match.groups()
    elif match := _RFC850.fullmatch(value):
        day, month, short_year, hour, minute, second = match.groups()
        year = b"%d" % (int(short_year) + (1900 if int(short_year) >= 70 else 2000))
    else:
        return None
    try:
        moment = datetime(
            int(year),
            _MONTH_NUMBERS[month],
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=UTC,
        )
    except ValueError:  # 31 Feb, hour 24, second 60, year 0000, ...
        return None
    return int(moment.timestamp())


def parse_etag_list(values: list[bytes]) -> list[bytes] | None:
    """Return the entity-tags of ``If-Match``/``If-None-Match`` values, or None if malformed.

    The field is ``1#entity-tag`` (``*`` is the caller's to test).  Tags may contain commas, so
    they are found first and the rest must be commas and whitespace between them.
    """
    value = b",".join(values)
    tags: list[bytes] = _ETAG.findall(value)
    # A field value never holds a NUL (the core refuses it), so NUL marks where each tag was.
    rest = _ETAG.sub(b"\x00", value).translate(None, b" \t")
    if any(member not in (b"", b"\x00") for member in rest.split(b",")):
        return None
    return tags


def strong_match(a: bytes, b: bytes) -> bool:
    """Strong comparison (RFC 9110 §8.8.3.2): both tags strong and equal."""
    return a == b and not a.startswith(_WEAK)


def weak_match(a: bytes, b: bytes) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2): equal once any ``W/`` prefix is dropped."""
    return a.removeprefix(_WEAK) == b.removeprefix(_WEAK)
