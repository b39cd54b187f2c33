"""Which build of ketch the suite is testing: the interpreted sources, or the mypyc-compiled build.

``scripts/test`` runs the suite twice: on the editable install (interpreted, with coverage) and
with ``KETCH_TEST_BUILD=compiled PYTHONPATH=build/compiled`` on what ``pip install .`` installs.
A run that asked for one build and imported the other stops at once instead of passing silently.
"""

from __future__ import annotations

import os

import pytest

from ketch._compiled import is_compiled


def pytest_configure(config: pytest.Config) -> None:
    wanted = os.environ.get("KETCH_TEST_BUILD", "source")
    if wanted not in {"source", "compiled"}:
        raise pytest.UsageError(f"KETCH_TEST_BUILD must be source or compiled, not {wanted!r}")
    if is_compiled() != (wanted == "compiled"):
        import ketch

        raise pytest.UsageError(
            f"KETCH_TEST_BUILD={wanted} but ketch was imported from {ketch.__file__}"
            f" ({'compiled' if is_compiled() else 'interpreted'})"
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"ketch build: {'compiled (mypyc)' if is_compiled() else 'interpreted'}"
