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
    "percentile",
    "row",
    "time_calls",
    "transitions_machine",
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
        graph_engine="graphviz",
        title=table.name,
    )
    return TransitionsSetup(machine, model, triggers)


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
