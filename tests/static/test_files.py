"""`send_file` through a real server and real clients (httpx, curl, raw sockets)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import shutil
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx
import pytest

from ketch.server import Config, Exchange, Server
from ketch.static import FileAccessError, resolve_under, send_file
from tests.static.byteranges import parse_byteranges
from tests.support import RawClient, async_test

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

BIG = os.urandom(5 * 1024 * 1024 + 7)  # 5 MiB and a bit: the sendfile path
TEXT = b"hello, static world\n" * 500  # 10 kB: the one-write path
CACHE = (b"cache-control", b"max-age=60")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A served directory, beside a ``secret`` it must not give away."""
    (tmp_path / "secret").write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "big.bin").write_bytes(BIG)
    (root / "page.txt").write_bytes(TEXT)
    (root / "page.txt.gz").write_bytes(gzip.compress(TEXT))
    (root / "empty.txt").write_bytes(b"")
    (root / "dir").mkdir()
    os.symlink(tmp_path / "secret", root / "escape")
    os.mkfifo(root / "fifo")
    return root


def static_handler(root: Path, **options: Any) -> Any:
    """A front door serving `root`: 403 for refused paths, the error's status for missing files."""

    async def handler(exchange: Exchange) -> None:
        path = resolve_under(root, unquote(exchange.request.target.decode().partition("?")[0]))
        if path is None:
            exchange.respond(403, [], b"refused")
            return
        try:
            await send_file(exchange, path, headers=[CACHE], **options)
        except FileAccessError as exc:
            exchange.respond(exc.status, [], b"no such file")

    return handler


@asynccontextmanager
async def serving(root: Path, **options: Any) -> AsyncIterator[Server]:
    config = Config(host="127.0.0.1", port=0, access_log=False)
    async with Server(static_handler(root, **options), config) as server:
        yield server


async def curl(*args: str) -> tuple[bytes, bytes]:
    """Run curl; return its stdout and the response head it dumped (``-D``)."""
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--fail-with-body", "-D", "/dev/stderr", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr
    return stdout, stderr.lower()


# ---------------------------------------------------------------- whole files


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_a_5_mib_file_arrives_whole_and_intact(root: Path, loop: str) -> None:
    async with serving(root) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/big.bin"
        first = await client.get(url)
        second = await client.get(url)  # the connection is reusable afterwards
    for response in (first, second):
        assert response.status_code == 200
        assert hashlib.sha256(response.content).digest() == hashlib.sha256(BIG).digest()
        assert response.headers["content-length"] == str(len(BIG))
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["cache-control"] == "max-age=60"
        assert response.headers["etag"].startswith('"')
        assert "vary" not in response.headers


@async_test()
async def test_a_small_file_leaves_in_one_response_and_head_has_no_body(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        got = await client.request("GET", "/page.txt")
        head = await client.request("HEAD", "/page.txt")
        again = await client.request("GET", "/page.txt")
    assert (got.status, got.body, again.body) == (200, TEXT, TEXT)
    assert got.header(b"content-type") == b"text/plain; charset=utf-8"
    assert head.status == 200
    assert head.body == b""
    assert head.headers == got.headers


@async_test()
async def test_small_files_and_slices_also_go_through_sendfile(root: Path) -> None:
    async with (
        serving(root, inline_limit=0) as server,
        await RawClient.connect(server.port) as client,
    ):
        whole = await client.request("GET", "/page.txt", [("Accept-Encoding", "identity")])
        part = await client.request("GET", "/page.txt", [("Range", "bytes=10-19")])
        empty = await client.request("GET", "/empty.txt")
    assert whole.body == TEXT
    assert (part.status, part.body) == (206, TEXT[10:20])
    assert (empty.status, empty.body, empty.header(b"content-length")) == (200, b"", b"0")


@async_test()
async def test_http_1_0_clients_get_the_file(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/page.txt", version="1.0")
    assert (response.status, response.body) == (200, TEXT)


# ---------------------------------------------------------------- ranges


@async_test()
async def test_curl_range_gets_exactly_the_slice(root: Path) -> None:
    async with serving(root) as server:
        url = f"http://127.0.0.1:{server.port}/big.bin"
        small, small_head = await curl("-r", "0-99", url)
        large, large_head = await curl("-r", "1000000-3999999", url)
        tail, _ = await curl("-r", "-500", url)
    assert small == BIG[:100]
    assert b"http/1.1 206" in small_head
    assert f"content-range: bytes 0-99/{len(BIG)}".encode() in small_head
    assert large == BIG[1_000_000:4_000_000]
    assert f"content-range: bytes 1000000-3999999/{len(BIG)}".encode() in large_head
    assert tail == BIG[-500:]


@async_test()
async def test_httpx_range_requests_get_their_slices(root: Path) -> None:
    size = len(BIG)
    cases = {"bytes=5-": BIG[5:], "bytes=100-199": BIG[100:200], f"bytes={size - 1}-": BIG[-1:]}
    async with serving(root) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/big.bin"
        for value, expected in cases.items():
            response = await client.get(url, headers={"Range": value})
            assert response.status_code == 206
            assert response.content == expected


@pytest.mark.parametrize("inline_limit", [64 * 1024, 0], ids=["one-write", "sendfile"])
@async_test()
async def test_several_ranges_come_as_multipart_byteranges(root: Path, inline_limit: int) -> None:
    size = len(BIG)
    ranges = "bytes=-100, 0-99, 1000-1999, 2000000-2999999"
    async with (
        serving(root, inline_limit=inline_limit) as server,
        await RawClient.connect(server.port) as client,
    ):
        response = await client.request("GET", "/big.bin", [("Range", ranges)])
        after = await client.request("GET", "/page.txt")
    assert response.status == 206
    content_type = response.header(b"content-type")
    assert content_type is not None
    assert content_type.startswith(b"multipart/byteranges; boundary=")
    assert response.header(b"content-length") == str(len(response.body)).encode()
    parts = parse_byteranges(content_type, response.body)
    assert [(content_range, data) for content_range, _, data in parts] == [
        (f"bytes 0-99/{size}", BIG[:100]),
        (f"bytes 1000-1999/{size}", BIG[1000:2000]),
        (f"bytes 2000000-2999999/{size}", BIG[2_000_000:3_000_000]),
        (f"bytes {size - 100}-{size - 1}/{size}", BIG[-100:]),
    ]
    assert {part_type for _, part_type, _ in parts} == {"application/octet-stream"}
    assert after.body == TEXT


@async_test()
async def test_small_multipart_bodies_leave_in_one_write(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/page.txt", [("Range", "bytes=0-4,-5")])
    content_type = response.header(b"content-type")
    assert content_type is not None
    assert [data for _, _, data in parse_byteranges(content_type, response.body)] == [
        TEXT[:5],
        TEXT[-5:],
    ]


@async_test()
async def test_an_unsatisfiable_range_gets_416(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/page.txt", [("Range", "bytes=999999-")])
        after = await client.request("GET", "/page.txt")
    assert response.status == 416
    assert response.header(b"content-range") == f"bytes */{len(TEXT)}".encode()
    assert response.body == b""
    assert after.body == TEXT


# ---------------------------------------------------------------- conditional requests


@async_test()
async def test_revalidation_gets_304_by_etag_and_by_date(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        first = await client.request("GET", "/big.bin")
        etag = first.header(b"etag")
        last_modified = first.header(b"last-modified")
        assert etag is not None
        assert last_modified is not None
        by_etag = await client.request("GET", "/big.bin", [("If-None-Match", etag.decode())])
        by_date = await client.request(
            "GET", "/big.bin", [("If-Modified-Since", last_modified.decode())]
        )
        changed = await client.request("GET", "/big.bin", [("If-None-Match", '"old"')])
    for response in (by_etag, by_date):
        assert response.status == 304
        assert response.body == b""
        assert response.headers == [
            (b"etag", etag),
            (b"last-modified", last_modified),
            CACHE,
            *[(name, value) for name, value in response.headers if name in (b"date", b"server")],
        ]
    assert changed.status == 200
    assert changed.body == BIG


@async_test()
async def test_a_failed_if_match_gets_412(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/page.txt", [("If-Match", '"nope"')])
    assert (response.status, response.body) == (412, b"")


# ---------------------------------------------------------------- precompressed variants


@async_test()
async def test_curl_compressed_gets_the_gzip_variant(root: Path) -> None:
    async with serving(root) as server:
        body, head = await curl("--compressed", f"http://127.0.0.1:{server.port}/page.txt")
    assert body == TEXT
    assert b"content-encoding: gzip" in head
    assert b"vary: accept-encoding" in head
    assert b"content-type: text/plain; charset=utf-8" in head


@async_test()
async def test_gzip_clients_get_the_variant_and_others_the_file(root: Path) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        zipped = await client.request("GET", "/page.txt", [("Accept-Encoding", "gzip, br")])
        plain = await client.request("GET", "/page.txt", [("Accept-Encoding", "br, gzip;q=0")])
        bare = await client.request("GET", "/page.txt")
    assert zipped.header(b"content-encoding") == b"gzip"
    assert zipped.body == (root / "page.txt.gz").read_bytes()
    assert gzip.decompress(zipped.body) == TEXT
    for response in (plain, bare):
        assert response.header(b"content-encoding") is None
        assert response.body == TEXT
    for response in (zipped, plain, bare):
        assert response.header(b"vary") == b"accept-encoding"
    assert zipped.header(b"etag") != plain.header(b"etag")


@async_test()
async def test_variants_can_be_turned_off(root: Path) -> None:
    async with (
        serving(root, precompressed=False) as server,
        await RawClient.connect(server.port) as client,
    ):
        response = await client.request("GET", "/page.txt", [("Accept-Encoding", "gzip")])
    assert response.body == TEXT
    assert response.header(b"vary") is None


@async_test()
async def test_httpx_decodes_the_variant(root: Path) -> None:
    async with serving(root) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/page.txt")
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == TEXT


# ---------------------------------------------------------------- what is not served


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/missing.txt", 404),
        ("/dir", 404),
        ("/dir/", 404),
        ("/fifo", 404),  # opened without blocking, then refused
        ("/page.txt/x", 404),  # ENOTDIR
        ("/escape", 403),  # a symlink out of the root
        ("/../secret", 403),
        ("/%2e%2e/secret", 403),
        ("/dir/..%5Csecret", 403),  # a backslash
        ("/page.txt%00", 403),
    ],
)
@async_test()
async def test_paths_that_are_not_served(root: Path, target: str, status: int) -> None:
    async with serving(root) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", target)
        after = await client.request("GET", "/page.txt")
    assert response.status == status
    assert b"secret" not in response.body
    assert after.status == 200


@async_test()
async def test_an_error_page_is_sent_with_its_status_and_no_validators(root: Path) -> None:
    async def handler(exchange: Exchange) -> None:
        await send_file(exchange, root / "page.txt", status=404, content_type=b"text/html")

    config = Config(host="127.0.0.1", port=0, access_log=False)
    async with (
        Server(handler, config) as server,
        await RawClient.connect(server.port) as client,
    ):
        response = await client.request("GET", "/x", [("Range", "bytes=0-1")])
    assert response.status == 404
    assert response.body == gzip.decompress((root / "page.txt.gz").read_bytes())
    assert response.header(b"content-type") == b"text/html"
    assert {b"etag", b"last-modified", b"accept-ranges"}.isdisjoint(response.names)


def test_curl_is_installed() -> None:
    assert shutil.which("curl"), "the curl tests need the curl command"
