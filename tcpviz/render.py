"""Draw a transition table: DOT source, a laid-out SVG, highlighting by class, themes, export.

Graphviz lays a table out once; every step after that is a class change on the SVG it made
(``current`` on a state, ``last`` on the transition just taken, ``visited`` on states met
before, ``taken`` on transitions taken before), never another Graphviz run. The built-in TCP
diagrams ship laid out in ``tcpviz/layouts/``, keyed by a hash of their DOT source, so drawing
them needs no Graphviz at all; ``python -m tcpviz.diagrams`` regenerates them.

Colours live in one ``<style>`` inside every SVG: each theme's rules are scoped under
``svg.tcpviz-diagram.tcpviz-theme-<name>``, so diagrams with different themes can share a page.
The palette is Okabe and Ito's, safe for colour-blind readers, and no meaning rests on colour
alone: the current state also has a thick border and bold name, the last transition a thick
line and bold label, rows beyond RFC 9293 Figure 5 are dashed.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
import shutil
import subprocess
import threading
import weakref
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from graphviz.quoting import escape as _dot_escape
from graphviz.quoting import quote as _dot_quote

from .errors import GraphvizNotFound, TcpvizError, UnknownState
from .files import write_atomic
from .states import canonical_state
from .table import Table, Transition, tcp_table

__all__ = [
    "FORMATS",
    "INSTALL_GRAPHVIZ",
    "SUFFIXES",
    "THEMES",
    "Diagram",
    "PackagedLayout",
    "RenderError",
    "clear_caches",
    "dot_source",
    "highlight",
    "layout_key",
    "layout_svg",
    "packaged_layouts",
    "raw_layout",
    "run_dot",
    "style_sheet",
]

#: Colour themes. ``auto`` follows JupyterLab's light or dark theme (and the system's
#: colour scheme outside Jupyter); ``print`` is black and white.
THEMES: tuple[str, ...] = ("light", "dark", "print", "auto")
#: What :meth:`Diagram.pipe` and :meth:`Diagram.save` produce.
FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot")
#: File suffixes :meth:`Diagram.save` understands, and the format each one means.
SUFFIXES: dict[str, str] = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": "dot",
    ".gv": "dot",
}

INSTALL_GRAPHVIZ = """\
Graphviz's `dot` program was not found on PATH. tcpviz needs it to lay out a custom table
and to export PNG or PDF. Install Graphviz (the pip package `graphviz` is only the Python
binding and does not include `dot`):
  Debian/Ubuntu:  sudo apt install graphviz      (as root: apt-get install graphviz)
  Fedora:         sudo dnf install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  Windows:        winget install graphviz        (then open a new terminal)
The built-in TCP diagrams (tcp_table() and tcp_table(extended=True)) ship laid out:
drawing them, as SVG or DOT, works without Graphviz."""

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_FONT = "Helvetica,Arial,sans-serif"
_HIGHLIGHT_CLASSES = frozenset({"current", "last", "visited", "taken"})


class RenderError(TcpvizError, ValueError):
    """A bad theme, format or transition for a diagram, or a Graphviz run that failed."""


# -- themes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Palette:
    """The colours and line widths of one theme; CSS, DOT and baked SVG all derive from it."""

    background: str
    text: str
    node_fill: str
    node_line: str
    edge_line: str
    muted: str  # rows beyond Figure 5: their lines and labels
    visited_fill: str
    visited_text: str
    current_fill: str
    current_text: str
    current_line: str
    taken_line: str
    last_line: str
    last_text: str
    focus: str
    node_width: str = "1.3"
    current_width: str = "3"
    edge_width: str = "1"
    taken_width: str = "2"
    last_width: str = "3"


# Okabe-Ito: orange #E69F00 and vermillion #D55E00 mean "now" (the current state and the step
# into it), blue #0072B2 / sky blue #56B4E9 mean "before" (visited states, earlier steps).
# Orange against blue stays distinct for every common colour-vision deficiency.
_PALETTES: dict[str, _Palette] = {
    "light": _Palette(
        background="#ffffff",
        text="#1a1a1a",
        node_fill="#ffffff",
        node_line="#1a1a1a",
        edge_line="#3c3c3c",
        muted="#6b6b6b",
        visited_fill="#d3e8f6",
        visited_text="#000000",
        current_fill="#e69f00",
        current_text="#000000",
        current_line="#000000",
        taken_line="#0072b2",
        last_line="#d55e00",
        last_text="#a63f00",
        focus="#0072b2",
    ),
    "dark": _Palette(
        background="#1e1e1e",
        text="#e8e8e8",
        node_fill="#2b2b2b",
        node_line="#e8e8e8",
        edge_line="#c4c4c4",
        muted="#9e9e9e",
        visited_fill="#1c4a68",
        visited_text="#ffffff",
        current_fill="#e69f00",
        current_text="#000000",
        current_line="#ffffff",
        taken_line="#56b4e9",
        last_line="#e69f00",
        last_text="#f0b73c",
        focus="#56b4e9",
    ),
    # Black and white: line weight, fill and dashes carry the meaning.
    "print": _Palette(
        background="#ffffff",
        text="#000000",
        node_fill="#ffffff",
        node_line="#000000",
        edge_line="#000000",
        muted="#555555",
        visited_fill="#d9d9d9",
        visited_text="#000000",
        current_fill="#000000",
        current_text="#ffffff",
        current_line="#000000",
        taken_line="#000000",
        last_line="#000000",
        last_text="#000000",
        focus="#000000",
        taken_width="2.2",
        last_width="4",
    ),
}

# "auto" draws with CSS custom properties: JupyterLab's variables when the page defines them,
# then VS Code's, then fixed light or dark colours chosen by the page's or system's scheme.
_AUTO_SOURCES: dict[str, tuple[str, ...]] = {
    "background": ("--jp-layout-color0", "--vscode-editor-background"),
    "text": ("--jp-content-font-color1", "--vscode-editor-foreground"),
    "node_fill": ("--jp-layout-color1", "--vscode-editor-background"),
    "node_line": ("--jp-content-font-color1", "--vscode-editor-foreground"),
    "edge_line": ("--jp-content-font-color1", "--vscode-editor-foreground"),
    "muted": ("--jp-content-font-color2", "--vscode-descriptionForeground"),
    "focus": ("--jp-brand-color1", "--vscode-focusBorder"),
}
_COLOUR_FIELDS = tuple(
    name for name in _Palette.__dataclass_fields__ if not name.endswith("_width")
)
_AUTO = _Palette(**{name: f"var(--tcpviz-{name.replace('_', '-')})" for name in _COLOUR_FIELDS})

# What each kind of element looks like, as (element role, flag) -> SVG presentation properties.
# The flags overlay the base style in this order, so a later flag wins over an earlier one;
# the CSS rules are emitted in the same order with the same specificity.
_NODE_FLAGS = ("visited", "current")
_EDGE_FLAGS = ("extended", "taken", "last")
_ROLES: dict[str, tuple[str, ...]] = {
    "node-shape": ("path", "polygon", "ellipse"),
    "node-text": ("text",),
    "edge-line": ("path",),
    "edge-head": ("polygon",),  # arrowheads, and the rule between event and action
    "edge-text": ("text",),
}


def _styles(p: _Palette) -> dict[tuple[str, str], dict[str, str]]:
    return {
        ("node-shape", ""): {
            "fill": p.node_fill,
            "stroke": p.node_line,
            "stroke-width": p.node_width,
        },
        ("node-text", ""): {"fill": p.text},
        ("edge-line", ""): {"stroke": p.edge_line, "stroke-width": p.edge_width},
        ("edge-head", ""): {"fill": p.edge_line, "stroke": p.edge_line},
        ("edge-text", ""): {"fill": p.text},
        ("node-shape", "visited"): {"fill": p.visited_fill},
        ("node-text", "visited"): {"fill": p.visited_text},
        ("node-shape", "current"): {
            "fill": p.current_fill,
            "stroke": p.current_line,
            "stroke-width": p.current_width,
        },
        ("node-text", "current"): {"fill": p.current_text, "font-weight": "bold"},
        ("edge-line", "extended"): {"stroke": p.muted, "stroke-dasharray": "5,3"},
        ("edge-head", "extended"): {"fill": p.muted, "stroke": p.muted},
        ("edge-text", "extended"): {"fill": p.muted},
        ("edge-line", "taken"): {"stroke": p.taken_line, "stroke-width": p.taken_width},
        ("edge-head", "taken"): {"fill": p.taken_line, "stroke": p.taken_line},
        ("edge-text", "taken"): {"fill": p.text},
        ("edge-line", "last"): {"stroke": p.last_line, "stroke-width": p.last_width},
        ("edge-head", "last"): {"fill": p.last_line, "stroke": p.last_line},
        ("edge-text", "last"): {"fill": p.last_text, "font-weight": "bold"},
    }


def _rules(scope: str, palette: _Palette) -> list[str]:
    rules = [f"{scope} polygon.tcpviz-background {{ fill: {palette.background}; }}"]
    for (role, flag), properties in _styles(palette).items():
        kind = role.split("-")[0]
        group = f"g.{kind}.{flag}" if flag else f"g.{kind}"
        selectors = ", ".join(f"{scope} {group} {tag}" for tag in _ROLES[role])
        body = " ".join(f"{name}: {value};" for name, value in properties.items())
        rules.append(f"{selectors} {{ {body} }}")
    rules.append(f"{scope} g.node:focus-visible {{ outline-color: {palette.focus}; }}")
    return rules


def _auto_variables(palette: _Palette) -> str:
    declarations = []
    for name in _COLOUR_FIELDS:
        value = getattr(palette, name)
        for variable in reversed(_AUTO_SOURCES.get(name, ())):
            value = f"var({variable}, {value})"
        declarations.append(f"--tcpviz-{name.replace('_', '-')}: {value};")
    return " ".join(declarations)


def _build_style_sheet() -> str:
    lines = [
        "/* tcpviz: one rule set per theme, each scoped to svg.tcpviz-diagram.tcpviz-theme-NAME */"
    ]
    for name, palette in _PALETTES.items():
        lines.extend(_rules(f"svg.tcpviz-diagram.tcpviz-theme-{name}", palette))
    auto = "svg.tcpviz-diagram.tcpviz-theme-auto"
    light, dark = _auto_variables(_PALETTES["light"]), _auto_variables(_PALETTES["dark"])
    lines.append(f"{auto} {{ {light} }}")
    lines.append(f"@media (prefers-color-scheme: dark) {{ {auto} {{ {dark} }} }}")
    # A page that says which theme it shows overrides the system's scheme: JupyterLab and
    # Notebook 7 mark <body>, VS Code gives <body> a class, Colab marks <html>.
    dark_pages = ('body[data-jp-theme-light="false"]', "body.vscode-dark", 'html[theme="dark"]')
    light_pages = ('body[data-jp-theme-light="true"]', "body.vscode-light", 'html[theme="light"]')
    lines.append(f"{', '.join(f'{page} {auto}' for page in dark_pages)} {{ {dark} }}")
    lines.append(f"{', '.join(f'{page} {auto}' for page in light_pages)} {{ {light} }}")
    lines.extend(_rules(auto, _AUTO))
    # Theme-independent: a hover hint and a focus ring for keyboard users (colour per theme).
    lines.extend(
        [
            "svg.tcpviz-diagram g.node:hover path, svg.tcpviz-diagram g.node:hover polygon, "
            "svg.tcpviz-diagram g.node:hover ellipse { stroke-width: 2.5; }",
            "svg.tcpviz-diagram g.edge:hover path { stroke-width: 2; }",
            "svg.tcpviz-diagram g.node:focus { outline: none; }",
            "svg.tcpviz-diagram g.node:focus-visible { outline: 3px solid #0072b2; "
            "outline-offset: 3px; }",
        ]
    )
    return "\n".join(lines)


_STYLE_SHEET = _build_style_sheet()


def style_sheet() -> str:
    """The CSS every tcpviz SVG embeds: all themes, highlight classes, hover and focus rules."""
    return _STYLE_SHEET


def _check_theme(theme: str) -> str:
    if theme not in THEMES:
        raise RenderError(f"unknown theme: {theme!r} (must be one of {list(THEMES)})")
    return theme


def _check_format(format: str) -> str:
    name = str(format).lower().lstrip(".")
    if name not in FORMATS:
        raise RenderError(f"unknown format: {format!r} (must be one of {sorted(FORMATS)})")
    return name


# -- what to highlight --------------------------------------------------------------------------


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


# -- DOT ----------------------------------------------------------------------------------------

# Where each TCP state sits in the textbook figure (RFC 9293 Figure 5): its row, top to bottom,
# and its column. The passive (server) side runs down the left, the active (client) side
# down the right, as in the RFC; the closing states follow the same split one level lower.
_COLUMNS = ("left", "middle", "right")
_FIGURE: dict[str, tuple[int, str]] = {
    "CLOSED": (0, "middle"),
    "LISTEN": (1, "middle"),
    "SYN-RECEIVED": (2, "left"),
    "SYN-SENT": (2, "right"),
    "ESTABLISHED": (3, "middle"),
    "FIN-WAIT-1": (4, "left"),
    "CLOSE-WAIT": (4, "right"),
    "FIN-WAIT-2": (5, "left"),
    "CLOSING": (5, "middle"),
    "LAST-ACK": (5, "right"),
    "TIME-WAIT": (6, "middle"),
}


def _figure_places(table: Table) -> dict[str, tuple[int, str]]:
    """The textbook place of every state of ``table`` that is a TCP state (by any alias)."""
    places = {}
    for state in table.states:
        try:
            places[state] = _FIGURE[canonical_state(state)]
        except UnknownState:
            continue
    return places


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _printable(text: str) -> str:
    """``text`` without characters XML cannot carry (control characters, lone surrogates)."""
    return _CONTROL.sub("\ufffd", text)


def _html_text(text: str) -> str:
    """``text`` for an HTML-like label, shown literally: markup characters become entities,
    and backslashes are doubled, since Graphviz expands ``\\N``, ``\\G``... there too."""
    # graphviz.escape, which doubles backslashes, as a plain str.
    escaped = html.escape(_printable(text).replace("\\", "\\\\"), quote=True)
    return escaped.replace("\n", "<BR/>")


def _edge_label(transition: Transition) -> str:
    """The RFC's notation as an HTML-like label: the event, a rule, the action under it.

    A row beyond Figure 5 shows its event only ("rcv RST", "ABORT", "user timeout"): two dozen
    of them run into CLOSED, nearly all saying "delete TCB", and the full label would bury the
    figure. The full "event / action" stays in the arrow's ``<title>`` (its tooltip), its
    ``aria-label`` and the table.
    """
    rows = [f"<TR><TD>{_html_text(transition.event)}</TD></TR>"]
    if transition.effect and not transition.extended:
        rows += ["<HR/>", f"<TR><TD>{_html_text(transition.effect)}</TD></TR>"]
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _quoted(text: str) -> str:
    """A DOT string literal showing ``text`` as is (backslashes and quotes escaped)."""
    return _dot_quote(_dot_escape(_printable(text)))


def _attributes(pairs: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in pairs.items())


def _dot_header(palette: _Palette, extended: bool) -> tuple[str, ...]:
    """The graph, node and edge defaults of every DOT source drawn in ``palette``."""
    return (
        "digraph tcpviz {",
        "  graph ["
        + _attributes(
            {
                "rankdir": "TB",
                "newrank": "true",
                # Many extended rows run up to CLOSED: their lines sit closer side by side,
                # and taller rows keep them straight; the figure comes out about 16:9.
                "nodesep": "0.2" if extended else "0.6",
                "ranksep": "0.9" if extended else "0.5",
                "pad": "0.2",
                "bgcolor": _quoted(palette.background),
                "fontname": _quoted(_FONT),
            }
        )
        + "];",
        "  node ["
        + _attributes(
            {
                "shape": "box",
                "style": '"rounded,filled"',
                "fillcolor": _quoted(palette.node_fill),
                "color": _quoted(palette.node_line),
                "fontcolor": _quoted(palette.text),
                "fontname": _quoted(_FONT),
                "fontsize": "14",
                "penwidth": palette.node_width,
                "margin": '"0.25,0.1"',
            }
        )
        + "];",
        "  edge ["
        + _attributes(
            {
                "color": _quoted(palette.edge_line),
                "fontcolor": _quoted(palette.text),
                "fontname": _quoted(_FONT),
                "fontsize": "10",
                "arrowsize": "0.8",
                "penwidth": palette.edge_width,
            }
        )
        + "];",
    )


# They depend on the palette alone: made once, at import.
_DOT_HEADERS = {
    (name, extended): _dot_header(palette, extended)
    for name, palette in _PALETTES.items()
    for extended in (False, True)
}


def dot_source(
    table: Table | None = None,
    *,
    theme: str = "light",
    state: str | None = None,
    last: Transition | str | None = None,
    visited: Iterable[str] = (),
    taken: Iterable[Transition | str] = (),
) -> str:
    """The DOT source of ``table`` (the classic TCP figure by default), laid out like RFC 9293
    Figure 5 when the states are TCP's.

    Node and edge ``id`` attributes are ``table.state_ids`` and ``table.edge_ids``; classes are
    ``state`` and ``transition kind-<kind> side-<side>`` (plus ``extended`` for rows beyond the
    figure, which are dashed, labelled with their event only, have no say in where the states
    go, and share one arrowhead per event and target state). ``state``, ``last``, ``visited``
    and ``taken`` (transitions taken before) become colour and line-width attributes, for
    exports that cannot use CSS (PNG, PDF). The ``auto`` theme draws like ``light`` here.

    >>> print(dot_source().splitlines()[0])
    digraph tcpviz {
    """
    table = _table(table)
    palette_name = "light" if _check_theme(theme) == "auto" else theme
    marks = _marks(table, state, last, visited, taken)
    places = _figure_places(table)
    ids = table.state_ids
    extended = any(t.extended for t in table.transitions)
    lines = list(_DOT_HEADERS[palette_name, extended])
    # Many arrows share a class list or an event: quote each distinct one once.
    quoted: dict[str, str] = {}

    def quote(text: str) -> str:
        value = quoted.get(text)
        if value is None:
            value = quoted[text] = _quoted(text)
        return value

    looks = _DOT_LOOKS[palette_name]
    for name in table.states:
        attributes = {"id": ids[name], "class": "state", "label": f"<{_html_text(name)}>"}
        if name in places:
            attributes["group"] = places[name][1]
        flags = tuple(f for f in _NODE_FLAGS if _node_flag(marks, name, f))
        if flags:
            attributes["class"] = _quoted(" ".join(["state", *flags]))
            attributes.update(looks["node", flags])
        lines.append(f"  {ids[name]} [{_attributes(attributes)}];")

    lines.extend(_figure_hints(table, places))

    shared_heads = _shared_heads(table, places)
    taken_before = set(marks.taken)
    for t in table.transitions:
        classes = ["transition", f"kind-{t.kind}", f"side-{t.side}"]
        if t.extended:
            classes.append("extended")
        marked = (t.extended, t in taken_before, t == marks.last)  # as _EDGE_FLAGS
        flags = tuple(f for f, yes in zip(_EDGE_FLAGS, marked, strict=True) if yes)
        classes.extend(f for f in flags if f != "extended")
        attributes = {
            "id": table.edge_ids[t],
            "class": quote(" ".join(classes)),
            "label": _edge_label(t),
        }
        if t.extended:
            attributes["style"] = "dashed"
            attributes["fontsize"] = "9"
            # Weight 0: the rows beyond Figure 5 do not pull its states sideways, so the
            # figure keeps its textbook shape (with weight, TIME-WAIT drifted to the far right).
            attributes["weight"] = "0"
            if t in shared_heads:
                # All arrows of one event into one state end at one point: the two dozen
                # rows into CLOSED arrive as three bundles, not a comb of arrowheads.
                attributes["samehead"] = quote(t.event)
        if flags:
            attributes.update(looks["edge", flags])
        tail, head = ids[t.source], ids[t.target]
        if _runs_backwards(places, t):
            # An arrow pointing left inside a row of the figure (SYN-SENT -> SYN-RECEIVED) is
            # written right-to-left with dir=back: dot keeps the row's order, the arrow its
            # direction.
            tail, head = head, tail
            attributes["dir"] = "back"
        lines.append(f"  {tail} -> {head} [{_attributes(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_flag(marks: _Marks, state: str, flag: str) -> bool:
    return state == marks.state if flag == "current" else state in marks.visited


def _overlay(
    styles: Mapping[tuple[str, str], Mapping[str, str]], kind: str, flags: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The properties of each role of a node or edge carrying ``flags`` (later flags win)."""
    result = {}
    for role in _ROLES:
        if not role.startswith(kind):
            continue
        merged = dict(styles[(role, "")])
        for flag in flags:
            merged.update(styles.get((role, flag), {}))
        result[role] = merged
    return result


def _dot_looks(palette: _Palette) -> dict[tuple[str, tuple[str, ...]], dict[str, str]]:
    """The DOT attributes of a highlighted node or edge, for every set of flags: the colours
    and line widths the style sheet gives it, for exports that cannot use CSS (PNG, PDF)."""
    styles = _styles(palette)
    looks = {}
    for kind, flags in (("node", _NODE_FLAGS), ("edge", _EDGE_FLAGS)):
        for mask in range(1, 2 ** len(flags)):
            chosen = tuple(f for bit, f in enumerate(flags) if mask >> bit & 1)
            overlay = _overlay(styles, kind, chosen)
            if kind == "node":
                looks[kind, chosen] = {
                    "fillcolor": _quoted(overlay["node-shape"]["fill"]),
                    "color": _quoted(overlay["node-shape"]["stroke"]),
                    "penwidth": overlay["node-shape"]["stroke-width"],
                    "fontcolor": _quoted(overlay["node-text"]["fill"]),
                }
            else:
                looks[kind, chosen] = {
                    "color": _quoted(overlay["edge-line"]["stroke"]),
                    "penwidth": overlay["edge-line"]["stroke-width"],
                    "fontcolor": _quoted(overlay["edge-text"]["fill"]),
                }
    return looks


# Depends on the palette alone: made once, at import.
_DOT_LOOKS = {name: _dot_looks(palette) for name, palette in _PALETTES.items()}


# Graphviz's dot joins at most five samehead groups per node (MAXSAME in lib/dotgen/sameport.c)
# and warns about the rest.
_MAX_SAME = 5


def _shared_heads(table: Table, places: Mapping[str, tuple[int, str]]) -> set[Transition]:
    """The extended rows drawn with a shared arrowhead: two or more rows of the same event
    into the same state, where that state has no more such groups than dot can join."""
    groups: dict[str, dict[str, list[Transition]]] = {}
    for t in table.transitions:
        # A reversed edge (dir=back) has its arrowhead at its DOT tail: leave it alone.
        if t.extended and t.source != t.target and not _runs_backwards(places, t):
            groups.setdefault(t.target, {}).setdefault(t.event, []).append(t)
    shared: set[Transition] = set()
    for by_event in groups.values():
        bundles = [rows for rows in by_event.values() if len(rows) > 1]
        if len(bundles) <= _MAX_SAME:
            shared.update(t for rows in bundles for t in rows)
    return shared


def _runs_backwards(places: Mapping[str, tuple[int, str]], t: Transition) -> bool:
    if t.source not in places or t.target not in places:
        return False
    (row_from, col_from), (row_to, col_to) = places[t.source], places[t.target]
    return row_from == row_to and _COLUMNS.index(col_to) < _COLUMNS.index(col_from)


def _figure_hints(table: Table, places: Mapping[str, tuple[int, str]]) -> list[str]:
    """Rows (rank=same, ordered left to right) and straight columns for the textbook figure."""
    if not places:
        return []
    ids = table.state_ids
    lines = []
    rows: dict[int, list[str]] = {}
    for state, (row, _) in places.items():
        rows.setdefault(row, []).append(state)
    for row in sorted(rows):
        members = sorted(rows[row], key=lambda s: _COLUMNS.index(places[s][1]))
        lines.append("  { rank=same; " + " ".join(f"{ids[s]};" for s in members) + " }")
        # Invisible edges inside a row fix its left-to-right order; they draw nothing.
        lines.extend(f"  {ids[a]} -> {ids[b]} [style=invis];" for a, b in _pairs(members))
    linked = {frozenset((t.source, t.target)) for t in table.transitions}
    for column in _COLUMNS:
        members = sorted((s for s in places if places[s][1] == column), key=lambda s: places[s][0])
        for upper, lower in _pairs(members):
            # Keep a column straight even where no arrow joins two of its states
            # (LISTEN over ESTABLISHED, SYN-SENT over CLOSE-WAIT).
            if frozenset((upper, lower)) not in linked:
                lines.append(f"  {ids[upper]} -> {ids[lower]} [style=invis, weight=5];")
    return lines


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(items))


# -- running Graphviz ---------------------------------------------------------------------------


def run_dot(source: str, format: str = "svg", *, timeout: float = 60.0) -> bytes:
    """Run Graphviz's ``dot`` on ``source`` and return its output in ``format``.

    Raises :class:`~tcpviz.errors.GraphvizNotFound` (saying how to install Graphviz) when
    ``dot`` is missing, and :class:`RenderError` when it fails.
    """
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizNotFound(INSTALL_GRAPHVIZ)
    try:
        completed = subprocess.run(
            [executable, f"-T{format}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GraphvizNotFound(INSTALL_GRAPHVIZ) from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{executable} -T{format} did not finish within {timeout} s") from None
    except OSError as error:
        raise RenderError(f"could not run {executable}: {error}") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip()
        raise RenderError(
            f"{executable} -T{format} failed with exit status {completed.returncode}: {message}"
        )
    return completed.stdout


# -- laying out ---------------------------------------------------------------------------------


def _table(table: Table | None) -> Table:
    if table is None:
        return tcp_table()
    if not isinstance(table, Table):
        raise TypeError(f"expected a tcpviz Table, not {type(table).__name__}")
    return table


def layout_key(table: Table | None = None) -> str:
    """The key a table's layout is cached under: the SHA-256 of its neutral DOT source."""
    return hashlib.sha256(dot_source(_table(table)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PackagedLayout:
    """One laid-out SVG shipped in ``tcpviz/layouts/``."""

    file: str
    key: str
    table: str
    graphviz: str


def packaged_layouts() -> dict[str, PackagedLayout]:
    """The layouts shipped with tcpviz, by key (read from ``tcpviz/layouts/index.json``)."""
    return dict(_packaged_index())


_LAYOUT_LOCK = threading.Lock()
_RAW_LAYOUTS: OrderedDict[str, str] = OrderedDict()  # key -> Graphviz's SVG, for custom tables
_RAW_LIMIT = 32
# id(table) -> (weak reference, post-processed SVG): the same table gets the same str object
# back, which is what lets highlight() find its precomputed splice points at once.
_SVGS: dict[int, tuple[weakref.ref[Table], str]] = {}


def _packaged_index() -> dict[str, PackagedLayout]:
    global _INDEX
    if _INDEX is None:
        try:
            text = resources.files(__package__).joinpath("layouts", "index.json").read_text("utf-8")
            entries = json.loads(text)
        except (FileNotFoundError, json.JSONDecodeError):
            entries = {}
        _INDEX = {
            entry["dot_sha256"]: PackagedLayout(
                file=name,
                key=entry["dot_sha256"],
                table=entry.get("table", ""),
                graphviz=entry.get("graphviz", ""),
            )
            for name, entry in entries.items()
        }
    return _INDEX


_INDEX: dict[str, PackagedLayout] | None = None


def clear_caches() -> None:
    """Forget every cached layout (after ``tcpviz/layouts/`` was regenerated, for example)."""
    global _INDEX
    with _LAYOUT_LOCK:
        _INDEX = None
        _RAW_LAYOUTS.clear()
        _SVGS.clear()
        _TEMPLATES.clear()


def raw_layout(table: Table | None = None, *, packaged: bool = True) -> str:
    """Graphviz's own SVG for ``table``: shipped with tcpviz, cached, or made by ``dot``."""
    table = _table(table)
    source = dot_source(table)
    key = hashlib.sha256(source.encode("utf-8")).hexdigest()
    if packaged:
        layout = _packaged_index().get(key)
        if layout is not None:
            return resources.files(__package__).joinpath("layouts", layout.file).read_text("utf-8")
    with _LAYOUT_LOCK:
        if key in _RAW_LAYOUTS:
            _RAW_LAYOUTS.move_to_end(key)
            return _RAW_LAYOUTS[key]
    svg = run_dot(source, "svg").decode("utf-8")
    with _LAYOUT_LOCK:
        _RAW_LAYOUTS[key] = svg
        while len(_RAW_LAYOUTS) > _RAW_LIMIT:
            _RAW_LAYOUTS.popitem(last=False)
    return svg


def layout_svg(table: Table | None = None) -> str:
    """The laid-out SVG of ``table``, without highlight or theme, ready to inline in HTML.

    The built-in TCP tables come from package data (no Graphviz needed); other tables run
    ``dot`` once and are cached. The root ``<svg>`` has class ``tcpviz-diagram``,
    ``role="group"`` and an ``aria-label`` naming the table; each state's ``<g>`` has the id
    ``table.state_ids[state]``, a ``<title>`` "NAME: description", an ``aria-label``,
    ``role="button"`` and ``tabindex="0"``; each transition's ``<g>`` has the id
    ``table.edge_ids[t]``, the full RFC label as ``<title>`` and ``role="img"`` with an
    ``aria-label`` saying where it leads.
    """
    table = _table(table)
    cached = _SVGS.get(id(table))
    if cached is not None and cached[0]() is table:
        return cached[1]
    svg, template = _postprocessed(raw_layout(table), table)
    if template is not None:  # written and cut in one pass: highlight needs no scan
        _remember(svg, template)
    with _LAYOUT_LOCK:
        # Drop entries whose table is gone, so ids reused by new tables cannot collide.
        for stale in [k for k, (ref, _) in _SVGS.items() if ref() is None]:
            del _SVGS[stale]
        _SVGS[id(table)] = (weakref.ref(table), svg)
    return svg


_G = f"{{{_SVG_NS}}}g"
_TITLE = f"{{{_SVG_NS}}}title"
_POLYGON = f"{{{_SVG_NS}}}polygon"


def _tag(name: str) -> str:
    return f"{{{_SVG_NS}}}{name}"


def _classes(element: ET.Element) -> list[str]:
    return element.get("class", "").split()


def _set_title(group: ET.Element, text: str) -> None:
    title = group.find(_TITLE)
    if title is None:
        title = ET.Element(_TITLE)
        group.insert(0, title)
    title.text = text


def _postprocess(raw: str, table: Table) -> str:
    """Make Graphviz's SVG inlinable and accessible: our root class, titles, ARIA, no prolog."""
    return _postprocessed(raw, table)[0]


def _postprocessed(raw: str, table: Table) -> tuple[str, _Template | None]:
    """:func:`_postprocess`, and the template of its text when it could write it itself."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    try:
        root = ET.fromstring(raw.encode("utf-8"))
    except ET.ParseError as error:
        raise RenderError(f"Graphviz produced an SVG that does not parse: {error}") from None
    states = {v: k for k, v in table.state_ids.items()}
    edges = {v: k for k, v in table.edge_ids.items()}
    shown = {state: _printable(state) for state in table.states}  # each name is used often
    name = _printable(table.name) or "State diagram"
    root.set("class", "tcpviz-diagram")
    # Not role="img": ARIA makes the children of an img presentational, which would hide the
    # focusable state buttons from screen readers. A named group keeps them reachable.
    root.set("role", "group")
    root.set(
        "aria-label",
        f"{name}: state diagram with {len(table.states)} states and "
        f"{len(table.transitions)} transitions",
    )
    style = ET.Element(_tag("style"))
    style.text = "\n" + _STYLE_SHEET + "\n"
    style.tail = "\n"
    root.insert(0, style)

    graph = root.find(_G)
    if graph is None:
        raise RenderError("Graphviz produced an SVG without a graph group")
    graph.attrib.pop("id", None)  # "graph0" in every diagram: a duplicate id on a shared page
    _set_title(graph, name)  # the tooltip over the background
    # Its title would make it a second group named like the root: one is enough.
    graph.set("role", "none")
    background = graph.find(_POLYGON)
    if background is not None:
        background.set("class", "tcpviz-background")

    strangers = False
    for group in list(graph.iter(_G)):
        classes = _classes(group)
        element_id = group.get("id", "")
        if "node" in classes and element_id in states:
            state = states[element_id]
            description = _printable(table.descriptions.get(state, ""))
            label = f"{shown[state]}: {description}" if description else shown[state]
            _set_title(group, label)
            group.set("tabindex", "0")
            group.set("role", "button")
            group.set("aria-label", label)
            group.set("data-state", shown[state])
        elif "edge" in classes and element_id in edges:
            t = edges[element_id]
            label = _printable(t.label)
            _set_title(group, label)
            # One image per arrow: read once with its full label, not also as its drawn text
            # (which for rows beyond Figure 5 is the event alone).
            group.set("role", "img")
            group.set("aria-label", f"{label}, from {shown[t.source]} to {shown[t.target]}")
            group.set("data-event", _printable(t.event))
            group.set("data-source", shown[t.source])
            group.set("data-target", shown[t.target])
        elif "node" in classes or "edge" in classes:
            strangers = True
    if strangers:
        # Something Graphviz drew that is not a state or transition of the table (there should
        # be nothing: hint edges are invisible) would break "one element per state/transition".
        known = set(states) | set(edges)
        for parent in list(graph.iter()):
            for child in list(parent):
                if (
                    child.tag == _G
                    and child.get("id", "") not in known
                    and {"node", "edge"} & set(_classes(child))
                ):
                    parent.remove(child)
    written = _write(root)
    if written is None:
        return ET.tostring(root, encoding="unicode"), None
    return written


# -- templates: where highlight and the bake splice ---------------------------------------------

_SHAPE_TAGS = frozenset(tag for tags in _ROLES.values() for tag in tags)
_FLAGS = {"node": _NODE_FLAGS, "edge": _EDGE_FLAGS}


class _Owner(NamedTuple):
    """A state's or transition's ``<g>``: what the bake needs to know to colour its shapes."""

    kind: str  # "node" or "edge"
    classes: frozenset[str]  # as written, without highlight classes if it has a slot
    slot: str  # its id when highlight sets its classes, else ""
    index: int  # the index of that slot in _Template.fine, -1 without one


class _Shape(NamedTuple):
    """A shape or text inside a state or transition (or the background), which the bake
    writes again with its colours as attributes."""

    index: int  # where its tag sits in _Template.fine
    tag: str
    background: bool
    owners: tuple[int, ...]  # indices into _Template.owners, outermost first


@dataclass(frozen=True)
class _Template:
    """An SVG cut at the class attribute of its root and of every state and transition.

    ``parts`` serves :func:`highlight`; ``fine`` is the same text cut also around every tag
    that an export colours, so that :meth:`Diagram.pipe` sets the classes and writes the
    colours as attributes in one splice, without parsing the SVG again.
    """

    parts: tuple[str, ...]  # static text at even indices, empty slots at odd indices
    slots: dict[str, int]  # element id ("" for the root) -> index of its slot in parts
    theme: str  # the theme class the root carried, kept when highlight() gets no theme
    fine: tuple[str, ...]  # static text at even indices; class slots and shape tags between
    fine_slots: dict[str, int]  # element id ("" for the root) -> index of its slot in fine
    owners: tuple[_Owner, ...]
    shapes: tuple[_Shape, ...]


def _assemble(
    fine: list[str],
    fine_slots: dict[str, int],
    theme: str,
    owners: list[_Owner],
    shapes: list[_Shape],
) -> _Template:
    # highlight() needs the class slots only: it gets the text between them joined.
    parts: list[str] = []
    slots: dict[str, int] = {}
    start = 0
    for key, index in sorted(fine_slots.items(), key=lambda item: item[1]):
        parts.append("".join(fine[start:index]))
        slots[key] = len(parts)
        parts.append("")
        start = index + 1
    parts.append("".join(fine[start:]))
    return _Template(
        tuple(parts),
        slots,
        f" {theme}" if theme else "",
        tuple(fine),
        fine_slots,
        tuple(owners),
        tuple(shapes),
    )


_TEMPLATES: OrderedDict[str, _Template] = OrderedDict()
_TEMPLATE_LIMIT = 16


def _remember(svg: str, template: _Template) -> None:
    with _LAYOUT_LOCK:
        _TEMPLATES[svg] = template
        while len(_TEMPLATES) > _TEMPLATE_LIMIT:
            _TEMPLATES.popitem(last=False)


def _slot_tag(
    tag: str, attributes: list[tuple[str, str]], keep: list[str], closed: bool
) -> tuple[str, str]:
    """An opening tag cut inside its class attribute, after the classes kept: the text before
    the slot and the text after it (``aria-current``, which highlight sets, is left out)."""
    before, after, seen = [], [], False
    for name, value in attributes:
        if name == "class":
            seen = True
        elif name != "aria-current":
            (after if seen else before).append(f' {name}="{value}"')
    opening = f'<{tag}{"".join(before)} class="{" ".join(keep)}'
    return opening, f'"{"".join(after)}{" />" if closed else ">"}'


def _is_background(attributes: str) -> bool:
    """Whether a polygon's attributes (as written) make it the diagram's background."""
    if "tcpviz-background" not in attributes:
        return False
    return "tcpviz-background" in dict(_ATTRIBUTE.findall(attributes)).get("class", "").split()


# Every opening tag the template looks at, and every </g>. The SVGs highlighted here are
# ElementTree's output, where a literal ">" appears only at the end of a tag (it is escaped in
# text and attribute values).
_TAG = re.compile(rf"<(?:(svg|g|{'|'.join(sorted(_SHAPE_TAGS))})(?=[\s/>])([^>]*)|(/g))>")
_ATTRIBUTE = re.compile(r'([^\s=]+)="([^"]*)"')


def _template(svg: str) -> _Template:
    """The template of any SVG text, found by scanning it (once: the result is cached)."""
    template = _TEMPLATES.get(svg)
    if template is not None:
        return template
    fine: list[str] = []
    fine_slots: dict[str, int] = {}
    owners: list[_Owner] = []
    shapes: list[_Shape] = []
    open_groups: list[int] = []  # for each open <g>: its owner index, or -1
    enclosing: tuple[int, ...] = ()  # the owners among them, outermost first
    theme = ""
    position, pending = 0, ""
    for match in _TAG.finditer(svg):
        tag, body, end_group = match.groups()
        if end_group:
            if open_groups and open_groups.pop() >= 0:
                enclosing = enclosing[:-1]
            continue
        closed = body.endswith("/")
        if tag != "svg" and tag != "g":
            background = tag == "polygon" and _is_background(body)
            if enclosing or background:
                fine.append(pending + svg[position : match.start()])
                shapes.append(_Shape(len(fine), tag, background, enclosing))
                fine.append(match.group())
                pending, position = "", match.end()
            continue
        owner, key = -1, None
        if body[:1].isspace():  # a tag with attributes
            attributes = tuple(_ATTRIBUTE.findall(body))
            values = dict(attributes)
            classes = values.get("class", "").split()
            if tag == "svg":
                if "" not in fine_slots:  # an <svg> nested in the diagram is not its root
                    key = ""
                    themes = [c for c in classes if c.startswith("tcpviz-theme-")]
                    theme = themes[-1] if themes else ""
                    keep = [c for c in classes if not c.startswith("tcpviz-theme-")]
            elif "node" in classes or "edge" in classes:
                owner = len(owners)
                kind = "node" if "node" in classes else "edge"
                key = values.get("id") or None
                if key is None:
                    owners.append(_Owner(kind, frozenset(classes), "", -1))
                else:
                    keep = [c for c in classes if c not in _HIGHLIGHT_CLASSES]
                    owners.append(_Owner(kind, frozenset(keep), key, len(fine) + 1))
        if key is not None:
            opening, after = _slot_tag(tag, attributes, keep, closed)
            fine.append(pending + svg[position : match.start()] + opening)
            fine_slots[key] = len(fine)
            fine.append("")
            pending, position = after, match.end()
        if tag == "g" and not closed:
            open_groups.append(owner)
            if owner >= 0:
                enclosing = (*enclosing, owner)
    if "" not in fine_slots:
        raise RenderError("not an SVG: no <svg> element found")
    fine.append(pending + svg[position:])
    template = _assemble(fine, fine_slots, theme, owners, shapes)
    _remember(svg, template)
    return template


# -- writing the laid-out SVG -------------------------------------------------------------------

_SVG_QUALIFIER = f"{{{_SVG_NS}}}"
_XLINK_QUALIFIER = f"{{{_XLINK_NS}}}"
_SPECIAL_IN_ATTRIBUTE = re.compile(r'[&<>"\r\n\t]')
# In attributes written as name="value" without escaping: anything to escape (a quote shows
# as one more quote than the delimiters), or a namespaced name.
_SPECIAL_IN_WRITTEN = re.compile(r"[&<>\r\n\t{]")


class _Unusual(Exception):
    """A tree that :func:`_write` leaves to ElementTree."""


def _escape_text(text: str) -> str:
    # What ElementTree writes for text and tails.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attribute(value: str) -> str:
    # What ElementTree writes for an attribute value (the same from Python 3.10 to 3.13).
    if _SPECIAL_IN_ATTRIBUTE.search(value) is None:
        return value
    for character, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("\r", "&#13;"),
        ("\n", "&#10;"),
        ("\t", "&#09;"),
    ):
        value = value.replace(character, entity)
    return value


def _write(root: ET.Element) -> tuple[str, _Template] | None:
    """``root`` as ``ET.tostring(root, encoding="unicode")`` writes it, and its template.

    One pass writes the text and records where highlight and the bake splice, where writing
    with ElementTree and then scanning the text would take two. None for a tree this does
    not know to write exactly as ElementTree does (a name outside the SVG and XLink
    namespaces, a comment, an ``aria-current`` or no class on a slot); the caller then asks
    ElementTree. A test checks that both write the same text and find the same template.
    """
    try:
        # Attribute values rarely need escaping: write them as they are and check all of
        # them at once at the end; only if one needs it, write again escaping each.
        return _write_pass(root, careful=False) or _write_pass(root, careful=True)
    except (_Unusual, TypeError, AttributeError):
        # TypeError: a comment's or processing instruction's tag is a function.
        return None


def _write_pass(root: ET.Element, careful: bool) -> tuple[str, _Template] | None:
    """One pass of :func:`_write`; None when ``careful`` is false and a value needs escaping."""
    fine: list[str] = ["", ""]  # the root's opening tag is written last, with its namespaces
    fine_slots: dict[str, int] = {"": 1}
    owners: list[_Owner] = []
    shapes: list[_Shape] = []
    buffer: list[str] = []  # static text since the last cut
    append = buffer.append
    unchecked: list[str] = []  # attributes written without escaping
    counted = [0]  # how many of them
    xlink = [False]
    skip = len(_SVG_QUALIFIER)

    def qualified(name: str) -> str:
        if name[:1] != "{":
            return name
        if name.startswith(_SVG_QUALIFIER):
            return name[skip:]
        if name.startswith(_XLINK_QUALIFIER):
            xlink[0] = True
            return "xlink:" + name[len(_XLINK_QUALIFIER) :]
        raise _Unusual

    def attributes_of(element: ET.Element) -> list[tuple[str, str]]:
        return [(qualified(k), _escape_attribute(v)) for k, v in element.items()]

    def cut(special: str) -> int:
        """End the static text here; ``special`` (a slot or a shape's tag) comes next."""
        fine.append("".join(buffer))
        buffer.clear()
        fine.append(special)
        return len(fine) - 1

    def visit(element: ET.Element, enclosing: tuple[int, ...]) -> None:
        tag = element.tag
        tag = tag[skip:] if tag.startswith(_SVG_QUALIFIER) else qualified(tag)
        if careful:
            attributes = attributes_of(element)
            written = "".join([f' {name}="{value}"' for name, value in attributes])
        else:
            # As they are: right if the check at the end finds nothing to escape.
            attributes = element.items()
            written = "".join([f' {name}="{value}"' for name, value in attributes])
            unchecked.append(written)
            counted[0] += len(attributes)
        text = element.text
        empty = not text and not len(element)
        end = " />" if empty else ">"
        if tag in _SHAPE_TAGS:
            opening = f"<{tag}{written}{end}"
            background = tag == "polygon" and _is_background(written)
            if enclosing or background:
                shapes.append(_Shape(cut(opening), tag, background, enclosing))
            else:
                append(opening)
        elif (
            tag == "g"
            and (classes := _classes_of(attributes))
            and ("node" in classes or "edge" in classes)
        ):
            kind = "node" if "node" in classes else "edge"
            values = dict(attributes)
            key = values.get("id")
            if key:
                if "aria-current" in values:
                    raise _Unusual
                keep = [c for c in classes if c not in _HIGHLIGHT_CLASSES]
                opening, after = _slot_tag(tag, attributes, keep, empty)
                append(opening)
                index = cut("")
                fine_slots[key] = index
                append(after)
                owners.append(_Owner(kind, frozenset(keep), key, index))
            else:
                owners.append(_Owner(kind, frozenset(classes), "", -1))
                append(f"<{tag}{written}{end}")
            enclosing = (*enclosing, len(owners) - 1)
        else:
            append(f"<{tag}{written}{end}")
        if not empty:
            if text:
                append(_escape_text(text))
            for child in element:
                visit(child, enclosing)
            append(f"</{tag}>")
        tail = element.tail
        if tail:
            append(_escape_text(tail))

    if qualified(root.tag) != "svg":
        raise _Unusual
    attributes = attributes_of(root)
    values = dict(attributes)
    if "class" not in values or "aria-current" in values:
        raise _Unusual
    classes = values["class"].split()
    themes = [c for c in classes if c.startswith("tcpviz-theme-")]
    keep = [c for c in classes if not c.startswith("tcpviz-theme-")]
    empty = not root.text and not len(root)
    append(_slot_tag("svg", attributes, keep, empty)[1])
    if not empty:
        if root.text:
            append(_escape_text(root.text))
        for child in root:
            visit(child, ())
        append("</svg>")
    if root.tail:
        append(_escape_text(root.tail))
    if not careful:
        written = "".join(unchecked)
        if _SPECIAL_IN_WRITTEN.search(written) or written.count('"') != 2 * counted[0]:
            return None  # a value to escape, or a namespaced name: write again, carefully
    fine.append("".join(buffer))
    # ElementTree declares the namespaces used, sorted by prefix, before the attributes.
    declared = [("xmlns", _escape_attribute(_SVG_NS))]
    if xlink[0]:
        declared.append(("xmlns:xlink", _escape_attribute(_XLINK_NS)))
    fine[0] = _slot_tag("svg", declared + attributes, keep, empty)[0]
    template = _assemble(fine, fine_slots, themes[-1] if themes else "", owners, shapes)
    return "".join(fine), template


def _classes_of(attributes: list[tuple[str, str]]) -> list[str]:
    """The classes in a tag's attributes, as written."""
    for name, value in attributes:
        if name == "class":
            return value.split()
    return []


# -- highlight ----------------------------------------------------------------------------------


def _render(
    svg: str,
    table: Table,
    *,
    state: str | None,
    last: Transition | str | None,
    visited: Iterable[str],
    theme: str | None,
    taken: Iterable[Transition | str],
    bake: bool = False,
) -> str:
    """:func:`highlight`, and with ``bake`` the colours of ``theme`` written as attributes."""
    template = _template(svg)
    if bake:
        if theme is None:
            raise RenderError("baking the colours needs a theme")
        parts, slots = list(template.fine), template.fine_slots
    else:
        parts, slots = list(template.parts), template.slots
    if theme is None:
        parts[slots[""]] = template.theme
    else:
        parts[slots[""]] = f" tcpviz-theme-{_check_theme(theme)}"
    marks = _marks(table, state, last, visited, taken)

    def slot(element_id: str) -> int:
        try:
            return slots[element_id]
        except KeyError:
            raise RenderError(
                f"the SVG has no element with id {element_id!r}: was it laid out from {table!r}?"
            ) from None

    for name in marks.visited:
        parts[slot(table.state_ids[name])] += " visited"
    for t in marks.taken:
        parts[slot(table.edge_ids[t])] += " taken"
    if marks.last is not None:
        parts[slot(table.edge_ids[marks.last])] += " last"
    if marks.state is not None:
        # The slot sits inside class="...": close it, add the attribute, leave it open again.
        parts[slot(table.state_ids[marks.state])] += ' current" aria-current="true'
    if bake and theme is not None:  # (None was refused above)
        _bake(template, parts, theme)
    return "".join(parts)


def highlight(
    svg: str,
    table: Table | None = None,
    *,
    state: str | None = None,
    last: Transition | str | None = None,
    visited: Iterable[str] = (),
    theme: str | None = None,
    taken: Iterable[Transition | str] = (),
) -> str:
    """Return ``svg`` (from :func:`layout_svg`) with the highlight classes set.

    ``current`` and ``aria-current="true"`` go on the state's ``<g>``, ``last`` on the
    transition's, ``visited`` on each visited state and ``taken`` on each transition taken
    before; ``theme`` sets the root's ``tcpviz-theme-<name>`` class (``None`` keeps the one it
    has). Highlight already in ``svg`` is replaced. This splices strings at positions computed
    once per SVG: it never runs Graphviz.
    """
    table = _table(table)
    return _render(svg, table, state=state, last=last, visited=visited, theme=theme, taken=taken)


# -- standalone files ---------------------------------------------------------------------------

_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'

# (kind, flags) -> tag -> the attributes a shape of that tag gets, escaped as ElementTree would.
_Looks = dict[tuple[str, tuple[str, ...]], dict[str, dict[str, str]]]


def _looks(palette: _Palette) -> _Looks:
    """The presentation attributes of every kind of shape, for every set of flags."""
    styles = _styles(palette)
    looks: _Looks = {}
    for kind, flags in _FLAGS.items():
        for mask in range(2 ** len(flags)):
            chosen = tuple(f for bit, f in enumerate(flags) if mask >> bit & 1)
            by_tag: dict[str, dict[str, str]] = {}
            for role, properties in _overlay(styles, kind, chosen).items():
                for tag in _ROLES[role]:
                    by_tag.setdefault(tag, {}).update(
                        (name, _escape_attribute(value)) for name, value in properties.items()
                    )
            looks[kind, chosen] = by_tag
    return looks


# They depend on the palettes alone: made once, at import.
_LOOKS = {name: _looks(palette) for name, palette in _PALETTES.items()}
_BACKGROUNDS = {
    name: {"fill": _escape_attribute(palette.background), "stroke": "none"}
    for name, palette in _PALETTES.items()
}


def _bake(template: _Template, parts: list[str], theme: str) -> None:
    """Write each shape's colours in ``theme`` into ``parts`` (``template.fine`` with its
    class slots filled) as presentation attributes, for programs that ignore CSS (slide
    software, some converters); browsers still follow the ``<style>``. A shape gets the
    properties the style sheet gives it as part of each state or transition it sits in
    (outermost first), and as the background."""
    palette = "light" if theme == "auto" else theme
    looks = _LOOKS[palette]
    owner_looks = []
    for owner in template.owners:
        classes = owner.classes
        if owner.index >= 0 and parts[owner.index]:
            # The classes highlight added: ' visited current" aria-current="true' -> both.
            classes = classes.union(parts[owner.index].partition('"')[0].split())
        flags = tuple(f for f in _FLAGS[owner.kind] if f in classes)
        owner_looks.append(looks[owner.kind, flags])
    background = _BACKGROUNDS[palette]
    fine = template.fine
    for shape in template.shapes:
        properties: Mapping[str, str] = background if shape.background else {}
        for owner in shape.owners:
            more = owner_looks[owner].get(shape.tag)
            if more:
                properties = {**properties, **more} if properties else more
        if properties:
            parts[shape.index] = _set_attributes(fine[shape.index], properties)


def _set_attributes(tag: str, properties: Mapping[str, str]) -> str:
    """An opening tag, as ElementTree writes it, with ``properties`` set as ElementTree's
    ``set`` would: a value replaced where its attribute stands, a new attribute added last."""
    new = []
    for name, value in properties.items():
        # Unambiguous: a quote inside a value is written &quot;.
        start = tag.find(f' {name}="')
        if start < 0:
            new.append(f' {name}="{value}"')
        else:
            start += len(name) + 3
            tag = tag[:start] + value + tag[tag.index('"', start) :]
    if new:
        head = tag[:-1].removesuffix("/").rstrip()  # up to the last attribute
        tag = head + "".join(new) + tag[len(head) :]
    return tag


# -- Diagram ------------------------------------------------------------------------------------


class Diagram:
    """A state diagram of a table, with a theme and optional highlight.

    Shows itself as SVG in Jupyter; :meth:`save` writes SVG, PNG, PDF or DOT atomically.

    >>> d = Diagram(state="ESTABLISHED", theme="dark")
    >>> 'aria-current="true"' in d.svg()
    True
    """

    def __init__(
        self,
        table: Table | None = None,
        *,
        extended: bool = False,
        theme: str = "light",
        state: str | None = None,
        last: Transition | str | None = None,
        visited: Iterable[str] = (),
        taken: Iterable[Transition | str] = (),
    ):
        self.table: Table = tcp_table(extended) if table is None else _table(table)
        self.theme: str = _check_theme(theme)
        marks = _marks(self.table, state, last, visited, taken)
        self.state: str | None = marks.state
        self.last: Transition | None = marks.last
        self.visited: tuple[str, ...] = marks.visited
        self.taken: tuple[Transition, ...] = marks.taken

    @classmethod
    def from_machine(cls, machine: Any, theme: str = "light") -> Diagram:
        """The diagram of a :class:`~tcpviz.machine.Machine` where it stands now: its state
        current, its last transition marked, the states and transitions of its history."""
        return cls(
            machine.table,
            theme=theme,
            state=machine.state,
            last=machine.last,
            visited=machine.visited,
            taken=machine.history,
        )

    def with_theme(self, theme: str) -> Diagram:
        """The same diagram in another theme."""
        copy = object.__new__(Diagram)
        copy.__dict__.update(self.__dict__)
        copy.theme = _check_theme(theme)
        return copy

    def svg(self) -> str:
        """The themed, highlighted SVG, ready to inline in HTML (no Graphviz needed for the
        built-in tables)."""
        return highlight(
            layout_svg(self.table),
            self.table,
            state=self.state,
            last=self.last,
            visited=self.visited,
            theme=self.theme,
            taken=self.taken,
        )

    @property
    def dot(self) -> str:
        """The DOT source, with the theme and highlight as Graphviz attributes."""
        return dot_source(
            self.table,
            theme=self.theme,
            state=self.state,
            last=self.last,
            visited=self.visited,
            taken=self.taken,
        )

    def pipe(self, format: str = "svg") -> bytes:
        """The diagram as a file's bytes: ``svg`` and ``dot`` need no Graphviz for the built-in
        tables; ``png`` and ``pdf`` run ``dot``."""
        format = _check_format(format)
        if format == "svg":
            # A standalone file: the highlight of svg() with the theme's colours also written
            # as attributes, in the same splice.
            svg = _render(
                layout_svg(self.table),
                self.table,
                state=self.state,
                last=self.last,
                visited=self.visited,
                theme=self.theme,
                taken=self.taken,
                bake=True,
            )
            return (_PROLOG + svg + "\n").encode("utf-8")
        if format == "dot":
            return self.dot.encode("utf-8")
        return run_dot(self.dot, format)

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the diagram to ``path`` atomically; the format comes from the suffix unless
        given. Nothing is written when rendering fails."""
        path = Path(path)
        if format is None:
            suffix = path.suffix.lower()
            if suffix not in SUFFIXES:
                raise RenderError(
                    f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use "
                    f"one of {sorted(SUFFIXES)} or pass format= (one of {sorted(FORMATS)})"
                )
            format = SUFFIXES[suffix]
        data = self.pipe(format)  # render first: a failure leaves any existing file alone
        return write_atomic(path, data)

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        bundle = {"image/svg+xml": self.svg()}
        if include is not None:
            bundle = {k: v for k, v in bundle.items() if k in set(include)}
        if exclude is not None:
            bundle = {k: v for k, v in bundle.items() if k not in set(exclude)}
        return bundle

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        where = f" at {self.state}" if self.state else ""
        return f"<Diagram of {self.table!r}{where}, theme {self.theme!r}>"
