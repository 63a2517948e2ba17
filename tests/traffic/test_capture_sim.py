"""Replay agrees with the simulator: every connection scenario, captured, replays to its states.

Each scenario of ``tcpviz.teach.connection_scenarios`` is played on the simulator
(``tcpviz.sim``, RFC 9293 3.10); its segments are written to a pcap as a capture point would see
them, and the replay's state sequence of each end must be the simulator's. Two capture points:
at the receiver (only delivered segments, in the order they arrived) and on the sender's wire
(every segment as it was sent, lost ones included, so replay must work out which ones never
arrived from what the ends sent afterwards).
"""

from __future__ import annotations

import pytest
from capture_support import Conversation

from tcpviz.sim import Delivered, Sent, StateChanged
from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS
from tcpviz.traffic import replay

SCENARIOS = (
    list(CONNECTION_SCENARIOS.values())
    if isinstance(CONNECTION_SCENARIOS, dict)
    else list(CONNECTION_SCENARIOS)
)
POINTS = {"at-receiver": Delivered, "at-sender": Sent}
LETTERS = (("SYN", "S"), ("FIN", "F"), ("RST", "R"), ("PSH", "P"), ("ACK", "A"))


def captured(scenario, point):
    """The scenario's segments as a capture at ``point`` sees them, and the simulator's states."""
    connection = scenario.play()
    conversation = Conversation()
    states = {"client": [], "server": []}
    for event in connection.trace:
        if isinstance(event, POINTS[point]):
            segment = event.segment
            flags = "".join(letter for flag, letter in LETTERS if flag in segment.flags)
            send = conversation.c if segment.src == "client" else conversation.s
            send(flags, segment.seq, segment.ack, b"x" * segment.payload, gap=0.001)
        elif isinstance(event, StateChanged):
            states[event.end].append(event.state)
    return conversation, states


def replayed(tmp_path, conversation):
    result = replay(conversation.write(tmp_path / "scenario.pcap"))
    assert not result.problems, result.problems
    (connection,) = result.connections
    out = {}
    for end in connection.endpoints:
        role = "client" if end.port == 40000 else "server"
        changes = list(end.changes)
        assert changes[0].state == "CLOSED" and changes[0].previous is None
        out[role] = changes
    return out


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_replay_gives_the_simulators_states(tmp_path, scenario, point):
    conversation, expected = captured(scenario, point)
    got = replayed(tmp_path, conversation)
    for role in ("client", "server"):
        changes = got[role][1:]  # the simulator starts in CLOSED without saying so
        if expected[role][-1:] == ["TIME-WAIT"] and changes[-1].event == "timeout 2MSL":
            changes = changes[:-1]  # the scenario stops before the 2MSL timer; replay says it
        states = [c.state for c in changes]
        if scenario.name == "old-duplicate-syn" and role == "client" and point == "at-receiver":
            # One capture point cannot tell an old duplicate SYN from the client's own: it
            # shows a SYN from the client's address and port. Replay takes it as the client's,
            # then the client's RST and new SYN as an abort and a second open. Only the end
            # state agrees. (On the sender's wire the old duplicate is not there to mislead.)
            assert states[-1] == expected[role][-1] == "ESTABLISHED"
            continue
        assert states == expected[role], f"{role}: replay {states}, simulator {expected[role]}"
