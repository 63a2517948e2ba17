"""The table as a networkx ``MultiDiGraph``, and the path questions a student asks of it.

Nodes are the states' display names; each edge is one transition, keyed by its event (plus
``via``, when the same event leaves a state twice), carrying every field of the row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NoPath, UnknownState
from .table import SIDES, Table, Transition, tcp_table

if TYPE_CHECKING:
    import networkx as nx

# networkx is imported by to_networkx only: the path questions walk the table's own rows, so
# `import tcpviz` and the CLI stay fast (networkx alone takes over 100 ms to import).

__all__ = ["edge_key", "reachable", "shortest_events", "side_path", "to_networkx"]


def edge_key(transition: Transition) -> str:
    """The key of a transition's edge: its event, plus ``@via`` for a conditioned row."""
    return f"{transition.event}@{transition.via}" if transition.via else transition.event


def to_networkx(table: Table | None = None) -> nx.MultiDiGraph[str]:
    """Build the graph of ``table`` (the classic TCP figure by default).

    Node attributes: ``description``, ``aliases``, ``id``, ``initial``. Edge attributes: every
    field of the row (``event``, ``sent``, ``action``, ``kind``, ``side``, ``section``, ``via``,
    ``extended``, ``note``), plus ``label`` (RFC notation), ``id`` and ``transition``.
    """
    import networkx as nx

    table = tcp_table() if table is None else table
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph(name=table.name, initial=table.initial)
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


class _Rows:
    """What the path questions need of a table or of a graph made by :func:`to_networkx`."""

    def __init__(self, where: Table | nx.MultiDiGraph[str] | None):
        if isinstance(where, Table) or where is None:
            self.table: Table | None = tcp_table() if where is None else where
            self.rows: tuple[Transition, ...] = self.table.transitions
            self.states: tuple[str, ...] = self.table.states
            self.initial = self.table.initial
        else:
            self.table = None
            self.rows = tuple(d["transition"] for _, _, d in where.edges(data=True))
            self.states = tuple(where.nodes)
            self.initial = where.graph.get("initial") or next(iter(where.nodes))
        self.out: dict[str, list[Transition]] = {state: [] for state in self.states}
        for t in self.rows:
            self.out[t.source].append(t)

    def node(self, name: str) -> str:
        if self.table is not None:
            return self.table.state(name)
        if name not in self.out:
            raise UnknownState(f"unknown state: {name!r} (must be one of {list(self.states)})")
        return name


_no_path_class: type[NoPath] | None = None


def _no_path(message: str) -> NoPath:
    """A :class:`~tcpviz.errors.NoPath` that is also networkx's ``NetworkXNoPath``, so code
    written against networkx keeps catching it; networkx is imported only when one is raised."""
    global _no_path_class
    if _no_path_class is None:
        import networkx as nx

        _no_path_class = type(
            "NoPath", (NoPath, nx.NetworkXNoPath), {"__module__": NoPath.__module__}
        )
    return _no_path_class(message)


def shortest_events(
    source: str,
    target: str,
    where: Table | nx.MultiDiGraph[str] | None = None,
    *,
    entered_from: str | None = None,
) -> list[Transition]:
    """The fewest transitions leading from ``source`` to ``target`` (``[]`` if they are equal).

    The path can really be fired: ``via`` conditions count, so a machine in ``source`` that
    entered it from ``entered_from`` (``None``: it started there) accepts the events in order.
    Of two rows linking the same states (CLOSE and ABORT) the first in table order is taken.
    Raises :class:`~tcpviz.errors.NoPath` (also a ``networkx.NetworkXNoPath``) if no sequence
    of events reaches ``target``.

    >>> [t.event for t in shortest_events("CLOSED", "ESTABLISHED")]
    ['active OPEN', 'rcv SYN,ACK']
    """
    rows = _Rows(where)
    source, target = rows.node(source), rows.node(target)
    if entered_from is not None:
        entered_from = rows.node(entered_from)
    if source == target:
        return []
    # Breadth-first over (state, state it was entered from): Note 1 of RFC 9293 Figure 5
    # makes what can happen in SYN-RECEIVED depend on the state before it. Bounded: each of
    # the at most n * (n + 1) pairs is queued once.
    start = (source, entered_from)
    came_by: dict[tuple[str, str | None], tuple[Transition, tuple[str, str | None]]] = {}
    frontier = [start]
    while frontier:
        following: list[tuple[str, str | None]] = []
        for here in frontier:
            for step in rows.out[here[0]]:
                if step.via is not None and step.via != here[1]:
                    continue
                there: tuple[str, str | None] = (step.target, here[0])
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
    raise _no_path(f"no sequence of events leads from {source} to {target}")


def reachable(source: str, where: Table | nx.MultiDiGraph[str] | None = None) -> set[str]:
    """Every state that some sequence of events leads to from ``source`` (not ``source`` itself,
    unless a cycle returns there)."""
    rows = _Rows(where)
    source = rows.node(source)
    found: set[str] = set()
    frontier = [source]
    while frontier:  # bounded: each state is added to `found` once
        following = []
        for here in frontier:
            for t in rows.out[here]:
                if t.target not in found:
                    found.add(t.target)
                    following.append(t.target)
        frontier = following
    return found


def side_path(side: str, where: Table | nx.MultiDiGraph[str] | None = None) -> list[Transition]:
    """The usual life of one end: the longest path of transitions marked ``side`` (``'client'``
    or ``'server'``) from the initial state, back to it or to where the marked arrows stop.

    >>> [t.target for t in side_path("server")]
    ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']
    """
    if side not in SIDES[:2]:
        raise ValueError(f"unknown side: {side!r} (must be one of {list(SIDES[:2])})")
    rows = _Rows(where)
    start = rows.initial
    marked = [t for t in rows.rows if t.side == side and not t.extended]
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
