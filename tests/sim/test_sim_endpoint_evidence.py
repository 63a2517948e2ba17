"""The endpoint's faces for real traffic: header prediction, a sender's evidence, real windows.

Capture replay (``tcpviz.traffic``) drives one :class:`~tcpviz.sim.Endpoint` per end of a
captured connection: each segment is delivered to its receiver (``receive``, or its cheap
path ``predict``) and shown to its sender as what it sent (``emitted``). These tests hold the
cheap path to the long one, step for step, and check what each kind of evidence does.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpviz.errors import InvalidOperation
from tcpviz.sim import MAX_WINDOW, RESPONSES, Connection, Endpoint, Segment, seq_add

C, S = "client", "server"


def seg(label: str, src: str = C, dst: str = S) -> Segment:
    return Segment.parse(label, src, dst)


def established(window: int = 65535) -> Endpoint:
    """A server ESTABLISHED with a client whose ISS is 100 (RCV.NXT 101); its own ISS is 300."""
    end = Endpoint(S, peer=C, iss=300, window=window)
    end.listen()
    end.receive(seg("SYN seq=100"))
    end.receive(seg("ACK seq=101 ack=301"))
    return end


def everything(end: Endpoint) -> dict[str, object]:
    return {**end.describe(), "history": end.machine.history, "fin": end._data.fin_seq}


# -- header prediction: the same answers as the long way ---------------------------------------


def both_ways(end: Endpoint, segment: Segment):
    """``receive`` (which predicts first) and the step-by-step path, from the same position."""
    before = end._snapshot()
    fast = end.receive(segment)
    after_fast = everything(end)
    end._restore(before)
    slow = end._receive(segment)
    return fast, after_fast, slow, everything(end)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_header_prediction_gives_what_the_long_way_gives(data):
    # Random lives of a connection (user calls, deliveries, drops, timers) on the simulator,
    # then one ACK or data segment of any numbers near the expected ones, to either end.
    c = Connection()
    for label in ("server listen", "client connect", "deliver 1", "deliver 2", "deliver 3"):
        c.apply(label)  # the handshake: both ESTABLISHED
    for _ in range(data.draw(st.integers(0, 12))):
        op = data.draw(st.sampled_from(c.possible()))
        c.apply(
            f"{op.end} send {data.draw(st.integers(1, 3))}" if op.action == "send" else op.label
        )
    end = data.draw(st.sampled_from(c.ends))
    tcb = end.tcb
    if tcb.rcv_nxt is None or tcb.snd_una is None:
        return
    segment = Segment(
        end.peer,
        end.name,
        seq_add(tcb.rcv_nxt, data.draw(st.sampled_from([0, 0, 0, -2, -1, 1, 2]))),
        seq_add(tcb.snd_una, data.draw(st.integers(-1, 3))),
        data.draw(st.sampled_from(["ACK", "PSH,ACK"])),
        data.draw(st.integers(0, 3)),
    )
    fast, after_fast, slow, after_slow = both_ways(end, segment)

    assert fast == slow
    assert [s.label for s in fast.sent] == [s.label for s in slow.sent]
    assert after_fast == after_slow


@settings(max_examples=150, deadline=None)
@given(
    state=st.sampled_from(["ESTABLISHED", "CLOSE-WAIT", "FIN-WAIT-2", "FIN-WAIT-1", "TIME-WAIT"]),
    sent=st.integers(0, 3),
    seq=st.sampled_from([0, 0, -1, 1, 70000]),
    ack=st.sampled_from([0, 1, 5, -1, 2**31]),
    payload=st.integers(0, 3),
    window=st.sampled_from([0, 3, 65535, MAX_WINDOW]),
)
def test_header_prediction_on_an_end_met_midway(state, sent, seq, ack, payload, window):
    # As a replay meets it: nothing queued for retransmission unless it sends here.
    end = Endpoint.midway(
        S, peer=C, state=state, snd_nxt=10_000, rcv_nxt=2**32 - 2, snd_una=9_995, window=window
    )
    if sent and window >= sent and state in ("ESTABLISHED", "CLOSE-WAIT"):
        end.send(sent)
    segment = Segment(C, S, seq_add(2**32 - 2, seq), seq_add(9_995, ack), "ACK", payload)
    fast, after_fast, slow, after_slow = both_ways(end, segment)
    assert fast == slow and after_fast == after_slow


def test_the_simulator_takes_in_order_data_by_prediction(monkeypatch):
    end = established()

    def long_way(self, segment):
        raise AssertionError("in-order data went the long way")

    monkeypatch.setattr(Endpoint, "_receive", long_way)
    out = end.receive(seg("PSH,ACK seq=101 ack=301 len=5"))
    assert out.reason == "3.10.7.4: 5 octets of data accepted, ACK sent"
    assert [s.label for s in out.sent] == ["ACK seq=301 ack=106"] and out.delivered == 5


def test_predict_takes_in_order_data_and_acks_only():
    end = established()
    assert end.predict(101, 301, 5)  # in order, acknowledging what was sent: taken
    assert (end.tcb.rcv_nxt, end.unread) == (106, 5)
    before = everything(end)
    assert not end.predict(200, 301, 5)  # out of order: the long way
    assert not end.predict(106, 999, 0)  # acknowledges what was never sent: the long way
    assert everything(end) == before  # a refusal changes nothing
    end.send(10)  # now something waits to be acknowledged
    assert not end.predict(106, 311, 0)  # its ACK trims the retransmission queue: the long way
    assert end.receive(seg("ACK seq=106 ack=311")).reason == "3.10.7.4: acknowledges up to 311"


def test_predict_never_moves_a_state():
    end = established()
    end.receive(seg("FIN,ACK seq=101 ack=301"))
    assert end.state == "CLOSE-WAIT"
    assert end.predict(102, 301, 0)
    end.shutdown()
    assert end.state == "LAST-ACK" and not end.predict(102, 302, 0)  # an ACK of our FIN


def test_a_snapshot_is_not_moved_by_prediction():
    end = established()
    snapshot = end._snapshot()
    assert end.predict(101, 301, 5)
    end._restore(snapshot)
    assert end.tcb.rcv_nxt == 101 and end.unread == 0


# -- real windows --------------------------------------------------------------------------------


def test_scaled_windows_up_to_the_largest_tcp_allows():
    assert MAX_WINDOW == 65535 << 14
    end = established(window=MAX_WINDOW)
    assert end.tcb.rcv_wnd == MAX_WINDOW
    # Far ahead of RCV.NXT but inside a scaled window: acceptable, not held (out of order).
    out = end.receive(seg(f"PSH,ACK seq={101 + 1_000_000} ack=301 len=10"))
    assert "out of order" in out.reason and end.tcb.rcv_nxt == 101
    with pytest.raises(InvalidOperation, match="65535 << 14"):
        Endpoint(S, window=MAX_WINDOW + 1)


def test_midway_takes_a_table_and_a_real_window():
    end = Endpoint.midway(
        "b", peer="a", state="ESTABLISHED", snd_nxt=9000, rcv_nxt=500, window=MAX_WINDOW
    )
    assert end.tcb.rcv_wnd == MAX_WINDOW and end.machine.history == ()
    assert end.predict(500, 9000, 1400) and end.tcb.rcv_nxt == 1900


# -- the sender's evidence -------------------------------------------------------------------


def test_a_syn_from_closed_is_an_active_open_with_its_iss():
    end = Endpoint(C, peer=S)
    out = end.emitted(seg("SYN seq=7000"))
    assert [t.event for t in out.transitions] == ["active OPEN"] and out.implied == 0
    assert end.state == "SYN-SENT" and end.tcb.iss == 7000 and end.tcb.snd_nxt == 7001
    assert end.emitted(seg("SYN seq=7000")).response == "repeat"  # retransmitted
    old = end.emitted(seg("SYN seq=5"))
    assert old.response == "ignored" and "old duplicate" in old.reason
    assert end.state == "SYN-SENT"


def test_a_syn_ack_from_listen_implies_the_syn_it_answers():
    end = Endpoint(S, peer=C)
    end.listen()
    out = end.emitted(seg("SYN,ACK seq=300 ack=101", S, C))
    assert [t.event for t in out.transitions] == ["rcv SYN"] and out.implied == 1
    assert (end.state, end.tcb.irs, end.tcb.rcv_nxt, end.tcb.iss) == ("SYN-RECEIVED", 100, 101, 300)
    # From CLOSED too: the LISTEN before it is implied as well.
    fresh = Endpoint(S, peer=C)
    out = fresh.emitted(seg("SYN,ACK seq=300 ack=101", S, C))
    assert [t.event for t in out.transitions] == ["passive OPEN", "rcv SYN"] and out.implied == 2


def test_data_from_syn_received_implies_the_ack_of_its_syn():
    end = Endpoint(S, peer=C, iss=300)
    end.listen()
    end.receive(seg("SYN seq=100"))
    out = end.emitted(seg("PSH,ACK seq=301 ack=101 len=5", S, C))
    assert [t.event for t in out.transitions] == ["rcv ACK of SYN"] and out.implied == 1
    assert end.state == "ESTABLISHED" and end.tcb.snd_nxt == 306


def test_a_fin_is_a_close_and_a_rst_an_abort_or_an_answer():
    end = established()
    out = end.emitted(seg("FIN,ACK seq=301 ack=101", S, C))
    assert [t.event for t in out.transitions] == ["CLOSE"] and end.state == "FIN-WAIT-1"
    assert end.emitted(seg("FIN,ACK seq=301 ack=101", S, C)).response == "repeat"
    end = established()
    assert end.emitted(seg("RST seq=999", S, C)).response == "ignored"  # not its SND.NXT
    out = end.emitted(seg("RST seq=301", S, C))
    assert [t.event for t in out.transitions] == ["ABORT"] and end.state == "CLOSED"
    assert end.emitted(seg("RST,ACK seq=0 ack=101", S, C)).response == "answer"
    assert end.state == "CLOSED"


def test_a_new_syn_from_a_synchronized_end_implies_it_dropped_the_connection():
    end = established()
    out = end.emitted(seg("SYN seq=5000", S, C))
    assert [t.event for t in out.transitions] == ["ABORT", "active OPEN"] and out.implied == 1
    assert end.state == "SYN-SENT" and end.tcb.iss == 5000


def test_emitted_data_moves_snd_nxt_and_its_ack_moves_rcv_nxt():
    end = established()
    assert end.emitted(seg("PSH,ACK seq=301 ack=150 len=20", S, C)).response == "ok"
    assert (end.tcb.snd_nxt, end.tcb.rcv_nxt) == (321, 150)
    assert end.emitted_predicted(321, 160, 0) and end.tcb.rcv_nxt == 160


def test_fits_says_which_segments_need_a_delivery_first():
    end = Endpoint(S, peer=C)
    assert end.fits(seg("SYN seq=1", S, C)) and not end.fits(seg("ACK seq=1 ack=2", S, C))
    end.listen()
    assert not end.fits(seg("SYN,ACK seq=1 ack=2", S, C))
    end.receive(seg("SYN seq=100"))
    assert end.fits(seg("SYN,ACK seq=1 ack=101", S, C))
    assert not end.fits(seg("FIN,ACK seq=301 ack=101", S, C))  # closing needs it accepted
    assert all(response in RESPONSES for response in ("repeat", "answer", "ignored"))


def test_a_second_fin_in_a_state_past_the_first_is_acknowledged_not_a_crash():
    # Found by Hypothesis: a FIN at RCV.NXT in TIME-WAIT (a bogus or forged segment) fell
    # through the eighth step with nothing said. 3.10.7.4: "Remain in the TIME-WAIT state.
    # Restart the 2 MSL time-wait timeout."
    end = established()
    end.receive(seg("FIN,ACK seq=101 ack=301"))
    end.shutdown()
    end.receive(seg("ACK seq=102 ack=302"))
    assert end.state == "CLOSED"
    end = established()
    end.shutdown()
    end.receive(seg("FIN,ACK seq=101 ack=302"))
    assert end.state == "TIME-WAIT"
    out = end.receive(seg("FIN,ACK seq=99 ack=302 len=3"))
    assert out.reason == "3.10.7.4: a FIN in TIME-WAIT: 2MSL timer restarted, ACK sent"
    assert end.state == "TIME-WAIT" and [t.name for t in out.started] == ["2msl"]


def test_a_twin_connection_predicts_without_moving_the_original():
    # Connection.copy() and fork() hand an end's data to a twin; header prediction moves the
    # live data in place, so the twin must hold a copy of its own.
    c = Connection.from_operations(
        ["server listen", "client connect", "deliver 1", "deliver 2", "deliver 3", "client send 5"]
    )
    for twin in (c.copy(), c.fork(), c.fork(c.step)):
        before = c.server.describe()
        flight = twin.in_flight[0]
        twin.apply(f"deliver {flight.id}")  # in order: header prediction
        assert twin.server.tcb.rcv_nxt == c.server.tcb.rcv_nxt + 5
        assert c.server.describe() == before


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    state=st.sampled_from(
        [
            "ESTABLISHED",
            "CLOSE-WAIT",
            "FIN-WAIT-1",
            "FIN-WAIT-2",
            "CLOSING",
            "LAST-ACK",
            "TIME-WAIT",
        ]
    ),
    seq=st.sampled_from([0, -1, 1, 5, 2**31]),
    ack=st.sampled_from([0, -1, 1, 5, 2**31]),
    payload=st.integers(0, 3),
    psh=st.booleans(),
)
def test_emitted_prediction_gives_what_the_long_way_gives(state, seq, ack, payload, psh):
    # What an end sends without SYN, FIN or RST: data from ESTABLISHED or CLOSE-WAIT, a pure
    # ACK from any synchronized state. The cheap path and the long one end in the same place
    # and say the same (section and reason included).
    def made():
        return Endpoint.midway(S, peer=C, state=state, snd_nxt=10_000, rcv_nxt=2**32 - 2)

    segment = Segment(
        S, C, seq_add(10_000, seq), seq_add(2**32 - 2, ack), "PSH,ACK" if psh else "ACK", payload
    )
    fast_end = made()
    fast = fast_end.emitted(segment)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Endpoint, "emitted_predicted", lambda self, *args: False)
        slow_end = made()
        slow = slow_end.emitted(segment)
    assert fast == slow
    assert everything(fast_end) == everything(slow_end)


def test_an_outcome_written_late_reads_as_one_written_at_once():
    # An endpoint's Outcome writes its cause and reason when first read: a reader, ==, repr
    # and dataclasses.replace see the finished text.
    import dataclasses

    from tcpviz.sim import Outcome

    out = established().receive(seg("FIN,ACK seq=101 ack=301"))
    text = {f.name: getattr(out, f.name) for f in dataclasses.fields(Outcome)}
    assert isinstance(out.reason, str) and out.reason.startswith("3.10.7.4: ")
    assert out.cause == "FIN,ACK seq=101 ack=301"
    again = established().receive(seg("FIN,ACK seq=101 ack=301"))
    assert again == Outcome(**text) and hash(again) == hash(Outcome(**text))
    assert repr(established().receive(seg("FIN,ACK seq=101 ack=301"))) == repr(Outcome(**text))
    assert dataclasses.replace(again, response="dropped").reason == out.reason
    assert Outcome.reason == "" and Outcome(end="e", cause="c").reason == ""


def test_a_copy_of_the_endpoints_data_has_every_field():
    # The data's copy names its fields one by one (it is in slots): a field added later and
    # not copied would be missing from every copy.
    from tcpviz.sim.endpoint import _Data

    end = established()
    end.send(3)
    original = end._d
    copy = original.copy()
    assert copy is not original
    for name in _Data.__slots__:
        assert getattr(copy, name) == getattr(original, name), name
