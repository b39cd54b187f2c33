"""A broadcast chat: a page, and a WebSocket that relays every message to everyone connected.

python examples/chat.py            # then open http://127.0.0.1:8080/ in two browser tabs

Each browser joins with a name; what anyone types goes to everyone, as JSON
``{"from": name, "text": text}``.  Joins and leaves are announced the same way (``from`` is
``"*"``).  A slow reader cannot hold the others up: each message is sent to each socket in its
own task, and a socket that fails is dropped.
"""

import asyncio
import json
import os

from ketch import web

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>ketch chat</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
  #log { height: 20em; overflow-y: auto; border: 1px solid #ccc; padding: .5em; }
  #log p { margin: .2em 0; }
</style>
<h1>ketch chat</h1>
<div id="log"></div>
<form id="say"><input id="text" autocomplete="off" autofocus> <button>Send</button></form>
<script>
  const name = new URLSearchParams(location.search).get("name") || "guest";
  const log = document.getElementById("log");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?name=${encodeURIComponent(name)}`);
  window.chat = { socket, received: [] };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    window.chat.received.push(message);
    const line = document.createElement("p");
    line.textContent = `${message.from}: ${message.text}`;
    log.append(line);
    log.scrollTop = log.scrollHeight;
  };
  document.getElementById("say").onsubmit = (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (input.value) socket.send(input.value);
    input.value = "";
  };
</script>
"""

SOCKETS = web.AppKey("sockets", set)


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def broadcast(app: web.Application, sender: str, text: str) -> None:
    data = json.dumps({"from": sender, "text": text})
    sockets = list(app[SOCKETS])
    results = await asyncio.gather(*(ws.send_str(data) for ws in sockets), return_exceptions=True)
    for ws, result in zip(sockets, results, strict=True):
        if isinstance(result, Exception):
            app[SOCKETS].discard(ws)  # gone: its handler's loop ends on its own


async def chat(request: web.Request) -> web.WebSocketResponse:
    name = request.query.get("name", "guest")[:32]
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    app = request.app
    app[SOCKETS].add(ws)
    await broadcast(app, "*", f"{name} joined")
    try:
        async for message in ws:
            if message.type is web.WSMsgType.TEXT:
                await broadcast(app, name, message.data[:1000])
    finally:
        app[SOCKETS].discard(ws)
        await broadcast(app, "*", f"{name} left")
    return ws


def make_app() -> web.Application:
    app = web.Application()
    app[SOCKETS] = set()
    app.add_routes([web.get("/", page), web.get("/ws", chat)])
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
