"""The machine: scripted handshakes, event aliases, errors that change nothing, history, observers.

The property tests compare the machine against ``rfc9293`` (arrows written out by hand) and a
plain list standing for the history, so they check the machine, not the table against itself.
"""

from __future__ import annotations

import re
import warnings

import pytest
import rfc9293
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tcpviz.errors import (
    InvalidTransition,
    NothingToUndo,
    TcpvizError,
    UnknownEvent,
    UnknownState,
)
from tcpviz.model.machine import Change, Machine
from tcpviz.model.table import Table, Transition, tcp_table


def snapshot(m: Machine) -> tuple:
    """Everything an error must leave alone."""
    return (m.state, m.history, m.future, m.entered_from, m.last, m.visited)


def step_through(m: Machine, steps: list[tuple[str, str]]) -> None:
    for number, (event, expected) in enumerate(steps, start=1):
        taken = m.fire(event)
        assert m.state == expected, f"step {number}: {event!r} led to {m.state}, not {expected}"
        assert taken.target == expected and m.last is taken


# -- scripted sequences -----------------------------------------------------------------------

CLIENT_OPEN = [("active OPEN", "SYN-SENT"), ("rcv SYN,ACK", "ESTABLISHED")]
SERVER_OPEN = [
    ("passive OPEN", "LISTEN"),
    ("rcv SYN", "SYN-RECEIVED"),
    ("rcv ACK of SYN", "ESTABLISHED"),
]
SCRIPTS = {
    "three-way handshake, client": (False, CLIENT_OPEN),
    "three-way handshake, server": (False, SERVER_OPEN),
    "simultaneous open": (
        False,
        [("connect", "SYN-SENT"), ("SYN", "SYN-RECEIVED"), ("ACK", "ESTABLISHED")],
    ),
    "listen, then send": (
        False,
        [("listen", "LISTEN"), ("SEND", "SYN-SENT"), ("SYN+ACK", "ESTABLISHED")],
    ),
    "active close": (
        False,
        [
            *CLIENT_OPEN,
            ("CLOSE", "FIN-WAIT-1"),
            ("rcv ACK of FIN", "FIN-WAIT-2"),
            ("rcv FIN", "TIME-WAIT"),
            ("Timeout=2MSL", "CLOSED"),
        ],
    ),
    "passive close": (
        False,
        [
            *SERVER_OPEN,
            ("rcv FIN", "CLOSE-WAIT"),
            ("close", "LAST-ACK"),
            ("ack", "CLOSED"),
        ],
    ),
    "simultaneous close": (
        False,
        [
            *CLIENT_OPEN,
            ("close", "FIN-WAIT-1"),
            ("fin", "CLOSING"),
            ("ack", "TIME-WAIT"),
            ("timeout", "CLOSED"),
        ],
    ),
    "FIN+ACK shortcut (Note 2)": (
        False,
        [*CLIENT_OPEN, ("close", "FIN-WAIT-1"), ("FIN+ACK", "TIME-WAIT"), ("2MSL", "CLOSED")],
    ),
    "close while SYN-RECEIVED": (
        False,
        [*SERVER_OPEN[:2], ("close", "FIN-WAIT-1"), ("ack of fin", "FIN-WAIT-2")],
    ),
    "reset after a passive open (Note 1)": (
        False,
        [*SERVER_OPEN[:2], ("RST", "LISTEN"), ("SYN", "SYN-RECEIVED")],
    ),
    "connection refused": (True, [("connect", "SYN-SENT"), ("RST", "CLOSED")]),
    "refused after a simultaneous open": (
        True,
        [("connect", "SYN-SENT"), ("SYN", "SYN-RECEIVED"), ("RST", "CLOSED")],
    ),
    "reset in ESTABLISHED": (True, [*CLIENT_OPEN, ("rcv RST", "CLOSED")]),
    "abort in ESTABLISHED": (True, [*SERVER_OPEN, ("abort", "CLOSED")]),
    "user timeout in LAST-ACK": (
        True,
        [*SERVER_OPEN, ("FIN", "CLOSE-WAIT"), ("close", "LAST-ACK"), ("timeout", "CLOSED")],
    ),
}


@pytest.mark.parametrize(("extended", "steps"), SCRIPTS.values(), ids=SCRIPTS.keys())
def test_scripted_sequence(extended, steps):
    m = Machine(extended=extended)
    step_through(m, steps)
    assert [t.target for t in m.history] == [state for _, state in steps]
    assert m.future == ()


def test_what_each_step_sends():
    m = Machine()
    sent = [m.fire(e).sent for e in ("connect", "SYN", "ACK", "close", "FIN", "ACK", "timeout")]
    assert sent == ["SYN", "SYN,ACK", "", "FIN", "ACK", "", ""]


def test_extended_only_sequences_fail_on_the_classic_table():
    m = Machine()
    m.fire("connect")
    with pytest.raises(InvalidTransition, match=r"'RST' not allowed in SYN-SENT"):
        m.fire("RST")
    with pytest.raises(UnknownEvent, match=r"unknown event: 'abort' in SYN-SENT"):
        m.fire("abort")


def test_rst_after_a_simultaneous_open_needs_the_extended_table():
    m = Machine()
    m.run("connect", "SYN")
    assert m.entered_from == "SYN-SENT"
    assert "rcv RST" not in m.enabled_events()
    m = Machine(extended=True)
    m.run("connect", "SYN")
    assert m.resolve("RST").target == "CLOSED"


# -- event aliases ----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["rcv SYN", "SYN", "syn", "receive SYN", "Recv-SYN", "rx syn"])
def test_spellings_of_rcv_syn(spelling):
    m = Machine(state="LISTEN")
    assert m.fire(spelling).event == "rcv SYN"
    assert m.state == "SYN-RECEIVED"


@pytest.mark.parametrize(
    ("spelling", "state"),
    [
        ("passive open", "LISTEN"),
        ("passive OPEN", "LISTEN"),
        ("listen", "LISTEN"),
        ("connect", "SYN-SENT"),
        ("active open", "SYN-SENT"),
        ("open", "SYN-SENT"),
        ("send SYN", "SYN-SENT"),
        ("snd SYN", "SYN-SENT"),
    ],
)
def test_spellings_of_open(spelling, state):
    m = Machine()
    m.fire(spelling)
    assert m.state == state


@pytest.mark.parametrize(
    ("prefix", "event", "target"),
    [
        (["listen", "SYN"], "rcv ACK of SYN", "ESTABLISHED"),
        (["connect", "SYN"], "rcv ACK of SYN", "ESTABLISHED"),
        (["connect", "SYN+ACK", "close"], "rcv ACK of FIN", "FIN-WAIT-2"),
        (["connect", "SYN+ACK", "close", "FIN"], "rcv ACK of FIN", "TIME-WAIT"),
        (["connect", "SYN+ACK", "FIN", "close"], "rcv ACK of FIN", "CLOSED"),
    ],
)
def test_ack_means_whichever_ack_is_expected(prefix, event, target):
    for spelling in ("ack", "ACK", "rcv ACK", "receive ack"):
        m = Machine()
        m.run(*prefix)
        taken = m.fire(spelling)
        assert (taken.event, m.state) == (event, target)


def test_timeout_means_whichever_timer_runs():
    m = Machine(extended=True)
    m.run("connect", "SYN+ACK", "close", "ack", "fin")
    assert m.fire("timeout").event == "timeout 2MSL"
    m = Machine(extended=True, state="ESTABLISHED")
    assert m.fire("timeout").event == "user timeout"
    # The classic figure has no user timeout: the alias is known but nothing is enabled.
    m = Machine(state="ESTABLISHED")
    with pytest.raises(InvalidTransition, match=r"event 'timeout' not allowed in ESTABLISHED"):
        m.fire("timeout")


def test_send_syn_means_open_in_closed_and_send_in_listen():
    assert Machine().fire("send SYN").event == "active OPEN"
    assert Machine(state="listen").fire("send SYN").event == "SEND"


def test_fire_accepts_a_row():
    m = Machine()
    (row,) = [t for t in m.enabled() if t.target == "LISTEN"]
    assert m.can_fire(row)
    assert m.fire(row) is row and m.state == "LISTEN"
    assert not m.can_fire(row)
    with pytest.raises(
        InvalidTransition,
        match=re.escape(
            "transition 'passive OPEN / create TCB' from CLOSED not allowed in LISTEN "
            "(allowed: ['CLOSE', 'rcv SYN', 'SEND'])"
        ),
    ):
        m.fire(row)


def test_resolve_does_not_fire(machine):
    assert machine.resolve("listen").target == "LISTEN"
    assert machine.state == "CLOSED" and machine.history == ()


# -- errors -----------------------------------------------------------------------------------


def test_invalid_event_names_the_state_and_lists_the_allowed_events():
    m = Machine(state="LISTEN")
    with pytest.raises(
        InvalidTransition,
        match=re.escape(
            "event 'FIN' not allowed in LISTEN (allowed: ['CLOSE', 'rcv SYN', 'SEND'])"
        ),
    ):
        m.fire("FIN")


def test_unknown_event_lists_allowed_and_every_event():
    m = Machine()
    with pytest.raises(
        UnknownEvent,
        match=re.escape(
            "unknown event: 'sin' in CLOSED (allowed: ['passive OPEN', 'active OPEN']; "
            "every event of this table: ['passive OPEN', 'active OPEN', 'CLOSE'"
        ),
    ) as info:
        m.fire("sin")
    assert isinstance(info.value, InvalidTransition)
    assert isinstance(info.value, TcpvizError) and isinstance(info.value, ValueError)
    assert info.value.__suppress_context__


def test_unknown_start_state():
    with pytest.raises(UnknownState, match=r"unknown state: 'OPEN' \(must be one of \['CLOSED'"):
        Machine(state="OPEN")
    assert Machine(state="syn_recv").state == "SYN-RECEIVED"


@pytest.mark.parametrize(
    "bad",
    [
        lambda m: m.fire("SYN"),
        lambda m: m.fire("no such event"),
        lambda m: m.fire(""),
        lambda m: m.fire(tcp_table().transitions[0]),
        lambda m: m.run("close", "FIN", "nonsense"),
        lambda m: m.run("close", "timeout"),
        lambda m: m.jump(99),
        lambda m: m.jump(-1),
        lambda m: m.jump(True),
        lambda m: m.jump(1.0),
    ],
)
def test_every_error_changes_nothing(bad):
    m = Machine()
    m.run("connect", "SYN+ACK", "close", "ack")
    m.undo()
    heard: list[Change] = []
    m.subscribe(lambda _, change: heard.append(change))
    before = snapshot(m)
    with pytest.raises(TcpvizError):
        bad(m)
    assert snapshot(m) == before
    assert heard == []


def test_undo_and_redo_errors(machine):
    m = machine
    with pytest.raises(
        NothingToUndo, match=r"nothing to undo: CLOSED is where the machine started"
    ):
        m.undo()
    with pytest.raises(NothingToUndo, match=r"nothing to redo in CLOSED"):
        m.redo()
    with pytest.raises(NothingToUndo, match=r"cannot jump to step 1: steps run from 0 to 0"):
        m.jump(1)
    assert snapshot(m) == ("CLOSED", (), (), None, None, ("CLOSED",))


# -- history ----------------------------------------------------------------------------------


def test_undo_redo_jump_reset():
    m = Machine()
    taken = m.run("listen", "SYN", "ACK")
    assert m.state == "ESTABLISHED" and m.entered_from == "SYN-RECEIVED"

    assert m.undo() is taken[2]
    assert (m.state, m.entered_from, m.future) == ("SYN-RECEIVED", "LISTEN", (taken[2],))
    assert m.undo() is taken[1]
    assert m.future == (taken[1], taken[2])
    assert m.redo() is taken[1]
    assert (m.state, m.future) == ("SYN-RECEIVED", (taken[2],))

    m.jump(0)
    assert (m.state, m.history, m.future) == ("CLOSED", (), tuple(taken))
    m.jump(3)
    assert (m.state, m.history, m.future) == ("ESTABLISHED", tuple(taken), ())
    m.jump(1)
    assert (m.state, m.history) == ("LISTEN", (taken[0],))

    m.fire("close")  # a new step forgets what could be redone
    assert (m.state, m.future) == ("CLOSED", ())
    assert m.visited == ("CLOSED", "LISTEN")

    m.reset()
    assert (m.state, m.history, m.future, m.last, m.entered_from) == (
        "CLOSED",
        (),
        (),
        None,
        None,
    )


def test_start_state_is_kept_by_reset():
    m = Machine(state="ESTAB")
    assert (m.start, m.state, m.entered_from) == ("ESTABLISHED", "ESTABLISHED", None)
    m.run("close", "ack")
    m.reset()
    assert m.state == "ESTABLISHED"


def test_description_and_visited_follow_the_state():
    m = Machine()
    m.run("connect", "SYN+ACK", "close", "ack", "fin", "timeout", "listen")
    assert m.description == m.table.descriptions["LISTEN"]
    assert m.visited == (
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "LISTEN",
    )


def test_repr():
    m = Machine()
    m.fire("listen")
    assert (
        repr(m)
        == "<Machine LISTEN after 1 steps of <Table 'TCP (RFC 9293 Figure 5)': 11 states, 21 transitions>>"
    )


def test_a_custom_table():
    table = Table(
        [Transition("off", "press", "on"), Transition("on", "press", "off")],
        descriptions={"off": "dark", "on": "light"},
    )
    m = Machine(table)
    m.run("press", "PRESS", "Press")
    assert (m.state, m.description) == ("on", "light")


# -- observers --------------------------------------------------------------------------------


def test_observers_hear_every_change():
    m = Machine()
    heard: list[tuple[Machine, Change]] = []
    unsubscribe = m.subscribe(lambda machine, change: heard.append((machine, change)))

    listen = m.fire("listen")
    syn = m.fire("SYN")
    m.undo()
    m.redo()
    m.jump(0)
    m.jump(0)  # already there: nothing to hear
    m.reset()
    assert all(machine is m for machine, _ in heard)
    assert [c for _, c in heard] == [
        Change("fire", "LISTEN", "CLOSED", listen),
        Change("fire", "SYN-RECEIVED", "LISTEN", syn),
        Change("undo", "LISTEN", "SYN-RECEIVED", syn),
        Change("redo", "SYN-RECEIVED", "LISTEN", syn),
        Change("jump", "CLOSED", "SYN-RECEIVED", None),
        Change("reset", "CLOSED", "CLOSED", None),
    ]

    heard.clear()
    taken = m.run("connect", "SYN+ACK")
    assert [c for _, c in heard] == [Change("jump", "ESTABLISHED", "CLOSED", taken[-1])]

    unsubscribe()
    unsubscribe()  # twice is harmless
    m.fire("close")
    assert len(heard) == 1


def test_a_failing_observer_warns_and_breaks_nothing():
    m = Machine()
    heard: list[str] = []

    def broken(machine, change):
        raise ZeroDivisionError("the view is gone")

    m.subscribe(broken)
    m.subscribe(lambda machine, change: heard.append(change.state))
    with pytest.warns(RuntimeWarning, match=r"observer .* failed on fire: ZeroDivisionError"):
        m.fire("listen")
    assert m.state == "LISTEN" and heard == ["LISTEN"]
    with pytest.warns(RuntimeWarning, match="failed on undo"):
        m.undo()
    assert m.state == "CLOSED" and heard == ["LISTEN", "CLOSED"]


def test_an_observer_may_unsubscribe_while_notified():
    m = Machine()
    heard: list[str] = []

    def once(machine, change):
        heard.append(change.state)
        unsubscribe()

    unsubscribe = m.subscribe(once)
    m.subscribe(lambda machine, change: heard.append("other"))
    m.fire("listen")
    m.fire("close")
    assert heard == ["LISTEN", "other", "other"]


def test_run_is_all_or_nothing():
    m = Machine()
    m.run("listen", "SYN")
    m.undo()
    heard: list[Change] = []
    m.subscribe(lambda _, change: heard.append(change))
    before = snapshot(m)
    with pytest.raises(InvalidTransition, match=r"event 'SYN' not allowed in ESTABLISHED"):
        m.run("SYN", "ACK", "SYN", "close")
    assert snapshot(m) == before and heard == []
    assert m.run() == [] and heard == []
    taken = m.run("SYN", "ACK")
    assert [t.target for t in taken] == ["SYN-RECEIVED", "ESTABLISHED"]
    assert len(heard) == 1


def test_run_is_all_or_nothing_even_when_interrupted():
    m = Machine()

    class Interrupting:
        """An event whose matching is interrupted halfway through a run (like Ctrl+C)."""

        def __str__(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        m.run("listen", "SYN", Interrupting())
    assert snapshot(m) == ("CLOSED", (), (), None, None, ("CLOSED",))
    m.fire("listen")  # observers and history still work
    assert m.state == "LISTEN"


# -- properties -------------------------------------------------------------------------------

TABLES = {False: tcp_table(), True: tcp_table(extended=True)}
ARROWS = {False: rfc9293.FIGURE_5, True: rfc9293.FIGURE_5 + rfc9293.SECTION_3_10}
# Every spelling the RFC uses, plus a few that no table knows.
RFC_EVENTS = sorted({a.event for a in ARROWS[True]})
EVENTS = [*RFC_EVENTS, "ack", "timeout", "send SYN", "bogus", ""]


def walk(data, m: Machine, max_steps: int = 25) -> None:
    for _ in range(data.draw(st.integers(0, max_steps))):
        m.fire(data.draw(st.sampled_from(m.enabled())))


@pytest.mark.parametrize("extended", [False, True], ids=["classic", "extended"])
@settings(max_examples=150)
@given(data=st.data())
def test_enabled_events_keep_the_machine_in_the_table_and_history_replays(extended, data):
    m = Machine(extended=extended)
    walk(data, m)
    assert m.state in m.table.states
    assert m.enabled(), f"{m.state} is a dead end"  # every state has a way out
    # The enabled events are exactly what the RFC allows, given where we came from.
    expected = rfc9293.enabled(ARROWS[extended], m.state, m.entered_from)
    assert {(t.event, t.target, t.sent) for t in m.enabled()} == {
        (m.table.event_candidates(a.event)[0], a.target, a.sent) for a in expected.values()
    }
    # Each step follows the one before, and replaying the event names gives the same walk.
    for before, after in zip(m.history, m.history[1:], strict=False):
        assert after.source == before.target
    replay = Machine(extended=extended)
    replay.run(*(t.event for t in m.history))
    assert replay.state == m.state and replay.history == m.history


@settings(max_examples=150)
@given(data=st.data(), extended=st.booleans())
def test_undo_after_fire_restores_everything(data, extended):
    m = Machine(extended=extended)
    walk(data, m, 15)
    before = (m.state, m.history, m.entered_from, m.last, m.visited)
    taken = m.fire(data.draw(st.sampled_from(m.enabled())))
    assert m.undo() is taken
    assert (m.state, m.history, m.entered_from, m.last, m.visited) == before
    assert m.future == (taken,)
    assert m.redo() is taken and m.state == taken.target


@settings(max_examples=200)
@given(
    data=st.data(),
    extended=st.booleans(),
    event=st.one_of(st.text(max_size=15), st.sampled_from(EVENTS)),
)
def test_an_invalid_event_never_changes_anything(data, extended, event):
    m = Machine(extended=extended)
    walk(data, m, 10)
    if data.draw(st.booleans()) and m.history:
        m.undo()  # something to redo, which an error must keep too
    if m.can_fire(event):
        return  # random text that happens to be valid ("syn", "ack"): not this test's business
    before = snapshot(m)
    with pytest.raises(InvalidTransition):
        m.fire(event)
    assert snapshot(m) == before


@settings(max_examples=150)
@given(data=st.data(), extended=st.booleans())
def test_a_real_event_that_is_not_enabled_changes_nothing(data, extended):
    m = Machine(extended=extended)
    walk(data, m, 10)
    enabled = m.enabled_events()
    # Not enabled under any meaning ("rcv SYN,ACK" means ACK of SYN in SYN-RECEIVED).
    disabled = [e for e in m.table.events if not set(m.table.event_candidates(e)) & set(enabled)]
    event = data.draw(st.sampled_from(disabled))
    before = snapshot(m)
    with pytest.raises(InvalidTransition, match=re.escape(f"not allowed in {m.state} (allowed:")):
        m.fire(event)
    assert snapshot(m) == before


class HistoryModel(RuleBasedStateMachine):
    """Drive fire/undo/redo/jump/reset at random; a list of states is the oracle.

    ``path`` holds the states from the start to now, ``redo`` the states that redo would
    reach, next last. The next state of a fire comes from the hand-written RFC arrows.
    """

    extended = False

    @initialize()
    def start(self):
        self.machine = Machine(extended=self.extended)
        self.arrows = ARROWS[self.extended]
        self.path = ["CLOSED"]
        self.redo_states: list[str] = []
        self.heard: list[Change] = []
        self.machine.subscribe(lambda _, change: self.heard.append(change))

    @property
    def entered_from(self):
        return self.path[-2] if len(self.path) > 1 else None

    @rule(event=st.sampled_from(EVENTS))
    def fire(self, event):
        candidates = {
            arrow.event: arrow
            for arrow in rfc9293.enabled(self.arrows, self.path[-1], self.entered_from).values()
        }
        # What the RFC's spelling means here: the arrow of that event, or for the shared
        # aliases whichever of their events is enabled.
        shared = {
            "ack": ("rcv ACK of SYN", "rcv ACK of FIN"),
            "timeout": ("Timeout=2MSL", "user timeout"),
            "send SYN": ("active OPEN", "SEND"),
            # The segment on the wire: a SYN,ACK in SYN-RECEIVED acknowledges our SYN.
            "rcv SYN,ACK": ("rcv SYN,ACK", "rcv ACK of SYN"),
        }
        meant = [candidates[e] for e in shared.get(event, (event,)) if e in candidates]
        self.heard.clear()
        if not meant:
            with pytest.raises(InvalidTransition):
                self.machine.fire(event)
            assert self.heard == []
            return
        (arrow,) = meant
        taken = self.machine.fire(event)
        assert (taken.target, taken.sent, taken.via) == (arrow.target, arrow.sent, arrow.via)
        self.path.append(arrow.target)
        self.redo_states.clear()
        assert [c.action for c in self.heard] == ["fire"]

    @rule()
    def undo(self):
        if len(self.path) == 1:
            with pytest.raises(NothingToUndo):
                self.machine.undo()
            return
        self.machine.undo()
        self.redo_states.append(self.path.pop())

    @rule()
    def redo(self):
        if not self.redo_states:
            with pytest.raises(NothingToUndo):
                self.machine.redo()
            return
        self.machine.redo()
        self.path.append(self.redo_states.pop())

    @rule(steps=st.integers(-2, 12))
    def jump(self, steps):
        total = len(self.path) - 1 + len(self.redo_states)
        if not 0 <= steps <= total:
            with pytest.raises(NothingToUndo, match=f"steps run from 0 to {total}"):
                self.machine.jump(steps)
            return
        self.machine.jump(steps)
        while len(self.path) - 1 > steps:
            self.redo_states.append(self.path.pop())
        while len(self.path) - 1 < steps:
            self.path.append(self.redo_states.pop())

    @precondition(lambda self: len(self.path) > 1 or self.redo_states)
    @rule()
    def reset(self):
        self.machine.reset()
        self.path = ["CLOSED"]
        self.redo_states = []

    @invariant()
    def agrees_with_the_model(self):
        m = self.machine
        assert m.state == self.path[-1]
        assert [t.target for t in m.history] == self.path[1:]
        assert m.entered_from == self.entered_from
        assert [t.target for t in m.future] == self.redo_states[::-1]
        assert m.visited == tuple(dict.fromkeys(self.path))
        assert m.state in m.table.states


class ExtendedHistoryModel(HistoryModel):
    extended = True


HistoryModel.TestCase.settings = settings(max_examples=100, stateful_step_count=30)
ExtendedHistoryModel.TestCase.settings = settings(max_examples=100, stateful_step_count=30)
TestClassicHistory = HistoryModel.TestCase
TestExtendedHistory = ExtendedHistoryModel.TestCase


def test_no_warnings_from_a_plain_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Machine().run("connect", "SYN+ACK", "close", "ack", "fin", "timeout")
