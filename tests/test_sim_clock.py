"""The simulated clock and the timer profiles."""

from __future__ import annotations

import pytest

from tcpviz.errors import InvalidOperation
from tcpviz.sim import LINUX, PROFILES, RFC, Clock, Profile, Timer, get_profile


def test_the_next_timer_is_the_earliest_and_ties_go_in_start_order():
    clock = (
        Clock()
        .start("server", Timer("retransmit", 1.0))
        .start("client", Timer("2msl", 240))
        .start("client", Timer("retransmit", 1.0))
    )
    first, clock = clock.pop()
    assert (first.end, first.name, clock.now) == ("server", "retransmit", 1.0)
    second, clock = clock.pop()
    assert (second.end, second.name) == ("client", "retransmit")
    assert clock.remaining("client", "2msl") == 239


def test_restart_replaces_and_stop_removes():
    clock = Clock().start("a", Timer("retransmit", 1)).start("a", Timer("retransmit", 4))
    assert len(clock.timers) == 1 and clock.timers[0].deadline == 4
    assert clock.stop("a", "retransmit").timers == ()
    assert clock.stop("a", "2msl") is clock
    assert clock.stop_all("a").next() is None


def test_no_timer_no_advance():
    with pytest.raises(InvalidOperation, match="no timer is running"):
        Clock().pop()


@pytest.mark.parametrize(
    ("name", "after", "message"),
    [
        ("egg", 1, "unknown timer 'egg'"),
        ("2msl", 0, "duration must be > 0 s"),
        ("2msl", float("inf"), "duration must be > 0 s"),
    ],
)
def test_bad_timers(name, after, message):
    with pytest.raises(InvalidOperation, match=message):
        Timer(name, after)


def test_profiles():
    assert RFC.initial_rto == 1 and [RFC.rto(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert RFC.time_wait_duration == 240 and RFC.user_timeout == 300 and RFC.fin_wait_2 is None
    assert LINUX.syn_waits == (1, 1, 1, 1, 1, 2, 4)
    assert LINUX.time_wait_duration == 60 and LINUX.fin_wait_2 == 60
    assert (
        get_profile("Linux") is LINUX
        and get_profile(RFC) is RFC
        and set(PROFILES) == {"rfc", "linux"}
    )
    assert Profile("mine", msl=30).time_wait_duration == 60
    with pytest.raises(
        InvalidOperation, match=r"unknown profile 'bsd' \(must be one of \['linux', 'rfc'\]\)"
    ):
        get_profile("bsd")
