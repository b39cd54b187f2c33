"""Settings from a TOML file and the environment, their precedence, and the generated reference."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ketch.server.config import Config, setting_fields
from ketch.settings import SettingsError, env_value, load_toml, reference_markdown
from tests.support import KetchProcess, run_ketch

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "ketch.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_toml_values_of_every_kind(tmp_path: Path) -> None:
    settings = load_toml(
        write(
            tmp_path,
            'app = "pkg.mod:app"\nport = 9000\ntimeout-keep-alive = 2\nreuse_port = true\n'
            'loop = "asyncio"\nreload_dirs = ["a", "b"]\nreload_include = "*.html"\n'
            "limit_body = 1024\n",
        )
    )
    assert settings == {
        "app": "pkg.mod:app",
        "port": 9000,
        "timeout_keep_alive": 2.0,
        "reuse_port": True,
        "loop": "asyncio",
        "reload_dirs": ("a", "b"),
        "reload_include": ("*.html",),
        "limit_body": 1024,
    }
    assert isinstance(settings["timeout_keep_alive"], float)
    Config(**{k: v for k, v in settings.items() if k != "app"})  # the values fit Config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = 'eighty'", "port must be an integer, not 'eighty'"),
        ("port = true", "port must be an integer"),
        ("reuse_port = 1", "reuse_port must be true or false"),
        ("loop = 'trio'", "loop must be one of auto, asyncio, uvloop"),
        ("reload_dirs = [1]", "must be a string or a list of strings"),
        ("prot = 8000", "unknown setting 'prot'"),
        ("app = 3", "app must be a string"),
        ("port = ", "Invalid value"),
        ("ssl_context = 'x'", "unknown setting 'ssl_context'"),
    ],
)
def test_toml_mistakes_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")) as caught:
        load_toml(write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_pyproject_is_read_from_its_tool_table(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[project]\nname = "x"\n[tool.ketch]\nport = 7000\n', name="pyproject.toml"
    )
    assert load_toml(path) == {"port": 7000}


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run_ketch("--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ketch: error: cannot read {tmp_path / 'nope.toml'}: No such file or directory"
    ]


def test_env_values_are_converted_and_checked() -> None:
    by_name = {f.name: f for f in setting_fields()}
    assert env_value(by_name["reload_dirs"], {"KETCH_RELOAD_DIRS": "a, b,"}) == ("a", "b")
    assert env_value(by_name["reuse_port"], {"KETCH_REUSE_PORT": "yes"}) is True
    assert env_value(by_name["timeout_body"], {"KETCH_TIMEOUT_BODY": "1.5"}) == 1.5
    with pytest.raises(SettingsError, match="is not one of"):
        env_value(by_name["loop"], {"KETCH_LOOP": "trio"})


def test_precedence_flag_over_environment_over_file(tmp_path: Path) -> None:
    """The app and port come from the file; the environment and a flag override settings."""
    (tmp_path / "siteapp.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': scope['root_path'].encode()})\n"
    )
    path = write(
        tmp_path,
        f'app = "siteapp:app"\napp_dir = "{tmp_path}"\nport = 0\nroot_path = "/from-file"\n'
        "access_log = true\n",
    )
    with KetchProcess("--config", path) as process:
        assert httpx.get(f"http://127.0.0.1:{process.port()}/").text == "/from-file"
    env = {"KETCH_ROOT_PATH": "/from-env", "KETCH_CONFIG": path}
    with KetchProcess(env=env) as process:
        assert httpx.get(f"http://127.0.0.1:{process.port()}/").text == "/from-env"
    with KetchProcess("--root-path", "/from-flag", env=env) as process:
        assert httpx.get(f"http://127.0.0.1:{process.port()}/").text == "/from-flag"


def test_reference_page_is_generated_from_config() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == reference_markdown(), "run scripts/gen-settings-doc"
    for f in setting_fields():
        assert f"| `{f.name}` |" in page
