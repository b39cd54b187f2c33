"""Application interfaces: ASGI 3 callables of every shape, ASGI 2 classes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import async_test, respond, serve


class ASGI2App:
    """An ASGI 2 application: constructed with the scope, then called with receive/send."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    async def __call__(self, receive: Any, send: Any) -> None:
        if self.scope["type"] != "http":
            return
        await respond(send, f"asgi2 {self.scope['path']}".encode())


class ASGI3Instance:
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await respond(send, b"asgi3 instance")


async def asgi3_function(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await respond(send, b"asgi3 function")


async def get(app: Any, path: str = "/", **settings: Any) -> httpx.Response:
    async with serve(app, **settings) as server, httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{server.port}{path}")


@async_test()
async def test_asgi2_class_taking_the_scope_in_init_is_served() -> None:
    assert (await get(ASGI2App, "/two")).text == "asgi2 /two"


@async_test()
async def test_asgi2_forced_with_interface_setting() -> None:
    assert (await get(ASGI2App, "/forced", interface="asgi2")).text == "asgi2 /forced"


@pytest.mark.parametrize(
    ("app", "text"),
    [(asgi3_function, "asgi3 function"), (ASGI3Instance(), "asgi3 instance")],
    ids=["function", "instance-with-async-call"],
)
@async_test()
async def test_asgi3_callables_are_served(app: Any, text: str) -> None:
    assert (await get(app)).text == text
