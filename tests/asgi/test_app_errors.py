"""What the client sees, and what is logged, when the application misbehaves."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from tests.support import IncompleteResponse, RawClient, async_test, respond, serve


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ketch.error" and r.levelno >= logging.ERROR]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None]


async def get_raw(app: Any, request: bytes = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") -> Any:
    """Serve `app`, send one request; returns the parsed response (the server closes after)."""
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(request)
        response = await client.response()
        await client.assert_closed()
        return response


def assert_500(response: Any) -> None:
    assert response.status == 500
    assert response.header(b"connection") == b"close"
    assert response.body == b"Internal Server Error\n"


@async_test()
async def test_app_raising_before_the_response_gives_500_and_one_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raise ValueError("boom")

    assert_500(await get_raw(app))
    (record,) = tracebacks(caplog)
    assert record.name == "ketch.error"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert "GET /" in record.getMessage()
    assert len(error_records(caplog)) == 1


@async_test()
async def test_app_raising_after_awaiting_gives_500(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await asyncio.sleep(0.01)  # no longer running eagerly: inside a Task
        raise ValueError("boom")

    assert_500(await get_raw(app))
    assert len(tracebacks(caplog)) == 1


@async_test()
async def test_app_raising_after_response_start_before_any_body_still_gives_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
        raise ValueError("boom")

    response = await get_raw(app)
    assert_500(response)
    assert response.header(b"x-a") is None  # the app's head was never written
    assert len(tracebacks(caplog)) == 1


@async_test()
async def test_app_raising_mid_body_closes_and_the_client_sees_an_incomplete_chunked_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("boom")

    async with serve(app) as server, httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"http://127.0.0.1:{server.port}/")
    assert len(tracebacks(caplog)) == 1


@async_test()
async def test_app_raising_mid_body_with_content_length_leaves_the_body_short() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", b"100")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x" * 40, "more_body": True})
        raise ValueError("boom")

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(IncompleteResponse):
            await client.response()
    async with serve(app) as server, httpx.AsyncClient() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"http://127.0.0.1:{server.port}/")


@async_test()
async def test_app_returning_without_a_response_gives_500_and_an_error_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        return

    assert_500(await get_raw(app))
    records = error_records(caplog)
    assert len(records) == 1
    assert "without starting a response" in records[0].getMessage()


@async_test()
async def test_app_returning_after_response_start_only_gives_500() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})

    assert_500(await get_raw(app))


@async_test()
async def test_app_returning_mid_stream_closes_the_connection() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(IncompleteResponse):
            await client.response()


@pytest.mark.parametrize(
    "headers",
    [
        [(b"x-evil", b"a\r\nb")],
        [(b"x-evil", b"a\nset-cookie: owned=1")],
        [(b"x-evil\r\nset-cookie", b"owned=1")],
        [(b"x-evil", b"nul\x00byte")],
        [(b"bad name", b"v")],
    ],
    ids=["crlf-value", "lf-value", "crlf-name", "nul-value", "space-in-name"],
)
@async_test()
async def test_invalid_header_from_the_app_gives_500_and_nothing_is_injected(
    headers: list[tuple[bytes, bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    raised: list[BaseException] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"never"})
        except Exception as exc:
            raised.append(exc)
            raise

    response = await get_raw(app)
    assert_500(response)
    assert response.names == {b"content-type", b"connection", b"content-length", b"date", b"server"}
    assert len(raised) == 1  # one of the app's own sends raised
    assert len(tracebacks(caplog)) == 1


@async_test()
async def test_invalid_trailer_from_the_app_is_never_written() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        start = {"type": "http.response.start", "status": 200, "headers": [], "trailers": True}
        await send(start)
        await send({"type": "http.response.body", "body": b"data"})
        await send({"type": "http.response.trailers", "headers": [(b"x-t", b"a\r\nx-evil: 1")]})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(IncompleteResponse):
            await client.response()


@pytest.mark.parametrize(
    "messages",
    [
        [{"type": "http.response.body", "body": b"x"}],
        [
            {"type": "http.response.start", "status": 200, "headers": []},
            {"type": "http.response.start", "status": 200, "headers": []},
        ],
        [{"type": "http.response.trailers", "headers": []}],
        [{"type": "websocket.accept"}],
    ],
    ids=["body-before-start", "start-twice", "trailers-first", "unknown-type"],
)
@async_test()
async def test_wrong_message_order_gives_500(
    messages: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for message in messages:
            await send(message)

    assert_500(await get_raw(app))
    (record,) = tracebacks(caplog)
    assert isinstance(record.exc_info and record.exc_info[1], RuntimeError)


@async_test()
async def test_message_after_the_response_completed_raises_in_the_app() -> None:
    raised: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"ok")
        try:
            await send({"type": "http.response.body", "body": b"extra"})
        except Exception as exc:
            raised.set_result(exc)
        else:
            raised.set_result(None)

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        assert (await client.request()).body == b"ok"
        assert isinstance(await asyncio.wait_for(raised, 5), RuntimeError)
        assert (await client.request()).body == b"ok"  # nothing extra on the wire


@async_test()
async def test_body_longer_than_content_length_in_one_message_gives_500() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"0123456789", headers=[(b"content-length", b"5")])

    assert_500(await get_raw(app))


@async_test()
async def test_body_on_a_204_in_one_message_gives_500() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"0123456789", status=204, headers=[])

    assert_500(await get_raw(app))


@async_test()
async def test_body_the_framing_refuses_after_the_head_was_written_closes_the_connection() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", b"5")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"0123", "more_body": True})
        await send({"type": "http.response.body", "body": b"456789"})

    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(IncompleteResponse):
            await client.response()


@async_test()
async def test_server_keeps_serving_after_an_app_error() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/fail":
            raise RuntimeError("boom")
        await respond(send, b"fine")

    async with serve(app) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}"
        assert (await client.get(url + "/fail")).status_code == 500
        assert (await client.get(url + "/ok")).text == "fine"


@async_test()
async def test_app_error_traceback_is_logged_once_even_with_more_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raise KeyError("missing")

    async with serve(app) as server, httpx.AsyncClient() as client:
        for _ in range(3):
            assert (await client.get(f"http://127.0.0.1:{server.port}/")).status_code == 500
    assert len(tracebacks(caplog)) == 3
    assert all(r.name == "ketch.error" for r in tracebacks(caplog))
