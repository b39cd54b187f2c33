"""A real browser (headless Chromium, over CDP) loads pages that ketch serves.

The pages come from a temporary directory through ``ketch.static.send_file``; the browser runs
their scripts and ``fetch``es more files, as a person's browser would.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest

from ketch.server import Config, Exchange, Server
from ketch.static import FileAccessError, resolve_under, send_file
from tests.support import async_test
from tests.support.browser import Browser, BrowserError, JavaScriptError, chromium_or_skip

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

DATA = {"greeting": "hello from ketch", "numbers": [1, 2, 3], "nested": {"ok": True}}

INDEX = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>ketch browser test</title></head>
<body>
<p id="status">loading</p>
<script>
  window.dataPromise = fetch("/data.json").then((response) => {
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  });
  window.dataPromise.then(() => { document.getElementById("status").textContent = "loaded"; });
  console.log("index.html ran");
</script>
</body>
</html>
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(INDEX, encoding="utf-8")
    (tmp_path / "data.json").write_text(json.dumps(DATA), encoding="utf-8")
    return tmp_path


def static_site(root: Path) -> Any:
    """Serve the files under `root`; ``/`` is ``/index.html``."""

    async def handler(exchange: Exchange) -> None:
        target = unquote(exchange.request.target.decode().partition("?")[0])
        path = resolve_under(root, "/index.html" if target == "/" else target)
        if path is None:
            exchange.respond(403, [], b"refused")
            return
        try:
            await send_file(exchange, path)
        except FileAccessError as exc:
            exchange.respond(exc.status, [], b"no such file")

    return handler


@asynccontextmanager
async def serving(root: Path) -> AsyncIterator[str]:
    """The site's base URL on 127.0.0.1, for the duration of the block."""
    config = Config(host="127.0.0.1", port=0, access_log=False)
    async with Server(static_site(root), config) as server:
        yield f"http://127.0.0.1:{server.port}/"


@async_test(timeout=45)
async def test_page_fetches_json(site: Path) -> None:
    async with serving(site) as url, Browser.launch() as browser:
        fetched = await browser.evaluate(url, "fetch('/data.json').then((r) => r.json())")
        assert fetched == DATA, browser.diagnostics()
        # The page's own script ran too: it fetched the same file and updated the document.
        assert await browser.run("window.dataPromise") == DATA, browser.diagnostics()
        assert await browser.run("document.getElementById('status').textContent") == "loaded"
        assert await browser.run("document.contentType") == "text/html"
        assert "console.log: index.html ran" in browser.console


@async_test(timeout=45)
async def test_javascript_errors_are_raised(site: Path) -> None:
    async with serving(site) as url, Browser.launch() as browser:
        with pytest.raises(JavaScriptError, match="Error: boom") as thrown:
            await browser.evaluate(url, "(() => { throw new Error('boom'); })()")
        assert thrown.value.text.startswith("Error: boom")
        assert url in str(thrown.value)  # the message says where...
        assert "index.html ran" in str(thrown.value)  # ...and what the page logged

        with pytest.raises(JavaScriptError, match="HTTP 404"):
            await browser.run(
                "fetch('/missing.json').then((r) => { throw new Error('HTTP ' + r.status); })"
            )
        with pytest.raises(JavaScriptError, match="Uncaught \\(in promise\\) plain"):
            await browser.run("Promise.reject('plain')")
        with pytest.raises(BrowserError, match="did not settle"):
            await browser.run("new Promise(() => {})", timeout=0.5)
        # The page still answers after all that.
        assert await browser.run("6 * 7") == 42


def test_missing_browser_skips_or_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        chromium_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no Chromium"):
        chromium_or_skip()
