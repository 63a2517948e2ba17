"""The networkx graph of a table, and the path questions asked of it."""

from __future__ import annotations

import re
from collections import deque

import networkx as nx
import pytest
import rfc9293
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.errors import UnknownState
from tcpviz.model.graph import edge_key, reachable, shortest_events, side_path, to_networkx
from tcpviz.model.machine import Machine
from tcpviz.model.table import Table, Transition, tcp_table

TABLES = {"classic": tcp_table(), "extended": tcp_table(extended=True)}
ARROWS = {"classic": rfc9293.FIGURE_5, "extended": rfc9293.FIGURE_5 + rfc9293.SECTION_3_10}


def rfc_distances(arrows, source: str, entered_from: str | None = None) -> dict[str, int]:
    """Breadth-first over the hand-written arrows, honouring ``via``: fewest events per state."""
    distance = {source: 0}
    seen = {(source, entered_from)}
    queue = deque([(source, entered_from, 0)])
    while queue:
        state, before, steps = queue.popleft()
        for arrow in rfc9293.enabled(arrows, state, before).values():
            config = (arrow.target, state)
            if config not in seen:
                seen.add(config)
                distance.setdefault(arrow.target, steps + 1)
                queue.append((arrow.target, state, steps + 1))
    return distance


# -- the graph --------------------------------------------------------------------------------


def test_one_node_per_state_with_its_attributes(any_table):
    graph = to_networkx(any_table)
    assert isinstance(graph, nx.MultiDiGraph)
    assert list(graph.nodes) == list(any_table.states)
    for state, data in graph.nodes(data=True):
        assert data == {
            "description": any_table.descriptions[state],
            "aliases": any_table.state_aliases[state],
            "id": any_table.state_ids[state],
            "initial": state == "CLOSED",
        }
    assert graph.graph == {"name": any_table.name, "initial": "CLOSED"}


def test_one_edge_per_row_with_every_field(any_table):
    graph = to_networkx(any_table)
    assert graph.number_of_edges() == len(any_table)
    for t in any_table.transitions:
        data = graph.edges[t.source, t.target, edge_key(t)]
        row = t.as_dict()
        del row["source"], row["target"]
        assert data == {**row, "label": t.label, "id": any_table.edge_ids[t], "transition": t}
    assert sorted((t.source, t.target) for t in any_table.transitions) == sorted(
        (a, b) for a, b, _ in graph.edges(keys=True)
    )


def test_edge_keys():
    classic = tcp_table()
    (note_1,) = [t for t in classic.transitions if t.via]
    assert edge_key(note_1) == "rcv RST@LISTEN"
    assert edge_key(classic.transitions[0]) == "passive OPEN"
    # CLOSE and ABORT both lead from LISTEN to CLOSED: two edges between the same nodes.
    graph = to_networkx(tcp_table(extended=True))
    assert set(graph["LISTEN"]["CLOSED"]) == {"CLOSE", "ABORT"}
    assert set(graph["SYN-RECEIVED"]["CLOSED"]) == {"rcv RST@SYN-SENT", "ABORT", "user timeout"}


def test_default_graph_is_the_classic_figure():
    assert nx.utils.graphs_equal(to_networkx(), to_networkx(tcp_table()))


def test_graph_of_a_custom_table():
    table = Table(
        [Transition("off", "press", "on", kind="user"), Transition("on", "press", "off")],
        name="switch",
    )
    graph = to_networkx(table)
    assert list(graph.edges(keys=True)) == [("off", "on", "press"), ("on", "off", "press")]
    assert graph.graph["name"] == "switch"


# -- shortest_events --------------------------------------------------------------------------


def test_shortest_events_examples():
    def events(a, b, table=None, **kw):
        return [t.event for t in shortest_events(a, b, table, **kw)]

    assert events("CLOSED", "ESTABLISHED") == ["active OPEN", "rcv SYN,ACK"]
    assert events("closed", "estab") == ["active OPEN", "rcv SYN,ACK"]
    assert events("ESTABLISHED", "ESTABLISHED") == []
    assert events("LAST-ACK", "CLOSED") == ["rcv ACK of FIN"]
    assert events("FIN-WAIT-1", "TIME-WAIT") == ["rcv FIN,ACK"]
    # Note 1: RST returns SYN-RECEIVED to LISTEN only when it was entered from LISTEN.
    assert events("SYN-RECEIVED", "LISTEN", entered_from="LISTEN") == ["rcv RST"]
    assert len(events("SYN-RECEIVED", "LISTEN")) == 4  # close the connection, listen again
    # Between the same states, the first row in table order: CLOSE before ABORT.
    assert events("LISTEN", "CLOSED", TABLES["extended"]) == ["CLOSE"]
    assert events("SYN-RECEIVED", "CLOSED", TABLES["extended"], entered_from="SYN-SENT") == [
        "rcv RST"
    ]
    assert events("SYN-RECEIVED", "CLOSED", TABLES["extended"]) == ["ABORT"]


@pytest.mark.parametrize("name", TABLES)
def test_shortest_events_are_as_short_as_the_rfc_allows(name):
    # Against a breadth-first search over the hand-written arrows, for every state, every
    # state it may have been entered from, and every target.
    table = TABLES[name]
    for source in table.states:
        for before in (None, *table.states):
            expected = rfc_distances(ARROWS[name], source, before)
            for target in table.states:
                path = shortest_events(source, target, table, entered_from=before)
                assert len(path) == expected[target], (source, before, target)
                if path:  # each step starts where the one before ended
                    assert [t.source for t in path] == [source, *(t.target for t in path[:-1])]
                    assert path[-1].target == target


def test_shortest_events_from_a_machine_that_started_there_replays():
    for table in TABLES.values():
        for source in table.states:
            for target in table.states:
                m = Machine(table, state=source)
                m.run(*(t.event for t in shortest_events(source, target, table)))
                assert m.state == target


def test_shortest_events_on_a_graph():
    graph = to_networkx(tcp_table(extended=True))
    assert [t.event for t in shortest_events("ESTABLISHED", "CLOSED", graph)] == ["rcv RST"]
    with pytest.raises(UnknownState, match=r"unknown state: 'estab' \(must be one of \['CLOSED'"):
        shortest_events("estab", "CLOSED", graph)


def test_no_path():
    table = Table([Transition("A", "go", "B"), Transition("B", "stay", "B")])
    with pytest.raises(nx.NetworkXNoPath, match="no sequence of events leads from B to A"):
        shortest_events("B", "A", table)
    with pytest.raises(UnknownState, match=r"unknown state: 'C' \(must be one of \['A', 'B'\]\)"):
        shortest_events("A", "C", table)


def test_a_via_row_can_be_the_only_way():
    # C -> D exists only when C was entered from B; from A there is no way to D at all.
    table = Table(
        [
            Transition("S", "a", "A"),
            Transition("S", "b", "B"),
            Transition("A", "go", "C"),
            Transition("B", "go", "C"),
            Transition("C", "go", "D", via="B"),
        ]
    )
    assert [t.event for t in shortest_events("S", "D", table)] == ["b", "go", "go"]
    assert [t.event for t in shortest_events("C", "D", table, entered_from="B")] == ["go"]
    with pytest.raises(nx.NetworkXNoPath):
        shortest_events("A", "D", table)
    with pytest.raises(nx.NetworkXNoPath):
        shortest_events("C", "D", table)


# -- reachable --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
def test_every_state_reachable_from_closed_and_back(name):
    table = TABLES[name]
    assert reachable("CLOSED", table) == set(rfc9293.STATES)
    for state in table.states:
        assert "CLOSED" in reachable(state, table), state


@pytest.mark.parametrize("name", TABLES)
def test_every_state_reachable_and_left_by_firing_events(name):
    # The same, with the machine's rules (Note 1 included): explore every configuration.
    table = TABLES[name]
    start = Machine(table)
    seen = {(start.state, start.entered_from)}
    queue = deque([()])
    paths = {}
    while queue:
        events = queue.popleft()
        m = Machine(table)
        m.run(*events)
        paths[m.state, m.entered_from] = events
        for event in m.enabled_events():
            m.fire(event)
            if (m.state, m.entered_from) not in seen:
                seen.add((m.state, m.entered_from))
                queue.append((*events, event))
            m.undo()
    assert {state for state, _ in seen} == set(table.states)
    for (state, before), events in paths.items():
        m = Machine(table)
        m.run(*events)
        back = shortest_events(state, "CLOSED", table, entered_from=before)
        m.run(*back)
        assert m.state == "CLOSED", (state, before)


def test_reachable_without_a_cycle():
    table = Table([Transition("A", "go", "B"), Transition("B", "go", "C")])
    assert reachable("A", table) == {"B", "C"}
    assert reachable("C", table) == set()
    looped = Table([Transition("A", "go", "B"), Transition("B", "stay", "B")])
    assert reachable("B", looped) == {"B"}
    assert reachable("b", looped) == {"B"}


def test_reachable_on_a_graph():
    graph = to_networkx()
    assert reachable("TIME-WAIT", graph) == set(rfc9293.STATES)
    with pytest.raises(UnknownState):
        reachable("nowhere", graph)


# -- side_path --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize(
    ("side", "expected"), [("client", rfc9293.CLIENT_PATH), ("server", rfc9293.SERVER_PATH)]
)
def test_side_path_is_the_textbook_path(name, side, expected):
    table = TABLES[name]
    path = side_path(side, table)
    assert [(t.event, t.target) for t in path] == [
        (table.event_candidates(event)[0], target) for event, target in expected
    ]
    assert path[0].source == "CLOSED"
    assert all(t.side == side for t in path)
    # The usual life of one end is a life a machine can live.
    m = Machine(table)
    m.run(*path)
    assert m.state == "CLOSED"


def test_side_path_default_and_graph():
    assert side_path("client") == side_path("client", to_networkx())


def test_side_path_rejects_an_unknown_side():
    with pytest.raises(
        ValueError, match=r"unknown side: 'either' \(must be one of \['client', 'server'\]\)"
    ):
        side_path("either")


def test_side_path_stops_where_the_marked_arrows_stop():
    table = Table(
        [
            Transition("A", "x", "B", side="client"),
            Transition("B", "y", "C", side="client"),
            Transition("C", "z", "A"),
            Transition("A", "w", "C", side="client"),
        ]
    )
    assert [t.event for t in side_path("client", table)] == ["x", "y"]
    assert side_path("server", table) == []


# -- properties over random tables ------------------------------------------------------------


@st.composite
def tables(draw):
    """Small random tables: a chain from the initial state (so all are reachable) plus extras."""
    n = draw(st.integers(1, 6))
    states = [f"S{i}" for i in range(n)]
    rows = [Transition(states[i], f"e{i}", states[i + 1]) for i in range(n - 1)]
    for number in range(draw(st.integers(0, 8))):
        a, b = draw(st.sampled_from(states)), draw(st.sampled_from(states))
        via = draw(st.one_of(st.none(), st.sampled_from(states)))
        rows.append(Transition(a, f"x{number}", b, via=via))
    if not rows:
        rows.append(Transition("S0", "loop", "S0"))
    return Table(rows, states=states)


@settings(max_examples=100)
@given(tables())
def test_random_tables(table):
    graph = to_networkx(table)
    assert graph.number_of_nodes() == len(table.states)
    assert graph.number_of_edges() == len(table)
    assert reachable(table.initial, table) | {table.initial} == set(table.states)
    for target in table.states:
        try:
            path = shortest_events(table.initial, target, table)
        except nx.NetworkXNoPath:
            # Only a 'via' condition can block what the drawing shows as reachable.
            assert any(t.via for t in table.transitions)
            continue
        m = Machine(table)
        m.run(*path)
        assert m.state == target
        assert (
            len(path)
            == rfc_distances(
                [
                    rfc9293.Arrow(t.source, t.event, t.sent, t.target, via=t.via)
                    for t in table.transitions
                ],
                table.initial,
            )[target]
        )


def test_ids_in_the_graph_are_valid():
    graph = to_networkx(tcp_table(extended=True))
    ids = [d["id"] for _, d in graph.nodes(data=True)] + [
        d["id"] for *_, d in graph.edges(data=True)
    ]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids)
