"""The simulated connection: operations, the network's bookkeeping, history, and invariants.

The invariants are checked over random interleavings (Hypothesis) of user calls on both ends,
deliveries, drops, duplications, delays, injected segments and timer expiries, with undo, redo
and jumps mixed in. Bounded: each test runs in a few seconds.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tcpviz import STATES
from tcpviz.errors import InvalidOperation, NothingToUndo, SimError, TcpvizError
from tcpviz.sim import (
    LINUX,
    Called,
    Connection,
    ConnectionChange,
    Delayed,
    Delivered,
    Dropped,
    Duplicated,
    Operation,
    Segment,
    Sent,
    StateChanged,
    TimerFired,
    TimerStarted,
    TimerStopped,
    seq_add,
    seq_diff,
    seq_le,
)

HANDSHAKE = ["server listen", "client connect", "deliver 1", "deliver 2", "deliver 3"]


def everything(c: Connection) -> object:
    """All a user can observe of a connection, to compare before and after."""
    return (
        c.describe(),
        c.trace,
        c.history,
        c.future,
        c.clock,
        tuple((e.machine.history, e.machine.future, e.tcb, e.retransmission_queue) for e in c.ends),
    )


# -- operations as text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("client connect", Operation("connect", "client")),
        ("server send 5", Operation("send", "server", length=5)),
        ("server read", Operation("read", "server")),
        ("deliver", Operation("deliver")),
        ("deliver 3", Operation("deliver", segment_id=3)),
        ("drop #2", Operation("drop", segment_id=2)),
        ("advance", Operation("advance")),
        (
            "inject server SYN seq=90",
            Operation("inject", "server", segment=Segment("client", "server", 90, flags="SYN")),
        ),
    ],
)
def test_operations_read_and_print(text, op):
    assert Operation.parse(text) == op
    assert Operation.parse(op.label) == op


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty operation"),
        ("client fly", "unknown call 'fly'"),
        ("drop", "drop needs a segment number"),
        ("deliver x", "'x' is not a segment number"),
        ("client close 3", "only send and read take a number"),
        ("mars connect", "cannot read operation 'mars connect'"),
        ("inject mars SYN seq=1", "unknown end 'mars'"),
    ],
)
def test_bad_operations_say_what_is_expected(text, message):
    with pytest.raises(InvalidOperation, match=message):
        Operation.parse(text)


def test_errors_are_sim_errors_and_value_errors():
    assert issubclass(InvalidOperation, SimError)
    assert issubclass(SimError, TcpvizError) and issubclass(SimError, ValueError)


# -- errors change nothing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ("client close", r"cannot close in ESTABLISHED|cannot close"),
        ("deliver 9", r"no segment #9 in flight \(in flight: \['#4 client -> server: FIN,ACK"),
        (
            "server connect",
            r"cannot connect in ESTABLISHED \(3.10.1: connection already exists\); ",
        ),
        ("server read", r"nothing received is waiting to be read"),
        ("delay 4", "already the last in flight"),
    ],
)
def test_an_impossible_operation_changes_nothing_and_lists_what_is_possible(op, message):
    c = Connection.from_operations([*HANDSHAKE, "client close"])
    before = everything(c)
    if op == "client close":
        message = (
            r"cannot close in FIN-WAIT-1 \(3.10.4: connection closing .*possible now: \['abort'\]"
        )
    with pytest.raises(InvalidOperation, match=message):
        c.apply(op)
    assert everything(c) == before


def test_advance_with_no_timer_is_refused():
    c = Connection.from_operations(HANDSHAKE)
    with pytest.raises(
        InvalidOperation, match=r"no timer is running.*possible now: .*'client send 1'"
    ):
        c.advance()


def test_send_beyond_the_window_is_refused():
    c = Connection.from_operations(HANDSHAKE, window=10)
    c.send("client", 6)
    with pytest.raises(InvalidOperation, match="only 4 octets fit in the send window of 10"):
        c.send("client", 5)


# -- the network ----------------------------------------------------------------------------------


def test_duplicate_gives_a_copy_with_a_new_id_and_the_copy_is_answered_as_old():
    c = Connection.from_operations([*HANDSHAKE, "client send 3", "duplicate 4"])
    assert [(f.id, f.origin) for f in c.in_flight] == [(4, "sent"), (5, "duplicate")]
    c.deliver(4)
    (ack,) = [f for f in c.in_flight if f.id == 6]
    assert ack.segment.label == "ACK seq=301 ack=104"
    events = c.deliver(5)  # the copy is old now: unacceptable, answered with an ACK
    (delivered,) = [e for e in events if isinstance(e, Delivered)]
    assert delivered.response == "ack" and delivered.section == "3.10.7.4"
    assert c.server.unread == 3  # the data was taken once


def test_delay_lets_the_others_overtake():
    c = Connection.from_operations(["client connect", "server connect", "delay 1"])
    assert [f.id for f in c.in_flight] == [2, 1]
    c.deliver()  # the first in flight: the server's SYN
    assert c.states == ("SYN-RECEIVED", "SYN-SENT")


def test_trace_events_are_frozen_and_carry_step_and_time():
    c = Connection.from_operations(["server listen", "client connect", "drop 1", "advance"])
    kinds = [type(e) for e in c.events(4)]
    assert kinds == [TimerFired, TimerStarted, Sent]
    fired, started, sent = c.events(4)
    assert (fired.time, fired.end, fired.timer) == (1.0, "client", "retransmit")
    assert started.deadline == 3.0  # the RTO doubled (RFC 6298 5.5)
    assert sent.retransmission and sent.segment.label == "SYN seq=100" and sent.segment_id == 2
    with pytest.raises(AttributeError):
        sent.step = 9  # type: ignore[misc]
    assert isinstance(c.events(3)[0], Dropped) and c.events(3)[0].end == "server"
    assert isinstance(c.events(1)[0], Called) and c.events(1)[1].__class__ is StateChanged


def test_state_changes_in_the_trace_are_the_machines_transitions():
    c = Connection.from_operations(
        [*HANDSHAKE, "client close", "deliver", "deliver", "server close", "deliver", "deliver"]
    )
    for endpoint in c.ends:
        changes = [
            e.transition for e in c.trace if isinstance(e, StateChanged) and e.end == endpoint.name
        ]
        assert tuple(changes) == endpoint.machine.history


def test_observers_hear_each_change():
    c = Connection()
    heard: list[ConnectionChange] = []
    unsubscribe = c.subscribe(lambda connection, change: heard.append(change))
    c.listen("server")
    c.connect("client")
    c.undo()
    c.redo()
    c.jump(0)
    c.reset()
    assert [(h.action, h.step) for h in heard] == [
        ("apply", 1),
        ("apply", 2),
        ("undo", 1),
        ("redo", 2),
        ("jump", 0),
        ("reset", 0),
    ]
    unsubscribe()
    c.listen("server")
    assert len(heard) == 6


# -- history ----------------------------------------------------------------------------------------


def test_undo_redo_jump_reset_cover_both_ends_network_and_clock():
    c = Connection()
    snapshots = [everything(c)]
    for op in ["server listen", "client connect", "drop 1", "advance", "deliver 2", "deliver 3"]:
        c.apply(op)
        snapshots.append(everything(c))
    assert c.now == 1.0
    for step in range(len(snapshots) - 1, 0, -1):
        c.undo()
        assert everything(c)[0] == snapshots[step - 1][0]
    with pytest.raises(NothingToUndo, match="nothing to undo"):
        c.undo()
    c.jump(6)
    assert everything(c)[:3] == snapshots[6][:3]
    c.jump(2)
    assert c.states == ("SYN-SENT", "LISTEN") and c.now == 0 and len(c.in_flight) == 1
    c.apply("deliver 1")  # a new step forgets what could be redone
    assert c.future == ()
    with pytest.raises(NothingToUndo, match="nothing to redo"):
        c.redo()
    c.reset()
    assert c.step == 0 and c.history == () and c.trace == ()
    assert c.describe() == Connection().describe()


def test_run_is_all_or_nothing():
    c = Connection.from_operations(["server listen"])
    before = everything(c)
    with pytest.raises(InvalidOperation):
        c.run("client connect", "deliver 1", "deliver 7")
    assert everything(c)[:3] == before[:3]
    assert c.states == ("CLOSED", "LISTEN")


# -- random interleavings ---------------------------------------------------------------------------


def check_invariants(c: Connection) -> None:
    table_states = set(STATES)
    for endpoint in c.ends:
        assert endpoint.state in table_states
        assert endpoint.state == endpoint.machine.state
        running = {t.name for t in c.clock.timers if t.end == endpoint.name}
        assert running == set(endpoint.timers), "the clock and the endpoint disagree on timers"
        tcb = endpoint.tcb
        if tcb.snd_una is not None:
            assert seq_le(tcb.snd_una, tcb.snd_nxt)
            outstanding = sum(s.length for s in endpoint.retransmission_queue)
            assert seq_diff(tcb.snd_nxt, tcb.snd_una) == outstanding
        if endpoint.state in ("CLOSED", "LISTEN"):
            assert not endpoint.retransmission_queue and not endpoint.timers - {"2msl"}
    assert all(t.deadline >= c.now for t in c.clock.timers)

    # Every segment is accounted for: delivered, dropped, or in flight, exactly once.
    put = [e.segment_id for e in c.trace if isinstance(e, Sent)]
    put += [e.copy_id for e in c.trace if isinstance(e, Duplicated)]
    gone = [e.segment_id for e in c.trace if isinstance(e, Delivered | Dropped)]
    flying = [f.id for f in c.in_flight]
    assert len(put) == len(set(put)) and len(gone) == len(set(gone))
    assert sorted(put) == sorted(gone + flying)
    counts = c.counts
    assert counts["sent"] == counts["delivered"] + counts["dropped"] + counts["in_flight"]
    assert counts["sent"] == len(put)

    # Sequence numbers (RFC 9293 3.4): each end numbers what it sends contiguously from its
    # ISS; its SYN and its FIN occupy one number each, data its length.
    for endpoint in c.ends:
        expected = None
        for e in c.trace:
            if not isinstance(e, Sent) or e.end != endpoint.name or e.injected:
                continue
            s = e.segment
            if e.retransmission or s.length == 0:
                continue
            if s.has("SYN"):
                expected = seq_add(s.seq, s.length)
                continue
            assert expected is not None and s.seq == expected, f"{s.label} after {expected}"
            expected = seq_add(expected, s.length)
        if endpoint.tcb.snd_nxt is not None:
            assert endpoint.tcb.snd_nxt == expected

    # Between two ends of one connection: what each has received lies between what the other
    # has had acknowledged and what it has sent (SND.UNA =< peer's RCV.NXT =< SND.NXT).
    a, b = c.ends
    for x, y in ((a, b), (b, a)):
        if x.tcb.iss is not None and y.tcb.irs == x.tcb.iss and y.tcb.rcv_nxt is not None:
            assert seq_le(x.tcb.snd_una, y.tcb.rcv_nxt) and seq_le(y.tcb.rcv_nxt, x.tcb.snd_nxt)

    # A transition that sends something really sent it, with those flags.
    for e in c.trace:
        if isinstance(e, StateChanged) and e.transition.sent:
            sent = [x.segment for x in c.events(e.step) if isinstance(x, Sent) and x.end == e.end]
            flags = set(e.transition.sent.split(","))
            assert any(flags <= s.flags for s in sent), (e.transition.label, sent)


def some_operation(c: Connection, data, *, drop_rst: bool = True, advance: bool = True) -> str:
    choices = [
        op
        for op in c.possible()
        if (drop_rst or not (op.action == "drop" and _flight(c, op.segment_id).segment.has("RST")))
        and (advance or op.action != "advance")
    ]
    op = data.draw(st.sampled_from(choices))
    if op.action == "send":
        op = Operation("send", op.end, length=data.draw(st.integers(1, 3)))
    return op.label


def _flight(c: Connection, segment_id):
    return next(f for f in c.in_flight if f.id == segment_id)


class ConnectionModel(RuleBasedStateMachine):
    """Random operations on a connection, with undo/redo/jump; a list of snapshots is the oracle."""

    def __init__(self):
        super().__init__()
        self.c = Connection(profile=self.profile)
        self.seen = [everything(self.c)]  # what each position looked like
        self.redoable: list[object] = []

    profile = "rfc"

    @rule(data=st.data())
    def step(self, data):
        self.c.apply(some_operation(self.c, data))
        self.seen = [*self.seen[: self.c.step], everything(self.c)]

    @rule(data=st.data())
    def inject_an_old_segment(self, data):
        to = data.draw(st.sampled_from(["client", "server"]))
        flags = data.draw(st.sampled_from(["SYN", "ACK", "RST", "SYN,ACK", "FIN,ACK", "RST,ACK"]))
        seq = data.draw(st.sampled_from([0, 90, 100, 101, 299, 300, 301, 2**32 - 1]))
        ack = data.draw(st.sampled_from([0, 91, 101, 301, 302]))
        src = "server" if to == "client" else "client"
        self.c.inject(to, Segment(src, to, seq, ack, flags))
        self.seen = [*self.seen[: self.c.step], everything(self.c)]

    @rule(data=st.data())
    def impossible(self, data):
        op = data.draw(
            st.sampled_from(
                [
                    "deliver 999",
                    "drop 999",
                    "client fly",
                    "server read 999",
                    "advance",
                    "client close",
                ]
            )
        )
        if any(p.label == op for p in self.c.possible()):
            return
        before = everything(self.c)
        try:
            self.c.apply(op)
        except InvalidOperation:
            assert everything(self.c) == before
        else:
            self.seen = [*self.seen[: self.c.step], everything(self.c)]

    @precondition(lambda self: self.c.step > 0)
    @rule()
    def undo(self):
        self.c.undo()
        assert everything(self.c)[:3] == self.seen[self.c.step][:3]

    @precondition(lambda self: self.c.future)
    @rule()
    def redo(self):
        self.c.redo()
        assert everything(self.c)[:3] == self.seen[self.c.step][:3]

    @rule(data=st.data())
    def jump(self, data):
        total = self.c.step + len(self.c.future)
        target = data.draw(st.integers(0, total))
        self.c.jump(target)
        assert everything(self.c)[:3] == self.seen[target][:3]

    @rule()
    def back_to_the_start_and_back(self):
        here = self.c.step
        now = everything(self.c)
        self.c.jump(0)
        assert self.c.describe() == Connection(profile=self.profile).describe()
        assert self.c.trace == ()
        self.c.jump(here)
        assert everything(self.c)[:3] == now[:3]

    @rule()
    def a_pure_function_of_its_operations(self):
        again = Connection.from_operations(self.c.history, profile=self.profile)
        assert again.describe() == self.c.describe() and again.trace == self.c.trace

    @invariant()
    def valid(self):
        check_invariants(self.c)


ConnectionModel.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestConnectionModel = ConnectionModel.TestCase


class LinuxConnectionModel(ConnectionModel):
    profile = "linux"


LinuxConnectionModel.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLinuxConnectionModel = LinuxConnectionModel.TestCase


def settle(c: Connection, limit: int = 400) -> None:
    """Both applications close; the network then loses nothing: deliver, or let a timer run out."""
    for _ in range(limit):  # bounded: a test failure, not a hang, if it never settles
        if c.states == ("CLOSED", "CLOSED"):
            return
        for endpoint in c.ends:
            calls = endpoint.allowed_calls()
            if "read" in calls:
                c.read(endpoint.name)
            if "close" in endpoint.allowed_calls():
                c.close(endpoint.name)
        if c.states == ("CLOSED", "CLOSED"):
            return
        if c.in_flight:
            c.deliver()
        elif c.clock.timers:
            c.advance()
        else:
            # Nothing more can happen by itself. RFC 9293 has no FIN-WAIT-2 timeout: an end
            # whose FIN was acknowledged waits there for the other end's FIN, forever if the
            # other end has forgotten the connection (a half-open connection, 3.5.1). That is
            # the one configuration allowed to remain; its application gives up.
            (stuck,) = [e for e in c.ends if e.state != "CLOSED"]
            assert stuck.state == "FIN-WAIT-2" and not stuck.timers, c
            c.abort(stuck.name)
    raise AssertionError(f"not CLOSED after {limit} steps: {c!r}")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(["rfc", "linux"]))
def test_with_retransmission_and_no_permanent_loss_both_ends_reach_closed(data, profile):
    c = Connection(profile=profile)
    # A random start: anything may happen, but a RST is never retransmitted, so losing one is a
    # permanent loss, and time stays short of the user timeout (which would end one side alone).
    for _ in range(data.draw(st.integers(0, 30))):
        advance = sum(isinstance(e, TimerFired) for e in c.trace) < 5
        c.apply(some_operation(c, data, drop_rst=False, advance=advance))
    settle(c)
    check_invariants(c)
    # What is still in flight changes nothing: a CLOSED end answers RST, and drops a RST.
    for _ in range(2 * len(c.in_flight) + 1):  # each one is answered at most once, by a RST
        if not c.in_flight:
            break
        c.deliver()
    assert c.states == ("CLOSED", "CLOSED") and not c.in_flight


# -- profiles through the connection -------------------------------------------------------------


def retransmission_times(profile: str) -> list[float]:
    c = Connection.from_operations(["client connect", "drop 1"], profile=profile)
    times = []
    for _ in range(40):  # bounded
        if c.client.state == "CLOSED":
            break
        events = c.advance()
        times += [e.time for e in events if isinstance(e, Sent)]
        for f in list(c.in_flight):
            c.drop(f.id)
    return [*times, c.now]


def test_linux_syn_retries_after_1_1_1_1_1_2_4_seconds_then_gives_up():
    *sent, gave_up = retransmission_times("linux")
    assert sent == [1, 2, 3, 4, 5, 7]
    assert gave_up == 11


def test_rfc_syn_retransmission_doubles_until_the_user_timeout():
    *sent, gave_up = retransmission_times("rfc")
    assert sent == [1, 3, 7, 15, 31, 63, 123, 183, 243]  # RTO 1, 2, 4, ..., capped at 60 s
    assert gave_up == 300  # the user timeout (5 minutes)


def test_linux_time_wait_is_60_seconds_and_fin_wait_2_times_out_after_close():
    c = Connection.from_operations(
        [*HANDSHAKE, "client close", "deliver", "deliver", "server close", "deliver"],
        profile=LINUX,
    )
    assert c.client.state == "TIME-WAIT" and c.clock.remaining("client", "2msl") == 60
    c = Connection.from_operations(
        [*HANDSHAKE, "client close", "deliver", "deliver"], profile="linux"
    )
    assert c.states == ("FIN-WAIT-2", "CLOSE-WAIT")
    events = c.advance()
    assert c.now == 60 and c.client.state == "CLOSED"
    assert [e.segment.label for e in events if isinstance(e, Sent)] == ["RST seq=102"]
    # After shutdown (the application may still read), there is no FIN-WAIT-2 timeout.
    c = Connection.from_operations(
        [*HANDSHAKE, "client shutdown", "deliver", "deliver"], profile="linux"
    )
    assert c.client.state == "FIN-WAIT-2" and not c.clock.timers


def test_a_step_costs_the_same_however_long_the_history():
    def per_step(history: int) -> float:
        c = Connection.from_operations(HANDSHAKE)
        for _ in range(history):
            c.send("client", 1)
            c.deliver()
            c.deliver()
        best = float("inf")
        for _ in range(20):
            start = time.perf_counter()
            c.send("client", 1)
            c.deliver()
            best = min(best, (time.perf_counter() - start) / 2)
            c.deliver()
        return best

    short, long = per_step(10), per_step(3000)
    assert long < 1e-3, f"a step takes {long * 1e3:.3f} ms"
    assert long < 5 * short + 1e-4, (
        f"{short * 1e6:.0f} us with a short history, {long * 1e6:.0f} us with a long one"
    )


def test_delayed_segments_are_recorded():
    c = Connection.from_operations(["client connect", "server connect", "delay 1"])
    (delayed,) = c.events()
    assert isinstance(delayed, Delayed) and delayed.segment_id == 1 and delayed.end == "server"
    assert isinstance(c.events(2)[-1], Sent) and c.events(2)[-1].segment.label == "SYN seq=300"
    assert any(isinstance(e, TimerStopped) for e in Connection.from_operations(HANDSHAKE).trace)


def test_trace_and_describe_are_json_ready():
    import json

    c = Connection.from_operations([*HANDSHAKE, "client send 2", "drop 4", "advance"])
    events = json.loads(json.dumps([e.as_dict() for e in c.trace]))
    kinds = {e["kind"] for e in events}
    assert kinds == {
        "call",
        "state",
        "sent",
        "delivered",
        "dropped",
        "timer-start",
        "timer-stop",
        "timer-fire",
    }
    sent = [e for e in events if e["kind"] == "sent"]
    assert (
        sent[-1]["segment"]["label"] == "PSH,ACK seq=101 ack=301 len=2"
        and sent[-1]["retransmission"]
    )
    state = next(e for e in events if e["kind"] == "state")
    assert state["transition"]["label"] == "passive OPEN / create TCB"
    data = json.loads(json.dumps(c.describe()))
    assert data["in_flight"][0]["origin"] == "retransmission" and data["now"] == 1.0
    assert "deliver 5" in data["possible"] and "advance" in data["possible"]


def test_fin_wait_2_can_last_forever_under_rfc_9293_and_not_under_linux_after_close():
    # The client gives up its first attempt while its SYN is still in flight; that SYN meets
    # the server's own, and the server ends up synchronized with an attempt nobody remembers.
    ops = [
        "client listen",
        "client send 1",
        "client close",
        "server connect",
        "deliver 1",
        "client listen",
        "server close",
        "deliver 2",
        "client close",
        *["deliver"] * 7,
    ]
    for profile, expected in (("rfc", "FIN-WAIT-2"), ("linux", "CLOSED")):
        c = Connection.from_operations(ops, profile=profile)
        assert c.server.state == "FIN-WAIT-2" and c.server.tcb.rcv_nxt == 101
        for _ in range(100):  # bounded: deliver what comes, let timers run out
            if c.in_flight:
                c.deliver()
            elif c.clock.timers:
                c.advance()
            else:
                break
        assert c.states == ("CLOSED", expected), profile


def test_an_injected_segment_claims_to_come_from_the_other_end():
    c = Connection.from_operations(HANDSHAKE)
    before = everything(c)
    for bad in (
        Segment("mallory", "server", 101, flags="RST"),
        Segment("server", "server", 101, flags="RST"),
        Segment("client", "mars", 101, flags="RST"),
    ):
        with pytest.raises(InvalidOperation, match="inject needs a segment from one of"):
            c.apply(Operation("inject", "server", segment=bad))
    assert everything(c) == before
    (sent,) = c.inject("server", "RST seq=101")  # a blind RST, exactly at RCV.NXT
    assert sent.injected and sent.end == "client"
    c.deliver()
    assert c.states == ("ESTABLISHED", "CLOSED")


# -- copy, fork and preview (what the widget's one-step lookahead is made of) ---------------------


def position_of(c: Connection) -> object:
    """What a view shows of one moment (no history): both ends, the network, the clock."""
    return (
        c.step,
        c.states,
        c.now,
        c.clock,
        c.in_flight,
        c.counts,
        [op.label for op in c.possible()],
        tuple((e.tcb, e.unread, e.retransmission_queue, e.machine.last) for e in c.ends),
    )


def test_a_fork_stands_where_the_connection_stood_and_counts_on_from_there():
    c = Connection.from_operations([*HANDSHAKE, "client send 2", "deliver"])
    c.undo()
    before = everything(c)
    for step in range(c.step + len(c.future) + 1):
        twin = c.fork(step)
        original = Connection.from_operations([*HANDSHAKE, "client send 2", "deliver"][:step])
        assert position_of(twin) == position_of(original), step
        assert twin.history == () and twin.future == () and twin.trace == ()
    assert everything(c) == before  # forking never moves the connection
    twin = c.fork()
    heard = []
    twin.subscribe(lambda _c, change: heard.append((change.action, change.step)))
    events = twin.deliver()
    assert heard == [("apply", c.step + 1)]  # a fork has observers of its own
    assert events[0].step == c.step + 1 == twin.step
    assert twin.events() == events and twin.events(c.step + 1) == events
    twin.undo()
    with pytest.raises(NothingToUndo, match="nothing to undo"):
        twin.undo()  # the fork's own start
    assert position_of(twin) == position_of(c)
    for bad in (-1, 99, True, "2"):
        with pytest.raises(NothingToUndo, match="cannot fork at step"):
            c.fork(bad)


def test_preview_is_the_step_and_changes_nothing():
    c = Connection.from_operations(["server listen", "client connect", "deliver 1"])
    c.undo()  # something to redo, which a preview must not forget
    before = everything(c)
    for op in c.possible():
        twin = c.preview(op)
        real = c.copy()
        real.apply(op)
        assert position_of(twin) == position_of(real), op.label
        assert twin.events() == real.events(), op.label
        assert everything(c) == before, op.label
    with pytest.raises(InvalidOperation, match="no segment #9 in flight"):
        c.preview("deliver 9")
    assert everything(c) == before


def test_events_of_a_step_to_redo_are_recorded_too():
    c = Connection.from_operations(HANDSHAKE)
    last = c.events(5)
    c.jump(2)
    assert c.events(5) == last and c.events(3)[0].kind == "delivered"
    with pytest.raises(NothingToUndo, match="steps recorded run from 1 to 5"):
        c.events(6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_copy_is_independent_and_undo_back_to_its_start_restores_everything(data):
    c = Connection()
    start = everything(c)
    for _ in range(data.draw(st.integers(0, 20))):
        c.apply(some_operation(c, data))
    if c.step and data.draw(st.booleans()):
        c.jump(data.draw(st.integers(0, c.step)))
    before = everything(c)
    twin = c.copy()
    assert everything(twin) == before
    # Errors change nothing on the copy either.
    with pytest.raises(InvalidOperation):
        twin.apply("deliver 999")
    assert everything(twin) == before
    for _ in range(data.draw(st.integers(0, 5))):
        twin.apply(some_operation(twin, data))
    while twin.step:
        twin.undo()
    assert everything(twin)[0] == start[0] and twin.states == ("CLOSED", "CLOSED")
    assert everything(c) == before  # the original did not move
    # A fork of any moment, taken back to its own start, is that moment again.
    fork = c.fork()
    moment = position_of(fork)
    for _ in range(data.draw(st.integers(0, 5))):
        fork.apply(some_operation(fork, data))
    fork.jump(c.step)
    assert position_of(fork) == moment
    fork.reset()
    assert position_of(fork) == moment and fork.future == ()


def test_a_fork_after_an_arrow_that_depends_on_where_a_state_was_entered_from():
    # An old duplicate SYN: the server goes LISTEN -> SYN-RECEIVED -> LISTEN on the client's
    # RST, an arrow the table allows only in a SYN-RECEIVED entered from LISTEN (Figure 8).
    ops = [
        "server listen",
        "client connect",
        "inject server SYN seq=90",
        "deliver 2",
        "deliver 3",
        "deliver 4",
        "deliver 1",
    ]
    c = Connection.from_operations(ops)
    for step in range(len(ops) + 1):
        twin = c.fork(step)
        assert position_of(twin) == position_of(Connection.from_operations(ops[:step])), step
    assert c.fork(6).states == ("SYN-SENT", "LISTEN")
