"""Per-step cost of moving the highlight: tcpviz against transitions' GraphMachine.

Both machines hold the same eleven states and the same arrows (the classic RFC 9293 Figure 5
table; the ``transitions`` one is built from it) and take the same steps: a client's life and
then a server's, CLOSED back to CLOSED, over and over. Each step fires one event and produces
the updated SVG text:

- tcpviz: ``machine.fire(event)`` then ``highlight(svg, table, state=..., last=..., visited=...)``
  on the SVG laid out once (the built-in diagram ships laid out, so Graphviz never runs);
- transitions: ``model.trigger(event)`` then ``model.get_graph().pipe(format="svg")``, its way of
  drawing the current state, which runs Graphviz's ``dot`` on every step.

The two are measured in alternating rounds of the same run, so both see the same machine load.

Run it alone with ``.venv/bin/python benchmarks/bench_step.py [--quick]``.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Check,
    ProcessCounter,
    Result,
    count_processes,
    handshake_and_close,
    row,
    run_alone,
    time_calls,
    transitions_machine,
)

from tcpviz import Machine, tcp_table
from tcpviz.drawing.diagram import highlight, layout_svg

TCPVIZ = "tcpviz fire + highlight"
TRANSITIONS = "transitions GraphMachine trigger + pipe(svg)"
#: Targets from the project's brief.
RATIO_TARGET = 100.0
STEP_TARGET_MS = 1.0
#: Small counts, for a quick look (run.py --quick uses them too).
QUICK = {"steps": 300, "graphviz_steps": 24, "rounds": 2}


def _has_class(svg: str, element_id: str, name: str) -> bool:
    """Whether the SVG element ``element_id`` carries the class ``name`` (parsed, not grepped)."""
    root = ET.fromstring(svg)
    for element in root.iter():
        if element.get("id") == element_id:
            return name in element.get("class", "").split()
    raise AssertionError(f"no element with id {element_id!r} in the SVG")


def run(*, steps: int = 3000, graphviz_steps: int = 240, rounds: int = 4) -> Result:
    """Measure ``steps`` tcpviz steps and ``graphviz_steps`` transitions steps, in ``rounds``
    alternating rounds, and compare their medians."""
    table = tcp_table()
    loop = handshake_and_close(table)
    result = Result("step", "Move the highlight one step (built-in 11-state machine)")

    # tcpviz: the SVG is laid out once, before any step (what a widget or diagram holds).
    machine = Machine(table)
    with count_processes() as layout_processes:
        svg = layout_svg(table)
    tcpviz_position = 0
    outputs: list[str] = []

    def tcpviz_step() -> None:
        nonlocal tcpviz_position
        if tcpviz_position % len(loop) == 0:
            # Back in CLOSED: start a fresh run, as a class does (``visited`` and the history
            # cover one connection, not thousands; transitions keeps no history at all).
            machine.reset()
        machine.fire(loop[tcpviz_position % len(loop)])
        tcpviz_position += 1
        outputs.append(
            highlight(svg, table, state=machine.state, last=machine.last, visited=machine.visited)
        )

    # transitions: the same machine; it redraws through Graphviz to show the new state.
    _, model, triggers = transitions_machine(table)
    transitions_position = 0
    transitions_svgs: list[bytes] = []

    def transitions_step() -> None:
        nonlocal transitions_position
        model.trigger(triggers[loop[transitions_position % len(loop)].event])
        transitions_position += 1
        transitions_svgs.append(model.get_graph().pipe(format="svg"))

    # A warm-up loop each (imports, caches, the page cache holding dot) is left out.
    for _ in loop:
        tcpviz_step()
        transitions_step()
    expected = [t.target for t in loop]
    if machine.state != table.initial or model.state != table.initial:
        raise AssertionError(f"warm-up loop ended in {machine.state} / {model.state}, not CLOSED")
    # Check what the steps produced, outside the timed part: each highlighted SVG marks the
    # state the machine reached as current, and transitions drew a fresh SVG each step.
    for svg_out, state in zip(outputs, expected, strict=True):
        if not _has_class(svg_out, table.state_ids[state], "current"):
            raise AssertionError(f"highlight() did not mark {state} as current")
    if not all(s.lstrip().startswith(b"<?xml") for s in transitions_svgs):
        raise AssertionError("transitions did not produce SVG")
    outputs.clear()
    transitions_svgs.clear()

    tcpviz_times: list[float] = []
    transitions_times: list[float] = []
    rounds = max(1, rounds)
    tcpviz_processes, transitions_processes = ProcessCounter(), ProcessCounter()
    for number in range(rounds):
        share = steps // rounds + (number < steps % rounds)
        with count_processes() as counted:
            tcpviz_times += time_calls(tcpviz_step, share)
        tcpviz_processes.commands += counted.commands
        outputs.clear()  # keep memory flat; the outputs were checked above
        share = graphviz_steps // rounds + (number < graphviz_steps % rounds)
        with count_processes() as counted:
            transitions_times += time_calls(transitions_step, share)
        transitions_processes.commands += counted.commands
        transitions_svgs.clear()

    ours = row(TCPVIZ, tcpviz_times, "no Graphviz: class change on the laid-out SVG")
    theirs = row(TRANSITIONS, transitions_times, "runs dot every step")
    result.rows += [ours, theirs]
    ratio = theirs.median_ms / ours.median_ms
    result.ratios["transitions / tcpviz (median per step)"] = ratio
    result.checks += [
        Check(
            "speed-up over transitions",
            f">= {RATIO_TARGET:.0f}x",
            f"{ratio:.0f}x",
            ratio >= RATIO_TARGET,
        ),
        Check(
            "tcpviz median per step",
            f"< {STEP_TARGET_MS:g} ms",
            f"{ours.median_ms:.3f} ms",
            ours.median_ms < STEP_TARGET_MS,
        ),
        Check(
            "programs started by tcpviz while stepping",
            "0",
            f"{tcpviz_processes.count} in {len(tcpviz_times)} steps",
            tcpviz_processes.count == 0,
        ),
    ]
    result.notes += [
        f"transitions started dot {transitions_processes.named('dot')} times in "
        f"{len(transitions_times)} steps (so the process counter sees Graphviz runs)",
        "tcpviz laid the diagram out once before stepping: "
        + (
            "no program started (the built-in layout ships with the package)"
            if layout_processes.count == 0
            else f"ran {', '.join(layout_processes.commands)} (no shipped layout was found)"
        ),
        f"loop: {' -> '.join([loop[0].source, *expected])}",
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
