"""``--reload``: watch source files with watchfiles and roll the workers when they change.

The watching runs in a child process of the supervisor (forked before any thread exists), which
writes one line per burst of changes on a pipe: the supervisor stays single-threaded, so forking
workers stays safe.  watchfiles debounces: a burst ends when nothing changed for `STEP_MS`
(at most `DEBOUNCE_MS` after it began).  What a change does is the supervisor's business: a
rolling restart, in which a new worker that cannot import the app leaves the old one serving.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import traceback
from fnmatch import fnmatchcase
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ..errors import KetchError
from .worker import read_lines

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = ["DEFAULT_EXCLUDE", "DEFAULT_INCLUDE", "ReloadFilter", "Watcher", "require_watchfiles"]

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".*", "__pycache__", "*.py[cod]", "venv", "node_modules", "*~")
"""Dotfiles and dot directories (.git, .venv, editor swap files), byte code, virtualenvs."""
DEBOUNCE_MS = 1600
STEP_MS = 50
IDLE_MS = 200  # the watcher says "ready" after this long without a change


def require_watchfiles() -> None:
    """Raises `KetchError` (one line) when watchfiles is not installed."""
    if importlib.util.find_spec("watchfiles") is None:
        raise KetchError("--reload needs watchfiles: pip install 'ketch[reload]'")


class ReloadFilter:
    """Which changed paths reload: included by a glob and not excluded by one.

    A glob without a slash is matched against the file name for includes and against every path
    component for excludes (so ``.*`` excludes anything under ``.git/``); a glob with a slash is
    matched against the end of the path relative to the watched directory (`PurePath.match`).  A
    default exclude that the user includes explicitly is dropped (``--reload-include '.env'``).

    Args:
        roots: the watched directories.
        include: globs added to `DEFAULT_INCLUDE`.
        exclude: globs added to `DEFAULT_EXCLUDE`.
    """

    def __init__(
        self, roots: Sequence[str], include: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> None:
        include = tuple(include)
        self.roots = [Path(root).resolve() for root in roots]
        self.include = (*DEFAULT_INCLUDE, *include)
        self.exclude = (*(p for p in DEFAULT_EXCLUDE if p not in include), *exclude)

    def __call__(self, change: object, path: str) -> bool:
        """The watchfiles ``watch_filter`` interface."""
        return self.matches(path)

    def matches(self, path: str) -> bool:
        """Whether a change of `path` reloads."""
        relative = self._relative(Path(path))
        name = relative.name
        for pattern in self.exclude:
            if "/" in pattern:
                if relative.match(pattern):
                    return False
            elif any(fnmatchcase(part, pattern) for part in relative.parts):
                return False
        return any(
            relative.match(pattern) if "/" in pattern else fnmatchcase(name, pattern)
            for pattern in self.include
        )

    def _relative(self, path: Path) -> PurePath:
        for root in self.roots:
            with contextlib.suppress(ValueError):
                return path.relative_to(root)
        return path


class Watcher:
    """The watching child process and its pipe, for `supervisor.Supervisor`.

    Args:
        dirs: directories to watch (recursively).
        watch_filter: which changes count.
    """

    def __init__(self, dirs: Sequence[str], watch_filter: ReloadFilter) -> None:
        self.dirs = [str(Path(d).resolve()) for d in dirs]
        self.filter = watch_filter
        self.pid = 0
        self.ready = False
        self._fd = -1
        self._buffer = b""

    def fileno(self) -> int:
        """The read end of the pipe (-1 before `start` and after EOF)."""
        return self._fd

    def start(self, in_child: Callable[[], None]) -> None:
        """Fork the watching process; `in_child` runs first in it (closes the parent's fds)."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover  # the watcher process
            code = 1
            try:
                os.close(read)
                in_child()
                code = _watch(self.dirs, self.filter, write, os.getppid())
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(BaseException):
                    sys.stderr.flush()
                os._exit(code)
        os.close(write)
        os.set_blocking(read, False)
        self.pid = pid
        self._fd = read

    def read(self) -> list[tuple[str, list[str]]]:
        """What the watcher said: ("ready", []), ("change", [paths]) or ("eof", [])."""
        said: list[tuple[str, list[str]]] = []
        try:
            got = read_lines(self._fd, self._buffer)
        except BlockingIOError:
            return said
        if got is None:
            said.append(("eof", []))
            return said
        lines, self._buffer = got
        for line in lines:
            kind, _, rest = line.decode("utf-8", "surrogateescape").partition(" ")
            if kind == "ready":
                self.ready = True
            said.append((kind, [p for p in rest.split("\0") if p]))
        return said

    def reap(self) -> bool:
        """Collect the process if it exited; True if it did on its own (not after `stop`)."""
        if self.pid <= 0:
            return False
        try:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            done = self.pid
        if done == 0:
            return False
        self.pid = 0
        return True

    def stop(self) -> None:
        """End the watching process and close the pipe."""
        if self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = -1
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _ParentGone:
    """A watchfiles stop event: set once the supervisor is gone."""

    def __init__(self, parent: int) -> None:
        self.parent = parent

    def is_set(self) -> bool:
        return os.getppid() != self.parent


def _watch(  # pragma: no cover  # runs in the watcher process (forked above)
    dirs: list[str], watch_filter: ReloadFilter, fd: int, parent: int
) -> int:
    import watchfiles  # optional dependency: imported in the watcher process only

    ready = False
    for changes in watchfiles.watch(
        *dirs,
        watch_filter=watch_filter,
        debounce=DEBOUNCE_MS,
        step=STEP_MS,
        rust_timeout=IDLE_MS,
        yield_on_timeout=True,
        stop_event=_ParentGone(parent),
        raise_interrupt=False,
    ):
        lines = b""
        if not ready:
            ready = True
            lines += b"ready\n"
        if changes:
            paths = "\0".join(sorted({path.replace("\n", " ") for _, path in changes}))
            lines += f"change {paths}\n".encode("utf-8", "surrogateescape")
        if lines:
            try:
                os.write(fd, lines)
            except BrokenPipeError:
                return 0
    return 0
