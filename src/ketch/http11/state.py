"""The server-side connection state machine.

Theory of operation:

* Two parties, each with its own state: THEIRS (the client sending requests) and OURS (the server
  sending responses).  Each event moves the party that sends it along `THEIR_TRANSITIONS` or
  `OUR_TRANSITIONS`; a (state, event) pair missing from the table is a protocol error, so a caller
  can never write, say, `Data` before a `Response`.
* Rule 1, coupling: a `Request` moves us from IDLE to SEND_RESPONSE.  A final `Response` to a
  request that might switch protocols (Upgrade, CONNECT) either completes the switch (101, or 2xx to
  CONNECT) or denies it, which moves them from MIGHT_SWITCH_PROTOCOL to DONE.
* Rule 2, persistence: once either side has decided the connection will not be reused, a party that
  reaches DONE goes on to MUST_CLOSE instead.  `start_next_cycle` is only possible when both are
  DONE.
* Errors are sticky: a party in ERROR stays there.
"""

from __future__ import annotations

import enum

from .errors import LocalProtocolError
from .events import ConnectionClosed, Data, EndOfMessage, InformationalResponse, Request, Response

__all__ = ["OUR_TRANSITIONS", "THEIR_TRANSITIONS", "ConnectionState", "State"]


class State(enum.Enum):
    """Where one party of the connection is."""

    # Enum's own __hash__ is a Python function (hash of the name); members are singletons, so the
    # identity hash in C is equivalent and keeps the transition-table lookups cheap.
    __hash__ = object.__hash__

    IDLE = "IDLE"
    SEND_RESPONSE = "SEND_RESPONSE"
    SEND_BODY = "SEND_BODY"
    DONE = "DONE"
    MUST_CLOSE = "MUST_CLOSE"
    CLOSED = "CLOSED"
    MIGHT_SWITCH_PROTOCOL = "MIGHT_SWITCH_PROTOCOL"
    SWITCHED_PROTOCOL = "SWITCHED_PROTOCOL"
    ERROR = "ERROR"


IDLE = State.IDLE
SEND_RESPONSE = State.SEND_RESPONSE
SEND_BODY = State.SEND_BODY
DONE = State.DONE
MUST_CLOSE = State.MUST_CLOSE
CLOSED = State.CLOSED
MIGHT_SWITCH_PROTOCOL = State.MIGHT_SWITCH_PROTOCOL
SWITCHED_PROTOCOL = State.SWITCHED_PROTOCOL
ERROR = State.ERROR

THEIR_TRANSITIONS: dict[tuple[State, type], State] = {
    (IDLE, Request): SEND_BODY,
    (IDLE, ConnectionClosed): CLOSED,
    (SEND_BODY, Data): SEND_BODY,
    (SEND_BODY, EndOfMessage): DONE,
    (DONE, ConnectionClosed): CLOSED,
    (MUST_CLOSE, ConnectionClosed): CLOSED,
    (CLOSED, ConnectionClosed): CLOSED,
}

OUR_TRANSITIONS: dict[tuple[State, type], State] = {
    (SEND_RESPONSE, InformationalResponse): SEND_RESPONSE,
    (SEND_RESPONSE, Response): SEND_BODY,
    (SEND_BODY, Data): SEND_BODY,
    (SEND_BODY, EndOfMessage): DONE,
    (IDLE, ConnectionClosed): CLOSED,
    (SEND_RESPONSE, ConnectionClosed): CLOSED,
    (SEND_BODY, ConnectionClosed): CLOSED,
    (DONE, ConnectionClosed): CLOSED,
    (MUST_CLOSE, ConnectionClosed): CLOSED,
    (CLOSED, ConnectionClosed): CLOSED,
}


class ConnectionState:
    """Both parties' states and the rules that couple them.

    Attributes:
        ours: the server's state.
        theirs: the client's state.
        keep_alive: False once either side has said the connection ends after this cycle.
        pending_switch: the current request asked to switch protocols (Upgrade or CONNECT).
    """

    __slots__ = ("keep_alive", "ours", "pending_switch", "theirs")

    def __init__(self) -> None:
        self.ours = IDLE
        self.theirs = IDLE
        self.keep_alive = True
        self.pending_switch = False

    def their_event(self, event_type: type, *, switch: bool = False) -> None:
        """Apply an event the client sent (the reader only hands over valid ones)."""
        new = THEIR_TRANSITIONS.get((self.theirs, event_type))
        if new is None:
            raise LocalProtocolError(f"client cannot send {event_type.__name__} in {self.theirs}")
        if event_type is Request:
            if self.ours is IDLE:  # never out of ERROR, CLOSED or MUST_CLOSE: errors are sticky
                self.ours = SEND_RESPONSE
            self.pending_switch = switch
        elif new is DONE and self.pending_switch:
            new = MIGHT_SWITCH_PROTOCOL
        self.theirs = new
        if not self.keep_alive:
            self.settle()

    def our_event(
        self, event_type: type, *, status_code: int = 0, is_connect: bool = False
    ) -> None:
        """Apply an event we send.

        Raises:
            LocalProtocolError: the event is not allowed in our current state.
        """
        new = OUR_TRANSITIONS.get((self.ours, event_type))
        if new is None:
            raise LocalProtocolError(f"cannot send {event_type.__name__} in state {self.ours}")
        if event_type is InformationalResponse and status_code == 101:
            # RFC 9110 §15.2.2: 101 answers an Upgrade request, which must have been read to its
            # end; a CONNECT is accepted with a 2xx instead (§9.3.6).
            if self.theirs is not MIGHT_SWITCH_PROTOCOL or is_connect:
                raise LocalProtocolError(
                    "101 Switching Protocols without a pending Upgrade request"
                )
            self.ours = self.theirs = SWITCHED_PROTOCOL
            return
        if event_type is Response:
            # Any final response that does not switch denies the switch, even one sent before the
            # request was read to its end (h11 clears its pending proposals the same way).
            self.pending_switch = False
            if self.theirs is MIGHT_SWITCH_PROTOCOL:
                if is_connect and 200 <= status_code < 300:
                    self.ours = self.theirs = SWITCHED_PROTOCOL
                    return
                self.theirs = DONE
        self.ours = new
        if not self.keep_alive:
            self.settle()

    def their_error(self) -> None:
        """The client sent something invalid: it can send nothing more."""
        self.theirs = ERROR
        self.keep_alive = False
        self.settle()

    def our_error(self) -> None:
        """We misused the protocol: nothing more can be sent."""
        self.ours = ERROR
        self.keep_alive = False

    def close_after_this(self) -> None:
        """Either side decided the connection will not be reused."""
        self.keep_alive = False
        self.settle()

    def start_next_cycle(self) -> None:
        """Reset both parties to IDLE after a completed request/response cycle.

        Raises:
            LocalProtocolError: the cycle is not complete on both sides.
        """
        if self.ours is not DONE or self.theirs is not DONE:
            raise LocalProtocolError(
                f"not ready for a new request: ours={self.ours.name}, theirs={self.theirs.name}"
            )
        self.ours = self.theirs = IDLE
        self.pending_switch = False

    def settle(self) -> None:
        """Apply rule 2: with keep-alive off, a party that is DONE goes on to MUST_CLOSE."""
        # Rule 2; only called once keep_alive is False (the callers check or just cleared it).
        if self.ours is DONE:
            self.ours = MUST_CLOSE
        if self.theirs is DONE:
            self.theirs = MUST_CLOSE
