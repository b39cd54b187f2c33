"""Operations from the command line: --log-config, the banner, --health-path, --metrics-bind,
--self-signed and the JSON access log, each checked on what a real ``ketch`` process prints and
serves."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
import signal
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography import x509

from tests.support import KetchProcess, run_ketch
from tests.support.process import REPO
from tests.support.tls import make_certificates

if TYPE_CHECKING:
    from pathlib import Path

HELLO = "tests.support.apps:hello"
JSON_CONFIG = {
    "version": 1,
    "formatters": {
        "server": {"format": "JSONCFG %(levelname)s %(name)s | %(message)s"},
        "access": {"format": "JSONACCESS %(message)s"},
    },
    "handlers": {
        "server": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "server",
        },
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "access",
        },
    },
    "loggers": {
        "ketch.error": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "ketch.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
INI_CONFIG = """\
[loggers]
keys = root, error

[handlers]
keys = stderr

[formatters]
keys = tagged

[logger_root]
level = WARNING
handlers =

[logger_error]
qualname = ketch.error
level = INFO
handlers = stderr
propagate = 0

[handler_stderr]
class = StreamHandler
args = (sys.stderr,)
formatter = tagged

[formatter_tagged]
format = INICFG %(levelname)s: %(message)s
"""


def serve_once(*args: str, env: dict[str, str] | None = None) -> KetchProcess:
    """Run ketch with `args`, make one request to /, stop it; returns the finished process."""
    with KetchProcess(HELLO, "--port", "0", *args, env=env) as process:
        url = process.wait_serving()
        assert httpx.get(url + "/").text == "hello"
        deadline = time.monotonic() + 5
        while not process.stdout and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.stop() == 0
    return process


def docs_yaml_log_config() -> str:
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text[text.index("### --log-config") :]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match[1]


def test_log_config_json_sets_the_format_of_the_lines_printed(tmp_path: Path) -> None:
    path = tmp_path / "logging.json"
    path.write_text(json.dumps(JSON_CONFIG))
    process = serve_once("--log-config", str(path))
    banner = [line for line in process.stderr if "serving" in line]
    assert len(banner) == 1
    assert banner[0].startswith("JSONCFG INFO ketch.error | ketch ")
    assert all(line.startswith("JSONCFG ") for line in process.stderr), process.stderr
    assert process.stdout
    assert re.match(
        r'JSONACCESS 127\.0\.0\.1 - - \[.*\] "GET / HTTP/1\.1" 200 5$', process.stdout[0]
    )


def test_log_config_yaml_from_the_docs_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "logging.yaml"
    path.write_text(docs_yaml_log_config())
    process = serve_once("--log-config", str(path))
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}"
    (banner,) = [line for line in process.stderr if "serving" in line]
    assert re.match(rf"{stamp} \[\d+\] INFO ketch\.error: ketch ", banner), banner
    (access,) = process.stdout
    assert re.match(rf'{stamp} access: 127\.0\.0\.1 - - \[.*\] "GET / HTTP/1\.1" 200 5$', access)


def test_log_config_ini_is_a_file_config(tmp_path: Path) -> None:
    path = tmp_path / "logging.ini"
    path.write_text(INI_CONFIG)
    process = serve_once("--log-config", str(path))
    (banner,) = [line for line in process.stderr if "serving" in line]
    assert banner.startswith("INICFG INFO: ketch ")
    # The file does not configure ketch.access: ketch's default handler prints its lines as usual.
    assert re.match(r'127\.0\.0\.1 - - \[.*\] "GET / HTTP/1\.1" 200 5$', process.stdout[0])


def test_log_config_with_only_a_root_handler_gets_ketch_lines_through_the_root(
    tmp_path: Path,
) -> None:
    path = tmp_path / "root.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "formatters": {"root": {"format": "ROOT %(name)s %(message)s"}},
                "handlers": {
                    "all": {
                        "class": "logging.StreamHandler",
                        "stream": "ext://sys.stderr",
                        "formatter": "root",
                    }
                },
                "root": {"handlers": ["all"], "level": "INFO"},
            }
        )
    )
    process = serve_once("--log-config", str(path))
    assert any(line.startswith("ROOT ketch.error ketch ") for line in process.stderr)
    assert any(line.startswith("ROOT ketch.access 127.0.0.1") for line in process.stderr)
    assert process.stdout == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", "{not json", "--log-config "),
        ("bad.yaml", "version: [1", "--log-config "),
        ("wrong.json", json.dumps({"version": 1, "handlers": {"h": {"class": "no.Such"}}}), "h"),
        ("list.json", "[1, 2]", "expected a mapping"),
        ("bad.ini", "[loggers]\nkeys = nothing\n", "--log-config "),
    ],
)
def test_a_bad_log_config_is_one_line_and_exit_1(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = run_ketch(HELLO, "--port", "0", "--log-config", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ketch: error: --log-config {path}: ")
    assert message in lines[0]


def test_a_missing_log_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_ketch(HELLO, "--log-config", str(tmp_path / "nope.json"))
    assert result.returncode == 1
    assert result.stderr == f"ketch: error: --log-config {tmp_path / 'nope.json'}: no such file\n"


def test_yaml_log_config_without_pyyaml_says_to_install_it(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "yaml.py").write_text("raise ImportError('no yaml here')\n")
    path = tmp_path / "logging.yaml"
    path.write_text(docs_yaml_log_config())
    result = run_ketch(HELLO, "--log-config", str(path), env={"PYTHONPATH": f"{blocker}:{REPO}"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ketch: error: --log-config {path}: reading YAML needs PyYAML (pip install PyYAML)"
    ]


def test_banner_names_the_workers_and_the_operations_endpoints() -> None:
    with KetchProcess(
        HELLO, "--port", "0", "--health-path", "/healthz", "--metrics-bind", "127.0.0.1:0"
    ) as process:
        url = process.wait_serving()
        health = process.wait_for_line(re.compile(r"Health checks on (\S+)"))[1]
        metrics = process.wait_for_line(re.compile(r"Metrics on (http://\S+/metrics)"))[1]
        assert httpx.get(url + health).text == "ok\n"
        assert httpx.get(metrics).status_code == 200
        assert process.stop() == 0
    (banner,) = [line for line in process.stderr if "serving" in line]
    assert banner.endswith(") with 1 worker")
    assert health == "/healthz"


def test_health_path_answers_200_then_fails_during_a_drain() -> None:
    with KetchProcess(
        "tests.support.apps:hang",
        "--port",
        "0",
        "--health-path",
        "/healthz",
        "--timeout-graceful-shutdown",
        "5",
    ) as process:
        port = process.port()
        with httpx.Client() as client:
            response = client.get(f"http://127.0.0.1:{port}/healthz")
            assert (response.status_code, response.text) == (200, "ok\n")
            assert response.headers.get("connection") is None

        def hanging() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/hang", timeout=10)

        thread = threading.Thread(target=hanging)
        thread.start()
        try:
            process.wait_for_line(re.compile("handling /hang"))
            assert process.proc is not None
            process.proc.send_signal(signal.SIGTERM)
            process.wait_for_line(re.compile("shutting down gracefully"))
            # Draining: the request in flight goes on, and a probe fails at once (the listener
            # is closed: refused, not accepted and reset).
            assert process.proc.poll() is None
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            assert process.stop(signal.SIGTERM, timeout=5) == 0  # a second signal: force
        finally:
            thread.join(10)


def scrape(url: str) -> dict[str, float]:
    response = httpx.get(url)
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for line in response.text.splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_bind_is_scraped_after_some_requests() -> None:
    with KetchProcess(
        HELLO, "--port", "0", "--metrics-bind", "127.0.0.1:0", "--health-path", "/healthz"
    ) as process:
        url = process.wait_serving()
        metrics = process.wait_for_line(re.compile(r"Metrics on (http://\S+/metrics)"))[1]
        before = scrape(metrics)
        with httpx.Client() as client:
            for _ in range(3):
                assert client.get(url + "/").text == "hello"
            assert client.get(url + "/healthz").status_code == 200
        after = scrape(metrics)
        assert process.stop() == 0
    assert before['ketch_requests_total{status="2xx"}'] == 0
    assert after['ketch_requests_total{status="2xx"}'] == 4
    assert after["ketch_request_duration_seconds_count"] == 4
    assert after["ketch_sent_bytes_total"] == 3 * 5 + 3
    assert after["ketch_connections_total"] == 1
    assert after["ketch_worker_restarts_total"] == 0
    assert after["ketch_received_bytes_total"] > 0


def test_self_signed_serves_https_for_localhost(tmp_path: Path) -> None:
    with KetchProcess(HELLO, "--port", "0", "--self-signed", env={"TMPDIR": str(tmp_path)}) as p:
        fingerprint = p.wait_for_line(re.compile(r"self-signed .*\(SHA-256 ([0-9A-F:]+)\)"))[1]
        url = p.wait_serving()
        assert url.startswith("https://127.0.0.1:")
        assert httpx.get(url + "/", verify=False).text == "hello"
        with pytest.raises(httpx.ConnectError):  # not trusted by default
            httpx.get(url + "/")
        port = int(url.rsplit(":", 1)[1])
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        assert list(tmp_path.iterdir())  # the certificate's directory, while serving
        assert p.stop() == 0
    digest = hashlib.sha256(der).hexdigest().upper()
    assert fingerprint == ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    cert = x509.load_der_x509_certificate(der)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert list(tmp_path.iterdir()) == []  # deleted at exit


def test_self_signed_with_a_certfile_is_one_line(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    result = run_ketch(HELLO, "--self-signed", "--ssl-certfile", str(certs.server_cert))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ketch: error: --self-signed and --ssl-certfile (or ssl_context) exclude each other "
        "(see ketch --help)"
    ]


def test_json_access_log_carries_the_request_id() -> None:
    with KetchProcess(HELLO, "--port", "0", "--access-log-format", "json") as process:
        url = process.wait_serving()
        httpx.get(url + "/", headers={"X-Request-ID": "abc-123"})
        httpx.get(url + "/")
        deadline = time.monotonic() + 5
        while len(process.stdout) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.stop() == 0
    first, second = (json.loads(line) for line in process.stdout)
    assert first["request_id"] == "abc-123"
    assert second["request_id"] is None
