"""Both ends of a connection: one step of the connection widget, and the ladder of a long one.

- One connection step: a delivery (``deliver``) applied through the widget's Python side and
  both ends' views brought up to date (states, TCBs, timers, the calls possible, the segments
  in flight: :meth:`ConnectionView.position`), measured after 10, 100 and 1,000 steps of
  history, to show the cost does not grow with it. Target: under 1 ms, and the same at every
  length (the ratio of the longest to the shortest history).
- The lookahead sent right after each step (the position every button leads to, worked out on
  twins of the connection: ``Connection.preview`` and ``fork``) and the widget's ladder (its last 80 steps, redrawn when the
  story changes), reported as they are: they follow the confirmed step and are not part of it.
- The ladder of a 1,000-segment connection (a handshake, 498 data segments each acknowledged,
  and a FIN): from the simulator's trace to the SVG text (trace conversion, layout pass,
  writer). Target: under 100 ms.

Run it alone with ``.venv/bin/python benchmarks/bench_connection.py [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Check, Result, row, run_alone

from tcpviz.drawing.ladder import Ladder, trace_from_connection
from tcpviz.sim import Connection
from tcpviz.web.connection_widget import ConnectionView

STEP = "connection step: deliver + both ends' views"
LOOKAHEAD = "lookahead: every button's position (after the step)"
WIDGET_LADDER = "widget ladder: last 80 steps redrawn"
LADDER = "ladder of a 1,000-segment connection (trace to SVG)"
LADDER_CPU = "the same, CPU time of this process only"
STEP_TARGET_MS = 1.0
LADDER_TARGET_MS = 100.0
HISTORIES = (10, 100, 1000)

QUICK = {"samples": 5, "ladder_repeats": 2, "histories": (10, 40), "segments": 100}


def _handshake(view: ConnectionView) -> None:
    for key in ("server listen", "client connect", "deliver", "deliver", "deliver"):
        view.act(f"op:{key}")


def _grow(view: ConnectionView, steps: int) -> None:
    """Data and ACKs until the history is ``steps`` long (three steps per data segment)."""
    while view.connection.step + 3 <= steps:
        for key in ("client send 1", "deliver", "deliver"):
            view.act(f"op:{key}")


def _long_connection(segments: int) -> Connection:
    c = Connection()
    c.run("server listen", "client connect", "deliver", "deliver", "deliver")
    while c.counts["sent"] + 2 <= segments:
        c.run("client send 1", "deliver", "deliver")
    if c.counts["sent"] < segments:
        c.apply("client close")  # one more: the FIN, still in flight at the end
    return c


def run(
    samples: int = 40,
    ladder_repeats: int = 7,
    histories: tuple[int, ...] = HISTORIES,
    segments: int = 1000,
) -> Result:
    """Measure; ``samples`` steps per history length, ``ladder_repeats`` long ladders."""
    result = Result("connection", "Both ends of a connection: widget step and ladder")
    medians: dict[int, float] = {}
    for length in histories:
        view = ConnectionView()
        _handshake(view)
        _grow(view, length)
        steps, aheads, ladders = [], [], []
        first = view.connection.step
        clock = time.perf_counter
        for _ in range(samples):
            view.act("op:client send 1")
            view.position(lookahead=False)
            start = clock()
            view.act("op:deliver")  # the data segment arrives; an ACK goes out
            view.position(lookahead=False)
            middle = clock()
            view.lookahead()
            after = clock()
            view.ladder_svg()
            done = clock()
            steps.append(middle - start)
            aheads.append(after - middle)
            ladders.append(done - after)
            view.act("op:deliver")  # the ACK, so the next sample starts the same way
        medians[length] = statistics.median(steps)
        note = f"history of {first} to {view.connection.step} steps"
        result.rows.append(row(f"{STEP} ({length} steps)", steps, note))
        result.rows.append(row(f"{LOOKAHEAD} ({length} steps)", aheads, note))
        result.rows.append(row(f"{WIDGET_LADDER} ({length} steps)", ladders, note))
        view.close()

    connection = _long_connection(segments)
    drawn, cpu = [], []
    size = 0
    for _ in range(ladder_repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        svg = Ladder(trace_from_connection(connection)).svg()
        drawn.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        size = len(svg)
    sent = connection.counts["sent"]
    result.rows.append(row(LADDER, drawn, f"{sent} segments, {size // 1024} KB of SVG"))
    # On a shared machine the wall clock also counts the time other processes had the CPU.
    result.rows.append(row(LADDER_CPU, cpu, "time.process_time(): what the drawing itself costs"))

    shortest, longest = min(histories), max(histories)
    growth = medians[longest] / medians[shortest]
    result.ratios[f"step after {longest} / after {shortest} steps of history"] = growth
    step_ms = max(medians.values()) * 1e3
    ladder_ms = statistics.median(drawn) * 1e3
    result.checks += [
        Check(
            "one connection step (deliver + both views)",
            f"< {STEP_TARGET_MS:g} ms",
            f"{step_ms:.3f} ms",
            step_ms < STEP_TARGET_MS,
        ),
        Check(
            "the step costs the same with a long history",
            "ratio < 1.5",
            f"{growth:.2f}",
            growth < 1.5,
        ),
        Check(
            f"ladder of a {sent}-segment connection",
            f"< {LADDER_TARGET_MS:g} ms",
            f"{ladder_ms:.1f} ms",
            ladder_ms < LADDER_TARGET_MS,
        ),
    ]
    result.notes += [
        "the lookahead and the widget's ladder are computed after the step is confirmed and "
        "sent; they are reported, not counted in the step",
        "the widget draws only the story's last 80 steps, so its ladder costs the same "
        "however long the connection has run",
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
