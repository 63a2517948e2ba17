"""The DOT source of a table, laid out like RFC 9293 Figure 5: labels, escaping, layout hints.

States that are TCP's take their textbook row and column; rows beyond Figure 5 are dashed and
have no say in where the states go. Highlight becomes Graphviz colour attributes here, for
exports that cannot use CSS (PNG, PDF); the SVG shown in notebooks is highlighted by class.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Mapping

from graphviz.quoting import escape as _dot_escape
from graphviz.quoting import quote as _dot_quote

from ..errors import UnknownState
from ..model.states import canonical_state
from ..model.table import Table, Transition
from .marks import _Marks, _marks, _table
from .themes import _EDGE_FLAGS, _NODE_FLAGS, _PALETTES, _check_theme, _overlay, _Palette, _styles

__all__ = ["dot_source"]

_FONT = "Helvetica,Arial,sans-serif"


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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


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
