"""Server-sent events with a StreamResponse: a clock that ticks every second.

python examples/stream.py
curl -N localhost:8080/clock?count=3
"""

import asyncio
import datetime
import os

from ketch import web


async def clock(request: web.Request) -> web.StreamResponse:
    count = int(request.query.get("count", "10"))
    interval = float(request.query.get("interval", "1"))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    for n in range(count):
        now = datetime.datetime.now(datetime.UTC).isoformat()
        # write() waits while the client is not reading: a slow client holds no growing buffer.
        await response.write(f"id: {n}\nevent: tick\ndata: {now}\n\n".encode())
        if n + 1 < count:
            await asyncio.sleep(interval)
    await response.write_eof()
    return response


app = web.Application()
app.add_routes([web.get("/clock", clock)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
