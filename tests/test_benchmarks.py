"""Smoke tests of benchmarks/: each benchmark runs end to end with tiny counts and returns a
well-formed result.

They check behaviour, never time: the shape of the results, that the two machines compared take
the same steps, and that stepping tcpviz starts no program while transitions runs ``dot`` on
every step. Whether a timing target is met depends on the machine and is for ``run.py`` to say.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import require_chromium

from tcpviz import Machine, tcp_table

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# The benchmarks are scripts, not a package: import them the way run.py does.
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
common = importlib.import_module("_common")
bench_step = importlib.import_module("bench_step")
bench_export = importlib.import_module("bench_export")
bench_browser = importlib.import_module("bench_browser")
bench_connection = importlib.import_module("bench_connection")
run = importlib.import_module("run")

needs_dot = pytest.mark.exe  # see conftest.py: skipped without dot, except in CI


def check_well_formed(result, name: str, counts: dict[str, int]) -> None:
    """Rows with finite positive timings and the right sample counts; finite positive ratios;
    every check a name, a target, a value and a bool."""
    assert result.name == name
    assert not result.skipped
    assert result.rows, "no rows"
    labels = [r.label for r in result.rows]
    assert len(labels) == len(set(labels)), f"duplicate rows: {labels}"
    for r in result.rows:
        assert math.isfinite(r.median_ms) and r.median_ms > 0, r
        assert math.isfinite(r.p95_ms) and r.p95_ms >= r.median_ms, r
        assert r.n in counts.values(), f"{r.label}: n={r.n}, expected one of {counts}"
    assert result.ratios
    for label, value in result.ratios.items():
        assert math.isfinite(value) and value > 0, (label, value)
    assert result.checks
    for c in result.checks:
        assert c.name and c.target and c.value and isinstance(c.ok, bool), c
    text = run.format_results([result])
    for label in labels:
        assert label in text
    json.dumps(result.as_dict())  # JSON-ready, as run.py --json writes it


def check_named(result, name: str):
    matches = [c for c in result.checks if c.name == name]
    assert len(matches) == 1, f"{name!r} not among {[c.name for c in result.checks]}"
    return matches[0]


# -- the helpers --------------------------------------------------------------------------------


def test_percentile_is_a_measured_value_by_nearest_rank():
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert common.percentile(values, 50) == 3.0
    assert common.percentile(values, 95) == 5.0
    assert common.percentile(values, 0) == 1.0
    assert common.percentile(list(range(1, 101)), 95) == 95
    with pytest.raises(ValueError):
        common.percentile([], 50)


def test_row_summarises_seconds_in_milliseconds():
    r = common.row("x", [0.001, 0.002, 0.010])
    assert (r.label, r.n) == ("x", 3)
    assert r.median_ms == pytest.approx(2.0)
    assert r.p95_ms == pytest.approx(10.0)


def test_count_processes_sees_programs_and_restores_popen():
    original = subprocess.Popen.__init__
    with common.count_processes() as counted:
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert counted.count == 2
    assert counted.named(Path(sys.executable).name) == 2
    assert subprocess.Popen.__init__ is original
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert counted.count == 2  # nothing is counted once the block is left


def test_loop_goes_from_closed_back_to_closed_through_both_sides(classic):
    loop = common.handshake_and_close(classic)
    machine = Machine(classic)
    states = [machine.state]
    for transition in loop:
        states.append(machine.fire(transition).target)
    assert states[0] == states[-1] == "CLOSED"
    assert {"SYN-SENT", "SYN-RECEIVED", "TIME-WAIT", "LAST-ACK"} <= set(states)


def test_transitions_machine_has_the_same_arrows(classic):
    graph_machine, model, triggers = common.transitions_machine(classic)
    assert all(name.isidentifier() for name in triggers.values())
    for state in classic.states:
        ours = sorted(triggers[t.event] for t in classic.outgoing(state))
        assert sorted(graph_machine.get_triggers(state)) == ours, state
    # Same steps, same states: the loop works on both machines.
    machine = Machine(classic)
    for transition in common.handshake_and_close(classic):
        model.trigger(triggers[transition.event])
        machine.fire(transition)
        assert model.state == machine.state


# -- each benchmark, end to end -------------------------------------------------------------------


@needs_dot
def test_bench_step_runs_and_tcpviz_starts_no_program():
    result = bench_step.run(rounds={"TCP": 3, "10 states": 2}, fast_per_round=4)
    check_well_formed(result, "step", {"tcp": 12, "tree": 8, "tcp rounds": 3, "tree rounds": 2})
    assert result.row(f"{bench_step.TCPVIZ} (TCP)").n == 12
    assert result.row(f"{bench_step.TRANSITIONS} (TCP)").n == 3
    assert result.row(f"{bench_step.STATEMACHINE} (10 states)").n == 2
    assert check_named(result, "programs started by tcpviz while stepping").ok
    notes = " ".join(result.notes)
    assert "python-statemachine started dot 3 times in 3 steps" in notes
    # transitions is measured with the engine its users get: pygraphviz, in-process.
    assert "pygraphviz engine" in notes


def test_the_other_libraries_take_the_same_steps(classic):
    sm, events = common.python_statemachine(classic)
    machine = Machine(classic)
    for transition in common.handshake_and_close(classic):
        sm.send(events[transition.event])
        machine.fire(transition)
        assert {s.name for s in sm.configuration} == {machine.state}
    tree = common.tree_table(200)
    assert len(tree.states) == 200
    path = common.walk(tree, 50)
    assert path == common.walk(tree, 50)  # seeded: the same walk every run
    machine = Machine(tree)
    assert [machine.fire(t).target for t in path] == [t.target for t in path]


@needs_dot
def test_bench_export_runs_dot_once_per_custom_save():
    result = bench_export.run(repeats=2, rounds=1, process_pairs=2)
    check_well_formed(result, "export", {"repeats": 2})
    assert check_named(result, "Graphviz runs per custom-table save").ok
    # Whole processes are compared with whole processes, and import time is measured.
    assert (
        result.row(bench_export.PROCESS_BUILTIN).n == result.row(bench_export.PROCESS_BUILTIN_DOT).n
    )
    assert check_named(result, "import tcpviz in a fresh interpreter (paired difference)")
    assert any("whole processes" in label for label in result.ratios)
    custom = bench_export.custom_table()
    assert custom != tcp_table() and len(custom) > len(tcp_table())


@needs_dot
@pytest.mark.browser
def test_bench_browser_clicks_and_widget_steps_start_no_program():
    require_chromium()
    counts = {
        "clicks": 3,
        "long_clicks": 2,
        "long_history": 13,
        "widget_steps": 5,
        "long_widget_steps": 2,
        "long_widget_history": 13,
        "graphviz_steps": 2,
        "kernel_steps": 3,
    }
    result = bench_browser.run(**counts)
    check_well_formed(result, "browser", counts)
    assert result.row(bench_browser.PAINT).n == 3
    # The browser's own account of the frame a student sees, one entry per click.
    assert result.row(bench_browser.PRESENTED).n == 3
    assert result.row(f"{bench_browser.PAINT}, after 13 steps").n == 2
    assert result.row(f"{bench_browser.WIDGET}, after 13 steps").n == 2
    assert check_named(result, "programs started while clicking").ok
    assert check_named(result, "programs started by widget steps").ok
    # Through a real kernel: the page's message has one size however long the session.
    assert result.row(bench_browser.KERNEL).n == 3
    assert check_named(result, "page -> Python step message, bytes (short and long sessions)").ok
    # The class change comes before the frame that paints it.
    paint, handler = result.row(bench_browser.PAINT), result.row(bench_browser.HANDLER)
    assert handler.median_ms <= paint.median_ms


def test_bench_connection_runs_every_row_and_checks_the_targets():
    result = bench_connection.run(samples=2, ladder_repeats=1, histories=(10, 20), segments=40)
    assert result.row(f"{bench_connection.STEP} (10 steps)").n == 2
    assert result.row(f"{bench_connection.LOOKAHEAD} (20 steps)").n == 2
    assert result.row(bench_connection.LADDER).n == 1
    assert "40 segments" in result.row(bench_connection.LADDER).note
    assert len(result.checks) == 3 and len(result.ratios) == 1


@needs_dot
def test_run_prints_one_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = run.main(["step", "--quick", "--json", str(out)])
    assert code in (0, 1)  # 1 only says a timing target was missed on this machine
    printed = capsys.readouterr().out
    assert bench_step.TCPVIZ in printed and "targets:" in printed
    data = json.loads(out.read_text())
    assert [r["name"] for r in data] == ["step"]
    assert {"rows", "ratios", "checks", "notes"} <= set(data[0])
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_run_rejects_an_unknown_benchmark():
    with pytest.raises(SystemExit, match="unknown benchmark"):
        run.run_all(["nope"])
