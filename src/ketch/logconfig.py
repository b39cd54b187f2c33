"""Logging configuration from a file (``--log-config``).

``.json`` files and ``.yaml``/``.yml`` files (with PyYAML installed) are `logging.config.dictConfig`
dictionaries; anything else is a `logging.config.fileConfig` INI file.  Loggers that exist already
(ketch's own, the app's) stay enabled unless the file says ``"disable_existing_loggers": true``.
"""

from __future__ import annotations

import json
import logging.config
import os
from typing import Any

from .errors import KetchError

__all__ = ["LogConfigError", "load_log_config"]


class LogConfigError(KetchError):
    """The logging configuration file could not be read or applied."""


def load_log_config(path: str) -> None:
    """Configure logging from the file at `path`.

    Raises:
        LogConfigError: the file is missing or unreadable, not valid JSON/YAML/INI, not a logging
            configuration, or YAML without PyYAML; the message is one line.
    """
    if not os.path.isfile(path):
        raise LogConfigError(f"--log-config {path}: no such file")
    extension = os.path.splitext(path)[1].lower()
    try:
        if extension in (".json", ".yaml", ".yml"):
            with open(path, encoding="utf-8") as file:
                config = json.load(file) if extension == ".json" else _load_yaml(path, file)
            if not isinstance(config, dict):
                raise LogConfigError(f"--log-config {path}: expected a mapping at the top")
            config.setdefault("disable_existing_loggers", False)
            logging.config.dictConfig(config)
        else:
            logging.config.fileConfig(path, disable_existing_loggers=False)
    except LogConfigError:
        raise
    except Exception as exc:
        raise LogConfigError(f"--log-config {path}: {_one_line(exc)}") from exc


def _load_yaml(path: str, file: Any) -> Any:
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]  # optional: types-PyYAML
    except ImportError:
        raise LogConfigError(
            f"--log-config {path}: reading YAML needs PyYAML (pip install PyYAML)"
        ) from None
    return yaml.safe_load(file)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return " ".join(text.split())
