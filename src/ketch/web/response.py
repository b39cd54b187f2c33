"""Responses: `Response` (a whole body), `StreamResponse` (written piece by piece), `FileResponse`.

A handler returns one of them.  A `Response` leaves in one write through the exchange's
``respond``, without a coroutine; a `StreamResponse` is prepared and written by the handler; a
`FileResponse` goes through the static-file code (conditional requests, Range, sendfile).

Headers are built lazily: a ``Response(text=...)`` whose headers are never looked at goes out with
its content type alone, without a `CIMultiDict` being made.
"""

from __future__ import annotations

import datetime
import email.utils
import json
from collections.abc import Callable, Iterable, Mapping
from http.cookies import Morsel, SimpleCookie
from typing import TYPE_CHECKING, Any, Final

from .._compiled import mypyc_attr
from ..http11.writers import reason_phrase
from .exceptions import HTTPForbidden, HTTPNotFound
from .multidict import CIMultiDict
from .storage import Storage

if TYPE_CHECKING:
    import os

    from ..server.handler import Exchange
    from .request import Request

__all__ = [
    "FileResponse",
    "Response",
    "StreamResponse",
    "json_response",
]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

_CONTENT_TYPE = b"content-type"
_SET_COOKIE = b"set-cookie"
_encoded: dict[str, bytes] = {}  # content-type values seen so far, encoded once


def _encode_value(value: str) -> bytes:
    encoded = _encoded.get(value)
    if encoded is None:
        encoded = value.encode("utf-8")
        if len(_encoded) < 256:
            _encoded[value] = encoded
    return encoded


def _default_dumps() -> Callable[[Any], str | bytes]:
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return json.dumps
    return orjson.dumps  # type: ignore[no-any-return, unused-ignore]


json_dumps: Callable[[Any], str | bytes] = _default_dumps()
"""`json_response`'s default ``dumps``: ``orjson.dumps`` when installed, else ``json.dumps``."""


@mypyc_attr(allow_interpreted_subclasses=True)
class StreamResponse(Storage):
    """A response whose body the handler writes: `prepare`, then `write`, then `write_eof`.

    Without a `content_length` the body goes out chunked (HTTP/1.1) or until the connection
    closes (HTTP/1.0).  `write` waits while the client is not reading (backpressure).  Like
    aiohttp's, the response is a mutable mapping for middlewares to keep per-response data in.
    """

    # Class-level defaults: a response sets only what differs, which keeps making one cheap.
    _reason: str | None = None
    _content_type: str | None = None  # the Content-Type value while headers are lazy
    _headers: CIMultiDict[str] | None = None
    _cookies: SimpleCookie | None = None
    _partitioned: frozenset[str] | None = None
    _exchange: Exchange | None = None
    _eof_sent = False
    _length: int | None = None
    _chunked = False

    def __init__(
        self, *, status: int = 200, reason: str | None = None, headers: Headers | None = None
    ) -> None:
        self._status = status
        if reason is not None:
            self._reason = reason
        if headers is not None:
            self._headers = CIMultiDict(headers)

    # ------------------------------------------------------------ status and headers

    @property
    def status(self) -> int:
        return self._status

    def set_status(self, status: int, reason: str | None = None) -> None:
        """Change the status (and reason) before the response is prepared."""
        if self.prepared:
            raise RuntimeError("cannot change the status of a prepared response")
        self._status = status
        self._reason = reason

    @property
    def reason(self) -> str:
        if self._reason is not None:
            return self._reason
        return reason_phrase(self._status)

    @property
    def headers(self) -> CIMultiDict[str]:
        """The response headers (a case-insensitive multi-dict), made on first access."""
        headers = self._headers
        if headers is None:
            headers = self._headers = CIMultiDict()
            if self._content_type is not None:
                headers["Content-Type"] = self._content_type
                self._content_type = None
        return headers

    def _content_type_value(self) -> str | None:
        if self._headers is None:
            return self._content_type
        return self._headers.get("Content-Type")

    def _set_content_type_value(self, value: str) -> None:
        if self._headers is None:
            self._content_type = value
        else:
            self._headers["Content-Type"] = value

    @property
    def content_type(self) -> str:
        """The media type, without parameters (``application/octet-stream`` when unset)."""
        value = self._content_type_value()
        if not value:
            return "application/octet-stream"
        return value.partition(";")[0].strip().lower()

    @content_type.setter
    def content_type(self, value: str) -> None:
        charset = self.charset
        self._set_content_type_value(f"{value}; charset={charset}" if charset else str(value))

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of the content type, if any."""
        value = self._content_type_value()
        if not value:
            return None
        for param in value.split(";")[1:]:
            name, _, setting = param.partition("=")
            if name.strip().lower() == "charset":
                return setting.strip().strip('"').lower() or None
        return None

    @charset.setter
    def charset(self, value: str | None) -> None:
        media = self.content_type
        if media == "application/octet-stream" and not self._content_type_value():
            raise RuntimeError("setting a charset needs a content type first")
        self._set_content_type_value(f"{media}; charset={value.lower()}" if value else media)

    @property
    def content_length(self) -> int | None:
        """The declared body length, if one was set."""
        if self._headers is not None and "Content-Length" in self._headers:
            return int(self._headers["Content-Length"])
        return self._length

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        if value is not None and (value < 0 or self._chunked):
            raise RuntimeError("a content length must be >= 0 and excludes chunked encoding")
        self._length = value
        if self._headers is not None:
            self._headers.popall("Content-Length", None)

    def enable_chunked_encoding(self) -> None:
        """Send the body chunked (the default for HTTP/1.1 when no length is known)."""
        if self.content_length is not None:
            raise RuntimeError("you can't enable chunked encoding when a content length is set")
        self._chunked = True

    @property
    def last_modified(self) -> datetime.datetime | None:
        value = self._headers.get("Last-Modified") if self._headers is not None else None
        if not value:
            return None
        try:
            return email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None

    @last_modified.setter
    def last_modified(self, value: float | datetime.datetime | str | None) -> None:
        if value is None:
            self.headers.popall("Last-Modified", None)
            return
        if isinstance(value, int | float):
            value = datetime.datetime.fromtimestamp(value, datetime.UTC)
        if isinstance(value, datetime.datetime):
            value = email.utils.format_datetime(value.astimezone(datetime.UTC), usegmt=True)
        self.headers["Last-Modified"] = value

    @property
    def etag(self) -> str | None:
        value = self._headers.get("ETag") if self._headers is not None else None
        return value.removeprefix("W/").strip('"') if value else None

    @etag.setter
    def etag(self, value: str | None) -> None:
        if value is None:
            self.headers.popall("ETag", None)
        else:
            self.headers["ETag"] = value if value.startswith(("W/", '"')) else f'"{value}"'

    # ------------------------------------------------------------ cookies

    @property
    def cookies(self) -> SimpleCookie:
        if self._cookies is None:
            self._cookies = SimpleCookie()
        return self._cookies

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        expires: str | None = None,
        domain: str | None = None,
        max_age: int | str | None = None,
        path: str = "/",
        secure: bool | None = None,
        httponly: bool | None = None,
        samesite: str | None = None,
        partitioned: bool | None = None,
    ) -> None:
        """Add a ``Set-Cookie`` (an invalid name raises ``http.cookies.CookieError``)."""
        cookies = self.cookies
        cookies[name] = value
        morsel: Morsel[str] = cookies[name]
        if expires is not None:
            morsel["expires"] = expires
        if domain is not None:
            morsel["domain"] = domain
        if max_age is not None:
            morsel["max-age"] = str(max_age)
        morsel["path"] = path
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            morsel["samesite"] = samesite
        # http.cookies knows Partitioned only from Python 3.14: _head() appends it.
        if partitioned:
            self._partitioned = (self._partitioned or frozenset()) | {name}
        elif self._partitioned and name in self._partitioned:
            self._partitioned = self._partitioned - {name}

    def del_cookie(
        self,
        name: str,
        *,
        domain: str | None = None,
        path: str = "/",
        secure: bool | None = None,
        httponly: bool | None = None,
        samesite: str | None = None,
    ) -> None:
        """Tell the client to drop a cookie (an expired, empty one)."""
        self.cookies.pop(name, None)
        self.set_cookie(
            name,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            domain=domain,
            path=path,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    # ------------------------------------------------------------ the wire

    def _head(self) -> list[tuple[bytes, bytes]]:
        """The response fields, as the exchange takes them."""
        headers = self._headers
        if headers is None:
            content_type = self._content_type
            pairs = (
                []
                if content_type is None
                else [(_CONTENT_TYPE, _encoded.get(content_type) or _encode_value(content_type))]
            )
            if self._length is None and self._cookies is None:
                return pairs  # the common case: the content type alone
        else:
            pairs = [
                (name.encode("latin-1"), value.encode("utf-8")) for name, value in headers.items()
            ]
        if self._length is not None and (headers is None or "Content-Length" not in headers):
            pairs.append((b"content-length", str(self._length).encode()))
        if self._cookies:
            partitioned = self._partitioned or ()
            for name, morsel in self._cookies.items():
                line = morsel.OutputString()
                if name in partitioned:
                    line += "; Partitioned"
                pairs.append((_SET_COOKIE, line.encode("latin-1")))
        return pairs

    def _reason_bytes(self) -> bytes:
        return self._reason.encode("latin-1") if self._reason is not None else b""

    @property
    def prepared(self) -> bool:
        """`prepare` was called (the head is on its way)."""
        return self._exchange is not None

    async def prepare(self, request: Request) -> None:
        """Send the head (with the first body bytes): after this, headers are fixed."""
        if self._exchange is not None:
            return
        await request._before_prepare(self)
        exchange = request._exchange
        self._exchange = exchange
        exchange.start(self._status, self._head(), self._reason_bytes())

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write body bytes; waits while the client is not reading."""
        exchange = self._exchange
        if exchange is None:
            raise RuntimeError("cannot call write() before prepare()")
        if self._eof_sent:
            raise RuntimeError("cannot call write() after write_eof()")
        if data:
            await exchange.write(bytes(data))

    async def drain(self) -> None:
        """Kept for aiohttp compatibility: `write` already waits for the client."""

    async def write_eof(self, data: bytes = b"") -> None:
        """Write the last bytes and complete the response."""
        if self._eof_sent:
            return
        exchange = self._exchange
        if exchange is None:
            raise RuntimeError("cannot call write_eof() before prepare()")
        self._eof_sent = True
        exchange.finish(bytes(data))

    def _send(self, request: Request) -> Any:
        """Complete the response after its handler returned it; may return an awaitable."""
        if self._exchange is None:
            return self._prepare_and_end(request)
        if not self._eof_sent:
            self._finish_prepared(b"")
        return None

    def _finish_prepared(self, rest: bytes) -> None:
        """Complete a response its handler prepared but did not end, with `rest` as last bytes."""
        exchange = self._exchange
        assert exchange is not None
        self._eof_sent = True
        if not exchange.response_complete and not exchange.disconnected:
            exchange.finish(rest)

    async def _prepare_and_end(self, request: Request) -> None:
        await self.prepare(request)
        await self.write_eof()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._status} {self.reason}>"


@mypyc_attr(allow_interpreted_subclasses=True)
class Response(StreamResponse):
    """A response with its whole body: ``web.Response(text="Hello!\\n")``.

    Args:
        body: the content as bytes (content type ``application/octet-stream`` unless given).
        text: the content as text (content type ``text/plain``, encoded with `charset`).
        status: the status code.
        reason: a reason phrase other than the standard one.
        headers: response headers.
        content_type: the media type (without a charset parameter: give `charset` instead).
        charset: the text encoding (``utf-8`` by default for `text`).
    """

    def __init__(
        self,
        *,
        body: bytes | bytearray | memoryview | None = None,
        status: int = 200,
        reason: str | None = None,
        text: str | None = None,
        headers: Headers | None = None,
        content_type: str | None = None,
        charset: str | None = None,
    ) -> None:
        self._status = status
        if reason is not None:
            self._reason = reason
        if headers is None and charset is None:
            # The common cases, without the general path's checks and formatting.
            if text is not None and body is None and content_type is None and type(text) is str:
                self._content_type = "text/plain; charset=utf-8"
                self._body = text.encode()
                return
            if (
                text is None
                and type(body) is bytes
                and content_type
                and "charset" not in content_type
            ):
                self._content_type = content_type
                self._body = body
                return
        if body is not None and text is not None:
            raise ValueError("body and text are not allowed together")
        if headers is not None:
            self._headers = CIMultiDict(headers)
        if content_type is not None and "charset" in content_type:
            raise ValueError("charset must not be in content_type; give charset=")
        declared = self._headers is not None and "Content-Type" in self._headers
        if text is not None:
            if not isinstance(text, str):
                raise TypeError(f"text argument must be str ({type(text).__name__!r})")
            if declared:
                if content_type is not None or charset is not None:
                    raise ValueError("content_type or charset given twice (also in headers)")
                charset = self.charset or "utf-8"
            else:
                charset = charset or "utf-8"
                if content_type is None and charset == "utf-8":
                    self._content_type = "text/plain; charset=utf-8"  # the common case, no format
                else:
                    self._set_content_type_value(
                        f"{content_type or 'text/plain'}; charset={charset}"
                    )
            self._body = text.encode(charset)
            return
        if body is None:
            self._body = b""
        elif isinstance(body, bytes):
            self._body = body
        elif isinstance(body, bytearray | memoryview):
            self._body = bytes(body)
        else:
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        if not declared and (content_type is not None or charset is not None or body is not None):
            media = content_type or "application/octet-stream"
            self._set_content_type_value(f"{media}; charset={charset}" if charset else media)

    @property
    def body(self) -> bytes:
        return self._body

    @body.setter
    def body(self, value: bytes | bytearray | memoryview | None) -> None:
        self._body = b"" if value is None else bytes(value)

    @property
    def text(self) -> str | None:
        return self._body.decode(self.charset or "utf-8")

    @text.setter
    def text(self, value: str) -> None:
        if not self._content_type_value():
            self._set_content_type_value("text/plain; charset=utf-8")
        self._body = value.encode(self.charset or "utf-8")

    @property
    def content_length(self) -> int | None:
        return len(self._body)

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        raise RuntimeError("the content length of a Response is its body's")

    def _send(self, request: Request) -> Any:
        if self._exchange is not None:  # prepared and perhaps written by the handler itself
            return super()._send(request)
        if request._has_prepare_signal():
            return self._send_after_signal(request)
        self._send_whole(request)
        return None

    async def _send_after_signal(self, request: Request) -> None:
        await request._before_prepare(self)
        if self._exchange is None:
            self._send_whole(request)

    def _send_whole(self, request: Request) -> None:
        exchange = request._exchange
        self._exchange = exchange
        self._eof_sent = True
        if self._reason is None:
            exchange.respond(self._status, self._head(), self._body)
        else:
            exchange.start(self._status, self._head(), self._reason_bytes())
            exchange.finish(self._body)

    async def write_eof(self, data: bytes = b"") -> None:
        if data:  # the head declared the body's length (aiohttp asserts the same)
            raise ValueError("Response.write_eof() takes no data: set body or text instead")
        if self._exchange is not None and not self._eof_sent:
            self._eof_sent = True
            self._exchange.finish(self._body)

    def _finish_prepared(self, rest: bytes) -> None:
        # Prepared by the handler (the head declared the body's length): the body completes it.
        super()._finish_prepared(self._body)

    async def prepare(self, request: Request) -> None:
        if self._exchange is not None:
            return
        await request._before_prepare(self)
        exchange = request._exchange
        self._exchange = exchange
        head = self._head()
        if self._headers is None or "Content-Length" not in self._headers:
            head.append((b"content-length", str(len(self._body)).encode()))
        exchange.start(self._status, head, self._reason_bytes())


def json_response(
    data: Any = None,
    *,
    text: str | None = None,
    body: bytes | None = None,
    status: int = 200,
    reason: str | None = None,
    headers: Headers | None = None,
    content_type: str = "application/json",
    dumps: Callable[[Any], str | bytes] | None = None,
) -> Response:
    """A `Response` with `data` serialized as JSON (orjson when installed, else ``json.dumps``).

    `dumps` may return str or bytes.  Give `text` or `body` to send JSON you already have.
    """
    if text is None and body is None:
        out = (dumps or json_dumps)(data)
        if isinstance(out, bytes):
            body = out
        else:
            text = out
    elif data is not None:
        raise ValueError("only one of data, text or body can be given")
    if body is not None:
        return Response(
            body=body, status=status, reason=reason, headers=headers, content_type=content_type
        )
    return Response(
        text=text, status=status, reason=reason, headers=headers, content_type=content_type
    )


@mypyc_attr(allow_interpreted_subclasses=True)
class FileResponse(StreamResponse):
    """A file from disk: conditional requests (ETag, Last-Modified), Range and sendfile.

    Args:
        path: the file to send.
        chunk_size: kept for aiohttp compatibility (sendfile needs no chunking).
        status: the status for a whole-file answer.
        headers: extra response headers (a Content-Type here overrides the guessed one).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        chunk_size: int = 256 * 1024,
        status: int = 200,
        reason: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        self._path = path
        self._chunk_size = chunk_size

    def _send(self, request: Request) -> Any:
        if self._exchange is not None:
            return super()._send(request)
        return self._send_file(request)

    async def _send_file(self, request: Request) -> None:
        from ..static import FileAccessError, send_file

        await request._before_prepare(self)
        content_type = None
        fields = []
        for name, value in self._head():
            if name.lower() == _CONTENT_TYPE:
                content_type = value  # given by the app: it replaces the guessed one
            else:
                fields.append((name, value))
        exchange = request._exchange
        self._exchange = exchange
        self._eof_sent = True
        try:
            await send_file(
                exchange, self._path, headers=fields, status=self._status, content_type=content_type
            )
        except FileAccessError as exc:
            self._exchange = None
            self._eof_sent = False
            raise HTTPNotFound() if exc.status == 404 else HTTPForbidden() from None

    async def prepare(self, request: Request) -> None:
        await self._send_file(request)


_OWN_CLASSES: Final[tuple[type[StreamResponse], ...]] = (FileResponse, Response, StreamResponse)
_sends_directly: dict[type[StreamResponse], bool] = {}


def send_returned(response: StreamResponse, request: Request) -> Any:
    """Complete a response its handler returned; may return an awaitable.

    ketch's own classes skip ``prepare``/``write_eof`` when they can (a `Response` leaves in one
    write).  A subclass that overrides either gets them called, as aiohttp calls them.
    """
    cls = type(response)
    direct = _sends_directly.get(cls)
    if direct is None:
        own = next(base for base in _OWN_CLASSES if issubclass(cls, base))
        direct = cls.prepare is own.prepare and cls.write_eof is own.write_eof
        _sends_directly[cls] = direct
    if direct or response._exchange is not None:
        return response._send(request)
    return response._prepare_and_end(request)
