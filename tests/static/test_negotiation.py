"""Precompressed variants (Accept-Encoding, RFC 9110 §12.5.3) and content types."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from ketch.static import (
    choose_coding,
    choose_precompressed,
    guess_content_type,
    precompressed_variants,
)
from ketch.static.negotiation import accepted_codings

if TYPE_CHECKING:
    from pathlib import Path

ALL = [b"br", b"zstd", b"gzip"]


def test_weights_are_parsed_in_thousandths() -> None:
    values = [b"gzip;q=0.5, BR ; Q=1", b"zstd;q=0.001,identity;q=0, *;q=0"]
    assert accepted_codings(values) == {
        b"gzip": 500,
        b"br": 1000,
        b"zstd": 1,
        b"identity": 0,
        b"*": 0,
    }


@pytest.mark.parametrize(
    "value", [b"gzip;q=2", b"gzip;q=1.5", b"gzip;q=0.1234", b"gzip;q=", b"gzip;q=-1", b"gzip;q=.5"]
)
def test_a_member_with_a_malformed_weight_is_dropped(value: bytes) -> None:
    assert accepted_codings([value]) == {}


def test_other_parameters_and_empty_members_are_ignored() -> None:
    assert accepted_codings([b", gzip;level=9,,"]) == {b"gzip": 1000}


def test_x_gzip_means_gzip() -> None:
    assert accepted_codings([b"x-gzip"]) == {b"gzip": 1000}


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (b"gzip, deflate, br, zstd", b"br"),  # a browser: equals go to the server's preference
        (b"gzip, deflate", b"gzip"),
        (b"zstd, gzip", b"zstd"),
        (b"br;q=0.5, gzip", b"gzip"),  # the client's weights come first
        (b"gzip;q=0.1, zstd;q=0.2, br;q=0.1", b"zstd"),
        (b"*", b"br"),
        (b"*;q=0.5, gzip", b"gzip"),  # "*" stands for the codings not named
        (b"*, br;q=0", b"zstd"),
        (b"gzip;q=0", None),
        (b"identity", None),
        (b"identity;q=0", None),
        (b"*;q=0", None),
        (b"", None),
        (b"compress, deflate", None),
    ],
)
def test_choose_coding_picks_the_best_accepted_one(accept: bytes, chosen: bytes | None) -> None:
    assert choose_coding(ALL, [accept]) == chosen


def test_no_accept_encoding_means_no_coding() -> None:
    assert choose_coding(ALL, []) is None


def test_only_available_codings_are_chosen() -> None:
    assert choose_coding([b"gzip"], [b"br, gzip;q=0.1"]) == b"gzip"


def test_variants_beside_a_file_are_listed_in_preference_order(tmp_path: Path) -> None:
    path = tmp_path / "app.js"
    for name in ("app.js", "app.js.gz", "app.js.br"):
        (tmp_path / name).write_bytes(b"x")
    assert precompressed_variants(path) == [
        (tmp_path / "app.js.br", b"br"),
        (path.parent / "app.js.gz", b"gzip"),
    ]


def test_links_and_directories_are_not_variants(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a")
    os.symlink(outside, root / "a.txt.gz")
    (root / "a.txt.br").mkdir()
    assert precompressed_variants(root / "a.txt") == []
    assert choose_precompressed(root / "a.txt", [b"gzip, br"]) is None


def test_a_nul_in_the_name_has_no_variants(tmp_path: Path) -> None:
    assert precompressed_variants(tmp_path / "a\x00b") == []


def test_choose_precompressed_returns_the_variant_and_its_coding(tmp_path: Path) -> None:
    for name in ("a.css", "a.css.gz", "a.css.zst"):
        (tmp_path / name).write_bytes(b"x")
    path = tmp_path / "a.css"
    assert choose_precompressed(path, [b"gzip"]) == (tmp_path / "a.css.gz", b"gzip")
    assert choose_precompressed(path, [b"gzip, zstd"]) == (tmp_path / "a.css.zst", b"zstd")
    assert choose_precompressed(path, [b"br"]) is None
    assert choose_precompressed(path, []) is None


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("index.html", b"text/html; charset=utf-8"),
        ("site.css", b"text/css; charset=utf-8"),
        ("notes.txt", b"text/plain; charset=utf-8"),
        ("app.js", b"text/javascript; charset=utf-8"),
        ("app.MJS", b"text/javascript; charset=utf-8"),
        ("data.json", b"application/json; charset=utf-8"),
        ("module.wasm", b"application/wasm"),
        ("logo.png", b"image/png"),
        ("doc.pdf", b"application/pdf"),
        ("font.woff2", b"font/woff2"),
        ("backup.tar.gz", b"application/gzip"),  # an archive, not a Content-Encoding
        ("a.b.c.tar.bz2", b"application/x-bzip2"),
        ("notes.txt.br", b"application/octet-stream"),
        ("blob.unknownsuffix", b"application/octet-stream"),
        ("Makefile", b"application/octet-stream"),
        (".bashrc", b"application/octet-stream"),
    ],
)
def test_guess_content_type(name: str, content_type: bytes) -> None:
    assert guess_content_type(name) == content_type
