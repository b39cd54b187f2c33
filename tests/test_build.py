"""The mypyc build: which modules it compiles, and the class shapes mypyc gets wrong.

These run in both suite runs; in the compiled one they check what `pip install .` installed.
"""

from __future__ import annotations

import abc
import ast
import importlib
import inspect
from pathlib import Path

import pytest

from ketch._compiled import is_compiled

REPO = Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    """The module names setup.py compiles (read from its source: importing it would build)."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets
        ):
            paths = ast.literal_eval(node.value)
            break
    else:
        raise AssertionError("setup.py has no COMPILED list")
    names = []
    for path in paths:
        assert (REPO / path).is_file(), path
        parts = Path(path).relative_to("src").with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = compiled_modules()


def test_the_compiled_list_is_the_hot_path() -> None:
    assert "ketch.http11.connection" in MODULES
    assert "ketch.server.protocol" in MODULES
    assert "ketch.asgi.http" in MODULES
    assert "ketch.web.handler" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_each_module_is_built_as_the_suite_run_expects(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert module.__file__.endswith(".py") is not is_compiled(), module.__file__


@pytest.mark.parametrize("name", MODULES)
def test_no_class_shares_an_abc_cache_with_its_base(name: str) -> None:
    # mypyc does not give a compiled class deriving from an ABC its own ABC state: the class
    # shares its base's cache, and isinstance({}, SomeMappingSubclass) becomes true.  Such
    # classes register with the ABC instead of inheriting from it.
    module = importlib.import_module(name)
    for cls in vars(module).values():
        if not inspect.isclass(cls) or cls.__module__ != name:
            continue
        if getattr(cls, "_is_protocol", False) and not getattr(cls, "_is_runtime_protocol", False):
            continue  # a typing.Protocol for annotations only: isinstance() refuses it anyway
        if isinstance(cls, abc.ABCMeta):
            assert "_abc_impl" in cls.__dict__, f"{cls} has no ABC state of its own"
