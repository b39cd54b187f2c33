"""`Request`: what a handler gets.  Everything past the method and path is computed on first use.

The request head stays as the bytes the connection parsed; headers become a `CIMultiDictProxy`,
the query a `MultiDictProxy` and the cookies a mapping only when a handler asks.  The body is read
through the exchange, so it arrives as fast as the handler reads it (the connection stops reading
from the socket while the handler does not).
"""

from __future__ import annotations

import datetime
import email.utils
import json
from collections import ChainMap
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, unquote

from .._compiled import mypyc_attr
from .exceptions import HTTPBadRequest, HTTPRequestEntityTooLarge
from .forms import FileField, FormError, parse_content_type, parse_multipart, parse_urlencoded
from .multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from .storage import Storage
from .streams import BodyStream, once

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..server.handler import Exchange
    from .app import Application
    from .response import StreamResponse

__all__ = ["BodyStream", "HttpVersion", "Request"]


class HttpVersion(NamedTuple):
    major: int
    minor: int


HTTP11 = HttpVersion(1, 1)
HTTP10 = HttpVersion(1, 0)
_EMPTY_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())
_NO_COOKIES: Mapping[str, str] = MappingProxyType({})


class _TransportInfo:
    """``get_extra_info`` of a request's connection (`Request.transport`)."""

    __slots__ = ("_exchange",)

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._exchange.get_extra_info(name, default)


@mypyc_attr(allow_interpreted_subclasses=True)
class Request(Storage):
    """One HTTP request, as a handler sees it (aiohttp.web's ``Request`` subset).

    It is also a mutable mapping, where middlewares keep per-request data.
    """

    # Computed on first use; class-level defaults keep making a request cheap.
    _headers: CIMultiDictProxy[str] | None = None
    _query: MultiDictProxy[str] | None = None
    _cookies: Mapping[str, str] | None = None
    _content: BodyStream | None = None
    _body: bytes | None = None
    _post: MultiDictProxy[str | FileField] | None = None
    _path: str | None = None
    _prepare_failed = False

    def __init__(
        self,
        exchange: Exchange,
        method: str,
        raw_path: bytes,
        query: bytes,
        match_info: Mapping[str, str],
        app: Application,
        apps: tuple[Application, ...] = (),
    ) -> None:
        self._exchange = exchange
        self.method = method
        self._raw_path = raw_path
        self._query_bytes = query
        self.match_info = match_info
        self.app = app
        self._apps = apps

    # ------------------------------------------------------------ the request line

    @property
    def version(self) -> HttpVersion:
        return HTTP11 if self._exchange.request.http_version == b"1.1" else HTTP10

    @property
    def target(self) -> str:
        """The request-target exactly as sent (a ketch extra: absolute-form stays absolute)."""
        return self._exchange.request.target.decode("latin-1")

    @property
    def path(self) -> str:
        """The path, percent-decoded (``/a b`` for ``/a%20b``)."""
        path = self._path
        if path is None:
            path = self._raw_path.decode("latin-1")
            if "%" in path:
                path = unquote(path)
            self._path = path
        return path

    @property
    def raw_path(self) -> str:
        """The path and query as sent, still percent-encoded."""
        raw = self._raw_path.decode("latin-1")
        if self._query_bytes:
            raw += "?" + self._query_bytes.decode("latin-1")
        return raw

    @property
    def query_string(self) -> str:
        """The query, percent-decoded."""
        return unquote(self._query_bytes.decode("latin-1"))

    @property
    def path_qs(self) -> str:
        """The decoded path and the query."""
        query = self.query_string
        return f"{self.path}?{query}" if query else self.path

    @property
    def query(self) -> MultiDictProxy[str]:
        """The query parameters (a read-only multi-dict; ``+`` is a space, blanks are kept)."""
        query = self._query
        if query is None:
            if self._query_bytes:
                pairs = parse_qsl(self._query_bytes.decode("latin-1"), keep_blank_values=True)
                query = MultiDictProxy(MultiDict(pairs))
            else:
                query = _EMPTY_QUERY
            self._query = query
        return query

    # ------------------------------------------------------------ headers

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The request headers (case-insensitive, read-only; values decoded as UTF-8)."""
        headers = self._headers
        if headers is None:
            pairs = [
                (name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
                for name, value in self._exchange.request.headers
            ]
            headers = self._headers = CIMultiDictProxy(CIMultiDict._from_pairs(pairs))
        return headers

    @property
    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The header fields as received: names in their original case, values as bytes."""
        return tuple(self._exchange.request.headers)

    @property
    def cookies(self) -> Mapping[str, str]:
        """The cookies of the ``Cookie`` header (the first of each name wins)."""
        cookies = self._cookies
        if cookies is None:
            found: dict[str, str] = {}
            for header in self.headers.getall("Cookie", ()):
                for pair in header.split(";"):
                    name, eq, value = pair.partition("=")
                    name = name.strip()
                    if not eq or not name:
                        continue
                    value = value.strip()
                    if len(value) > 1 and value[0] == value[-1] == '"':
                        value = value[1:-1]
                    found.setdefault(name, value)
            cookies = self._cookies = MappingProxyType(found) if found else _NO_COOKIES
        return cookies

    @property
    def content_type(self) -> str:
        """The body's media type, lowercased (``application/octet-stream`` when absent)."""
        value = self.headers.get("Content-Type")
        return parse_content_type(value)[0] if value else "application/octet-stream"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of the Content-Type, if any."""
        value = self.headers.get("Content-Type")
        return parse_content_type(value)[1].get("charset") if value else None

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None else None

    @property
    def host(self) -> str:
        """The Host header, or the local address when there is none."""
        host = self.headers.get("Host")
        if host:
            return host
        server = self._exchange.server
        return f"{server[0]}:{server[1]}" if server else "localhost"

    @property
    def remote(self) -> str | None:
        """The client's address (``None`` on a Unix socket)."""
        client = self._exchange.client
        return client[0] if client else None

    @property
    def peername(self) -> tuple[str, int] | None:
        """The client's ``(host, port)`` (``None`` on a Unix socket)."""
        return self._exchange.client

    @property
    def sockname(self) -> tuple[str, int] | None:
        """The local ``(host, port)`` the request came in on."""
        return self._exchange.server

    @property
    def scheme(self) -> str:
        return self._exchange.scheme

    @property
    def secure(self) -> bool:
        return self._exchange.scheme == "https"

    @property
    def transport(self) -> _TransportInfo:
        """The connection's details, as aiohttp's ``request.transport.get_extra_info(name)``.

        On TLS, ``"peercert"`` is the verified client certificate as a dict (with
        ``--ssl-cert-reqs optional|required``), ``"ssl_object"`` the `ssl.SSLObject`, ``"cipher"``
        its cipher; ``"peername"`` and ``"sockname"`` the socket addresses.  Only
        ``get_extra_info``: responses are written through the response objects, never the
        transport.
        """
        return _TransportInfo(self._exchange)

    @property
    def url(self) -> str:
        """The absolute URL (a string; aiohttp gives a ``yarl.URL``)."""
        return f"{self.scheme}://{self.host}{self.raw_path}"

    @property
    def if_modified_since(self) -> datetime.datetime | None:
        return self._http_date("If-Modified-Since")

    @property
    def if_unmodified_since(self) -> datetime.datetime | None:
        return self._http_date("If-Unmodified-Since")

    @property
    def if_range(self) -> datetime.datetime | None:
        return self._http_date("If-Range")

    def _http_date(self, name: str) -> datetime.datetime | None:
        value = self.headers.get(name)
        if not value:
            return None
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)

    @property
    def config_dict(self) -> ChainMap[Any, Any]:
        """The state of this request's application and the ones it is mounted in, innermost
        first."""
        apps = self._apps or (self.app,)
        return ChainMap(*reversed([app._state for app in apps]))

    # ------------------------------------------------------------ the body

    @property
    def body_exists(self) -> bool:
        """The request has a body (it may already be read)."""
        request = self._exchange.request
        for name, value in request.headers:
            lname = name.lower()
            if lname == b"transfer-encoding" or (lname == b"content-length" and value != b"0"):
                return True
        return False

    @property
    def can_read_body(self) -> bool:
        """Some of the body has not been read yet."""
        if self._content is not None:
            return not self._content.at_eof()
        return not self._exchange.body_complete

    @property
    def has_body(self) -> bool:
        """`body_exists` under aiohttp's older name."""
        return self.body_exists

    @property
    def content(self) -> BodyStream:
        """The body as a stream, for bodies too large to hold (``async for line in ...``)."""
        if self._content is None:
            self._content = BodyStream(self._exchange)
        return self._content

    @property
    def client_max_size(self) -> int:
        return self.app._client_max_size

    async def read(self) -> bytes:
        """The whole body; 413 above the application's ``client_max_size``."""
        if self._body is None:
            limit = self.app._client_max_size
            exchange = self._exchange
            chunks: list[bytes] = []
            size = 0
            stream = self._content
            while True:
                data = await stream.readany() if stream is not None else await exchange.read()
                if not data:
                    break
                size += len(data)
                if limit and size > limit:
                    raise HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
                chunks.append(data)
            self._body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._body

    async def text(self) -> str:
        """The body decoded with its charset (UTF-8 by default); 400 if it does not decode."""
        body = await self.read()
        encoding = self.charset or "utf-8"
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise HTTPBadRequest(text=f"request body is not valid {encoding}: {exc}") from None

    async def json(self, *, loads: Callable[[str], Any] = json.loads) -> Any:
        """The body parsed as JSON; 400 with the reason if it is not JSON."""
        body = await self.text()
        try:
            return loads(body)
        except ValueError as exc:  # json.JSONDecodeError and orjson.JSONDecodeError alike
            raise HTTPBadRequest(text=f"request body is not valid JSON: {exc}") from None

    async def post(self) -> MultiDictProxy[str | FileField]:
        """The form fields of a urlencoded or multipart body (empty for other bodies).

        Multipart file parts become `FileField` objects whose ``file`` is spooled to a temporary
        file above a size threshold; the files are closed when the response is done.  A malformed
        form gets a 400, one above ``client_max_size`` a 413.
        """
        if self._post is not None:
            return self._post
        media = self.content_type
        form: MultiDict[str | FileField]
        try:
            if media == "application/x-www-form-urlencoded":
                fields = parse_urlencoded(await self.read(), charset=self.charset or "utf-8")
                form = MultiDict(fields.items())
            elif media == "multipart/form-data":
                form = await parse_multipart(
                    self.headers["Content-Type"],
                    # a body already read (by a middleware, say) is parsed from memory
                    self.content.iter_any() if self._body is None else once(self._body),
                    max_size=self.app._client_max_size or 2**62,
                    charset=self.charset or "utf-8",
                )
            else:
                form = MultiDict()
        except FormError as exc:
            if exc.status == 413:
                raise HTTPRequestEntityTooLarge(
                    max_size=self.app._client_max_size,
                    actual_size=self.content.total_bytes,
                    text=str(exc),
                ) from None
            raise HTTPBadRequest(text=str(exc)) from None
        self._post = MultiDictProxy(form)
        return self._post

    def _close_files(self) -> None:
        if self._post is not None:
            for value in self._post.values():
                if isinstance(value, FileField):
                    value.close()

    def _has_prepare_signal(self) -> bool:
        """Some application on the way to the handler has ``on_response_prepare`` callbacks."""
        if self._prepare_failed:
            return False
        if self._apps:
            return any(app.on_response_prepare for app in self._apps)
        return bool(self.app.on_response_prepare)

    async def _before_prepare(self, response: StreamResponse) -> None:
        """Send ``on_response_prepare`` of every application on the way, outermost first (as
        aiohttp does)."""
        if self._prepare_failed:
            return
        try:
            for app in self._apps or (self.app,):
                signal = app.on_response_prepare
                if signal:
                    await signal.send(self, response)
        except BaseException:
            self._prepare_failed = True  # the error answer that follows goes out without it
            raise

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"
