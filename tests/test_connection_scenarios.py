"""The connection scenarios: each replays, and ends where RFC 9293 says, by the route it says.

The states each end passes through are written out here from the RFC's figures and text, not
taken from the scenarios' own ``ends_in``, so a wrong scenario or a wrong endpoint fails.
"""

from __future__ import annotations

import re

import pytest

from tcpviz.sim import Delivered, Sent, StateChanged
from tcpviz.teach import (
    CONNECTION_SCENARIOS,
    UnknownScenario,
    get_connection_scenario,
)

HS_CLIENT = ["CLOSED", "SYN-SENT", "ESTABLISHED"]
HS_SERVER = ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
ACTIVE_CLOSE = ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
PASSIVE_CLOSE = ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]

#: Each scenario: the states the client and the server pass through (RFC 9293 Figures 6-13).
ROUTES = {
    "handshake": (HS_CLIENT, HS_SERVER),
    "data-then-client-close": (HS_CLIENT + ACTIVE_CLOSE, HS_SERVER + PASSIVE_CLOSE),
    "server-close": (HS_CLIENT + PASSIVE_CLOSE, HS_SERVER + ACTIVE_CLOSE),
    "simultaneous-open": (["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"],) * 2,
    "simultaneous-close": (
        [*HS_CLIENT, "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"],
        [*HS_SERVER, "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"],
    ),
    "refused": (["CLOSED", "SYN-SENT", "CLOSED"], ["CLOSED"]),
    "abort": ([*HS_CLIENT, "CLOSED"], [*HS_SERVER, "CLOSED"]),
    "close-with-unread-data": ([*HS_CLIENT, "CLOSED"], [*HS_SERVER, "CLOSED"]),
    "lost-syn": (HS_CLIENT, HS_SERVER),
    "lost-syn-ack": (HS_CLIENT, HS_SERVER),
    "lost-final-ack": (HS_CLIENT + ACTIVE_CLOSE, HS_SERVER + PASSIVE_CLOSE),
    "half-open": ([*HS_CLIENT, "CLOSED"], [*HS_SERVER, "CLOSED"]),
    "blind-reset": (HS_CLIENT, HS_SERVER),
    "old-duplicate-syn": (
        HS_CLIENT,
        ["CLOSED", "LISTEN", "SYN-RECEIVED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"],
    ),
}


def route(connection, end: str) -> list[str]:
    changes = [e for e in connection.trace if isinstance(e, StateChanged) and e.end == end]
    return ["CLOSED"] + [e.state for e in changes]


def wire(connection) -> list[str]:
    return [f"{e.end}: {e.segment.label}" for e in connection.trace if isinstance(e, Sent)]


def test_the_issue_s_scenarios_are_all_there():
    assert set(CONNECTION_SCENARIOS) == set(ROUTES)


def test_a_forged_rst_in_the_window_gets_a_challenge_ack_and_changes_nothing():
    connection = get_connection_scenario("blind-reset").play()
    answers = [(e.segment.label, e.response) for e in connection.trace if isinstance(e, Delivered)]
    assert answers[-3:] == [
        ("RST seq=70000", "dropped"),
        ("RST seq=5000", "challenge-ack"),
        ("ACK seq=301 ack=101", "dropped"),
    ]
    assert wire(connection)[-1] == "server: ACK seq=301 ack=101"


@pytest.mark.parametrize("name", list(ROUTES))
def test_each_scenario_ends_where_rfc_9293_says_by_its_route(name):
    scenario = CONNECTION_SCENARIOS[name]
    connection = scenario.play()
    client_route, server_route = ROUTES[name]
    assert route(connection, "client") == client_route
    assert route(connection, "server") == server_route
    assert connection.states == (client_route[-1], server_route[-1]) == scenario.ends_in
    # Nothing is left hanging: every segment was delivered or deliberately lost.
    assert not connection.in_flight


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_step_says_why_and_where(name):
    scenario = CONNECTION_SCENARIOS[name]
    assert scenario.title and scenario.summary.endswith(".")
    for step in scenario.steps:
        assert re.fullmatch(r"3\.\d+(\.\d+)*", step.section), step
        assert step.why.rstrip(")").endswith((".", "...")), step.why
        assert len(step.why) < 240, step.why
    data = scenario.as_dict()
    assert data["name"] == name and len(data["steps"]) == len(scenario.steps)


def test_simultaneous_open_is_figure_7():
    connection = get_connection_scenario("simultaneous-open").play()
    assert wire(connection) == [
        "client: SYN seq=100",
        "server: SYN seq=300",
        "server: SYN,ACK seq=300 ack=101",
        "client: SYN,ACK seq=100 ack=301",
    ]


def test_old_duplicate_syn_is_figure_8():
    connection = get_connection_scenario("old-duplicate-syn").play()
    assert wire(connection) == [
        "client: SYN seq=100",
        "client: SYN seq=90",  # the old duplicate
        "server: SYN,ACK seq=300 ack=91",
        "client: RST seq=91",
        "server: SYN,ACK seq=400 ack=101",
        "client: ACK seq=101 ack=401",
    ]


def test_simultaneous_close_is_figure_13():
    connection = get_connection_scenario("simultaneous-close").play()
    assert wire(connection)[3:] == [
        "client: FIN,ACK seq=101 ack=301",
        "server: FIN,ACK seq=301 ack=101",
        "server: ACK seq=302 ack=102",
        "client: ACK seq=102 ack=302",
    ]
    assert connection.now == 240  # both waited 2 MSL (MSL = 2 minutes)


def test_lost_final_ack_shows_why_time_wait_exists():
    connection = get_connection_scenario("lost-final-ack").play()
    answers = [e for e in connection.trace if isinstance(e, Delivered) and e.end == "client"]
    refin = answers[-1]
    assert refin.segment.label == "FIN,ACK seq=301 ack=102" and refin.response == "ack"
    assert "2MSL timer restarted" in refin.reason
    assert connection.now == 241  # TIME-WAIT restarted at t = 1 s when the FIN came again


def test_refused_and_half_open_answers():
    refused = get_connection_scenario("refused").play()
    assert wire(refused) == ["client: SYN seq=100", "server: RST,ACK seq=0 ack=101"]
    half_open = get_connection_scenario("half-open").play()
    assert wire(half_open)[-1] == "client: RST seq=101"  # <SEQ=SEG.ACK><CTL=RST>


def test_lost_syn_is_retransmitted_after_the_initial_rto():
    connection = get_connection_scenario("lost-syn").play()
    again = [e for e in connection.trace if isinstance(e, Sent) and e.retransmission]
    assert [(e.time, e.segment.label) for e in again] == [(1.0, "SYN seq=100")]


def test_close_with_unread_data_sends_rst_not_fin():
    connection = get_connection_scenario("close with unread data").play()
    assert wire(connection)[-1] == "server: RST seq=301"
    assert not any("FIN" in line for line in wire(connection))


def test_unknown_scenario_lists_the_names():
    with pytest.raises(
        UnknownScenario, match=r"unknown connection scenario 'nope' \(must be one of \['handshake'"
    ):
        get_connection_scenario("nope")
    scenario = CONNECTION_SCENARIOS["abort"]
    assert get_connection_scenario(scenario) is scenario
    assert get_connection_scenario("Old_Duplicate SYN") is CONNECTION_SCENARIOS["old-duplicate-syn"]
