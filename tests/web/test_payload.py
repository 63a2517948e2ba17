"""The JSON the page needs: complete, serialisable, and derived from the table alone."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.drawing.diagram import layout_svg
from tcpviz.errors import TcpvizError
from tcpviz.model.machine import Machine
from tcpviz.model.table import Event, Table, Transition
from tcpviz.teach.scenarios import SCENARIOS
from tcpviz.web.payload import (
    HISTORY_WINDOW,
    MachineTracker,
    button_label,
    history_item,
    machine_payload,
    narration,
    scenarios_payload,
    table_payload,
)

SVG = "{http://www.w3.org/2000/svg}"


def small_table() -> Table:
    """A custom table that shares nothing with TCP but one state name."""
    return Table(
        [
            Transition("CLOSED", "knock", "HALL", sent="hello", kind="user"),
            Transition("HALL", "bell rings", "CLOSED", action="leave", kind="timeout"),
            Transition("HALL", "rcv wave", "HALL", kind="segment"),
        ],
        events=[Event("knock", "user", "knock on the door")],
        descriptions={"CLOSED": "Nobody home.", "HALL": "Inside."},
        name="door",
    )


def test_table_payload_is_json_and_survives_a_round_trip(any_table):
    payload = table_payload(any_table)
    assert json.loads(json.dumps(payload)) == payload


def test_table_payload_lists_every_state_with_its_id_and_description(any_table):
    payload = table_payload(any_table)
    assert payload["initial"] == any_table.initial == "CLOSED"
    assert payload["name"] == any_table.name
    assert [s["name"] for s in payload["states"]] == list(any_table.states)
    for entry in payload["states"]:
        assert entry["id"] == any_table.state_ids[entry["name"]]
        assert entry["description"] == any_table.descriptions[entry["name"]]
        assert entry["description"]  # every TCP state is explained


def test_table_payload_transitions_match_the_table_row_by_row(any_table):
    rows = table_payload(any_table)["transitions"]
    assert len(rows) == len(any_table.transitions)
    for row, t in zip(rows, any_table.transitions, strict=True):
        assert row["id"] == any_table.edge_ids[t]
        for field in ("source", "event", "target", "sent", "action", "kind", "side", "via"):
            assert row[field] == getattr(t, field), field
        assert row["note"] == t.note
        assert row["section"] == t.section
        assert row["extended"] == t.extended
        assert row["label"] == t.label
        assert row["words"] == any_table.events[t.event].text
        assert row["button"] == button_label(any_table, t)
        assert row["narration"] == narration(any_table, t)
    assert len({row["id"] for row in rows}) == len(rows)


def test_payload_ids_are_the_ids_in_the_laid_out_svg(any_table):
    root = ET.fromstring(layout_svg(any_table))
    ids = {g.get("id") for g in root.iter(f"{SVG}g")}
    payload = table_payload(any_table)
    assert {s["id"] for s in payload["states"]} <= ids
    assert {t["id"] for t in payload["transitions"]} <= ids


def test_buttons_say_the_event_in_words_and_what_is_sent(classic):
    by_id = {t["id"]: t for t in table_payload(classic)["transitions"]}
    assert by_id["edge_LISTEN__rcv_syn"]["button"] == "receive SYN → send SYN,ACK"
    assert by_id["edge_CLOSED__active_open"]["button"] == "active open (connect) → send SYN"
    # Nothing sent: no arrow, just the event.
    assert by_id["edge_CLOSED__passive_open"]["button"] == "passive open (listen)"
    assert by_id["edge_TIME_WAIT__timeout_2msl"]["button"] == "2MSL timeout"


def test_narration_says_what_was_received_sent_and_done(classic):
    by_id = {t["id"]: t for t in table_payload(classic)["transitions"]}
    assert by_id["edge_LISTEN__rcv_syn"]["narration"] == "Received SYN, sent SYN,ACK."
    assert (
        by_id["edge_SYN_RECEIVED__rcv_ack_of_syn"]["narration"]
        == "Received ACK of our SYN, sent nothing."
    )
    assert (
        by_id["edge_ESTABLISHED__close"]["narration"] == "The application called close, sent FIN."
    )
    assert (
        by_id["edge_TIME_WAIT__timeout_2msl"]["narration"]
        == "Timer expired (2MSL timeout), sent nothing (delete TCB)."
    )


@pytest.mark.exe
def test_a_custom_table_without_words_falls_back_to_event_names():
    table = small_table()
    rows = {t["event"]: t for t in table_payload(table)["transitions"]}
    assert rows["knock"]["words"] == "knock on the door"
    assert rows["knock"]["button"] == "knock on the door → send hello"
    assert rows["rcv wave"]["words"] == "rcv wave"
    assert rows["rcv wave"]["narration"] == "Received wave, sent nothing."
    assert rows["bell rings"]["narration"] == "Timer expired (bell rings), sent nothing (leave)."
    assert json.loads(json.dumps(table_payload(table)))["initial"] == "CLOSED"


def test_machine_payload_at_the_start(classic):
    payload = machine_payload(Machine(classic))
    assert payload == {
        "state": "CLOSED",
        "description": classic.descriptions["CLOSED"],
        "last": "",
        "visited": ["state_CLOSED"],
        "taken": [],
        "history_shown": [],
        "history_hidden": 0,
        "future_shown": [],
        "future_hidden": 0,
        "enabled": ["edge_CLOSED__passive_open", "edge_CLOSED__active_open"],
    }


def test_machine_payload_after_steps_and_an_undo(classic):
    machine = Machine(classic)
    machine.run("passive open", "SYN", "ACK")
    machine.undo()
    payload = machine_payload(machine)
    assert payload["state"] == "SYN-RECEIVED"
    assert payload["last"] == "edge_LISTEN__rcv_syn"
    assert payload["visited"] == ["state_CLOSED", "state_LISTEN", "state_SYN_RECEIVED"]
    assert payload["history_shown"] == ["edge_CLOSED__passive_open", "edge_LISTEN__rcv_syn"]
    assert payload["taken"] == ["edge_CLOSED__passive_open"]
    assert payload["future_shown"] == ["edge_SYN_RECEIVED__rcv_ack_of_syn"]
    assert payload["history_hidden"] == payload["future_hidden"] == 0
    assert json.loads(json.dumps(payload)) == payload


def test_history_item_names_the_step_for_a_reader(classic):
    machine = Machine(classic)
    machine.run("passive open", "SYN", "ACK")
    assert history_item(classic, machine.history[-1]) == {
        "edge": "edge_SYN_RECEIVED__rcv_ack_of_syn",
        "label": "rcv ACK of SYN",
        "source": "SYN-RECEIVED",
        "target": "ESTABLISHED",
    }


def test_machine_payload_sends_a_window_of_the_history(classic):
    machine = Machine(classic)
    client = ["active open", "SYN,ACK", "close", "ACK of FIN", "FIN", "timeout"]
    machine.run(*client)
    ids = [classic.edge_ids[t] for t in machine.history]
    payload = machine_payload(machine, window=4)
    assert (payload["history_shown"], payload["history_hidden"]) == (ids[2:], 2)
    # The arrows taken and states met are all there, not only the window's.
    assert payload["taken"] == ids[:-1]
    assert payload["visited"] == [classic.state_ids[s] for s in machine.visited]
    machine.jump(1)
    payload = machine_payload(machine, window=4)
    assert (payload["history_shown"], payload["history_hidden"]) == (ids[:1], 0)
    assert (payload["future_shown"], payload["future_hidden"]) == (ids[1:5], 1)
    assert machine_payload(machine) == machine_payload(machine, window=HISTORY_WINDOW)
    with pytest.raises(ValueError, match="window must be a whole number of steps >= 1"):
        machine_payload(machine, window=0)


def expected_payload(machine: Machine, window: int) -> dict[str, object]:
    """machine_payload written out from the machine's own properties, for the property test."""
    table = machine.table
    history, future = machine.history, machine.future
    shown, upcoming = history[max(0, len(history) - window) :], future[:window]
    return {
        "state": machine.state,
        "description": machine.description,
        "last": table.edge_ids[machine.last] if machine.last else "",
        "visited": [table.state_ids[s] for s in machine.visited],
        "taken": [table.edge_ids[t] for t in dict.fromkeys(history[:-1])],
        "history_shown": [table.edge_ids[t] for t in shown],
        "history_hidden": len(history) - len(shown),
        "future_shown": [table.edge_ids[t] for t in upcoming],
        "future_hidden": len(future) - len(upcoming),
        "enabled": [table.edge_ids[t] for t in machine.enabled()],
    }


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("fire"), st.integers(0, 9)),
        st.tuples(st.sampled_from(["undo", "redo", "reset"]), st.just(0)),
        st.tuples(st.just("jump"), st.integers(0, 40)),
        st.tuples(st.just("run"), st.integers(1, 5)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(actions=ACTIONS, window=st.integers(1, 4))
def test_the_tracker_follows_any_steps_as_a_fresh_payload_would(actions, window):
    """Step by step (fire, undo, redo) and by reading again (jump, reset, run), the tracker
    agrees with the payload written out from the machine: windows, taken arrows and visited
    states in order of first visit."""
    machine = Machine(extended=True)
    tracker = MachineTracker(machine, window)
    machine.subscribe(lambda m, change: tracker.apply(change))
    for action, n in actions:
        try:
            if action == "fire":
                options = machine.enabled()
                machine.fire(options[n % len(options)]) if options else machine.reset()
            elif action == "run":
                here = Machine(machine.table, state=machine.state)
                for _ in range(n):  # a run of enabled steps from here
                    options = here.enabled()
                    if not options:
                        break
                    here.fire(options[0])
                machine.run(*here.history)
            elif action == "jump":
                machine.jump(n)
            else:
                getattr(machine, action)()
        except TcpvizError:
            pass  # refused: nothing changed, and the tracker heard nothing
        assert tracker.payload() == expected_payload(machine, window)
        # The story as a player reads it from the tracker (the widget's history list).
        story = (*machine.history, *machine.future)
        assert (tracker.position, tracker.length) == (len(machine.history), len(story))
        for lo in range(len(story) + 1):
            for hi in (lo, lo + 1, lo + window, len(story), len(story) + 2):
                assert tracker.steps(lo, hi) == story[lo:hi], (lo, hi)


def test_machine_payload_respects_the_via_rule(extended):
    # RFC 9293 Figure 5, Note 1: RST in SYN-RECEIVED goes back to LISTEN only after a
    # passive OPEN; after a simultaneous open it closes.
    passive = Machine(extended)
    passive.run("passive open", "SYN")
    active = Machine(extended)
    active.run("active open", "SYN")
    assert "edge_SYN_RECEIVED__rcv_rst__via_LISTEN" in machine_payload(passive)["enabled"]
    assert "edge_SYN_RECEIVED__rcv_rst__via_SYN_SENT" not in machine_payload(passive)["enabled"]
    assert "edge_SYN_RECEIVED__rcv_rst__via_SYN_SENT" in machine_payload(active)["enabled"]
    assert "edge_SYN_RECEIVED__rcv_rst__via_LISTEN" not in machine_payload(active)["enabled"]


def test_scenarios_payload_on_the_classic_table_leaves_out_the_extended_ones(classic):
    names = [s["name"] for s in scenarios_payload(classic)]
    expected = [name for name, s in SCENARIOS.items() if not s.extended]
    assert names == expected


def test_scenarios_payload_on_the_extended_table_has_every_scenario(extended):
    assert [s["name"] for s in scenarios_payload(extended)] == list(SCENARIOS)


def test_every_scenario_step_names_the_edge_it_takes_and_the_steps_chain(any_table):
    edges = {t["id"]: t for t in table_payload(any_table)["transitions"]}
    for scenario in scenarios_payload(any_table):
        here = scenario["start"]
        assert scenario["title"] and scenario["summary"]
        for step in scenario["steps"]:
            edge = edges[step["edge"]]
            assert (edge["source"], edge["target"]) == (step["source"], step["target"])
            assert edge["source"] == here
            assert step["why"]
            here = edge["target"]
    assert json.loads(json.dumps(scenarios_payload(any_table))) == scenarios_payload(any_table)


def test_scenarios_payload_of_an_unrelated_table_is_empty():
    assert scenarios_payload(small_table()) == []


# -- what the page looks up instead of working out (DESIGN.md, decision 7) --------------------


def _contexts(table: Table) -> list[tuple[str, str | None]]:
    """Every (state, entered from) pair a machine can stand in: any start, or after any arrow."""
    return [(s, None) for s in table.states] + [(t.target, t.source) for t in table.transitions]


def test_moves_say_what_is_enabled_in_every_position_and_where_each_arrow_leads(any_table):
    from tcpviz.web.payload import moves_payload

    moves = moves_payload(any_table)
    assert json.loads(json.dumps(moves)) == moves
    ids = any_table.edge_ids
    for state, entered_from in _contexts(any_table):
        number = (
            moves["start"][state]
            if entered_from is None
            else moves["after"][
                next(
                    ids[t]
                    for t in any_table.transitions
                    if (t.target, t.source) == (state, entered_from)
                )
            ]
        )
        position = moves["positions"][number]
        enabled = any_table.enabled(state, entered_from)
        assert position["state"] == state
        assert position["enabled"] == [ids[t] for t in enabled]
        # Every arrow of the state that is not enabled there says why (the `via` rule).
        assert set(position["refused"]) == {ids[t] for t in any_table.outgoing(state)} - set(
            position["enabled"]
        )
    # An arrow leads to its target, in the context of its source.
    for t in any_table.transitions:
        position = moves["positions"][moves["after"][ids[t]]]
        assert position["enabled"] == [ids[o] for o in any_table.enabled(t.target, t.source)]


def test_every_position_a_machine_reaches_is_looked_up_right_on_a_random_walk(extended):
    import random

    from tcpviz.web.payload import moves_payload

    moves, ids = moves_payload(extended), extended.edge_ids
    rng = random.Random(9293)
    machine = Machine(extended)
    for _ in range(500):  # bounded
        last = machine.last
        number = moves["after"][ids[last]] if last else moves["start"][machine.start]
        assert moves["positions"][number]["enabled"] == [ids[t] for t in machine.enabled()]
        options = machine.enabled()
        if options:
            machine.fire(rng.choice(options))
        else:
            machine.reset()


def test_the_refusals_name_the_state_and_the_reason(extended):
    from tcpviz.web.payload import moves_payload, refusal

    rst = next(t for t in extended.transitions if t.source == "SYN-RECEIVED" and t.via == "LISTEN")
    text = refusal(extended, rst, "SYN-RECEIVED")
    assert text.startswith('"') and "not possible now" in text
    elsewhere = moves_payload(extended)["elsewhere"][extended.edge_ids[rst]]
    assert elsewhere.replace("{state}", "ESTABLISHED") == refusal(extended, rst, "ESTABLISHED")
    assert "starts in SYN-RECEIVED" in elsewhere and "{state}" in elsewhere


def test_event_names_on_the_page_mean_what_they_mean_in_python(any_table):
    from tcpviz.model.table import event_key
    from tcpviz.web.payload import event_lookup

    lookup = event_lookup(any_table)
    for spelling, events in lookup.items():
        assert events == list(any_table.event_candidates(spelling)), spelling
        assert spelling == " ".join(spelling.lower().split())
    for name, event in any_table.events.items():
        assert lookup[" ".join(name.lower().split())] == list(any_table.event_candidates(name))
        for alias in event.aliases:
            assert lookup[" ".join(event_key(alias).split())] == list(
                any_table.event_candidates(alias)
            )
    if "passive OPEN" in any_table.events:
        assert lookup["listen"] == ["passive OPEN"]


def test_every_scenario_carries_the_way_to_its_start(any_table):
    edges = {t["id"]: t for t in table_payload(any_table)["transitions"]}
    for scenario in scenarios_payload(any_table):
        state = any_table.initial
        for edge in scenario["lead_in"]:
            assert edges[edge]["source"] == state
            state = edges[edge]["target"]
        assert state == scenario["start"]
        assert 0 <= scenario["lead"] < len(scenario["steps"])


def test_quizzes_are_played_out_exactly_as_python_grades_every_answer(any_table):
    from tcpviz.teach.quiz import Quiz
    from tcpviz.web.payload import QUIZ_SEEDS, quizzes_payload

    played = quizzes_payload(any_table, seeds=QUIZ_SEEDS[:2])
    assert json.loads(json.dumps(played)) == played
    texts = played["texts"]
    assert len(texts) == len(set(texts))  # each explanation once
    for data in played["quizzes"]:
        quiz = Quiz(any_table, seed=data["seed"])
        assert data["total"] == quiz.length == len(data["questions"])
        for q in data["questions"]:
            assert q["question"] == quiz.question.as_dict()
            for state in any_table.states:
                feedback = quiz.grade(state)
                shown = (
                    texts[q["right"]]
                    if feedback.correct
                    else f"{texts[q['not'][state]]} {texts[q['wrong']]}"
                )
                assert shown == feedback.explanation, (data["seed"], q["question"]["number"], state)
            assert q["expected"] == quiz.expected
            assert q["edge"] == any_table.edge_ids[quiz.grade(quiz.expected).transition]
            quiz.answer(quiz.expected)
        assert quiz.finished


def test_a_button_is_its_words_then_what_is_sent(any_table):
    for row in table_payload(any_table)["transitions"]:
        assert f"{row['words']} {row['button_sent']}".strip() == row["button"]
    rows = {r["id"]: r for r in table_payload(any_table)["transitions"]}
    if "edge_SYN_SENT__rcv_syn" in rows:  # the two SYN-SENT buttons a class confuses
        syn, syn_ack = rows["edge_SYN_SENT__rcv_syn"], rows["edge_SYN_SENT__rcv_syn_ack"]
        assert (syn["words"], syn["button_sent"]) == ("receive SYN", "→ send SYN,ACK")
        assert (syn_ack["words"], syn_ack["button_sent"]) == ("receive SYN,ACK", "→ send ACK")
        assert "+" not in syn_ack["button"]  # one notation: SYN,ACK everywhere
