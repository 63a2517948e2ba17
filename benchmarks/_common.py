"""What the benchmarks share: timing statistics, the result record, a process counter, and the
same TCP machine built for the ``transitions`` library.

Every benchmark returns a :class:`Result`: rows of timings (median, p95), ratios computed from
rows measured in the same run, and checks against the targets. ``run.py`` prints them as one
table; the smoke test checks their shape, never their values.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from tcpviz import Table, Transition, side_path, tcp_table

__all__ = [
    "Check",
    "ProcessCounter",
    "Result",
    "Row",
    "TransitionsSetup",
    "count_processes",
    "handshake_and_close",
    "paired_processes",
    "percentile",
    "python_statemachine",
    "row",
    "time_calls",
    "transitions_machine",
    "tree_table",
    "walk",
]


# -- statistics -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method: a value that was measured."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Row:
    """One measured thing: its median and 95th percentile in milliseconds, over ``n`` samples."""

    label: str
    median_ms: float
    p95_ms: float
    n: int
    note: str = ""


def row(label: str, seconds: Sequence[float], note: str = "") -> Row:
    """Summarise per-sample durations in seconds as a :class:`Row` in milliseconds."""
    ms = [s * 1e3 for s in seconds]
    return Row(label, statistics.median(ms), percentile(ms, 95), len(ms), note)


@dataclass(frozen=True)
class Check:
    """A target and whether this run met it."""

    name: str
    target: str
    value: str
    ok: bool


@dataclass
class Result:
    """What one benchmark measured."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    #: label -> ratio, each computed from two rows of this same run
    ratios: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""

    def row(self, label: str) -> Row:
        """The row called ``label``."""
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"no row {label!r} in {self.name} (rows: {[r.label for r in self.rows]})")

    def as_dict(self) -> dict[str, object]:
        """The result as JSON-ready data."""
        return asdict(self)


def time_calls(step: Callable[[], object], n: int) -> list[float]:
    """Call ``step`` ``n`` times and return each call's duration in seconds."""
    clock = time.perf_counter
    samples = []
    for _ in range(n):
        start = clock()
        step()
        samples.append(clock() - start)
    return samples


# -- counting processes -----------------------------------------------------------------------


@dataclass
class ProcessCounter:
    """The programs started while :func:`count_processes` was active."""

    commands: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.commands)

    def named(self, program: str) -> int:
        """How many of the started programs were ``program`` (e.g. ``'dot'``)."""
        return sum(os.path.basename(c) == program for c in self.commands)


def _program(args: object) -> str:
    if isinstance(args, (str, bytes, os.PathLike)):
        text = os.fsdecode(args)
        return text.split()[0] if text.split() else text
    first = next(iter(args), "")  # type: ignore[call-overload]
    return os.fsdecode(first)


@contextlib.contextmanager
def count_processes() -> Iterator[ProcessCounter]:
    """Count every program started through :mod:`subprocess`, ``os.system`` or ``os.posix_spawn``.

    The graphviz package (and so ``transitions``) runs ``dot`` through ``subprocess.run``, which
    builds a ``subprocess.Popen``; patching ``Popen.__init__`` catches every such start, even
    from code that imported ``Popen`` by name.
    """
    counter = ProcessCounter()
    original_init = subprocess.Popen.__init__
    original_system = os.system
    original_spawn = getattr(os, "posix_spawn", None)

    def counting_init(self, args, *rest, **kwargs):
        counter.commands.append(_program(args))
        original_init(self, args, *rest, **kwargs)

    def counting_system(command):
        counter.commands.append(_program(command))
        return original_system(command)

    def counting_spawn(path, argv, *rest, **kwargs):
        counter.commands.append(_program(argv or [path]))
        return original_spawn(path, argv, *rest, **kwargs)

    subprocess.Popen.__init__ = counting_init  # type: ignore[method-assign]
    os.system = counting_system
    if original_spawn is not None:
        os.posix_spawn = counting_spawn
    try:
        yield counter
    finally:
        subprocess.Popen.__init__ = original_init  # type: ignore[method-assign]
        os.system = original_system
        if original_spawn is not None:
            os.posix_spawn = original_spawn


# -- the workload -----------------------------------------------------------------------------


def handshake_and_close(table: Table | None = None) -> list[Transition]:
    """One realistic loop from CLOSED back to CLOSED: a client's life, then a server's.

    The client opens actively and closes first (through FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT); the
    server opens passively and closes second (CLOSE-WAIT, LAST-ACK). Twelve steps through ten of
    the eleven states, taken from the table itself (``side_path``) so they cannot drift from it.
    """
    table = tcp_table() if table is None else table
    loop = side_path("client", table) + side_path("server", table)
    if not loop or loop[0].source != table.initial or loop[-1].target != table.initial:
        raise ValueError(f"no client/server loop from {table.initial} in {table!r}")
    return loop


class TransitionsSetup(NamedTuple):
    """A ``transitions`` ``GraphMachine``, the model it drives, and its trigger names."""

    machine: Any
    model: Any
    #: tcpviz event name -> trigger name (``'rcv SYN,ACK'`` -> ``'rcv_syn_ack'``)
    triggers: dict[str, str]


def transitions_machine(table: Table | None = None) -> TransitionsSetup:
    """The same states and transitions as a ``transitions`` ``GraphMachine`` (graphviz engine).

    Returns the machine, the model to fire triggers on, and a mapping from each tcpviz event
    name to its trigger name. ``transitions`` adds each trigger as a method of the model,
    so triggers must be identifiers: the table's ``event_ids`` (``'rcv SYN,ACK'`` ->
    ``'rcv_syn_ack'``) are exactly that. Automatic ``to_<state>`` triggers are off, so both
    machines accept the same events. A ``via`` condition (RFC 9293 Figure 5, Note 1) becomes an
    ordinary arrow: it changes no edge of the drawing, and the loop never takes it.
    """
    from transitions.extensions import GraphMachine

    table = tcp_table() if table is None else table
    triggers = {event: table.event_ids[event] for event in table.events}
    transitions = [
        {"trigger": triggers[t.event], "source": t.source, "dest": t.target}
        for t in table.transitions
    ]

    class Connection:
        """The model ``transitions`` decorates with triggers, ``state`` and ``get_graph``."""

    model = Connection()
    machine = GraphMachine(
        model=model,
        states=list(table.states),
        transitions=transitions,
        initial=table.initial,
        auto_transitions=False,
        # No graph_engine: the default, pygraphviz (in-process libgraphviz) when installed, as
        # `pip install transitions[diagrams]` gives; the subprocess engine is ~3x slower.
        title=table.name,
    )
    return TransitionsSetup(machine, model, triggers)


def transitions_svg(model: Any) -> bytes:
    """What a transitions user calls to see the current state: ``get_graph().draw(...)``
    (pygraphviz engine) or ``get_graph().pipe(...)`` (graphviz engine)."""
    graph = model.get_graph()
    if hasattr(graph, "draw"):
        return graph.draw(format="svg", prog="dot")
    return graph.pipe(format="svg")


def transitions_engine(model: Any) -> str:
    """The engine transitions picked: 'pygraphviz' (in-process) or 'graphviz' (runs dot)."""
    return "pygraphviz" if hasattr(model.get_graph(), "draw") else "graphviz"


def python_statemachine(table: Table | None = None) -> tuple[Any, dict[str, str]]:
    """The same states and transitions as a python-statemachine ``StateMachine``.

    Returns the machine (started in the initial state) and the event name -> event id mapping
    (ids must be identifiers, like transitions' triggers). A user shows the current state in a
    notebook with ``sm._repr_svg_()``, which builds pydot's graph and runs ``dot``.
    """
    from statemachine import State, StateMachine
    from statemachine.factory import StateMachineMetaclass

    table = tcp_table() if table is None else table
    ids = {state: f"s_{table.state_ids[state]}" for state in table.states}
    attrs: dict[str, Any] = {
        ids[state]: State(name=state, value=state, initial=state == table.initial)
        for state in table.states
    }
    # Prefixed: an event called "send" (the SEND call) would hide StateMachine.send itself.
    events = {event: f"e_{table.event_ids[event]}" for event in table.events}
    for event, event_id in events.items():
        group = None
        for t in table.transitions:
            if t.event != event:
                continue
            edge = attrs[ids[t.source]].to(attrs[ids[t.target]])
            group = edge if group is None else group | edge
        if group is not None:
            attrs[event_id] = group
    machine_class = StateMachineMetaclass("TCPMachine", (StateMachine,), attrs)
    return machine_class(allow_event_without_transition=False), events


def tree_table(n: int) -> Table:
    """A table of ``n`` states for scaling runs: a binary tree (``left``, ``right``) with an
    ``up`` arrow back to each parent, so every state is reachable and a walk never stops.
    dot lays a tree out far faster than a ring of the same size (6.5 s against over 60 s at
    2,000 states here), and a teacher's large table is more tree than ring."""
    if n < 2:
        raise ValueError(f"a tree table needs at least 2 states, not {n}")
    rows = []
    for i in range(n):
        for event, child in (("left", 2 * i + 1), ("right", 2 * i + 2)):
            if child < n:
                rows.append(Transition(f"S{i}", event, f"S{child}", kind="user"))
        if i:
            rows.append(Transition(f"S{i}", "up", f"S{(i - 1) // 2}", kind="user"))
    return Table(rows, name=f"tree of {n} states")


def walk(table: Table, steps: int, seed: int = 9293) -> list[Transition]:
    """A reproducible random walk of ``steps`` transitions from the initial state."""
    import random

    chooser = random.Random(seed)
    here, entered_from, path = table.initial, None, []
    for _ in range(steps):
        choices = table.enabled(here, entered_from)
        step = choices[chooser.randrange(len(choices))]
        path.append(step)
        here, entered_from = step.target, here
    return path


# -- whole processes --------------------------------------------------------------------------


@dataclass
class ProcessTimes:
    """Wall-clock and CPU seconds of each run of two commands run in turn, A B A B ..."""

    a_wall: list[float] = field(default_factory=list)
    b_wall: list[float] = field(default_factory=list)
    a_cpu: list[float] = field(default_factory=list)
    b_cpu: list[float] = field(default_factory=list)

    def wall_ratios(self) -> list[float]:
        """A/B pair by pair: each pair ran back to back, so both saw the same machine."""
        return [a / b for a, b in zip(self.a_wall, self.b_wall, strict=True)]


def _run_once(command: Sequence[str], cwd: str | None) -> tuple[float, float]:
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait4 gives the finished child's own CPU accounting (user + system).
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {stderr.strip()}")
    return wall, usage.ru_utime + usage.ru_stime


def paired_processes(
    a: Sequence[str], b: Sequence[str], n: int, *, warmup: int = 1, cwd: str | None = None
) -> ProcessTimes:
    """Run commands ``a`` and ``b`` as whole processes in turn, ``n`` counted pairs after
    ``warmup`` uncounted ones; every run must exit 0."""
    times = ProcessTimes()
    for number in range(warmup + n):
        wall_a, cpu_a = _run_once(a, cwd)
        wall_b, cpu_b = _run_once(b, cwd)
        if number >= warmup:
            times.a_wall.append(wall_a)
            times.a_cpu.append(cpu_a)
            times.b_wall.append(wall_b)
            times.b_cpu.append(cpu_b)
    return times


def run_alone(module: ModuleType, argv: Sequence[str] | None = None) -> int:
    """The command line of one benchmark module: ``--quick`` for small counts; exit 1 on a
    missed target."""
    parser = argparse.ArgumentParser(description=(module.__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a quick look")
    args = parser.parse_args(argv)
    result = module.run(**module.QUICK) if args.quick else module.run()
    from run import print_results

    print_results([result])
    return 0 if all(c.ok for c in result.checks) else 1


# -- a real kernel ----------------------------------------------------------------------------


class KernelWidget:
    """A widget living in a real IPython kernel, driven the way the page drives it.

    The page's message goes to the kernel as JSON over ZeroMQ (a ``comm_msg``, signed by the
    session), ipywidgets dispatches it to the widget, and the kernel answers with its
    ``update`` messages; a step is over when the kernel reports itself idle after handling
    that message (its ``status: idle`` is published after every reply). What comes back is
    measured too: the bytes of the comm messages the step sent to the page.
    """

    def __init__(self, setup: str, timeout: float = 60.0):
        from jupyter_client.manager import start_new_kernel

        self.timeout = timeout
        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=timeout)
        reply = self.execute(setup + "\nprint(widget.comm.comm_id)")
        self.comm_id = reply.strip().splitlines()[-1]

    def execute(self, code: str) -> str:
        """Run ``code`` in the kernel; return what it printed (raise on an error)."""
        msg_id = self.client.execute(code)
        printed = []
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = self.client.get_iopub_msg(timeout=self.timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                raise RuntimeError(f"kernel error: {content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(printed)
        raise TimeoutError(f"the kernel did not finish {code!r} within {self.timeout} s")

    def send(self, content: dict[str, Any]) -> tuple[float, int, int]:
        """Send the page's message; (seconds until the kernel is idle again, bytes the page's
        message took as JSON, bytes of the comm messages sent back)."""
        import json

        data = {"method": "custom", "content": content}
        msg = self.client.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data})
        sent = len(json.dumps(data))
        start = time.perf_counter()
        self.client.session.send(self.client.shell_channel.socket, msg)
        back = 0
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = self.client.get_iopub_msg(timeout=self.timeout)
            if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if reply["msg_type"] == "comm_msg":
                back += len(json.dumps(reply["content"]))
            elif reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return time.perf_counter() - start, sent, back
        raise TimeoutError(f"no answer to {content!r} within {self.timeout} s")

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
