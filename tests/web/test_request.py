"""`web.Request` over real sockets: the request line, headers, addresses, and the body (whole,
decoded, parsed as JSON or a form, and streamed through ``request.content``)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
import pytest

from ketch import web
from tests.support import RawClient, async_test, serve

from .helpers import served

if TYPE_CHECKING:
    from ketch.web.app import RequestHandler


async def describe(request: web.Request) -> web.Response:
    """Answer with JSON describing the request line, addresses and body metadata."""
    version = request.version
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "query_string": request.query_string,
            "query": [[k, v] for k, v in request.query.items()],
            "host": request.host,
            "remote": request.remote,
            "scheme": request.scheme,
            "secure": request.secure,
            "url": request.url,
            "version": [version.major, version.minor],
            "content_type": request.content_type,
            "charset": request.charset,
            "content_length": request.content_length,
            "body_exists": request.body_exists,
            "can_read_body": request.can_read_body,
            "match_info": dict(request.match_info),
        }
    )


def describing_app(**kwargs: Any) -> web.Application:
    app = web.Application(**kwargs)
    app.router.add_route("*", "/{tail:.*}", describe)
    return app


# -- the request line -------------------------------------------------------------------------


@async_test()
async def test_path_is_percent_decoded_and_raw_path_is_as_sent() -> None:
    async with served(describing_app()) as (client, _):
        response = await client.get("/caf%C3%A9/a%20b?x=%2F")
    info = response.json()
    assert info["path"] == "/café/a b"
    assert info["raw_path"] == "/caf%C3%A9/a%20b?x=%2F"
    assert info["query_string"] == "x=/"
    assert info["match_info"] == {"tail": "café/a b"}


@async_test()
async def test_query_keeps_repeated_keys_blank_values_and_plus_as_space() -> None:
    async with served(describing_app()) as (client, _):
        response = await client.get("/?a=1&b=two+words&a=2&empty=&c=%26")
    assert response.json()["query"] == [
        ["a", "1"],
        ["b", "two words"],
        ["a", "2"],
        ["empty", ""],
        ["c", "&"],
    ]


@async_test()
async def test_query_getall_and_get_with_default() -> None:
    async def handle(request: web.Request) -> web.Response:
        query = request.query
        return web.json_response(
            {"all": query.getall("a"), "first": query["a"], "missing": query.get("zz", "none")}
        )

    app = web.Application()
    app.router.add_get("/", handle)
    async with served(app) as (client, _):
        response = await client.get("/?a=1&a=2")
    assert response.json() == {"all": ["1", "2"], "first": "1", "missing": "none"}


@async_test()
async def test_request_line_fields_host_remote_scheme_and_url() -> None:
    async with served(describing_app()) as (client, _server):
        response = await client.post("/items?sort=asc", headers={"Host": "example.com:8080"})
    info = response.json()
    assert info["method"] == "POST"
    assert info["host"] == "example.com:8080"
    assert info["remote"] == "127.0.0.1"
    assert info["scheme"] == "http"
    assert info["secure"] is False
    assert info["url"] == "http://example.com:8080/items?sort=asc"
    assert info["version"] == [1, 1]


@async_test()
async def test_version_and_host_of_an_http_10_request_without_host() -> None:
    async with serve(describing_app()) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/old", version="1.0")
    info = json.loads(response.body)
    assert info["version"] == [1, 0]
    assert info["host"] == f"127.0.0.1:{server.port}"  # no Host: the local address


@async_test()
async def test_peername_and_sockname_are_the_connection_addresses() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response({"peer": request.peername, "sock": request.sockname})

    app = web.Application()
    app.router.add_get("/", handle)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
        local = client.sockname
    info = json.loads(response.body)
    assert info["peer"] == [local[0], local[1]]
    assert info["sock"] == ["127.0.0.1", server.port]


@async_test()
async def test_match_info_holds_typed_and_regex_parameters_as_strings() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response(dict(request.match_info))

    app = web.Application()
    app.router.add_get("/users/{id:int}", handle)
    app.router.add_get("/tags/{tag:[a-z]+}/{file}.{ext}", handle)
    app.router.add_get("/files/{rest:path}", handle)
    async with served(app) as (client, _):
        user = await client.get("/users/42")
        not_int = await client.get("/users/abc")
        tag = await client.get("/tags/news/report.pdf")
        bad_tag = await client.get("/tags/NEWS/report.pdf")
        rest = await client.get("/files/a/b%20c/d.txt")
    assert user.json() == {"id": "42"}
    assert not_int.status_code == 404
    assert tag.json() == {"tag": "news", "file": "report", "ext": "pdf"}
    assert bad_tag.status_code == 404
    assert rest.json() == {"rest": "a/b c/d.txt"}


# -- headers and cookies ----------------------------------------------------------------------


@async_test()
async def test_headers_are_case_insensitive_and_keep_repeated_fields() -> None:
    async def handle(request: web.Request) -> web.Response:
        headers = request.headers
        return web.json_response(
            {
                "lower": headers["x-custom"],
                "upper": headers["X-CUSTOM"],
                "repeated": headers.getall("X-Multi"),
                "in": "x-multi" in headers,
                "raw": [[n.decode(), v.decode()] for n, v in request.raw_headers],
            }
        )

    app = web.Application()
    app.router.add_get("/", handle)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request(
            "GET", "/", [("X-Custom", "v"), ("X-Multi", "one"), ("x-multi", "two")]
        )
    info = json.loads(response.body)
    assert info["lower"] == info["upper"] == "v"
    assert info["repeated"] == ["one", "two"]
    assert info["in"] is True
    assert info["raw"] == [
        ["Host", "test"],
        ["X-Custom", "v"],
        ["X-Multi", "one"],
        ["x-multi", "two"],
    ]


@async_test()
async def test_cookies_are_parsed_with_quotes_removed_and_the_first_of_a_name_winning() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response(dict(request.cookies))

    app = web.Application()
    app.router.add_get("/", handle)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request(
            "GET",
            "/",
            [("Cookie", 'session=abc; theme="dark"; session=later'), ("Cookie", "lang=en")],
        )
        no_cookies = await client.request("GET", "/")
    assert json.loads(response.body) == {"session": "abc", "theme": "dark", "lang": "en"}
    assert json.loads(no_cookies.body) == {}


@async_test()
async def test_content_type_charset_and_length_describe_the_body() -> None:
    async with served(describing_app()) as (client, _):
        response = await client.post(
            "/", content=b"hello", headers={"Content-Type": "Text/Plain; charset=latin-1"}
        )
        bare = await client.get("/")
    info = response.json()
    assert info["content_type"] == "text/plain"
    assert info["charset"] == "latin-1"
    assert info["content_length"] == 5
    assert info["body_exists"] is True
    assert info["can_read_body"] is True
    plain = bare.json()
    assert plain["content_type"] == "application/octet-stream"
    assert plain["charset"] is None
    assert plain["content_length"] is None
    assert plain["body_exists"] is False
    assert plain["can_read_body"] is False


@async_test()
async def test_can_read_body_turns_false_once_the_body_is_read() -> None:
    async def handle(request: web.Request) -> web.Response:
        before = request.can_read_body
        body = await request.read()
        return web.json_response(
            {
                "before": before,
                "after": request.can_read_body,
                "exists": request.body_exists,
                "size": len(body),
            }
        )

    app = web.Application()
    app.router.add_post("/", handle)
    async with served(app) as (client, _):
        response = await client.post("/", content=b"x" * 1000)
    assert response.json() == {"before": True, "after": False, "exists": True, "size": 1000}


@async_test()
async def test_conditional_headers_are_parsed_as_aware_datetimes_or_none() -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "modified": str(request.if_modified_since),
                "unmodified": str(request.if_unmodified_since),
                "range": str(request.if_range),
            }
        )

    app = web.Application()
    app.router.add_get("/", handle)
    async with served(app) as (client, _):
        response = await client.get(
            "/",
            headers={
                "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
                "If-Unmodified-Since": "not a date",
                "If-Range": '"an-etag"',
            },
        )
    assert response.json() == {
        "modified": "1994-11-06 08:49:37+00:00",
        "unmodified": "None",
        "range": "None",
    }


@async_test()
async def test_request_is_a_mutable_mapping() -> None:
    async def handle(request: web.Request) -> web.Response:
        request["a"] = 1
        request["b"] = 2
        del request["a"]
        return web.json_response(
            {"keys": list(request), "len": len(request), "b": request["b"], "has_a": "a" in request}
        )

    app = web.Application()
    app.router.add_get("/", handle)
    async with served(app) as (client, _):
        response = await client.get("/")
    assert response.json() == {"keys": ["b"], "len": 1, "b": 2, "has_a": False}


# -- whole bodies -----------------------------------------------------------------------------


def body_app(**kwargs: Any) -> web.Application:
    async def read(request: web.Request) -> web.Response:
        body = await request.read()
        again = await request.read()  # cached
        assert again is body
        return web.Response(text=f"{len(body)} {hashlib.sha256(body).hexdigest()}")

    async def text(request: web.Request) -> web.Response:
        return web.Response(text=await request.text())

    async def as_json(request: web.Request) -> web.Response:
        return web.json_response({"got": await request.json()})

    app = web.Application(**kwargs)
    app.router.add_post("/read", read)
    app.router.add_post("/text", text)
    app.router.add_post("/json", as_json)
    return app


@async_test()
async def test_read_text_and_json_return_the_body() -> None:
    data = os.urandom(300_000)
    async with served(body_app()) as (client, _):
        read = await client.post("/read", content=data)
        text = await client.post("/text", content="héllo".encode())
        latin = await client.post(
            "/text",
            content="héllo".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=latin-1"},
        )
        parsed = await client.post("/json", json={"a": [1, 2]})
    assert read.text == f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    assert text.text == "héllo"
    assert latin.text == "héllo"
    assert parsed.json() == {"got": {"a": [1, 2]}}


@async_test()
async def test_bad_json_is_answered_400_with_a_short_reason() -> None:
    async with served(body_app()) as (client, _):
        response = await client.post("/json", content=b'{"a": ' + b"1" * 5000)
    assert response.status_code == 400
    assert response.text.startswith("request body is not valid JSON")
    assert len(response.text) < 200  # the body is not echoed back


@async_test()
async def test_undecodable_text_is_answered_400() -> None:
    async with served(body_app()) as (client, _):
        invalid = await client.post("/text", content=b"ok \xff\xfe")
        unknown = await client.post(
            "/text", content=b"x", headers={"Content-Type": "text/plain; charset=no-such-codec"}
        )
    assert invalid.status_code == 400
    assert "utf-8" in invalid.text
    assert unknown.status_code == 400


@async_test()
async def test_body_above_client_max_size_is_answered_413() -> None:
    app = body_app(client_max_size=1000)
    async with served(app) as (client, _):
        fits = await client.post("/read", content=b"x" * 1000)
        too_big = await client.post("/read", content=b"x" * 1001)
    assert fits.status_code == 200
    assert too_big.status_code == 413
    assert "1000" in too_big.text


@async_test()
async def test_chunked_body_above_client_max_size_is_answered_413() -> None:
    app = body_app(client_max_size=1000)
    chunk = b"x" * 600
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"POST /text HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"258\r\n"
            + chunk
            + b"\r\n"
            + b"258\r\n"
            + chunk
            + b"\r\n0\r\n\r\n"
        )
        response = await client.response()
    assert response.status == 413


@async_test()
async def test_zero_client_max_size_means_no_limit() -> None:
    data = b"y" * (2 * 1024 * 1024)
    async with served(body_app(client_max_size=0)) as (client, _):
        response = await client.post("/read", content=data)
    assert response.status_code == 200
    assert response.text.startswith(f"{len(data)} ")


@async_test()
async def test_expect_100_continue_is_answered_when_the_handler_reads() -> None:
    async with serve(body_app()) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"POST /text HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await client.read_head_bytes()
        assert interim.startswith(b"HTTP/1.1 100 ")
        await client.send(b"hello")
        response = await client.response("POST")
    assert response.status == 200
    assert response.body == b"hello"


# -- streaming bodies -------------------------------------------------------------------------


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@async_test()
async def test_content_stream_reads_lines_exact_counts_and_chunks_as_the_body_arrives() -> None:
    first_line_read = asyncio.Event()
    any_read = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        content = request.content
        line = await content.readline()
        first_line_read.set()
        exact = await content.readexactly(5)
        available = await content.readany()
        any_read.set()
        pieces = [piece async for piece in content.iter_chunked(4)]
        return web.json_response(
            {
                "line": line.decode(),
                "exact": exact.decode(),
                "any": available.decode(),
                "pieces": [p.decode() for p in pieces],
                "eof": content.at_eof(),
                "total": content.total_bytes,
            }
        )

    app = web.Application()
    app.router.add_post("/", handle)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunk(b"first li")
            + chunk(b"ne\nABC")
        )
        await first_line_read.wait()  # the handler has its line before the rest is even sent
        await client.send(chunk(b"DE-tail"))
        await any_read.wait()
        await client.send(chunk(b"0123456789") + b"0\r\n\r\n")
        response = await client.response("POST")
    info = json.loads(response.body)
    assert info["line"] == "first line\n"
    assert info["exact"] == "ABCDE"
    assert info["any"] == "-tail"
    assert "".join(info["pieces"]) == "0123456789"
    assert all(1 <= len(piece) <= 4 for piece in info["pieces"])
    assert info["eof"] is True
    assert info["total"] == len(b"first line\nABCDE-tail0123456789")


@async_test()
async def test_content_iterates_lines_and_readexactly_past_the_end_raises() -> None:
    async def handle(request: web.Request) -> web.Response:
        lines = [line.decode() async for line in request.content]
        return web.json_response(lines)

    async def too_far(request: web.Request) -> web.Response:
        try:
            await request.content.readexactly(100)
        except asyncio.IncompleteReadError as exc:
            return web.Response(text=f"partial {exc.partial.decode()}")
        return web.Response(text="no error")

    app = web.Application()
    app.router.add_post("/lines", handle)
    app.router.add_post("/exact", too_far)

    async def pieces() -> Any:
        for piece in (b"one\ntw", b"o\n", b"three"):
            yield piece

    async with served(app) as (client, _):
        lines = await client.post("/lines", content=pieces())
        short = await client.post("/exact", content=b"only this")
    assert lines.json() == ["one\n", "two\n", "three"]
    assert short.text == "partial only this"


@async_test()
async def test_large_upload_read_slowly_arrives_intact() -> None:
    data = os.urandom(6 * 1024 * 1024 + 17)

    async def slow(request: web.Request) -> web.Response:
        digest = hashlib.sha256()
        size = 0
        async for piece in request.content.iter_chunked(256 * 1024):
            digest.update(piece)
            size += len(piece)
            await asyncio.sleep(0.001)  # a slow consumer
        return web.Response(text=f"{size} {digest.hexdigest()}")

    app = web.Application()
    app.router.add_post("/", slow)
    async with (
        serve(app) as server,
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{server.port}/", data=io.BytesIO(data)) as response,
    ):
        text = await response.text()
    assert text == f"{len(data)} {hashlib.sha256(data).hexdigest()}"


@async_test()
async def test_upload_stalls_while_the_handler_does_not_read() -> None:
    """Backpressure: the server stops reading the socket, so the client's writes back up."""
    data = b"z" * (64 * 1024 * 1024)
    go = asyncio.Event()

    async def late(request: web.Request) -> web.Response:
        await go.wait()
        size = 0
        while piece := await request.content.readany():
            size += len(piece)
        return web.Response(text=str(size))

    app = web.Application(client_max_size=0)
    app.router.add_post("/", late)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        client.writer.write(
            f"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
        )
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await client.writer.drain()
        assert client.writer.transport.get_write_buffer_size() > 0
        go.set()
        await client.writer.drain()
        response = await client.response("POST")
    assert response.body == str(len(data)).encode()


# -- forms ------------------------------------------------------------------------------------


def form_app(**kwargs: Any) -> tuple[web.Application, list[web.FileField]]:
    kept: list[web.FileField] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        again = await request.post()
        assert again is form
        fields: list[Any] = []
        for name, value in form.items():
            if isinstance(value, web.FileField):
                kept.append(value)
                content = value.file.read()
                fields.append(
                    {
                        "name": name,
                        "field_name": value.name,
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": value.size,
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "in_memory": isinstance(value.file, io.BytesIO),
                        "header": value.headers.get("Content-Disposition", ""),
                    }
                )
            else:
                fields.append([name, value])
        return web.json_response(fields)

    app = web.Application(**kwargs)
    app.router.add_post("/", handle)
    return app, kept


@async_test()
async def test_post_parses_urlencoded_forms() -> None:
    app, _ = form_app()
    async with served(app) as (client, _):
        response = await client.post(
            "/",
            content=b"a=1&b=two+words&a=2&empty=&amp=%26",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.json() == [
        ["a", "1"],
        ["b", "two words"],
        ["a", "2"],
        ["empty", ""],
        ["amp", "&"],
    ]


@async_test()
async def test_post_of_a_body_that_is_not_a_form_is_empty() -> None:
    app, _ = form_app()
    async with served(app) as (client, _):
        response = await client.post("/", json={"a": 1})
    assert response.json() == []


@async_test()
async def test_post_parses_multipart_with_small_and_spooled_file_parts() -> None:
    small = b"tiny file"
    big = os.urandom(2 * 1024 * 1024 + 5)
    app, kept = form_app(client_max_size=8 * 1024 * 1024)
    async with served(app) as (client, _):
        response = await client.post(
            "/",
            data={"title": "héllo"},
            files={
                "small": ("notes.txt", small, "text/plain"),
                "big": ("../../etc/data.bin", big, "application/x-thing"),
            },
        )
    assert response.status_code == 200
    title, small_info, big_info = response.json()
    assert title == ["title", "héllo"]
    assert small_info["filename"] == "notes.txt"
    assert small_info["field_name"] == "small"
    assert small_info["content_type"] == "text/plain"
    assert small_info["size"] == len(small)
    assert small_info["sha256"] == hashlib.sha256(small).hexdigest()
    assert small_info["in_memory"] is True
    assert 'name="small"' in small_info["header"]
    assert big_info["filename"] == "../../etc/data.bin"  # as the client gave it: untrusted
    assert big_info["content_type"] == "application/x-thing"
    assert big_info["size"] == len(big)
    assert big_info["sha256"] == hashlib.sha256(big).hexdigest()
    assert big_info["in_memory"] is False  # spooled to a temporary file
    assert all(field.file.closed for field in kept)  # closed once the response was sent


@async_test()
async def test_post_after_a_middleware_read_the_body_parses_the_form() -> None:
    async def log_body(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        request["size"] = len(await request.read())
        return await handler(request)

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["f"]
        assert isinstance(upload, web.FileField)
        return web.json_response(
            {"a": form["a"], "file": upload.file.read().decode(), "size": request["size"]}
        )

    app = web.Application(middlewares=[log_body])
    app.router.add_post("/", handle)
    async with served(app) as (client, _):
        multipart = await client.post("/", data={"a": "1"}, files={"f": ("f.txt", b"content")})
    assert multipart.status_code == 200, multipart.text
    info = multipart.json()
    assert info["a"] == "1"
    assert info["file"] == "content"
    assert info["size"] > 0


@async_test()
async def test_multipart_from_aiohttp_form_data_is_parsed() -> None:
    app, _ = form_app()
    form = aiohttp.FormData()
    form.add_field("name", "value")
    form.add_field("upload", b"\x00\x01binary", filename="b.bin")
    async with (
        serve(app) as server,
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{server.port}/", data=form) as response,
    ):
        fields = await response.json()
    assert fields[0] == ["name", "value"]
    assert fields[1]["filename"] == "b.bin"
    assert fields[1]["size"] == 8
    assert fields[1]["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=xyz", b"this is not multipart at all"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nx"),
        ("multipart/form-data", b"--xyz\r\n\r\n--xyz--\r\n"),
    ],
    ids=["garbage", "truncated", "no-boundary"],
)
@async_test()
async def test_broken_multipart_is_answered_400(content_type: str, body: bytes) -> None:
    app, _ = form_app()
    async with served(app) as (client, _):
        response = await client.post("/", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400


@async_test()
async def test_forms_above_client_max_size_are_answered_413() -> None:
    app, _ = form_app(client_max_size=10_000)
    async with served(app) as (client, _):
        multipart = await client.post("/", files={"f": ("f.bin", b"x" * 20_000)})
        urlencoded = await client.post(
            "/",
            content=b"a=" + b"x" * 20_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert multipart.status_code == 413
    assert urlencoded.status_code == 413


@async_test()
async def test_httpx_streaming_upload_of_unknown_length_is_read_whole() -> None:
    async def pieces() -> Any:
        for _ in range(10):
            yield b"0123456789" * 1000

    app = body_app()
    async with served(app) as (client, _):
        response = await client.post("/read", content=pieces())
    expected = b"0123456789" * 10_000
    assert response.text == f"{len(expected)} {hashlib.sha256(expected).hexdigest()}"
    assert isinstance(response, httpx.Response)
