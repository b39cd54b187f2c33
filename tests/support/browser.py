"""Headless Chromium driven over the Chrome DevTools Protocol (CDP), for tests that need a browser.

``async with Browser.launch() as browser:`` starts Chromium with a throw-away profile, attaches to
a fresh page and gives `Browser.evaluate`: load a URL, run a JavaScript expression there (promises
are awaited) and return its value as JSON. A thrown exception or a rejected promise raises
`JavaScriptError` with the JavaScript message; what the page logged (console calls, uncaught
exceptions, network errors) is kept in `Browser.console` and added to every error's message.

Every step is bounded in time (each method takes a ``timeout``, hence the ASYNC109 exemptions:
a test cannot forget one), and leaving the block always stops the browser: the CDP connection
is closed, Chromium asked to exit, then terminated and at last killed with its whole process group,
and the profile directory removed.

`chromium_or_skip` finds the binary, or skips the test (fails it when ``CI=true``: CI installs
Chromium with ``scripts/install-test-deps``, so a missing browser there is a broken setup).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import tempfile
import time
from typing import TYPE_CHECKING, Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from websockets.asyncio.client import ClientConnection

__all__ = [
    "CHROMIUM_FLAGS",
    "CHROMIUM_NAMES",
    "DEFAULT_TIMEOUT",
    "Browser",
    "BrowserError",
    "JavaScriptError",
    "chromium_or_skip",
    "find_chromium",
]

DEFAULT_TIMEOUT = 20.0
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Quiet and quick in a container, and nothing that reaches out of the machine. ``--no-sandbox``:
# the tests run as root, where Chromium refuses its sandbox; ``--disable-dev-shm-usage``: Docker's
# /dev/shm is often 64 MiB; ``--log-level=3``: only fatal logs (no D-Bus complaints on stderr).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-component-extensions-with-background-pages",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-translate",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--metrics-recording-only",
    "--mute-audio",
    "--no-pings",
    "--password-store=basic",
    "--use-mock-keychain",
    "--log-level=3",
)

DEVTOOLS_LINE = re.compile(r"DevTools listening on (ws://\S+)")
STDERR_LINES = 200  # Chromium's stderr kept for error messages
CONSOLE_ENTRIES = 500
MAX_MESSAGE = 256 * 1024 * 1024  # CDP messages carry whole values and page sources


class BrowserError(Exception):
    """The browser failed to start, lost its connection, timed out or answered a CDP error."""


class JavaScriptError(BrowserError):
    """The evaluated expression threw, or its promise rejected.

    `text` is the JavaScript exception as Chromium describes it (``Error: boom`` and its stack,
    or the thrown value); the message adds the URL, the expression and the page's console.
    """

    def __init__(self, message: str, *, text: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.text = text
        self.details = details


def find_chromium() -> str | None:
    """The path of a Chromium or Chrome binary on PATH (``$CHROMIUM`` first, if set), or None."""
    explicit = os.environ.get("CHROMIUM")
    for name in ((explicit,) if explicit else ()) + CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_or_skip() -> str:
    """`find_chromium`, or skip the test; under ``CI=true`` a missing browser fails it instead."""
    path = find_chromium()
    if path is not None:
        return path
    reason = (
        f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)});"
        " scripts/install-test-deps installs Debian's chromium package when run as root"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


class Browser:
    """One headless Chromium and one page in it; make it with `Browser.launch`."""

    def __init__(self, process: asyncio.subprocess.Process, profile: str, timeout: float) -> None:
        self.process = process
        self.profile = profile
        self.timeout = timeout
        self.stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self.console: collections.deque[str] = collections.deque(maxlen=CONSOLE_ENTRIES)
        self.session_id: str | None = None  # the page's flat CDP session
        self.target_id: str | None = None
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loads: collections.defaultdict[str, asyncio.Event] = collections.defaultdict(
            asyncio.Event
        )  # "load" lifecycle events seen, by loader id
        self._broken = asyncio.Event()  # the connection is gone, or the page crashed or closed
        self._broken_reason = ""
        self._ws_closed = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- Life cycle --------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(
        cls,
        executable: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        args: Sequence[str] = (),
    ) -> AsyncIterator[Browser]:
        """Start Chromium (`chromium_or_skip` unless `executable`), open a page, stop it all after.

        `timeout` bounds the start-up and is the default of each later step; `args` are extra
        Chromium flags.
        """
        if executable is None:
            executable = chromium_or_skip()
        profile = tempfile.mkdtemp(prefix="ketch-chromium-")
        try:
            # HOME and the XDG directories point into the profile: Chromium writes ~/.pki,
            # ~/.cache/dconf and its crash database there otherwise.
            env = dict(os.environ)
            for name, sub in (
                ("HOME", "home"),
                ("XDG_CONFIG_HOME", "config"),
                ("XDG_CACHE_HOME", "cache"),
                ("XDG_DATA_HOME", "data"),
            ):
                env[name] = os.path.join(profile, sub)
                os.mkdir(env[name])
            process = await asyncio.create_subprocess_exec(
                executable,
                *CHROMIUM_FLAGS,
                *args,
                f"--user-data-dir={os.path.join(profile, 'user-data')}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group, killed whole at the end
            )
        except BaseException:
            shutil.rmtree(profile, ignore_errors=True)
            raise
        browser = cls(process, profile, timeout)
        try:
            await browser._start()
            yield browser
        finally:
            await browser._stop()

    async def _start(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                url = await self._read_devtools_url()
                self._tasks.append(asyncio.create_task(self._drain_stderr()))
                self._ws = await connect(
                    url,
                    max_size=MAX_MESSAGE,
                    proxy=None,  # never through $http_proxy: the browser is on 127.0.0.1
                    compression=None,
                    ping_interval=None,
                    open_timeout=None,  # the asyncio.timeout above bounds it
                    close_timeout=2,
                )
                self._tasks.append(asyncio.create_task(self._read_messages()))
                target = await self.send("Target.createTarget", {"url": "about:blank"})
                self.target_id = target["targetId"]
                attached = await self.send(
                    "Target.attachToTarget", {"targetId": self.target_id, "flatten": True}
                )
                self.session_id = attached["sessionId"]
                for method, params in (
                    ("Page.enable", {}),
                    ("Page.setLifecycleEventsEnabled", {"enabled": True}),
                    ("Runtime.enable", {}),
                    ("Log.enable", {}),
                    ("Inspector.enable", {}),  # for Inspector.targetCrashed
                ):
                    await self.send(method, params, session=self.session_id)
        except TimeoutError:
            raise BrowserError(
                f"Chromium did not start within {self.timeout}s{self.diagnostics()}"
            ) from None

    async def _read_devtools_url(self) -> str:
        assert self.process.stderr is not None
        while True:
            raw = await self.process.stderr.readline()
            if not raw:
                code = await self.process.wait()
                raise BrowserError(
                    f"Chromium exited ({code}) before its DevTools URL{self.diagnostics()}"
                )
            line = raw.decode(errors="replace").rstrip()
            self.stderr.append(line)
            match = DEVTOOLS_LINE.search(line)
            if match:
                return match[1]

    async def _drain_stderr(self) -> None:
        # Keep reading: a full pipe would block Chromium's logging thread.
        assert self.process.stderr is not None
        while raw := await self.process.stderr.readline():
            self.stderr.append(raw.decode(errors="replace").rstrip())

    async def _stop(self) -> None:
        """Close the connection, end Chromium and its process group, remove the profile."""
        try:
            if self._ws is not None and not self._ws_closed:
                with contextlib.suppress(BrowserError):
                    await self.send("Browser.close", timeout=2)
            if self._ws is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(3):
                        await self._ws.close()
            await self._end_process()
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(BaseException):
                    await task
            self._break("the browser was closed")
            shutil.rmtree(self.profile, ignore_errors=True)

    async def _end_process(self) -> None:
        process = self.process
        pgid = process.pid  # start_new_session: the group's id is the leader's pid
        for sig, grace in ((None, 3.0), (signal.SIGTERM, 5.0)):
            if process.returncode is None and sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, sig)
            try:
                async with asyncio.timeout(grace):
                    await process.wait()
                break
            except TimeoutError:
                continue
        # Then whatever is left: the group (renderers, zygotes, the leader if it resisted) and
        # the crash handlers, which start sessions of their own but name the profile directory.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                while pids := leftovers(pgid, self.profile):
                    for pid in pids:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.kill(pid, signal.SIGKILL)
                    await asyncio.sleep(0.02)
        if process.returncode is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await process.wait()

    # -- The protocol ------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Send one CDP command (to the page's `session`, or the browser) and return its result."""
        if self._ws is None or (self._broken.is_set() and method != "Browser.close"):
            reason = self._broken_reason or "not connected"
            raise BrowserError(f"{method}: {reason}{self.diagnostics()}")
        message: dict[str, Any] = {"id": next(self._ids), "method": method}
        message["params"] = params or {}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self._ws.send(json.dumps(message))
                reply = await future
        except TimeoutError:
            raise BrowserError(f"{method}: no answer within {limit}s{self.diagnostics()}") from None
        except ConnectionClosed as exc:
            raise BrowserError(f"{method}: connection lost ({exc}){self.diagnostics()}") from None
        finally:
            self._pending.pop(message["id"], None)
        if "error" in reply:
            error = reply["error"]
            raise BrowserError(f"{method}: {error.get('message')} ({error.get('code')})")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def _read_messages(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.get(message["id"])
                    if future is not None and not future.done():
                        future.set_result(message)
                elif message.get("sessionId") == self.session_id:
                    self._on_page_event(message["method"], message.get("params", {}))
                elif (
                    message.get("method") == "Target.detachedFromTarget"
                    and message.get("params", {}).get("sessionId") == self.session_id
                ):
                    self._break("the page was closed")
        except ConnectionClosed:
            pass
        finally:
            self._ws_closed = True
            self._break("the CDP connection closed")

    def _break(self, reason: str) -> None:
        """Fail whatever waits for the browser: it will not answer any more."""
        if not self._broken.is_set():
            self._broken_reason = reason
            self._broken.set()
        error = BrowserError(f"{self._broken_reason}{self.diagnostics()}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    def _on_page_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.lifecycleEvent" and params.get("name") == "load":
            self._loads[params["loaderId"]].set()
        elif method == "Inspector.targetCrashed":
            self.console.append("the page crashed")
            self._break("the page crashed")
        elif method == "Runtime.consoleAPICalled":
            args = " ".join(describe(arg) for arg in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {args}")
        elif method == "Runtime.exceptionThrown":
            self.console.append(f"exception: {exception_text(params['exceptionDetails'])}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            where = f" ({entry['url']})" if entry.get("url") else ""
            self.console.append(
                f"{entry.get('source')} {entry.get('level')}: {entry['text']}{where}"
            )

    # -- What tests use ----------------------------------------------------------------------

    async def navigate(self, url: str, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Load `url` in the page and wait for its load event."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                result = await self.send(
                    "Page.navigate", {"url": url}, session=self.session_id, timeout=limit + 1
                )
                if result.get("errorText"):
                    raise BrowserError(
                        f"navigating to {url}: {result['errorText']}{self.diagnostics()}"
                    )
                loader = result.get("loaderId")
                if loader is None:  # a same-document navigation (only the fragment changed)
                    return
                await self._until(self._loads[loader])
        except TimeoutError:
            raise BrowserError(
                f"{url} did not finish loading within {limit:.3g}s{self.diagnostics()}"
            ) from None

    async def run(self, expression: str, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Evaluate `expression` in the page as it is; its (awaited) value, as JSON makes it."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                result = await self.send(
                    "Runtime.evaluate",
                    {
                        "expression": expression,
                        "awaitPromise": True,
                        "returnByValue": True,
                    },
                    session=self.session_id,
                    timeout=limit + 1,  # the timeout above speaks first
                )
        except TimeoutError:
            raise BrowserError(
                f"{expression!r} did not settle within {limit:.3g}s{self.diagnostics()}"
            ) from None
        details = result.get("exceptionDetails")
        if details is not None:
            text = exception_text(details)
            raise JavaScriptError(
                f"{expression!r} raised {text}{self.diagnostics(stderr=False)}",
                text=text,
                details=details,
            )
        return remote_value(result["result"])

    async def evaluate(
        self,
        url: str,
        expression: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """`navigate` to `url`, then `run` `expression` there; both within `timeout` seconds."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        await self.navigate(url, timeout=limit)
        try:
            return await self.run(expression, timeout=max(deadline - time.monotonic(), 0.001))
        except BrowserError as exc:
            exc.args = (f"at {url}: {exc.args[0]}", *exc.args[1:])
            raise

    def diagnostics(self, *, stderr: bool = True) -> str:
        """What the page logged (and Chromium's last stderr lines), to end an error message with."""
        parts = []
        if self.console:
            parts.append("\npage console:\n  " + "\n  ".join(self.console))
        if self.process.returncode is not None:
            parts.append(f"\nChromium exited with {self.process.returncode}")
        if stderr and self.stderr:
            parts.append("\nChromium stderr (last lines):\n  " + "\n  ".join(self.stderr))
        return "".join(parts)

    async def _until(self, event: asyncio.Event) -> None:
        """Wait for `event`; raise `BrowserError` if the browser breaks down first."""
        waiters = [asyncio.create_task(event.wait()), asyncio.create_task(self._broken.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not event.is_set():
            raise BrowserError(f"{self._broken_reason}{self.diagnostics()}")


def leftovers(pgid: int, marker: str) -> list[int]:
    """Live processes in group `pgid` or with `marker` in their command line (Linux's /proc).

    Zombies, dead already, do not count: the leader's orphans are reaped by PID 1, which in some
    containers takes a second or two, and waiting for that would slow every test down for nothing.
    Without /proc, the group's leader if it is alive.
    """
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    needle = marker.encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), "rb") as f:
                fields = f.read().rpartition(b")")[2].split()  # what follows "pid (comm)"
            state, group = fields[0], int(fields[2])
            if state in {b"Z", b"X"}:
                continue
            if group != pgid:
                with open(os.path.join(entry.path, "cmdline"), "rb") as f:
                    if needle not in f.read():
                        continue
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
        found.append(int(entry.name))
    return found


def describe(obj: dict[str, Any]) -> str:
    """A CDP RemoteObject as a console would print it."""
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return str(obj.get("unserializableValue") or obj.get("description") or obj.get("type"))


def exception_text(details: dict[str, Any]) -> str:
    """The text of CDP ExceptionDetails: the exception's description (with its stack) if any."""
    exception = details.get("exception")
    if exception is not None:
        text = describe(exception)
        if "value" in exception:  # a thrown non-Error: `throw "x"`, a rejection with a value
            text = f"{details.get('text', 'Uncaught')} {text}"
        return text
    where = f" at {details['url']}:{details.get('lineNumber')}" if details.get("url") else ""
    return f"{details.get('text', 'exception')}{where}"


def remote_value(obj: dict[str, Any]) -> Any:
    """The Python value of a RemoteObject returned by value (undefined is None)."""
    if "value" in obj:
        return obj["value"]
    special = obj.get("unserializableValue")
    if special is None:
        return None  # undefined, or a value JSON cannot carry (a function, a symbol)
    if special.endswith("n"):  # a BigInt
        return int(special[:-1])
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}.get(
        special, special
    )
