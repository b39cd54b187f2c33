"""`StaticFiles` over real sockets, and ``ketch`` with no app serving a folder."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ketch.static import MAX_RANGES, StaticFiles
from tests.support import KetchProcess, RawClient, async_test, serve

from .byteranges import parse_byteranges

if TYPE_CHECKING:
    from pathlib import Path

BIG = os.urandom(300_000)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "docs" / "a.txt").write_text("alpha\n")
    (root / "docs" / "<script>x.txt").write_text("escaped?\n")
    (root / "big.bin").write_bytes(BIG)
    (root / "style.css").write_text("body{}" * 200)
    (root / "style.css.gz").write_bytes(b"\x1f\x8b fake gzip")
    (tmp_path / "secret.txt").write_text("outside the root")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    return root


@async_test()
async def test_index_file_listing_and_redirect(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{server.port}"
        home = await client.get(f"{base}/")
        assert home.text == "<h1>home</h1>"
        assert home.headers["content-type"].startswith("text/html")
        moved = await client.get(f"{base}/docs?x=1")
        assert moved.status_code == 301
        assert moved.headers["location"] == "docs/?x=1"  # relative: right under any mount point
        listing = await client.get(f"{base}/docs/")
        assert listing.status_code == 200
        assert '<a href="a.txt">a.txt</a>' in listing.text
        assert "&lt;script&gt;x.txt" in listing.text  # names are escaped
        assert "<script>x" not in listing.text
        assert "Modified" in listing.text
        assert '<a href="../">' in listing.text
        empty = await client.get(f"{base}/empty/")
        assert empty.status_code == 200


@async_test()
async def test_validators_and_304(site: Path) -> None:
    async with (
        serve(StaticFiles(site, cache_control="max-age=60")) as server,
        httpx.AsyncClient() as client,
    ):
        url = f"http://127.0.0.1:{server.port}/docs/a.txt"
        first = await client.get(url)
        assert first.text == "alpha\n"
        assert first.headers["content-length"] == "6"
        assert first.headers["cache-control"] == "max-age=60"
        etag = first.headers["etag"]
        again = await client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        since = await client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304


@async_test()
async def test_ranges_and_head(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/big.bin"
        part = await client.get(url, headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206
        assert part.content == BIG[1000:2000]
        beyond = await client.get(url, headers={"Range": "bytes=400000-"})
        assert beyond.status_code == 416
        whole = await client.get(url)
        assert whole.content == BIG  # large: sent with sendfile
        head = await client.head(url)
        assert head.headers["content-length"] == str(len(BIG))
        assert head.content == b""


@async_test()
async def test_precompressed_sibling_is_chosen_by_accept_encoding(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/style.css", headers=[("Accept-Encoding", "gzip")])
        assert response.header(b"content-encoding") == b"gzip"
        assert response.header(b"vary").lower() == b"accept-encoding"  # type: ignore[union-attr]
        assert response.body == b"\x1f\x8b fake gzip"


@pytest.mark.parametrize(
    "target",
    [
        b"/../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/docs/%2E%2E/%2E%2E/secret.txt",
        b"/..%2fsecret.txt",
        b"/docs\\..\\..\\secret.txt",
        b"/%5c..%5csecret.txt",
        b"/a%00.txt",
        b"/link-out.txt",
        b"/%ff%fe",
        b"/nothing-here",
    ],
)
@async_test()
async def test_nothing_outside_the_root_and_missing_files_are_404(
    site: Path, target: bytes
) -> None:
    async with serve(StaticFiles(site)) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        response = await client.response()
    assert response.status in (400, 404)
    assert b"outside the root" not in response.body


@async_test()
async def test_symlinks_out_are_followed_only_when_asked(site: Path) -> None:
    async with (
        serve(StaticFiles(site, follow_symlinks=True)) as server,
        httpx.AsyncClient() as client,
    ):
        response = await client.get(f"http://127.0.0.1:{server.port}/link-out.txt")
    assert response.text == "outside the root"


@async_test()
async def test_other_methods_get_405(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{server.port}/docs/a.txt", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        StaticFiles(tmp_path / "nope")


def test_ketch_with_no_app_serves_the_current_folder(site: Path) -> None:
    with KetchProcess("--port", "0", cwd=site) as proc:
        url = proc.wait_serving()
        home = httpx.get(f"{url}/", timeout=10)
        etag = home.headers["etag"]
        assert home.text == "<h1>home</h1>"
        again = httpx.get(f"{url}/", headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304
        assert proc.stop() == 0
    assert any(f"serving the files in {site}" in line for line in proc.stderr)


def test_ketch_root_flag_and_a_bad_root(site: Path, tmp_path: Path) -> None:
    with KetchProcess("--port", "0", "--root", str(site / "docs"), cwd=tmp_path) as proc:
        url = proc.wait_serving()
        assert httpx.get(f"{url}/a.txt", timeout=10).text == "alpha\n"
        proc.stop()
    with KetchProcess("--root", str(tmp_path / "missing"), cwd=tmp_path) as proc:
        assert proc.wait() == 2
    assert any("--root: not a directory" in line for line in proc.stderr)


def as_plain_asgi(static: StaticFiles) -> Any:
    """Hide the front door: ketch then serves `static` as any ASGI app, through its messages."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await static(scope, receive, send)

    return app


@async_test()
async def test_the_asgi_app_serves_files_listings_ranges_and_304(site: Path) -> None:
    async with serve(as_plain_asgi(StaticFiles(site))) as server, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{server.port}"
        assert (await client.get(f"{base}/")).text == "<h1>home</h1>"
        assert '<a href="a.txt">' in (await client.get(f"{base}/docs/")).text
        whole = await client.get(f"{base}/big.bin")
        assert whole.content == BIG
        etag = whole.headers["etag"]
        assert (
            await client.get(f"{base}/big.bin", headers={"If-None-Match": etag})
        ).status_code == 304
        part = await client.get(f"{base}/big.bin", headers={"Range": "bytes=-100"})
        assert part.status_code == 206
        assert part.content == BIG[-100:]
        assert (await client.get(f"{base}/%2e%2e/secret.txt")).status_code == 404
        head = await client.head(f"{base}/docs/a.txt")
        assert head.headers["content-length"] == "6"


@async_test()
async def test_the_asgi_app_mounted_in_starlette(site: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/static", app=StaticFiles(site))])
    async with serve(app) as server, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{server.port}/static"
        assert (await client.get(f"{base}/docs/a.txt")).text == "alpha\n"
        assert (await client.get(f"{base}/")).text == "<h1>home</h1>"
        moved = await client.get(f"{base}/docs", follow_redirects=True)
        assert moved.status_code == 200
        assert str(moved.url).endswith("/static/docs/")
        assert '<a href="a.txt">' in moved.text


# -- Ranges, conditionals and HEAD over sockets -----------------------------------------------


@async_test()
async def test_multiple_ranges_get_multipart_byteranges(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, await RawClient.connect(server.port) as client:
        small = await client.request("GET", "/docs/a.txt", headers=[("Range", "bytes=0-0,-2")])
        large = await client.request(
            "GET", "/big.bin", headers=[("Range", "bytes=0-99999, 200000-")]
        )
    for response, data in ((small, b"alpha\n"), (large, BIG)):
        assert response.status == 206
        content_type = response.header(b"content-type") or b""
        assert content_type.startswith(b"multipart/byteranges; boundary=")
        assert response.header(b"content-length") == str(len(response.body)).encode()
        parts = parse_byteranges(content_type, response.body)
        size = len(data)
        if data is BIG:
            expected = [(0, 99999), (200000, size - 1)]
        else:
            expected = [(0, 0), (size - 2, size - 1)]
        assert [part[0] for part in parts] == [f"bytes {a}-{b}/{size}" for a, b in expected]
        assert [part[2] for part in parts] == [data[a : b + 1] for a, b in expected]


@async_test()
async def test_too_many_or_overlapping_ranges_cannot_inflate_the_answer(site: Path) -> None:
    many = ",".join(f"{i}-{i}" for i in range(0, 2 * (MAX_RANGES + 1), 2))
    overlapping = ",".join(["0-"] * MAX_RANGES)
    async with serve(StaticFiles(site)) as server, await RawClient.connect(server.port) as client:
        too_many = await client.request("GET", "/big.bin", headers=[("Range", "bytes=" + many)])
        merged = await client.request("GET", "/big.bin", headers=[("Range", overlapping)])
        merged_bytes = await client.request(
            "GET", "/big.bin", headers=[("Range", "bytes=" + overlapping)]
        )
    assert too_many.status == 200  # more than MAX_RANGES: ignored, the whole file
    assert too_many.body == BIG
    assert merged.status == 200  # not a bytes range: ignored
    assert merged_bytes.status == 206  # coalesced into one range: never more than the file
    assert merged_bytes.header(b"content-range") == b"bytes 0-%d/%d" % (len(BIG) - 1, len(BIG))
    assert merged_bytes.body == BIG


@async_test()
async def test_if_range_head_304_and_416_over_sockets(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, await RawClient.connect(server.port) as client:
        first = await client.request("GET", "/big.bin")
        etag = (first.header(b"etag") or b"").decode()
        modified = (first.header(b"last-modified") or b"").decode()
        fresh = await client.request(
            "GET", "/big.bin", headers=[("Range", "bytes=10-19"), ("If-Range", etag)]
        )
        stale = await client.request(
            "GET", "/big.bin", headers=[("Range", "bytes=10-19"), ("If-Range", '"old"')]
        )
        by_date = await client.request(
            "GET", "/big.bin", headers=[("Range", "bytes=10-19"), ("If-Range", modified)]
        )
        not_modified = await client.request("GET", "/big.bin", headers=[("If-None-Match", etag)])
        head = await client.request("HEAD", "/big.bin", headers=[("Range", "bytes=10-19")])
        unsatisfiable = await client.request("GET", "/big.bin", headers=[("Range", "bytes=-0")])
        beyond = await client.request("HEAD", "/docs/a.txt", headers=[("If-None-Match", "*")])
    assert (fresh.status, fresh.body) == (206, BIG[10:20])
    assert (stale.status, stale.body) == (200, BIG)
    assert (by_date.status, by_date.body) == (206, BIG[10:20])
    assert not_modified.status == 304
    assert not_modified.body == b""
    assert not_modified.header(b"etag") == etag.encode()
    assert not_modified.header(b"content-length") is None
    assert head.status == 200  # Range is for GET only
    assert head.header(b"content-length") == str(len(BIG)).encode()
    assert head.header(b"accept-ranges") == b"bytes"
    assert head.body == b""
    assert unsatisfiable.status == 416
    assert unsatisfiable.header(b"content-range") == b"bytes */%d" % len(BIG)
    assert beyond.status == 304


@async_test()
async def test_head_of_a_precompressed_file_and_vary(site: Path) -> None:
    async with serve(StaticFiles(site)) as server, await RawClient.connect(server.port) as client:
        plain = await client.request("GET", "/style.css")
        head = await client.request("HEAD", "/style.css", headers=[("Accept-Encoding", "br, gzip")])
        refused = await client.request(
            "GET", "/style.css", headers=[("Accept-Encoding", "gzip;q=0, identity")]
        )
    assert plain.header(b"content-encoding") is None
    assert (plain.header(b"vary") or b"").lower() == b"accept-encoding"
    assert plain.body == b"body{}" * 200
    assert plain.header(b"content-type") == b"text/css; charset=utf-8"
    assert head.header(b"content-encoding") == b"gzip"
    assert head.header(b"content-length") == str(len(b"\x1f\x8b fake gzip")).encode()
    assert head.header(b"content-type") == b"text/css; charset=utf-8"
    assert head.body == b""
    assert refused.header(b"content-encoding") is None


@async_test()
async def test_listing_is_sorted_escaped_and_links_stay_relative(site: Path) -> None:
    (site / "docs" / "B.txt").write_text("b")
    (site / "docs" / "sub").mkdir()
    (site / "docs" / "javascript:alert(1)").write_text("x")
    (site / "docs" / '"><img src=x onerror=alert(1)>').write_text("x")
    (site / "docs" / ".hidden").write_text("x")
    async with serve(StaticFiles(site)) as server, httpx.AsyncClient() as client:
        page = (await client.get(f"http://127.0.0.1:{server.port}/docs/")).text
    assert "<img" not in page
    assert "onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page  # quoted: a relative link, never a URL scheme
    assert "javascript%3Aalert%281%29" in page
    assert ".hidden" not in page
    assert '<th scope="col">Name</th>' in page
    names = [
        line.split('">', 2)[1].split("<")[0] for line in page.splitlines() if "<a href" in line
    ]
    assert names[:3] == ["../", "sub/", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"]
    assert names[3:] == sorted(names[3:], key=str.lower)


def test_ketch_static_cache_control_option(site: Path) -> None:
    with KetchProcess(
        "--port", "0", "--root", str(site), "--static-cache-control", "max-age=3600", cwd=site
    ) as proc:
        url = proc.wait_serving()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{url}/docs/a.txt", timeout=10)
        assert response.headers["cache-control"] == "max-age=3600"
        proc.stop()
