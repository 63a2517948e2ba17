"""Per-step cost of showing the new state: tcpviz against transitions and python-statemachine.

All three hold the same table and take the same steps, each step firing one event and producing
the SVG that shows the new state, the way each library's users do it in a notebook:

- tcpviz: ``machine.fire(event)`` then ``highlight(svg, table, state=..., last=..., visited=...)``
  on the SVG laid out once (the built-in diagram ships laid out, so Graphviz never runs);
- transitions (``GraphMachine``, default engine: pygraphviz, in-process libgraphviz, as
  ``pip install transitions[diagrams]`` gives): ``model.trigger(event)`` then
  ``model.get_graph().draw(format="svg", prog="dot")``, a new layout every step;
- python-statemachine: ``sm.send(event)`` then ``sm._repr_svg_()`` (what Jupyter calls to show
  the machine), which builds a pydot graph and runs the ``dot`` program every step.

Tables: the built-in RFC 9293 Figure 5 (a client's life and a server's, CLOSED back to CLOSED,
reset there as a class does), and generated trees of 10, 200 and 2,000 states (a seeded random
walk). The runs are paired: in each round every library takes one step and tcpviz a few, back to
back, and the ratio is taken round by round (median of the per-round ratios), so both sides of a
ratio saw the same machine load. No output is kept past its step (each is checked once, in the
warm-up, for the new state).

Run it alone with ``.venv/bin/python benchmarks/bench_step.py [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Check,
    ProcessCounter,
    Result,
    count_processes,
    handshake_and_close,
    python_statemachine,
    row,
    run_alone,
    transitions_engine,
    transitions_machine,
    transitions_svg,
    tree_table,
    walk,
)

from tcpviz import Machine, Table, tcp_table
from tcpviz.drawing import highlight, layout_svg

TCPVIZ = "tcpviz fire + highlight"
TRANSITIONS = "transitions trigger + get_graph().draw(svg)"
STATEMACHINE = "python-statemachine send + _repr_svg_()"
#: Targets: a step well inside a frame, and far ahead of a library that lays out every step.
RATIO_TARGET = 100.0
STEP_TARGET_MS = 1.0
#: (label, states) of the scaling runs; the built-in TCP table comes first.
SCALES = (("TCP", 0), ("10 states", 10), ("200 states", 200), ("2,000 states", 2000))
#: Rounds per scale for the full run: each round is one step of each other library.
ROUNDS = {"TCP": 60, "10 states": 60, "200 states": 15, "2,000 states": 3}
#: tcpviz steps per round (its steps are a thousand times shorter).
FAST_PER_ROUND = 20
QUICK = {"rounds": {"TCP": 8, "10 states": 6, "200 states": 3}, "fast_per_round": 10}


def _has_class(svg: str, element_id: str, name: str) -> bool:
    """Whether the SVG element ``element_id`` carries the class ``name`` (parsed, not grepped)."""
    for element in ET.fromstring(svg).iter():
        if element.get("id") == element_id:
            return name in element.get("class", "").split()
    raise AssertionError(f"no element with id {element_id!r} in the SVG")


def _timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def _scale(label: str, table: Table, rounds: int, fast: int, result: Result) -> dict[str, object]:
    """Pair the three libraries over ``rounds`` rounds on ``table``; add rows; return ratios."""
    tcp = label == "TCP"
    loop = handshake_and_close(table) if tcp else walk(table, 4096)
    start = time.perf_counter()
    with count_processes() as layout_processes:
        svg = layout_svg(table)
    layout_seconds = time.perf_counter() - start

    machine = Machine(table)
    at = {"tcpviz": 0, "transitions": 0, "statemachine": 0}

    def tcpviz_step() -> str:
        if tcp and at["tcpviz"] % len(loop) == 0:
            machine.reset()  # back in CLOSED: a fresh run, as a class does
        if not tcp and at["tcpviz"] % len(loop) == 0 and at["tcpviz"]:
            machine.reset()
        machine.fire(loop[at["tcpviz"] % len(loop)])
        at["tcpviz"] += 1
        return highlight(
            svg, table, state=machine.state, last=machine.last, visited=machine.visited
        )

    setup = transitions_machine(table)
    engine = transitions_engine(setup.model)

    def transitions_step() -> bytes:
        if not tcp and at["transitions"] % len(loop) == 0 and at["transitions"]:
            setup.machine.set_state(table.initial, model=setup.model)  # back to the walk's start
        setup.model.trigger(setup.triggers[loop[at["transitions"] % len(loop)].event])
        at["transitions"] += 1
        return transitions_svg(setup.model)

    sm, sm_events = python_statemachine(table)

    def statemachine_step() -> str:
        nonlocal sm
        if not tcp and at["statemachine"] % len(loop) == 0 and at["statemachine"]:
            sm, _ = python_statemachine(table)
        sm.send(sm_events[loop[at["statemachine"] % len(loop)].event])
        at["statemachine"] += 1
        return sm._repr_svg_()

    # Warm-up: one step each, checked (the new state is shown), not timed.
    expected = loop[0].target
    if not _has_class(tcpviz_step(), table.state_ids[expected], "current"):
        raise AssertionError(f"tcpviz did not mark {expected} as current")
    if not transitions_svg_ok(transitions_step()) or setup.model.state != expected:
        raise AssertionError(f"transitions is in {setup.model.state}, not {expected}")
    drawn = statemachine_step()
    if not drawn.lstrip().startswith("<?xml") or expected not in {x.name for x in sm.configuration}:
        raise AssertionError(f"python-statemachine is not in {expected}")

    ours: list[float] = []
    theirs: dict[str, list[float]] = {"transitions": [], "statemachine": []}
    ratios: dict[str, list[float]] = {"transitions": [], "statemachine": []}
    processes, theirs_processes = ProcessCounter(), ProcessCounter()
    for _ in range(rounds):
        with count_processes() as counted:
            batch = [_timed(tcpviz_step) for _ in range(fast)]
        processes.commands += counted.commands
        ours += batch
        middle = statistics.median(batch)
        for name, step in (("transitions", transitions_step), ("statemachine", statemachine_step)):
            with count_processes() as counted:
                seconds = _timed(step)
            if name == "statemachine":
                theirs_processes.commands += counted.commands
            theirs[name].append(seconds)
            ratios[name].append(seconds / middle)

    states = f"{len(table.states):,} states, {len(table):,} arrows"
    result.rows += [
        row(f"{TCPVIZ} ({label})", ours, f"{states}; laid out once: {layout_seconds:.2f} s"),
        row(
            f"{TRANSITIONS} ({label})",
            theirs["transitions"],
            f"engine {engine}: lays out every step",
        ),
        row(f"{STATEMACHINE} ({label})", theirs["statemachine"], "runs dot every step"),
    ]
    return {
        "transitions": statistics.median(ratios["transitions"]),
        "statemachine": statistics.median(ratios["statemachine"]),
        "processes": processes,
        "statemachine_dot": theirs_processes.named("dot"),
        "statemachine_steps": len(theirs["statemachine"]),
        "steps": len(ours),
        "layout_processes": layout_processes,
        "engine": engine,
    }


def transitions_svg_ok(data: bytes) -> bool:
    return data.lstrip().startswith((b"<?xml", b"<svg"))


def run(*, rounds: dict[str, int] | None = None, fast_per_round: int = FAST_PER_ROUND) -> Result:
    """Pair the libraries at each scale in ``rounds`` (label -> rounds; the full counts by
    default) with ``fast_per_round`` tcpviz steps per round."""
    rounds = ROUNDS if rounds is None else rounds
    result = Result(
        "step", "Show the new state after one event: tcpviz, transitions, python-statemachine"
    )
    measured = {}
    for label, size in SCALES:
        if label not in rounds:
            continue
        table = tcp_table() if size == 0 else tree_table(size)
        measured[label] = _scale(label, table, rounds[label], fast_per_round, result)
        for name, title in (
            ("transitions", "transitions"),
            ("statemachine", "python-statemachine"),
        ):
            result.ratios[f"{title} / tcpviz per step, {label} (median of paired rounds)"] = (
                measured[label][name]
            )
    tcp = measured["TCP"]
    ours = result.row(f"{TCPVIZ} (TCP)")
    slowest = min(m["transitions"] for m in measured.values())
    started = sum(m["processes"].count for m in measured.values())
    steps = sum(m["steps"] for m in measured.values())
    result.checks += [
        Check(
            "speed-up over transitions (TCP)",
            f">= {RATIO_TARGET:.0f}x",
            f"{tcp['transitions']:.0f}x",
            tcp["transitions"] >= RATIO_TARGET,
        ),
        Check(
            "speed-up over transitions (every scale)",
            f">= {RATIO_TARGET:.0f}x",
            f"{slowest:.0f}x at worst",
            slowest >= RATIO_TARGET,
        ),
        Check(
            "tcpviz median per step (TCP)",
            f"< {STEP_TARGET_MS:g} ms",
            f"{ours.median_ms:.3f} ms",
            ours.median_ms < STEP_TARGET_MS,
        ),
        Check(
            "programs started by tcpviz while stepping",
            "0",
            f"{started} in {steps} steps",
            started == 0,
        ),
    ]
    layout = tcp["layout_processes"]
    result.notes += [
        f"python-statemachine started dot {tcp['statemachine_dot']} times in "
        f"{tcp['statemachine_steps']} steps (TCP; so the process counter sees Graphviz runs)",
        f"transitions drew with its {tcp['engine']} engine (the default when pygraphviz is installed)",
        "tcpviz laid the built-in diagram out "
        + (
            "without starting any program (shipped layout)"
            if layout.count == 0
            else f"by running {', '.join(layout.commands)} (no shipped layout was found)"
        ),
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
