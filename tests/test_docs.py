"""The Python examples in README.md and docs/ compile, and those that define an app serve it."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.support import RawClient, async_test, serve

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.fixture(autouse=True)
def in_a_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Examples run in a folder holding the ``site/`` they serve files from."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>hello</p>")
    (site / "app.js").write_text("console.log(1);")
    monkeypatch.chdir(tmp_path)


def examples() -> list[Any]:
    found = []
    for path in DOCS:
        for index, code in enumerate(BLOCK.findall(path.read_text(encoding="utf-8"))):
            found.append(pytest.param(code, id=f"{path.name}-{index}"))
    return found


@pytest.mark.parametrize("code", examples())
def test_python_example_compiles(code: str) -> None:
    compile(code, "<example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def runnable_apps() -> list[Any]:
    found = []
    for param in examples():
        code = param.values[0]
        if "async def app(" in code or "app = web.Application(" in code:
            found.append(pytest.param(code, id=param.id))
    return found


@pytest.mark.parametrize("code", runnable_apps())
@async_test()
async def test_example_app_answers_a_request(code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "example"}  # not __main__: ketch.run is not called
    exec(compile(code, "<example>", "exec"), namespace)
    path = "/static/" if 'web.static("/static"' in code else "/"
    async with serve(namespace["app"]) as server, await RawClient.connect(server.port) as client:
        response = await client.request("GET", path)
    assert response.status == 200
    assert response.body


def websocket_apps() -> list[Any]:
    return [p for p in runnable_apps() if "websocket" in p.values[0].lower()]


def test_the_websocket_examples_are_found() -> None:
    assert len(websocket_apps()) >= 2


@pytest.mark.parametrize("code", websocket_apps())
@async_test()
async def test_websocket_example_echoes(code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, "<example>", "exec"), namespace)
    async with (
        serve(namespace["app"]) as server,
        connect(f"ws://127.0.0.1:{server.port}/ws") as ws,
    ):
        await ws.send("text ✓")
        assert await ws.recv() == "text ✓"
        await ws.send(b"\x00bytes")
        assert await ws.recv() == b"\x00bytes"


def plain_examples() -> list[Any]:
    return [p for p in examples() if "async " not in p.values[0] and "await " not in p.values[0]]


@pytest.mark.parametrize("code", plain_examples())
def test_plain_example_runs(code: str) -> None:
    exec(compile(code, "<example>", "exec"), {"__name__": "example"})
