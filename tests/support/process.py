"""The ``ketch`` command in a subprocess: start it on port 0, read its port from the banner."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["REPO", "KetchProcess", "ketch_command", "run_ketch"]

REPO = Path(__file__).resolve().parents[2]
KETCH = str(Path(sys.executable).with_name("ketch"))
BANNER = re.compile(
    r"ketch \S+ serving (?P<app>.+?) on (?P<url>\S+)"
    r" \(loop: (?P<loop>\w+), (?P<build>compiled|interpreted)\)"
    r"(?: with (?P<workers>\d+) workers?)?"
)


def ketch_command(*args: str) -> list[str]:
    return [KETCH, *args]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without KETCH_* settings, WEB_CONCURRENCY or systemd variables, plus
    `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KETCH_", "LISTEN_", "PYTEST_", "COV_")) and k != "WEB_CONCURRENCY"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_ketch(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Run ``ketch args...`` to completion (for commands that exit on their own)."""
    return subprocess.run(
        ketch_command(*args),
        capture_output=True,
        text=True,
        env=clean_env(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


class KetchProcess:
    """A serving ``ketch`` subprocess.

    Use as a context manager; `wait_serving` returns the first listener's URL from the banner,
    `stop` sends SIGTERM and returns the exit status; `stdout` / `stderr` hold the lines so far.

    ketch logs its banner just before it installs its signal handlers, so a test should make a
    request (or otherwise wait) before `stop`; ``test_cli`` pins that race down on its own.
    """

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
        argv: list[str] | None = None,
        pass_fds: tuple[int, ...] = (),
        watch: str = "stderr",
    ) -> None:
        self.argv = argv if argv is not None else ketch_command(*args)
        self.watch = watch  # the stream whose lines `wait_for_line` sees (ketch logs to stderr)
        self.env = clean_env(env)
        self.cwd = cwd
        self.pass_fds = pass_fds
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> KetchProcess:
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=self.cwd,
            pass_fds=self.pass_fds,
        )
        for stream, sink, notify in (
            (self.proc.stdout, self.stdout, self.watch == "stdout"),
            (self.proc.stderr, self.stderr, self.watch == "stderr"),
        ):
            thread = threading.Thread(target=self._pump, args=(stream, sink, notify), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _pump(self, stream: Any, sink: list[str], notify: bool) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))
            if notify:
                self._lines.put(line)
        if notify:
            self._lines.put(None)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = 15) -> re.Match[str]:
        """The first line of the watched stream (from now on) that `pattern` finds something in."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no line matching {pattern.pattern!r} within {timeout}s; "
                    f"stdout: {self.stdout}, stderr: {self.stderr}"
                )
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._join()
                raise AssertionError(
                    f"the process exited ({self.proc and self.proc.poll()}) first; "
                    f"stdout: {self.stdout}, stderr: {self.stderr}"
                )
            match = pattern.search(line)
            if match:
                return match

    def wait_serving(self, timeout: float = 15) -> str:
        """Wait for the start-up banner; returns the URL it names."""
        return self.wait_for_line(BANNER, timeout)["url"]

    def port(self, timeout: float = 15) -> int:
        return int(self.wait_serving(timeout).rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Signal the process, wait for it to exit and for its output; returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._join()
        return code

    def wait(self, timeout: float = 15) -> int:
        """Wait for the process to exit on its own; returns the exit status."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self._join()
        return code

    def _join(self) -> None:
        for thread in self._threads:
            thread.join(5)

    def __exit__(self, *exc_info: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._join()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
