"""Application code subclasses ketch.web's public classes, as it does aiohttp's.

In the compiled build these classes are mypyc extension classes; they are marked to accept
subclasses written in Python, and this module is the proof: it runs against both builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ketch import web
from tests.support import async_test

from .helpers import served

if TYPE_CHECKING:
    from pathlib import Path


class TextResponse(web.Response):
    """A response with its own constructor and an extra attribute."""

    def __init__(self, text: str, **kwargs: Any) -> None:
        super().__init__(text=text.upper(), content_type="text/x-shout", **kwargs)
        self.original = text


class CountingStream(web.StreamResponse):
    """A streamed response whose `write` is overridden to count the chunks."""

    chunks = 0

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        self.chunks += 1
        await super().write(data)


class TaggedFile(web.FileResponse):
    async def prepare(self, request: web.BaseRequest) -> Any:
        self.headers["X-Tagged"] = "yes"
        return await super().prepare(request)


class Routes(web.RouteTableDef):
    """A route table that records the paths registered through it."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def get(self, path: str, **kwargs: Any) -> Any:
        self.paths.append(path)
        return super().get(path, **kwargs)


@async_test()
async def test_subclasses_of_the_response_classes_serve_and_keep_their_overrides(
    tmp_path: Path,
) -> None:
    (tmp_path / "f.txt").write_bytes(b"file body")
    routes = Routes()
    streams: list[CountingStream] = []

    @routes.get("/text")
    async def text(request: web.Request) -> web.StreamResponse:
        response = TextResponse("hello")
        assert response.original == "hello"
        return response

    @routes.get("/stream")
    async def stream(request: web.Request) -> web.StreamResponse:
        response = CountingStream()
        streams.append(response)
        await response.prepare(request)
        for part in (b"a", b"b", b"c"):
            await response.write(part)
        await response.write_eof()
        return response

    @routes.get("/file")
    async def file(request: web.Request) -> web.StreamResponse:
        return TaggedFile(tmp_path / "f.txt")

    app = web.Application()
    app.add_routes(routes)
    assert routes.paths == ["/text", "/stream", "/file"]
    async with served(app) as (client, _):
        text_reply = await client.get("/text")
        stream_reply = await client.get("/stream")
        file_reply = await client.get("/file")
    assert text_reply.text == "HELLO"
    assert text_reply.headers["content-type"].startswith("text/x-shout")
    assert stream_reply.content == b"abc"
    assert streams[0].chunks == 3
    assert file_reply.content == b"file body"
    assert file_reply.headers["x-tagged"] == "yes"
