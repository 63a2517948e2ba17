"""The ladder of a replayed connection (tcpviz.web.replay): segments and both ends' states."""

from __future__ import annotations

from capture_support import Conversation, handshake_and_close

from tcpviz.traffic import example_capture, replay
from tcpviz.web import replay_ladder, replay_trace


def test_every_segment_and_state_is_on_the_ladder():
    connection = replay(example_capture()).connection(1)
    trace = replay_trace(connection)
    assert [s.id for s in trace.segments] == [s.number for s in connection.segments]
    for index, end in enumerate(connection.endpoints):
        drawn = [s.state for s in trace.states if s.end == index]
        assert drawn == end.states[-len(drawn) :]  # (the states before the capture: the last)
        steps = [s.step for s in trace.states if s.end == index]
        assert steps == sorted(steps)
    svg = replay_ladder(connection).svg()
    assert "FIN-WAIT-2" in svg and "LAST-ACK" in svg and "PSH,ACK" in svg


def test_a_segment_arrives_where_the_change_it_caused_is_written(tmp_path):
    conv = Conversation()
    handshake_and_close(conv)
    (connection,) = replay(conv.write(tmp_path / "hs.pcap")).connections
    trace = replay_trace(connection)
    arrivals = {s.id: s.end_step for s in trace.segments}
    server = [s for s in trace.states if s.end == 1]
    close_wait = next(s for s in server if s.state == "CLOSE-WAIT")
    assert close_wait.step == arrivals[6]  # the client's FIN


def test_the_fins_of_a_simultaneous_close_cross(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("FA", 101, 301)
    conv.s("FA", 301, 101)
    conv.c("A", 102, 302)
    conv.s("A", 302, 102)
    (connection,) = replay(conv.write(tmp_path / "simultaneous-close.pcap")).connections
    trace = replay_trace(connection)
    fin_a, fin_b = (s for s in trace.segments if "FIN" in s.flags)
    # Each FIN arrives after the other end sent its own: the arrows cross.
    assert fin_a.end_step > fin_b.sent_step and fin_b.end_step > fin_a.sent_step
    for end in (0, 1):
        assert [s.state for s in trace.states if s.end == end][-3:] == [
            "CLOSING",
            "TIME-WAIT",
            "CLOSED",
        ]
