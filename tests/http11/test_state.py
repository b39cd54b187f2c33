"""The state machine (`ketch.http11.state`): every table row, the coupling rules, and Hypothesis
over every (state, event) pair (h2 ``test_state_machines.py``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketch.http11 import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    LocalProtocolError,
    Request,
    Response,
    State,
)
from ketch.http11.state import OUR_TRANSITIONS, THEIR_TRANSITIONS, ConnectionState

EVENT_TYPES: list[type] = [
    Request,
    InformationalResponse,
    Response,
    Data,
    EndOfMessage,
    ConnectionClosed,
]


def make_state(
    ours: State = State.IDLE,
    theirs: State = State.IDLE,
    *,
    keep_alive: bool = True,
    pending_switch: bool = False,
) -> ConnectionState:
    state = ConnectionState()
    state.ours, state.theirs = ours, theirs
    state.keep_alive, state.pending_switch = keep_alive, pending_switch
    return state


def test_new_connection_state_is_idle_keep_alive_without_switch() -> None:
    state = ConnectionState()
    assert (state.ours, state.theirs, state.keep_alive, state.pending_switch) == (
        State.IDLE,
        State.IDLE,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("start", "event_type", "end"),
    [pytest.param(s, e, t, id=f"{s.name}-{e.__name__}") for (s, e), t in THEIR_TRANSITIONS.items()],
)
def test_their_transition_table_row(start: State, event_type: type, end: State) -> None:
    state = make_state(State.SEND_RESPONSE if start is not State.IDLE else State.IDLE, start)
    state.their_event(event_type)
    assert state.theirs is end


@pytest.mark.parametrize(
    ("start", "event_type", "end"),
    [pytest.param(s, e, t, id=f"{s.name}-{e.__name__}") for (s, e), t in OUR_TRANSITIONS.items()],
)
def test_our_transition_table_row(start: State, event_type: type, end: State) -> None:
    state = make_state(start, State.SEND_BODY)
    state.our_event(event_type, status_code=200)
    assert state.ours is end


def _missing(table: dict[tuple[State, type], State]) -> list[object]:
    return [
        pytest.param(s, e, id=f"{s.name}-{e.__name__}")
        for s in State
        for e in EVENT_TYPES
        if (s, e) not in table
    ]


@pytest.mark.parametrize(("start", "event_type"), _missing(THEIR_TRANSITIONS))
def test_their_event_missing_from_table_raises_and_changes_nothing(
    start: State, event_type: type
) -> None:
    state = make_state(State.SEND_RESPONSE, start)
    with pytest.raises(LocalProtocolError, match="client cannot send"):
        state.their_event(event_type)
    assert (state.ours, state.theirs) == (State.SEND_RESPONSE, start)


@pytest.mark.parametrize(("start", "event_type"), _missing(OUR_TRANSITIONS))
def test_our_event_missing_from_table_raises_and_changes_nothing(
    start: State, event_type: type
) -> None:
    state = make_state(start, State.DONE)
    with pytest.raises(LocalProtocolError, match="cannot send"):
        state.our_event(event_type, status_code=200)
    assert (state.ours, state.theirs) == (start, State.DONE)


def test_request_moves_us_to_send_response() -> None:
    state = ConnectionState()
    state.their_event(Request)
    assert (state.ours, state.theirs) == (State.SEND_RESPONSE, State.SEND_BODY)


@pytest.mark.parametrize("ours", [State.ERROR, State.CLOSED, State.MUST_CLOSE])
def test_request_does_not_revive_a_finished_or_broken_server_side(ours: State) -> None:
    state = make_state(ours, State.IDLE)
    state.their_event(Request)
    assert state.ours is ours


def test_request_records_a_switch_proposal() -> None:
    state = ConnectionState()
    state.their_event(Request, switch=True)
    assert state.pending_switch
    state.their_event(EndOfMessage)
    assert state.theirs is State.MIGHT_SWITCH_PROTOCOL


def test_end_of_message_without_proposal_is_done() -> None:
    state = make_state(State.SEND_RESPONSE, State.SEND_BODY)
    state.their_event(EndOfMessage)
    assert state.theirs is State.DONE


def test_101_to_pending_upgrade_switches_both_sides() -> None:
    state = make_state(State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL, pending_switch=True)
    state.our_event(InformationalResponse, status_code=101)
    assert (state.ours, state.theirs) == (State.SWITCHED_PROTOCOL, State.SWITCHED_PROTOCOL)


def test_101_without_pending_upgrade_raises() -> None:
    state = make_state(State.SEND_RESPONSE, State.DONE)
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        state.our_event(InformationalResponse, status_code=101)
    assert state.ours is State.SEND_RESPONSE


def test_101_before_the_upgrade_request_ended_raises() -> None:
    state = make_state(State.SEND_RESPONSE, State.SEND_BODY, pending_switch=True)
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        state.our_event(InformationalResponse, status_code=101)


def test_101_to_connect_raises() -> None:
    state = make_state(State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL, pending_switch=True)
    with pytest.raises(LocalProtocolError, match="without a pending Upgrade"):
        state.our_event(InformationalResponse, status_code=101, is_connect=True)


def test_other_informational_response_keeps_switch_pending() -> None:
    state = make_state(State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL, pending_switch=True)
    state.our_event(InformationalResponse, status_code=100)
    assert (state.ours, state.theirs) == (State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL)


@pytest.mark.parametrize("status", [200, 204, 299])
def test_2xx_to_connect_switches_both_sides(status: int) -> None:
    state = make_state(State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL, pending_switch=True)
    state.our_event(Response, status_code=status, is_connect=True)
    assert (state.ours, state.theirs) == (State.SWITCHED_PROTOCOL, State.SWITCHED_PROTOCOL)


@pytest.mark.parametrize(("status", "is_connect"), [(200, False), (300, True), (407, True)])
def test_final_response_denies_pending_switch(status: int, is_connect: bool) -> None:
    state = make_state(State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL, pending_switch=True)
    state.our_event(Response, status_code=status, is_connect=is_connect)
    assert (state.ours, state.theirs) == (State.SEND_BODY, State.DONE)
    assert not state.pending_switch


def test_final_response_before_the_request_ended_cancels_the_switch() -> None:
    state = ConnectionState()
    state.their_event(Request, switch=True)
    state.our_event(Response, status_code=200)
    state.our_event(EndOfMessage)
    state.their_event(EndOfMessage)
    assert (state.ours, state.theirs) == (State.DONE, State.DONE)


def test_denied_switch_without_keep_alive_must_close() -> None:
    state = make_state(
        State.SEND_RESPONSE, State.MIGHT_SWITCH_PROTOCOL, keep_alive=False, pending_switch=True
    )
    state.our_event(Response, status_code=400)
    assert state.theirs is State.MUST_CLOSE


def test_close_after_this_turns_done_into_must_close() -> None:
    state = make_state(State.DONE, State.DONE)
    state.close_after_this()
    assert (state.ours, state.theirs, state.keep_alive) == (
        State.MUST_CLOSE,
        State.MUST_CLOSE,
        False,
    )


def test_close_after_this_leaves_unfinished_parties_alone() -> None:
    state = make_state(State.SEND_BODY, State.SEND_BODY)
    state.close_after_this()
    assert (state.ours, state.theirs) == (State.SEND_BODY, State.SEND_BODY)
    state.our_event(EndOfMessage)
    state.their_event(EndOfMessage)
    assert (state.ours, state.theirs) == (State.MUST_CLOSE, State.MUST_CLOSE)


def test_their_error_is_sticky_and_ends_keep_alive() -> None:
    state = make_state(State.DONE, State.SEND_BODY)
    state.their_error()
    assert (state.ours, state.theirs, state.keep_alive) == (State.MUST_CLOSE, State.ERROR, False)
    for event_type in EVENT_TYPES:
        with pytest.raises(LocalProtocolError):
            state.their_event(event_type)
    assert state.theirs is State.ERROR


def test_our_error_is_sticky_and_ends_keep_alive() -> None:
    state = make_state(State.SEND_BODY, State.DONE)
    state.our_error()
    assert (state.ours, state.keep_alive) == (State.ERROR, False)
    for event_type in EVENT_TYPES:
        with pytest.raises(LocalProtocolError):
            state.our_event(event_type, status_code=200)
    assert state.ours is State.ERROR


def test_start_next_cycle_resets_both_and_the_proposal() -> None:
    state = make_state(State.DONE, State.DONE, pending_switch=True)
    state.start_next_cycle()
    assert (state.ours, state.theirs, state.pending_switch) == (State.IDLE, State.IDLE, False)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (State.DONE, State.SEND_BODY),
        (State.SEND_BODY, State.DONE),
        (State.MUST_CLOSE, State.MUST_CLOSE),
        (State.DONE, State.MIGHT_SWITCH_PROTOCOL),
    ],
)
def test_start_next_cycle_needs_both_done(ours: State, theirs: State) -> None:
    state = make_state(ours, theirs)
    with pytest.raises(LocalProtocolError, match="not ready for a new request"):
        state.start_next_cycle()
    assert (state.ours, state.theirs) == (ours, theirs)


# ---------------------------------------------------------------- Hypothesis over every pair


def _settled(state: State, keep_alive: bool) -> State:
    return State.MUST_CLOSE if state is State.DONE and not keep_alive else state


@settings(derandomize=True, deadline=None, max_examples=300)
@given(
    ours=st.sampled_from(State),
    theirs=st.sampled_from(State),
    keep_alive=st.booleans(),
    pending=st.booleans(),
    event_type=st.sampled_from(EVENT_TYPES),
    switch=st.booleans(),
)
def test_any_client_event_in_any_state_is_legal_or_local_protocol_error(
    ours: State, theirs: State, keep_alive: bool, pending: bool, event_type: type, switch: bool
) -> None:
    state = make_state(ours, theirs, keep_alive=keep_alive, pending_switch=pending)
    target = THEIR_TRANSITIONS.get((theirs, event_type))
    if target is None:
        with pytest.raises(LocalProtocolError):
            state.their_event(event_type, switch=switch)
        assert (state.ours, state.theirs, state.pending_switch) == (ours, theirs, pending)
        return
    state.their_event(event_type, switch=switch)
    if event_type is Request:
        assert state.pending_switch is switch
        expected_ours = State.SEND_RESPONSE if ours is State.IDLE else _settled(ours, keep_alive)
    else:
        if target is State.DONE and pending:
            target = State.MIGHT_SWITCH_PROTOCOL
        expected_ours = _settled(ours, keep_alive)
    assert (state.ours, state.theirs) == (expected_ours, _settled(target, keep_alive))
    assert ours is not State.ERROR or state.ours is State.ERROR


@settings(derandomize=True, deadline=None, max_examples=300)
@given(
    ours=st.sampled_from(State),
    theirs=st.sampled_from(State),
    keep_alive=st.booleans(),
    pending=st.booleans(),
    event_type=st.sampled_from(EVENT_TYPES),
    status=st.sampled_from([100, 101, 103, 200, 204, 299, 300, 404, 500]),
    is_connect=st.booleans(),
)
def test_any_server_event_in_any_state_is_legal_or_local_protocol_error(
    ours: State,
    theirs: State,
    keep_alive: bool,
    pending: bool,
    event_type: type,
    status: int,
    is_connect: bool,
) -> None:
    state = make_state(ours, theirs, keep_alive=keep_alive, pending_switch=pending)
    target = OUR_TRANSITIONS.get((ours, event_type))
    switch_101 = event_type is InformationalResponse and status == 101
    refused_101 = switch_101 and (theirs is not State.MIGHT_SWITCH_PROTOCOL or is_connect)
    if target is None or refused_101:
        with pytest.raises(LocalProtocolError):
            state.our_event(event_type, status_code=status, is_connect=is_connect)
        assert (state.ours, state.theirs, state.pending_switch) == (ours, theirs, pending)
        return
    state.our_event(event_type, status_code=status, is_connect=is_connect)
    might_switch = theirs is State.MIGHT_SWITCH_PROTOCOL
    if switch_101 or (
        event_type is Response and might_switch and is_connect and 200 <= status < 300
    ):
        assert (state.ours, state.theirs) == (State.SWITCHED_PROTOCOL, State.SWITCHED_PROTOCOL)
        return
    if event_type is Response:
        assert not state.pending_switch
        if might_switch:
            theirs = State.DONE
    assert (state.ours, state.theirs) == (
        _settled(target, keep_alive),
        _settled(theirs, keep_alive),
    )
    assert theirs is not State.ERROR or state.theirs is State.ERROR
