"""The ``ketch`` command: options generated from `Config`, each also read from ``KETCH_<NAME>``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import types
import typing
from dataclasses import MISSING, Field
from typing import Any, Literal

from . import __version__
from ._compiled import is_compiled
from .api import Server
from .app_loading import AppLoadError, import_app
from .errors import KetchError
from .server.config import Config, setting_fields
from .server.server import install_loop
from .static import StaticFiles

__all__ = ["build_parser", "main"]

TRACE = 5
error_log = logging.getLogger("ketch.error")


def _option_type(f: Field[Any]) -> tuple[Any, list[str] | None, str]:
    """(converter, choices, kind) for a Config field's annotation; kind is "flag", "list" or
    "value"."""
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


def _env_default(f: Field[Any], convert: Any, kind: str) -> Any:
    raw = os.environ.get(f"KETCH_{f.name.upper()}")
    if raw is None:
        return f.default if f.default is not MISSING else None
    if kind == "flag":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    try:
        if kind == "list":
            return tuple(convert(item.strip()) for item in raw.split(",") if item.strip())
        return convert(raw)
    except ValueError:
        raise SystemExit(
            f"ketch: error: KETCH_{f.name.upper()}={raw!r} is not a valid value"
        ) from None


def _build() -> str:
    return "compiled" if is_compiled() else "interpreted"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one option per `Config` setting."""
    parser = argparse.ArgumentParser(
        prog="ketch",
        description="A strict, fast HTTP/1.1 server for asyncio.  Serves an ASGI app or a "
        "ketch.web application (module:attribute), or with no app the files of the current "
        "directory (--root DIR for another).  Every option can also be set as KETCH_<OPTION> in "
        "the environment.",
    )
    parser.add_argument(
        "app", nargs="?", help="the application, as module:attribute (none: serve files)"
    )
    parser.add_argument("--version", action="version", version=f"ketch {__version__} ({_build()})")
    for f in setting_fields():
        convert, choices, kind = _option_type(f)
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        default = _env_default(f, convert, kind)
        shown = ",".join(default) if kind == "list" else default
        help_text = f"{f.metadata['help']} (default: {shown})".replace("%", "%%")
        if kind == "flag":
            parser.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=help_text,
            )
        elif kind == "list":
            # Repeatable; the given values replace the default (argparse would append to it).
            parser.add_argument(
                flag,
                dest=f.name,
                type=convert,
                action="append",
                default=None,
                metavar=f.metadata.get("metavar") or f.name.upper(),
                help=help_text,
            )
            parser.set_defaults(**{f"_default_{f.name}": default})
        else:
            parser.add_argument(
                flag,
                dest=f.name,
                type=convert,
                choices=choices,
                default=default,
                metavar=f.metadata.get("metavar") or (None if choices else f.name.upper()),
                help=help_text,
            )
    return parser


def configure_logging(level: str) -> None:
    """Send ketch.error to stderr and ketch.access to stdout, unless the app configured them."""
    logging.addLevelName(TRACE, "TRACE")
    numeric = TRACE if level == "trace" else getattr(logging, level.upper())
    for name, stream, fmt in (
        ("ketch.error", sys.stderr, "%(levelname)s: %(message)s"),
        ("ketch.access", sys.stdout, "%(message)s"),
    ):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler(stream)
            handler.setFormatter(logging.Formatter(fmt))
            logger.addHandler(handler)
            logger.propagate = False
        logger.setLevel(numeric if name == "ketch.error" else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Run the ``ketch`` command; returns the exit status."""
    parser = build_parser()
    options = vars(parser.parse_args(argv))
    for name in [key for key in options if key.startswith("_default_")]:
        default = options.pop(name)
        field_name = name.removeprefix("_default_")
        given = options[field_name]
        options[field_name] = tuple(given) if given is not None else default
    app_path = options.pop("app")
    try:
        config = Config(**options)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    configure_logging(config.log_level)
    if app_path is None:
        # The embedded default: the files of a directory.
        try:
            app: Any = StaticFiles(config.root, follow_symlinks=config.follow_symlinks)
        except ValueError as exc:
            parser.error(f"--root: {exc}")
        app_path = f"the files in {app.directory}"
    else:
        try:
            app = import_app(app_path, app_dir=config.app_dir, factory=config.factory)
        except AppLoadError as exc:
            error_log.debug("Import traceback", exc_info=exc.__cause__)
            print(f"ketch: error: {exc}", file=sys.stderr)
            return 1
    install_loop(config.loop)
    return _serve(app, app_path, config)


def _serve(app: Any, app_path: str, config: Config) -> int:
    async def serve() -> None:
        server = Server(app, config)
        await server.start()
        # Handlers first: a supervisor may signal as soon as it reads the banner.
        server._install_signal_handlers()
        loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
        for url in server.urls:
            error_log.info(
                "ketch %s serving %s on %s (loop: %s, %s)",
                __version__,
                app_path,
                url,
                loop_name,
                _build(),
            )
        try:
            assert server._stopping is not None
            await server._stopping.wait()
        finally:
            await server.shutdown()

    try:
        asyncio.run(serve())
    except (KetchError, OSError) as exc:
        print(f"ketch: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
