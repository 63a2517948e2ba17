"""The transition tables: the built-in TCP rows against RFC 9293, and what ``Table`` validates."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import rfc9293
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.errors import TableError, TcpvizError, UnknownEvent, UnknownState
from tcpviz.model.states import DESCRIPTIONS, state_key
from tcpviz.model.table import (
    FIGURE_5,
    KINDS,
    SECTION_3_10,
    SIDES,
    TCP_EVENTS,
    Event,
    Table,
    Transition,
    event_key,
    tcp_table,
)

ID = re.compile(r"^[A-Za-z0-9_]+$")


#: RFC spellings that also mean another event where their own is not enabled: the segment on
#: the wire (a SYN,ACK in SYN-RECEIVED acknowledges our SYN, RFC 9293 3.10.7.4).
WIRE_MEANINGS = {"rcv SYN,ACK": ("rcv SYN,ACK", "rcv ACK of SYN")}


def rfc_event(table: Table, spelling: str) -> str:
    """The table's event for the RFC's spelling of it; the spelling must name exactly one first."""
    candidates = table.event_candidates(spelling)
    expected = WIRE_MEANINGS.get(spelling, candidates[:1])
    assert candidates == expected, f"{spelling!r} is ambiguous: {candidates}"
    return candidates[0]


def expected_rows(table: Table, arrows) -> Counter:
    return Counter(
        (a.source, rfc_event(table, a.event), a.sent, a.target, a.action, a.via, a.section)
        for a in arrows
    )


def actual_rows(transitions) -> Counter:
    return Counter(
        (t.source, t.event, t.sent, t.target, t.action, t.via, t.section) for t in transitions
    )


def assert_same_rows(expected: Counter, actual: Counter) -> None:
    missing, extra = expected - actual, actual - expected
    assert not missing and not extra, f"missing: {sorted(missing)}\nextra: {sorted(extra)}"


# -- the built-in tables against RFC 9293 ------------------------------------------------------


def test_classic_table_is_exactly_figure_5(classic):
    assert_same_rows(expected_rows(classic, rfc9293.FIGURE_5), actual_rows(classic.transitions))
    assert len(classic) == len(rfc9293.FIGURE_5) == 21


def test_extended_table_adds_exactly_section_3_10(extended):
    assert_same_rows(
        expected_rows(extended, rfc9293.FIGURE_5 + rfc9293.SECTION_3_10),
        actual_rows(extended.transitions),
    )
    assert_same_rows(
        expected_rows(extended, rfc9293.SECTION_3_10),
        actual_rows(t for t in extended.transitions if t.extended),
    )
    assert not any(t.extended for t in FIGURE_5)
    assert all(t.extended for t in SECTION_3_10)


def test_the_built_in_row_sets_are_the_tables(classic, extended):
    assert classic.transitions == FIGURE_5
    assert extended.transitions == FIGURE_5 + SECTION_3_10


def test_both_tables_use_the_rfc_states_closed_first(any_table):
    assert set(any_table.states) == set(rfc9293.STATES)
    assert any_table.initial == "CLOSED"
    assert any_table.descriptions == DESCRIPTIONS


@pytest.mark.parametrize("arrow", rfc9293.FIGURE_5 + rfc9293.SECTION_3_10, ids=str)
def test_kind_of_every_row_follows_its_event(extended, arrow):
    (row,) = [
        t
        for t in extended.outgoing(arrow.source)
        if t.event == rfc_event(extended, arrow.event) and t.via == arrow.via
    ]
    assert row.kind == rfc9293.kind_of(arrow.event)
    assert extended.events[row.event].kind == row.kind


def test_simultaneous_open_sends_syn_ack_as_rfc_9293_corrected(classic):
    (row,) = [t for t in classic.outgoing("SYN-SENT") if t.target == "SYN-RECEIVED"]
    assert row.sent == "SYN,ACK"
    assert row.label == "rcv SYN / snd SYN,ACK"


def test_rst_in_syn_received_depends_on_how_it_was_reached(classic, extended):
    # Note 1: back to LISTEN only after a passive OPEN; after SYN-SENT (simultaneous open)
    # the classic figure has no arrow, and section 3.10.7.4 closes the connection.
    def rst(table, entered_from):
        return [t.target for t in table.enabled("SYN-RECEIVED", entered_from) if "RST" in t.event]

    assert rst(classic, "LISTEN") == ["LISTEN"]
    assert rst(classic, "SYN-SENT") == []
    assert rst(classic, None) == []
    assert rst(extended, "LISTEN") == ["LISTEN"]
    assert rst(extended, "SYN-SENT") == ["CLOSED"]


def test_abort_sends_rst_only_where_section_3_10_5_says(extended):
    aborts = {t.source: t for t in extended.transitions if t.event == "ABORT"}
    assert set(aborts) == set(rfc9293.ABORT_SENDS_RST) | set(rfc9293.ABORT_SILENT)
    assert "CLOSED" not in aborts  # no TCB: "error: connection illegal for this process"
    assert {s for s, t in aborts.items() if t.sent == "RST"} == set(rfc9293.ABORT_SENDS_RST)
    assert all(t.target == "CLOSED" and t.action == "delete TCB" for t in aborts.values())


def test_rst_closes_every_synchronized_state(extended):
    for state in rfc9293.SYNCHRONIZED:
        targets = [t.target for t in extended.enabled(state) if t.event == "rcv RST"]
        assert targets == ["CLOSED"], state
    # LISTEN ignores an RST (3.10.7.2); in CLOSED there is no connection to reset.
    assert not [t for t in extended.outgoing("LISTEN") if t.event == "rcv RST"]
    assert not [t for t in extended.outgoing("CLOSED") if t.event == "rcv RST"]


def test_labels_use_the_rfc_notation(classic):
    labels = {(t.source, t.target): t.label for t in classic.transitions}
    assert labels["CLOSED", "SYN-SENT"] == "active OPEN / create TCB, snd SYN"
    assert labels["CLOSED", "LISTEN"] == "passive OPEN / create TCB"
    assert labels["LISTEN", "SYN-RECEIVED"] == "rcv SYN / snd SYN,ACK"
    assert labels["SYN-RECEIVED", "ESTABLISHED"] == "rcv ACK of SYN"
    assert labels["TIME-WAIT", "CLOSED"] == "timeout 2MSL / delete TCB"


def test_every_row_names_a_section_of_3_10_and_valid_kind_and_side(extended):
    for t in extended.transitions:
        assert re.fullmatch(r"3\.10\.\d(\.\d)?", t.section), t
        assert t.kind in KINDS and t.side in SIDES, t


def test_tables_are_shared_and_immutable_in_practice(classic, extended):
    assert tcp_table() is classic and tcp_table(extended=True) is extended
    assert isinstance(classic.transitions, tuple) and isinstance(classic.states, tuple)
    with pytest.raises(AttributeError):
        classic.transitions[0].target = "LISTEN"  # Transition is frozen


def test_subset_drops_the_extended_rows(classic, extended):
    assert extended.subset(extended=False) == classic
    assert extended.subset(extended=True) is extended
    assert classic.subset(extended=False) == classic
    assert hash(extended.subset(extended=False)) == hash(classic)


def test_rows_are_json_ready(extended):
    rows = extended.rows()
    assert len(rows) == len(extended)
    assert json.loads(json.dumps(rows)) == rows
    assert rows[0] == {
        "source": "CLOSED",
        "event": "passive OPEN",
        "target": "LISTEN",
        "sent": "",
        "action": "create TCB",
        "kind": "user",
        "side": "server",
        "section": "3.10.1",
        "via": None,
        "extended": False,
        "note": "",
    }


def test_repr_and_len(classic, extended):
    assert repr(classic) == "<Table 'TCP (RFC 9293 Figure 5)': 11 states, 21 transitions>"
    assert len(extended) == 21 + len(rfc9293.SECTION_3_10)


# -- events -----------------------------------------------------------------------------------


def test_every_rfc_spelling_means_one_event(extended):
    for arrow in rfc9293.FIGURE_5 + rfc9293.SECTION_3_10:
        assert rfc_event(extended, arrow.event) in extended.events


@pytest.mark.parametrize(
    ("spelling", "events"),
    [
        ("ack", ("rcv ACK of SYN", "rcv ACK of FIN")),
        ("rcv ACK", ("rcv ACK of SYN", "rcv ACK of FIN")),
        ("timeout", ("timeout 2MSL", "user timeout")),
        ("send SYN", ("active OPEN", "SEND")),
        ("SYN", ("rcv SYN",)),
        ("Receive SYN+ACK", ("rcv SYN,ACK", "rcv ACK of SYN")),
        ("SYN,ACK", ("rcv SYN,ACK", "rcv ACK of SYN")),
        ("RECV fin", ("rcv FIN",)),
        ("FIN+ACK", ("rcv FIN,ACK",)),
        ("listen", ("passive OPEN",)),
        ("connect", ("active OPEN",)),
        ("abort", ("ABORT",)),
    ],
)
def test_event_candidates(extended, spelling, events):
    assert extended.event_candidates(spelling) == events


def test_unknown_event_lists_the_events(classic):
    with pytest.raises(UnknownEvent, match=r"unknown event: 'bogus' \(must be one of \[") as info:
        classic.event_candidates("bogus")
    assert all(repr(e) in str(info.value) for e in classic.events)
    # The classic table has no ABORT row, so ABORT is not one of its events.
    with pytest.raises(UnknownEvent, match="'ABORT'"):
        classic.event_candidates("ABORT")


def test_event_key():
    assert event_key("Receive SYN+ACK") == "rcv syn ack"
    assert event_key("  rcv   SYN,ACK ") == "rcv syn ack"
    assert event_key("snd FIN") == "send fin"
    assert event_key("---") == ""


def test_tcp_events_cover_every_row():
    names = [e.name for e in TCP_EVENTS]
    assert len(names) == len(set(names))
    assert {t.event for t in FIGURE_5 + SECTION_3_10} == set(names)
    assert Event("x").text == "x" and Event("x", words="plain x").text == "plain x"


# -- questions --------------------------------------------------------------------------------


def test_state_accepts_aliases(classic):
    assert classic.state("syn_recv") == "SYN-RECEIVED"
    with pytest.raises(UnknownState, match=r"unknown state: 'nope' \(must be one of \['CLOSED'"):
        classic.state("nope")


def test_outgoing_and_enabled(classic):
    assert [t.event for t in classic.outgoing("listen")] == ["CLOSE", "rcv SYN", "SEND"]
    assert [t.event for t in classic.outgoing("SYN-RECEIVED")] == [
        "rcv ACK of SYN",
        "rcv RST",
        "CLOSE",
    ]
    assert [t.event for t in classic.enabled("SYN-RECEIVED", "SYN-SENT")] == [
        "rcv ACK of SYN",
        "CLOSE",
    ]
    # The state it was entered from may be spelled like any state.
    assert [t.target for t in classic.enabled("SYN_RECV", "listen")] == [
        "ESTABLISHED",
        "LISTEN",
        "FIN-WAIT-1",
    ]


# -- stable ids -------------------------------------------------------------------------------


def test_state_ids(any_table):
    ids = any_table.state_ids
    assert ids["SYN-SENT"] == "state_SYN_SENT"
    assert ids["FIN-WAIT-1"] == "state_FIN_WAIT_1"
    assert set(ids) == set(any_table.states)
    assert len(set(ids.values())) == len(ids)
    assert all(ID.match(i) for i in ids.values())


def test_edge_ids(any_table):
    ids = {(t.source, t.event, t.via): i for t, i in any_table.edge_ids.items()}
    assert ids["LISTEN", "rcv SYN", None] == "edge_LISTEN__rcv_syn"
    assert ids["CLOSED", "active OPEN", None] == "edge_CLOSED__active_open"
    assert ids["SYN-SENT", "rcv SYN,ACK", None] == "edge_SYN_SENT__rcv_syn_ack"
    assert ids["SYN-RECEIVED", "rcv RST", "LISTEN"] == "edge_SYN_RECEIVED__rcv_rst__via_LISTEN"
    assert ids["TIME-WAIT", "timeout 2MSL", None] == "edge_TIME_WAIT__timeout_2msl"
    assert set(any_table.edge_ids) == set(any_table.transitions)
    assert len(set(ids.values())) == len(any_table)
    assert all(ID.match(i) for i in ids.values())


def test_ids_do_not_depend_on_the_extended_rows(classic, extended):
    for t in classic.transitions:
        assert classic.edge_ids[t] == extended.edge_ids[t]
    assert classic.state_ids == extended.state_ids
    assert extended.edge_ids[extended.transitions[-1]].startswith("edge_LAST_ACK__user_timeout")


def test_ids_of_names_that_differ_only_outside_ascii():
    # Ids keep ASCII letters only, so 'ожидание FIN' and 'получен FIN' both slug to 'FIN'.
    a, b = "ожидание FIN", "получен FIN"
    table = Table([Transition(a, "go", b), Transition(b, "go", a)])
    assert re.fullmatch(r"state_FIN_[0-9a-f]{6}", table.state_ids[a])
    assert re.fullmatch(r"state_FIN_[0-9a-f]{6}", table.state_ids[b])
    assert table.state_ids[a] != table.state_ids[b]
    # Derived from the name, not from its position: a state that is its own slug keeps the
    # plain id, and the others keep theirs whatever the order of the rows.
    other = Table([Transition(b, "go", "FIN"), Transition("FIN", "go", a), Transition(a, "go", b)])
    assert other.state_ids == {"FIN": "state_FIN", **table.state_ids}


# What a name may hold: text XML can hold, on one line (a table rejects the rest: see
# test_text_xml_cannot_hold_is_rejected_with_the_character).
xml_text = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
    lambda c: c >= " "
)
names = st.text(xml_text, min_size=1, max_size=12).filter(lambda s: s.strip())


@settings(deadline=None)  # a busy machine can take 600 ms over one example
@given(st.lists(names, min_size=1, max_size=6, unique_by=lambda s: state_key(s) or s))
def test_ids_are_valid_and_unique_for_any_state_names(states):
    # A ring through every state, so each one is reachable.
    ring = [Transition(a, "next", b) for a, b in zip(states, [*states[1:], states[0]], strict=True)]
    table = Table(ring, states=states)
    state_ids = list(table.state_ids.values())
    edge_ids = list(table.edge_ids.values())
    assert len(set(state_ids)) == len(states)
    assert len(set(edge_ids)) == len(ring)
    assert all(ID.match(i) for i in state_ids + edge_ids)
    # The same states listed in another order keep their ids.
    assert Table(ring, states=states[::-1]).state_ids == table.state_ids


@settings(deadline=None)
@given(st.lists(st.text(xml_text, min_size=1, max_size=10), min_size=1, max_size=6))
def test_ids_are_valid_and_unique_for_any_event_names(events):
    events = list(dict.fromkeys(e for e in events if event_key(e)))
    keys = [event_key(e) for e in events]
    if len(set(keys)) != len(keys):
        with pytest.raises(TableError, match="differ only in case or punctuation"):
            Table([Transition("A", e, "A") for e in events])
        return
    table = Table([Transition("A", e, "A") for e in events] or [Transition("A", "x", "A")])
    ids = list(table.edge_ids.values())
    assert len(set(ids)) == len(ids) and all(ID.match(i) for i in ids)


# -- validation -------------------------------------------------------------------------------


def rows(*triples, **fields):
    return [Transition(a, e, b, **fields) for a, e, b in triples]


def test_a_valid_small_table():
    table = Table(rows(("off", "press", "on"), ("on", "press", "off")))
    assert table.states == ("off", "on") and table.initial == "off"
    assert table.descriptions == {"off": "", "on": ""}
    assert table.events["press"] == Event("press", "user")


def test_empty_table():
    with pytest.raises(TableError, match="the table has no transitions"):
        Table([])


def test_unknown_state_names_the_row():
    with pytest.raises(
        TableError, match=r"^row 2: unknown target state 'C' \(must be one of \['A', 'B'\]\)$"
    ):
        Table(rows(("A", "go", "B"), ("B", "go", "C")), states=["A", "B"])
    with pytest.raises(TableError, match=r"^row 1: unknown source state 'Z'"):
        Table(rows(("Z", "go", "A")), states=["A"])


def test_unknown_via_state():
    with pytest.raises(TableError, match=r"row 1: unknown 'via' state 'Q'"):
        Table([Transition("A", "go", "A", via="Q")])


def test_unknown_initial_state():
    with pytest.raises(TableError, match=r"unknown initial state 'Q' \(must be one of \['A'\]\)"):
        Table(rows(("A", "go", "A")), initial="Q")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "kind",
            r"^row 1: unknown kind 'bogus' \(must be one of \['user', 'segment', 'timeout'\]\)$",
        ),
        (
            "side",
            r"^row 1: unknown side 'bogus' \(must be one of \['client', 'server', 'either'\]\)$",
        ),
    ],
)
def test_unknown_kind_or_side(field, message):
    with pytest.raises(TableError, match=message):
        Table([Transition("A", "go", "A", **{field: "bogus"})])


@pytest.mark.parametrize("event", ["", "  ", "--", None])
def test_an_event_needs_a_name(event):
    with pytest.raises(TableError, match=r"row 1: the event must be a name"):
        Table([Transition("A", event, "A")])


def test_one_event_two_targets_names_the_row():
    with pytest.raises(
        TableError, match=r"^row 3: event 'go' leads from A to two targets \(B and C\)"
    ):
        Table(rows(("A", "go", "B"), ("B", "back", "A"), ("A", "go", "C"), ("C", "x", "A")))


def test_via_separates_rows_but_only_when_both_differ():
    ok = Table(
        [
            Transition("A", "go", "B"),
            Transition("B", "go", "C"),
            Transition("C", "rst", "A", via="B"),
            Transition("C", "rst", "B", via="C"),
            Transition("C", "go", "C"),
        ]
    )
    assert [t.target for t in ok.enabled("C", "B")] == ["A", "C"]
    assert [t.target for t in ok.enabled("C", "C")] == ["B", "C"]
    assert [t.target for t in ok.enabled("C", None)] == ["C"]
    with pytest.raises(TableError, match="two targets"):
        Table([Transition("A", "go", "B"), Transition("A", "go", "A", via="A")])
    with pytest.raises(TableError, match="two targets"):
        Table([Transition("A", "go", "B", via="A"), Transition("A", "go", "A", via="A")])


def test_unreachable_states():
    with pytest.raises(
        TableError, match=r"no transition reaches \['C', 'D'\] from the initial state 'A'"
    ):
        Table(rows(("A", "go", "B"), ("C", "go", "A"), ("D", "go", "C")))


def test_events_differing_only_in_case_name_the_row():
    with pytest.raises(
        TableError, match=r"^row 2: events 'go' and 'GO' differ only in case or punctuation$"
    ):
        Table(rows(("A", "go", "B"), ("B", "GO", "A")))
    with pytest.raises(TableError, match="'rcv SYN' and 'receive-syn' differ only"):
        Table(rows(("A", "rcv SYN", "B"), ("B", "receive-syn", "A")))


def test_states_differing_only_in_case():
    with pytest.raises(TableError, match="states 'A' and 'a' differ only in case or punctuation"):
        Table(rows(("A", "go", "a"), ("a", "go", "A")))
    with pytest.raises(TableError, match="state 'A' is listed twice"):
        Table(rows(("A", "go", "A")), states=["A", "A"])


def test_names_in_other_scripts_are_not_confused():
    # Before letters of every script counted, both names reduced to 'FIN' and clashed.
    table = Table(
        rows(("ожидание FIN", "получен FIN", "закрыт"), ("закрыт", "отправлен FIN", "ожидание FIN"))
    )
    assert table.states == ("ожидание FIN", "закрыт")
    assert table.state("ОЖИДАНИЕ_FIN") == "ожидание FIN"
    assert table.event_candidates("Получен-fin") == ("получен FIN",)
    assert table.event_candidates("ОТПРАВЛЕН FIN") == ("отправлен FIN",)
    assert len(set(table.state_ids.values())) == 2
    german = Table(rows(("Geöffnet", "schließen", "Geoffnet"), ("Geoffnet", "öffnen", "Geöffnet")))
    assert german.state("GEÖFFNET") == "Geöffnet"
    assert german.event_candidates("SCHLIESSEN") == ("schließen",)


@pytest.mark.parametrize("bad", [None, "", "  "])
def test_a_state_name_must_be_a_non_empty_string(bad):
    with pytest.raises(TableError, match="a state name must be a non-empty string"):
        Table(rows(("A", "go", "A")), states=["A", bad])


def test_the_error_names_the_file_and_line():
    bad = Transition("A", "go", "A", kind="bogus", line=7)
    with pytest.raises(TableError, match=r"^lab\.csv:7: unknown kind 'bogus'") as info:
        Table([Transition("A", "ok", "A", line=6), bad], source="lab.csv")
    assert (info.value.source, info.value.line) == ("lab.csv", 7)
    assert isinstance(info.value, TcpvizError) and isinstance(info.value, ValueError)
    with pytest.raises(TableError, match=r"^line 3: events 'go' and 'Go'") as info:
        Table([Transition("A", "go", "A", line=2), Transition("A", "Go", "A", line=3)])


def test_line_takes_no_part_in_equality():
    assert Transition("A", "go", "B", line=1) == Transition("A", "go", "B", line=9)


# -- hostile input (issue 8): every clash and every unusable value is an error ----------------


def test_an_alias_equal_to_another_states_name_is_an_error():
    # It used to rewrite rows: 'B back A' printed as 'A back A'.
    with pytest.raises(TableError, match=r"alias 'B' of state 'A' is the name of state 'B'"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), state_aliases={"A": ["B"]})


def test_an_alias_shared_by_two_states_is_an_error():
    with pytest.raises(TableError, match=r"alias 'x' of state 'B' is also an alias of state 'A'"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), state_aliases={"A": ["X"], "B": ["x"]})


def test_an_alias_of_a_states_own_name_is_fine():
    table = Table(rows(("A", "go", "B"), ("B", "back", "A")), state_aliases={"A": ["a", "A"]})
    assert table.state("a") == "A"


def test_state_names_without_letters_or_digits_are_different_states():
    table = Table(rows(("✓", "fail", "✗"), ("✗", "star", "★"), ("★", "done", "✓")))
    assert [table.state(s) for s in ("✓", "✗", "★")] == ["✓", "✗", "★"]
    assert state_key("✓") != state_key("✗")
    with pytest.raises(TableError, match="differ only in case or punctuation"):
        Table(rows(("✓", "go", "✓ "), ("✓ ", "back", "✓")))


@pytest.mark.parametrize("char", ["\ufffe", "\uffff", "\x00", "\x1b", "\ud800", "\udfff"])
@pytest.mark.parametrize("field", ["state", "event", "sent", "note", "description", "name"])
def test_text_xml_cannot_hold_is_rejected_with_the_character(char, field):
    bad = f"x{char}y"
    kwargs: dict = {}
    triples = [("A", "go", "B"), ("B", "back", "A")]
    extra: dict = {}
    if field == "state":
        triples = [("A", "go", bad), (bad, "back", "A")]
    elif field == "event":
        triples = [("A", bad, "B"), ("B", "back", "A")]
    elif field in ("sent", "note"):
        extra = {field: bad}
    elif field == "description":
        kwargs["descriptions"] = {"A": bad}
    else:
        kwargs["name"] = bad
    with pytest.raises(TableError, match=rf"U\+{ord(char):04X}") as caught:
        Table(rows(*triples, **extra), **kwargs)
    assert "\n" not in str(caught.value)


def test_tab_and_newline_are_fine_in_text():
    table = Table(rows(("A", "go", "B"), ("B", "back", "A")), descriptions={"A": "one\ttwo\nthree"})
    assert table.descriptions["A"] == "one\ttwo\nthree"


@pytest.mark.parametrize("field", ["state", "event", "sent", "action"])
def test_labels_too_long_to_draw_are_rejected_naming_the_row(field):
    from tcpviz.model.table import MAX_LABEL_LENGTH

    long = "x" * (MAX_LABEL_LENGTH + 1)
    triples = [("A", "go", "B"), ("B", "back", "A")]
    extra: dict = {}
    if field == "state":
        triples = [("A", "go", long), (long, "back", "A")]
    elif field == "event":
        triples = [("A", "go", "B"), ("B", long, "A")]
    else:
        extra = {field: long}
    # A state is named, an arrow's text by its row.
    where = "the state name" if field == "state" else "row [12]: "
    with pytest.raises(TableError, match=rf"{where}.*{MAX_LABEL_LENGTH + 1} characters"):
        Table(rows(*triples, **extra))
    Table(rows(("A", "go", "B"), ("B", "x" * MAX_LABEL_LENGTH, "A")))  # the limit itself is fine


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("extended", "no", r"'extended' must be True or False, not 'no'"),
        ("extended", 1, r"'extended' must be True or False, not 1"),
        ("sent", 3, r"'sent' must be a string, not 3"),
        ("note", None, r"'note' must be a string, not None"),
        ("via", 7, r"'via' must be a state name or None, not 7"),
    ],
)
def test_row_fields_of_the_wrong_type_are_rejected(field, value, message):
    with pytest.raises(TableError, match=rf"row 1: {message}"):
        Table(rows(("A", "go", "B"), ("B", "back", "A"), **{field: value}))


def test_descriptions_and_names_must_be_strings():
    with pytest.raises(TableError, match=r"the description of state 'A' must be a string, not 3"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), descriptions={"A": 3})
    with pytest.raises(TableError, match=r"the table's name must be a string, not 3"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), name=3)
    with pytest.raises(TableError, match=r"an alias of state 'A' must be a non-empty string"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), state_aliases={"A": [None]})
    with pytest.raises(TableError, match=r"the words of event 'go' must be a string, not 5"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), events=[Event("go", words=5)])


def test_descriptions_of_unknown_states_are_errors_not_ignored():
    with pytest.raises(TableError, match=r"description for 'C', which is not a state"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), descriptions={"C": "lost"})


def test_a_10000_state_ring_builds_in_linear_time():
    import time

    n = 10_000
    ring = [Transition(f"s{i}", "next", f"s{(i + 1) % n}") for i in range(n)]
    started = time.process_time()  # CPU time: the bound holds on a busy machine too
    table = Table(ring, descriptions={f"s{i}": f"state {i}" for i in range(n)})
    elapsed = time.process_time() - started
    assert len(table.states) == n and table.outgoing("s9999")[0].target == "s0"
    assert elapsed < 3, f"{elapsed:.2f} s"  # quadratic code took 9 to 11 s; measured: 0.2 s


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "cr\rhere"])
def test_a_name_is_one_line(name):
    # Error messages and listings print names as they are: a line break would split them.
    with pytest.raises(TableError, match="holds a line break or a tab"):
        Table(rows(("A", "go", name), (name, "back", "A")))
    with pytest.raises(TableError, match=r"row 2: .*holds a line break or a tab"):
        Table(rows(("A", "go", "B"), ("B", name, "A")))


@pytest.mark.parametrize("bad", [["A"], 3, None])
def test_a_state_that_is_not_a_name_is_an_error(bad):
    with pytest.raises(TableError, match=r"row 1: the source state must be a name"):
        Table([Transition(bad, "go", "B"), Transition("B", "back", "A")])
    with pytest.raises(TableError, match="must be a string"):
        Table(rows(("A", "go", "B"), ("B", "back", "A")), descriptions={"A": bad})
