"""Architecture rules, checked in fresh interpreters (aiohttp ``test_circular_imports.py``, trio
``test_exports.py``): the sans-IO core imports no I/O, every module imports on its own, and the
public names exist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ketch.http11

SRC = Path(__file__).resolve().parents[1] / "src"
HTTP11 = SRC / "ketch" / "http11"
CORE_MODULES = sorted(
    f"ketch.http11.{path.stem}" if path.stem != "__init__" else "ketch.http11"
    for path in HTTP11.glob("*.py")
)
# The core never does I/O, reads a clock, logs or starts tasks (house style §3.2).
FORBIDDEN = ("asyncio", "socket", "ssl", "logging", "time", "threading", "selectors")
# Prints the forbidden modules an import added.  A baseline is taken first: some interpreters
# load "time" while starting up, before any of our code runs.
BEFORE = "import sys\nbefore = set(sys.modules)\n"
AFTER = f"print(','.join(sorted(m for m in {FORBIDDEN!r} if m in set(sys.modules) - before)))\n"


def run_python(code: str) -> str:
    """Run `code` in a fresh interpreter that imports ketch from this checkout."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=SRC,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_core_modules_are_found() -> None:
    assert "ketch.http11.connection" in CORE_MODULES
    assert len(CORE_MODULES) >= 10


def test_importing_the_core_loads_no_io_clock_logging_or_threads() -> None:
    loaded = run_python(BEFORE + "import ketch.http11\n" + AFTER).strip()
    # The package root (src/ketch/__init__.py) runs first: it must not import the server eagerly.
    assert loaded == "", f"import ketch.http11 loaded {loaded} (see src/ketch/__init__.py)"


def test_the_check_itself_sees_a_forbidden_import() -> None:
    # Guards the test above against passing vacuously.
    assert "asyncio" in run_python(BEFORE + "import asyncio\n" + AFTER)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_every_core_module_imports_on_its_own(module: str) -> None:
    run_python(f"import importlib\nimportlib.import_module({module!r})\n")


@pytest.mark.parametrize("module", CORE_MODULES)
def test_every_core_module_itself_imports_no_io(module: str) -> None:
    # The package root (ketch/__init__.py) is replaced by an empty package, so this checks the
    # core's own imports whatever the root re-exports.
    code = (
        "import importlib, types\n"
        + BEFORE
        + "root = types.ModuleType('ketch')\n"
        + f"root.__path__ = [{str(SRC / 'ketch')!r}]\n"
        + "sys.modules['ketch'] = root\n"
        + f"importlib.import_module({module!r})\n"
        + AFTER
    )
    assert run_python(code).strip() == ""


def test_core_all_names_exist() -> None:
    assert ketch.http11.__all__
    missing = [name for name in ketch.http11.__all__ if not hasattr(ketch.http11, name)]
    assert missing == []
    assert len(set(ketch.http11.__all__)) == len(ketch.http11.__all__)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_every_core_module_all_names_exist(module: str) -> None:
    code = (
        "import importlib\n"
        f"m = importlib.import_module({module!r})\n"
        "print(','.join(n for n in getattr(m, '__all__', ['<no __all__>']) if not hasattr(m, n)))\n"
    )
    assert run_python(code).strip() == ""


def test_core_all_is_documented() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "http11.md"
    text = doc.read_text(encoding="utf-8")
    undocumented = [name for name in ketch.http11.__all__ if f"`{name}`" not in text]
    assert undocumented == []


def test_docs_example_runs() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "http11.md").read_text(encoding="utf-8")
    example = doc.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, "docs/http11.md", "exec"), {})
