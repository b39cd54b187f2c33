"""``--interface``: ketch.web applications, ASGI 3 and 2 apps and the static-file server, detected
or forced, with one-line errors for a mismatch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support import KetchProcess, run_ketch

if TYPE_CHECKING:
    from pathlib import Path

WEB_APP = """
from ketch import web

async def hello(request):
    return web.Response(text="native " + request.path)

app = web.Application()
app.router.add_get("/{tail:.*}", hello)
"""

ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": ("asgi " + scope["path"]).encode()})

class Legacy:  # ASGI 2
    def __init__(self, scope):
        self.scope = scope

    async def __call__(self, receive, send):
        await app(self.scope, receive, send)

not_an_app = 42
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "webapp.py").write_text(WEB_APP)
    (tmp_path / "asgiapp.py").write_text(ASGI_APP)
    (tmp_path / "index.html").write_text("<p>static</p>")
    return tmp_path


def get(process: KetchProcess, path: str) -> str:
    return httpx.get(f"http://127.0.0.1:{process.port()}{path}", timeout=10).text


@pytest.mark.parametrize(
    ("app", "args", "path", "expected"),
    [
        ("webapp:app", [], "/a", "native /a"),
        ("webapp:app", ["--interface", "native"], "/b", "native /b"),
        ("asgiapp:app", [], "/c", "asgi /c"),
        ("asgiapp:app", ["--interface", "asgi"], "/d", "asgi /d"),
        ("asgiapp:app", ["--interface", "asgi3"], "/e", "asgi /e"),
        ("asgiapp:Legacy", [], "/f", "asgi /f"),
        ("asgiapp:Legacy", ["--interface", "asgi2"], "/g", "asgi /g"),
        ("asgiapp:app", ["--root-path", "/api"], "/h", "asgi /api/h"),
    ],
)
def test_interfaces_serve(
    app_dir: Path, app: str, args: list[str], path: str, expected: str
) -> None:
    with KetchProcess(app, "--app-dir", str(app_dir), "--port", "0", *args) as process:
        assert get(process, path) == expected


def test_static_files_with_interface_asgi_use_their_asgi_side(app_dir: Path) -> None:
    with KetchProcess("--root", str(app_dir), "--interface", "asgi", "--port", "0") as process:
        assert get(process, "/") == "<p>static</p>"


@pytest.mark.parametrize(
    ("app", "interface", "message"),
    [
        ("asgiapp:app", "native", "is not a ketch.web application (--interface native)"),
        ("webapp:app", "asgi", "is a ketch.web application, not an ASGI one"),
        ("asgiapp:not_an_app", "auto", "is not an ASGI application: it is not callable"),
    ],
)
def test_interface_mismatch_is_one_line(
    app_dir: Path, app: str, interface: str, message: str
) -> None:
    result = run_ketch(app, "--app-dir", str(app_dir), "--interface", interface, "--port", "0")
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ketch: error: ")
    assert message in lines[0]


def test_import_error_traceback_only_at_debug(app_dir: Path) -> None:
    (app_dir / "broken.py").write_text("import math\nmath.nothing_here\n")
    quiet = run_ketch("broken:app", "--app-dir", str(app_dir))
    assert quiet.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert "nothing_here" in quiet.stderr
    loud = run_ketch("broken:app", "--app-dir", str(app_dir), "--log-level", "debug")
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr
    assert 'broken.py", line 2' in loud.stderr
