"""Every program in examples/ runs and answers over real sockets; so does the echo app under
the ``ketch`` command."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from typing import TYPE_CHECKING

import httpx

from tests.support import KetchProcess

from .helpers import PYTHON, REPO, ScriptProcess, free_port, wait_answering

if TYPE_CHECKING:
    from pathlib import Path

EXAMPLES = REPO / "examples"


def run_example(name: str, **env: str) -> ScriptProcess:
    return ScriptProcess([PYTHON, str(EXAMPLES / name)], env={"PORT": "0", **env})


def test_hello_example_answers_hello(tmp_path: Path) -> None:
    source = (EXAMPLES / "hello.py").read_text()
    lines = source.rstrip("\n").split("\n")
    assert lines[-1] == "asyncio.run(main('127.0.0.1', 8080))"
    port = free_port()
    lines[-1] = lines[-1].replace("8080", str(port))
    script = tmp_path / "hello.py"
    script.write_text("\n".join(lines) + "\n")
    with ScriptProcess([PYTHON, str(script)]) as proc:
        response = wait_answering(f"http://127.0.0.1:{port}/")
        assert response.status_code == 200
        assert response.text == "Hello!\n"
        assert proc.proc is not None
        proc.proc.terminate()
        proc.proc.wait(10)


def test_echo_example_reflects_the_request() -> None:
    with run_example("echo.py") as proc:
        url = proc.wait_running()
        response = httpx.post(
            f"{url}/any/path?x=1",
            content=b"hello",
            headers={"X-Trace": "abc", "Content-Type": "text/plain"},
            timeout=10,
        )
        proc.stop(signal.SIGTERM)
    info = response.json()
    assert info["method"] == "POST"
    assert info["target"] == "/any/path?x=1"
    assert info["path"] == "/any/path"
    assert info["query"] == "x=1"
    assert info["version"] == "1.1"
    assert ["X-Trace", "abc"] in [[name.title(), value] for name, value in info["headers"]]
    assert info["body"] == "hello"
    assert info["client"][0] == "127.0.0.1"


def test_stream_example_sends_the_asked_number_of_events() -> None:
    with run_example("stream.py") as proc:
        url = proc.wait_running()
        with httpx.stream("GET", f"{url}/clock?count=3&interval=0", timeout=10) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            lines = list(response.iter_lines())
        proc.stop(signal.SIGTERM)
    events = "\n".join(lines).strip("\n").split("\n\n")
    assert len(events) == 3
    for n, event in enumerate(events):
        fields = dict(line.split(": ", 1) for line in event.split("\n"))
        assert fields["id"] == str(n)
        assert fields["event"] == "tick"
        assert re.match(r"\d{4}-\d\d-\d\dT", fields["data"])


def test_upload_example_stores_a_multipart_upload_and_reports_its_digest(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    with run_example("upload.py", UPLOAD_DIR=str(tmp_path)) as proc:
        url = proc.wait_running()
        response = httpx.post(f"{url}/upload", files={"file": ("data.bin", data)}, timeout=30)
        missing = httpx.post(f"{url}/upload", data={"other": "x"}, timeout=10)
        dotdot = httpx.post(f"{url}/upload", files={"file": ("a/..", b"sneaky")}, timeout=10)
        proc.stop(signal.SIGTERM)
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(data).hexdigest()
    assert response.json() == {"name": "data.bin", "size": len(data), "sha256": digest}
    assert (tmp_path / "ketch-uploads" / "data.bin").read_bytes() == data
    assert missing.status_code == 400
    assert dotdot.status_code == 200, dotdot.text
    assert dotdot.json()["name"] == "upload.bin"
    assert (tmp_path / "ketch-uploads" / "upload.bin").read_bytes() == b"sneaky"


def test_echo_app_under_the_ketch_command() -> None:
    with KetchProcess("ketch.apps.echo:app", "--port", "0", "--no-access-log") as proc:
        port = proc.port()
        response = httpx.put(f"http://127.0.0.1:{port}/x%20y?q", content=b"\xff\x00", timeout=10)
        proc.stop()
    info = response.json()
    assert info["method"] == "PUT"
    assert info["target"] == "/x%20y?q"
    assert info["path"] == "/x y"
    assert info["body_base64"] == "/wA="
    assert info["server"] == ["127.0.0.1", port]
