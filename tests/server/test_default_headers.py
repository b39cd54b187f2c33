"""The server and date headers ketch adds, and the settings that remove them."""

from __future__ import annotations

import email.utils
import time
from typing import Any

from tests.support import KetchProcess, RawClient, async_test, respond, serve


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain")]
    if scope["path"] == "/own-date":
        headers.append((b"date", b"Wed, 21 Oct 2015 07:28:00 GMT"))
    await respond(send, b"ok", headers=headers)


async def get(path: str = "/", **settings: Any) -> Any:
    async with serve(app, **settings) as server, await RawClient.connect(server.port) as client:
        return await client.request("GET", path)


@async_test()
async def test_server_and_date_headers_are_sent_by_default() -> None:
    response = await get()
    assert response.header(b"server") == b"ketch"
    date = response.header(b"date")
    assert date is not None
    parsed = email.utils.parsedate_to_datetime(date.decode())
    assert parsed.tzname() == "UTC"
    assert abs(parsed.timestamp() - time.time()) < 5


@async_test()
async def test_server_header_can_be_turned_off() -> None:
    response = await get(server_header=False)
    assert response.header(b"server") is None
    assert response.header(b"date") is not None


@async_test()
async def test_date_header_can_be_turned_off() -> None:
    response = await get(date_header=False)
    assert response.header(b"date") is None
    assert response.header(b"server") == b"ketch"


@async_test()
async def test_app_date_header_is_kept_and_not_duplicated() -> None:
    response = await get("/own-date")
    assert response.header_values(b"date") == [b"Wed, 21 Oct 2015 07:28:00 GMT"]


@async_test()
async def test_server_header_is_on_error_responses_too() -> None:
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\n\r\n")
        response = await client.response()
    assert response.status == 400
    assert response.header(b"server") == b"ketch"
    assert response.header(b"date") is not None


def test_cli_flags_remove_the_server_and_date_headers() -> None:
    import httpx

    with KetchProcess(
        "tests.support.apps:hello", "--port", "0", "--no-server-header", "--no-date-header"
    ) as process:
        port = process.port()
        response = httpx.get(f"http://127.0.0.1:{port}/")
        assert process.stop() == 0
    assert response.text == "hello"
    assert "server" not in response.headers
    assert "date" not in response.headers
