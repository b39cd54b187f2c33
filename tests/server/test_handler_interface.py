"""The server's handler interface, used directly (no ASGI): what a front door can rely on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from ketch.server import Config, Exchange, Server
from tests.support import RawClient, async_test

Handler = Callable[[Exchange], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler, **settings: object) -> AsyncIterator[Server]:
    config = Config(host="127.0.0.1", port=0, access_log=False, **settings)  # type: ignore[arg-type]
    async with Server(handler, config) as server:  # type: ignore[arg-type]
        yield server


@async_test()
async def test_respond_writes_a_whole_response() -> None:
    async def handler(exchange: Exchange) -> None:
        exchange.respond(200, [(b"content-type", b"text/plain")], b"native")

    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
    assert response.status == 200
    assert response.body == b"native"


@async_test()
async def test_streaming_with_trailers_and_an_early_hint() -> None:
    async def handler(exchange: Exchange) -> None:
        exchange.informational(103, [(b"link", b"</a.css>; rel=preload")])
        exchange.start(200, [(b"trailer", b"x-checksum")])
        await exchange.write(b"part 1, ")
        await exchange.write(b"part 2")
        await exchange.end([(b"x-checksum", b"abc")])

    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
    assert [hint.status_code for hint in response.informational] == [103]
    assert response.header(b"transfer-encoding") == b"chunked"
    assert response.body == b"part 1, part 2"
    assert response.trailers == [(b"x-checksum", b"abc")]


@async_test()
async def test_misusing_the_exchange_raises_in_the_handler() -> None:
    errors: list[str] = []

    async def handler(exchange: Exchange) -> None:
        try:
            await exchange.write(b"too early")
        except RuntimeError as exc:
            errors.append(str(exc))
        exchange.respond(200, [], b"ok")
        try:
            exchange.start(200, [])
        except RuntimeError as exc:
            errors.append(str(exc))

    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", "/")
    assert response.body == b"ok"
    assert errors == ["write() before start()", "response already started"]


@async_test()
async def test_an_unread_small_body_is_discarded_and_the_connection_reused() -> None:
    async def handler(exchange: Exchange) -> None:
        exchange.respond(200, [], exchange.request.target)

    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        first = await client.request("POST", "/first", body=b"x" * 100_000)
        second = await client.request("GET", "/second")
    assert (first.body, second.body) == (b"/first", b"/second")


@async_test()
async def test_an_unread_body_past_the_drain_limit_closes_the_connection() -> None:
    async def handler(exchange: Exchange) -> None:
        exchange.respond(200, [], b"early answer")

    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n"
        await client.send(head)
        response = await client.response()
        assert response.body == b"early answer"
        refused = await send_until_refused(client)  # the server closes past 256 KiB unread
        assert isinstance(refused, OSError)
        await client.assert_closed()


async def send_until_refused(client: RawClient) -> OSError | None:
    for _ in range(100):
        try:
            await client.send(b"y" * 65536)
        except OSError as exc:
            return exc
        await asyncio.sleep(0)
    return None


@async_test()
async def test_a_client_still_sending_gets_the_whole_431_before_the_close() -> None:
    async def handler(exchange: Exchange) -> None:
        exchange.respond(200, [], b"never")

    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ")
        # Keep sending past the head limit: ketch answers 431, then reads and drops the rest
        # instead of resetting the connection under the answer.
        for _ in range(8):
            try:
                await client.send(b"a" * 16384)
            except OSError:
                break
        response = await client.response()
        assert response.status == 431
        assert response.header(b"connection") == b"close"
        await client.assert_closed()


@async_test()
async def test_pipelined_responses_past_the_batch_limit_stay_whole_and_in_order() -> None:
    async def handler(exchange: Exchange) -> None:
        index = exchange.request.target[1:]
        exchange.respond(200, [], index + b":" + b"z" * 2000)

    count = 120  # about 240 KiB of responses: several sends of batched responses
    async with serving(handler) as server, await RawClient.connect(server.port) as client:
        await client.send(
            b"".join(b"GET /%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(count))
        )
        bodies = [(await client.response()).body for _ in range(count)]
    assert [body.split(b":")[0] for body in bodies] == [b"%d" % i for i in range(count)]
    assert all(len(body) == len(b"%d" % i) + 2001 for i, body in enumerate(bodies))
