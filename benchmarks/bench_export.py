"""Export time, whole process against whole process, and the in-process cost for a notebook.

What a user types at a shell: ``tcpviz export -o tcp.svg`` against ``dot -Tsvg -o tcp.svg`` on
the very DOT source tcpviz lays out, each a whole process (start, imports, work, exit), run in
turn A B A B and compared pair by pair. Two tables:

- the built-in classic figure, whose layout ships with tcpviz: no Graphviz run at all;
- a custom one (the classic TCP figure plus the ABORT call of RFC 9293 section 3.10.5, as a
  teacher might draw it, read from a TOML file, drawn with ``--extended`` since its ABORT rows
  are marked extended): tcpviz runs dot, then neato for those rows, places their labels, adds
  its classes, titles, ARIA labels and style sheet, and writes the file atomically.

Beside them: the cost of ``import tcpviz`` in a fresh interpreter (``python -c "import tcpviz"``
against ``python -c pass``, paired), and the in-process ``Diagram(...).save(path)`` a notebook
user calls (layout caches cleared before each, as in a fresh kernel; and once more cached).
No ratio is drawn between an in-process call and a whole process.

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

import statistics

from _common import (
    Check,
    ProcessCounter,
    Result,
    count_processes,
    paired_processes,
    row,
    run_alone,
)

from tcpviz import Table, tcp_table
from tcpviz.drawing.diagram import Diagram, clear_caches, dot_source, layout_key, packaged_layouts
from tcpviz.model import FIGURE_5, SECTION_3_10, TCP_EVENTS

CUSTOM = "tcpviz save, custom table (runs dot)"
CUSTOM_DOT = "bare dot -Tsvg, custom table"
CUSTOM_CACHED = "tcpviz save again, custom table (layout cached)"
BUILTIN = "tcpviz save, built-in table (shipped layout)"
BUILTIN_DOT = "bare dot -Tsvg, built-in table"
PROCESS_BUILTIN = "tcpviz export, built-in table (whole process)"
PROCESS_BUILTIN_DOT = "dot -Tsvg, built-in table (whole process)"
PROCESS_CUSTOM = "tcpviz export --table, custom table (whole process, runs dot)"
PROCESS_CUSTOM_DOT = "dot -Tsvg, custom table (whole process)"
IMPORT = "python -c 'import tcpviz' (whole process)"
BARE_PYTHON = "python -c pass (whole process)"
#: Targets from issue 7: the built-in export as a process under 2x a bare dot process;
#: tcpviz's in-process Graphviz path within 1.2x of bare dot; ``import tcpviz`` under 50 ms.
PROCESS_TARGET = 2.0
RATIO_TARGET = 1.2
IMPORT_TARGET_MS = 50.0
#: Small counts, for a quick look (run.py --quick uses them too).
QUICK = {"repeats": 6, "rounds": 2, "process_pairs": 4}
#: The command a user types: the installed console script beside this Python, else -m.
_SCRIPT = Path(sys.executable).with_name("tcpviz")
TCPVIZ_COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tcpviz"]
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


def _processes(out: Path, custom: Table, sources: dict[str, bytes], n: int, result: Result) -> None:
    """Whole processes, paired: tcpviz's CLI against dot, and Python's start with and without
    ``import tcpviz``. Adds rows, ratios and checks to ``result``."""
    compile_bytecode()
    (out / "custom.toml").write_text(dump_table_text(custom), encoding="utf-8")
    for name, source in sources.items():
        (out / f"{name}.dot").write_bytes(source)
    pairs = {
        (PROCESS_BUILTIN, PROCESS_BUILTIN_DOT): (
            [*TCPVIZ_COMMAND, "export", "-o", str(out / "p-builtin.svg")],
            [DOT, "-Tsvg", "-o", str(out / "p-builtin-dot.svg"), str(out / "builtin.dot")],
        ),
        (PROCESS_CUSTOM, PROCESS_CUSTOM_DOT): (
            [
                *TCPVIZ_COMMAND,
                "export",
                "--extended",  # the table's rows beyond Figure 5 too: without it the CLI leaves
                "--table",  # them out, and the rest is the built-in figure, laid out already
                str(out / "custom.toml"),
                "-o",
                str(out / "p-custom.svg"),
            ],
            [DOT, "-Tsvg", "-o", str(out / "p-custom-dot.svg"), str(out / "custom.dot")],
        ),
        (IMPORT, BARE_PYTHON): (
            [sys.executable, "-c", "import tcpviz"],
            [sys.executable, "-c", "pass"],
        ),
    }
    measured = {}
    for (a_label, b_label), (a, b) in pairs.items():
        times = paired_processes(a, b, n, cwd=str(out))
        cpu_a, cpu_b = statistics.median(times.a_cpu), statistics.median(times.b_cpu)
        result.rows += [
            row(a_label, times.a_wall, f"paired with the next row; CPU {cpu_a * 1e3:.1f} ms"),
            row(b_label, times.b_wall, f"CPU {cpu_b * 1e3:.1f} ms"),
        ]
        measured[a_label] = times
    builtin = statistics.median(measured[PROCESS_BUILTIN].wall_ratios())
    custom_ratio = statistics.median(measured[PROCESS_CUSTOM].wall_ratios())
    imports = measured[IMPORT]
    import_ms = (
        statistics.median(a - b for a, b in zip(imports.a_wall, imports.b_wall, strict=True)) * 1e3
    )
    result.ratios["tcpviz export / dot, built-in table, whole processes (median of pairs)"] = (
        builtin
    )
    result.ratios["tcpviz export / dot, custom table, whole processes (median of pairs)"] = (
        custom_ratio
    )
    result.checks += [
        Check(
            "built-in export as a whole process against a dot process",
            f"< {PROCESS_TARGET:g}x",
            f"{builtin:.2f}x",
            builtin < PROCESS_TARGET,
        ),
        Check(
            "import tcpviz in a fresh interpreter (paired difference)",
            f"< {IMPORT_TARGET_MS:g} ms",
            f"{import_ms:.1f} ms",
            import_ms < IMPORT_TARGET_MS,
        ),
    ]


def compile_bytecode() -> None:
    """Compile tcpviz's modules to bytecode beside them, as ``pip install`` does, so that each
    timed process loads them rather than compiling them from source: an editable install run
    with ``PYTHONDONTWRITEBYTECODE=1`` (this build machine's sessions set it) never writes
    them, and every ``tcpviz`` process then compiles the modules it imports (35 ms here)."""
    import compileall

    import tcpviz

    if not compileall.compile_dir(Path(tcpviz.__file__).parent, quiet=2):
        raise RuntimeError("compiling tcpviz's modules to bytecode failed")


def dump_table_text(table: Table) -> str:
    """The custom table as the TOML file a teacher would keep."""
    from tcpviz.model import dumps_table

    return dumps_table(table, "toml")


def run(*, repeats: int = 40, rounds: int = 4, process_pairs: int = 20) -> Result:
    """Time ``repeats`` in-process exports of each kind in ``rounds`` alternating rounds, and
    ``process_pairs`` pairs of whole processes."""
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
            for _ in range(share):  # interleaved, so each save has its dot run beside it
                for label, (action, cold) in actions.items():
                    timed(label, action, cold=cold)

        _processes(out, custom, sources, process_pairs, result)

        # What was written is a whole SVG with every state's id, whichever way it was made.
        for name, table in (("custom", custom), ("builtin", builtin)):
            for suffix in ("", "-dot"):
                for prefix in ("", "p-"):
                    text = (out / f"{prefix}{name}{suffix}.svg").read_text("utf-8")
                    missing = [s for s, i in table.state_ids.items() if f'id="{i}"' not in text]
                    if "<svg" not in text or missing:
                        raise AssertionError(f"{prefix}{name}{suffix}.svg lacks states {missing}")
                    arrows = [i for i in table.edge_ids.values() if f'id="{i}"' not in text]
                    if not suffix and arrows:  # tcpviz drew this table, every row of it
                        raise AssertionError(f"{prefix}{name}.svg lacks transitions {arrows}")

    notes = {
        CUSTOM: "layout cache cleared first",
        BUILTIN: "layout cache cleared first",
        CUSTOM_DOT: "subprocess, same DOT source",
        BUILTIN_DOT: "subprocess, same DOT source",
    }
    result.rows += [row(label, values, notes.get(label, "")) for label, values in samples.items()]
    # The in-process save against dot: paired save by save (both ran in the same round).
    pairs = zip(samples[CUSTOM], samples[CUSTOM_DOT], strict=True)
    ratio = statistics.median(ours / theirs for ours, theirs in pairs)
    result.ratios["tcpviz in-process custom save (runs dot) / dot subprocess (median of pairs)"] = (
        ratio
    )
    dot_runs = processes[CUSTOM].named("dot")
    result.checks += [
        Check(
            "in-process custom-table save (runs dot) against a dot subprocess",
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
