"""The DOT source of a table, laid out like RFC 9293 Figure 5: labels, escaping, layout hints.

States that are TCP's take their textbook row and column, and CLOSED is drawn twice as in the
figure (a second box bottom right, where the closing rows end; the layout makes both one
state's <g>). Labels follow the RFC's "event, rule, action", one action a line, measured in
bold so that the bold highlight always fits. Rows beyond Figure 5 are dashed, have no say in
where the states go, and are laid out in a second pass around the figure's boxes. Highlight
becomes Graphviz colour attributes here, for exports drawn by Graphviz (PNG, PDF without
CairoSVG); the SVG shown in notebooks is highlighted by class.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping

from ..errors import UnknownState
from ..model.states import canonical_state
from ..model.table import Table, Transition
from .marks import _Marks, _marks, _table
from .themes import _EDGE_FLAGS, _NODE_FLAGS, _PALETTES, _check_theme, _overlay, _Palette, _styles

__all__ = ["COPY_PREFIX", "dot_source", "layout_source"]

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
# Figure 5 draws CLOSED twice: at the top, where connections start, and bottom right, where
# LAST-ACK and TIME-WAIT end. Both boxes are the one state (one node of the graph, one <g> in
# the SVG, highlighted together); arrows from the closing rows (COPY_FROM_ROW down) end at the
# second box, so none has to climb back around the figure.
_COPIES: dict[str, tuple[int, str]] = {"CLOSED": (6, "right")}
_COPY_FROM_ROW = 4
# Where dot's own ordering of arrows would send one around the figure, the figure fixes the
# order in which a state's arrows leave it (ordering=out), given as (source, target) pairs
# in the order they are written: CLOSED's arrows run passive OPEN, CLOSE (from LISTEN), CLOSE
# (from SYN-SENT), active OPEN, left to right, each label right of its line, as in Figure 5;
# FIN-WAIT-1's arrow into TIME-WAIT (Note 2's, not drawn in Figure 5) runs between FIN-WAIT-2
# and CLOSING. Arrows up into an ordered state are written downwards with dir=back.
_ORDERED = ("CLOSED", "FIN-WAIT-1")
_EDGE_ORDER = (
    ("CLOSED", "LISTEN"),
    ("LISTEN", "CLOSED"),
    ("SYN-SENT", "CLOSED"),
    ("CLOSED", "SYN-SENT"),
    ("FIN-WAIT-1", "FIN-WAIT-2"),
    ("FIN-WAIT-1", "TIME-WAIT"),
    ("FIN-WAIT-1", "CLOSING"),
)
# Arrows whose label dot places beside the line after the layout (xlabel) rather than in a
# column of its own, which bent FIN-WAIT-1 -> TIME-WAIT into an S between two rows.
_BESIDE = frozenset({("FIN-WAIT-1", "TIME-WAIT")})
# Room for such a label: an invisible box as wide as the label, in a row of the figure right
# after a state (FIN-WAIT-2, between it and CLOSING), which the arrow passes by.
_ROOM = {("FIN-WAIT-1", "TIME-WAIT"): "FIN-WAIT-2"}
ROOM_PREFIX = "room_"
#: The DOT node id (and Graphviz's SVG id) of a state's second box: ``copy_`` + its id. Only a
#: TCP state drawn twice has one; the layout then moves its shapes into the state's own <g>.
COPY_PREFIX = "copy_"


def _copies(table: Table, places: Mapping[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    """The second place of every state of ``table`` drawn twice (CLOSED, in Figure 5)."""
    return {
        state: _COPIES[canonical_state(state)]
        for state in places
        if canonical_state(state) in _COPIES
    }


def _ends_at_copy(
    t: Transition, places: Mapping[str, tuple[int, str]], copies: Mapping[str, tuple[int, str]]
) -> bool:
    """Whether ``t`` is drawn into its target's second box (it leaves a closing row)."""
    return t.target in copies and t.source in places and places[t.source][0] >= _COPY_FROM_ROW


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
    # graphviz.escape, which doubles backslashes, as a plain str; then html.escape(quote=True)
    # written out (the html package costs 2 ms to import).
    escaped = _printable(text).replace("\\", "\\\\").replace("&", "&amp;")
    for character, entity in _HTML_ENTITIES:
        escaped = escaped.replace(character, entity)
    return escaped.replace("\n", "<BR/>")


_HTML_ENTITIES = (("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def _edge_label(transition: Transition, bold: bool) -> str:
    """The RFC's notation: the event, a rule, the action under it (an HTML-like label), or
    the event alone (a plain label) where there is no action to show.

    A row beyond Figure 5 shows its event only ("rcv RST", "ABORT", "user timeout"): two dozen
    of them run into CLOSED, nearly all saying "delete TCB", and the full label would bury the
    figure. The full "event / action" stays in the arrow's ``<title>`` (its tooltip), its
    ``aria-label`` and the table. With ``bold``, the text is set in bold, so that Graphviz
    leaves room for the bold highlight (the layout then shows it in the regular weight).
    """
    if not transition.effect or transition.extended:
        return _plain_label(transition.event)
    b, unb = ("<B>", "</B>") if bold else ("", "")
    # One action a line, as Figure 5 writes "create TCB" over "snd SYN": narrower labels.
    # ("snd SYN,ACK", without a space, is one segment.)
    actions = [a for a in transition.effect.split(", ") if a] or [transition.effect]
    rows = [
        f"<TR><TD>{b}{_html_text(transition.event)}{unb}</TD></TR>",
        "<HR/>",
        *(f"<TR><TD>{b}{_html_text(action)}{unb}</TD></TR>" for action in actions),
    ]
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _plain_label(text: str) -> str:
    """A plain DOT label showing ``text`` as is: Graphviz decodes HTML entities even in plain
    labels, so ``&`` is written ``&amp;``."""
    return _quoted(text.replace("&", "&amp;"))


# A DOT ID that needs no quotes (https://graphviz.org/doc/info/lang.html), and the keywords,
# which do (in any case).
_DOT_ID = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?))\Z")
_DOT_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})


def _quoted(text: str) -> str:
    """A DOT string literal showing ``text`` as is (backslashes and quotes escaped), left
    bare where DOT allows: what ``graphviz.quote(graphviz.escape(text))`` gives (a test
    compares them), without importing the graphviz package (15 ms) for it."""
    escaped = _printable(text).replace("\\", "\\\\")  # Graphviz expands \N, \G, \l...
    if _DOT_ID.match(escaped) and escaped.lower() not in _DOT_KEYWORDS:
        return escaped
    # Every backslash is doubled now, so no quote is escaped yet: escape each one.
    return '"' + escaped.replace('"', '\\"') + '"'


def _attributes(pairs: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in pairs.items())


# Type sizes in points (the SVG's user units). The figure is about 620 units wide: shown
# 560 CSS px wide or more (a projector at 1024x768 with the panel beside it), an arrow label
# is 12 px or more and a state name 16 px or more (DESIGN.md, decision 8).
STATE_FONT_SIZE = 19
LABEL_FONT_SIZE = 14
EXTENDED_FONT_SIZE = 12
_BOLD = " bold"  # appended to a Pango font name: measure (and draw) the bold face


#: The band under a figure with rows beyond Figure 5 (its graph label): what the dashed
#: arrows are, and that they are shown for the current state (a toggle shows them all).
BAND = (
    "Dashed: what RFC 9293 section 3.10 adds (rcv RST, ABORT, user timeout:\n"
    "from any synchronized state to CLOSED), shown for the current state"
)
_BAND = {
    "label": '"' + BAND.replace("\n", "\\n") + '"',  # plain text: \\n is a line break
    "labelloc": "b",
    "fontsize": str(EXTENDED_FONT_SIZE),
}


def _dot_header(palette: _Palette, extended: bool) -> tuple[str, ...]:
    """The graph, node and edge defaults of every DOT source drawn in ``palette``."""
    return (
        "digraph tcpviz {",
        "  graph ["
        + _attributes(
            {
                "rankdir": "TB",
                "newrank": "true",
                "nodesep": "0.08",
                "ranksep": "0.32",
                "pad": "0.1",
                "bgcolor": _quoted(palette.background),
                "fontname": _quoted(_FONT),
                **(_BAND if extended else {}),
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
                "fontsize": str(STATE_FONT_SIZE),
                "penwidth": palette.node_width,
                "margin": '"0.09,0.06"',
            }
        )
        + "];",
        "  edge ["
        + _attributes(
            {
                "color": _quoted(palette.edge_line),
                "fontcolor": _quoted(palette.text),
                "fontname": _quoted(_FONT),
                "fontsize": str(LABEL_FONT_SIZE),
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
    go, and share one arrowhead per event and target state). A TCP table's CLOSED is drawn
    twice, as in Figure 5: a second node ``copy_state_CLOSED`` at the bottom right, where the
    arrows from the closing states end. ``state``, ``last``, ``visited`` and ``taken``
    (transitions taken before) become colour, line-width and bold attributes, for exports that
    cannot use CSS (PNG, PDF). The ``auto`` theme draws like ``light`` here.

    >>> print(dot_source().splitlines()[0])
    digraph tcpviz {
    """
    return _source(_table(table), theme, _marks(_table(table), state, last, visited, taken), False)


def layout_source(table: Table | None = None) -> str:
    """The DOT source Graphviz lays ``table`` out from, once: :func:`dot_source` without
    highlight, with every name and label measured in bold, so that the bold of the current
    state and of the last step always fits in the space laid out (the layout shows the regular
    weight, centred in that space)."""
    table = _table(table)
    return _source(table, "light", _marks(table, None, None, (), ()), True)


def _layout_passes(table: Table) -> tuple[str, list[str]]:
    """:func:`layout_source` in two passes for a TCP table with rows beyond Figure 5: the
    figure alone (laid out by dot), and the DOT lines of those rows, routed afterwards around
    the figure's boxes without moving any of them (neato -n2). The extended figure then has
    exactly the classic figure's layout, and its extra rows cannot push Figure 5 apart. Other
    tables: the whole source and no second pass."""
    table = _table(table)
    places = _figure_places(table)
    marks = _marks(table, None, None, (), ())
    if not places or not any(t.extended for t in table.transitions):
        return _source(table, "light", marks, True), []
    rows: list[str] = []
    return _source(table, "light", marks, True, rows), rows


def _export_passes(table: Table, theme: str, marks: _Marks) -> tuple[str, list[str]]:
    """:func:`dot_source` in the two passes of :func:`_layout_passes`, for an export drawn by
    Graphviz itself (PNG, PDF): the rows beyond Figure 5 that a page shows (the current
    state's, the last and those taken), the others left out as the page hides them."""
    places = _figure_places(table)
    if not places or not any(t.extended for t in table.transitions):
        return _source(table, theme, marks, False), []
    rows: list[str] = []
    first = _source(table, theme, marks, False, rows)
    shown = {
        table.edge_ids[t]
        for t in table.transitions
        if t.extended and (t.source == marks.state or t == marks.last or t in marks.taken)
    }
    return first, [line for line in rows if _row_id(line) in shown]


def _row_id(line: str) -> str:
    """The edge id of a DOT edge line that :func:`_source` wrote (each has ``[id=...,``)."""
    found = re.search(r"\[id=(\w+),", line)
    assert found is not None, line  # made here, not read from a user
    return found.group(1)


def _source(
    table: Table, theme: str, marks: _Marks, bold: bool, rows: list[str] | None = None
) -> str:
    """The DOT source; with ``rows``, the extended rows' edges go into that list instead."""
    palette_name = "light" if _check_theme(theme) == "auto" else theme
    places = _figure_places(table)
    copies = _copies(table, places)
    ids = table.state_ids
    extended = any(t.extended for t in table.transitions)
    lines = list(_DOT_HEADERS[palette_name, extended])
    bold_font = _quoted(_FONT + _BOLD)
    # Many arrows share a class list or an event: quote each distinct one once.
    quoted: dict[str, str] = {}

    def quote(text: str) -> str:
        value = quoted.get(text)
        if value is None:
            value = quoted[text] = _quoted(text)
        return value

    looks = _DOT_LOOKS[palette_name]
    for name in table.states:
        attributes = {"id": ids[name], "class": "state", "label": _plain_label(name)}
        if name in places:
            attributes["group"] = places[name][1]
            if canonical_state(name) in _ORDERED:
                attributes["ordering"] = "out"
        flags = tuple(f for f in _NODE_FLAGS if _node_flag(marks, name, f))
        if flags:
            attributes["class"] = _quoted(" ".join(["state", *flags]))
            attributes.update(looks["node", flags])
        if bold:
            attributes["fontname"] = bold_font
        lines.append(f"  {ids[name]} [{_attributes(attributes)}];")
        if name in copies:
            second = {**attributes, "id": COPY_PREFIX + ids[name], "group": copies[name][1]}
            lines.append(f"  {COPY_PREFIX}{ids[name]} [{_attributes(second)}];")

    rooms = {}  # the DOT node of an invisible room -> the state it follows in its row
    room_sources: dict[str, set[str]] = {}
    for t in table.transitions:
        after = _ROOM.get(_pair(t, places))  # type: ignore[arg-type]
        if after is not None and not t.extended:
            room = ROOM_PREFIX + table.edge_ids[t]
            label = _edge_label(t, bold)
            lines.append(
                f"  {room} [label={label}, style=invis, margin=0, fontsize={LABEL_FONT_SIZE}];"
            )
            rooms[room] = next(s for s in places if canonical_state(s) == after)
            room_sources[room] = {t.source}
    lines.extend(_figure_hints(table, places, copies, rooms))

    shared_heads = _shared_heads(table, places)
    taken_before = set(marks.taken)
    for t in _drawing_order(table, places):
        classes = ["transition", f"kind-{t.kind}", f"side-{t.side}"]
        if t.extended:
            classes.append("extended")
        marked = (t.extended, t in taken_before, t == marks.last)  # as _EDGE_FLAGS
        flags = tuple(f for f, yes in zip(_EDGE_FLAGS, marked, strict=True) if yes)
        classes.extend(f for f in flags if f != "extended")
        attributes = {
            "id": table.edge_ids[t],
            "class": quote(" ".join(classes)),
            "xlabel" if _pair(t, places) in _BESIDE else "label": _edge_label(t, bold),
        }
        if bold:
            attributes["fontname"] = bold_font
        if t.extended:
            attributes["style"] = "dashed"
            attributes["fontsize"] = str(EXTENDED_FONT_SIZE)
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
        if _ends_at_copy(t, places, copies):
            head = COPY_PREFIX + head
        if _runs_backwards(places, t) or _runs_up_into_ordered(places, copies, t):
            # An arrow pointing left inside a row of the figure (SYN-SENT -> SYN-RECEIVED) is
            # written right-to-left with dir=back: dot keeps the row's order, the arrow its
            # direction. One up into an ordered state is written downwards, so that it takes
            # its place among that state's arrows.
            tail, head = head, tail
            attributes["dir"] = "back"
        line = f"  {tail} -> {head} [{_attributes(attributes)}];"
        (rows if rows is not None and t.extended else lines).append(line)
        for room, after in rooms.items():
            if not t.extended and t.target == after and t.source in room_sources[room]:
                # Next among the source's ordered arrows: the room, then the arrow passing it
                # on the right with its label in the room (no S-bend around it).
                lines.append(f"  {ids[t.source]} -> {room} [style=invis];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _pair(t: Transition, places: Mapping[str, tuple[int, str]]) -> tuple[str, str] | None:
    """``t``'s (source, target) as Figure 5 names them, if both are TCP states."""
    if t.source not in places or t.target not in places:
        return None
    return canonical_state(t.source), canonical_state(t.target)


def _beside_ids(table: Table) -> frozenset[str]:
    """The edge ids whose label is an xlabel (see ``_BESIDE``): the layout places it again."""
    places = _figure_places(table)
    return frozenset(table.edge_ids[t] for t in table.transitions if _pair(t, places) in _BESIDE)


def _drawing_order(table: Table, places: Mapping[str, tuple[int, str]]) -> list[Transition]:
    """The transitions in the order DOT gets them: the pairs of ``_EDGE_ORDER`` first, in
    that order, then the others in the table's order."""
    rank = {pair: i for i, pair in enumerate(_EDGE_ORDER)}
    keyed = [
        (rank.get(_pair(t, places), len(rank)), i, t)  # type: ignore[arg-type]
        for i, t in enumerate(table.transitions)
    ]
    return [t for *_, t in sorted(keyed, key=lambda k: k[:2])]


def _runs_up_into_ordered(
    places: Mapping[str, tuple[int, str]], copies: Mapping[str, tuple[int, str]], t: Transition
) -> bool:
    """Whether ``t`` runs up into a state whose arrows leave in a fixed order."""
    pair = _pair(t, places)
    if pair is None or pair[1] not in _ORDERED or _ends_at_copy(t, places, copies):
        return False
    return places[t.target][0] < places[t.source][0]


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
                text = overlay["node-text"]
            else:
                looks[kind, chosen] = {
                    "color": _quoted(overlay["edge-line"]["stroke"]),
                    "penwidth": overlay["edge-line"]["stroke-width"],
                    "fontcolor": _quoted(overlay["edge-text"]["fill"]),
                }
                text = overlay["edge-text"]
            if text.get("font-weight") == "bold":  # as the style sheet draws it
                looks[kind, chosen]["fontname"] = _quoted(_FONT + _BOLD)
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
    copy = _COPIES.get(canonical_state(t.target))
    if copy is not None and row_from >= _COPY_FROM_ROW:
        row_to, col_to = copy
    return row_from == row_to and _COLUMNS.index(col_to) < _COLUMNS.index(col_from)


def _figure_hints(
    table: Table,
    places: Mapping[str, tuple[int, str]],
    copies: Mapping[str, tuple[int, str]] | None = None,
    rooms: Mapping[str, str] | None = None,
) -> list[str]:
    """Rows (rank=same, ordered left to right) and straight columns for the textbook figure;
    a state drawn twice takes both of its places."""
    if not places:
        return []
    copies = copies or {}
    ids = table.state_ids
    # Each box of the figure: its DOT node and its place.
    boxes = {ids[s]: place for s, place in places.items()}
    boxes.update({COPY_PREFIX + ids[s]: place for s, place in copies.items()})
    lines = []
    rows: dict[int, list[str]] = {}
    for node, (row, _) in boxes.items():
        rows.setdefault(row, []).append(node)
    for row in sorted(rows):
        members = sorted(rows[row], key=lambda n: _COLUMNS.index(boxes[n][1]))
        for room, after in (rooms or {}).items():
            if ids[after] in members:
                members.insert(members.index(ids[after]) + 1, room)
        lines.append("  { rank=same; " + " ".join(f"{n};" for n in members) + " }")
        # Invisible edges inside a row fix its left-to-right order; they draw nothing.
        lines.extend(f"  {a} -> {b} [style=invis];" for a, b in _pairs(members))
    linked = set()
    for t in table.transitions:
        head = ids[t.target]
        if _ends_at_copy(t, places, copies):
            head = COPY_PREFIX + head
        linked.add(frozenset((ids[t.source], head)))
    for column in _COLUMNS:
        members = sorted((n for n in boxes if boxes[n][1] == column), key=lambda n: boxes[n][0])
        for upper, lower in _pairs(members):
            # Keep a column straight even where no arrow joins two of its boxes
            # (LISTEN over ESTABLISHED, SYN-SENT over CLOSE-WAIT).
            if frozenset((upper, lower)) not in linked:
                lines.append(f"  {upper} -> {lower} [style=invis, weight=5];")
    return lines


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(items))
