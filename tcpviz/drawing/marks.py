"""What a diagram highlights (current state, transitions met), checked against its table.

States may be given by any alias, transitions as :class:`~tcpviz.model.table.Transition` or by edge
id; a mark that is not in the table raises :class:`~tcpviz.errors.RenderError`. A table left
out means the classic TCP figure. Private to the drawing modules, which all share these checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import RenderError
from ..model.table import Table, Transition, tcp_table


@dataclass(frozen=True)
class _Marks:
    """Validated highlight: the current state, the last transition, what was met before."""

    state: str | None = None
    last: Transition | None = None
    visited: tuple[str, ...] = ()
    taken: tuple[Transition, ...] = ()


def _state_name(table: Table, name: str) -> str:
    return name if name in table.state_ids else table.state(name)


def _transition(table: Table, value: Transition | str) -> Transition:
    """A transition of ``table``, given as a :class:`Transition` or its edge id."""
    if isinstance(value, Transition):
        if value in table.edge_ids:
            return value
        raise RenderError(
            f"transition {value.label!r} from {value.source} to {value.target} is not in {table!r}"
        )
    if isinstance(value, str):
        for transition, edge_id in table.edge_ids.items():
            if edge_id == value:
                return transition
        raise RenderError(
            f"unknown transition id: {value!r} (must be one of {sorted(table.edge_ids.values())})"
        )
    raise RenderError(
        f"a transition must be a Transition or an edge id, not {type(value).__name__}"
    )


def _marks(
    table: Table,
    state: str | None,
    last: Transition | str | None,
    visited: Iterable[str],
    taken: Iterable[Transition | str],
) -> _Marks:
    if isinstance(visited, str):  # a lone name would otherwise be split into letters
        visited = (visited,)
    return _Marks(
        state=None if state is None else _state_name(table, state),
        last=None if last is None else _transition(table, last),
        visited=tuple(dict.fromkeys(_state_name(table, s) for s in visited)),
        taken=tuple(dict.fromkeys(_transition(table, t) for t in taken)),
    )


def _table(table: Table | None) -> Table:
    if table is None:
        return tcp_table()
    if not isinstance(table, Table):
        raise TypeError(f"expected a tcpviz Table, not {type(table).__name__}")
    return table
