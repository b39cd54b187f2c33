"""Build ketch, compiling its hot modules with mypyc when it can.

``KETCH_COMPILE`` chooses: ``auto`` (the default) compiles when mypyc and a C compiler work and
falls back to the pure-Python package otherwise; ``1`` requires compilation (a failure fails the
build); ``0`` never compiles.  Editable installs (``pip install -e``) are never compiled, so that an
edited source file is the code that runs.  Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The modules on the per-request path.  The rest (CLI, configuration, listeners, start-up) gains
# nothing from compiling.  Public classes here that users subclass are marked in the sources with
# @mypyc_attr(allow_interpreted_subclasses=True).
COMPILED = [
    "src/ketch/http11/__init__.py",
    "src/ketch/http11/_abnf.py",
    "src/ketch/http11/connection.py",
    "src/ketch/http11/events.py",
    "src/ketch/http11/headers.py",
    "src/ketch/http11/heads.py",
    "src/ketch/http11/limits.py",
    "src/ketch/http11/readers.py",
    "src/ketch/http11/state.py",
    "src/ketch/http11/target.py",
    "src/ketch/http11/writers.py",
    "src/ketch/server/cycle.py",
    "src/ketch/server/eager.py",
    "src/ketch/server/memory.py",
    "src/ketch/server/metered.py",  # subclasses the compiled HTTPProtocol, so must be compiled
    "src/ketch/server/protocol.py",
    "src/ketch/server/proxy.py",
    "src/ketch/server/state.py",
    "src/ketch/server/timeouts.py",
    "src/ketch/asgi/http.py",
    "src/ketch/static/negotiation.py",
    "src/ketch/static/plan.py",
    "src/ketch/static/ranges.py",
    "src/ketch/static/server.py",
    "src/ketch/static/sending.py",
    "src/ketch/static/site.py",
    "src/ketch/static/validators.py",
    "src/ketch/asgi/websocket.py",
    "src/ketch/websocket/connection.py",
    "src/ketch/websocket/fastpath.py",
    "src/ketch/web/handler.py",
    "src/ketch/web/request.py",
    "src/ketch/web/response.py",
    "src/ketch/web/routing.py",
    "src/ketch/web/storage.py",
    "src/ketch/web/streams.py",
    "src/ketch/web/websocket.py",
]

# The setup.py commands that build extension modules; metadata-only runs skip mypyc (it is slow).
_BUILDS = {"bdist_wheel", "build", "build_ext", "install"}


def _mode() -> str:
    mode = os.environ.get("KETCH_COMPILE", "auto").strip().lower()
    if mode not in {"auto", "0", "1"}:
        sys.exit(f"KETCH_COMPILE must be auto, 0 or 1, not {mode!r}")
    return mode


def _note(message: str) -> None:
    print(f"ketch build: {message}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` that leaves a pure-Python package on failure, unless compiling is required."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:
            if _mode() == "1":
                raise
            # A half-built set would import a missing shared library: remove every output.
            for ext in self.extensions:
                path = self.get_ext_fullpath(ext.name)
                if os.path.exists(path):
                    os.remove(path)
            _note(f"compiling failed ({error}); installing the pure-Python package")


def ext_modules() -> list[object]:
    mode = _mode()
    if mode == "0" or "editable_wheel" in sys.argv or not _BUILDS & set(sys.argv):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        if mode == "1":
            raise
        _note("mypyc is not installed; installing the pure-Python package")
        return []
    try:
        return list(mypycify(COMPILED, opt_level="3"))
    except BaseException as error:  # mypyc reports type errors with SystemExit
        if mode == "1":
            raise
        _note(f"mypyc failed ({error!r}); installing the pure-Python package")
        return []


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
