"""File responses: ``http.response.pathsend`` and ``http.response.zerocopysend`` (sendfile)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support import RawClient, async_test, serve

if TYPE_CHECKING:
    from pathlib import Path

FILE_DATA = os.urandom(1024 * 1024 + 17)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_pathsend_sends_the_whole_file(tmp_path: Path, loop: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", str(len(FILE_DATA)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": str(path)})

    async with serve(app) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/"
        first = await client.get(url)
        second = await client.get(url)  # and the connection is reusable
    assert first.content == FILE_DATA
    assert second.content == FILE_DATA


@async_test()
async def test_pathsend_without_content_length_is_chunked_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA[:100_000])

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(path)})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.body == FILE_DATA[:100_000]
        assert (await client.request()).status == 200


@pytest.mark.parametrize("as_fd", [False, True], ids=["file-object", "fd"])
@async_test()
async def test_zerocopysend_sends_the_file_from_its_position(tmp_path: Path, as_fd: bool) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local test file
            headers = [(b"content-length", str(len(FILE_DATA)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send(
                {"type": "http.response.zerocopysend", "file": file.fileno() if as_fd else file}
            )

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.content == FILE_DATA


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("as_fd", [False, True], ids=["file-object", "fd"])
@async_test()
async def test_zerocopysend_with_offset_and_count_sends_that_slice(
    tmp_path: Path, as_fd: bool, loop: str
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)
    offset, count = 1000, 300_000

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local test file
            headers = [(b"content-length", str(count).encode())]
            await send({"type": "http.response.start", "status": 206, "headers": headers})
            await send(
                {
                    "type": "http.response.zerocopysend",
                    "file": file.fileno() if as_fd else file,
                    "offset": offset,
                    "count": count,
                }
            )

    async with serve(app) as server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
        again = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.status_code == 206
    assert response.content == FILE_DATA[offset : offset + count]
    assert again.content == response.content


@async_test()
async def test_zerocopysend_in_several_messages_with_more_body(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local test file
            await send({"type": "http.response.start", "status": 200, "headers": []})
            message = {"type": "http.response.zerocopysend", "file": file}
            await send({**message, "offset": 0, "count": 10, "more_body": True})
            await send({**message, "offset": 500, "count": 10})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.body == FILE_DATA[0:10] + FILE_DATA[500:510]
        assert (await client.request()).status == 200


BIG_FILE = bytes(range(256)) * 65536  # 16 MiB: more than the socket buffers hold


async def send_big_file(scope: dict[str, Any], receive: Any, send: Any, path: Path) -> None:
    headers = [(b"content-length", str(len(BIG_FILE)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.pathsend", "path": str(path)})


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_pathsend_to_a_slow_reader_waits_and_arrives_intact(
    tmp_path: Path, loop: str
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(BIG_FILE)
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send_big_file(scope, receive, send, path)
        done.set()

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await asyncio.sleep(0.2)
        assert not done.is_set()
        response = await client.response()
        assert response.body == BIG_FILE
        assert (await client.request()).status == 200  # framing intact: next response parses


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@async_test()
async def test_pathsend_to_a_client_that_leaves_raises_an_oserror_in_the_app(
    tmp_path: Path, loop: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(BIG_FILE)
    outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            await send_big_file(scope, receive, send, path)
        except BaseException as exc:
            outcome.set_result(exc)
            raise
        outcome.set_result(None)

    async with serve(app) as server:
        client = await RawClient.connect(server.port)
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await client.reader.readexactly(100_000)
        client.reset()
        exc = await asyncio.wait_for(outcome, 5)
        await client.close()
        await asyncio.sleep(0.05)
    assert isinstance(exc, OSError)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@async_test()
async def test_pathsend_answering_head_writes_no_body(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(FILE_DATA)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", str(len(FILE_DATA)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": str(path)})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        head = await client.request("HEAD")
        assert head.header(b"content-length") == str(len(FILE_DATA)).encode()
        assert head.body == b""
        assert (await client.request("GET")).body == FILE_DATA


@async_test()
async def test_body_after_a_zerocopysend_with_more_body_follows_the_file_bytes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)
    total = len(FILE_DATA) + 5

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local test file
            headers = [(b"content-length", str(total).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"<", "more_body": True})
            await send({"type": "http.response.zerocopysend", "file": file, "more_body": True})
            await send({"type": "http.response.body", "body": b"tail"})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        response = await client.request()
        assert response.body == b"<" + FILE_DATA + b"tail"
        assert (await client.request()).status == 200
