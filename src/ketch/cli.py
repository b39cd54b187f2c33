"""The ``ketch`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def main(argv: list[str] | None = None) -> int:
    """Run the ``ketch`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="ketch", description="A strict, fast HTTP/1.1 server.")
    parser.add_argument("--version", action="version", version=f"ketch {__version__}")
    parser.parse_args(argv)
    parser.print_help(sys.stderr)
    return 0
