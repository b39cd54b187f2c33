"""Where settings come from, besides Python: command-line flags, ``KETCH_*`` environment variables
and a TOML file.  All three are derived from the fields of `Config`, which is the one definition of
every setting; so is the reference page (docs/settings.md, `reference_markdown`).

Precedence, highest first: a flag on the command line, the environment, the TOML file (``--config``
or ``KETCH_CONFIG``), the default.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import MISSING
from typing import Any, Literal

from .errors import KetchError
from .server.config import Config, setting_fields

__all__ = [
    "SettingsError",
    "env_value",
    "flag_name",
    "load_toml",
    "reference_markdown",
    "setting_kind",
]

APP_KEY = "app"  # the one key of a TOML file that is not a Config field: module:attribute


class SettingsError(KetchError):
    """A setting from the environment or a file has a bad name or value (one line)."""


def setting_kind(f: Any) -> tuple[Any, list[str] | None, str]:
    """``(converter, choices, kind)`` of a Config field; kind is "flag", "list" or "value"."""
    hint = typing.get_type_hints(Config)[f.name]
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if typing.get_origin(hint) is Literal:
        return str, [str(a) for a in args], "value"
    if hint is bool:
        return bool, None, "flag"
    if typing.get_origin(hint) is tuple:
        return args[0], None, "list"
    return hint, None, "value"


def flag_name(f: Any) -> str:
    """The command-line flag of a setting."""
    return str(f.metadata.get("flag") or "--" + f.name.replace("_", "-"))


def env_name(f: Any) -> str:
    return f"KETCH_{f.name.upper()}"


def default_of(f: Any) -> Any:
    return f.default if f.default is not MISSING else None


def env_value(f: Any, environ: typing.Mapping[str, str] = os.environ) -> Any:
    """The setting's value from ``KETCH_<NAME>``, or `MISSING` when the variable is not set.

    Flags take 1/true/yes/on (anything else is false); lists are comma-separated.

    Raises:
        SettingsError: the value does not convert.
    """
    raw = environ.get(env_name(f))
    if raw is None:
        return MISSING
    convert, choices, kind = setting_kind(f)
    if kind == "flag":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    try:
        if kind == "list":
            return tuple(convert(item.strip()) for item in raw.split(",") if item.strip())
        value = convert(raw)
    except ValueError:
        raise SettingsError(f"{env_name(f)}={raw!r} is not a valid value") from None
    if choices is not None and value not in choices:
        raise SettingsError(f"{env_name(f)}={raw!r} is not one of {', '.join(choices)}")
    return value


def load_toml(path: str) -> dict[str, Any]:
    """Read a TOML settings file: ``name = value`` per setting (names as in `Config`, or as flags
    without the dashes: ``timeout_keep_alive`` or ``timeout-keep-alive``), plus ``app``.

    A ``pyproject.toml`` is read from its ``[tool.ketch]`` table.

    Raises:
        SettingsError: unreadable file, bad TOML, unknown setting or a value of the wrong type.
    """
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    if os.path.basename(path) == "pyproject.toml":
        document = document.get("tool", {}).get("ketch", {})
    fields_by_name = {f.name: f for f in setting_fields()}
    settings: dict[str, Any] = {}
    for key, value in document.items():
        name = key.replace("-", "_")
        if name == APP_KEY:
            if not isinstance(value, str):
                raise SettingsError(f"{path}: app must be a string 'module:attribute'")
            settings[APP_KEY] = value
            continue
        f = fields_by_name.get(name)
        if f is None:
            raise SettingsError(f"{path}: unknown setting {key!r}")
        settings[name] = _checked(path, key, f, value)
    return settings


def _checked(path: str, key: str, f: Any, value: Any) -> Any:
    convert, choices, kind = setting_kind(f)
    where = f"{path}: {key}"
    if kind == "flag":
        if not isinstance(value, bool):
            raise SettingsError(f"{where} must be true or false")
        return value
    if kind == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise SettingsError(f"{where} must be a string or a list of strings")
        return tuple(items)
    if convert is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, convert) or isinstance(value, bool):
        raise SettingsError(f"{where} must be {_type_words(convert)}, not {value!r}")
    if choices is not None and value not in choices:
        raise SettingsError(f"{where} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _type_words(convert: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string"}.get(convert, str(convert))


def reference_markdown() -> str:
    """The settings reference page (docs/settings.md), generated from `Config`."""
    lines = [
        "# Settings reference",
        "",
        "<!-- Generated from ketch.server.config.Config by scripts/gen-settings-doc;"
        " do not edit. -->",
        "",
        "Every setting has one name and four spellings: a `Config` field (for `ketch.run`,"
        " `ketch.Server` and `Config(...)`), a command-line flag, a `KETCH_<NAME>` environment"
        " variable, and a key of the TOML file given with `--config` (or `KETCH_CONFIG`).  A flag"
        " beats the environment, which beats the file, which beats the default.",
        "",
        "```toml",
        "# ketch.toml: ketch --config ketch.toml",
        'app = "myproject.main:app"',
        'host = "0.0.0.0"',
        "port = 8080",
        "workers = 4",
        'forwarded_allow_ips = "10.0.0.0/8"',
        'reload_dirs = ["src", "templates"]',
        "```",
        "",
        "In a `pyproject.toml`, the same keys go in a `[tool.ketch]` table.  Flags take"
        " `1`/`true`/`yes`/`on` in the environment; repeatable settings (lists) are"
        " comma-separated there and TOML arrays in the file.",
        "",
        "| Setting | Flag | Default | What it does |",
        "|---|---|---|---|",
    ]
    for f in setting_fields():
        _, choices, kind = setting_kind(f)
        flag = flag_name(f)
        if kind == "flag":
            flag = f"{flag}, --no-{flag[2:]}"
        elif kind == "list":
            flag = f"{flag} {f.metadata.get('metavar') or 'VALUE'} (repeatable)"
        elif choices is not None:
            flag = f"{flag} {{{','.join(choices)}}}"
        else:
            flag = f"{flag} {f.metadata.get('metavar') or f.name.upper()}"
        default = default_of(f)
        shown = (
            "none"
            if default is None or default == ()
            else str(default).lower()
            if isinstance(default, bool)
            else str(default)
        )
        text = str(f.metadata["help"]).replace("|", "\\|")
        lines.append(f"| `{f.name}` | `{flag}` | `{shown}` | {text} |")
    lines.append("")
    return "\n".join(lines)
