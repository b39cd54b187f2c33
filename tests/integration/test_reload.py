"""``ketch --reload``: edits are served, a broken edit keeps the last good code serving."""

from __future__ import annotations

import importlib.util
import re
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from ketch.errors import KetchError
from ketch.server import reload
from ketch.server.reload import ReloadFilter
from tests.support import KetchProcess

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("watchfiles") is None, reason="watchfiles is not installed"
)

APP = """\
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": {body!r}}})
"""
RELOADED = re.compile(r"Worker 0 replaced \(reload\)")


def write_app(directory: Path, body: bytes, extra: str = "") -> None:
    (directory / "webapp.py").write_text(APP.format(body=body) + extra)


def wait_for_body(url: str, expected: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (body := httpx.get(url).text) != expected:
        assert time.monotonic() < deadline, f"still {body!r}, not {expected!r}"
        time.sleep(0.05)


def logged(process: KetchProcess, pattern: str, timeout: float = 30) -> None:
    """Wait until some stderr line so far matches `pattern` (in any order with others)."""
    deadline = time.monotonic() + timeout
    while not any(re.search(pattern, line) for line in process.stderr):
        assert time.monotonic() < deadline, f"no {pattern!r} in {process.stderr}"
        time.sleep(0.05)


def reloading(directory: Path, *args: str) -> KetchProcess:
    return KetchProcess(
        "webapp:app",
        "--app-dir",
        str(directory),
        "--reload",
        "--reload-dir",
        str(directory),
        "--port",
        "0",
        "--no-access-log",
        *args,
    )


def test_an_edit_is_served_and_a_broken_edit_keeps_the_last_good_code(tmp_path: Path) -> None:
    write_app(tmp_path, b"one")
    with reloading(tmp_path) as process:
        url = process.wait_serving(timeout=30)
        assert httpx.get(url).text == "one"
        # Same size, likely the same second: a cached .pyc must not pass for the new source.
        write_app(tmp_path, b"two")
        wait_for_body(url, "two")
        write_app(tmp_path, b"three", extra="def broken(:\n")
        process.wait_for_line(re.compile("Reload failed: .*SyntaxError.*still serving the last"))
        assert httpx.get(url).text == "two"
        write_app(tmp_path, b"four")
        wait_for_body(url, "four")
        assert process.stop() == 0
    assert any("SyntaxError: invalid syntax" in line for line in process.stderr)  # traceback


def test_excluded_files_do_not_reload_and_included_globs_do(tmp_path: Path) -> None:
    write_app(tmp_path, b"one")
    (tmp_path / "templates").mkdir()
    with reloading(tmp_path, "--reload-include", "*.html", "--reload-exclude", "scratch*") as p:
        url = p.wait_serving(timeout=30)
        (tmp_path / "notes.txt").write_text("not a source file\n")
        (tmp_path / "scratch.py").write_text("x = 1\n")
        (tmp_path / ".hidden.py").write_text("x = 1\n")
        (tmp_path / "templates" / "page.html").write_text("<p>included</p>\n")
        changed = p.wait_for_line(re.compile(r"Changed: (.*); reloading"))
        assert changed[1].endswith("page.html"), changed[1]
        p.wait_for_line(RELOADED)
        assert httpx.get(url).text == "one"
        assert p.stop() == 0
    assert sum("Changed:" in line for line in p.stderr) == 1, p.stderr


def test_a_broken_app_at_start_waits_for_a_fix(tmp_path: Path) -> None:
    write_app(tmp_path, b"one", extra="import no_such_module_for_ketch\n")
    with reloading(tmp_path) as process:
        logged(process, "could not start: .*waiting for a change")
        logged(process, "Watching for changes in ")
        write_app(tmp_path, b"fixed")
        url = process.wait_serving(timeout=30)
        wait_for_body(url, "fixed")
        assert process.stop() == 0


def test_reload_filter_globs() -> None:
    accept = ReloadFilter(["/src"], include=["*.html", "conf/*.toml"], exclude=["skip_*"])
    assert accept.matches("/src/app/main.py")
    assert accept.matches("/src/templates/index.html")
    assert accept.matches("/src/conf/ketch.toml")
    assert not accept.matches("/src/other/ketch.toml")
    assert not accept.matches("/src/notes.txt")
    assert not accept.matches("/src/skip_me.py")
    assert not accept.matches("/src/.venv/lib/site.py")
    assert not accept.matches("/src/venv/lib/site.py")
    assert not accept.matches("/src/app/__pycache__/main.cpython-311.pyc")
    assert not accept.matches("/src/.#main.py")
    # A default exclude given as an include is dropped: dotfiles can be watched on purpose.
    assert ReloadFilter(["/src"], include=[".*"]).matches("/src/.env")


def test_reload_without_watchfiles_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(KetchError, match=r"pip install 'ketch\[reload\]'"):
        reload.require_watchfiles()
