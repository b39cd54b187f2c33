"""The ``ketch`` command: options generated from `Config`, each also read from ``KETCH_<NAME>`` and
from a TOML file (see `ketch.settings`)."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import os
import sys
import typing
from dataclasses import MISSING, replace
from typing import Any

from . import __version__
from ._compiled import is_compiled
from .api import Server
from .app_loading import AppLoadError, import_app
from .errors import KetchError
from .logconfig import load_log_config
from .server.config import Config, setting_fields
from .server.devcert import make_dev_certificate
from .server.server import install_loop
from .settings import (
    APP_KEY,
    SettingsError,
    default_of,
    env_value,
    flag_name,
    load_toml,
    setting_kind,
)
from .static import StaticFiles

if typing.TYPE_CHECKING:
    import socket

__all__ = ["build_parser", "main"]

TRACE = 5
error_log = logging.getLogger("ketch.error")


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake reported in one line instead of the whole usage."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"ketch: error: {message} (see ketch --help)\n")


def _defaults(file_settings: dict[str, Any]) -> dict[str, Any]:
    """Each setting's value before the command line: the environment, else the file, else the
    default."""
    defaults = {}
    for f in setting_fields():
        value = env_value(f)
        if value is MISSING:
            value = file_settings.get(f.name, default_of(f))
        defaults[f.name] = value
    return defaults


def _build() -> str:
    return "compiled" if is_compiled() else "interpreted"


def build_parser(file_settings: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """The argument parser, one option per `Config` setting; defaults from the environment and
    `file_settings` (a TOML file's).

    Raises:
        SettingsError: a ``KETCH_*`` variable has a bad value.
    """
    file_settings = file_settings or {}
    defaults = _defaults(file_settings)
    parser = _Parser(
        prog="ketch",
        description="A strict, fast HTTP/1.1 server for asyncio.  Serves an ASGI app or a "
        "ketch.web application (module:attribute), or with no app the files of the current "
        "directory (--root DIR for another).  Every option can also be set as KETCH_<OPTION> in "
        "the environment.",
    )
    parser.add_argument(
        "app",
        nargs="?",
        default=file_settings.get(APP_KEY),
        help="the application, as module:attribute (none: serve files)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("KETCH_CONFIG"),
        help="read settings (and 'app') from this TOML file, or a pyproject.toml's [tool.ketch]; "
        "flags and KETCH_* variables override it",
    )
    parser.add_argument("--version", action="version", version=f"ketch {__version__} ({_build()})")
    for f in setting_fields():
        convert, choices, kind = setting_kind(f)
        flag = flag_name(f)
        default = defaults[f.name]
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


def configure_logging(level: str, *, log_config: bool = False) -> None:
    """Send ketch.error to stderr and ketch.access to stdout, unless the app configured them.

    After a `log_config` file, a ketch logger whose records already reach a handler (its own or
    an ancestor's, such as the root's) is left as the file set it, and so is a level it set.
    """
    logging.addLevelName(TRACE, "TRACE")
    numeric = TRACE if level == "trace" else getattr(logging, level.upper())
    for name, stream, fmt in (
        ("ketch.error", sys.stderr, "%(levelname)s: %(message)s"),
        ("ketch.access", sys.stdout, "%(message)s"),
    ):
        logger = logging.getLogger(name)
        if not (logger.hasHandlers() if log_config else logger.handlers):
            handler = logging.StreamHandler(stream)
            handler.setFormatter(logging.Formatter(fmt))
            logger.addHandler(handler)
            logger.propagate = False
        if not log_config or logger.level == logging.NOTSET:
            logger.setLevel(numeric if name == "ketch.error" else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Run the ``ketch`` command; returns the exit status."""
    # The file's settings are the parser's defaults, so --config is found first.
    pre = _Parser(prog="ketch", add_help=False)
    pre.add_argument("--config", default=os.environ.get("KETCH_CONFIG"))
    config_path = pre.parse_known_args(argv)[0].config
    try:
        parser = build_parser(load_toml(config_path) if config_path else None)
    except SettingsError as exc:
        print(f"ketch: error: {exc}", file=sys.stderr)
        return 1
    options = vars(parser.parse_args(argv))
    options.pop("config")
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
    try:
        if config.log_config:
            load_log_config(config.log_config)
        configure_logging(config.log_level, log_config=bool(config.log_config))
        config = _self_signed(config)
    except KetchError as exc:
        print(f"ketch: error: {exc}", file=sys.stderr)
        return 1
    workers = _worker_count(config, parser)
    if app_path is None:
        # The embedded default: the files of a directory.
        try:
            app: Any = StaticFiles.from_config(config)
        except ValueError as exc:
            parser.error(f"--root: {exc}")
        shown = f"the files in {app.directory}"
        if workers > 1 or config.reload:
            return _supervise(None, shown, config, workers)
        app_path = shown
    elif workers > 1 or config.reload:
        return _supervise(app_path, app_path, config, workers)
    else:
        try:
            app = import_app(app_path, app_dir=config.app_dir, factory=config.factory)
        except AppLoadError as exc:
            error_log.debug("Import traceback", exc_info=exc.__cause__)
            print(f"ketch: error: {exc}", file=sys.stderr)
            return 1
    install_loop(config.loop)
    return _serve(app, app_path, config)


def _worker_count(config: Config, parser: argparse.ArgumentParser) -> int:
    """--workers, else $WEB_CONCURRENCY (the Heroku/Dokku convention), else 1."""
    if config.workers is not None:
        workers = config.workers
    else:
        raw = os.environ.get("WEB_CONCURRENCY", "").strip() or "1"
        try:
            workers = int(raw)
        except ValueError:
            parser.error(f"WEB_CONCURRENCY={raw!r} is not a number of workers")
    if workers < 1:
        parser.error(f"--workers must be at least 1, not {workers}")
    return workers


def _supervise(app_path: str | None, shown: str, config: Config, workers: int) -> int:
    """Serve with a supervisor and forked workers (--workers N, --reload)."""
    from .app_loading import front_door
    from .server.server import Server as BaseServer
    from .server.supervisor import Supervisor

    def build(sockets: list[socket.socket]) -> BaseServer:
        # In a worker, after the fork: a fresh import of the app.
        if app_path is None:
            app: Any = StaticFiles.from_config(config)
        else:
            app = import_app(app_path, app_dir=config.app_dir, factory=config.factory)
        handler, lifespan = front_door(app, config)
        return BaseServer(handler, config, lifespan=lifespan, sockets=sockets)

    def serving(urls: list[str], loop_name: str) -> None:
        count = supervisor.target
        for url in urls:
            error_log.info(
                "ketch %s serving %s on %s (loop: %s, %s) with %d worker%s",
                __version__,
                shown,
                url,
                loop_name,
                _build(),
                count,
                "" if count == 1 else "s",
            )
        _log_operations(config, supervisor.metrics_url)

    watcher = None
    try:
        if config.reload:
            from .server.reload import ReloadFilter, Watcher, require_watchfiles

            require_watchfiles()
            dirs = config.reload_dirs or (config.app_dir,)
            for directory in dirs:
                if not os.path.isdir(directory):
                    raise KetchError(f"--reload-dir {directory!r} is not a directory")
            watch_filter = ReloadFilter(dirs, config.reload_include, config.reload_exclude)
            watcher = Watcher(dirs, watch_filter)
        supervisor = Supervisor(config, build, workers=workers, on_serving=serving, watcher=watcher)
        return supervisor.run()
    except (KetchError, OSError) as exc:
        print(f"ketch: error: {exc}", file=sys.stderr)
        return 1


def _self_signed(config: Config) -> Config:
    """With --self-signed, make the certificate now (one for every worker), deleted at exit."""
    if not config.self_signed:
        return config
    cert = make_dev_certificate()
    owner = os.getpid()

    def cleanup() -> None:
        if os.getpid() == owner:  # forked workers inherit atexit hooks: only this process cleans
            cert.remove()

    atexit.register(cleanup)
    error_log.info(
        "Serving a self-signed certificate for localhost, 127.0.0.1 and ::1 (SHA-256 %s)",
        cert.fingerprint,
    )
    return replace(config, self_signed=False, ssl_certfile=cert.certfile, ssl_keyfile=cert.keyfile)


def _serve(app: Any, app_path: str, config: Config) -> int:
    async def serve() -> None:
        server = Server(app, config)
        await server.start()
        # Handlers first: a supervisor may signal as soon as it reads the banner.
        server._install_signal_handlers()
        loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
        for url in server.urls:
            error_log.info(
                "ketch %s serving %s on %s (loop: %s, %s) with 1 worker",
                __version__,
                app_path,
                url,
                loop_name,
                _build(),
            )
        _log_operations(config, server.metrics_url)
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


def _log_operations(config: Config, metrics_url: str | None) -> None:
    if config.health_path:
        error_log.info("Health checks on %s (kept out of the access log)", config.health_path)
    if metrics_url:
        error_log.info("Metrics on %s", metrics_url)
