"""The drawing: a table's DOT source, its Graphviz layout (once), the SVG template, highlighting by
class, themes, and :class:`Diagram` with its exports. Knows the model, never the widget."""

from .diagram import (
    DOT_TIMEOUT,
    FORMATS,
    INSTALL_GRAPHVIZ,
    SUFFIXES,
    THEMES,
    Diagram,
    PackagedLayout,
    clear_caches,
    dot_source,
    highlight,
    layout_key,
    layout_svg,
    packaged_layouts,
    raw_layout,
    run_dot,
    style_sheet,
)
from .heat import BADGE_COLOURS, HEAT_FILLS, heat_level, heat_map, heat_marks

__all__ = [
    "BADGE_COLOURS",
    "DOT_TIMEOUT",
    "FORMATS",
    "HEAT_FILLS",
    "INSTALL_GRAPHVIZ",
    "SUFFIXES",
    "THEMES",
    "Diagram",
    "PackagedLayout",
    "clear_caches",
    "dot_source",
    "heat_level",
    "heat_map",
    "heat_marks",
    "highlight",
    "layout_key",
    "layout_svg",
    "packaged_layouts",
    "raw_layout",
    "run_dot",
    "style_sheet",
]
