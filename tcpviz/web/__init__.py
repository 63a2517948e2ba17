"""The web front: the data the page looks up, the notebook widget, the standalone page, static/.

Python decides, the page looks up (DESIGN.md, decision 7). The widget needs anywidget, so it is
imported on first use: the standalone page works without it.
"""

from typing import TYPE_CHECKING

from .connection_page import connection_html, save_connection_html
from .html import DEFAULT_TITLE, HtmlError, json_for_script, save_html, standalone_html
from .payload import (
    HISTORY_WINDOW,
    QUIZ_SEEDS,
    IdCodec,
    MachineTracker,
    button_label,
    event_lookup,
    history_item,
    machine_payload,
    moves_payload,
    narration,
    quizzes_payload,
    refusal,
    scenarios_payload,
    table_payload,
)
from .replay import ReplayView, replay_ladder, replay_trace, window_scales

if TYPE_CHECKING:
    from .connection_widget import ConnectionView, ConnectionWidget, record_scenario
    from .live_widget import LiveSocketsWidget, SocketsDiagram, live_svg
    from .widget import MODES, SPEEDS, StateMachineWidget, TCPWidget, WidgetError, show

_WIDGET_NAMES = ("MODES", "SPEEDS", "StateMachineWidget", "TCPWidget", "WidgetError", "show")
_CONNECTION_NAMES = ("ConnectionView", "ConnectionWidget", "record_scenario")


_LIVE_NAMES = ("LiveSocketsWidget", "SocketsDiagram", "live_svg")


if not TYPE_CHECKING:  # a type checker sees the imports above, and a misspelt name is an error

    def __getattr__(name: str) -> object:
        if name in _LIVE_NAMES:
            from . import live_widget

            return getattr(live_widget, name)
        if name in _WIDGET_NAMES:
            from . import widget

            return getattr(widget, name)
        if name in _CONNECTION_NAMES:
            from . import connection_widget

            return getattr(connection_widget, name)
        raise AttributeError(f"module 'tcpviz.web' has no attribute {name!r}")


__all__ = [
    "DEFAULT_TITLE",
    "HISTORY_WINDOW",
    "MODES",
    "QUIZ_SEEDS",
    "SPEEDS",
    "ConnectionView",
    "ConnectionWidget",
    "HtmlError",
    "IdCodec",
    "LiveSocketsWidget",
    "MachineTracker",
    "ReplayView",
    "SocketsDiagram",
    "StateMachineWidget",
    "TCPWidget",
    "WidgetError",
    "button_label",
    "connection_html",
    "event_lookup",
    "history_item",
    "json_for_script",
    "live_svg",
    "machine_payload",
    "moves_payload",
    "narration",
    "quizzes_payload",
    "record_scenario",
    "refusal",
    "replay_ladder",
    "replay_trace",
    "save_connection_html",
    "save_html",
    "scenarios_payload",
    "show",
    "standalone_html",
    "table_payload",
    "window_scales",
]
