"""`HTTPProtocol`: one asyncio.Protocol per connection, between the socket and the HTTP/1.1 core.

Theory of operation:

* Bytes in: ``data_received`` feeds the core and pumps events (`_pump`).  A `Request` creates a
  `Cycle` (cycle.py: the `Exchange` front doors see); body events are queued on it.  The handler
  starts once the bytes at hand are consumed, so a small request is handled with its whole body,
  and its first step runs at once, inside a Task (`run_eagerly`; on 3.11 the connection's
  `Runner` from its second request on): a handler that never waits has answered before the next
  read.
* Flow control, reading: a cycle holds at most `BODY_HIGH_WATER` unread body bytes; past that the
  pump stops pulling events from the core and pauses the transport until the handler reads.
  Pipelined requests stay unparsed in the core's buffer (at most `PIPELINE_HIGH_WATER` bytes
  before reading pauses) until the current response is complete, so they are answered in order.
* Flow control, writing: ``pause_writing``/``resume_writing`` from the transport make the handler's
  ``write`` wait, and hold back the next pipelined request.
* The response head is kept until the first body bytes so that head and body leave in one write;
  the Date value comes from the sweeper's cache.
* Timeouts: the connection stamps when it started waiting; `check_timeouts` (called by the
  server's sweeper) closes idle connections, answers 408 to slow heads and stalled bodies.
* Errors: a malformed request gets its ``status_hint`` and the connection closes; a handler that
  raises before its response head was written gets a 500, after it the connection is closed so a
  truncated body is never passed off as complete; disconnects are never logged as errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, cast

from ..http11 import (
    NEED_DATA,
    PAUSED,
    Connection,
    Data,
    EndOfMessage,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    Response,
    State,
)
from ..http11.writers import reason_phrase
from .cycle import CLOSE, SMALL_WRITE, Cycle
from .eager import RUNNERS, Runner, run_eagerly
from .handler import ClientDisconnected
from .preamble import expect_proxy_header
from .timeouts import BODY, BUSY, HEAD, IDLE

if TYPE_CHECKING:
    from .handler import Upgraded
    from .state import ServerState

__all__ = ["BODY_HIGH_WATER", "PIPELINE_HIGH_WATER", "HTTPProtocol"]

error_log = logging.getLogger("ketch.error")

BODY_HIGH_WATER = 64 * 1024  # unread request body bytes buffered per request
PIPELINE_HIGH_WATER = 64 * 1024  # pipelined bytes buffered while the current response is written
DRAIN_LIMIT = 256 * 1024  # unread body bytes discarded after a response to keep the connection
BATCH_LIMIT = 64 * 1024  # responses held for one send while pipelined requests are answered
# Pipelined requests answered in one go before the loop gets a turn.  On 3.11 a finished handler
# leaves a Task for the loop to run until the connection's Runner has started (eager.py), so
# without a bound a first 256 KiB read of tiny requests would hold thousands at once (a
# 100000-request flood grew the process by 35 MiB); and other connections get their turn.
PIPELINE_BURST = 256
LINGER_SECONDS = 1.0  # after an error answer, how long a client still sending is read and ignored
LINGER_BYTES = 1024 * 1024  # ... and how much of it

_TEXT = (b"content-type", b"text/plain; charset=utf-8")


class HTTPProtocol:
    """The server side of one connection: an `asyncio.Protocol` by its methods.

    Not a subclass of `asyncio.Protocol` (the loop only calls the methods), so that the compiled
    build makes it a native class: its attributes are struct fields, not dictionary entries.
    """

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.loop = state.loop
        self.conn = Connection(state.limits, extra_headers=state.extra_headers)
        self.transport: asyncio.Transport | None = None
        self.cycle: Cycle | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.scheme = "https" if state.is_ssl else "http"
        self.pending_start: Cycle | None = None
        self.runner: Runner | None = None  # the connection's Task for its handlers (eager.py)
        self.handled_one = False
        self.pumping = False
        self.pump_scheduled = False  # a pipelined burst was cut short: the pump goes on soon
        self._batch: list[bytes] | None = None  # writes held while the pump runs
        self._batched = 0
        self.read_paused = False
        self.write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.sendfile_waiter: asyncio.Future[None] | None = None
        self.next_after_drain = False
        self.closed = False
        self.eof = False
        self.lingering = False
        self.lingered = 0
        self.waiting_for = IDLE
        self.waiting_since = self.loop.time()
        self.upgraded: Upgraded | None = None  # the protocol after a switch (a WebSocket)
        self.proxy_trusted = False  # the peer is a trusted proxy: read its fields (proxy.py)

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = transport = cast("asyncio.Transport", transport)
        state = self.state
        connections = state.connections
        connections.add(self)
        state.after_burst.opened(len(connections))
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        local = transport.get_extra_info("sockname")
        if isinstance(local, tuple) and len(local) >= 2:
            self.server = (str(local[0]), int(local[1]))
        if state.proxy_protocol:
            expect_proxy_header(self)  # sets proxy_trusted once the PROXY header is read
        elif state.proxy_headers:
            self.proxy_trusted = state.trusted_proxies.trusts(self.client)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.connections.discard(self)
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        cycle = self.cycle
        if cycle is not None:
            cycle.lose()
        # Woken with a result, not an exception: the waiters raise ClientDisconnected themselves,
        # so no future holds an exception whose traceback holds the future (a cycle).
        for waiter in (self._drain_waiter, self.sendfile_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if self.upgraded is not None:
            self.upgraded.connection_lost()
        if cycle is None or cycle.handler_ended or self.pending_start is cycle:
            self._release()
        self.state.on_connection_closed()

    def data_received(self, data: bytes) -> None:
        if self.upgraded is not None:
            self.upgraded.data_received(data)
            return
        if self.lingering:
            self.lingered += len(data)
            if self.lingered > LINGER_BYTES:
                self.close()
            return
        if self.cycle is None and not self.pumping:
            # Between requests, a request that came whole in this read is served in one step.
            whole = self.conn.receive_request(data)
            if whole is not None:
                self._serve_whole(*whole)
                return
        else:
            self.conn.receive_data(data)
        if self.waiting_for == BODY:
            self.waiting_since = self.loop.time()
        if not self.pumping:
            self._pump()

    def eof_received(self) -> bool | None:
        if self.upgraded is not None:
            self.upgraded.eof_received()
            return True  # the new protocol closes when it is done
        if self.lingering:
            return False  # the client is done too: close
        self.eof = True
        self.conn.receive_data(b"")
        if not self.pumping:
            self._pump()
        cycle = self.cycle
        if cycle is not None and cycle.body_ended:
            # The request is complete (one that proposed a switch leaves the core PAUSED): the
            # client has nothing more to send, so whoever waits for its leaving hears now.
            cycle.peer_closed()
        # Keep our side open to finish a response to a client that half-closed, except on TLS
        # where half-close is not supported.
        return not self.state.is_ssl

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.upgraded is not None:
            self.upgraded.writing_resumed()
        if self.next_after_drain:
            self.next_after_drain = False
            self._next_cycle()

    # ------------------------------------------------------------ plumbing for Cycle

    def write(self, data: bytes) -> None:
        if data and not self.closed:
            batch = self._batch
            if batch is not None and len(data) < SMALL_WRITE:
                # Inside the pump: responses to pipelined requests leave in one send.
                batch.append(data)
                self._batched += len(data)
                if self._batched >= BATCH_LIMIT:
                    self._flush_batch()
                return
            if batch:
                self._flush_batch()
            assert self.transport is not None
            self.transport.write(data)

    def write_pair(self, head: bytes, content: bytes) -> None:
        """Write a head and a large content without joining them: one vectored send (writev)."""
        if self.closed:
            return
        if self._batch:
            self._flush_batch()
        assert self.transport is not None
        self.transport.writelines((head, content))

    def _flush_batch(self) -> None:
        batch = self._batch
        if batch:
            data = batch[0] if len(batch) == 1 else b"".join(batch)
            batch.clear()
            self._batched = 0
            if not self.closed:
                assert self.transport is not None
                self.transport.write(data)

    async def drain(self) -> None:
        if self.closed:
            raise ClientDisconnected("client disconnected")
        if self.write_paused:
            waiter = self._drain_waiter
            if waiter is None or waiter.done():
                waiter = self._drain_waiter = self.loop.create_future()
            await waiter
            if self.closed:
                raise ClientDisconnected("client disconnected")

    async def flush(self) -> None:
        """Wait until every byte written so far has left (held batch and transport buffer)."""
        if self._batch:
            self._flush_batch()
        transport = self.transport
        assert transport is not None
        if transport.get_write_buffer_size():
            # With both limits at 0 the transport pauses us while anything is buffered and
            # resumes us once the buffer is empty.
            high, low = transport.get_write_buffer_limits()
            transport.set_write_buffer_limits(high=0, low=0)
            try:
                while transport.get_write_buffer_size():
                    self.write_paused = True
                    await self.drain()
            finally:
                transport.set_write_buffer_limits(high=high, low=low)

    def body_consumed(self) -> None:
        """The handler took the buffered body: pull more from the core and the socket."""
        cycle = self.cycle
        if not self.pumping and (cycle is None or not cycle.body_ended):
            self._pump()
        if self.read_paused and not self.closed:
            cycle = self.cycle
            if cycle is None or cycle.buffered < BODY_HIGH_WATER:
                self.read_paused = False
                assert self.transport is not None
                self.transport.resume_reading()

    def _pause_reading(self) -> None:
        if not self.read_paused and not self.closed:
            self.read_paused = True
            assert self.transport is not None
            self.transport.pause_reading()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            if self._batch:
                self._flush_batch()
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping whatever is not sent yet (a peer that stopped reading)."""
        if not self.closed and self.transport is not None:
            self.transport.abort()

    def stop_reading(self) -> None:
        """Stop reading from the socket until `start_reading` (the app is behind)."""
        self._pause_reading()

    def start_reading(self) -> None:
        if self.read_paused and not self.closed:
            self.read_paused = False
            assert self.transport is not None
            self.transport.resume_reading()

    # ------------------------------------------------------------ the event pump

    def _pump(self) -> None:
        outermost = self._batch is None
        if outermost:
            self._batch = []
        try:
            self._pump_events()
            if self.pending_start is not None and not self.closed:
                self._start_handler()
        finally:
            if outermost:
                self._flush_batch()
                self._batch = None

    def _continue_pump(self) -> None:
        self.pump_scheduled = False
        if not self.closed and not self.pumping:
            self._pump()

    def _pump_events(self) -> None:
        conn = self.conn
        self.pumping = True
        served = 0
        try:
            while not self.closed and self.upgraded is None:
                cycle = self.cycle
                if cycle is None:
                    if served >= PIPELINE_BURST:
                        # Let the loop run the finished handlers' Tasks; read no more meanwhile.
                        if conn.buffered > PIPELINE_HIGH_WATER:
                            self._pause_reading()
                        if not self.pump_scheduled:
                            self.pump_scheduled = True
                            self.loop.call_soon(self._continue_pump)
                        break
                    served += 1
                    # Pipelined requests: a whole one in the buffer is read in one step.
                    whole = conn.next_request()
                    if whole is not None:
                        self._serve_whole(*whole)
                        continue
                elif cycle.buffered >= BODY_HIGH_WATER:
                    self._pause_reading()
                    break
                try:
                    event = conn.next_event()
                except RemoteProtocolError as exc:
                    self._bad_request(exc)
                    break
                kind = type(event)
                if kind is Data:
                    assert cycle is not None
                    cycle.feed(event.data)  # type: ignore[union-attr]
                    if cycle.drained > DRAIN_LIMIT:
                        self.close()
                        break
                elif kind is Request:
                    self._new_cycle(event)  # type: ignore[arg-type]
                elif kind is EndOfMessage:
                    assert cycle is not None
                    cycle.feed_end()
                    if self.pending_start is not None:
                        self._start_handler()  # completes the cycle itself if it never waits
                    elif cycle.response_complete:
                        self._next_cycle()
                elif event is NEED_DATA:
                    if cycle is None and conn.buffered and self.waiting_for == IDLE:
                        self.waiting_for = HEAD
                        self.waiting_since = self.loop.time()
                    break
                elif event is PAUSED:
                    if conn.buffered > PIPELINE_HIGH_WATER:
                        self._pause_reading()
                    break
                else:  # ConnectionClosed: the client is done sending
                    if cycle is None:
                        self.close()
                    else:
                        cycle.peer_closed()
                    break
        finally:
            self.pumping = False

    def _serve_whole(self, request: Request, body: bytes) -> None:
        """Serve a request read whole in one step (`receive_request`, `next_request`)."""
        cycle = self._new_cycle(request)
        if body:
            cycle.feed(body)
        cycle.feed_end()
        if self.pending_start is cycle:
            self._start_handler()

    def _new_cycle(self, request: Request) -> Cycle:
        """Begin the exchange of `request`: its handler is started next (`pending_start`)."""
        cycle = Cycle(self, request)
        self.cycle = cycle
        self.waiting_for = BUSY
        state = self.state
        limit = state.config.limit_concurrency
        if state.draining_hard or (
            limit is not None and (state.in_flight >= limit or len(state.connections) > limit)
        ):
            cycle.respond(503, [_TEXT, *CLOSE], b"Service Unavailable\n")
        else:
            self.pending_start = cycle
        return cycle

    def _start_handler(self) -> None:
        cycle = self.pending_start
        assert cycle is not None
        self.pending_start = None
        state = self.state
        state.in_flight += 1
        runner = self.runner
        if runner is None and RUNNERS:
            if self.handled_one:  # a second request: keep-alive, worth a Task of its own
                self.runner = Runner(self.loop)
            self.handled_one = True
        task = run_eagerly(state.handler(cycle), self.loop, self._handler_done, cycle, runner)
        if task is not None:
            cycle.task = task
            state.tasks.add(task)

    def _handler_done(self, cycle: Cycle, exc: BaseException | None) -> None:
        state = self.state
        state.in_flight -= 1
        cycle.handler_ended = True
        task = cycle.task
        if task is not None:
            cycle.task = None  # it holds the handler's exception, whose frames hold the cycle
            state.on_task_done(task)
        if self.closed and self.cycle is cycle:
            self._release()
        if self.upgraded is not None:
            self.upgraded.handler_done(exc is not None)
        if exc is not None and not isinstance(exc, ClientDisconnected | asyncio.CancelledError):
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit: not ours to swallow
            if cycle.disconnected:
                # Frameworks turn our ClientDisconnected into their own exception: a client
                # that went away is not an application error.
                error_log.debug("Application raised after the client disconnected", exc_info=exc)
                return
            error_log.error(
                "Exception in the application for %s %s",
                cycle.request.method.decode("latin-1"),
                cycle.request.target.decode("latin-1"),
                exc_info=exc,
            )
            self._fail(cycle)
        elif not cycle.response_complete and not cycle.disconnected:
            if cycle.response_started:
                error_log.error("The application returned before completing its response")
            else:
                error_log.error("The application returned without starting a response")
            self._fail(cycle)

    def _release(self) -> None:
        """The connection is gone and its handler is over: drop what refers back to the protocol.

        So the protocol, its transport and their buffers are freed at once by reference counting,
        not at the garbage collector's next full pass (a burst of resets held megabytes).
        """
        self.cycle = self.pending_start = None
        self.upgraded = None

    def _fail(self, cycle: Cycle) -> None:
        if cycle.disconnected or cycle.response_complete:
            return
        if cycle.head_written:
            # Part of the response is on the wire: closing is the only honest end.
            cycle.lose()
            self.close()
            return
        cycle.drop_head()
        try:
            cycle.respond(500, [_TEXT, *CLOSE], b"Internal Server Error\n")
        except LocalProtocolError:  # the app's broken head left the core unusable
            cycle.lose()
            self.close()

    def response_done(self, cycle: Cycle) -> None:
        """The handler wrote the whole response."""
        cycle.response_complete = True
        if self.state.access_log:
            self.state.log_access(cycle)
        self.state.count_response()
        if self.conn.our_state is State.MUST_CLOSE:
            cycle.lose()
            self.close()
            return
        if cycle.body_ended:
            if self.write_paused:
                self.next_after_drain = True
            else:
                self._next_cycle()
        else:
            # The handler did not read the whole body.  Discard the rest (up to DRAIN_LIMIT) so
            # the connection can carry the next request.
            cycle.discard_body()
            if not self.pumping:
                self.body_consumed()

    def _next_cycle(self) -> None:
        conn = self.conn
        if conn.our_state is not State.DONE or conn.their_state is not State.DONE:
            return
        conn.start_next_cycle()
        self.cycle = None
        self.waiting_for = IDLE
        self.waiting_since = self.loop.time()
        if self.state.draining:
            self.close()
            return
        if self.read_paused:
            self.read_paused = False
            assert self.transport is not None
            self.transport.resume_reading()
        if not self.pumping and (self.eof or self.conn.buffered):
            self._pump()

    def _bad_request(self, exc: RemoteProtocolError) -> None:
        cycle = self.cycle
        if cycle is not None:
            if self.pending_start is cycle:
                self.pending_start = None
            cycle.lose()
            if cycle.head_written or cycle.response_complete:
                self.close()
                return
        status = exc.status_hint
        body = f"{status} {reason_phrase(status) or 'Error'}: {exc}\n".encode()
        self._answer_and_close(status, body, linger=True)

    # ------------------------------------------------------------ timeouts

    def check_timeouts(self, now: float) -> None:
        if self.upgraded is not None:
            self.upgraded.check_timeouts(now)
            return
        waiting = self.waiting_for
        if waiting == BUSY or self.closed:
            return
        config = self.state.config
        waited = now - self.waiting_since
        if waiting == IDLE:
            if waited >= config.timeout_keep_alive:
                self.close()
        elif waiting == HEAD:
            if waited >= config.timeout_header:
                self._timeout_answer()
        elif waited >= config.timeout_body:
            cycle = self.cycle
            if cycle is not None and not cycle.head_written and not cycle.response_complete:
                self._timeout_answer()
                cycle.lose()
            else:
                if cycle is not None:
                    cycle.lose()
                self.close()

    def _timeout_answer(self) -> None:
        self._answer_and_close(408, b"Request Timeout\n")

    def _answer_and_close(self, status: int, body: bytes, *, linger: bool = False) -> None:
        """Answer with an error of the server's own and close (the app is not involved).

        With `linger`, the client may still be sending (a head too large, a body we refused):
        closing with its bytes unread would reset the connection and could destroy our answer
        before it is read.  So we stop sending, read and drop its bytes for up to
        `LINGER_SECONDS` (or `LINGER_BYTES`), and close when it does.
        """
        conn = self.conn
        conn.date = self.state.date
        # The core refuses only if a response is already under way; then closing is all that is
        # left to do.
        with contextlib.suppress(LocalProtocolError):
            response = Response(status_code=status, headers=[_TEXT, *CLOSE])
            self.write(conn.send_complete(response, body))
        transport = self.transport
        if not linger or self.closed or transport is None or self.eof:
            self.close()
            return
        if self._batch:
            self._flush_batch()  # the answer must go out before our end of the stream
        if self.state.is_ssl or not transport.can_write_eof():
            self.close()
            return
        self.lingering = True
        transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            transport.resume_reading()
        self.loop.call_later(LINGER_SECONDS, self.close)
