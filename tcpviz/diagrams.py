"""Regenerate the built-in layouts (``tcpviz/drawing/layouts/``) and the slide-ready SVGs (``diagrams/``).

    python -m tcpviz.diagrams            # run Graphviz, rewrite the files that changed
    python -m tcpviz.diagrams --check    # write nothing; exit 1 naming every stale file

The layouts are Graphviz's own SVG of the built-in tables, shipped as package data so that
drawing them needs no Graphviz; ``tcpviz/drawing/layouts/index.json`` keys each one by the SHA-256 of
its DOT source. Beside each, ``NAME.labels.json`` holds where tcpviz moves the labels Graphviz
cannot place well (the rows beyond Figure 5, a few xlabels): that search takes tens of
milliseconds, so it is done here once, not every time a layout is loaded. The slides are
themed, highlighted exports of those layouts.

Files are compared by structure (ids, classes, titles, text, the style sheet and the colours
tcpviz sets), not by bytes: Graphviz versions place things a little differently, and a layout
from another version is still a correct layout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import drawing as render
from .drawing.diagram import Diagram
from .drawing.layout import label_places_json, labels_file
from .errors import GraphvizNotFound, TcpvizError
from .files import write_atomic
from .model.machine import Machine
from .model.table import Table, tcp_table

if TYPE_CHECKING:  # the ladder is imported where it is drawn
    from .drawing.ladder import Ladder

__all__ = [
    "LAYOUTS",
    "SLIDES",
    "Expected",
    "Layout",
    "Slide",
    "expected_files",
    "layout_files",
    "main",
    "signature",
    "slide_files",
    "stale",
]

PACKAGE_LAYOUTS = Path(__file__).parent / "drawing" / "layouts"
COMMAND = "python -m tcpviz.diagrams"


@dataclass(frozen=True)
class Layout:
    """A built-in table whose layout ships as package data."""

    file: str
    expression: str  # how to get the table, as written in index.json and error messages
    table: Callable[[], Table]


LAYOUTS: tuple[Layout, ...] = (
    Layout("tcp.svg", "tcp_table()", lambda: tcp_table()),
    Layout("tcp-extended.svg", "tcp_table(extended=True)", lambda: tcp_table(extended=True)),
    # Notebook 03 draws this example table: shipped laid out, the notebook needs no Graphviz
    # (JupyterLite, Colab, locked-down lab machines).
    Layout(
        "alternating-bit.svg",
        "load_table('examples/alternating-bit.json')",
        lambda: _example("alternating-bit.json"),
    ),
)


def _example(name: str) -> Table:
    from .model.tablefile import load_table

    return load_table(Path(__file__).resolve().parent.parent / "examples" / name)


@dataclass(frozen=True)
class Slide:
    """One file of ``diagrams/``: what a teacher puts on a slide or a handout."""

    file: str
    caption: str
    diagram: Callable[[], Diagram | Ladder]  # either draws itself with pipe("svg")


def _after(*events: str, start: str | None = None, theme: str = "light") -> Diagram:
    machine = Machine(state=start)
    machine.run(*events)
    return Diagram.from_machine(machine, theme=theme)


def _both_handshake_sides() -> Diagram:
    client = Machine()
    client.run("active OPEN", "rcv SYN,ACK")
    server = Machine()
    server.run("passive OPEN", "rcv SYN", "rcv ACK of SYN")
    return Diagram(
        theme="light",
        state="ESTABLISHED",
        visited=(*client.visited, *server.visited),
        taken=(*client.history, *server.history),
    )


SLIDES: tuple[Slide, ...] = (
    Slide(
        "tcp-state-diagram.svg",
        "The TCP connection state diagram, RFC 9293 Figure 5 (with the FIN-WAIT-1 -> TIME-WAIT "
        "arrow its Note 2 leaves out).",
        lambda: Diagram(theme="light"),
    ),
    Slide(
        "tcp-state-diagram-dark.svg",
        "The same figure for dark slides.",
        lambda: Diagram(theme="dark"),
    ),
    Slide(
        "tcp-state-diagram-print.svg",
        "The same figure in black and white, for handouts and exam papers.",
        lambda: Diagram(theme="print"),
    ),
    Slide(
        "three-way-handshake.svg",
        "The three-way handshake, both ends: the client's active open (CLOSED, SYN-SENT) and "
        "the server's passive open (CLOSED, LISTEN, SYN-RECEIVED) meet in ESTABLISHED.",
        _both_handshake_sides,
    ),
    Slide(
        "three-way-handshake-client.svg",
        "The client's side of the handshake: active OPEN, then rcv SYN,ACK (the last step is "
        "marked).",
        lambda: _after("active OPEN", "rcv SYN,ACK"),
    ),
    Slide(
        "three-way-handshake-server.svg",
        "The server's side of the handshake: passive OPEN, rcv SYN, rcv ACK of SYN.",
        lambda: _after("passive OPEN", "rcv SYN", "rcv ACK of SYN"),
    ),
    Slide(
        "simultaneous-open.svg",
        "Simultaneous open: both ends sent a SYN (SYN-SENT, SYN-RECEIVED, ESTABLISHED).",
        lambda: _after("active OPEN", "rcv SYN", "rcv ACK of SYN"),
    ),
    Slide(
        "active-close.svg",
        "Active close, the end that closes first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, and "
        "CLOSED after 2MSL.",
        lambda: _after("CLOSE", "rcv ACK of FIN", "rcv FIN", "timeout 2MSL", start="ESTABLISHED"),
    ),
    Slide(
        "passive-close.svg",
        "Passive close, the end that receives the first FIN: CLOSE-WAIT, LAST-ACK, CLOSED.",
        lambda: _after("rcv FIN", "CLOSE", "rcv ACK of FIN", start="ESTABLISHED"),
    ),
    Slide(
        "simultaneous-close.svg",
        "Simultaneous close: both ends sent a FIN (FIN-WAIT-1, CLOSING, TIME-WAIT).",
        lambda: _after("CLOSE", "rcv FIN", "rcv ACK of FIN", start="ESTABLISHED"),
    ),
    Slide(
        "tcp-extended.svg",
        "The extended machine: Figure 5 plus what RFC 9293 section 3.10 adds (RST, ABORT, user "
        "timeout), dashed and lighter, in Figure 5's layout; the arrows of one event into CLOSED "
        "share one arrowhead.",
        lambda: Diagram(extended=True, theme="light"),
    ),
)


#: RFC 9293 Figure 5 as a teacher would write it in plain DOT, for the comparison in the README.
PLAIN_DOT = """\
// RFC 9293 Figure 5 as a teacher would write it in plain DOT (about 30 lines): default layout,
// CLOSED drawn twice as in the RFC, each label "event / action" on two lines.
digraph tcp {
  node [shape=box, style=rounded, fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  CLOSED; CLOSED2 [label="CLOSED"];
  CLOSED -> LISTEN [label="passive OPEN\\ncreate TCB"];
  CLOSED -> SYN_SENT [label="active OPEN\\ncreate TCB, snd SYN"];
  LISTEN -> CLOSED [label="CLOSE\\ndelete TCB"];
  LISTEN -> SYN_RCVD [label="rcv SYN\\nsnd SYN,ACK"];
  LISTEN -> SYN_SENT [label="SEND\\nsnd SYN"];
  SYN_SENT -> CLOSED [label="CLOSE\\ndelete TCB"];
  SYN_SENT -> SYN_RCVD [label="rcv SYN\\nsnd SYN,ACK"];
  SYN_SENT -> ESTAB [label="rcv SYN,ACK\\nsnd ACK"];
  SYN_RCVD -> ESTAB [label="rcv ACK of SYN"];
  SYN_RCVD -> LISTEN [label="rcv RST"];
  SYN_RCVD -> FIN_WAIT_1 [label="CLOSE\\nsnd FIN"];
  ESTAB -> FIN_WAIT_1 [label="CLOSE\\nsnd FIN"];
  ESTAB -> CLOSE_WAIT [label="rcv FIN\\nsnd ACK"];
  FIN_WAIT_1 -> FIN_WAIT_2 [label="rcv ACK of FIN"];
  FIN_WAIT_1 -> CLOSING [label="rcv FIN\\nsnd ACK"];
  FIN_WAIT_1 -> TIME_WAIT [label="rcv FIN,ACK\\nsnd ACK"];
  FIN_WAIT_2 -> TIME_WAIT [label="rcv FIN\\nsnd ACK"];
  CLOSING -> TIME_WAIT [label="rcv ACK of FIN"];
  CLOSE_WAIT -> LAST_ACK [label="CLOSE\\nsnd FIN"];
  LAST_ACK -> CLOSED2 [label="rcv ACK of FIN"];
  TIME_WAIT -> CLOSED2 [label="timeout 2MSL\\ndelete TCB"];
  { rank=same; SYN_RCVD; SYN_SENT; }
  { rank=same; FIN_WAIT_1; CLOSE_WAIT; }
  { rank=same; TIME_WAIT; CLOSED2; }
}
"""
PLAIN_FILE = "plain-dot-comparison.svg"


def _ladder(name: str, time: str = "logical") -> Ladder:
    """The ladder of connection scenario ``name``, both ends and every segment (drawn by tcpviz
    itself, no Graphviz)."""
    from .drawing.ladder import Ladder, trace_from_connection
    from .teach.connection_scenarios import get_connection_scenario

    scenario = get_connection_scenario(name)
    return Ladder(trace_from_connection(scenario.play(), title=scenario.title), time=time)


SLIDES += (
    Slide(
        "ladder-handshake.svg",
        "Ladder of the three-way handshake: SYN, SYN,ACK, ACK, with seq and ack, and both ends' "
        "states (CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED, ESTABLISHED).",
        lambda: _ladder("handshake"),
    ),
    Slide(
        "ladder-client-close.svg",
        "Ladder of data, then an active close by the client: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT "
        "on one side, CLOSE-WAIT, LAST-ACK on the other, and the 2MSL timer.",
        lambda: _ladder("data-then-client-close"),
    ),
    Slide(
        "ladder-server-close.svg",
        "Ladder of an active close by the server: the same states, on the other sides.",
        lambda: _ladder("server-close"),
    ),
    Slide(
        "ladder-simultaneous-open.svg",
        "Ladder of a simultaneous open: the two SYNs cross; both ends pass SYN-RECEIVED.",
        lambda: _ladder("simultaneous-open"),
    ),
    Slide(
        "ladder-simultaneous-close.svg",
        "Ladder of a simultaneous close: the two FINs cross; both ends pass CLOSING and wait in "
        "TIME-WAIT (the classic exam question).",
        lambda: _ladder("simultaneous-close"),
    ),
    Slide(
        "ladder-lost-final-ack.svg",
        "Ladder of a lost final ACK, in real time: the server retransmits its FIN after its RTO, "
        "and the client, still in TIME-WAIT, acknowledges it again: why TIME-WAIT exists.",
        lambda: _ladder("lost-final-ack", time="real"),
    ),
)


def _readme() -> str:
    rows = "\n".join(f"| [`{s.file}`]({s.file}) | {s.caption} |" for s in SLIDES)
    return f"""# Slide-ready TCP state diagrams

Generated by tcpviz from its transition table, so they always match what the library does.
Do not edit them by hand: change the table or the renderer, then run

    {COMMAND}

(`{COMMAND} --check` only reports stale files; the test suite runs it.)

| File | What it shows |
| --- | --- |
{rows}

Colours come from the Okabe-Ito palette, readable with every common colour-vision deficiency,
and no meaning rests on colour alone: the current state is orange **and** has a thick border and
a bold name; the step that led there is vermillion **and** thick with a bold label; states met
before are light blue, earlier steps blue and thicker. Dashed grey arrows are the rows RFC 9293
section 3.10 adds to Figure 5; they are labelled with their event only ("rcv RST", "ABORT",
"user timeout"), and their full "event / action" label is their tooltip. The `-print` file uses
black, white and grey only.

Each file is a standalone SVG: colours are written as attributes (for slide software that
ignores CSS) and as a style sheet (for browsers). States and transitions carry stable ids
(`state_SYN_SENT`, `edge_LISTEN__rcv_syn`), titles with the state's description or the RFC's
"event / action" label, and ARIA labels for screen readers (the diagram is a named group, each
state an image named with its description, each arrow an image labelled with where it leads).
Nothing in a file reacts to a click or a key, so no state is a focusable button there; the
notebook widget and `tcpviz html` pages make them buttons.

## Why this layout: side by side with Figure 5 and with plain DOT

Three drawings of the same machine: RFC 9293's Figure 5 (ASCII art, in the RFC), a 30-line plain
DOT file a teacher might write ([`{PLAIN_FILE}`]({PLAIN_FILE}), its source is `PLAIN_DOT` in
`tcpviz/diagrams.py`), and tcpviz's ([`tcp-state-diagram.svg`](tcp-state-diagram.svg)).

- **Like Figure 5:** the same rows (CLOSED; LISTEN; SYN-RECEIVED and SYN-SENT; ESTABLISHED;
  FIN-WAIT-1 and CLOSE-WAIT; FIN-WAIT-2, CLOSING, LAST-ACK; TIME-WAIT), the passive side on the
  left and the active side on the right, CLOSED drawn twice (top, and bottom right where
  LAST-ACK and TIME-WAIT end), the RFC's "event, rule, action" labels with one action a line
  ("create TCB" over "snd SYN"). Both CLOSED boxes are one state: one node of the graph, one
  `<g id="state_CLOSED">` in the SVG, lit together. Plain DOT swaps the sides (SYN-SENT left),
  drops the rule, and uses identifiers (`SYN_RCVD`) for names.
- **Legible where Figure 5 and plain DOT are not:** no arrow loops around the figure, none
  bends into an S, no label touches another or a box, and the bold of the current state and of
  the last step was laid out for (every name and label is measured in bold, shown regular,
  centred), so highlighting never overflows. The figure is nearly square (about 1.13:1), which
  fills what a 4:3 or 16:9 screen leaves beside the widget's panel; plain DOT comes out
  portrait (0.69:1) and, fitted to a projector's height, its 10-point labels are 11 px.
- **Sizes measured in Chromium** (tests/test_legibility.py), smallest arrow label and state
  name in CSS px: the standalone page at 1024x768, 14.1 and 19.1 (6.7 and 9.3 before this
  layout); JupyterLab at 1280x800 with the file browser open, 12.2 and 16.5 (about 5 before);
  JupyterLab at 1024x768, 12.1 and 16.4. The extended figure on the page: 13.8, its dashed
  rows' labels 11.8, names 18.7.
- **The extended machine** keeps Figure 5's layout exactly (its rows are routed after the
  figure, so no state moves), shows the dashed section 3.10 arrows from the current state only
  (with their labels gathered where they leave it), names the rest in one band under the
  figure, and shows every row at once with one toggle (**All rows** in the widget).

To make your own, for example after a few steps in a notebook:

```python
from tcpviz import Machine
from tcpviz.drawing.diagram import Diagram

m = Machine()
m.run("passive open", "SYN")
Diagram.from_machine(m, theme="dark").save("my-slide.svg")   # or .png / .pdf (needs Graphviz)
```

Slide software that takes no SVG (Google Slides, for one) takes a PNG: save one with
`Diagram(...).save("slide.png", scale=2)` (or `dpi=300`; on the command line
`tcpviz export -o slide.png --dpi 300`). With the `png` extra installed (CairoSVG) the PNG is
drawn from the SVG itself, exactly as above; without it Graphviz's `dot` draws it.
"""


def graphviz_version() -> str:
    """The version ``dot -V`` reports, e.g. ``'2.43.0'``."""
    try:
        completed = subprocess.run(
            ["dot", "-V"], capture_output=True, text=True, timeout=30, check=False
        )
    except FileNotFoundError:
        raise GraphvizNotFound(render.INSTALL_GRAPHVIZ) from None
    words = (completed.stderr or completed.stdout).split()
    return words[words.index("version") + 1] if "version" in words else " ".join(words)


def _default_out() -> Path | None:
    # In a checkout, diagrams/ sits beside the package; an installed wheel has none.
    root = Path(__file__).resolve().parent.parent
    return root / "diagrams" if (root / "pyproject.toml").is_file() else None


@dataclass(frozen=True)
class Expected:
    """A file the command generates: its content and how to tell whether a copy is current."""

    path: Path
    data: bytes
    kind: str  # "layout", "labels", "index", "svg" or "text"
    table: Table | None = None
    #: For "labels": the layout the places were worked out from (checked against its copy).
    layout: Path | None = None


def layout_files(layouts_dir: Path = PACKAGE_LAYOUTS) -> list[Expected]:
    """The packaged layouts and their index, freshly made by ``dot``."""
    files: list[Expected] = []
    index = {}
    version = graphviz_version()
    for layout in LAYOUTS:
        table = layout.table()
        raw = render.raw_layout(table, packaged=False)
        files.append(Expected(layouts_dir / layout.file, raw.encode("utf-8"), "layout", table))
        # The label placement, worked out once here so that drawing needs no search.
        places = label_places_json(raw, table).encode("utf-8")
        labels = layouts_dir / labels_file(layout.file)
        files.append(Expected(labels, places, "labels", table, layouts_dir / layout.file))
        index[layout.file] = {
            "dot_sha256": render.layout_key(table),
            "table": layout.expression,
            "graphviz": version,
        }
    text = json.dumps(index, indent=2, sort_keys=True) + "\n"
    files.append(Expected(layouts_dir / "index.json", text.encode("utf-8"), "index"))
    return files


def slide_files(out_dir: Path) -> list[Expected]:
    """The slide-ready SVGs and their README, drawn from the current layouts."""
    files = [Expected(out_dir / s.file, s.diagram().pipe("svg"), "svg") for s in SLIDES]
    files.append(Expected(out_dir / PLAIN_FILE, render.run_dot(PLAIN_DOT, "svg"), "svg"))
    files.append(Expected(out_dir / "README.md", _readme().encode("utf-8"), "text"))
    return files


def expected_files(
    layouts_dir: Path = PACKAGE_LAYOUTS, out_dir: Path | None = None
) -> list[Expected]:
    """Every file the command writes, with its fresh content (runs ``dot`` for the layouts)."""
    return layout_files(layouts_dir) + ([] if out_dir is None else slide_files(out_dir))


# -- comparing by structure ---------------------------------------------------------------------

_NS = "{http://www.w3.org/2000/svg}"
_KEPT = ("class", "role", "tabindex", "aria-label", "aria-current")
_BAKED = ("fill", "stroke", "stroke-width", "stroke-dasharray", "font-weight")


def signature(svg: str | bytes, *, baked: bool = False) -> dict[str, object]:
    """What must not change between Graphviz versions: the root's and every state's and
    transition's id, classes, ARIA attributes, title and text, the graph group's role and
    title, the style sheet, and (with ``baked``) the colours tcpviz writes on each shape."""
    root = ET.fromstring(svg.encode("utf-8") if isinstance(svg, str) else svg)
    style = root.find(f"{_NS}style")
    elements = []
    for group in root.iter(f"{_NS}g"):
        classes = group.get("class", "").split()
        if not {"node", "edge"} & set(classes):
            continue
        title = group.find(f"{_NS}title")
        entry: dict[str, object] = {
            "id": group.get("id"),
            "attributes": {k: group.get(k) for k in _KEPT if group.get(k) is not None},
            "data": {k: v for k, v in group.attrib.items() if k.startswith("data-")},
            "title": None if title is None else title.text,
            "text": [t.text for t in group.iter(f"{_NS}text")],
        }
        if baked:
            entry["colours"] = [
                (child.tag.removeprefix(_NS), *(child.get(k) for k in _BAKED))
                for child in group.iter()
                if child.tag in (f"{_NS}path", f"{_NS}polygon", f"{_NS}ellipse", f"{_NS}text")
            ]
        elements.append(entry)
    graph = root.find(f"{_NS}g")
    graph_title = None if graph is None else graph.find(f"{_NS}title")
    return {
        "root": {k: root.get(k) for k in ("class", "role", "aria-label")},
        "graph": {
            "role": None if graph is None else graph.get("role"),
            "title": None if graph_title is None else graph_title.text,
        },
        "style": None if style is None else style.text,
        "elements": elements,
    }


def _difference(expected: Expected, current: bytes) -> str | None:
    """Why ``current`` is not an up-to-date copy of ``expected``, or ``None`` if it is."""
    try:
        if expected.kind == "text":
            return None if current == expected.data else "content differs"
        if expected.kind == "index":

            def entries(data: bytes) -> dict:
                return {
                    name: {k: v for k, v in entry.items() if k != "graphviz"}
                    for name, entry in json.loads(data).items()
                }

            return None if entries(current) == entries(expected.data) else "layout keys differ"
        if expected.kind == "layout":
            table = expected.table
            assert table is not None

            def shape(data: bytes) -> dict[str, object]:
                return signature(render.accessible_layout(data.decode("utf-8"), table))

            return None if shape(current) == shape(expected.data) else "structure differs"
        if expected.kind == "labels":
            # Worked out from the layout as committed (which may come from another Graphviz
            # version than this machine's), so the check is exact.
            assert expected.table is not None and expected.layout is not None
            try:
                raw = expected.layout.read_text("utf-8")
            except FileNotFoundError:
                return "its layout is missing"
            fresh = label_places_json(raw, expected.table).encode("utf-8")
            return None if current == fresh else "label places differ from its layout's"
        if signature(current, baked=True) != signature(expected.data, baked=True):
            return "structure, text or colours differ"
        return None
    except (ET.ParseError, ValueError, UnicodeDecodeError, TcpvizError) as error:
        return f"unreadable: {error}"


def stale(files: Sequence[Expected]) -> list[tuple[Path, str]]:
    """The files that are missing or out of date, each with the reason."""
    found = []
    for expected in files:
        try:
            current = expected.path.read_bytes()
        except FileNotFoundError:
            found.append((expected.path, "missing"))
            continue
        reason = _difference(expected, current)
        if reason is not None:
            found.append((expected.path, reason))
    for directory in {f.path.parent for f in files if f.kind == "layout"}:
        wanted = {f.path.name for f in files}
        found.extend(
            (extra, "not a built-in layout: delete it")
            for extra in sorted([*directory.glob("*.svg"), *directory.glob("*.labels.json")])
            if extra.name not in wanted
        )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 stale files, 2 cannot run)."""
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Regenerate tcpviz's built-in layouts and the slide-ready diagrams.",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 and name every stale file"
    )
    parser.add_argument(
        "--layouts",
        type=Path,
        default=PACKAGE_LAYOUTS,
        help=f"directory of the packaged layouts (default: {PACKAGE_LAYOUTS})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory of the slide-ready SVGs (default: diagrams/ of this checkout)",
    )
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else _default_out()
    if out is None:
        print("note: no diagrams/ directory beside the package; pass --out DIR", file=sys.stderr)
    try:
        if args.check:
            return _check(expected_files(args.layouts, out))
        # Layouts first: the slides are then drawn from the layouts just written.
        files = layout_files(args.layouts)
        changed = _write(files)
        render.clear_caches()
        if out is not None:
            slides = slide_files(out)
            changed += _write(slides)
            files += slides
    except TcpvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{changed} file(s) written, {len(files) - changed} unchanged")
    return 0


def _check(files: Sequence[Expected]) -> int:
    problems = stale(files)
    for path, reason in problems:
        print(f"stale: {path} ({reason})")
    if problems:
        print(f"{len(problems)} stale file(s); run `{COMMAND}` to regenerate them")
        return 1
    print(f"{len(files)} files up to date")
    return 0


def _write(files: Sequence[Expected]) -> int:
    changed = 0
    for directory in {f.path.parent for f in files}:
        directory.mkdir(parents=True, exist_ok=True)
    for expected in files:
        if expected.path.is_file() and expected.path.read_bytes() == expected.data:
            continue
        write_atomic(expected.path, expected.data)
        print(f"wrote {expected.path}")
        changed += 1
    for path, reason in stale(files):
        if reason.startswith("not a built-in layout"):
            path.unlink()
            print(f"deleted {path} ({reason})")
    return changed


if __name__ == "__main__":
    raise SystemExit(main())
