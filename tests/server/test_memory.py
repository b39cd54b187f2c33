"""When the server gives a burst's memory back to the system (`ketch.server.memory`).

The end-to-end figure (200 resets leave RSS within 8 MiB) is tests/abuse/test_resets.py; these
pin the decision, whose every branch that test cannot force on a given machine.
"""

from __future__ import annotations

from ketch.server.memory import BURST, AfterBurst, release_free_memory


def _burst(watch: AfterBurst, *, together: int, total: int) -> None:
    """`total` connections opened and closed, `together` of them open at once."""
    open_now = 0
    for _ in range(total):
        if open_now == together:
            watch.closed += 1
            open_now -= 1
        open_now += 1
        watch.opened(open_now)
    watch.closed += open_now


def test_release_free_memory_runs_anywhere() -> None:
    release_free_memory()  # glibc: malloc_trim; elsewhere: nothing, and never an error


def test_a_burst_of_simultaneous_connections_is_released_once_it_is_over() -> None:
    watch = AfterBurst()
    for open_now in range(1, 201):
        watch.opened(open_now)
    assert not watch.due(200)  # still under way
    watch.closed = 200
    assert watch.due(0)
    assert not watch.due(0)  # once per burst, not every tick


def test_connections_one_after_another_make_a_burst_too() -> None:
    # A busy or slow server sees a burst of clients trickle in: never 64 open at once.  This is
    # what the reset test met on a loaded CI machine, when only the peak counted.
    watch = AfterBurst()
    _burst(watch, together=3, total=BURST)
    assert watch.peak == 3
    assert watch.due(0)


def test_fewer_connections_than_a_burst_release_nothing() -> None:
    watch = AfterBurst()
    _burst(watch, together=BURST, total=BURST - 1)
    assert not watch.due(0)


def test_steady_load_releases_nothing() -> None:
    # Connections come and go, but as many are open as ever: the memory is about to be reused.
    watch = AfterBurst()
    _burst(watch, together=100, total=1000)
    watch.closed -= 100  # the last 100 are still open
    assert not watch.due(100)
    assert not watch.due(26)  # more than a quarter of the peak
    assert watch.due(25)


def test_stragglers_closing_release_once_more() -> None:
    watch = AfterBurst()
    _burst(watch, together=200, total=200)
    watch.closed -= 10
    assert watch.due(10)  # the burst is over, 10 connections still open
    watch.closed += 7
    assert not watch.due(3)
    watch.closed += 3
    assert watch.due(0)  # the last of them gone
    assert not watch.due(0)
