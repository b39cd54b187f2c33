"""Opening files and the sender's corner cases, with a recording exchange (no sockets)."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any, cast

import pytest

from ketch.http11 import Request
from ketch.static import FileAccessError, open_file, send_file, send_open_file
from ketch.static import files as files_module
from tests.support import async_test

if TYPE_CHECKING:
    from pathlib import Path

    from ketch.server import Exchange


class RecordingExchange:
    """The parts of `Exchange` a sender uses, recording what it is asked to do."""

    def __init__(self, method: bytes = b"GET", headers: list[tuple[bytes, bytes]] | None = None):
        self.request = Request(method=method, target=b"/", headers=headers or [])
        self.calls: list[tuple[Any, ...]] = []

        self.headers: list[tuple[bytes, bytes]] = []

    def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        self.headers = headers
        self.calls.append(("respond", status, body))

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.calls.append(("start", status))

    async def write(self, data: bytes, *, end: bool = False) -> None:
        self.calls.append(("write", data, end))

    async def sendfile(self, file: Any, offset: int, count: int) -> None:
        self.calls.append(("sendfile", offset, count))

    async def end(self) -> None:
        self.calls.append(("end",))


def as_exchange(recording: RecordingExchange) -> Exchange:
    return cast("Exchange", recording)


def test_open_file_returns_an_unbuffered_file_and_its_stat(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    file, file_stat = open_file(tmp_path / "a")
    with file:
        assert file.read() == b"abc"
        assert file_stat.st_size == 3


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), 403),
        (PermissionError(errno.EPERM, "Operation not permitted"), 403),
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), 404),
        (OSError(errno.ENAMETOOLONG, "File name too long"), 404),
    ],
)
def test_open_errors_become_statuses(
    monkeypatch: pytest.MonkeyPatch, error: OSError, status: int
) -> None:
    def fail(*args: object) -> int:
        raise error

    monkeypatch.setattr(os, "open", fail)
    with pytest.raises(FileAccessError) as info:
        open_file("/some/file")
    assert (info.value.status, info.value.path) == (status, "/some/file")
    assert info.value.__cause__ is error


def test_other_open_errors_are_server_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(os, "open", fail)
    with pytest.raises(OSError, match="Too many open files") as info:
        open_file("/some/file")
    assert not isinstance(info.value, FileAccessError)


def test_a_nul_in_the_name_is_not_found() -> None:
    with pytest.raises(FileAccessError) as info:
        open_file("/tmp/a\x00b")
    assert info.value.status == 404


def test_a_directory_is_not_found_and_its_descriptor_closed(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(FileAccessError, match="is a directory"):
        open_file(tmp_path)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileAccessError, match="not a regular file") as info:
        open_file(tmp_path / "fifo")
    assert info.value.status == 404


def fake_stat(size: int) -> os.stat_result:
    return os.stat_result((0o100644, 1, 1, 1, 0, 0, size, 0, 1_000_000, 0))


@async_test()
async def test_a_file_shorter_than_its_stat_fails_instead_of_sending_less(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 50)
    exchange = RecordingExchange()
    file, _ = open_file(tmp_path / "a")
    with file, pytest.raises(OSError, match="ended 50 bytes early"):
        await send_open_file(as_exchange(exchange), file, fake_stat(100), content_type=b"x/y")
    assert exchange.calls == []


@async_test()
async def test_short_reads_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytes(range(100))
    (tmp_path / "a").write_bytes(data)
    pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, offset: pread(fd, min(n, 7), offset))
    exchange = RecordingExchange()
    file, _ = open_file(tmp_path / "a")
    with file:
        await send_open_file(
            as_exchange(exchange), file, os.fstat(file.fileno()), content_type=b"x/y"
        )
    assert exchange.calls == [("respond", 200, data)]


@async_test()
async def test_large_content_goes_through_sendfile_between_part_heads(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(bytes(100))
    ranges = [(b"range", b"bytes=0-9,20-29")]
    single = RecordingExchange(headers=[(b"range", b"bytes=5-")])
    multi = RecordingExchange(headers=ranges)
    for exchange in (single, multi):
        await send_file(as_exchange(exchange), tmp_path / "a", inline_limit=0)
    assert single.calls == [("start", 206), ("sendfile", 5, 95), ("end",)]
    assert [call[0] for call in multi.calls] == [
        "start",
        "write",
        "sendfile",
        "write",
        "sendfile",
        "write",
    ]
    assert multi.calls[2] == ("sendfile", 0, 10)
    assert multi.calls[4] == ("sendfile", 20, 10)
    assert multi.calls[5][1].endswith(b"--\r\n")
    assert multi.calls[5][2] is True  # the closing delimiter ends the response


@async_test()
async def test_a_variant_gone_since_it_was_listed_falls_back_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_bytes(b"plain")
    gone = [(tmp_path / "a.txt.gz", b"gzip")]
    monkeypatch.setattr(files_module, "precompressed_variants", lambda path: gone)
    exchange = RecordingExchange(headers=[(b"Accept-Encoding", b"gzip")])
    await send_file(as_exchange(exchange), tmp_path / "a.txt")
    assert exchange.calls == [("respond", 200, b"plain")]
    assert (b"vary", b"accept-encoding") in exchange.headers
    assert b"content-encoding" not in dict(exchange.headers)


@async_test()
async def test_send_open_file_takes_a_given_etag(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    exchange = RecordingExchange(headers=[(b"if-none-match", b'"v7"')])
    file, _ = open_file(tmp_path / "a")
    with file:
        await send_open_file(
            as_exchange(exchange),
            file,
            os.fstat(file.fileno()),
            content_type=b"x/y",
            etag=b'"v7"',
        )
    assert exchange.calls == [("respond", 304, b"")]
    assert (b"etag", b'"v7"') in exchange.headers


@async_test()
async def test_the_file_is_closed_when_sending_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    opened: list[Any] = []
    real_open_file = files_module.open_file

    def recording_open_file(path: Any) -> Any:
        file, file_stat = real_open_file(path)
        opened.append(file)
        return file, file_stat

    monkeypatch.setattr(files_module, "open_file", recording_open_file)
    exchange = RecordingExchange()

    def broken_respond(*args: object) -> None:
        raise ConnectionResetError("gone")

    monkeypatch.setattr(exchange, "respond", broken_respond)
    with pytest.raises(ConnectionResetError):
        await send_file(as_exchange(exchange), tmp_path / "a")
    assert [file.closed for file in opened] == [True]
