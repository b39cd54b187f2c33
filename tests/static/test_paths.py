"""`resolve_under`: URL paths to files, never outside the root."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from ketch.static import resolve_under

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """``tmp_path/root`` with ``css/site.css``, beside a ``secret`` file it must not reach."""
    (tmp_path / "secret").write_text("secret")
    root = tmp_path / "root"
    (root / "css").mkdir(parents=True)
    (root / "css" / "site.css").write_text("body {}")
    return root


def test_a_path_under_the_root_resolves_to_its_real_path(root: Path) -> None:
    assert resolve_under(root, "/css/site.css") == root.resolve() / "css" / "site.css"
    assert resolve_under(str(root), "css/site.css") == root.resolve() / "css" / "site.css"


def test_empty_and_dot_segments_are_skipped(root: Path) -> None:
    assert resolve_under(root, "/") == root.resolve()
    assert resolve_under(root, "") == root.resolve()
    assert resolve_under(root, "//css/./site.css") == root.resolve() / "css" / "site.css"


def test_a_leading_double_slash_stays_under_the_root(root: Path) -> None:
    assert resolve_under(root, "//etc/passwd") == root.resolve() / "etc" / "passwd"


def test_a_missing_file_still_resolves(root: Path) -> None:
    assert resolve_under(root, "/nope.txt") == root.resolve() / "nope.txt"


@pytest.mark.parametrize(
    "url_path",
    [
        "/../secret",
        "..",
        "/css/../../secret",
        "a/../../b",
        "/css/..",  # even when it would stay inside: a dot-dot segment is refused outright
        "/%2e%2e/secret",  # double-encoded: another decoding would make it ".."
        "/%2E%2E/secret",
        "/.%2e/secret",
        "/css%2f..%2f..%2fsecret",
        "/css/site.css\x00.png",
        "/css%00",
        "/..\\secret",
        "/css\\site.css",
        "/C:/Windows/win.ini",
        "/c:",
    ],
)
def test_traversal_attempts_are_refused(root: Path, url_path: str) -> None:
    assert resolve_under(root, url_path) is None


def test_names_that_only_look_like_dots_are_files(root: Path) -> None:
    assert resolve_under(root, "/...") == root.resolve() / "..."
    assert resolve_under(root, "/..a") == root.resolve() / "..a"
    assert resolve_under(root, "/100%") == root.resolve() / "100%"
    assert resolve_under(root, "/1:2") == root.resolve() / "1:2"


def test_a_symlink_escaping_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "secret", root / "link")
    os.symlink(tmp_path, root / "dirlink")
    assert resolve_under(root, "/link") is None
    assert resolve_under(root, "/dirlink/secret") is None


def test_a_symlink_inside_the_root_resolves_to_its_target(root: Path) -> None:
    os.symlink(root / "css" / "site.css", root / "alias.css")
    assert resolve_under(root, "/alias.css") == root.resolve() / "css" / "site.css"


def test_follow_symlinks_lets_links_point_outside(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "secret", root / "link")
    assert resolve_under(root, "/link", follow_symlinks=True) == root.resolve() / "link"
    assert resolve_under(root, "/../secret", follow_symlinks=True) is None


def test_a_root_that_is_itself_a_symlink_works(root: Path, tmp_path: Path) -> None:
    os.symlink(root, tmp_path / "rootlink")
    resolved = resolve_under(tmp_path / "rootlink", "/css/site.css")
    assert resolved == root.resolve() / "css" / "site.css"


def test_a_sibling_directory_sharing_the_root_prefix_is_outside(root: Path, tmp_path: Path) -> None:
    (tmp_path / "root-evil").mkdir()
    (tmp_path / "root-evil" / "x").write_text("x")
    os.symlink(tmp_path / "root-evil" / "x", root / "x")
    assert resolve_under(root, "/x") is None
