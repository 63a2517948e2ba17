"""The table as a networkx ``MultiDiGraph``, and the path questions a student asks of it.

Nodes are the states' display names; each edge is one transition, keyed by its event (plus
``via``, when the same event leaves a state twice), carrying every field of the row.
"""

from __future__ import annotations

import networkx as nx

from ..errors import UnknownState
from .table import SIDES, Table, Transition, tcp_table

__all__ = ["edge_key", "reachable", "shortest_events", "side_path", "to_networkx"]


def edge_key(transition: Transition) -> str:
    """The key of a transition's edge: its event, plus ``@via`` for a conditioned row."""
    return f"{transition.event}@{transition.via}" if transition.via else transition.event


def to_networkx(table: Table | None = None) -> nx.MultiDiGraph:
    """Build the graph of ``table`` (the classic TCP figure by default).

    Node attributes: ``description``, ``aliases``, ``id``, ``initial``. Edge attributes: every
    field of the row (``event``, ``sent``, ``action``, ``kind``, ``side``, ``section``, ``via``,
    ``extended``, ``note``), plus ``label`` (RFC notation), ``id`` and ``transition``.
    """
    table = tcp_table() if table is None else table
    graph = nx.MultiDiGraph(name=table.name, initial=table.initial)
    for state in table.states:
        graph.add_node(
            state,
            description=table.descriptions[state],
            aliases=table.state_aliases[state],
            id=table.state_ids[state],
            initial=state == table.initial,
        )
    for t in table.transitions:
        attributes = t.as_dict()
        del attributes["source"], attributes["target"]
        graph.add_edge(
            t.source,
            t.target,
            key=edge_key(t),
            label=t.label,
            id=table.edge_ids[t],
            transition=t,
            **attributes,
        )
    return graph


def _graph_and_table(where: Table | nx.MultiDiGraph | None) -> tuple[nx.MultiDiGraph, Table | None]:
    if isinstance(where, nx.MultiDiGraph):
        return where, None
    table = tcp_table() if where is None else where
    return to_networkx(table), table


def _node(graph: nx.MultiDiGraph, table: Table | None, name: str) -> str:
    if table is not None:
        return table.state(name)
    if name not in graph:
        raise UnknownState(f"unknown state: {name!r} (must be one of {list(graph.nodes)})")
    return name


def shortest_events(
    source: str,
    target: str,
    where: Table | nx.MultiDiGraph | None = None,
    *,
    entered_from: str | None = None,
) -> list[Transition]:
    """The fewest transitions leading from ``source`` to ``target`` (``[]`` if they are equal).

    The path can really be fired: ``via`` conditions count, so a machine in ``source`` that
    entered it from ``entered_from`` (``None``: it started there) accepts the events in order.
    Of two rows linking the same states (CLOSE and ABORT) the first in table order is taken.
    Raises :class:`networkx.NetworkXNoPath` if no sequence of events reaches ``target``.

    >>> [t.event for t in shortest_events("CLOSED", "ESTABLISHED")]
    ['active OPEN', 'rcv SYN,ACK']
    """
    graph, table = _graph_and_table(where)
    source, target = _node(graph, table, source), _node(graph, table, target)
    if entered_from is not None:
        entered_from = _node(graph, table, entered_from)
    if source == target:
        return []
    # Breadth-first over (state, state it was entered from): Note 1 of RFC 9293 Figure 5
    # makes what can happen in SYN-RECEIVED depend on the state before it. Bounded: each of
    # the at most n * (n + 1) pairs is queued once.
    start = (source, entered_from)
    came_by: dict[tuple[str, str | None], tuple[Transition, tuple[str, str | None]]] = {}
    frontier = [start]
    while frontier:
        following = []
        for here in frontier:
            for _, _, data in graph.out_edges(here[0], data=True):
                if data["via"] is not None and data["via"] != here[1]:
                    continue
                step: Transition = data["transition"]
                there = (step.target, here[0])
                if there == start or there in came_by:
                    continue
                came_by[there] = (step, here)
                if step.target == target:
                    path = []
                    while there != start:
                        taken, there = came_by[there]
                        path.append(taken)
                    return path[::-1]
                following.append(there)
        frontier = following
    raise nx.NetworkXNoPath(f"no sequence of events leads from {source} to {target}")


def reachable(source: str, where: Table | nx.MultiDiGraph | None = None) -> set[str]:
    """Every state that some sequence of events leads to from ``source`` (not ``source`` itself,
    unless a cycle returns there)."""
    graph, table = _graph_and_table(where)
    source = _node(graph, table, source)
    found = set(nx.descendants(graph, source))
    if any(graph.has_edge(state, source) for state in found | {source}):
        found.add(source)  # a cycle leads back here
    return found


def side_path(side: str, where: Table | nx.MultiDiGraph | None = None) -> list[Transition]:
    """The usual life of one end: the longest path of transitions marked ``side`` (``'client'``
    or ``'server'``) from the initial state, back to it or to where the marked arrows stop.

    >>> [t.target for t in side_path("server")]
    ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']
    """
    if side not in SIDES[:2]:
        raise ValueError(f"unknown side: {side!r} (must be one of {list(SIDES[:2])})")
    graph, _ = _graph_and_table(where)
    start = graph.graph.get("initial") or next(iter(graph.nodes))
    marked = [
        d["transition"]
        for _, _, d in graph.edges(data=True)
        if d["side"] == side and not d["extended"]
    ]
    best: list[Transition] = []
    # Depth-first over simple paths; each path visits a state at most once, so the search is
    # bounded by the (small) number of marked arrows.
    stack: list[list[Transition]] = [[]]
    while stack:
        path = stack.pop()
        here = path[-1].target if path else start
        seen = {start, *(t.target for t in path)}
        steps = [
            t for t in marked if t.source == here and (t.target not in seen or t.target == start)
        ]
        if (not steps or (path and here == start)) and len(path) > len(best):
            best = path
        if path and here == start:
            continue
        stack.extend([*path, t] for t in steps)
    return best
