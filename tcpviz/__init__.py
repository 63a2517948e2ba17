"""tcpviz: the TCP connection state machine of RFC 9293, as data, drawn, and stepped through.

>>> from tcpviz import Machine
>>> m = Machine()
>>> m.fire("passive open").target
'LISTEN'
"""

from typing import TYPE_CHECKING

from . import errors
from ._lazy import lazy_getattr
from ._version import __version__ as __version__
from .errors import *  # noqa: F403  (every error is part of the interface)
from .model.graph import reachable, shortest_events, side_path, to_networkx
from .model.machine import Change, Machine
from .model.states import DESCRIPTIONS, STATES, canonical_state
from .model.table import Event, Table, Transition, tcp_table

if TYPE_CHECKING:  # what an editor and a type checker see; at run time these load on first use
    from .drawing import Diagram, highlight, layout_svg
    from .model.tablefile import dump_table, load_table
    from .teach.quiz import Quiz
    from .teach.scenarios import SCENARIOS, get_scenario
    from .web.html import save_html, standalone_html
    from .web.widget import TCPWidget, show

# Drawing, widgets and files are imported on first use, so that `import tcpviz` (and the CLI)
# stays fast and the model works where ipywidgets or Graphviz are absent.
_LAZY = {
    "Diagram": "drawing",
    "highlight": "drawing",
    "layout_svg": "drawing",
    "TCPWidget": "web.widget",
    "show": "web.widget",
    "save_html": "web.html",
    "standalone_html": "web.html",
    "load_table": "model.tablefile",
    "dump_table": "model.tablefile",
    "SCENARIOS": "teach.scenarios",
    "get_scenario": "teach.scenarios",
    "Quiz": "teach.quiz",
}


if not TYPE_CHECKING:  # a type checker sees the imports above, and a misspelt name is an error
    __getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DESCRIPTIONS",
    "SCENARIOS",
    "STATES",
    "Change",
    "Diagram",
    "Event",
    "Machine",
    "Quiz",
    "TCPWidget",
    "Table",
    "Transition",
    "canonical_state",
    "dump_table",
    "get_scenario",
    "highlight",
    "layout_svg",
    "load_table",
    "reachable",
    "save_html",
    "shortest_events",
    "show",
    "side_path",
    "standalone_html",
    "tcp_table",
    "to_networkx",
]
__all__ += errors.__all__
