"""Responses over real sockets: `Response`, `json_response`, cookies, `StreamResponse` (chunked,
with a length, to HTTP/1.0 clients, server-sent events), `FileResponse`, static directories and
the ``on_response_prepare`` signal."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import aiohttp
import pytest

from ketch import web
from tests.support import RawClient, async_test, serve

from .helpers import served

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path


def app_with(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str = "/"
) -> web.Application:
    app = web.Application()
    app.router.add_route("*", path, handler)
    return app


def cookie_attributes(line: str) -> tuple[str, set[str]]:
    """A Set-Cookie line as ("name=value", {attributes}), attribute names lowercased."""
    first, *rest = (part.strip() for part in line.split(";"))
    attributes = set()
    for attribute in rest:
        name, eq, value = attribute.partition("=")
        attributes.add(f"{name.lower()}{eq}{value}")
    return first, attributes


# -- Response ---------------------------------------------------------------------------------


@async_test()
async def test_text_response_is_utf8_text_plain_by_default() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(text="héllo")

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Length"] == str(len("héllo".encode()))
    assert response.content == "héllo".encode()


@async_test()
async def test_text_response_with_content_type_and_charset() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(text="héllo", content_type="text/html", charset="latin-1")

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/")
    assert response.headers["Content-Type"] == "text/html; charset=latin-1"
    assert response.content == "héllo".encode("latin-1")


@async_test()
async def test_body_response_is_octet_stream_unless_told_otherwise() -> None:
    async def raw(request: web.Request) -> web.Response:
        return web.Response(body=b"\x00\x01")

    async def typed(request: web.Request) -> web.Response:
        return web.Response(body=bytearray(b"<p>"), content_type="text/html")

    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=201)

    app = web.Application()
    app.router.add_get("/raw", raw)
    app.router.add_get("/typed", typed)
    app.router.add_get("/empty", empty)
    async with served(app) as (client, _):
        raw_response = await client.get("/raw")
        typed_response = await client.get("/typed")
        empty_response = await client.get("/empty")
    assert raw_response.headers["Content-Type"] == "application/octet-stream"
    assert raw_response.content == b"\x00\x01"
    assert typed_response.headers["Content-Type"] == "text/html"
    assert typed_response.content == b"<p>"
    assert empty_response.status_code == 201
    assert "Content-Type" not in empty_response.headers
    assert empty_response.headers["Content-Length"] == "0"


@async_test()
async def test_headers_status_and_custom_reason_phrase_reach_the_client() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(
            text="made",
            status=299,
            reason="Quite Alright",
            headers={"X-One": "1", "Content-Type": "text/x-made; charset=utf-8"},
        )

    async with serve(app_with(handle)) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        raw = await client.read_until_eof()
    head, _, response_body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 299 Quite Alright\r\n")
    assert b"\r\nx-one: 1\r\n" in head.lower()
    assert b"\r\ncontent-type: text/x-made; charset=utf-8\r\n" in head.lower()
    assert response_body == b"made"


@async_test()
async def test_response_prepared_by_the_handler_is_completed_with_its_body() -> None:
    async def prepared(request: web.Request) -> web.Response:
        response = web.Response(text="prepared body")
        await response.prepare(request)
        return response

    async def finished(request: web.Request) -> web.Response:
        response = web.Response(body=b"head and tail")
        await response.prepare(request)
        with pytest.raises(ValueError, match="no data"):
            await response.write_eof(b"more")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/prepared", prepared)
    app.router.add_get("/finished", finished)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        first = await client.request("GET", "/prepared")
        second = await client.request("GET", "/finished")
    assert (first.status, first.body) == (200, b"prepared body")
    assert first.header(b"content-length") == b"13"
    assert second.body == b"head and tail"


def test_response_refuses_text_and_body_together_and_charset_in_content_type() -> None:
    with pytest.raises(ValueError, match="together"):
        web.Response(text="a", body=b"b")
    with pytest.raises(ValueError, match="charset"):
        web.Response(text="a", content_type="text/plain; charset=utf-8")
    with pytest.raises(TypeError):
        web.Response(text=b"bytes")  # type: ignore[arg-type]


# -- json_response ----------------------------------------------------------------------------


@async_test()
async def test_json_response_serializes_with_the_default_and_custom_dumps() -> None:
    async def default(request: web.Request) -> web.Response:
        return web.json_response({"a": [1, "é"]}, status=201)

    async def as_str(request: web.Request) -> web.Response:
        return web.json_response({"a": 1}, dumps=lambda data: json.dumps(data, indent=1))

    async def as_bytes(request: web.Request) -> web.Response:
        return web.json_response({"a": 1}, dumps=lambda data: b'{"custom": true}')

    async def given_text(request: web.Request) -> web.Response:
        return web.json_response(text='{"pre": "made"}', content_type="application/vnd.x+json")

    app = web.Application()
    app.router.add_get("/default", default)
    app.router.add_get("/str", as_str)
    app.router.add_get("/bytes", as_bytes)
    app.router.add_get("/text", given_text)
    async with served(app) as (client, _):
        default_response = await client.get("/default")
        str_response = await client.get("/str")
        bytes_response = await client.get("/bytes")
        text_response = await client.get("/text")
    assert default_response.status_code == 201
    assert default_response.json() == {"a": [1, "é"]}
    assert default_response.headers["Content-Type"].startswith("application/json")
    assert str_response.text == '{\n "a": 1\n}'
    assert bytes_response.json() == {"custom": True}
    assert bytes_response.headers["Content-Type"] == "application/json"
    assert text_response.json() == {"pre": "made"}
    assert text_response.headers["Content-Type"].startswith("application/vnd.x+json")


def test_json_response_refuses_data_with_text() -> None:
    with pytest.raises(ValueError, match="only one"):
        web.json_response({"a": 1}, text="{}")


# -- cookies ----------------------------------------------------------------------------------


@async_test()
async def test_set_cookie_sends_every_attribute_and_del_cookie_expires_it() -> None:
    async def handle(request: web.Request) -> web.Response:
        response = web.Response(text="cookies")
        response.set_cookie(
            "session",
            "abc123",
            expires="Thu, 01 Jan 2099 00:00:00 GMT",
            domain="example.com",
            max_age=3600,
            path="/app",
            secure=True,
            httponly=True,
            samesite="Strict",
            partitioned=True,
        )
        response.set_cookie("theme", "dark")
        response.del_cookie("old")
        return response

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/")
    lines = response.headers.get_list("Set-Cookie")
    assert len(lines) == 3
    cookies = dict(cookie_attributes(line) for line in lines)
    assert cookies["session=abc123"] == {
        "expires=Thu, 01 Jan 2099 00:00:00 GMT",
        "domain=example.com",
        "max-age=3600",
        "path=/app",
        "secure",
        "httponly",
        "samesite=Strict",
        "partitioned",
    }
    assert cookies["theme=dark"] == {"path=/"}
    assert cookies['old=""'] == {"expires=Thu, 01 Jan 1970 00:00:00 GMT", "max-age=0", "path=/"}


@async_test()
async def test_cookies_set_by_the_server_are_sent_back_by_aiohttp() -> None:
    async def login(request: web.Request) -> web.Response:
        response = web.Response(text="in")
        response.set_cookie("user", "alice", httponly=True)
        return response

    async def whoami(request: web.Request) -> web.Response:
        return web.Response(text=request.cookies.get("user", "nobody"))

    app = web.Application()
    app.router.add_get("/login", login)
    app.router.add_get("/whoami", whoami)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address host
    async with serve(app) as server, aiohttp.ClientSession(cookie_jar=jar) as session:
        base = f"http://127.0.0.1:{server.port}"
        async with session.get(f"{base}/login"):
            pass
        async with session.get(f"{base}/whoami") as response:
            text = await response.text()
    assert text == "alice"


@async_test()
async def test_setting_a_cookie_again_replaces_it_and_partitioned_can_be_dropped() -> None:
    async def handle(request: web.Request) -> web.Response:
        response = web.Response()
        response.set_cookie("a", "1", partitioned=True, secure=True)
        response.set_cookie("a", "2")
        return response

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/")
    [line] = response.headers.get_list("Set-Cookie")
    name_value, attributes = cookie_attributes(line)
    assert name_value == "a=2"
    assert "partitioned" not in attributes


# -- header injection -------------------------------------------------------------------------


async def inject_header_value(request: web.Request) -> web.Response:
    return web.Response(text="x", headers={"X-Note": "a\r\nX-Injected: 1"})


async def inject_header_name(request: web.Request) -> web.Response:
    return web.Response(text="x", headers={"X-Note\r\nX-Injected": "1"})


async def inject_reason(request: web.Request) -> web.Response:
    return web.Response(text="x", reason="OK\r\nX-Injected: 1")


async def inject_cookie_domain(request: web.Request) -> web.Response:
    response = web.Response(text="x")
    response.set_cookie("a", "1", domain="example.com\r\nX-Injected: 1")
    return response


async def inject_stream_header(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"X-Note": "a\nX-Injected: 1"})
    await response.prepare(request)
    await response.write(b"body")
    return response


@pytest.mark.parametrize(
    "handler",
    [
        inject_header_value,
        inject_header_name,
        inject_reason,
        inject_cookie_domain,
        inject_stream_header,
    ],
    ids=lambda handler: handler.__name__,
)
@async_test()
async def test_cr_lf_from_the_app_is_answered_500_and_nothing_is_injected(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with (
            serve(app_with(handler)) as server,
            await RawClient.connect(server.port) as client,
        ):
            await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            raw = await client.read_until_eof()  # the server closes after the 500
    assert raw.startswith(b"HTTP/1.1 500 ")
    assert b"x-injected" not in raw.lower()
    assert raw.count(b"HTTP/1.1") == 1
    assert any(r.name == "ketch.error" for r in caplog.records)


@async_test()
async def test_a_cookie_value_with_cr_lf_is_quoted_not_injected() -> None:
    async def handle(request: web.Request) -> web.Response:
        response = web.Response(text="x")
        response.set_cookie("a", "v\r\nX-Injected: 1")
        return response

    async with serve(app_with(handle)) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
    assert response.status == 200
    assert b"x-injected" not in response.names


# -- StreamResponse ---------------------------------------------------------------------------


async def stream_parts(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    assert response.prepared
    for n in range(3):
        await response.write(f"part {n}\n".encode())
    await response.write_eof(b"end\n")
    return response


STREAMED = b"part 0\npart 1\npart 2\nend\n"


@async_test()
async def test_stream_response_without_length_is_chunked() -> None:
    async with serve(app_with(stream_parts)) as server, await RawClient.connect(server.port) as c:
        response = await c.request("GET", "/")
        again = await c.request("GET", "/")  # the connection stays usable
    assert response.header(b"transfer-encoding") == b"chunked"
    assert response.header(b"content-length") is None
    assert response.body == STREAMED
    assert again.body == STREAMED


@async_test()
async def test_stream_response_with_a_content_length_is_not_chunked() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 10
        await response.prepare(request)
        await response.write(b"01234")
        await response.write(memoryview(b"56789"))
        await response.write_eof()
        return response

    async with serve(app_with(handle)) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
    assert response.header(b"content-length") == b"10"
    assert response.header(b"transfer-encoding") is None
    assert response.body == b"0123456789"


@async_test()
async def test_stream_response_to_an_http_10_client_ends_by_closing() -> None:
    async with serve(app_with(stream_parts)) as server, await RawClient.connect(server.port) as c:
        await c.send(b"GET / HTTP/1.0\r\n\r\n")
        raw = await c.read_until_eof()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding" not in head.lower()
    assert body == STREAMED


@async_test()
async def test_stream_response_without_write_eof_is_completed_after_the_handler() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"unfinished")
        return response

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/")
    assert response.content == b"unfinished"


@async_test()
async def test_stream_response_never_prepared_is_sent_empty_after_the_handler() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.StreamResponse(status=202, headers={"X-Lazy": "1"})

    async with served(app_with(handle)) as (client, _):
        response = await client.get("/")
    assert response.status_code == 202
    assert response.headers["X-Lazy"] == "1"
    assert response.content == b""


@async_test()
async def test_head_of_a_stream_response_has_no_body() -> None:
    app = web.Application()
    app.router.add_get("/", stream_parts)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        head = await client.request("HEAD", "/")
        get = await client.request("GET", "/")
    assert head.status == 200
    assert head.body == b""
    assert get.body == STREAMED


def test_stream_response_misuse_raises() -> None:
    response = web.StreamResponse()
    with pytest.raises(RuntimeError):
        response.content_length = -1
    response.enable_chunked_encoding()
    with pytest.raises(RuntimeError):
        response.content_length = 5
    with pytest.raises(RuntimeError):
        web.StreamResponse().charset = "utf-8"  # no content type yet


@async_test()
async def test_write_before_prepare_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.write(b"too early")
        return response

    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with served(app_with(handle)) as (client, _):
            response = await client.get("/")
    assert response.status_code == 500
    assert "before prepare" in caplog.text


@async_test()
async def test_server_sent_events_arrive_one_by_one() -> None:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for n in range(3):
            await response.write(f"id: {n}\nevent: tick\ndata: {n * 10}\n\n".encode())
        await response.write_eof()
        return response

    async with (
        served(app_with(events)) as (client, _),
        client.stream("GET", "/") as response,
    ):
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        received: list[dict[str, str]] = []
        current: dict[str, str] = {}
        async for line in response.aiter_lines():
            if not line:
                received.append(current)
                current = {}
                continue
            name, _, value = line.partition(": ")
            current[name] = value
    assert received == [
        {"id": "0", "event": "tick", "data": "0"},
        {"id": "1", "event": "tick", "data": "10"},
        {"id": "2", "event": "tick", "data": "20"},
    ]


# -- FileResponse -----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "sub").mkdir(parents=True)
    (root / "index.txt").write_bytes(b"0123456789" * 10)
    (root / "style.css").write_text("body { color: red }\n")
    (root / "big.txt").write_bytes(b"a" * 5000)
    (root / "big.txt.gz").write_bytes(gzip.compress(b"a" * 5000))
    (root / "sub" / "<b>&'q'.txt").write_text("x")
    (root / "sub" / "plain.txt").write_text("plain")
    (tmp_path / "secret.txt").write_text("top secret")
    (root / "escape.txt").symlink_to(tmp_path / "secret.txt")
    return root


def file_app(files: Path) -> web.Application:
    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(files / "index.txt")

    async def custom(request: web.Request) -> web.FileResponse:
        return web.FileResponse(files / "style.css", headers={"Content-Type": "text/x-custom"})

    async def missing(request: web.Request) -> web.FileResponse:
        return web.FileResponse(files / "nope.txt")

    async def big(request: web.Request) -> web.FileResponse:
        return web.FileResponse(files / "big.txt")

    app = web.Application()
    app.router.add_get("/index", index)
    app.router.add_get("/custom", custom)
    app.router.add_get("/missing", missing)
    app.router.add_get("/big", big)
    return app


@async_test()
async def test_file_response_sends_the_file_with_validators(files: Path) -> None:
    async with served(file_app(files)) as (client, _):
        response = await client.get("/index")
    assert response.status_code == 200
    assert response.content == b"0123456789" * 10
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Length"] == "100"
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    assert response.headers["Accept-Ranges"] == "bytes"


@async_test()
async def test_file_response_answers_304_to_a_matching_if_none_match(files: Path) -> None:
    async with served(file_app(files)) as (client, _):
        first = await client.get("/index")
        etag = first.headers["ETag"]
        cached = await client.get("/index", headers={"If-None-Match": etag})
        since = await client.get(
            "/index", headers={"If-Modified-Since": first.headers["Last-Modified"]}
        )
        changed = await client.get("/index", headers={"If-None-Match": '"other"'})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["ETag"] == etag
    assert since.status_code == 304
    assert changed.status_code == 200


@async_test()
async def test_file_response_serves_ranges(files: Path) -> None:
    async with served(file_app(files)) as (client, _):
        single = await client.get("/index", headers={"Range": "bytes=2-5"})
        suffix = await client.get("/index", headers={"Range": "bytes=-3"})
        multi = await client.get("/index", headers={"Range": "bytes=0-1,10-11"})
        unsatisfiable = await client.get("/index", headers={"Range": "bytes=500-"})
    assert single.status_code == 206
    assert single.content == b"2345"
    assert single.headers["Content-Range"] == "bytes 2-5/100"
    assert suffix.content == b"789"
    assert multi.status_code == 206
    assert multi.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert b"content-range: bytes 0-1/100\r\n\r\n01\r\n" in multi.content.lower()
    assert b"content-range: bytes 10-11/100\r\n\r\n01\r\n" in multi.content.lower()
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["Content-Range"] == "bytes */100"


@async_test()
async def test_file_response_of_a_missing_file_is_404(files: Path) -> None:
    async with served(file_app(files)) as (client, _):
        response = await client.get("/missing")
    assert response.status_code == 404


@async_test()
async def test_file_response_content_type_from_the_app_wins(files: Path) -> None:
    async with served(file_app(files)) as (client, _):
        response = await client.get("/custom")
    assert response.headers.get_list("Content-Type") == ["text/x-custom"]
    assert response.text == "body { color: red }\n"


@async_test()
async def test_file_response_prefers_a_precompressed_sibling_the_client_accepts(
    files: Path,
) -> None:
    async with serve(file_app(files)) as server, await RawClient.connect(server.port) as client:
        compressed = await client.request("GET", "/big", [("Accept-Encoding", "gzip")])
        identity = await client.request("GET", "/big")
    assert compressed.header(b"content-encoding") == b"gzip"
    assert gzip.decompress(compressed.body) == b"a" * 5000
    assert b"accept-encoding" in (compressed.header(b"vary") or b"").lower()
    assert identity.header(b"content-encoding") is None
    assert identity.body == b"a" * 5000


# -- static directories -----------------------------------------------------------------------


def static_app(files: Path, **kwargs: Any) -> web.Application:
    app = web.Application()
    app.add_routes([web.static("/static", files, **kwargs)])
    return app


@async_test()
async def test_static_route_serves_files_and_head(files: Path) -> None:
    async with serve(static_app(files)) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/static/style.css")
        head = await client.request("HEAD", "/static/style.css")
        nested = await client.request("GET", "/static/sub/plain.txt")
        missing = await client.request("GET", "/static/none.txt")
    assert response.status == 200
    assert response.body == b"body { color: red }\n"
    assert response.header(b"content-type") == b"text/css; charset=utf-8"
    assert head.status == 200
    assert head.body == b""
    assert head.header(b"content-length") == str(len(response.body)).encode()
    assert nested.body == b"plain"
    assert missing.status == 404


@pytest.mark.parametrize(
    "target",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2f..%2fsecret.txt",
        "/static/escape.txt",  # a symlink out of the directory
    ],
)
@async_test()
async def test_static_route_never_serves_a_file_outside_its_directory(
    files: Path, target: str
) -> None:
    async with serve(static_app(files)) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", target)
    assert response.status in (403, 404)
    assert b"top secret" not in response.body


@async_test()
async def test_static_directory_without_show_index_is_forbidden(files: Path) -> None:
    async with serve(static_app(files)) as server, await RawClient.connect(server.port) as client:
        sub = await client.request("GET", "/static/sub/")
        root = await client.request("GET", "/static/")
    assert sub.status == 403
    assert root.status == 403


@async_test()
async def test_static_index_lists_entries_with_escaped_names(files: Path) -> None:
    async with (
        serve(static_app(files, show_index=True)) as server,
        await RawClient.connect(server.port) as client,
    ):
        response = await client.request("GET", "/static/sub/")
    assert response.status == 200
    assert response.header(b"content-type") == b"text/html; charset=utf-8"
    page = response.body.decode()
    assert "Index of /static/sub/" in page
    assert "&lt;b&gt;&amp;" in page
    assert "<b>&" not in page
    assert 'href="plain.txt"' in page


@async_test()
async def test_static_directory_without_trailing_slash_redirects_keeping_the_query(
    files: Path,
) -> None:
    async with (
        serve(static_app(files, show_index=True)) as server,
        await RawClient.connect(server.port) as client,
    ):
        response = await client.request("GET", "/static/sub?x=1")
    assert response.status in (301, 308)
    # Relative, as StaticFiles' (one implementation): right under any mount point or proxy.
    location = (response.header(b"location") or b"").decode()
    assert location == "sub/?x=1"
    assert urljoin("/static/sub?x=1", location) == "/static/sub/?x=1"


def test_web_static_stays_the_route_function_once_the_handler_is_loaded() -> None:
    # ketch.web.static is also a submodule: loading it must not shadow the function.
    code = (
        "from ketch import web; import ketch.web.handler; from ketch.web import routing; "
        "assert web.static is routing.static, web.static"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 0, result.stderr


# -- on_response_prepare ----------------------------------------------------------------------


@async_test()
async def test_on_response_prepare_adds_headers_to_every_kind_of_response(files: Path) -> None:
    seen: list[str] = []

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        seen.append(type(response).__name__)
        response.headers["X-Stamp"] = "1"

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="plain")

    async def file(request: web.Request) -> web.FileResponse:
        return web.FileResponse(files / "index.txt")

    app = web.Application()
    app.router.add_get("/plain", plain)
    app.router.add_get("/stream", stream_parts)
    app.router.add_get("/file", file)
    app.on_response_prepare.append(stamp)
    async with served(app) as (client, _):
        responses = [await client.get(path) for path in ("/plain", "/stream", "/file", "/none")]
    assert [r.headers.get("X-Stamp") for r in responses] == ["1", "1", "1", "1"]
    assert [r.status_code for r in responses] == [200, 200, 200, 404]
    assert seen == ["Response", "StreamResponse", "FileResponse", "Response"]


@async_test()
async def test_on_response_prepare_of_the_parent_app_runs_first_for_subapp_responses() -> None:
    order: list[str] = []

    def stamp(label: str) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
        async def callback(request: web.Request, response: web.StreamResponse) -> None:
            order.append(label)
            response.headers[f"X-{label}"] = "1"

        return callback

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="plain")

    child = web.Application()
    child.router.add_get("/x", plain)
    child.on_response_prepare.append(stamp("child"))
    app = web.Application()
    app.on_response_prepare.append(stamp("parent"))
    app.add_subapp("/child", child)
    async with served(app) as (client, _):
        response = await client.get("/child/x")
    assert order == ["parent", "child"]
    assert response.headers["X-parent"] == response.headers["X-child"] == "1"


@async_test()
async def test_a_failing_on_response_prepare_is_answered_500_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(request: web.Request, response: web.StreamResponse) -> None:
        raise RuntimeError("signal bug")

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="plain")

    app = web.Application()
    app.router.add_get("/", plain)
    app.on_response_prepare.append(broken)
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with served(app) as (client, _):
            response = await client.get("/")
            again = await client.get("/")
    assert response.status_code == again.status_code == 500
    assert "signal bug" in caplog.text


@async_test()
async def test_static_index_at_the_root_has_no_parent_link_but_subdirectories_do(
    files: Path,
) -> None:
    async with (
        serve(static_app(files, show_index=True)) as server,
        await RawClient.connect(server.port) as client,
    ):
        root = await client.request("GET", "/static/")
        sub = await client.request("GET", "/static/sub/")
    assert root.status == sub.status == 200
    assert b'href="../"' not in root.body
    assert b'href="../"' in sub.body


@async_test()
async def test_a_failing_on_response_prepare_gets_the_500_error_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def broken(request: web.Request, response: web.StreamResponse) -> None:
        raise RuntimeError("prepare hook failed")

    async def page(request: web.Request, exc: BaseException) -> web.Response:
        return web.Response(status=500, text=f"custom: {type(exc).__name__}")

    app = web.Application()
    app.router.add_get("/", hello)
    app.on_response_prepare.append(broken)
    app.error_pages[500] = page
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with serve(app) as server, await RawClient.connect(server.port) as client:
            response = await client.request("GET", "/")
    assert response.status == 500
    assert response.body == b"custom: RuntimeError"
    assert "prepare hook failed" in caplog.text
