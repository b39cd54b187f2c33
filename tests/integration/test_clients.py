"""Other real clients against ketch: aiohttp's client and curl."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from typing import Any

import aiohttp
import pytest

from tests.support import async_test, collect_body, respond, serve

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers 'METHOD path sha256(body) client-port'."""
    if scope["type"] != "http":
        return
    body, _ = await collect_body(receive)
    digest = hashlib.sha256(body).hexdigest()[:16]
    text = f"{scope['method']} {scope['path']} {len(body)} {digest} {scope['client'][1]}"
    await respond(send, text.encode())


def expected(method: str, path: str, body: bytes) -> str:
    return f"{method} {path} {len(body)} {hashlib.sha256(body).hexdigest()[:16]}"


@async_test()
async def test_aiohttp_client_get_post_and_keep_alive() -> None:
    body = b"x" * 300_000
    async with serve(echo) as server, aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{server.port}"
        async with session.get(base + "/one") as first:
            first_text = await first.text()
        async with session.post(base + "/two", data=body) as second:
            second_text = await second.text()
            assert second.headers["server"] == "ketch"
    assert first_text.rsplit(" ", 1)[0] == expected("GET", "/one", b"")
    assert second_text.rsplit(" ", 1)[0] == expected("POST", "/two", body)
    assert first_text.rsplit(" ", 1)[1] == second_text.rsplit(" ", 1)[1]  # same connection


@async_test()
async def test_aiohttp_client_chunked_upload_and_streamed_download() -> None:
    async def pieces() -> Any:
        for _ in range(20):
            yield b"y" * 10_000

    async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, _ = await collect_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for start in range(0, len(body), 7000):
            chunk = body[start : start + 7000]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body"})

    async with (
        serve(stream) as server,
        aiohttp.ClientSession() as session,
        session.put(f"http://127.0.0.1:{server.port}/", data=pieces()) as response,
    ):
        content = await response.read()
    assert content == b"y" * 200_000


async def curl(*args: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        "curl",
        "--silent",
        "--show-error",
        "--http1.1",
        "--max-time",
        "10",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout, stderr


@needs_curl
@async_test()
async def test_curl_get_and_post() -> None:
    async with serve(echo) as server:
        url = f"http://127.0.0.1:{server.port}"
        code, out, err = await curl(url + "/curl")
        assert code == 0, err
        assert out.decode().rsplit(" ", 1)[0] == expected("GET", "/curl", b"")
        code, out, err = await curl("--data-binary", "hello curl", url + "/post")
        assert code == 0, err
        assert out.decode().rsplit(" ", 1)[0] == expected("POST", "/post", b"hello curl")


@needs_curl
@async_test()
async def test_curl_reuses_the_connection_for_two_urls() -> None:
    async with serve(echo) as server:
        url = f"http://127.0.0.1:{server.port}"
        code, out, err = await curl("--verbose", url + "/a", url + "/b")
    assert code == 0, err
    assert b"Re-using existing connection" in err or b"Reusing existing" in err
    assert out.count(b"GET /") == 2


@needs_curl
@async_test()
async def test_curl_chunked_upload_with_expect_100_continue() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: curl sends Expect: 100-continue
    async with serve(echo) as server:
        url = f"http://127.0.0.1:{server.port}/upload"
        process = await asyncio.create_subprocess_exec(
            "curl",
            "--silent",
            "--show-error",
            "--http1.1",
            "--max-time",
            "10",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            "@-",
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(body)
    assert process.returncode == 0, err
    assert out.decode().rsplit(" ", 1)[0] == expected("POST", "/upload", body)


@needs_curl
@async_test()
async def test_curl_head_request() -> None:
    async with serve(echo) as server:
        code, out, err = await curl("--head", f"http://127.0.0.1:{server.port}/")
    assert code == 0, err
    status_line, *lines = out.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    assert status_line == "HTTP/1.1 200 OK"
    assert int(headers["content-length"]) > 0
