"""Starlette and FastAPI WebSocket endpoints on ketch, with real clients."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect, WebSocketException, status
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support import async_test, serve

if TYPE_CHECKING:
    from starlette.websockets import WebSocket as StarletteWebSocket


def make_fastapi(disconnects: list[int]) -> FastAPI:
    app = FastAPI()

    @app.websocket("/echo/{room}")
    async def echo(websocket: WebSocket, room: str, token: str | None = None) -> None:
        if token != "secret":
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
        await websocket.accept(subprotocol="chat")
        await websocket.send_json({"room": room, "hello": True})
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"{room}: {text}")
        except WebSocketDisconnect as exc:
            disconnects.append(exc.code)

    @app.websocket("/count")
    async def count(websocket: WebSocket) -> None:
        await websocket.accept()
        data = await websocket.receive_bytes()
        await websocket.send_bytes(len(data).to_bytes(4, "big"))
        await websocket.close(code=4000, reason="counted")

    return app


@async_test()
async def test_fastapi_websocket_endpoint_with_the_websockets_client() -> None:
    disconnects: list[int] = []
    async with serve(make_fastapi(disconnects)) as server:
        uri = f"ws://127.0.0.1:{server.port}/echo/lobby?token=secret"
        async with connect(uri, subprotocols=["chat"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "chat"
            assert await ws.recv() == '{"room":"lobby","hello":true}'
            await ws.send("hi")
            assert await ws.recv() == "lobby: hi"
            await ws.close(code=1000)
        for _ in range(100):
            if disconnects:
                break
            await asyncio.sleep(0.01)
    assert disconnects == [1000]


@async_test()
async def test_fastapi_websocket_exception_before_accept_is_a_403() -> None:
    async with serve(make_fastapi([])) as server:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(f"ws://127.0.0.1:{server.port}/echo/lobby?token=wrong"):
                pass
    assert caught.value.response.status_code == 403


@async_test()
async def test_fastapi_websocket_close_code_with_the_aiohttp_client() -> None:
    async with (
        serve(make_fastapi([])) as server,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{server.port}/count") as ws,
    ):
        await ws.send_bytes(b"x" * 70_000)
        assert await ws.receive_bytes() == (70_000).to_bytes(4, "big")
        message = await ws.receive()
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (4000, "counted")


@async_test()
async def test_a_missing_websocket_route_is_a_403() -> None:
    async with serve(make_fastapi([])) as server:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(f"ws://127.0.0.1:{server.port}/nowhere"):
                pass
    assert caught.value.response.status_code == 403


@async_test()
async def test_starlette_websocket_route_and_denial_response() -> None:
    async def chat(websocket: StarletteWebSocket) -> None:
        if websocket.query_params.get("user") is None:
            # Starlette's send_denial_response uses the websocket.http.response extension.
            from starlette.responses import PlainTextResponse

            await websocket.send_denial_response(PlainTextResponse("who are you?", status_code=401))
            return
        await websocket.accept()
        async for message in websocket.iter_text():
            await websocket.send_text(message.upper())

    app = Starlette(routes=[WebSocketRoute("/chat", chat)])
    async with (
        serve(app) as server,
        connect(f"ws://127.0.0.1:{server.port}/chat?user=ann") as ws,
    ):
        await ws.send("shout")
        assert await ws.recv() == "SHOUT"
        with pytest.raises(InvalidStatus) as caught:
            async with connect(f"ws://127.0.0.1:{server.port}/chat"):
                pass
    assert caught.value.response.status_code == 401
    assert caught.value.response.body == b"who are you?"
