"""The endpoint: RFC 9293 section 3.10, state by state, with the expected answers written out.

Each expectation below is read from the RFC text (the section is named), not from the code:
which segment is sent in reply (flags, seq, ack), which table event fires, what is dropped.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.errors import InvalidOperation
from tcpviz.sim import CALLS, LINUX, RESPONSES, Endpoint, Segment, Timer, seq_le

C, S = "client", "server"


def seg(label: str, src: str = C, dst: str = S) -> Segment:
    return Segment.parse(label, src, dst)


def server(window: int = 65535, **options) -> Endpoint:
    """A server ESTABLISHED with a client whose ISS is 100 (so RCV.NXT = 101); its ISS is 300."""
    end = Endpoint(S, peer=C, iss=300, window=window, **options)
    end.listen()
    end.receive(seg("SYN seq=100"))
    end.receive(seg("ACK seq=101 ack=301"))
    assert end.state == "ESTABLISHED" and end.tcb.rcv_nxt == 101 and end.tcb.snd_nxt == 301
    return end


def client_syn_sent(**options) -> Endpoint:
    end = Endpoint(C, peer=S, iss=100, **options)
    end.connect()
    return end


def labels(outcome) -> list[str]:
    return [s.label for s in outcome.sent]


def snapshot(end: Endpoint) -> object:
    return (end.describe(), end.machine.history, end.machine.future, end._data)


# -- 3.10.7.4 first: the acceptability test's four cases -------------------------------------------

# (window, data octets, seq) -> acceptable?  RCV.NXT is 101.
FOUR_CASES = [
    # SEG.LEN = 0, RCV.WND = 0: acceptable only if SEG.SEQ = RCV.NXT
    (0, 0, 101, True),
    (0, 0, 102, False),
    (0, 0, 100, False),
    # SEG.LEN = 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND
    (10, 0, 101, True),
    (10, 0, 110, True),
    (10, 0, 111, False),
    (10, 0, 100, False),
    # SEG.LEN > 0, RCV.WND = 0: never acceptable
    (0, 5, 101, False),
    # SEG.LEN > 0, RCV.WND > 0: its first or its last octet in the window
    (10, 5, 101, True),
    (10, 5, 97, True),  # 97..101: the last octet is RCV.NXT
    (10, 5, 96, False),  # 96..100: all old
    (10, 5, 110, True),  # starts in the window (out of order)
    (10, 5, 111, False),  # beyond the window
]


@pytest.mark.parametrize(("window", "octets", "seq", "acceptable"), FOUR_CASES)
def test_the_four_cases_of_the_acceptability_test(window, octets, seq, acceptable):
    end = server(window=window)
    label = f"ACK seq={seq} ack=301" + (f" len={octets}" if octets else "")
    out = end.receive(seg(label))
    if acceptable:
        assert "unacceptable" not in out.reason
    else:
        assert out.response == "ack" and out.section == "3.10.7.4"
        # Refused by the test; with a zero window its ACK alone still counts (3.10.7.4).
        assert "unacceptable segment" in out.reason or "window is zero" in out.reason
        assert labels(out) == ["ACK seq=301 ack=101"]  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        assert end.tcb.rcv_nxt == 101 and end.unread == 0


def test_overlapping_data_is_trimmed_to_what_is_new():
    end = server()
    out = end.receive(seg("PSH,ACK seq=97 ack=301 len=5"))  # octets 97..101, only 101 is new
    assert out.delivered == 1 and end.tcb.rcv_nxt == 102
    assert labels(out) == ["ACK seq=301 ack=102"]


def test_out_of_order_data_is_not_held_and_the_expected_number_is_acknowledged():
    end = server()
    out = end.receive(seg("PSH,ACK seq=106 ack=301 len=5"))
    assert out.response == "ack" and "out of order" in out.reason
    assert labels(out) == ["ACK seq=301 ack=101"] and end.unread == 0


# -- 3.10.7.1 CLOSED -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrives", "reply"),
    [
        ("RST seq=5", []),  # "An incoming segment containing a RST is discarded."
        ("ACK seq=5 ack=77", ["RST seq=77"]),  # <SEQ=SEG.ACK><CTL=RST>
        ("SYN seq=100", ["RST,ACK seq=0 ack=101"]),  # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        ("SYN seq=100 len=3", ["RST,ACK seq=0 ack=104"]),  # the SYN and 3 octets
        ("FIN,ACK seq=7 ack=9", ["RST seq=9"]),
    ],
)
def test_closed_answers_rst_unless_it_is_a_rst(arrives, reply):
    end = Endpoint(S, peer=C)
    out = end.receive(seg(arrives))
    assert labels(out) == reply
    assert out.response == ("rst" if reply else "dropped") and out.section == "3.10.7.1"
    assert end.state == "CLOSED" and not out.transitions


# -- 3.10.7.2 LISTEN ---------------------------------------------------------------------------


def test_listen():
    end = Endpoint(S, peer=C, iss=300)
    end.listen()
    assert end.receive(seg("RST seq=1")).response == "dropped"
    out = end.receive(seg("ACK seq=1 ack=55"))
    assert labels(out) == ["RST seq=55"] and end.state == "LISTEN"
    assert end.receive(seg("FIN seq=1")).response == "dropped"
    out = end.receive(seg("SYN seq=100"))
    assert labels(out) == ["SYN,ACK seq=300 ack=101"]
    assert [t.event for t in out.transitions] == ["rcv SYN"] and end.state == "SYN-RECEIVED"
    tcb = end.tcb
    assert (tcb.irs, tcb.rcv_nxt, tcb.iss, tcb.snd_una, tcb.snd_nxt) == (100, 101, 300, 300, 301)
    assert end.timers == {"retransmit", "user-timeout"}


# -- 3.10.7.3 SYN-SENT ---------------------------------------------------------------------------


def test_syn_sent_unacceptable_ack_is_answered_with_rst():
    end = client_syn_sent()
    out = end.receive(seg("SYN,ACK seq=300 ack=91", S, C))  # SEG.ACK =< ISS
    assert labels(out) == ["RST seq=91"] and out.response == "rst" and end.state == "SYN-SENT"
    out = end.receive(seg("ACK seq=300 ack=150", S, C))  # SEG.ACK > SND.NXT
    assert labels(out) == ["RST seq=150"]
    out = end.receive(seg("RST,ACK seq=0 ack=150", S, C))  # a RST with a bad ACK: discarded
    assert out.response == "dropped" and not out.sent


def test_syn_sent_rst_counts_only_with_an_acceptable_ack():
    end = client_syn_sent()
    assert end.receive(seg("RST seq=0", S, C)).response == "dropped"
    out = end.receive(seg("RST,ACK seq=0 ack=101", S, C))
    assert [t.event for t in out.transitions] == ["rcv RST"] and end.state == "CLOSED"
    assert "connection refused" in out.reason
    assert out.stopped == ("retransmit", "user-timeout") and not end.timers


def test_syn_sent_syn_ack_establishes_and_syn_alone_is_simultaneous_open():
    end = client_syn_sent()
    out = end.receive(seg("SYN,ACK seq=300 ack=101", S, C))
    assert labels(out) == ["ACK seq=101 ack=301"] and end.state == "ESTABLISHED"
    assert [t.event for t in out.transitions] == ["rcv SYN,ACK"]
    assert out.stopped == ("retransmit", "user-timeout")
    end = client_syn_sent()
    out = end.receive(seg("SYN seq=300", S, C))
    assert labels(out) == ["SYN,ACK seq=100 ack=301"] and end.state == "SYN-RECEIVED"
    assert [s.label for s in end.retransmission_queue] == ["SYN,ACK seq=100 ack=301"]


def test_syn_sent_drops_what_is_neither_syn_nor_rst():
    end = client_syn_sent()
    out = end.receive(seg("ACK seq=300 ack=101", S, C))
    assert out.response == "dropped" and end.state == "SYN-SENT"


# -- 3.10.7.4 SYN-RECEIVED -----------------------------------------------------------------------


def test_syn_received_after_simultaneous_open_takes_the_syn_ack_as_ack_of_syn():
    end = client_syn_sent()
    end.receive(seg("SYN seq=300", S, C))
    out = end.receive(seg("SYN,ACK seq=300 ack=101", S, C))  # RFC 9293 Figure 7, line 6
    assert [t.event for t in out.transitions] == ["rcv ACK of SYN"]
    assert end.state == "ESTABLISHED" and not out.sent
    assert end.tcb.snd_una == 101 and end.tcb.rcv_nxt == 301


def test_syn_received_bad_ack_gets_rst_and_ack_with_fin_goes_on_to_close_wait():
    end = Endpoint(S, peer=C, iss=300)
    end.listen()
    end.receive(seg("SYN seq=100"))
    out = end.receive(seg("ACK seq=101 ack=999"))
    assert labels(out) == ["RST seq=999"] and end.state == "SYN-RECEIVED"
    out = end.receive(seg("FIN,ACK seq=101 ack=301"))
    assert [t.target for t in out.transitions] == ["ESTABLISHED", "CLOSE-WAIT"]
    assert labels(out) == ["ACK seq=301 ack=102"]  # the FIN consumed one sequence number


def test_rst_in_syn_received_returns_to_listen_only_after_a_passive_open():
    end = Endpoint(S, peer=C, iss=300)
    end.listen()
    end.receive(seg("SYN seq=100"))
    out = end.receive(seg("RST seq=101"))
    assert end.state == "LISTEN" and out.transitions[0].via == "LISTEN"
    assert not end.timers and end.tcb.iss is None
    end = client_syn_sent()
    end.receive(seg("SYN seq=300", S, C))
    end.receive(seg("RST seq=301", S, C))
    assert end.state == "CLOSED"


# -- 3.10.7.4 synchronized states: RST and SYN (RFC 5961) ------------------------------------------


def test_rst_resets_only_at_rcv_nxt_and_in_window_gets_a_challenge_ack():
    end = server()
    out = end.receive(seg("RST seq=105"))  # in the window, not exact
    assert out.response == "challenge-ack" and labels(out) == ["ACK seq=301 ack=101"]
    assert end.state == "ESTABLISHED"
    out = end.receive(seg("RST seq=99999"))  # outside the window
    assert out.response == "dropped" and not out.sent
    out = end.receive(seg("RST seq=101"))
    assert end.state == "CLOSED" and [t.event for t in out.transitions] == ["rcv RST"]


def test_a_syn_in_a_synchronized_state_gets_a_challenge_ack():
    end = server()
    out = end.receive(seg("SYN seq=105"))
    assert out.response == "challenge-ack" and labels(out) == ["ACK seq=301 ack=101"]
    assert end.state == "ESTABLISHED"


def test_ack_of_something_not_yet_sent_is_answered_with_an_ack():
    end = server()
    out = end.receive(seg("ACK seq=101 ack=400"))
    assert out.response == "ack" and labels(out) == ["ACK seq=301 ack=101"]


# -- FIN, TIME-WAIT --------------------------------------------------------------------------------


def test_fin_wait_1_fin_with_the_ack_of_ours_is_one_arrow_to_time_wait():
    end = server()
    end.close()
    out = end.receive(seg("FIN,ACK seq=101 ack=302"))
    assert [t.event for t in out.transitions] == ["rcv FIN,ACK"] and end.state == "TIME-WAIT"
    assert Timer("2msl", 240.0) in out.started


def test_time_wait_acknowledges_a_retransmitted_fin_and_restarts_2msl():
    end = server()
    end.close()
    end.receive(seg("FIN,ACK seq=101 ack=302"))
    out = end.receive(seg("FIN,ACK seq=101 ack=302"))
    assert labels(out) == ["ACK seq=302 ack=102"] and out.started == (Timer("2msl", 240.0),)
    assert end.state == "TIME-WAIT" and "2MSL timer restarted" in out.reason
    out = end.timeout("2msl")
    assert end.state == "CLOSED" and out.transitions[0].event == "timeout 2MSL"


# -- user calls ----------------------------------------------------------------------------------


def test_close_with_unread_data_sends_rst_and_shutdown_sends_fin():
    end = server()
    end.receive(seg("PSH,ACK seq=101 ack=301 len=5"))
    assert end.unread == 5
    out = end.close()
    assert labels(out) == ["RST seq=301"] and end.state == "CLOSED"
    assert [t.event for t in out.transitions] == ["ABORT"] and out.section == "3.6.1"
    end = server()
    end.receive(seg("PSH,ACK seq=101 ack=301 len=5"))
    out = end.shutdown()
    assert labels(out) == ["FIN,ACK seq=301 ack=106"] and end.state == "FIN-WAIT-1"


def test_data_arriving_after_close_is_answered_with_rst():
    end = server()
    end.close()
    out = end.receive(seg("PSH,ACK seq=101 ack=302 len=3"))
    assert out.response == "rst" and out.section == "3.6.1" and end.state == "CLOSED"


def test_send_in_listen_opens_actively_and_queued_data_follows_the_handshake():
    end = Endpoint(C, peer=S, iss=100)
    end.listen()
    out = end.send(4)
    assert [t.event for t in out.transitions] == ["SEND"] and labels(out) == ["SYN seq=100"]
    assert end.queued == 4
    out = end.receive(seg("SYN,ACK seq=300 ack=101", S, C))
    assert labels(out) == ["ACK seq=101 ack=301", "PSH,ACK seq=101 ack=301 len=4"]
    assert end.tcb.snd_nxt == 105 and end.queued == 0


def test_close_in_syn_received_with_queued_data_waits_for_established():
    end = client_syn_sent()
    end.send(2)
    end.receive(seg("SYN seq=300", S, C))  # simultaneous open
    out = end.close()
    assert not out.transitions and end.state == "SYN-RECEIVED"
    out = end.receive(seg("ACK seq=301 ack=101", S, C))
    assert [t.target for t in out.transitions] == ["ESTABLISHED", "FIN-WAIT-1"]
    assert labels(out) == ["PSH,ACK seq=101 ack=301 len=2", "FIN,ACK seq=103 ack=301"]


def test_abort_sends_rst_only_where_the_other_end_may_still_talk():
    end = server()
    assert labels(end.abort()) == ["RST seq=301"]
    end = client_syn_sent()
    assert labels(end.abort()) == [] and end.state == "CLOSED"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Endpoint(S, peer=C),
        client_syn_sent,
        server,
        lambda: _closing(server()),
    ],
    ids=["closed", "syn-sent", "established", "fin-wait-1"],
)
def test_a_call_that_is_not_possible_changes_nothing(build):
    end = build()
    allowed = end.allowed_calls()
    for call in CALLS:
        if call in allowed:
            continue
        before = snapshot(end)
        with pytest.raises(
            InvalidOperation, match=rf"cannot {call} in {end.state} \(.*possible now"
        ):
            end.call(call)
        assert snapshot(end) == before
    with pytest.raises(InvalidOperation, match="unknown call 'fly'"):
        end.call("fly")


def _closing(end: Endpoint) -> Endpoint:
    end.close()
    return end


def test_timeout_of_a_timer_not_running_is_refused():
    end = Endpoint(C, peer=S)
    with pytest.raises(
        InvalidOperation, match=r"timer '2msl' of client is not running \(running: \[\]\)"
    ):
        end.timeout("2msl")


# -- retransmission (RFC 6298) ---------------------------------------------------------------------


def test_the_retransmission_timer_follows_rfc_6298():
    end = server()
    out = end.send(3)
    assert Timer("retransmit", 1.0) in out.started  # 5.1: start it when sending data
    out = end.send(2)
    assert not out.started  # already running
    out = end.timeout("retransmit")
    assert labels(out) == ["PSH,ACK seq=301 ack=101 len=3"]  # 5.4: the earliest unacknowledged
    assert out.sent[0].note == "retransmission" and out.started == (
        Timer("retransmit", 2.0),
    )  # 5.5
    out = end.receive(seg("ACK seq=101 ack=304"))
    assert out.started[0] == Timer("retransmit", 1.0)  # 5.3: restart for what is left
    out = end.receive(seg("ACK seq=101 ack=306"))
    assert set(out.stopped) == {"retransmit", "user-timeout"} and not end.retransmission_queue


def test_a_retransmission_acknowledges_what_has_arrived_since():
    end = server()
    end.send(3)
    end.receive(seg("PSH,ACK seq=101 ack=301 len=4"))
    (again,) = end.timeout("retransmit").sent
    assert again.label == "PSH,ACK seq=301 ack=105 len=3"


def test_linux_gives_up_a_syn_after_six_retransmissions():
    end = client_syn_sent(profile=LINUX)
    waits = []
    for _ in range(6):
        out = end.timeout("retransmit")
        waits.append(out.started[0].after)
    assert waits == [1, 1, 1, 1, 2, 4]
    out = end.timeout("retransmit")
    assert end.state == "CLOSED" and out.transitions[0].event == "user timeout"


# -- numbers ---------------------------------------------------------------------------------------


def test_sequence_numbers_wrap_around():
    client = Endpoint(C, peer=S, iss=2**32 - 1)
    (syn,) = client.connect().sent
    assert syn.seq == 2**32 - 1 and client.tcb.snd_nxt == 0
    out = client.receive(seg("SYN,ACK seq=300 ack=0", S, C))
    assert client.state == "ESTABLISHED" and labels(out) == ["ACK seq=0 ack=301"]
    client.send(5)
    assert client.tcb.snd_nxt == 5


def test_outcomes_name_their_section_and_response():
    end = server()
    out = end.receive(seg("PSH,ACK seq=101 ack=301 len=2"))
    assert out.response in RESPONSES and out.reason.startswith(out.section + ": ")
    assert out.reason == "3.10.7.4: 2 octets of data accepted, ACK sent"


def test_receive_wants_a_segment():
    with pytest.raises(InvalidOperation, match="receive takes a Segment, not str"):
        Endpoint().receive("SYN")  # type: ignore[arg-type]


def test_a_later_connection_gets_a_later_iss():
    end = Endpoint(C, peer=S, iss=100)
    end.connect()
    end.abort()
    (syn,) = end.connect().sent
    assert syn.seq == 200


def test_use_iss_sets_the_next_connection_s_iss_once():
    end = Endpoint(S, peer=C, iss=300)
    end.use_iss(4_000_000_000)
    end.listen()
    out = end.receive(seg("SYN seq=7"))
    assert labels(out) == ["SYN,ACK seq=4000000000 ack=8"]
    end.abort()
    end.listen()
    assert labels(end.receive(seg("SYN seq=7"))) == ["SYN,ACK seq=400 ack=8"]  # back to the rule
    with pytest.raises(InvalidOperation, match="an ISS is an integer"):
        end.use_iss(-1)


def test_describe_is_json_ready():
    import json

    end = server()
    end.send(2)
    data = json.loads(json.dumps(end.describe()))
    assert data["state"] == "ESTABLISHED" and data["tcb"]["SND.NXT"] == 303
    assert data["retransmission_queue"] == ["PSH,ACK seq=301 ack=101 len=2"]
    assert data["timers"] == ["retransmit", "user-timeout"] and "close" in data["calls"]


# -- any segment at all (what a capture may hold) ----------------------------------------------------

flag_sets = st.sets(st.sampled_from(["SYN", "ACK", "FIN", "RST", "PSH"]))
near = st.sampled_from([0, 1, 90, 99, 100, 101, 102, 106, 299, 300, 301, 302, 2**31, 2**32 - 1])
any_number = st.one_of(near, st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from(
        ["closed", "listen", "syn-sent", "established", "fin-wait-1", "time-wait"]
    ),
    segments=st.lists(
        st.tuples(flag_sets, any_number, any_number, st.integers(0, 4)), min_size=1, max_size=8
    ),
)
def test_any_segment_gets_an_answer_with_a_reason_and_never_an_unexpected_error(start, segments):
    end = {
        "closed": lambda: Endpoint(S, peer=C, iss=300),
        "listen": lambda: _listening(),
        "syn-sent": lambda: client_syn_sent(),
        "established": server,
        "fin-wait-1": lambda: _closing(server()),
        "time-wait": lambda: _time_wait(),
    }[start]()
    for flags, seq, ack, payload in segments:
        before = end.state
        out = end.receive(Segment(end.peer, end.name, seq, ack, flags, payload))
        assert out.response in RESPONSES and out.response != "ok"
        assert re.match(r"(3\.\d+(\.\d+)*|RFC \d+ [\d.]+): ", out.reason), out.reason
        assert end.state in end.machine.table.states
        if out.transitions:
            assert out.transitions[0].source == before and out.transitions[-1].target == end.state
        for reply in out.sent:
            assert reply.src == end.name and reply.dst == end.peer
        tcb = end.tcb
        if tcb.snd_una is not None:
            assert seq_le(tcb.snd_una, tcb.snd_nxt)


def _listening() -> Endpoint:
    end = Endpoint(S, peer=C, iss=300)
    end.listen()
    return end


def _time_wait() -> Endpoint:
    end = server()
    end.close()
    end.receive(seg("FIN,ACK seq=101 ack=302"))
    assert end.state == "TIME-WAIT"
    return end


def test_a_zero_window_still_takes_acks_and_rsts_but_not_data():
    end = server(window=0)
    end.close()  # our FIN (seq 301) is outstanding
    out = end.receive(seg("FIN,ACK seq=101 ack=302 len=3"))  # at RCV.NXT, but no room
    assert end.state == "FIN-WAIT-2" and end.tcb.rcv_nxt == 101  # the ACK counted, not the rest
    assert labels(out) == ["ACK seq=302 ack=101"] and "window is zero" in out.reason
    out = end.receive(seg("RST,ACK seq=101 ack=302 len=2"))
    assert end.state == "CLOSED"


def test_self_connect_is_a_simultaneous_open_with_itself():
    # A socket that connects to its own address and port (Linux allows it): every segment it
    # sends arrives back at itself.
    end = Endpoint("a", peer="a", iss=500)
    (syn,) = end.connect().sent
    (synack,) = end.receive(syn).sent
    assert synack.label == "SYN,ACK seq=500 ack=501" and end.state == "SYN-RECEIVED"
    assert not end.receive(synack).sent and end.state == "ESTABLISHED"
    (fin,) = end.shutdown().sent
    (ack,) = end.receive(fin).sent  # its own FIN does not acknowledge itself: CLOSING
    assert end.state == "CLOSING"
    end.receive(ack)
    assert end.state == "TIME-WAIT"
    assert [t.target for t in end.machine.history] == [
        "SYN-SENT",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "CLOSING",
        "TIME-WAIT",
    ]


def test_an_endpoint_met_midway_takes_up_the_rules_where_it_stands():
    end = Endpoint.midway(S, peer=C, state="FIN_WAIT1", snd_nxt=5001, rcv_nxt=700)
    assert end.state == "FIN-WAIT-1" and end.machine.history == () and end.tcb.snd_una == 5000
    end.receive(seg("ACK seq=700 ack=5001"))  # acknowledges our FIN
    assert end.state == "FIN-WAIT-2"
    out = end.receive(seg("FIN,ACK seq=700 ack=5001"))
    assert end.state == "TIME-WAIT" and labels(out) == ["ACK seq=5001 ack=701"]
    with pytest.raises(InvalidOperation, match="only in a synchronized state, not 'LISTEN'"):
        Endpoint.midway(S, peer=C, state="LISTEN", snd_nxt=1, rcv_nxt=1)
    with pytest.raises(InvalidOperation, match="rcv_nxt must be an integer"):
        Endpoint.midway(S, peer=C, state="ESTABLISHED", snd_nxt=1, rcv_nxt=-4)
