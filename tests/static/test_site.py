"""`Site`: what answers a path, and its cache of vetted files, which must never serve a stale
file or one that a change on disk moved out of the root."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from ketch.static import StaticFiles
from ketch.static import site as site_module
from ketch.static.site import Kind, Site, directory_redirect
from tests.support import RawClient, async_test, serve

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("alpha")
    (root / "page.html").write_text("<p>page</p>")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.txt").write_text("SECRET")
    (tmp_path / "outside" / "index.html").write_text("SECRET")
    return root


def test_find_kinds(root: Path) -> None:
    site = Site(root)
    assert site.find("/docs/a.txt").kind is Kind.FILE
    assert site.find("/docs").kind is Kind.REDIRECT
    assert site.find("/docs/").kind is Kind.LISTING
    assert site.find("/missing").kind is Kind.NOT_FOUND
    assert site.find("/../outside/a.txt").kind is Kind.NOT_FOUND
    assert Site(root, listing=False).find("/docs/").kind is Kind.DIRECTORY
    (root / "docs" / "index.html").write_text("index")
    found = site.find("/docs/")
    assert found.kind is Kind.FILE
    assert found.path == root / "docs" / "index.html"
    assert Site(root, index=None).find("/docs/").kind is Kind.LISTING


def test_an_index_file_linking_out_is_not_served(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside" / "index.html", root / "docs" / "index.html")
    assert Site(root).find("/docs/").kind is Kind.LISTING
    assert Site(root, follow_symlinks=True).find("/docs/").kind is Kind.FILE


def test_directory_redirect_is_relative_and_keeps_the_query() -> None:
    assert directory_redirect(b"/static/docs", b"") == b"docs/"
    assert directory_redirect(b"/a%20b", b"x=1") == b"a%20b/?x=1"


async def get(port: int, path: str, *headers: tuple[str, str]) -> tuple[int, bytes]:
    async with await RawClient.connect(port) as client:
        response = await client.request("GET", path, headers=list(headers))
    return response.status, response.body


@async_test()
async def test_a_changed_file_is_served_as_it_is_now(root: Path) -> None:
    static = StaticFiles(root)
    async with serve(static) as server:
        assert await get(server.port, "/docs/a.txt") == (200, b"alpha")
        (root / "docs" / "a.txt").write_text("omega")  # same size, same inode
        assert await get(server.port, "/docs/a.txt") == (200, b"omega")
        (root / "docs" / "a.txt").write_text("longer now")
        assert await get(server.port, "/docs/a.txt") == (200, b"longer now")
        replacement = root / "docs" / "new.txt"
        replacement.write_text("renamed over")
        replacement.replace(root / "docs" / "a.txt")  # another inode
        assert await get(server.port, "/docs/a.txt") == (200, b"renamed over")
        (root / "docs" / "a.txt").unlink()
        assert (await get(server.port, "/docs/a.txt"))[0] == 404


@async_test()
async def test_a_file_replaced_by_a_link_out_is_refused(root: Path, tmp_path: Path) -> None:
    async with serve(StaticFiles(root)) as server:
        assert await get(server.port, "/docs/a.txt") == (200, b"alpha")
        (root / "docs" / "a.txt").unlink()
        os.symlink(tmp_path / "outside" / "a.txt", root / "docs" / "a.txt")
        status, body = await get(server.port, "/docs/a.txt")
    assert status == 404
    assert b"SECRET" not in body


@async_test()
async def test_a_directory_swapped_for_a_link_out_is_refused(root: Path, tmp_path: Path) -> None:
    async with serve(StaticFiles(root)) as server:
        assert await get(server.port, "/docs/a.txt") == (200, b"alpha")
        (root / "docs").rename(root / "old-docs")
        os.symlink(tmp_path / "outside", root / "docs")
        status, body = await get(server.port, "/docs/a.txt")
    assert status == 404
    assert b"SECRET" not in body


@async_test()
async def test_index_files_that_come_and_go(root: Path) -> None:
    async with serve(StaticFiles(root)) as server:
        status, body = await get(server.port, "/docs/")
        assert status == 200
        assert b"Index of /docs/" in body
        (root / "docs" / "index.html").write_text("index page")
        assert await get(server.port, "/docs/") == (200, b"index page")
        (root / "docs" / "index.html").unlink()
        status, body = await get(server.port, "/docs/")
        assert b"Index of /docs/" in body


@async_test()
async def test_precompressed_siblings_that_come_and_go(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gzip = ("Accept-Encoding", "gzip")
    async with serve(StaticFiles(root)) as server:
        assert await get(server.port, "/page.html", gzip) == (200, b"<p>page</p>")
        (root / "page.html.gz").write_bytes(b"gzipped")
        # Within VARIANTS_TTL the list of siblings may be the old one; after it, not.
        monkeypatch.setattr(site_module, "VARIANTS_TTL", 0.0)
        assert await get(server.port, "/page.html", gzip) == (200, b"gzipped")
        (root / "page.html.gz").unlink()
        monkeypatch.setattr(site_module, "VARIANTS_TTL", 3600.0)
        assert await get(server.port, "/page.html", gzip) == (200, b"<p>page</p>")


@async_test()
async def test_the_cache_is_bounded(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_module, "CACHE_SIZE", 4)
    for i in range(10):
        (root / f"{i}.txt").write_text(str(i))
    static = StaticFiles(root)
    async with serve(static) as server:
        for i in range(10):
            assert await get(server.port, f"/{i}.txt") == (200, str(i).encode())
        assert await get(server.port, "/0.txt") == (200, b"0")
    assert len(static.site._entries) <= 4
