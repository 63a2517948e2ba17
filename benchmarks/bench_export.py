"""Export time: tcpviz's ``Diagram(...).save(path, "svg")`` against a bare ``dot -Tsvg`` call.

Two tables:

- a custom one (the classic TCP figure plus the ABORT call of RFC 9293 section 3.10.5, as a
  teacher might draw it): no layout ships for it, so tcpviz runs Graphviz, then adds its
  classes, titles, ARIA labels and style sheet, and writes the file atomically;
- the built-in classic figure, whose layout ships with tcpviz: no Graphviz run at all.

Each is compared with what a user would otherwise type, ``dot -Tsvg -o out.svg`` on the very
DOT source tcpviz lays out (run through :mod:`subprocess`, writing the file itself). tcpviz's
layout caches are cleared before every timed save, so each one is a first export, as in a
fresh process; one more row shows a repeated save of the same custom table, layout cached.
The rows are measured in alternating rounds of the same run.

Run it alone with ``.venv/bin/python benchmarks/bench_export.py [--quick]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Check, ProcessCounter, Result, count_processes, row, run_alone

from tcpviz import Table, tcp_table
from tcpviz.drawing.diagram import Diagram, clear_caches, dot_source, layout_key, packaged_layouts
from tcpviz.model.table import FIGURE_5, SECTION_3_10, TCP_EVENTS

CUSTOM = "tcpviz save, custom table (runs dot)"
CUSTOM_DOT = "bare dot -Tsvg, custom table"
CUSTOM_CACHED = "tcpviz save again, custom table (layout cached)"
BUILTIN = "tcpviz save, built-in table (shipped layout)"
BUILTIN_DOT = "bare dot -Tsvg, built-in table"
#: Target from the project's brief: tcpviz's Graphviz path within 1.2x of bare dot.
RATIO_TARGET = 1.2
#: Small counts, for a quick look (run.py --quick uses them too).
QUICK = {"repeats": 6, "rounds": 2}
DOT = shutil.which("dot") or "dot"


def custom_table() -> Table:
    """RFC 9293 Figure 5 plus the ABORT call (11 states, 31 arrows): no layout ships for it."""
    table = tcp_table()
    rows = FIGURE_5 + tuple(t for t in SECTION_3_10 if t.event == "ABORT")
    return Table(
        rows,
        states=table.states,
        initial=table.initial,
        descriptions=table.descriptions,
        state_aliases=table.state_aliases,
        events=TCP_EVENTS,
        name="TCP with ABORT",
    )


def _bare_dot(source: bytes, path: Path) -> None:
    """What a user types instead: ``dot -Tsvg -o path`` with the DOT source on stdin."""
    completed = subprocess.run(
        [DOT, "-Tsvg", "-o", str(path)], input=source, capture_output=True, timeout=60
    )
    if completed.returncode != 0:
        raise RuntimeError(f"dot failed: {completed.stderr.decode(errors='replace')}")


def run(*, repeats: int = 40, rounds: int = 4) -> Result:
    """Time ``repeats`` exports of each kind, in ``rounds`` alternating rounds."""
    result = Result("export", "Export one diagram as SVG")
    if shutil.which("dot") is None:
        result.skipped = "Graphviz's dot is not installed"
        return result
    custom, builtin = custom_table(), tcp_table()
    shipped = layout_key(builtin) in packaged_layouts()
    if layout_key(custom) in packaged_layouts():
        raise AssertionError("the custom table has a shipped layout; it would not run dot")
    sources = {
        name: dot_source(table).encode("utf-8")
        for name, table in (("custom", custom), ("builtin", builtin))
    }
    samples: dict[str, list[float]] = {
        k: [] for k in (CUSTOM, CUSTOM_DOT, CUSTOM_CACHED, BUILTIN, BUILTIN_DOT)
    }
    processes: dict[str, ProcessCounter] = {k: ProcessCounter() for k in samples}
    clock = time.perf_counter

    with tempfile.TemporaryDirectory(prefix="tcpviz-bench-") as folder:
        out = Path(folder)

        def timed(label: str, action, *, cold: bool = False) -> None:
            if cold:
                clear_caches()  # outside the timing: this save starts as a fresh process would
            with count_processes() as counted:
                start = clock()
                action()
                samples[label].append(clock() - start)
            processes[label].commands += counted.commands

        actions = {
            CUSTOM: (lambda: Diagram(custom).save(out / "custom.svg", "svg"), True),
            CUSTOM_DOT: (lambda: _bare_dot(sources["custom"], out / "custom-dot.svg"), False),
            CUSTOM_CACHED: (lambda: Diagram(custom).save(out / "custom-again.svg", "svg"), False),
            BUILTIN: (lambda: Diagram(builtin).save(out / "builtin.svg", "svg"), True),
            BUILTIN_DOT: (lambda: _bare_dot(sources["builtin"], out / "builtin-dot.svg"), False),
        }
        # One untimed pass warms imports, the page cache holding dot, and the file system.
        for action, _ in actions.values():
            action()
        rounds = max(1, rounds)
        for number in range(rounds):
            share = repeats // rounds + (number < repeats % rounds)
            for label, (action, cold) in actions.items():
                for _ in range(share):
                    timed(label, action, cold=cold)

        # What was written is a whole SVG with every state's id, whichever way it was made.
        for name, table in (("custom", custom), ("builtin", builtin)):
            for suffix in ("", "-dot"):
                text = (out / f"{name}{suffix}.svg").read_text("utf-8")
                missing = [s for s, i in table.state_ids.items() if f'id="{i}"' not in text]
                if "<svg" not in text or missing:
                    raise AssertionError(f"{name}{suffix}.svg lacks states {missing}")

    notes = {
        CUSTOM: "layout cache cleared first",
        BUILTIN: "layout cache cleared first",
        CUSTOM_DOT: "subprocess, same DOT source",
        BUILTIN_DOT: "subprocess, same DOT source",
    }
    result.rows += [row(label, values, notes.get(label, "")) for label, values in samples.items()]
    ratio = result.row(CUSTOM).median_ms / result.row(CUSTOM_DOT).median_ms
    speedup = result.row(BUILTIN_DOT).median_ms / result.row(BUILTIN).median_ms
    result.ratios["tcpviz custom save / bare dot (median)"] = ratio
    result.ratios["bare dot / tcpviz built-in save (median)"] = speedup
    dot_runs = processes[CUSTOM].named("dot")
    result.checks += [
        Check(
            "custom-table save against bare dot",
            f"<= {RATIO_TARGET}x",
            f"{ratio:.2f}x",
            ratio <= RATIO_TARGET,
        ),
        Check(
            "Graphviz runs per custom-table save",
            "1",
            f"{dot_runs} in {len(samples[CUSTOM])} saves",
            dot_runs == len(samples[CUSTOM]),
        ),
    ]
    builtin_runs = processes[BUILTIN].count + processes[CUSTOM_CACHED].count
    if shipped:
        result.checks.append(
            Check(
                "programs started by built-in or cached saves",
                "0",
                f"{builtin_runs} in {len(samples[BUILTIN]) + len(samples[CUSTOM_CACHED])} saves",
                builtin_runs == 0,
            )
        )
    else:
        result.notes.append(
            "no shipped layout matches the built-in table's DOT source (tcpviz/drawing/layouts/ "
            "missing or stale), so its save ran dot too"
        )
    result.notes.append(
        f"custom table: {len(custom.states)} states, {len(custom)} transitions; "
        f"built-in: {len(builtin.states)} states, {len(builtin)} transitions"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
