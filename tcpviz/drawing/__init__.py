"""The drawing: a table's DOT source, its Graphviz layout (once), the SVG template, highlighting by
class, themes, and :class:`Diagram` with its exports; the ladder of a connection
(:class:`Ladder`). Knows the model and the simulator's records, never the widget."""

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr
from .diagram import (
    DOT_TIMEOUT,
    FORMATS,
    INSTALL_GRAPHVIZ,
    SUFFIXES,
    THEMES,
    Diagram,
    PackagedLayout,
    check_theme,
    clear_caches,
    dot_source,
    highlight,
    layout_key,
    layout_source,
    layout_svg,
    packaged_layouts,
    raw_layout,
    run_dot,
    style_sheet,
)
from .heat import BADGE_COLOURS, HEAT_FILLS, heat_level, heat_map, heat_marks
from .layout import accessible_layout

if TYPE_CHECKING:
    from .ladder import (
        LADDER_FORMATS,
        LADDER_SUFFIXES,
        TIMES,
        Ladder,
        LadderSegment,
        LadderTrace,
        StateChange,
        TimerSpan,
        UserCall,
        layout_ladder,
    )

# Loaded on first use: they bring in the connection simulator, which a diagram does not need
# (and `tcpviz export` should not pay for).
_LAZY = {
    "LADDER_FORMATS": "ladder",
    "LADDER_SUFFIXES": "ladder",
    "TIMES": "ladder",
    "Ladder": "ladder",
    "LadderSegment": "ladder",
    "LadderTrace": "ladder",
    "StateChange": "ladder",
    "TimerSpan": "ladder",
    "UserCall": "ladder",
    "layout_ladder": "ladder",
}


if not TYPE_CHECKING:  # a type checker sees the imports above, and a misspelt name is an error
    __getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "BADGE_COLOURS",
    "DOT_TIMEOUT",
    "FORMATS",
    "HEAT_FILLS",
    "INSTALL_GRAPHVIZ",
    "LADDER_FORMATS",
    "LADDER_SUFFIXES",
    "SUFFIXES",
    "THEMES",
    "TIMES",
    "Diagram",
    "Ladder",
    "LadderSegment",
    "LadderTrace",
    "PackagedLayout",
    "StateChange",
    "TimerSpan",
    "UserCall",
    "accessible_layout",
    "check_theme",
    "clear_caches",
    "dot_source",
    "heat_level",
    "heat_map",
    "heat_marks",
    "highlight",
    "layout_key",
    "layout_ladder",
    "layout_source",
    "layout_svg",
    "packaged_layouts",
    "raw_layout",
    "run_dot",
    "style_sheet",
]
