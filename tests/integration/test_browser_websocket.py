"""WebSockets from a real browser: headless Chromium opens them from pages ketch serves."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

from websockets.asyncio.client import connect

from tests.support import async_test, serve
from tests.support.browser import Browser, chromium_or_skip
from tests.web.helpers import PYTHON, REPO, ScriptProcess

ECHO_PAGE = b"""<!doctype html>
<meta charset="utf-8">
<title>echo</title>
<script>
  window.echoed = new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${location.host}/ws`);
    socket.binaryType = "arraybuffer";
    const got = [];
    socket.onopen = () => {
      socket.send("hello");
      socket.send("h\\u00e9llo \\u{1F600}");
      socket.send(new Uint8Array([0, 1, 2, 255]));
      socket.send("x".repeat(200000));
    };
    socket.onmessage = (event) => {
      got.push(typeof event.data === "string"
        ? (event.data.length > 100 ? "long:" + event.data.length : event.data)
        : "bytes:" + Array.from(new Uint8Array(event.data)).join(","));
      if (got.length === 4) socket.close(1000, "done");
    };
    socket.onclose = (event) => resolve({ got, code: event.code, reason: event.reason,
                                          extensions: socket.extensions });
    socket.onerror = () => reject(new Error("WebSocket error"));
  });
</script>
"""


async def echo_site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/`` is the page, ``/ws`` echoes; the app hears the close code."""
    if scope["type"] == "http":
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": ECHO_PAGE})
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send(
                {"type": "websocket.send", **{k: v for k, v in message.items() if k != "type"}}
            )


@async_test(timeout=60)
async def test_a_page_echoes_text_and_bytes_over_a_websocket() -> None:
    executable = chromium_or_skip()
    async with serve(echo_site) as server, Browser.launch(executable) as browser:
        result = await browser.evaluate(f"http://127.0.0.1:{server.port}/", "window.echoed")
    assert result["got"] == ["hello", "héllo 😀", "bytes:0,1,2,255", "long:200000"]
    assert result["code"] == 1000
    assert result["reason"] == "done"
    assert "permessage-deflate" in result["extensions"]  # Chromium offers it, ketch takes it


@async_test(timeout=60)
async def test_the_chat_example_relays_between_a_browser_and_another_client() -> None:
    executable = chromium_or_skip()
    with ScriptProcess([PYTHON, str(REPO / "examples" / "chat.py")], env={"PORT": "0"}) as proc:
        url = proc.wait_running()
        async with Browser.launch(executable) as browser:
            await browser.navigate(f"{url}/?name=ann")
            await browser.run(
                "new Promise((resolve) => window.chat.socket.readyState === 1 ? resolve()"
                " : window.chat.socket.addEventListener('open', () => resolve()))"
            )
            ws_url = url.replace("http://", "ws://") + "/ws?name=bob"
            async with connect(ws_url) as bob:
                assert json.loads(await bob.recv()) == {"from": "*", "text": "bob joined"}
                await browser.run(
                    "document.getElementById('text').value = 'hi bob';"
                    "document.querySelector('#say button').click()"
                )
                assert json.loads(await bob.recv()) == {"from": "ann", "text": "hi bob"}
                await bob.send("hi ann")
                assert json.loads(await bob.recv()) == {"from": "bob", "text": "hi ann"}
                received: list[dict[str, str]] = []
                for _ in range(100):
                    received = await browser.run("window.chat.received")
                    if {"from": "bob", "text": "hi ann"} in received:
                        break
                    await asyncio.sleep(0.05)
                log = await browser.run("document.getElementById('log').textContent")
        proc.stop(signal.SIGTERM)
    assert received == [
        {"from": "*", "text": "ann joined"},
        {"from": "*", "text": "bob joined"},
        {"from": "ann", "text": "hi bob"},
        {"from": "bob", "text": "hi ann"},
    ]
    assert "bob: hi ann" in log
