"""The ``ketch`` command: options, environment variables, errors, access logs, signals."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import fields
from typing import TYPE_CHECKING

import httpx
import pytest

import ketch
from ketch._compiled import is_compiled
from ketch.server.config import Config
from tests.support import KetchProcess, run_ketch

if TYPE_CHECKING:
    from pathlib import Path


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with status 1 and exactly one stderr line, 'ketch: error: ...'."""
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ketch: error: "), lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_version_names_the_build() -> None:
    result = run_ketch("--version")
    assert result.returncode == 0
    build = "compiled" if is_compiled() else "interpreted"
    assert result.stdout.strip() == f"ketch {ketch.__version__} ({build})"


def test_python_dash_m_ketch_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ketch", "--version"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip().startswith(f"ketch {ketch.__version__} (")


def test_help_lists_every_setting() -> None:
    result = run_ketch("--help")
    assert result.returncode == 0
    for f in fields(Config):
        if f.metadata.get("cli", True):
            flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
            assert flag in result.stdout, f.name
    assert "--ssl-context" not in result.stdout
    assert "KETCH_" in result.stdout


def test_error_for_an_app_path_without_a_colon() -> None:
    line = one_error_line(run_ketch("tests.support.apps"))
    assert "module:attribute" in line


def test_error_for_a_missing_module() -> None:
    line = one_error_line(run_ketch("no_such_module_for_ketch:app"))
    assert "no_such_module_for_ketch" in line


def test_error_for_a_missing_attribute() -> None:
    line = one_error_line(run_ketch("tests.support.apps:no_such_app"))
    assert "no_such_app" in line
    assert "tests.support.apps" in line


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import no_such_dependency_for_ketch\n", "no_such_dependency_for_ketch"),
        ("raise ValueError('bad configuration')\n", "bad configuration"),
        ("def broken(:\n", "SyntaxError"),
    ],
    ids=["missing-dependency", "exception", "syntax-error"],
)
def test_error_for_an_import_error_inside_the_module(
    tmp_path: Path, source: str, expected: str
) -> None:
    (tmp_path / "brokenapp.py").write_text(source)
    line = one_error_line(run_ketch("brokenapp:app", "--app-dir", str(tmp_path)))
    assert "brokenapp" in line
    assert expected in line


def test_error_for_a_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_error_line(run_ketch("tests.support.apps:describe", "--port", str(port)))
    assert f"127.0.0.1:{port}" in line
    assert "in use" in line


def test_error_for_a_port_in_use_with_a_lifespan_app_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        one_error_line(run_ketch("tests.support.apps:hello", "--port", str(port)))


def test_error_for_an_invalid_environment_value() -> None:
    result = run_ketch("tests.support.apps:hello", env={"KETCH_PORT": "eighty"})
    assert result.returncode != 0
    assert "KETCH_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_from_ketch_port_environment_variable() -> None:
    port = free_port()
    with KetchProcess("tests.support.apps:hello", env={"KETCH_PORT": str(port)}) as process:
        assert process.port() == port
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "hello"
        assert process.stop() == 0


def test_command_line_option_overrides_the_environment() -> None:
    port = free_port()
    with KetchProcess(
        "tests.support.apps:hello", "--port", str(port), env={"KETCH_PORT": "1"}
    ) as process:
        assert process.port() == port
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "hello"
        assert process.stop() == 0


def test_ketch_access_log_false_in_the_environment_turns_the_access_log_off() -> None:
    with KetchProcess(
        "tests.support.apps:hello", "--port", "0", env={"KETCH_ACCESS_LOG": "false"}
    ) as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        assert process.stop() == 0
    assert process.stdout == []


def test_no_access_log_flag_prints_no_access_lines() -> None:
    with KetchProcess("tests.support.apps:hello", "--port", "0", "--no-access-log") as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        assert process.stop() == 0
    assert process.stdout == []


def access_lines(fmt: str, agent: str = "test-agent/1.0") -> list[str]:
    with KetchProcess(
        "tests.support.apps:hello", "--port", "0", "--access-log-format", fmt
    ) as process:
        port = process.port()
        response = httpx.get(
            f"http://127.0.0.1:{port}/path?q=1",
            headers={"User-Agent": agent, "Referer": "http://ref.example/"},
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 5
        while not process.stdout and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.stop() == 0
    return process.stdout


STAMP = r"\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\]"


def test_access_log_common_format() -> None:
    (line,) = access_lines("common")
    assert re.fullmatch(rf'127\.0\.0\.1 - - {STAMP} "GET /path\?q=1 HTTP/1\.1" 200 5', line), line


def test_access_log_combined_format() -> None:
    (line,) = access_lines("combined")
    assert re.fullmatch(
        rf'127\.0\.0\.1 - - {STAMP} "GET /path\?q=1 HTTP/1\.1" 200 5 '
        r'"http://ref\.example/" "test-agent/1\.0"',
        line,
    ), line


def test_access_log_quotes_in_client_values_cannot_end_the_field() -> None:
    (line,) = access_lines("combined", agent='agent "quoted"')
    # Apache's convention: \" inside a quoted field is a quote, \\ a backslash.
    fields = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
    assert fields[-1] == r"agent \"quoted\"", line


def test_access_log_json_format() -> None:
    (line,) = access_lines("json", agent='agent "quoted"')
    record = json.loads(line)
    assert record["client"] == "127.0.0.1"
    assert record["method"] == "GET"
    assert record["target"] == "/path?q=1"
    assert record["http_version"] == "1.1"
    assert record["status"] == 200
    assert record["bytes"] == 5
    assert record["referer"] == "http://ref.example/"
    assert record["user_agent"] == 'agent "quoted"'
    assert 0 <= record["duration_ms"] < 5000
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", record["time"])


def test_app_dir_is_searched_for_the_app(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'from app dir'})\n"
    )
    with KetchProcess("elsewhere:app", "--port", "0", "--app-dir", str(tmp_path)) as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "from app dir"
        assert process.stop() == 0


def test_factory_flag_calls_the_factory() -> None:
    with KetchProcess("tests.support.apps:make_app", "--factory", "--port", "0") as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "from factory"
        assert process.stop() == 0


def test_banner_names_the_app_the_url_the_loop_and_the_build() -> None:
    with KetchProcess("tests.support.apps:hello", "--port", "0", "--loop", "asyncio") as process:
        url = process.wait_serving()
        assert httpx.get(url + "/").status_code == 200
    (banner,) = [line for line in process.stderr if "serving" in line]
    assert f"ketch {ketch.__version__} serving tests.support.apps:hello on {url}" in banner
    build = "compiled" if is_compiled() else "interpreted"
    assert f"(loop: asyncio, {build})" in banner


def test_sigterm_right_after_the_banner_is_a_graceful_stop() -> None:
    # A supervisor that sends SIGTERM the moment it reads the banner, made deterministic: a
    # log handler in the ketch process signals the process itself as the banner is logged.
    wrapper = (
        "import logging, os, signal, sys\n"
        "from ketch.cli import main\n"
        "class SignalOnBanner(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        print(record.getMessage(), file=sys.stderr, flush=True)\n"
        "        if ' serving ' in record.getMessage():\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "logging.getLogger('ketch.error').addHandler(SignalOnBanner())\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = [sys.executable, "-c", wrapper, "tests.support.apps:hello", "--port", "0"]
    with KetchProcess(argv=argv) as process:
        assert process.wait(timeout=10) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_server_with_status_0(sig: signal.Signals) -> None:
    with KetchProcess("tests.support.apps:hello", "--port", "0") as process:
        port = process.port()
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        assert process.stop(sig) == 0
    assert not any("Traceback" in line for line in process.stderr)


def test_second_signal_forces_the_shutdown_of_a_hanging_request() -> None:
    with KetchProcess(
        "tests.support.apps:hang", "--port", "0", "--timeout-graceful-shutdown", "30"
    ) as process:
        port = process.port()

        def request() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/hang", timeout=10)

        thread = threading.Thread(target=request)
        thread.start()
        deadline = time.monotonic() + 5
        while not any("handling /hang" in line for line in process.stderr):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert process.proc is not None
        process.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            assert process.stop(signal.SIGTERM, timeout=2) == 0
        finally:
            process.proc.kill()
            thread.join(10)


def test_graceful_timeout_from_the_command_line_bounds_the_shutdown() -> None:
    with KetchProcess(
        "tests.support.apps:hang", "--port", "0", "--timeout-graceful-shutdown", "0.5"
    ) as process:
        port = process.port()

        def request() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/hang", timeout=10)

        thread = threading.Thread(target=request)
        thread.start()
        deadline = time.monotonic() + 5
        while not any("handling /hang" in line for line in process.stderr):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        assert process.stop(signal.SIGTERM, timeout=5) == 0
        assert time.monotonic() - started < 3
        thread.join(10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "abc"], "argument --port: invalid int value: 'abc'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--loop", "trio"], "argument --loop: invalid choice: 'trio'"),
        (["--config"], "argument --config: expected one argument"),
    ],
)
def test_a_bad_flag_is_one_line(args: list[str], message: str) -> None:
    result = run_ketch(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ketch: error: {message}")
