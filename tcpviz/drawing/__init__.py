"""The drawing: a table's DOT source, its Graphviz layout (once), the SVG template, highlighting by
class, themes, and :class:`Diagram` with its exports. Knows the model, never the widget."""

from .diagram import (
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
from .heat import HEAT_FILLS, heat_level, heat_map

__all__ = [
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
    "highlight",
    "layout_key",
    "layout_svg",
    "packaged_layouts",
    "raw_layout",
    "run_dot",
    "style_sheet",
]
