"""Build (or add to) notebooks/05-real-traffic.ipynb's replay part. A helper for maintainers:

    .venv/bin/python scripts/_replay_notebook_cells.py notebooks/05-real-traffic.ipynb

Adds "Part 2: replaying a capture" before the notebook's "## Exercises" (and its exercises to
that list), or writes the notebook with only that part when it does not exist yet. Cells are
stored without outputs, as tests/test_notebooks.py requires.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

INTRO = """\
# 5 · Real traffic: a capture, replayed end by end

A **packet capture** records every segment that went past one point of the network: what
`tcpdump -w file.pcap` or Wireshark saves. It shows the segments, never the states. tcpviz
**replays** a capture: each segment is proof of what its sender was doing (a SYN is sent in
SYN-SENT, a FIN by a close) and a delivery to the other end, which moves that end along the
diagram exactly as RFC 9293 says. So from the segments alone you get **both ends' states**."""

PART = """\
## Part 2: replaying a capture

tcpviz ships a capture recorded on a Linux machine, on 127.0.0.1, with five little programs:
a request and a reply closed by the client first, the same closed by the server first, a
connect to a port where nobody listens, an abort with `SO_LINGER` 0, and a server that closes
without reading what it was sent. (To record your own: `sudo tcpdump -i lo -w mine.pcap port
8000`, run your programs, stop tcpdump with Ctrl-C, and give `mine.pcap` to `replay`.)

`replay` reads the file once and splits it into **connections** by their addresses and
ports. Each gets a one-word summary in the vocabulary of the network monitor Zeek: `SF` is a
normal setup and close, `REJ` a refused connection, `RSTO` and `RSTR` an abort by the
originator or the responder."""

LIST = """\
from tcpviz.drawing import Diagram
from tcpviz.traffic import CONN_STATES, example_capture, replay

capture = replay(example_capture())
for c in capture.connections:
    print(f"{c.number}  {c.describe():40} {sum(c.packets):3} segments  {c.conn_state:5}"
          f"{CONN_STATES[c.conn_state]}")"""

SEGMENTS_MD = """\
### One connection, segment by segment

Connection 1, as Wireshark would list it: who sent what, with sequence and acknowledgement
numbers counted from each end's first one (a SYN and a FIN each take one number)."""

SEGMENTS = """\
first = capture.connection(1)
client, server = first.endpoints
for s in first.segments:
    who = "client -> server" if s.sender == 0 else "server -> client"
    print(f"{s.number:2}  {who}  {s.label()}")"""

STATES_MD = """\
### Both ends' states

For each end, the states it went through, the segment that caused each change, and whether
the capture **shows** it (`seen`: the end itself sent a segment only that state sends) or
tcpviz could only **infer** it. One capture point cannot know everything: when the server
started to LISTEN (a listening socket sends nothing), how soon the far end really changed
state, whether a RST was accepted, and the 2MSL timer that ends TIME-WAIT (Linux: 60 s)."""

STATES = """\
for end in (client, server):
    print(f"{end.role} {end.address}:{end.port}")
    for change in end.changes:
        cause = f"segment {change.cause}" if change.cause else "-"
        how = "seen" if change.seen else "inferred"
        print(f"   {change.state:13} {change.event or '':15} {cause:11} {how:9} {change.note}")"""

DIAGRAM_MD = """\
The server's life drawn on the state diagram: the states it visited and the arrows it took,
the way the other notebooks draw a path. Every change replay found is an arrow of the table;
`end.machine()` replays them through the same `Machine` the widgets use."""

DIAGRAM = """\
machine = server.machine()
Diagram(machine.table, state=machine.state, last=machine.last,
        visited=machine.visited, taken=machine.history)"""

LADDER_MD = """\
The same connection as a **ladder**: the two timelines side by side, every captured segment an
arrow, and each end's state written where it changes. An arrow ends where the change it caused
is written, so compare it with the state diagram above."""

LADDER = """\
from tcpviz.web import replay_ladder

replay_ladder(first)"""

OTHERS_MD = """\
### When things go wrong

A refused connection: the client's SYN is answered by a RST. The server has no connection at
all, and the RST proves it. An abort: `SO_LINGER` 0 makes `close()` send a RST instead of a
FIN, and both ends go straight to CLOSED."""

OTHERS = """\
for number in (3, 4, 5):
    c = capture.connection(number)
    print(f"connection {number} ({c.conn_state}):")
    for end in c.endpoints:
        print(f"   {end.role:7} " + " > ".join(end.states))"""

EXERCISES = [
    "In the replayed capture's connection 2 the server closes first. Which end goes to TIME-WAIT now, and which "
    "segment of the capture shows it?",
    "Why is the server's FIN-WAIT-2 in connection 2 marked *inferred*, while its TIME-WAIT is "
    "*seen*? (Hint: what does each end send when it enters these states?)",
    "Connection 5 ends with a RST although nobody called abort. Find the RFC 9293 section "
    "that says why (a close with data still unread).",
]


def _item(number: int, text: str) -> str:
    return textwrap.fill(f"{number}. {text}", 92, subsequent_indent="   ", break_on_hyphens=False)


def part_cells() -> list:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return [
        md(PART),
        code(LIST),
        md(SEGMENTS_MD),
        code(SEGMENTS),
        md(STATES_MD),
        code(STATES),
        md(DIAGRAM_MD),
        code(DIAGRAM),
        md(LADDER_MD),
        code(LADDER),
        md(OTHERS_MD),
        code(OTHERS),
    ]


def main(path: Path) -> None:
    if path.exists():
        notebook = nbformat.read(path, as_version=4)
        if any(cell.source.startswith("## Part 2: replaying a capture") for cell in notebook.cells):
            raise SystemExit(
                f"{path} already has the replay part: start from the notebook without it"
            )
        at = next(
            i
            for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "markdown" and cell.source.startswith("## Exercises")
        )
        exercises = notebook.cells[at]
        count = sum(1 for line in exercises.source.splitlines() if line[:1].isdigit())
        extra = "\n".join(_item(count + i + 1, text) for i, text in enumerate(EXERCISES))
        exercises.source = exercises.source.rstrip() + "\n" + extra
        notebook.cells[at:at] = part_cells()
    else:
        notebook = nbformat.v4.new_notebook()
        notebook.metadata = {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        }
        exercises = "## Exercises\n\n" + "\n".join(
            _item(i + 1, text) for i, text in enumerate(EXERCISES)
        )
        notebook.cells = [
            nbformat.v4.new_markdown_cell(INTRO),
            *part_cells(),
            nbformat.v4.new_markdown_cell(exercises),
            nbformat.v4.new_code_cell("# Your answers here"),
        ]
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    # Stored the way the repository keeps notebooks (ids renumbered, nothing else kept).
    subprocess.run([sys.executable, "-m", "nbstripout", str(path)], check=True, timeout=60)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], timeout=60)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
