"""Request-body forms: ``application/x-www-form-urlencoded`` and streaming ``multipart/form-data``.

Theory of operation (multipart, RFC 7578 on RFC 2046 §5.1):

* The body is consumed chunk by chunk and never joined. A small rolling buffer is searched with
  ``bytes.find`` for the delimiter ``CRLF "--" boundary``; the parser pretends the body starts
  with a CRLF, so a delimiter on the first line needs no special case. While no delimiter is in
  the buffer, all but its last ``len(delimiter) - 1`` bytes belong to the current part and are
  handed on at once, so a delimiter split across chunks (down to 1-byte chunks) is still found
  and memory stays bounded by the chunk size.
* The states are PREAMBLE -> (AFTER_DELIMITER -> HEADERS -> BODY)* -> EPILOGUE. The preamble and
  the epilogue are dropped but count against ``max_size``; the epilogue is read to the end of
  the body so that the connection stays in step.
* A part with a ``filename`` parameter, even an empty one (a browser's empty file input),
  becomes a `FileField`; aiohttp gives a ``str`` for an empty filename. Its content
  goes to an ``io.BytesIO`` up to ``spool_threshold`` bytes; past that it rolls over to an
  anonymous ``tempfile.TemporaryFile``, and disk writes run in a worker thread in batches of
  `_DISK_BATCH` bytes, awaited before the next chunk is read (so the loop never blocks on the
  disk and memory stays bounded). Other parts become ``str``.
* Every malformed input raises `FormError` (400) and every exceeded limit `FormError` (413).
  On any exception, cancellation included, the files made so far are closed before it leaves;
  a disk write in flight is shielded and awaited first, so no thread still holds the file.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
import re
import tempfile
from dataclasses import dataclass
from enum import Enum, auto
from typing import TYPE_CHECKING, BinaryIO, Final, assert_never
from urllib.parse import unquote_to_bytes

from ..errors import KetchError
from .multidict import CIMultiDict, CIMultiDictProxy, MultiDict

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = [
    "FileField",
    "FormError",
    "parse_content_type",
    "parse_multipart",
    "parse_urlencoded",
]

_MIB: Final = 1024 * 1024
# Part header blocks are bounded like a request's (h11 and aiohttp allow 8-16 KiB).
_MAX_PART_HEADERS: Final = 16 * 1024
# Disk writes of a rolled-over file go to a thread in batches of this size: large enough that
# the thread hop is noise, small enough to bound memory per upload.
_DISK_BATCH: Final = 256 * 1024
# Transport padding allowed after a delimiter (RFC 2046 §5.1.1 LWSP); real senders send none.
_MAX_PADDING: Final = 1024


class FormError(KetchError):
    """A request body that is not a well-formed form, or is over a limit.

    Attributes:
        status: 400 for a malformed body, 413 for one over a limit. The message is a short
            reason, fit for the response body.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


# --- Content-Type and other parameterised header values -------------------------------------

# RFC 9110 §5.6.2 token, §5.6.6 parameters, §5.6.4 quoted-string (bytes \x80-\xff are obs-text).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(
    rf'[ \t]*;[ \t]*(?:({_TOKEN})[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))[ \t]*)?', re.S
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
# Browsers do not escape backslashes in filenames (WHATWG HTML, multipart/form-data encoding):
# only \" and \\ are undone there, so "C:\dir\x.txt" survives (as python-multipart does).
_QUOTED_PAIR_LENIENT = re.compile(r'\\(["\\])')


def _parse_params(value: str, pos: int, quoted_pair: re.Pattern[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    end = len(value)
    while pos < end:
        m = _PARAM.match(value, pos)
        if m is None or m.end() == pos:
            # Junk: skip to the next ';' (lenient, like every browser and aiohttp).
            nxt = value.find(";", pos + 1)
            if nxt < 0:
                break
            pos = nxt
            continue
        pos = m.end()
        name, quoted, token = m.groups()
        if name is None:
            continue  # an empty parameter (";;") or one without a value
        name = name.lower()
        if name not in params:  # the first of duplicates wins
            params[name] = token if quoted is None else quoted_pair.sub(r"\1", quoted)
    return params


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type (or similar) value into media type and parameters.

    Args:
        value: for instance ``'multipart/form-data; boundary="a b"'``.

    Returns:
        The media type, lowercased and stripped (``""`` for an empty value), and the
        parameters: lowercased names, values with quotes and backslash escapes removed. The
        first of duplicate parameters wins; malformed parameters are skipped.
    """
    semi = value.find(";")
    if semi < 0:
        return value.strip(" \t").lower(), {}
    return value[:semi].strip(" \t").lower(), _parse_params(value, semi, _QUOTED_PAIR)


def _check_charset(charset: str) -> str:
    """`charset` if it names a text codec; a request may name any string."""
    try:
        info = codecs.lookup(charset)
    except LookupError:
        info = None
    # bytes.decode refuses codecs such as base64 or rot13 by this (documented-in-code) flag.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise FormError(400, f"unknown charset {charset[:40]!r}")
    return charset


def _decode(data: bytes | bytearray, charset: str) -> str:
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        raise FormError(400, f"form field is not valid {charset}") from None


# --- application/x-www-form-urlencoded --------------------------------------------------------


def parse_urlencoded(
    body: bytes, *, charset: str = "utf-8", max_fields: int = 1000
) -> MultiDict[str]:
    """Parse an ``application/x-www-form-urlencoded`` body (WHATWG URL §5.1).

    Fields are separated by ``&`` (empty ones skipped); ``+`` is a space; ``%XX`` is decoded
    and malformed escapes are kept as they are. A field without ``=`` and one with an empty
    value both give ``""``, as in aiohttp.

    Args:
        body: the whole body.
        charset: how the decoded bytes are text.
        max_fields: the most fields accepted.

    Raises:
        FormError: 400 if a name or value is not valid `charset` (or `charset` is unknown);
            413 for more than `max_fields` fields — a limit on how much the server will
            process, like a size limit, so the client learns that the form is too big rather
            than malformed.
    """
    _check_charset(charset)
    out: list[tuple[str, str]] = []
    if not body:
        return MultiDict._from_pairs(out)
    fields = body.split(b"&")
    if len(fields) > max_fields and sum(1 for f in fields if f) > max_fields:
        raise FormError(413, "too many form fields")
    for field in fields:
        if not field:
            continue
        name, _, value = field.partition(b"=")
        out.append((_unquote_plus(name, charset), _unquote_plus(value, charset)))
    return MultiDict._from_pairs(out)


def _unquote_plus(data: bytes, charset: str) -> str:
    if b"+" in data:
        data = data.replace(b"+", b" ")
    if b"%" in data:
        data = unquote_to_bytes(data)
    return _decode(data, charset)


# --- multipart/form-data ----------------------------------------------------------------------

# RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_HEADER_NAME = re.compile(_TOKEN.encode())


@dataclass(slots=True, eq=False)
class FileField:
    """An uploaded file: a multipart part with a ``filename`` parameter (aiohttp's FileField).

    Attributes:
        name: the form field's name.
        filename: the file name the client gave, as it gave it (untrusted: may hold a path).
        file: the content, positioned at 0: an ``io.BytesIO`` up to the spool threshold, else
            an anonymous temporary file. `close` it (or the `FileField`) when done.
        content_type: the part's Content-Type, ``application/octet-stream`` when it has none.
        headers: all the part's headers.
        size: the content's length in bytes.
    """

    name: str
    filename: str
    file: BinaryIO
    content_type: str
    headers: CIMultiDictProxy[str]
    size: int = 0

    def close(self) -> None:
        """Close `file` (a temporary file is deleted). Closing twice is harmless."""
        self.file.close()


class _State(Enum):
    PREAMBLE = auto()
    AFTER_DELIMITER = auto()
    HEADERS = auto()
    BODY = auto()
    EPILOGUE = auto()


class _Spool:
    """Where one file part's content goes: memory, then past the threshold a temporary file."""

    __slots__ = ("field", "inflight", "on_disk", "pending", "threshold")

    def __init__(self, field: FileField, threshold: int) -> None:
        self.field = field
        self.threshold = threshold
        self.on_disk = False
        self.pending = bytearray()  # bytes bound for the disk, not yet written
        self.inflight: asyncio.Task[None] | None = None  # the last disk write

    def write(self, data: memoryview) -> None:
        field = self.field
        field.size += len(data)
        if self.pending or field.size > self.threshold:
            self.pending += data
        else:
            field.file.write(data)

    def due(self) -> bool:
        return len(self.pending) >= _DISK_BATCH

    async def flush(self) -> None:
        """Write the pending bytes, rolling over to disk first if need be."""
        await self._in_thread(finish=False)

    async def finish(self) -> None:
        """Write what is pending, and rewind the file for the application."""
        if self.on_disk or self.pending:
            await self._in_thread(finish=True)
        else:
            self.field.file.seek(0)

    async def _in_thread(self, *, finish: bool) -> None:
        data, self.pending = self.pending, bytearray()
        self.on_disk = True
        # Shielded: if the request is cancelled, the thread keeps the file (it may be swapping
        # it for a temporary file), so the cleanup waits for it before closing (`abort`).
        self.inflight = asyncio.ensure_future(asyncio.to_thread(self._write, data, finish))
        await asyncio.shield(self.inflight)

    def _write(self, data: bytearray, finish: bool) -> None:
        # Runs in a worker thread; the loop awaits it before touching this spool again.
        field = self.field
        if isinstance(field.file, io.BytesIO):
            disk = tempfile.TemporaryFile()  # noqa: SIM115  # FileField.close closes it
            memory, field.file = field.file, disk
            disk.write(memory.getbuffer())
            memory.close()
        field.file.write(data)
        if finish:
            field.file.seek(0)


class _MultipartParser:
    """The synchronous state machine: `feed` bytes in, parts come out in `result`."""

    def __init__(
        self,
        boundary: bytes,
        *,
        max_field_size: int,
        max_parts: int,
        spool_threshold: int,
        charset: str,
    ) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.max_field_size = max_field_size
        self.max_parts = max_parts
        self.spool_threshold = spool_threshold
        self.charset = charset
        self.state = _State.PREAMBLE
        self.buf = bytearray(b"\r\n")  # the pretended CRLF before the first delimiter
        self.scanned = 0  # how far HEADERS has searched buf for the blank line
        self.parts = 0
        self.result: MultiDict[str | FileField] = MultiDict()
        self.spools: list[_Spool] = []  # every file part's, to close on error
        self.finished: list[_Spool] = []  # file parts complete but not yet flushed and rewound
        self.spool: _Spool | None = None  # the current part's, when it is a file
        self.text = bytearray()  # the current part's, when it is not
        self.name = ""
        self.text_charset: str | None = None

    def feed(self, chunk: bytes) -> None:
        buf = self.buf
        buf += chunk
        while True:
            match self.state:
                case _State.BODY:
                    if not self._body(buf):
                        return
                case _State.AFTER_DELIMITER:
                    if not self._after_delimiter(buf):
                        return
                case _State.HEADERS:
                    if not self._headers(buf):
                        return
                case _State.PREAMBLE:
                    i = buf.find(self.delimiter)
                    if i < 0:
                        del buf[: max(0, len(buf) - len(self.delimiter) + 1)]
                        return
                    del buf[: i + len(self.delimiter)]
                    self.state = _State.AFTER_DELIMITER
                case _State.EPILOGUE:
                    buf.clear()
                    return
                case unknown:
                    assert_never(unknown)

    def end(self) -> None:
        """The body has ended: it must have ended after the closing delimiter."""
        if self.state is not _State.EPILOGUE:
            raise FormError(400, "multipart body has no closing boundary")

    def _after_delimiter(self, buf: bytearray) -> bool:
        # RFC 2046 §5.1.1: delimiter [ "--" ] transport-padding CRLF
        if len(buf) < 2:
            return False
        if buf[0] == 0x2D and buf[1] == 0x2D:  # "--": the close delimiter
            self.state = _State.EPILOGUE
            return True
        eol = buf.find(b"\r\n")
        if eol < 0:
            if len(buf) > _MAX_PADDING or buf.strip(b" \t\r"):
                raise FormError(400, "junk after a multipart boundary")
            return False
        if buf[:eol].strip(b" \t"):
            raise FormError(400, "junk after a multipart boundary")
        del buf[: eol + 2]
        self.state = _State.HEADERS
        self.scanned = 0
        return True

    def _headers(self, buf: bytearray) -> bool:
        if len(buf) < 2:
            return False
        if buf[:2] == b"\r\n":
            end = 0  # no header fields at all
        else:
            end = buf.find(b"\r\n\r\n", max(0, self.scanned - 3))
            if end < 0:
                if len(buf) > _MAX_PART_HEADERS:
                    raise FormError(413, "multipart part headers too large")
                self.scanned = len(buf)
                return False
            if end > _MAX_PART_HEADERS:
                raise FormError(413, "multipart part headers too large")
        self.parts += 1
        if self.parts > self.max_parts:
            raise FormError(413, "too many multipart parts")
        block = bytes(buf[:end])
        del buf[: end + 4 if end else 2]
        self._start_part(block)
        self.state = _State.BODY
        return True

    def _start_part(self, block: bytes) -> None:
        pairs = _parse_part_headers(block) if block else []
        headers = CIMultiDict._from_pairs(pairs)
        dispositions = headers.getall("content-disposition", [])
        if len(dispositions) != 1:
            raise FormError(400, "multipart part needs one Content-Disposition")
        kind, params = _parse_disposition(dispositions[0])
        name = params.get("name")
        if kind != "form-data" or name is None:
            raise FormError(400, "multipart part is not form-data with a name")
        encoding = headers.get("content-transfer-encoding", "binary").strip().lower()
        if encoding not in ("binary", "8bit", "7bit"):  # RFC 7578 §4.7: deprecated
            raise FormError(400, "unsupported Content-Transfer-Encoding")
        self.name = name
        filename = _filename(params)
        content_type = headers.get("content-type")
        if filename is None:
            self.spool = None
            self.text.clear()
            self.text_charset = None
            if content_type is not None:
                charset = parse_content_type(content_type)[1].get("charset")
                if charset is not None:
                    self.text_charset = _check_charset(charset)
            return
        field = FileField(
            name=name,
            filename=filename,
            file=io.BytesIO(),
            content_type=content_type or "application/octet-stream",
            headers=CIMultiDictProxy(headers),
        )
        self.spool = _Spool(field, self.spool_threshold)
        self.spools.append(self.spool)

    def _body(self, buf: bytearray) -> bool:
        delimiter = self.delimiter
        i = buf.find(delimiter)
        n = len(buf) - len(delimiter) + 1 if i < 0 else i
        if n > 0:
            with memoryview(buf) as view, view[:n] as data:
                self._content(data)
            del buf[:n]
        if i < 0:
            return False
        del buf[: len(delimiter)]
        self._end_part()
        self.state = _State.AFTER_DELIMITER
        return True

    def _content(self, data: memoryview) -> None:
        if self.spool is not None:
            self.spool.write(data)
            return
        if len(self.text) + len(data) > self.max_field_size:
            raise FormError(413, "form field too large")
        self.text += data

    def _end_part(self) -> None:
        spool = self.spool
        if spool is not None:
            self.result.add(self.name, spool.field)
            self.finished.append(spool)
            self.spool = None
            return
        value = _decode(self.text, self.text_charset or self.charset)
        if self.name == "_charset_":  # RFC 7578 §4.6: the default for the parts after it
            self.charset = _check_charset(value.strip())
        self.result.add(self.name, value)

    async def drain(self) -> None:
        """Do the disk writes `feed` left: whole batches, and the ends of finished files."""
        while self.finished:
            await self.finished.pop(0).finish()
        if self.spool is not None and self.spool.due():
            await self.spool.flush()

    async def abort(self) -> None:
        """Close every file made so far, once no worker thread is still writing to it."""
        try:
            for spool in self.spools:
                if spool.inflight is not None and not spool.inflight.done():
                    await asyncio.wait([spool.inflight])
        finally:
            for spool in self.spools:
                # BufferError: a BytesIO still being copied by a thread we stopped waiting for
                # (cancelled twice); the thread's temporary file is then closed when collected.
                with contextlib.suppress(BufferError):
                    spool.field.close()


def _parse_part_headers(block: bytes) -> list[tuple[str, str]]:
    pairs = []
    for line in block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        # A bare CR or LF, an obs-fold (leading space) or a missing colon: not a header line.
        if not colon or not _HEADER_NAME.fullmatch(name) or b"\r" in value or b"\n" in value:
            raise FormError(400, "malformed multipart part header")
        value = value.strip(b" \t")
        try:
            text = value.decode()  # browsers send file names as raw UTF-8 (RFC 7578 §4.2)
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        pairs.append((name.decode("ascii"), text))
    return pairs


def _parse_disposition(value: str) -> tuple[str, dict[str, str]]:
    semi = value.find(";")
    if semi < 0:
        return value.strip(" \t").lower(), {}
    return value[:semi].strip(" \t").lower(), _parse_params(value, semi, _QUOTED_PAIR_LENIENT)


def _filename(params: dict[str, str]) -> str | None:
    """``filename*`` (RFC 8187: ``charset'language'pct-encoded``) if given, else ``filename``."""
    extended = params.get("filename*")
    if extended is None:
        return params.get("filename")
    charset, quote1, rest = extended.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not quote1 or not quote2:
        raise FormError(400, "malformed filename* parameter")
    try:
        return unquote_to_bytes(encoded).decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        raise FormError(400, "malformed filename* parameter") from None


def _boundary(content_type_header: str) -> bytes:
    media_type, params = parse_content_type(content_type_header)
    if media_type != "multipart/form-data":
        raise FormError(400, "body is not multipart/form-data")
    boundary = params.get("boundary")
    if boundary is None or _BOUNDARY.fullmatch(boundary) is None:
        raise FormError(400, "multipart/form-data without a valid boundary")
    return boundary.encode("ascii")


async def parse_multipart(
    content_type_header: str,
    chunks: AsyncIterator[bytes],
    *,
    max_size: int,
    max_field_size: int = _MIB,
    max_parts: int = 1000,
    spool_threshold: int = _MIB,
    charset: str = "utf-8",
) -> MultiDict[str | FileField]:
    """Parse a ``multipart/form-data`` body as it streams in.

    Args:
        content_type_header: the request's Content-Type value, with its ``boundary``.
        chunks: the body, in pieces of any size. Read to its end, epilogue included.
        max_size: the most body bytes accepted (preamble and epilogue count).
        max_field_size: the most bytes of one non-file part.
        max_parts: the most parts.
        spool_threshold: a file part's bytes kept in memory; past this, it goes to disk.
        charset: for non-file parts without a charset of their own (a ``_charset_`` field,
            RFC 7578 §4.6, overrides it for the parts after it).

    Returns:
        Field name to value, in body order: a `FileField` for parts with a ``filename``
        parameter (the caller closes them), a ``str`` for the others.

    Raises:
        FormError: 400 if the Content-Type or the body is malformed, truncated, or a field is
            not valid text; 413 when a limit is exceeded. Files are closed first.
    """
    parser = _MultipartParser(
        _boundary(content_type_header),
        max_field_size=max_field_size,
        max_parts=max_parts,
        spool_threshold=spool_threshold,
        charset=_check_charset(charset),
    )
    try:
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > max_size:
                raise FormError(413, "form body too large")
            parser.feed(chunk)
            await parser.drain()
        parser.end()
    except BaseException:
        await parser.abort()
        raise
    return parser.result
