"""Whether this install runs mypyc-compiled modules, and the one mypyc marker the sources use.

`setup.py` compiles the hot modules (the HTTP/1.1 core, the connection code and the front doors'
request paths) with mypyc when it can; the same sources run interpreted otherwise.  Compiled classes
refuse Python subclasses unless marked, so the public classes users subclass carry
``@mypyc_attr(allow_interpreted_subclasses=True)``.  mypyc reads that marker at build time; at run
time it is a no-op, and ``mypy_extensions`` is not needed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_compiled", "mypyc_attr"]

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # an install without mypy_extensions: the marker does nothing

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls


def is_compiled() -> bool:
    """True when the HTTP/1.1 core was loaded from a mypyc-compiled extension module."""
    from .http11 import connection

    return not connection.__file__.endswith(".py")
