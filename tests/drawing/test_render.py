"""tcpviz.drawing.diagram: DOT in the textbook layout, the laid-out SVG, highlight by class, themes, export."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import graphviz.backend.execute
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.drawing import diagram as render
from tcpviz.drawing import layout, svgtemplate, themes
from tcpviz.drawing.diagram import (
    FORMATS,
    THEMES,
    Diagram,
    RenderError,
    dot_source,
    highlight,
    layout_key,
    layout_svg,
    packaged_layouts,
    style_sheet,
)
from tcpviz.errors import GraphvizNotFound, TableError, TcpvizError, UnknownState
from tcpviz.model.machine import Machine
from tcpviz.model.table import FIGURE_5, SECTION_3_10, TCP_EVENTS, Table, Transition, tcp_table

NS = "{http://www.w3.org/2000/svg}"
PNG = b"\x89PNG\r\n\x1a\n"

needs_dot = [
    pytest.mark.exe,
    pytest.mark.skipif(
        shutil.which("dot") is None and not os.environ.get("CI"),
        reason="Graphviz's dot is not installed (CI installs it, so there this test runs)",
    ),
]


def exe(test):
    for mark in needs_dot:
        test = mark(test)
    return test


# -- helpers ------------------------------------------------------------------------------------


def parse(svg: str | bytes) -> ET.Element:
    return ET.fromstring(svg.encode() if isinstance(svg, str) else svg)


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if kind in g.get("class", "").split()]


def with_class(svg: str, name: str) -> list[str]:
    """The ids of the states and transitions carrying class ``name``."""
    root = parse(svg)
    return [
        g.get("id")
        for g in root.iter(f"{NS}g")
        if {"node", "edge"} & set(g.get("class", "").split()) and name in g.get("class", "").split()
    ]


def title(group: ET.Element) -> str:
    return group.find(f"{NS}title").text


def texts(group: ET.Element) -> list[str]:
    return [t.text for t in group.iter(f"{NS}text")]


@pytest.fixture
def no_graphviz(monkeypatch):
    """No dot to be found, any process start or graphviz-package run failing loudly, and
    empty caches: whatever still works needs no Graphviz."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"Graphviz was run: {args!r}")

    render.clear_caches()
    monkeypatch.setattr(render, "_rasterize", lambda *args: None)  # no CairoSVG either
    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr(graphviz.backend.execute, "run_check", forbidden)
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    yield
    render.clear_caches()


@pytest.fixture
def empty_path(monkeypatch):
    """A PATH on which no program, and so no dot, can be found."""
    render.clear_caches()
    monkeypatch.setenv("PATH", "")
    yield
    render.clear_caches()


def two_states() -> Table:
    return Table([Transition("A", "go", "B"), Transition("B", "back", "A")])


# The characters that break DOT, XML or Graphviz's own escapes when passed on unescaped.
HOSTILE_STATE = 'A <b>&amp; "q" \\N ] { ü'
HOSTILE_OTHER = "B\\n'x'\\"
HOSTILE_EVENT = 'go <i> & "now" \\l ] {x} é \\E'
HOSTILE_ACTION = "a\\b <c>"
HOSTILE_SENT = 'SYN&"ACK"'


def hostile_table() -> Table:
    return Table(
        [
            Transition(
                HOSTILE_STATE,
                HOSTILE_EVENT,
                HOSTILE_OTHER,
                sent=HOSTILE_SENT,
                action=HOSTILE_ACTION,
            ),
            Transition(HOSTILE_OTHER, "back", HOSTILE_STATE),
        ],
        descriptions={HOSTILE_STATE: 'first <&> "state"'},
        name="Hostile & <odd>",
    )


# -- DOT ----------------------------------------------------------------------------------------


def test_dot_has_one_node_and_one_edge_per_table_entry(any_table):
    source = dot_source(any_table)
    assert source.startswith("digraph tcpviz {")
    for state, state_id in any_table.state_ids.items():
        assert len(re.findall(rf"^  {state_id} \[id={state_id}, ", source, re.M)) == 1, state
    for t, edge_id in any_table.edge_ids.items():
        assert source.count(f"[id={edge_id},") == 1, t.label
    # The textbook figure draws CLOSED twice: one state node, and one second box, which the
    # layout merges into the state's own <g> (see test_closed_is_one_state_drawn_twice).
    assert len(re.findall(r"^  state_CLOSED \[", source, re.M)) == 1
    assert re.findall(r"^  (copy_\w+) \[", source, re.M) == ["copy_state_CLOSED"]


def test_dot_lays_states_out_like_the_textbook_figure(classic):
    source = dot_source(classic)
    ids = classic.state_ids
    rows = re.findall(r"\{ rank=same; ([^}]*)\}", source)
    assert [row.split() for row in rows] == [
        [f"{ids['CLOSED']};"],
        [f"{ids['LISTEN']};"],
        [f"{ids['SYN-RECEIVED']};", f"{ids['SYN-SENT']};"],
        [f"{ids['ESTABLISHED']};"],
        [f"{ids['FIN-WAIT-1']};", f"{ids['CLOSE-WAIT']};"],
        # An invisible room for the label of Note 2's FIN-WAIT-1 -> TIME-WAIT arrow, which
        # passes it on the right (no S-bend around FIN-WAIT-2 or CLOSING).
        [
            f"{ids['FIN-WAIT-2']};",
            "room_edge_FIN_WAIT_1__rcv_fin_ack;",
            f"{ids['CLOSING']};",
            f"{ids['LAST-ACK']};",
        ],
        [f"{ids['TIME-WAIT']};", f"copy_{ids['CLOSED']};"],
    ]
    assert "rankdir=TB" in source
    # The closing rows end at CLOSED's second box, bottom right, as in Figure 5.
    assert "state_LAST_ACK -> copy_state_CLOSED [id=edge_LAST_ACK__rcv_ack_of_fin" in source
    assert "state_TIME_WAIT -> copy_state_CLOSED [id=edge_TIME_WAIT__timeout_2msl" in source


def test_dot_classes_and_rfc_labels(extended):
    source = dot_source(extended)
    for t, edge_id in extended.edge_ids.items():
        line = next(line for line in source.splitlines() if f"[id={edge_id}," in line)
        classes = re.search(r'class="([^"]*)"', line).group(1).split()
        assert classes[:3] == ["transition", f"kind-{t.kind}", f"side-{t.side}"]
        assert ("extended" in classes) == t.extended
        assert ("style=dashed" in line) == t.extended
        assert ("weight=0" in line) == t.extended
        if t.effect and not t.extended:
            # Event on one line, a rule, the actions under it, one a line (as Figure 5).
            actions = "".join(f"<TR><TD>{a}</TD></TR>" for a in t.effect.split(", "))
            assert f"<TD>{t.event}</TD></TR><HR/>{actions}</TABLE>" in line
        else:
            # Rows beyond Figure 5 show the event only; their full label is the title.
            assert "<HR/>" not in line
            assert f'label="{t.event}"' in line or f"label={t.event}," in line


def test_dot_bundles_extended_rows_of_one_event_into_one_arrowhead(extended):
    source = dot_source(extended)
    for t, edge_id in extended.edge_ids.items():
        line = next(line for line in source.splitlines() if f"[id={edge_id}," in line)
        # All 26 section 3.10 rows lead to CLOSED; each event's rows share one arrowhead.
        shared = re.search(r'samehead=("?)(.*?)\1[,\]]', line)
        assert (shared is not None and shared.group(2) == t.event) == t.extended, line
    assert "samehead" not in dot_source(tcp_table())


def test_samehead_only_where_dot_can_join_the_arrows():
    # A lone row of an event gets no samehead; nor does a state with more groups of rows
    # than dot joins (five), where dot would warn and ignore the rest.
    events = ["e1", "e2", "e3", "e4", "e5", "e6"]
    many = Table(
        [Transition(s, e, "Z", extended=True) for s in ("A", "B") for e in events]
        + [Transition("Z", "lone", "A", extended=True), Transition("Z", "go", "B")]
    )
    assert "samehead" not in dot_source(many)
    five = Table(
        [Transition(s, e, "Z", extended=True) for s in ("A", "B") for e in events[:5]]
        + [Transition("Z", "lone", "A", extended=True), Transition("Z", "go", "B")]
    )
    source = dot_source(five)
    assert source.count("samehead=") == 10
    lone = next(line for line in source.splitlines() if "[id=edge_Z__lone," in line)
    assert "samehead" not in lone


def test_dot_highlight_is_carried_as_attributes():
    m = Machine()
    m.run("active open", "SYN,ACK")
    source = dot_source(state=m.state, last=m.last, visited=m.visited, theme="dark")
    table = tcp_table()
    node = next(line for line in source.splitlines() if line.startswith("  state_ESTABLISHED ["))
    assert 'class="state visited current"' in node
    assert "penwidth=3" in node
    assert 'fillcolor="#e69f00"' in node
    edge = next(line for line in source.splitlines() if f"id={table.edge_ids[m.last]}," in line)
    assert "last" in re.search(r'class="([^"]*)"', edge).group(1).split()
    assert 'bgcolor="#1e1e1e"' in source


def test_dot_rejects_bad_theme_and_state():
    with pytest.raises(RenderError, match=r"unknown theme: 'neon' \(must be one of \['light'"):
        dot_source(theme="neon")
    with pytest.raises(UnknownState, match="SYN-WAIT"):
        dot_source(state="SYN-WAIT")


def test_dot_escapes_hostile_labels():
    source = dot_source(hostile_table())
    # State names are plain labels: quotes escaped, backslashes doubled so that Graphviz does
    # not expand \N, \E, \l. HTML-like labels: markup characters become entities as well.
    assert 'label="A <b>&amp;amp; \\"q\\" \\\\N ] { ü"' in source
    assert "label=\"B\\\\n'x'\\\\\"" in source
    assert "go &lt;i&gt; &amp; &quot;now&quot; \\\\l ] {x} é \\\\E" in source
    assert "<TD>a\\\\b &lt;c&gt;</TD></TR><TR><TD>snd SYN&amp;&quot;ACK&quot;</TD>" in source


# -- the laid-out SVG ---------------------------------------------------------------------------


def test_layout_svg_is_inlinable_xml_with_one_element_per_state_and_transition(any_table):
    svg = layout_svg(any_table)
    assert svg.startswith("<svg")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    root = parse(svg)
    assert root.get("class") == "tcpviz-diagram"
    # A named group, not an img: ARIA hides the children of an img, and the states are buttons.
    assert root.get("role") == "group"
    assert "11 states" in root.get("aria-label")
    nodes, edges = groups(root, "node"), groups(root, "edge")
    assert sorted(g.get("id") for g in nodes) == sorted(any_table.state_ids.values())
    assert sorted(g.get("id") for g in edges) == sorted(any_table.edge_ids.values())
    ids = [element.get("id") for element in root.iter() if element.get("id")]
    assert len(ids) == len(set(ids))


def test_states_are_titled_focusable_buttons(classic):
    root = parse(layout_svg(classic))
    for group in groups(root, "node"):
        state = group.get("data-state")
        assert group.get("id") == classic.state_ids[state]
        assert group.get("class").split() == ["node", "state"]
        assert title(group) == f"{state}: {classic.descriptions[state]}"
        assert group.get("aria-label") == title(group)
        assert group.get("tabindex") == "0"
        assert group.get("role") == "button"
        # CLOSED is drawn twice, as in Figure 5: both boxes in its one <g>.
        assert texts(group) == [state] * (2 if state == "CLOSED" else 1)


def test_transitions_are_titled_with_the_rfc_label(extended):
    root = parse(layout_svg(extended))
    by_id = {v: k for k, v in extended.edge_ids.items()}
    for group in groups(root, "edge"):
        t = by_id[group.get("id")]
        assert title(group) == t.label  # the full RFC label, even where the drawing is short
        assert group.get("aria-label") == f"{t.label}, from {t.source} to {t.target}"
        assert group.get("role") == "img"  # read once, by its label
        if t.effect and not t.extended:
            assert texts(group) == [t.event, *t.effect.split(", ")]
        else:
            assert texts(group) == [t.event]
        assert ("extended" in group.get("class").split()) == t.extended
        assert (group.get("data-event"), group.get("data-source")) == (t.event, t.source)
    listen_syn = next(g for g in groups(root, "edge") if g.get("id") == "edge_LISTEN__rcv_syn")
    assert title(listen_syn) == "rcv SYN / snd SYN,ACK"


# Roles whose children ARIA makes presentational (WAI-ARIA 1.2, "Children Presentational: True").
# role="none" is not one: it removes an element's own role, never its children's.
PRESENTATIONAL_CHILDREN = {
    "button",
    "checkbox",
    "img",
    "math",
    "menuitemcheckbox",
    "menuitemradio",
    "meter",
    "option",
    "progressbar",
    "radio",
    "scrollbar",
    "separator",
    "slider",
    "switch",
    "tab",
}


def test_screen_readers_can_reach_every_state(any_table):
    root = parse(layout_svg(any_table))
    assert root.get("role") == "group"
    assert root.get("aria-label").startswith(f"{any_table.name}: state diagram with 11 states")
    parents = {child: parent for parent in root.iter() for child in parent}
    buttons = [e for e in root.iter() if e.get("role") == "button"]
    assert sorted(b.get("id") for b in buttons) == sorted(any_table.state_ids.values())
    for button in buttons:
        assert button.get("tabindex") == "0" and button.get("aria-label")
        element = button
        while element in parents:
            element = parents[element]
            assert element.get("role") not in PRESENTATIONAL_CHILDREN, (button.get("id"), element)
    # The graph inside is not a second group with the same name.
    assert [g.get("role") for g in root.findall(f"{NS}g")] == ["none"]
    # Every state and transition keeps its own <title> (the tooltip).
    for group in groups(root, "node") + groups(root, "edge"):
        assert len(group.findall(f"{NS}title")) == 1


def test_extended_class_marks_exactly_the_section_3_10_rows(extended):
    marked = set(with_class(layout_svg(extended), "extended"))
    assert marked == {extended.edge_ids[t] for t in SECTION_3_10}
    assert not marked & {extended.edge_ids[t] for t in FIGURE_5}


def node_centres(svg: str) -> dict[str, tuple[float, float]]:
    """Each state's position, from its box (Graphviz's y grows downwards in the SVG)."""
    centres = {}
    for group in groups(parse(svg), "node"):
        numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", group.find(f"{NS}path").get("d"))]
        xs, ys = numbers[0::2], numbers[1::2]
        centres[group.get("data-state")] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    return centres


def test_the_built_in_layout_looks_like_the_textbook_figure(any_table):
    at = node_centres(layout_svg(any_table))

    def row(*states):
        return {round(at[s][1]) for s in states}

    assert at["CLOSED"][1] == min(y for _, y in at.values())  # CLOSED on top
    assert at["TIME-WAIT"][1] == max(y for _, y in at.values())  # TIME-WAIT at the bottom
    assert len(row("SYN-RECEIVED", "SYN-SENT")) == 1
    assert len(row("FIN-WAIT-1", "CLOSE-WAIT")) == 1
    assert len(row("FIN-WAIT-2", "CLOSING", "LAST-ACK")) == 1
    ordered = ["CLOSED", "LISTEN", "SYN-SENT", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "TIME-WAIT"]
    assert [at[s][1] for s in ordered] == sorted(at[s][1] for s in ordered)
    # Passive open and active close on the left, active open and passive close on the right.
    assert at["SYN-RECEIVED"][0] < at["SYN-SENT"][0]
    assert at["FIN-WAIT-1"][0] < at["CLOSE-WAIT"][0]
    assert at["FIN-WAIT-2"][0] < at["CLOSING"][0] < at["LAST-ACK"][0]
    # Three straight columns below CLOSED, as in the figure: the section 3.10 arrows of the
    # extended table must not pull a state out of its column (TIME-WAIT once drifted right).
    columns = {
        "left": ["SYN-RECEIVED", "FIN-WAIT-1", "FIN-WAIT-2"],
        "middle": ["LISTEN", "ESTABLISHED", "CLOSING", "TIME-WAIT"],
        "right": ["SYN-SENT", "CLOSE-WAIT", "LAST-ACK"],
    }
    x = {name: [at[s][0] for s in states] for name, states in columns.items()}
    for name, xs in x.items():
        assert max(xs) - min(xs) < 1, (name, xs)
    assert x["left"][0] < x["middle"][0] < x["right"][0]


def test_the_extended_figure_is_the_classic_figure_plus_its_rows(classic, extended):
    # The rows beyond Figure 5 are routed after the figure: no state moves when they are
    # shown, so the two figures can be compared (and toggled) without the eye hunting.
    def relative(table):  # to CLOSED (the band under the extended figure adds height)
        at = node_centres(layout_svg(table))
        x0, y0 = at["CLOSED"]
        return {state: (round(x - x0, 1), round(y - y0, 1)) for state, (x, y) in at.items()}

    assert relative(extended) == relative(classic)
    for table in (classic, extended):
        _, _, width, height = (float(v) for v in parse(layout_svg(table)).get("viewBox").split())
        # Near-square: it fills what a 4:3 or 16:9 screen leaves beside the widget's panel.
        assert 1.0 < width / height < 1.4, (width, height)


def test_closed_is_one_state_drawn_twice(any_table):
    root = parse(layout_svg(any_table))
    closed = [g for g in groups(root, "node") if g.get("data-state") == "CLOSED"]
    assert len(closed) == 1  # one state, one element: highlighted, clicked and named as one
    boxes = closed[0].findall(f"{NS}path")
    assert len(boxes) == 2
    top, bottom = (
        min(float(n) for n in re.findall(r"-?\d+\.?\d*", b.get("d"))[1::2]) for b in boxes
    )
    assert top < bottom  # one on top, one at the bottom (the closing rows end there)
    assert "copy_" not in layout_svg(any_table)
    assert with_class(highlight(layout_svg(any_table), any_table, state="CLOSED"), "current") == [
        "state_CLOSED"
    ]


def arrow_tips(group: ET.Element) -> set[tuple[int, int]]:
    """The points of an edge's arrowhead polygons, rounded."""
    tips = set()
    for polygon in group.findall(f"{NS}polygon"):
        numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", polygon.get("points"))]
        rounded = [round(v) for v in numbers]
        tips.update(zip(rounded[0::2], rounded[1::2], strict=True))
    return tips


def test_built_in_tables_need_no_graphviz(no_graphviz, any_table):
    svg = layout_svg(any_table)
    assert len(groups(parse(svg), "node")) == 11
    marked = highlight(svg, any_table, state="LISTEN", theme="dark")
    assert with_class(marked, "current") == ["state_LISTEN"]
    diagram = Diagram(any_table, state="SYN-SENT", theme="print")
    assert "tcpviz-theme-print" in diagram.svg()
    assert diagram.dot.startswith("digraph")
    assert parse(diagram.pipe("svg")).get("class") == "tcpviz-diagram tcpviz-theme-print"
    with pytest.raises(GraphvizNotFound):
        diagram.pipe("png")


def test_packaged_layouts_are_keyed_by_the_dot_source(any_table):
    assert layout_key(any_table) in packaged_layouts()


def test_the_same_table_gets_the_same_svg_object(classic):
    assert layout_svg(classic) is layout_svg(classic)
    assert layout_svg() is layout_svg(classic)


@exe
def test_a_custom_table_is_laid_out_by_dot_once(monkeypatch):
    render.clear_caches()
    runs = []
    real = render.run_dot
    # Patched where raw_layout looks it up.
    monkeypatch.setattr(layout, "run_dot", lambda *a, **k: runs.append(a) or real(*a, **k))
    table = two_states()
    first = layout_svg(table)
    again = layout_svg(Table([Transition("A", "go", "B"), Transition("B", "back", "A")]))
    assert len(runs) == 1
    assert first == again
    root = parse(first)
    assert [g.get("id") for g in groups(root, "node")] == ["state_A", "state_B"]
    assert sorted(g.get("id") for g in groups(root, "edge")) == ["edge_A__go", "edge_B__back"]
    marked = highlight(first, table, state="B", last=table.transitions[0], visited=["A"])
    assert with_class(marked, "current") == ["state_B"]
    assert with_class(marked, "last") == ["edge_A__go"]


@exe
def test_hostile_labels_come_out_right_in_the_svg():
    table = hostile_table()
    svg = layout_svg(table)
    root = parse(svg)  # parses: nothing leaked unescaped into the XML
    assert root.get("aria-label").startswith("Hostile & <odd>: state diagram")
    assert title(root.find(f"{NS}g")) == "Hostile & <odd>"
    nodes = {g.get("data-state"): g for g in groups(root, "node")}
    assert texts(nodes[HOSTILE_STATE]) == [HOSTILE_STATE]
    assert texts(nodes[HOSTILE_OTHER]) == [HOSTILE_OTHER]
    assert title(nodes[HOSTILE_STATE]) == f'{HOSTILE_STATE}: first <&> "state"'
    edge = next(g for g in groups(root, "edge") if g.get("data-event") == HOSTILE_EVENT)
    effect = f"{HOSTILE_ACTION}, snd {HOSTILE_SENT}"
    assert texts(edge) == [HOSTILE_EVENT, *effect.split(", ")]
    assert title(edge) == f"{HOSTILE_EVENT} / {effect}"
    marked = highlight(svg, table, state=HOSTILE_OTHER, last=table.transitions[0])
    assert with_class(marked, "current") == [table.state_ids[HOSTILE_OTHER]]
    # The standalone export and the DOT export round-trip as well.
    assert parse(Diagram(table, state=HOSTILE_STATE).pipe("svg")) is not None


@exe
def test_control_characters_cannot_break_the_xml():
    # A table refuses them outright (issue 8: never a silent change)...
    with pytest.raises(TableError, match=r"U\+0001"):
        Table([Transition("A\x01", "go\x1b", "B"), Transition("B", "back", "A\x01")])
    # ...and the drawing still scrubs whatever XML cannot carry, should any reach it.
    from tcpviz.drawing.dotsource import _printable

    assert _printable("A\x01\x1b\ud800\ufffe\uffff\tB") == "A\ufffd\ufffd\ufffd\ufffd\ufffd\tB"


# -- highlight ----------------------------------------------------------------------------------


def test_highlight_marks_exactly_the_right_elements(classic):
    m = Machine()
    m.run("passive open", "SYN", "ACK", "FIN")
    svg = highlight(
        layout_svg(),
        classic,
        state=m.state,
        last=m.last,
        visited=m.visited,
        taken=m.history,
    )
    root = parse(svg)
    assert with_class(svg, "current") == ["state_CLOSE_WAIT"]
    assert with_class(svg, "last") == ["edge_ESTABLISHED__rcv_fin"]
    assert set(with_class(svg, "visited")) == {classic.state_ids[s] for s in m.visited}
    assert set(with_class(svg, "taken")) == {classic.edge_ids[t] for t in m.history}
    current = [g.get("id") for g in root.iter(f"{NS}g") if g.get("aria-current") == "true"]
    assert current == ["state_CLOSE_WAIT"]

    # Only classes and aria-current changed: the rest is the layout, byte for byte.
    def unmarked(match: re.Match) -> str:
        kept = [
            c for c in match.group(1).split() if c not in {"current", "last", "visited", "taken"}
        ]
        return f'class="{" ".join(kept)}"'

    plain = re.sub(r'class="([^"]*)"', unmarked, svg).replace(' aria-current="true"', "")
    assert plain == layout_svg()


def test_highlight_replaces_earlier_highlight_and_theme(classic):
    first = highlight(layout_svg(), classic, state="LISTEN", visited=["CLOSED"], theme="dark")
    second = highlight(first, classic, state="SYN-SENT", last=classic.transitions[1])
    assert with_class(second, "current") == ["state_SYN_SENT"]
    assert with_class(second, "visited") == []
    assert parse(second).get("class") == "tcpviz-diagram tcpviz-theme-dark"  # theme kept
    third = highlight(second, classic, theme="print")
    assert parse(third).get("class") == "tcpviz-diagram tcpviz-theme-print"
    assert with_class(third, "current") == [] and with_class(third, "last") == []
    assert "aria-current" not in third


def test_highlight_accepts_aliases_and_edge_ids(classic):
    svg = highlight(layout_svg(), classic, state="syn_recv", last="edge_LISTEN__rcv_syn")
    assert with_class(svg, "current") == ["state_SYN_RECEIVED"]
    assert with_class(svg, "last") == ["edge_LISTEN__rcv_syn"]


def test_highlight_errors_name_the_bad_value(classic):
    svg = layout_svg()
    with pytest.raises(UnknownState, match=r"'NOPE' \(must be one of \['CLOSED'"):
        highlight(svg, classic, state="NOPE")
    with pytest.raises(RenderError, match=r"unknown theme: 'sepia'.*'auto'"):
        highlight(svg, classic, theme="sepia")
    with pytest.raises(RenderError, match="edge_nope"):
        highlight(svg, classic, last="edge_nope")
    foreign = Transition("A", "go", "B")
    with pytest.raises(RenderError, match="not in"):
        highlight(svg, classic, last=foreign)
    # A table whose ids the SVG does not have: the SVG was laid out from another table.
    with pytest.raises(RenderError, match="no element with id 'state_A'"):
        highlight(svg, two_states(), state="A")


def test_highlight_never_runs_graphviz(no_graphviz, classic):
    svg = layout_svg(classic)
    for state in classic.states:
        marked = highlight(svg, classic, state=state, visited=classic.states[:3], theme="auto")
        assert with_class(marked, "current") == [classic.state_ids[state]]


EVENTS = [e.name for e in TCP_EVENTS]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EVENTS), max_size=12), st.booleans())
def test_highlight_follows_any_run_of_the_machine(events, extended):
    machine = Machine(extended=extended)
    table = machine.table
    svg = layout_svg(table)
    for event in events:
        if not machine.can_fire(event):
            continue
        machine.fire(event)
        marked = Diagram.from_machine(machine, theme="light").svg()
        assert marked == highlight(
            svg,
            table,
            state=machine.state,
            last=machine.last,
            visited=machine.visited,
            taken=machine.history,
            theme="light",
        )
        assert with_class(marked, "current") == [table.state_ids[machine.state]]
        assert with_class(marked, "last") == [table.edge_ids[machine.last]]
        assert set(with_class(marked, "visited")) == {table.state_ids[s] for s in machine.visited}


# -- themes -------------------------------------------------------------------------------------


def css_rules(css: str) -> list[tuple[str, str]]:
    """(selector, body) pairs of the style sheet, @media blocks flattened."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{(.*)\}\s*$", r"\1", css, flags=re.M)
    return [(s.strip(), b.strip()) for s, b in re.findall(r"([^{}]+)\{([^{}]*)\}", css)]


def test_every_svg_embeds_the_style_sheet_once(classic):
    root = parse(layout_svg(classic))
    styles = root.findall(f"{NS}style")
    assert len(styles) == 1
    assert styles[0].text.strip() == style_sheet().strip()


def test_each_theme_is_scoped_to_its_own_class():
    rules = css_rules(style_sheet())
    for theme in THEMES:
        assert any(f"svg.tcpviz-diagram.tcpviz-theme-{theme} " in s for s, _ in rules), theme
    for selectors, body in rules:
        for selector in selectors.split(","):
            # Every rule applies inside a tcpviz diagram only; colours only inside one theme.
            assert "svg.tcpviz-diagram" in selector, selector
            if re.search(r"(fill|stroke|outline-color):\s*#", body):
                assert "tcpviz-theme-" in selector, selector


def test_highlight_rules_exist_for_every_theme():
    css = style_sheet()
    for theme in THEMES:
        scope = f"svg.tcpviz-diagram.tcpviz-theme-{theme}"
        for selector in ("g.node.current path", "g.node.visited path", "g.edge.last path"):
            assert f"{scope} {selector}" in css, (theme, selector)
        assert f"{scope} g.edge.extended path" in css
        assert f"{scope} g.node:focus-visible" in css
    assert "g.node:hover" in css and "g.node:focus-visible { outline: 3px solid" in css


def test_auto_follows_jupyterlab_then_the_system():
    css = style_sheet()
    assert "var(--jp-layout-color0, " in css
    assert "var(--jp-content-font-color1, " in css
    assert "@media (prefers-color-scheme: dark) { svg.tcpviz-diagram.tcpviz-theme-auto {" in css
    assert 'body[data-jp-theme-light="false"] svg.tcpviz-diagram.tcpviz-theme-auto' in css


def test_css_is_safe_to_inline_in_html():
    # In an HTML page the style element's text is not XML: no markup characters at all.
    assert not set("<>&") & set(style_sheet())


def test_print_theme_is_black_white_and_grey():
    palette = themes._PALETTES["print"]
    for name in themes._COLOUR_FIELDS:
        colour = getattr(palette, name)
        assert colour[1:3] == colour[3:5] == colour[5:7], (name, colour)
    # Without colour, weight tells current and last apart from the rest.
    assert float(palette.current_width) > float(palette.node_width)
    assert float(palette.last_width) > float(palette.taken_width) > float(palette.edge_width)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_colour_is_never_the_only_signal(theme):
    styles = themes._styles(themes._PALETTES[theme])
    assert (
        styles[("node-shape", "current")]["stroke-width"]
        > styles[("node-shape", "")]["stroke-width"]
    )
    assert styles[("node-text", "current")]["font-weight"] == "bold"
    assert float(styles[("edge-line", "last")]["stroke-width"]) > float(
        styles[("edge-line", "taken")]["stroke-width"]
    )
    assert styles[("edge-text", "last")]["font-weight"] == "bold"
    assert "stroke-dasharray" in styles[("edge-line", "extended")]


def relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark", "print"])
def test_text_contrast_meets_wcag_aa(theme):
    p = themes._PALETTES[theme]
    pairs = [
        (p.text, p.background),
        (p.text, p.node_fill),
        (p.muted, p.background),
        (p.visited_text, p.visited_fill),
        (p.current_text, p.current_fill),
        (p.last_text, p.background),
    ]
    for fg, bg in pairs:
        assert contrast(fg, bg) >= 4.5, (theme, fg, bg)


def test_the_diagram_sets_the_theme_class():
    for theme in THEMES:
        root = parse(Diagram(theme=theme).svg())
        assert root.get("class") == f"tcpviz-diagram tcpviz-theme-{theme}"


# -- Diagram ------------------------------------------------------------------------------------


def test_diagram_from_machine():
    m = Machine()
    m.run("active open", "SYN,ACK", "close")
    d = Diagram.from_machine(m, theme="dark")
    assert (d.state, d.last, d.visited, d.theme) == (m.state, m.last, m.visited, "dark")
    svg = d.svg()
    assert with_class(svg, "current") == ["state_FIN_WAIT_1"]
    assert with_class(svg, "last") == ["edge_ESTABLISHED__close"]
    assert d.table is m.table


def test_diagram_defaults_and_extended():
    assert Diagram().table is tcp_table()
    assert Diagram(extended=True).table is tcp_table(extended=True)
    assert with_class(Diagram().svg(), "current") == []


def test_diagram_errors_are_tcpviz_errors_listing_valid_values():
    with pytest.raises(RenderError) as caught:
        Diagram(theme="blue")
    assert isinstance(caught.value, TcpvizError) and isinstance(caught.value, ValueError)
    assert "['light', 'dark', 'print', 'auto']" in str(caught.value)
    with pytest.raises(UnknownState, match="must be one of"):
        Diagram(state="HALF-OPEN")
    with pytest.raises(RenderError, match=r"\['dot', 'pdf', 'png', 'svg'\]"):
        Diagram().pipe("jpeg")


def test_jupyter_display():
    d = Diagram(state="LISTEN")
    bundle = d._repr_mimebundle_()
    assert list(bundle) == ["text/html", "image/svg+xml"]
    assert bundle["image/svg+xml"] == d.svg() == d._repr_svg_()
    # Inline, so the auto theme reads the front end's colours, and never wider than the output.
    assert d.theme == "auto" and "tcpviz-theme-auto" in bundle["text/html"]
    assert '<svg style="max-width:100%;height:auto" ' in bundle["text/html"]
    assert bundle["text/html"] == d._repr_html_()
    assert list(d._repr_mimebundle_(include=["text/html"])) == ["text/html"]
    assert d._repr_mimebundle_(exclude=["image/svg+xml", "text/html"]) == {}
    assert "LISTEN" in repr(d)


def test_svg_export_is_standalone_and_carries_its_colours():
    data = Diagram(state="ESTABLISHED", theme="dark").pipe("svg")
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg')
    root = parse(data)
    current = next(g for g in groups(root, "node") if g.get("id") == "state_ESTABLISHED")
    shape = current.find(f"{NS}path")
    # Written as attributes too, for slide software that ignores the style sheet.
    assert (shape.get("fill"), shape.get("stroke-width")) == ("#e69f00", "3")
    background = root.find(f".//{NS}polygon[@class='tcpviz-background']")
    assert background.get("fill") == "#1e1e1e"


def test_static_exports_have_labelled_states_but_no_dead_buttons(any_table, tmp_path):
    d = Diagram(any_table, state="SYN-RECEIVED", theme="print")
    saved = d.save(tmp_path / "slide.svg").read_bytes()
    assert saved == d.pipe("svg")
    text = saved.decode()
    assert "tabindex" not in text and 'role="button"' not in text
    root = parse(saved)
    # Still a named group whose states a screen reader reaches, each by its name.
    assert root.get("role") == "group"
    states = groups(root, "node")
    assert sorted(g.get("id") for g in states) == sorted(any_table.state_ids.values())
    for group in states:
        state = group.get("data-state")
        assert group.get("role") == "img"
        assert title(group) == f"{state}: {any_table.descriptions[state]}"
        assert group.get("aria-label") == title(group)
        assert {"node", "state"} <= set(group.get("class").split())
    current = next(g for g in states if g.get("id") == "state_SYN_RECEIVED")
    assert current.get("aria-current") == "true" and "current" in current.get("class").split()
    # What the widget and the standalone page draw keeps its buttons.
    for interactive in (layout_svg(any_table), d.svg()):
        nodes = groups(parse(interactive), "node")
        assert [(g.get("role"), g.get("tabindex")) for g in nodes] == [("button", "0")] * 11


def bake_with_elementtree(svg: str, theme: str) -> str:
    """The reference for the standalone SVG: parse the highlighted SVG and set every shape's
    colours with ElementTree (what tcpviz did before it baked by splicing strings)."""
    palette = themes._PALETTES["light" if theme == "auto" else theme]
    styles = themes._styles(palette)
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    root = ET.fromstring(svg)
    for element in root.iter(f"{NS}polygon"):
        if "tcpviz-background" in element.get("class", "").split():
            element.set("fill", palette.background)
            element.set("stroke", "none")
    for group in root.iter(f"{NS}g"):
        classes = set(group.get("class", "").split())
        kind = "node" if "node" in classes else "edge" if "edge" in classes else None
        if kind is None:
            continue
        if kind == "node" and group.get("role") == "button":
            # Nothing in a file acts on a state: it is an image, not a focusable button.
            del group.attrib["tabindex"]
            group.set("role", "img")
        if "extended" in classes and not classes & {"enabled", "leaving", "last", "taken"}:
            # A row beyond Figure 5 the page hides: hidden for programs that ignore CSS too
            # (the attribute right after the class, where the splice puts it).
            attributes = list(group.attrib.items())
            at = [name for name, _ in attributes].index("class") + 1
            group.attrib.clear()
            group.attrib.update([*attributes[:at], ("display", "none"), *attributes[at:]])
        flags = [f for f in ("visited", "current", "extended", "taken", "last") if f in classes]
        for role, properties in themes._overlay(styles, kind, flags).items():
            for tag in themes._ROLES[role]:
                for element in group.iter(f"{NS}{tag}"):
                    for name, value in properties.items():
                        element.set(name, value)
    return ET.tostring(root, encoding="unicode")


def standalone_reference(d: Diagram) -> bytes:
    body = bake_with_elementtree(d.svg(), d.theme)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


@pytest.mark.parametrize("theme", THEMES)
def test_svg_export_is_the_highlighted_svg_with_every_colour_baked_in(any_table, theme):
    machine = Machine(table=any_table)
    diagrams = [Diagram(any_table, theme=theme)]
    for event in ["passive open", "SYN", "ACK", "FIN", "CLOSE", "ACK"]:
        machine.fire(event)
        diagrams.append(Diagram.from_machine(machine, theme=theme))
    for d in diagrams:
        # Byte for byte what parsing the highlighted SVG and setting the colours gives.
        assert d.pipe("svg") == standalone_reference(d)


@exe
def test_svg_export_of_hostile_labels_bakes_like_elementtree():
    table = hostile_table()
    for theme in THEMES:
        d = Diagram(table, theme=theme, state=HOSTILE_OTHER, last=table.transitions[0])
        assert d.pipe("svg") == standalone_reference(d)


def write_both_ways(table: Table, monkeypatch) -> tuple[str, str, svgtemplate._Template | None]:
    """The laid-out SVG written by tcpviz's writer and by ElementTree, and the writer's
    template."""
    raw = render.raw_layout(table)
    svg, template = layout._postprocessed(raw, table)
    with monkeypatch.context() as patched:
        patched.setattr(layout, "_write", lambda root: None)  # where _postprocessed finds it
        reference, none = layout._postprocessed(raw, table)
    assert none is None
    return svg, reference, template


def check_written_like_elementtree(table: Table, monkeypatch) -> None:
    svg, reference, template = write_both_ways(table, monkeypatch)
    assert template is not None
    assert svg == reference  # the same text as ElementTree's
    render.clear_caches()
    assert svgtemplate._template(svg) == template  # the same cuts as scanning the text


def test_the_layout_is_written_as_elementtree_writes_it(any_table, monkeypatch):
    check_written_like_elementtree(any_table, monkeypatch)


@exe
def test_custom_layouts_are_written_as_elementtree_writes_them(monkeypatch):
    # What a table may hold that a writer could get wrong: markup, quotes, line breaks and
    # tabs in descriptions and the name (control characters a table refuses: see above).
    weird = Table(
        [Transition("A<&>", "go\"'", "B q", action="x]]>y"), Transition("B q", "back", "A<&>")],
        name="odd\r\nname",
        descriptions={"A<&>": "tab\there\r\nand a new line", "B q": "&amp; <!-- -->"},
    )
    for table in (hostile_table(), two_states(), weird):
        check_written_like_elementtree(table, monkeypatch)


@pytest.mark.parametrize(
    "svg",
    [
        # A name in a namespace the writer does not know, a comment, no class on the root.
        '<svg xmlns="http://www.w3.org/2000/svg" class="c"><g xml:space="preserve" /></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="urn:x" class="c"><x:g /></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><g /></svg>',
    ],
)
def test_trees_the_writer_does_not_know_are_left_to_elementtree(svg):
    assert svgtemplate._write(ET.fromstring(svg)) is None
    root = ET.fromstring(svg)
    root.append(ET.Comment("a comment"))
    assert svgtemplate._write(root) is None


@pytest.mark.parametrize("value", ['"q"', "a&b", "a<b", "a>b", "a\nb", "a\tb", "a\rb", "plain"])
def test_the_writer_escapes_like_elementtree(value):
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'class="tcpviz-diagram"><g id="e" class="edge">'
        '<a xlink:href="#x"><text x="1">a &lt; b &amp; c &gt; d "e"</text></a>'
        '<path d="M0,0" /></g>tail &amp;</svg>'
    )
    root.find(f"{NS}g/{NS}path").set("data-note", value)
    root.find(f"{NS}g").set("aria-label", value)  # on a slot's tag too
    text, template = svgtemplate._write(root)
    assert text == ET.tostring(root, encoding="unicode")
    assert [s.tag for s in template.shapes] == ["text", "path"]


def test_a_cold_export_parses_the_layout_once_and_never_serialises_a_tree(
    tmp_path, monkeypatch, any_table
):
    parsed, serialised = [], []
    real_parse = ET.fromstring
    monkeypatch.setattr(ET, "fromstring", lambda *a, **k: parsed.append(1) or real_parse(*a, **k))
    monkeypatch.setattr(ET, "tostring", lambda *a, **k: serialised.append(1) or "")
    render.clear_caches()
    Diagram(any_table, state="ESTABLISHED", theme="dark").save(tmp_path / "slide.svg")
    assert (len(parsed), len(serialised)) == (1, 0)
    # Saving again (another state, theme) parses nothing: the layout and its cuts are kept.
    Diagram(any_table, state="LISTEN", theme="print").save(tmp_path / "again.svg")
    assert (len(parsed), len(serialised)) == (1, 0)
    assert with_class((tmp_path / "again.svg").read_text(), "current") == ["state_LISTEN"]


def test_save_svg_and_dot_without_graphviz(no_graphviz, tmp_path):
    d = Diagram(state="TIME-WAIT")
    svg_path = d.save(tmp_path / "slide.svg")
    assert svg_path == tmp_path / "slide.svg"
    assert with_class(svg_path.read_text(), "current") == ["state_TIME_WAIT"]
    assert d.save(tmp_path / "figure.gv").read_text() == d.dot
    assert d.save(tmp_path / "figure.txt", format="dot").read_text() == d.dot
    assert stat.S_IMODE(svg_path.stat().st_mode) & 0o044  # readable by others, like any file


def test_save_rejects_unknown_formats(tmp_path):
    with pytest.raises(RenderError, match=r"'\.jpg'.*\['dot', 'pdf', 'png', 'svg'\]"):
        Diagram().save(tmp_path / "slide.jpg")
    with pytest.raises(RenderError, match="unknown format: 'gif'"):
        Diagram().save(tmp_path / "slide.svg", format="gif")
    assert list(tmp_path.iterdir()) == []


@exe
@pytest.mark.parametrize(("format", "magic"), [("png", PNG), ("pdf", b"%PDF-")])
def test_png_and_pdf(tmp_path, format, magic):
    m = Machine()
    m.run("passive open", "SYN")
    d = Diagram.from_machine(m, theme="print")
    assert d.pipe(format).startswith(magic)
    saved = d.save(tmp_path / f"slide.{format.upper()}")
    assert saved.read_bytes().startswith(magic)


def test_formats_constant():
    assert FORMATS == ("svg", "png", "pdf", "dot")
    assert THEMES == ("light", "dark", "print", "auto")


# -- missing or failing Graphviz ----------------------------------------------------------------


def test_missing_dot_says_how_to_install_it(empty_path):
    with pytest.raises(GraphvizNotFound) as caught:
        layout_svg(two_states())
    message = str(caught.value)
    for command in (
        "apt-get install graphviz",
        "sudo apt install graphviz",
        "brew install graphviz",
        "conda install -c conda-forge graphviz",
        "winget install graphviz",
    ):
        assert command in message
    assert "built-in TCP diagrams" in message and "without Graphviz" in message
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, TcpvizError)


def test_without_dot_the_built_in_diagram_still_works_but_png_does_not(
    empty_path, tmp_path, monkeypatch
):
    monkeypatch.setattr(render, "_rasterize", lambda *args: None)  # nor CairoSVG
    d = Diagram(state="LISTEN")
    assert with_class(d.svg(), "current") == ["state_LISTEN"]
    with pytest.raises(GraphvizNotFound, match="brew install graphviz"):
        d.save(tmp_path / "slide.png")
    assert list(tmp_path.iterdir()) == []


def fake_dot(directory, script: str) -> None:
    program = directory / "dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)


@pytest.mark.skipif(os.name != "posix", reason="the fake dot is a shell script")
def test_dot_failing_midway_leaves_the_old_file(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Writes the start of a PNG, then fails: none of it may reach the destination.
    fake_dot(
        bin_dir, "cat > /dev/null\nprintf '\\211PNG partial'\necho 'out of memory' >&2\nexit 3\n"
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(render, "_rasterize", lambda *args: None)  # dot draws the PNG
    out = tmp_path / "out"
    out.mkdir()
    target = out / "slide.png"
    target.write_bytes(b"the old slide")
    with pytest.raises(RenderError, match="exit status 3: out of memory"):
        Diagram(state="CLOSING").save(target)
    assert target.read_bytes() == b"the old slide"
    assert [p.name for p in out.iterdir()] == ["slide.png"]


@pytest.mark.skipif(os.name != "posix", reason="the fake dot is a shell script")
def test_dot_hanging_is_cut_off(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_dot(bin_dir, "exec sleep 30\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(RenderError, match=r"did not finish within 0\.5 s"):
        render.run_dot("digraph {}", "png", timeout=0.5)


def test_the_drawing_modules_do_not_shadow_the_package_exports():
    # A submodule named like a lazy export (tcpviz.highlight) would replace the function on
    # the package once imported.
    import tcpviz
    import tcpviz.drawing.diagram  # loads every drawing module

    for name in tcpviz.__all__:
        assert not isinstance(getattr(tcpviz, name), type(tcpviz)), name
    assert tcpviz.highlight is highlight


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("via", ["cairosvg", "dot"])
def test_png_at_a_chosen_resolution(tmp_path, via, monkeypatch):
    if via == "cairosvg":
        pytest.importorskip("cairosvg")
    else:
        if shutil.which("dot") is None:
            pytest.skip("Graphviz's dot is not installed")
        monkeypatch.setattr(render, "_rasterize", lambda *args: None)
    d = Diagram(state="ESTABLISHED")
    width, height = png_size(d.pipe("png"))
    assert png_size(d.pipe("png", scale=2)) == pytest.approx((2 * width, 2 * height), abs=2)
    assert png_size(d.pipe("png", dpi=288)) == pytest.approx((3 * width, 3 * height), abs=3)
    path = d.save(tmp_path / "slide.png", dpi=192)
    assert png_size(path.read_bytes()) == pytest.approx((2 * width, 2 * height), abs=2)


def test_png_from_the_svg_needs_no_graphviz(tmp_path, monkeypatch):
    pytest.importorskip("cairosvg")
    d = Diagram(extended=True, state="ESTABLISHED", theme="dark")
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)  # no dot
    assert d.pipe("png").startswith(PNG)
    assert d.pipe("pdf").startswith(b"%PDF")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dpi": 96, "scale": 2}, "dpi or scale, not both"),
        ({"dpi": 5}, "dpi must be a number from 24 to 1200, not 5"),
        ({"scale": float("nan")}, "scale must be a number from 0.25 to 12.5"),
        ({"scale": "big"}, "scale must be a number"),
    ],
)
def test_png_resolution_errors_name_the_bad_value(options, message):
    with pytest.raises(RenderError, match=re.escape(message)):
        Diagram().pipe("png", **options)
    with pytest.raises(RenderError, match="svg is a vector format"):
        Diagram().pipe("svg", dpi=300)


def test_exports_hide_the_rows_the_page_hides():
    # In the file as on the page: the current state's rows beyond Figure 5, no others.
    root = parse(Diagram(extended=True, state="ESTABLISHED").pipe("svg"))
    shown = {
        g.get("id")
        for g in groups(root, "edge")
        if "extended" in g.get("class").split() and g.get("display") != "none"
    }
    assert shown == {
        "edge_ESTABLISHED__rcv_rst",
        "edge_ESTABLISHED__abort",
        "edge_ESTABLISHED__user_timeout",
    }


def test_every_row_label_of_the_extended_figure_found_a_clear_place():
    table = tcp_table(extended=True)
    layout._postprocess(layout.raw_layout(table), table)
    assert layout._UNPLACED == []


# -- DOT quoting, without the graphviz package --------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab_ -.09"\\<>&\n\tnodeEDGÉ字'), max_size=12) | st.text())
def test_dot_quoting_is_the_graphviz_packages(text):
    """``_quoted`` gives what ``graphviz.quote(graphviz.escape(text))`` gives (tcpviz no longer
    imports the package for it), except that a text ending in a newline is quoted, where
    graphviz's ``$`` would leave it bare and DOT would drop that newline."""
    from graphviz.quoting import escape, quote

    from tcpviz.drawing.dotsource import _printable, _quoted

    ours = _quoted(text)
    if text.endswith("\n"):
        assert ours.startswith('"') and ours.endswith('"')
    else:
        assert ours == quote(escape(_printable(text)))


def test_drawing_a_shipped_layout_imports_only_what_it_uses(tmp_path):
    """Drawing and saving a built-in diagram imports neither the graphviz package (15 ms) nor
    what only running dot needs (subprocess, shutil, signal, ctypes: 5 ms), nor zipfile,
    html or secrets: a whole ``tcpviz export`` process is mostly imports."""
    code = (
        "import sys, tcpviz.cli, tcpviz.drawing; from tcpviz.drawing import Diagram; "
        f"Diagram(extended=True).svg(); Diagram().save({str(tmp_path / 'x.svg')!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('graphviz', 'ctypes', "
        "'zipfile', 'subprocess', 'shutil', 'signal', 'html', 'secrets')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_source_hands_the_diagram_to_the_graphviz_package():
    """``Diagram.source()`` is a ``graphviz.Source``: the graphviz package's engines and
    formats work on it, with tcpviz's highlight and theme in the DOT."""
    import graphviz

    diagram = Diagram(state="SYN-SENT", theme="dark")
    source = diagram.source()
    assert isinstance(source, graphviz.Source)
    assert source.source == diagram.dot
    svg = source.pipe(format="svg", engine="circo").decode()
    assert "SYN&#45;SENT" in svg and svg.lstrip().startswith("<?xml")  # dot escapes the dash
