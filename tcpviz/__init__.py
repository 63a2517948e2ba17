"""tcpviz: the TCP connection state machine of RFC 9293, as data, drawn, and stepped through.

>>> from tcpviz import Machine
>>> m = Machine()
>>> m.fire("passive open").target
'LISTEN'
"""

from .errors import (
    GraphvizNotFound,
    InvalidTransition,
    NothingToUndo,
    TableError,
    TcpvizError,
    UnknownEvent,
    UnknownState,
)
from .graph import reachable, shortest_events, side_path, to_networkx
from .machine import Change, Machine
from .states import DESCRIPTIONS, STATES, canonical_state
from .table import Event, Table, Transition, tcp_table

__version__ = "0.1.0"

__all__ = [
    "DESCRIPTIONS",
    "STATES",
    "Change",
    "Event",
    "GraphvizNotFound",
    "InvalidTransition",
    "Machine",
    "NothingToUndo",
    "Table",
    "TableError",
    "TcpvizError",
    "Transition",
    "UnknownEvent",
    "UnknownState",
    "canonical_state",
    "reachable",
    "shortest_events",
    "side_path",
    "tcp_table",
    "to_networkx",
]
