"""The named scenarios: each plays on its table, visits the states written out here, explains
every step in one sentence, and travels to the page as JSON."""

from __future__ import annotations

import json
import re

import pytest

from tcpviz.errors import InvalidTransition, TcpvizError
from tcpviz.model.machine import Machine
from tcpviz.model.table import Table, Transition, tcp_table
from tcpviz.teach.scenarios import (
    SCENARIOS,
    Scenario,
    Step,
    UnknownScenario,
    get_scenario,
    scenario_payload,
    why,
)

# Written out by hand from RFC 9293 (Figures 5, 6, 7 and 13), not computed from the table,
# so that a wrong row in the table or a wrong step in a scenario shows up here.
EXPECTED_STATES: dict[str, list[str]] = {
    "handshake-client": ["CLOSED", "SYN-SENT", "ESTABLISHED"],
    "handshake-server": ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"],
    "active-close": [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSED",
    ],
    "passive-close": [
        "CLOSED",
        "LISTEN",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "CLOSE-WAIT",
        "LAST-ACK",
        "CLOSED",
    ],
    "simultaneous-open": ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"],
    "simultaneous-close": [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "CLOSING",
        "TIME-WAIT",
        "CLOSED",
    ],
    "fin-ack-shortcut": [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "TIME-WAIT",
        "CLOSED",
    ],
    "connection-refused": ["CLOSED", "SYN-SENT", "CLOSED"],
    "reset-in-established": ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSED"],
    "listen-reset": ["CLOSED", "LISTEN", "SYN-RECEIVED", "LISTEN"],
    "abort": ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSED"],
    "connect-timeout": ["CLOSED", "SYN-SENT", "CLOSED"],
}

# The extended scenarios, each with the step the classic figure lacks.
NEEDS_EXTENDED = {
    "connection-refused": "rcv RST",
    "reset-in-established": "rcv RST",
    "abort": "ABORT",
    "connect-timeout": "user timeout",
}

# One sentence: starts with a capital, ends with its only full stop (no '?' or '!' inside).
ONE_SENTENCE = re.compile(r"[A-Z][^.!?]*\.")

ALL = sorted(SCENARIOS)


def test_every_scenario_is_listed_with_its_expected_states():
    assert set(SCENARIOS) == set(EXPECTED_STATES)
    assert {name for name, s in SCENARIOS.items() if s.extended} == set(NEEDS_EXTENDED)


@pytest.mark.parametrize("name", ALL)
def test_scenario_plays_on_its_table_through_the_expected_states(name):
    scenario = SCENARIOS[name]
    assert scenario.name == name
    machine = scenario.play()
    assert machine.table is tcp_table(scenario.extended)
    assert [t.event for t in machine.history] == list(scenario.events)
    assert [machine.start, *(t.target for t in machine.history)] == EXPECTED_STATES[name]
    assert scenario.states() == EXPECTED_STATES[name]
    assert machine.state == EXPECTED_STATES[name][-1]


@pytest.mark.parametrize("name", ALL)
def test_scenario_plays_on_the_extended_table_the_same_way(name):
    # The extended table only adds rows, so every scenario means the same there.
    assert SCENARIOS[name].states(tcp_table(extended=True)) == EXPECTED_STATES[name]


@pytest.mark.parametrize("name", ALL)
def test_steps_name_table_events_exactly(name):
    scenario = SCENARIOS[name]
    events = tcp_table(scenario.extended).events
    for step in scenario.steps:
        assert step.event in events, f"{name}: {step.event!r} is not spelled as in the table"


@pytest.mark.parametrize("name", ALL)
def test_every_why_is_one_sentence(name):
    for step in SCENARIOS[name].steps:
        assert ONE_SENTENCE.fullmatch(step.why), f"{name}, {step.event}: {step.why!r}"


@pytest.mark.parametrize("name", ALL)
def test_titles_and_summaries_read_well(name):
    scenario = SCENARIOS[name]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", scenario.name)
    assert scenario.title and scenario.title == scenario.title.strip()
    sentences = re.split(r"(?<=\.)\s+", scenario.summary)
    assert 1 <= len(sentences) <= 2, scenario.summary
    assert all(ONE_SENTENCE.fullmatch(s) for s in sentences), scenario.summary


@pytest.mark.parametrize("name", ALL)
def test_step_sides_agree_with_the_table(name):
    scenario = SCENARIOS[name]
    for step, transition in zip(scenario.steps, scenario.transitions(), strict=True):
        assert step.side in ("", "client", "server")
        if step.side and transition.side != "either":
            assert step.side == transition.side, f"{name}: {transition.label}"


def test_scenarios_following_one_end_say_which():
    assert SCENARIOS["handshake-client"].side == "client"
    assert SCENARIOS["handshake-server"].side == "server"
    assert SCENARIOS["passive-close"].side == "server"
    # Both ends of a simultaneous open do the same, so it follows neither in particular.
    assert SCENARIOS["simultaneous-open"].side == ""


@pytest.mark.parametrize("name", sorted(NEEDS_EXTENDED))
def test_extended_scenarios_refuse_the_classic_table_and_change_nothing(name):
    machine = Machine(tcp_table())
    with pytest.raises(InvalidTransition, match=rf"{name}.*extended table") as caught:
        SCENARIOS[name].play(machine)
    assert repr(NEEDS_EXTENDED[name]) in str(caught.value)
    assert machine.state == "CLOSED"
    assert machine.history == ()


def test_play_on_a_given_machine_keeps_it_and_tells_its_observers():
    machine = Machine()
    changes = []
    machine.subscribe(lambda m, change: changes.append(change))
    result = SCENARIOS["handshake-server"].play(machine)
    assert result is machine
    assert machine.state == "ESTABLISHED"
    assert changes and changes[-1].state == "ESTABLISHED"
    # Undo works step by step afterwards, as if the events had been clicked.
    machine.undo()
    assert machine.state == "SYN-RECEIVED"


def test_play_refuses_a_machine_away_from_the_start():
    machine = Machine()
    machine.fire("passive OPEN")
    with pytest.raises(InvalidTransition, match=r"starts in CLOSED, but the machine is in LISTEN"):
        SCENARIOS["handshake-client"].play(machine)
    assert machine.state == "LISTEN"
    assert len(machine.history) == 1


def test_the_via_rule_separates_listen_reset_from_simultaneous_open():
    """Figure 5, Note 1: the RST in SYN-RECEIVED returns to LISTEN only after a passive OPEN.

    After a simultaneous open's SYN, the same RST (extended table) closes the connection.
    """
    table = tcp_table(extended=True)
    machine = Machine(table)
    machine.run(*SCENARIOS["simultaneous-open"].events[:2])
    assert machine.state == "SYN-RECEIVED"
    assert machine.fire("rcv RST").target == "CLOSED"
    assert SCENARIOS["listen-reset"].states(table)[-1] == "LISTEN"


def test_get_scenario_accepts_loose_spellings():
    assert get_scenario("handshake-client") is SCENARIOS["handshake-client"]
    assert get_scenario("Handshake Client") is SCENARIOS["handshake-client"]
    assert get_scenario("simultaneous_open") is SCENARIOS["simultaneous-open"]
    assert get_scenario(SCENARIOS["abort"]) is SCENARIOS["abort"]


def test_get_scenario_names_the_bad_name_and_lists_the_good_ones():
    with pytest.raises(UnknownScenario) as caught:
        get_scenario("three-way")
    message = str(caught.value)
    assert "'three-way'" in message
    assert all(name in message for name in SCENARIOS)
    assert isinstance(caught.value, TcpvizError)
    assert isinstance(caught.value, ValueError)


def test_payload_is_json_and_carries_every_step():
    payload = scenario_payload()
    assert json.loads(json.dumps(payload)) == payload
    assert [entry["name"] for entry in payload] == list(SCENARIOS)
    for entry in payload:
        scenario = SCENARIOS[entry["name"]]
        assert set(entry) >= {"name", "title", "summary", "extended", "start", "steps"}
        assert entry["start"] == "CLOSED"
        assert entry["extended"] == scenario.extended
        assert [step["event"] for step in entry["steps"]] == list(scenario.events)
        assert [step["why"] for step in entry["steps"]] == [s.why for s in scenario.steps]
        assert [step["target"] for step in entry["steps"]] == EXPECTED_STATES[entry["name"]][1:]


def test_payload_for_a_table_keeps_only_what_plays_on_it():
    classic = [entry["name"] for entry in scenario_payload(tcp_table())]
    assert classic == [name for name in SCENARIOS if name not in NEEDS_EXTENDED]
    extended = [entry["name"] for entry in scenario_payload(tcp_table(extended=True))]
    assert extended == list(SCENARIOS)


def test_why_gives_each_via_row_its_own_reason():
    table = tcp_table(extended=True)
    rst = {t.via: t for t in table.outgoing("SYN-RECEIVED") if t.event == "rcv RST"}
    assert rst["LISTEN"].target == "LISTEN" and rst["SYN-SENT"].target == "CLOSED"
    assert "back to LISTEN" in why(rst["LISTEN"])
    assert "simultaneous open" in why(rst["SYN-SENT"])
    assert "instead of going back to LISTEN" in why(rst["SYN-SENT"])


@pytest.mark.parametrize("extended", [False, True], ids=["classic", "extended"])
def test_every_built_in_arrow_has_a_one_sentence_reason(extended):
    for transition in tcp_table(extended).transitions:
        reason = why(transition)
        assert reason is not None, transition.label
        assert ONE_SENTENCE.fullmatch(reason), reason


def test_why_reads_the_context_the_arrow_was_reached_in():
    # The ACK of our SYN: after LISTEN it is the client's ACK, after a simultaneous open it
    # comes in the other end's SYN,ACK.
    table = tcp_table()
    ack = next(t for t in table.outgoing("SYN-RECEIVED") if t.event == "rcv ACK of SYN")
    assert why(ack) == SCENARIOS["handshake-server"].steps[2].why
    assert why(ack, "LISTEN") == SCENARIOS["handshake-server"].steps[2].why
    assert why(ack, "SYN-SENT") == SCENARIOS["simultaneous-open"].steps[2].why


def test_why_knows_nothing_of_arrows_it_was_not_written_for():
    assert why(Transition("A", "go", "B")) is None
    # Same state and event as a built-in arrow, but another target: another meaning.
    assert why(Transition("ESTABLISHED", "CLOSE", "CLOSED")) is None


@pytest.mark.parametrize("name", ALL)
def test_why_finds_every_step_of_every_scenario(name):
    scenario = SCENARIOS[name]
    for transition in scenario.transitions():
        assert ONE_SENTENCE.fullmatch(why(transition))


def test_steps_and_scenarios_check_what_they_are_given():
    with pytest.raises(ValueError, match=r"unknown side: 'both'"):
        Step("rcv SYN", "A reason.", "both")
    with pytest.raises(ValueError, match=r"needs a 'why'"):
        Step("rcv SYN", "  ")
    with pytest.raises(ValueError, match=r"has no steps"):
        Scenario("empty", "Empty", "Nothing happens.", ())
    listed = Scenario("listed", "Listed", "Steps given as a list.", [Step("active OPEN", "Why.")])
    assert isinstance(listed.steps, tuple)
    assert hash(listed) == hash(listed)


def test_payload_for_an_unrelated_table_is_empty():
    table = Table([Transition("A", "go", "B"), Transition("B", "back", "A")])
    assert scenario_payload(table) == []


def test_lead_steps_only_set_the_scene_and_are_checked():
    from tcpviz.teach.scenarios import Scenario, Step

    simultaneous = SCENARIOS["simultaneous-close"]
    assert simultaneous.lead == 2  # the handshake is taken at once, the close is watched
    assert simultaneous.as_dict()["lead"] == 2
    assert SCENARIOS["active-close"].lead == 0
    step = Step("active OPEN", "why")
    for bad in (-1, 1, True, "1"):
        with pytest.raises(ValueError, match="lead must be"):
            Scenario("x", "X", "x", (step,), lead=bad)


def test_the_player_starts_a_scenario_after_its_lead_and_follows_the_machine():
    from tcpviz.errors import ScenarioError
    from tcpviz.model.machine import Machine
    from tcpviz.teach.player import ScenarioPlayer, lead_in

    machine = Machine(state="ESTABLISHED")
    player = ScenarioPlayer(machine)
    player.select("Simultaneous close")
    # From ESTABLISHED the shortest way back to CLOSED, then the handshake at once.
    status = player.status()
    assert {k: status[k] for k in ("name", "index", "total", "on_track")} == {
        "name": "simultaneous-close",
        "index": 2,
        "total": 6,
        "on_track": True,
    }
    # The story: the way from ESTABLISHED to CLOSED (3 steps) and the two lead steps.
    assert status["position"] == status["length"] == 5 and status["can_back"]
    assert status["why"] == SCENARIOS["simultaneous-close"].steps[1].why
    assert machine.state == "ESTABLISHED"
    assert player.step().target == "FIN-WAIT-1"
    machine.fire("rcv ACK of FIN")  # off the path
    assert player.status()["on_track"] is False
    assert player.step() is None and player.index() == 3  # back on it
    with pytest.raises(ScenarioError, match="unknown scenario for this table: 'abort'"):
        player.select("abort")
    assert lead_in(machine.table, "TIME-WAIT", "LISTEN") is not None
    with pytest.raises(ScenarioError, match="no scenario chosen"):
        ScenarioPlayer(Machine()).step()
