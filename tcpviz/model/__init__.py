"""The model: states, the transition table, the machine that steps through it, the graph, table files.

Everything else in tcpviz is derived from a :class:`Table`; nothing here knows it is drawn.
"""

from typing import TYPE_CHECKING

from .graph import edge_key, reachable, shortest_events, side_path, to_networkx
from .machine import Change, Machine, Observer
from .states import ALIASES, DESCRIPTIONS, PROC_NET_TCP_CODES, STATES, canonical_state, state_key
from .table import (
    FIGURE_5,
    KINDS,
    MAX_LABEL_LENGTH,
    SECTION_3_10,
    SIDES,
    TCP_EVENTS,
    Event,
    Table,
    Transition,
    event_key,
    tcp_table,
    text_problem,
)

if TYPE_CHECKING:
    from .tablefile import FORMATS as TABLE_FORMATS
    from .tablefile import (
        MAX_TABLE_BYTES,
        ROW_KEYS,
        dump_table,
        dumps_table,
        load_table,
        parse_table,
    )

# Table files (TOML, JSON, CSV parsers) are loaded on first use: most programs never read one.
_TABLEFILE = {
    "MAX_TABLE_BYTES",
    "ROW_KEYS",
    "TABLE_FORMATS",
    "dump_table",
    "dumps_table",
    "load_table",
    "parse_table",
}


if not TYPE_CHECKING:  # a type checker sees the imports above, and a misspelt name is an error

    def __getattr__(name: str) -> object:
        if name in _TABLEFILE:
            from . import tablefile

            return getattr(tablefile, "FORMATS" if name == "TABLE_FORMATS" else name)
        raise AttributeError(f"module 'tcpviz.model' has no attribute {name!r}")


__all__ = [
    "ALIASES",
    "DESCRIPTIONS",
    "FIGURE_5",
    "KINDS",
    "MAX_LABEL_LENGTH",
    "MAX_TABLE_BYTES",
    "PROC_NET_TCP_CODES",
    "ROW_KEYS",
    "SECTION_3_10",
    "SIDES",
    "STATES",
    "TABLE_FORMATS",
    "TCP_EVENTS",
    "Change",
    "Event",
    "Machine",
    "Observer",
    "Table",
    "Transition",
    "canonical_state",
    "dump_table",
    "dumps_table",
    "edge_key",
    "event_key",
    "load_table",
    "parse_table",
    "reachable",
    "shortest_events",
    "side_path",
    "state_key",
    "tcp_table",
    "text_problem",
    "to_networkx",
]
