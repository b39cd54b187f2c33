"""`Supervisor`: ``ketch --workers N`` and ``--reload``, one parent process and forked workers.

Theory of operation:

* The parent binds the listening sockets once, before any fork: a bind error ends the command
  before anything starts, and port 0 resolves once.  Workers inherit the sockets, so the kernel
  queues connections in one backlog while workers come and go: a restart refuses no one.  With
  ``--reuse-port`` each worker *slot* gets its own SO_REUSEPORT socket (the kernel spreads the
  connections over them); the parent keeps a slot's socket open across restarts of its worker,
  so what the kernel queued there waits for the replacement instead of being reset.
* The parent never runs an event loop and never imports the app.  It is a `selectors` loop over a
  self-pipe written by the signal handlers (`signal.set_wakeup_fd`), one status pipe per worker
  and the reload watcher's pipe.  A worker imports the app after the fork, so a new worker runs the
  code on disk now: that is what SIGHUP and ``--reload`` rely on.
* A worker writes lines on its status pipe: ``ready LOOP`` once it accepts connections,
  ``error MESSAGE`` (one line) when it cannot start, ``recycle`` when it served
  ``--limit-max-requests``.  It watches a pipe only the parent can write to: when that reads EOF
  the parent is gone and the worker drains and exits.
* Slots have stable indexes 0..N-1; a replacement takes its predecessor's index (`Slot`, where
  per-slot things such as restart counts live).
* Replacing a worker (SIGHUP, reload, recycling) starts the successor first and tells the old
  one to drain (SIGTERM) only once the successor is ready.  If the successor cannot start, the
  old worker keeps serving: an edit that breaks the import keeps the last good code running.
* A worker that dies is replaced at once; one that keeps dying within `STABLE` seconds of its
  start waits 0.5, 1, 2, 4, then 5 seconds before each new attempt.  A worker that cannot start
  the first time ends the command with status 1 and its one-line error: there is nothing good to
  keep serving, and a restart loop would only hide the mistake.
* SIGTERM/SIGINT: every worker gets SIGTERM and drains within ``--timeout-graceful-shutdown``;
  what still runs `KILL_MARGIN` seconds after that gets SIGKILL.  A second signal (or SIGQUIT)
  sends the workers SIGQUIT: they skip the rest of their grace period.  A worker drains on SIGTERM
  however often it comes (systemd signals every process of the unit, then we pass it on too).
* ``--metrics-bind``: a `metrics.MetricsBlock` made before the first fork is shared by every
  process.  Each worker process records into a slot of its own, taken from a free list when it
  is forked and given back when it exits (old and new workers of a rolling restart run at once,
  and two processes must never add to the same words).  The metrics socket is bound here once and
  inherited like the listening sockets: every worker answers ``/metrics`` from the whole block, so
  scrapes go on while workers come and go.  The last slot is the supervisor's (restarts).
* SIGHUP: a rolling restart, one worker at a time.  SIGTTIN/SIGTTOU: one worker more or fewer
  (never fewer than one).  Workers ignore SIGINT, SIGHUP, SIGTTIN and SIGTTOU: a terminal's
  Ctrl-C reaches the whole process group, and the parent alone decides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import KetchError
from .config import Config
from .listeners import bind_sockets, describe
from .metrics import MetricsBlock, parse_bind
from .worker import MetricsExport, read_lines, run_worker

if TYPE_CHECKING:
    from collections.abc import Callable

    from .reload import Watcher
    from .server import Server

__all__ = ["Slot", "Supervisor", "Worker", "WorkerError"]

error_log = logging.getLogger("ketch.error")

STABLE = 10.0
"""A worker that served this many seconds before it died is restarted at once."""
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 5.0
KILL_MARGIN = 5.0
"""Seconds past the grace period a draining worker gets before SIGKILL (its lifespan shutdown)."""
MEMORY_CHECK_EVERY = 1.0
TICK = 1.0

WORKER_IGNORES = (signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU)
STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
HANDLED = (*STOP, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU)


class WorkerError(KetchError):
    """A worker could not start the first time; the message is its one-line reason."""


@dataclass(eq=False)
class Worker:
    """One worker process, as the supervisor sees it."""

    index: int
    pid: int
    status_fd: int
    reason: str
    started: float
    first: bool = False
    ready_at: float | None = None
    draining: bool = False
    retired_at: float = math.inf
    replaces: Worker | None = None
    """The worker this one takes over from once ready (SIGHUP, reload, recycling)."""
    wants_replacement: str | None = None
    """Why this worker should be replaced (--limit-max-requests, --max-worker-memory)."""
    error: str | None = None
    killed: bool = False
    buffer: bytes = b""
    metrics_slot: int | None = None
    """The slot of the metrics block this process records into (--metrics-bind)."""


@dataclass(eq=False)
class Slot:
    """A worker slot: its index survives restarts."""

    index: int
    sockets: list[socket.socket] = field(default_factory=list)
    """With --reuse-port, this slot's own listening sockets (else the shared ones are used)."""
    restarts: int = 0
    failures: int = 0
    """Workers of this slot that died young, in a row (for the backoff)."""
    restart_at: float | None = None
    retry_at: float = 0.0
    """No new replacement attempt before this time (after a successor failed to start)."""


def _backoff(failures: int) -> float:
    if failures <= 0:
        return 0.0
    return min(BACKOFF_FIRST * 2.0 ** (failures - 1), BACKOFF_MAX)


def _workers(count: int) -> str:
    return f"{count} worker" if count == 1 else f"{count} workers"


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _rss_mib(pid: int) -> float | None:
    """A process's resident memory in MiB (Linux), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            resident = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


class Supervisor:
    """Run workers that each serve the app on inherited listening sockets.

    Args:
        config: the settings (``workers`` is taken from `workers`).
        build: called in a worker, inside its event loop: imports the app and returns the
            `Server` for the sockets given.  Raise `KetchError` with a one-line message when the
            app cannot be loaded.
        workers: how many workers to run.
        on_serving: called once, when every first worker is ready, with the listeners' URLs and
            the workers' event loop name (the start-up banner).
        watcher: the reload watcher (``--reload``); a change rolls every worker.
    """

    def __init__(
        self,
        config: Config,
        build: Callable[[list[socket.socket]], Server],
        *,
        workers: int,
        on_serving: Callable[[list[str], str], None],
        watcher: Watcher | None = None,
    ) -> None:
        self.config = config
        self.build = build
        self.target = max(1, workers)
        self.on_serving = on_serving
        self.watcher = watcher
        self.workers: dict[int, Worker] = {}
        self.slots: list[Slot] = []
        self.sockets: list[socket.socket] = []
        self.per_slot = False
        self.phase = "starting"  # then "running", then "stopping"
        self.status = 0
        self.fatal: str | None = None
        self.stop_deadline = math.inf
        self.killed_all = False
        self.stop_signal: str | None = None  # the first stop signal, once received
        self.roll: deque[int] = deque()
        self.roll_reason = ""
        self.rolling: Worker | None = None
        self.loop_name = "asyncio"
        self.next_memory_check = 0.0
        self._signals: deque[int] = deque()
        self._selector = selectors.DefaultSelector()
        self._wakeup: tuple[int, int] | None = None
        self._life: tuple[int, int] | None = None
        self._old_handlers: dict[int, Any] = {}
        self.metrics: MetricsBlock | None = None
        self.metrics_sockets: list[socket.socket] = []
        self._free_metrics_slots: deque[int] = deque()

    # -- the parent ------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit status.

        Raises:
            WorkerError: a worker could not start the first time (after the others stopped).
            OSError: the sockets could not be bound.
        """
        try:
            self._bind()
        except BaseException:
            self._selector.close()
            raise
        try:
            self._install_signal_handlers()
            self._life = os.pipe()
            if self.watcher is not None:
                self.watcher.start(self._close_in_child)
                self._selector.register(self.watcher.fileno(), selectors.EVENT_READ, self._on_watch)
            for index in range(self.target):
                self._spawn(index, "start", first=True)
            while self.phase != "stopping" or self.workers:
                for key, _ in self._selector.select(self._timeout()):
                    key.data()
                self._handle_signals()
                self._reap()
                self._tick()
        finally:
            self._cleanup()
        if self.fatal is not None:
            raise WorkerError(self.fatal)
        return self.status

    def _bind(self) -> None:
        config = self.config
        self.per_slot = config.reuse_port and config.fd is None and config.uds is None
        if self.per_slot and os.environ.get("LISTEN_PID") == str(os.getpid()):
            self.per_slot = False  # systemd's sockets are shared
        if not self.per_slot:
            self.sockets = bind_sockets(config)
        else:
            for index in range(self.target):
                self._slot(index)
        if config.metrics_bind:
            host, port = parse_bind(config.metrics_bind)
            self.metrics_sockets = bind_sockets(Config(host=host, port=port))
            # Room for every worker twice over (rolling restarts, recycling, SIGTTIN), plus ours.
            processes = max(4 * self.target, self.target + 16)
            self.metrics = MetricsBlock(processes + 1)
            self._free_metrics_slots = deque(range(processes))

    @property
    def metrics_url(self) -> str | None:
        """Where the workers serve the metrics, if they do."""
        if not self.metrics_sockets:
            return None
        sock = self.metrics_sockets[0]
        return describe(sock.family, sock.getsockname(), "http") + "/metrics"

    def _slot(self, index: int) -> Slot:
        while len(self.slots) <= index:
            self.slots.append(Slot(len(self.slots)))
        slot = self.slots[index]
        if self.per_slot and not slot.sockets:
            config = self.config
            if self.slots[0].sockets and config.port == 0:
                port = self.slots[0].sockets[0].getsockname()[1]
                config = dataclasses.replace(config, port=port)
            slot.sockets = bind_sockets(config)
        return slot

    def _listening(self) -> list[socket.socket]:
        return self.sockets or self.slots[0].sockets

    @property
    def urls(self) -> list[str]:
        """Printable addresses of the listeners."""
        scheme = "https" if self.config.is_ssl else "http"
        return [describe(s.family, s.getsockname(), scheme) for s in self._listening()]

    def _install_signal_handlers(self) -> None:
        read, write = os.pipe()
        for fd in (read, write):
            os.set_blocking(fd, False)
        self._wakeup = (read, write)
        self._selector.register(read, selectors.EVENT_READ, self._drain_wakeup)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for signum in (*HANDLED, signal.SIGCHLD):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum != signal.SIGCHLD:
            self._signals.append(signum)

    def _drain_wakeup(self) -> None:
        assert self._wakeup is not None
        with contextlib.suppress(OSError):
            while os.read(self._wakeup[0], 4096):
                pass

    def _timeout(self) -> float:
        now = time.monotonic()
        soonest = now + TICK
        for slot in self.slots:
            if slot.restart_at is not None:
                soonest = min(soonest, slot.restart_at)
        if self.phase == "stopping":
            soonest = min(soonest, self.stop_deadline)
        return max(0.0, soonest - now)

    def _cleanup(self) -> None:
        for worker in self.workers.values():  # only after an unexpected error: do not orphan
            with contextlib.suppress(OSError):
                os.kill(worker.pid, signal.SIGKILL)
        self._stop_watcher()
        signal.set_wakeup_fd(-1)
        for signum, handler in self._old_handlers.items():
            if handler is not None:
                signal.signal(signum, handler)
        self._selector.close()
        for pair in (self._wakeup, self._life):
            for fd in pair or ():
                with contextlib.suppress(OSError):
                    os.close(fd)
        for sock in [
            *self.sockets,
            *self.metrics_sockets,
            *(s for slot in self.slots for s in slot.sockets),
        ]:
            address = sock.getsockname() if sock.fileno() >= 0 else None
            if sock.family == socket.AF_UNIX and isinstance(address, str) and address:
                with contextlib.suppress(OSError):
                    os.unlink(address)
            sock.close()

    # -- workers: start, messages, exit --------------------------------------------------------

    def _spawn(
        self, index: int, reason: str, *, first: bool = False, replaces: Worker | None = None
    ) -> Worker | None:
        slot = self._slot(index)
        export: MetricsExport | None = None
        metrics_slot: int | None = None
        if self.metrics is not None:
            if self._free_metrics_slots:
                metrics_slot = self._free_metrics_slots.popleft()
            else:
                error_log.warning("Worker %d records no metrics: no free slot", index)
            export = MetricsExport(self.metrics, metrics_slot, self.metrics_sockets)
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            if metrics_slot is not None:
                self._free_metrics_slots.append(metrics_slot)
            os.close(read)
            os.close(write)
            error_log.error("Cannot start worker %d: %s", index, exc)
            slot.failures += 1
            slot.restart_at = time.monotonic() + _backoff(slot.failures)
            return None
        if pid == 0:  # pragma: no cover  # the worker; measured with coverage's patch=fork
            code = 1
            try:
                os.close(read)
                self._close_in_child(keep=slot)
                assert self._life is not None
                code = run_worker(
                    self.config, self.build, slot.sockets or self.sockets, index, write,
                    self._life[0], metrics=export,
                )  # fmt: skip
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(BaseException):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(write)
        os.set_blocking(read, False)
        worker = Worker(index, pid, read, reason, time.monotonic(), first=first, replaces=replaces)
        worker.metrics_slot = metrics_slot
        if self.metrics is not None and not first and reason != "SIGTTIN":
            self.metrics.slot(self.metrics.slots - 1).worker_restarted()
        self.workers[pid] = worker
        self._selector.register(read, selectors.EVENT_READ, lambda: self._on_status(worker))
        error_log.debug("Worker %d (pid %d) starting (%s)", index, pid, reason)
        return worker

    def _close_in_child(self, keep: Slot | None = None) -> None:
        """In a forked child: drop what belongs to the parent (signals, pipes, other sockets)."""
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        for signum in WORKER_IGNORES:
            signal.signal(signum, signal.SIG_IGN)
        self._selector.close()
        fds = [w.status_fd for w in self.workers.values() if w.status_fd >= 0]
        fds.extend(self._wakeup or ())
        if self._life is not None:
            fds.append(self._life[1])
        if self.watcher is not None and self.watcher.fileno() >= 0:
            fds.append(self.watcher.fileno())
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        for slot in self.slots:
            if slot is not keep:
                for sock in slot.sockets:
                    sock.close()
        if keep is None:  # not a worker (the reload watcher)
            for sock in [*self.sockets, *self.metrics_sockets]:
                sock.close()

    def _on_status(self, worker: Worker) -> bool:
        """Read what `worker` said; False once its pipe is closed or empty."""
        try:
            got = read_lines(worker.status_fd, worker.buffer)
        except BlockingIOError:
            return False
        if got is None:
            self._selector.unregister(worker.status_fd)
            os.close(worker.status_fd)
            worker.status_fd = -1
            return False
        lines, worker.buffer = got
        for line in lines:
            kind, _, rest = line.decode("utf-8", "replace").partition(" ")
            if kind == "ready":
                self._on_ready(worker, rest)
            elif kind == "error":
                worker.error = rest
            elif kind == "recycle" and not worker.draining and worker.wants_replacement is None:
                error_log.info(
                    "Worker %d (pid %d) served --limit-max-requests: replacing it",
                    worker.index,
                    worker.pid,
                )
                worker.wants_replacement = "limit-max-requests"
        return True

    def _on_ready(self, worker: Worker, loop_name: str) -> None:
        worker.ready_at = time.monotonic()
        self.loop_name = loop_name or self.loop_name
        if self.phase == "stopping":
            return  # it got SIGTERM with the others
        old, worker.replaces = worker.replaces, None
        slot = self.slots[worker.index]
        slot.retry_at = 0.0
        if worker.index >= self.target:  # SIGTTOU while it started
            self._retire(worker)
        elif old is not None and old.pid in self.workers and not old.draining:
            error_log.info(
                "Worker %d replaced (%s): pid %d serves, pid %d drains",
                worker.index,
                worker.reason,
                worker.pid,
                old.pid,
            )
            self._retire(old)
        elif not worker.first:
            error_log.info("Worker %d (pid %d) ready (%s)", worker.index, worker.pid, worker.reason)
        if worker is self.rolling:
            self.rolling = None
            self._advance_roll()
        self._maybe_serving()

    def _maybe_serving(self) -> None:
        if self.phase != "starting":
            return
        if self.watcher is not None and not self.watcher.ready:
            return
        for index in range(self.target):
            primary = self._primary(index)
            if primary is None or primary.ready_at is None:
                return
        self.phase = "running"
        self.on_serving(self.urls, self.loop_name)

    def _reap(self) -> None:
        for pid, worker in list(self.workers.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            for _ in range(64):  # what it said last (an error line), up to EOF
                if worker.status_fd < 0 or not self._on_status(worker):
                    break
            if worker.status_fd >= 0:
                self._selector.unregister(worker.status_fd)
                os.close(worker.status_fd)
                worker.status_fd = -1
            del self.workers[pid]
            if self.metrics is not None and worker.metrics_slot is not None:
                self.metrics.reset_gauges(worker.metrics_slot)  # its connections are gone
                self._free_metrics_slots.append(worker.metrics_slot)
            self._on_exit(worker, os.waitstatus_to_exitcode(status))
        if self.watcher is not None and self.watcher.reap():
            error_log.error("The reload watcher stopped: changes are no longer watched")
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self.watcher.fileno())

    def _on_exit(self, worker: Worker, code: int) -> None:
        how = _exit_text(code)
        index = worker.index
        if worker is self.rolling:
            self.rolling = None
        if self.phase == "stopping" or worker.draining:
            error_log.debug("Worker %d (pid %d) %s", index, worker.pid, how)
            return
        slot = self.slots[index]
        reload = self.config.reload
        if worker.ready_at is None:
            message = worker.error or f"worker {index} {how} before it was ready"
            if worker.first and not reload:
                self._fail(message)
            elif worker.first:
                error_log.error(
                    "Worker %d could not start: %s; waiting for a change", index, message
                )
            elif worker.replaces is not None:
                self._successor_failed(worker, message)
            elif reload and worker.reason == "reload":
                error_log.error("Reload failed: %s; waiting for a change", message)
                self.roll.clear()
            else:
                error_log.error("Worker %d could not start: %s", index, message)
                self._schedule_restart(slot, 0.0)
            return
        error_log.warning("Worker %d (pid %d) %s; starting a new one", index, worker.pid, how)
        if index < self.target and self._successor(index) is None:
            self._schedule_restart(slot, time.monotonic() - worker.ready_at)

    def _successor_failed(self, worker: Worker, message: str) -> None:
        """A worker meant to take over from another could not start: the other keeps serving."""
        old = worker.replaces
        assert old is not None
        slot = self.slots[worker.index]
        self.roll.clear()  # the rest would fail the same way
        alive = old.pid in self.workers
        if worker.reason == "reload":
            state = "still serving the last good code" if alive else "waiting for a change"
            error_log.error("Reload failed: %s; %s", message, state)
            return
        slot.failures += 1
        slot.retry_at = time.monotonic() + _backoff(slot.failures)
        if alive:
            error_log.error(
                "Worker %d could not start (%s): %s; pid %d keeps serving",
                worker.index,
                worker.reason,
                message,
                old.pid,
            )
        else:  # the old one died meanwhile: the slot is empty
            error_log.error("Worker %d could not start: %s", worker.index, message)
            self._schedule_restart(slot, 0.0)

    def _schedule_restart(self, slot: Slot, lived: float) -> None:
        if lived >= STABLE:
            slot.failures = 0
        delay = _backoff(slot.failures)
        slot.failures += 1
        slot.restart_at = time.monotonic() + delay
        if delay:
            error_log.warning("Restarting worker %d in %.1f s", slot.index, delay)

    def _fail(self, message: str) -> None:
        self.fatal = message
        self.status = 1
        self._stop()

    def _primary(self, index: int) -> Worker | None:
        for worker in self.workers.values():
            if worker.index == index and not worker.draining and worker.replaces is None:
                return worker
        return None

    def _successor(self, index: int) -> Worker | None:
        for worker in self.workers.values():
            if worker.index == index and not worker.draining and worker.replaces is not None:
                return worker
        return None

    def _retire(self, worker: Worker) -> None:
        worker.draining = True
        worker.retired_at = time.monotonic()
        worker.wants_replacement = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGTERM)

    def _stop(self) -> None:
        self.phase = "stopping"
        self.roll.clear()
        self.rolling = None
        self.stop_deadline = time.monotonic() + self.config.timeout_graceful_shutdown + KILL_MARGIN
        for worker in list(self.workers.values()):
            if not worker.draining:
                self._retire(worker)
        self._stop_watcher()

    def _stop_watcher(self) -> None:
        if self.watcher is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self.watcher.fileno())
            self.watcher.stop()

    # -- signals, rolling restarts, timers -----------------------------------------------------

    def _handle_signals(self) -> None:
        while self._signals:
            signum = self._signals.popleft()
            name = signal.Signals(signum).name
            if signum in STOP:
                if self.phase != "stopping":
                    error_log.info("%s: stopping %s gracefully", name, _workers(len(self.workers)))
                    self._stop()
                if signum == signal.SIGQUIT or self.stop_signal is not None:
                    # The second signal (or SIGQUIT): workers skip the rest of the grace period.
                    # Not SIGTERM: under systemd a worker gets SIGTERM twice, from systemd and
                    # from us, and must still drain.
                    error_log.warning("%s: forcing the shutdown", name)
                    for worker in self.workers.values():
                        # One still starting has no handler yet: SIGTERM ends it (SIGQUIT would
                        # dump its core).
                        cut = signal.SIGQUIT if worker.ready_at is not None else signal.SIGTERM
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(worker.pid, cut)
                self.stop_signal = name
            elif self.phase == "stopping":
                continue
            elif signum == signal.SIGHUP:
                error_log.info("SIGHUP: restarting the workers one by one")
                self._start_roll("SIGHUP")
            elif signum == signal.SIGTTIN:
                self._add_worker()
            elif signum == signal.SIGTTOU:
                self._remove_worker()

    def _add_worker(self) -> None:
        index = self.target
        try:
            slot = self._slot(index)
        except OSError as exc:
            error_log.error("SIGTTIN: cannot add a worker: %s", exc)
            return
        self.target += 1
        slot.restart_at = None
        slot.failures = 0
        error_log.info("SIGTTIN: %s", _workers(self.target))
        if self._primary(index) is None:
            self._spawn(index, "SIGTTIN")

    def _remove_worker(self) -> None:
        if self.target <= 1:
            error_log.warning("SIGTTOU: keeping the last worker")
            return
        self.target -= 1
        index = self.target
        error_log.info("SIGTTOU: %s", _workers(self.target))
        for worker in list(self.workers.values()):
            if worker.index == index and not worker.draining:
                self._retire(worker)
        slot = self.slots[index]
        slot.restart_at = None
        for sock in slot.sockets:  # the draining worker still holds its copy
            sock.close()
        slot.sockets = []

    def _start_roll(self, reason: str) -> None:
        self.roll = deque(range(self.target))
        self.roll_reason = reason
        self._advance_roll()

    def _advance_roll(self) -> None:
        while self.rolling is None and self.roll and self.phase != "stopping":
            index = self.roll.popleft()
            if index >= self.target or self._successor(index) is not None:
                continue
            self.slots[index].restart_at = None
            self.rolling = self._spawn(index, self.roll_reason, replaces=self._primary(index))

    def _on_watch(self) -> None:
        assert self.watcher is not None
        for kind, paths in self.watcher.read():
            if kind == "ready":
                error_log.info("Watching for changes in %s", ", ".join(self.watcher.dirs))
                self._maybe_serving()
            elif kind == "change" and self.phase != "stopping":
                shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if paths[3:] else "")
                error_log.info("Changed: %s; reloading", shown)
                self._start_roll("reload")
            elif kind == "eof":
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(self.watcher.fileno())

    def _tick(self) -> None:
        now = time.monotonic()
        if self.phase == "stopping":
            if now >= self.stop_deadline and not self.killed_all:
                self.killed_all = True
                for worker in self.workers.values():
                    error_log.warning(
                        "Worker %d (pid %d) still running after the grace period: killing it",
                        worker.index,
                        worker.pid,
                    )
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.pid, signal.SIGKILL)
                    self.status = 1
            return
        for slot in self.slots[: self.target]:
            if slot.restart_at is not None and now >= slot.restart_at:
                slot.restart_at = None
                if self._primary(slot.index) is None and self._successor(slot.index) is None:
                    slot.restarts += 1
                    self._spawn(slot.index, "restart")
        drain_limit = self.config.timeout_graceful_shutdown + KILL_MARGIN
        for worker in self.workers.values():
            if not worker.killed and now - worker.retired_at > drain_limit:
                error_log.warning(
                    "Worker %d (pid %d) still draining after the grace period: killing it",
                    worker.index,
                    worker.pid,
                )
                worker.killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
        limit = self.config.timeout_worker_start
        for worker in self.workers.values():
            if worker.ready_at is None and not worker.killed and now - worker.started > limit:
                worker.error = (
                    f"worker {worker.index} did not start within {limit:g} seconds "
                    "(--timeout-worker-start)"
                )
                worker.killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
        if self.config.max_worker_memory is not None and now >= self.next_memory_check:
            self.next_memory_check = now + MEMORY_CHECK_EVERY
            self._check_memory(self.config.max_worker_memory)
        for worker in list(self.workers.values()):
            if (
                worker.wants_replacement is not None
                and not worker.draining
                and worker.replaces is None
                and self._successor(worker.index) is None
                and now >= self.slots[worker.index].retry_at
            ):
                self._spawn(worker.index, worker.wants_replacement, replaces=worker)

    def _check_memory(self, limit: int) -> None:
        for worker in self.workers.values():
            if worker.draining or worker.ready_at is None or worker.wants_replacement:
                continue
            rss = _rss_mib(worker.pid)
            if rss is not None and rss > limit:
                error_log.warning(
                    "Worker %d (pid %d) uses %.0f MiB (--max-worker-memory %d): replacing it",
                    worker.index,
                    worker.pid,
                    rss,
                    limit,
                )
                worker.wants_replacement = "max-worker-memory"
