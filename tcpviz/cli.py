"""The ``tcpviz`` command: draw the diagram, list the table, step through events, answer questions.

Thin on purpose: each subcommand parses its arguments, asks the layers below and prints plain
text (no colour, so it reads the same in a terminal, a log and a projector). Errors tcpviz
raises on purpose become one line on stderr and an exit status, never a traceback: 2 for a
command line that names something unknown, 1 for something that cannot be done.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import NoReturn, TypedDict

from . import drawing as render
from ._version import __version__
from .errors import (
    NoPath,
    TableError,
    TcpvizError,
    UnknownEvent,
    UnknownScenario,
    UnknownState,
    UsageError,
)
from .model.graph import shortest_events, side_path
from .model.machine import Machine
from .model.table import Table, Transition, tcp_table, text_problem

__all__ = ["build_parser", "main"]


def _scenarios() -> ModuleType:
    """The scenarios module, imported when a command needs it (the CLI starts faster)."""
    from .teach import scenarios

    return scenarios


#: The formats ``-o -`` can write to stdout (text, not binary).
TEXT_FORMATS = ("svg", "dot")
#: ``--path`` values besides the scenario names: the usual life of one end (graph.side_path).
SIDE_PATHS = ("client", "server")
TABLE_FORMATS = ("text", "json", "csv", "toml")
WIDTH = 88
#: Sockets listed per state when ``tcpviz live`` redraws a terminal in place.
TERMINAL_ROWS = 8


# -- helpers shared by the subcommands --------------------------------------------------------


def _table(args: argparse.Namespace) -> Table:
    """The table the command works on: the built-in one, or ``--table FILE``."""
    if getattr(args, "table", None) is not None:  # --table "" is a mistake, not "no table"
        from .model.tablefile import load_table  # the parsers load only when a file is read

        table = load_table(args.table)
        try:
            return table.subset(extended=args.extended)
        except TableError as error:  # valid with every row, not without the extended ones
            raise TableError(
                f"{error}, once the rows marked extended are left out (add --extended)"
            ) from None
    return tcp_table(extended=args.extended)


def _seconds(text: str) -> float:
    """An argparse type: a time limit in seconds, above 0 (``--dot-timeout 300``)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0, such as 300, not {text!r}"
        )
    return seconds


def _text(text: str) -> str:
    """An argparse type: text to put in a page (``--title``), which must be valid and XML-safe."""
    bad = next((char for char in text if "\udc80" <= char <= "\udcff"), None)
    if bad is not None:
        # Python hands bytes that are not UTF-8 over as lone surrogates (surrogateescape).
        raise argparse.ArgumentTypeError(
            f"is not UTF-8 text (it holds the byte {ord(bad) - 0xDC00:#04x}): set the "
            "terminal to UTF-8, or type the text again"
        )
    problem = text_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def _shown_path(path: str) -> str:
    """``path`` printable on any stdout: bytes that are not UTF-8 are shown as U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _is_stdout(path: str) -> bool:
    """Whether ``path`` names the file standard output already writes to (``/dev/stdout``)."""
    try:
        named, ours = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return (named.st_dev, named.st_ino) == (ours.st_dev, ours.st_ino)


def _wrote(path: str) -> None:
    # Not after writing to /dev/stdout itself: the line would land in the diagram.
    if not _is_stdout(path):
        print(f"wrote {_shown_path(path)}")


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def _names(names: Sequence[str]) -> str:
    # Event names hold commas ('rcv SYN,ACK'), so a list is shown the way errors show it.
    return repr(list(names))


def _via(t: Transition) -> str:
    return f"  (only when entered from {t.via})" if t.via else ""


def _print_state(table: Table, state: str, indent: str = "   ") -> None:
    if table.descriptions.get(state):
        print(_wrap(table.descriptions[state], indent))


# -- export -----------------------------------------------------------------------------------


def _export_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    if args.output == "-":
        return "svg"
    suffix = Path(args.output).suffix.lower()
    if suffix not in render.SUFFIXES:
        raise UsageError(
            f"cannot tell the format from {args.output!r}: give --format, or a file ending in "
            f"one of {sorted(render.SUFFIXES)}"
        )
    return render.SUFFIXES[suffix]


class _Highlights(TypedDict, total=False):
    """The marks of :class:`~tcpviz.drawing.Diagram` that the command line sets."""

    state: str | None
    last: Transition | None
    visited: Iterable[str]
    taken: Iterable[Transition]


def _highlights(args: argparse.Namespace, table: Table) -> _Highlights:
    """What the diagram marks: the current state, the last arrow taken, the states visited."""
    if args.after or args.path:
        machine = Machine(table)
        if args.after:
            machine.run(*args.after)
        elif args.path in SIDE_PATHS:
            path = side_path(args.path, table)
            if not path:
                raise UsageError(
                    f"no transition of this table is marked side = {args.path!r}, so there is "
                    "no path to draw"
                )
            for transition in path:
                machine.fire(transition)
        else:
            from .teach import get_scenario

            get_scenario(args.path).play(machine)
        return {
            "state": machine.state,
            "last": machine.last,
            "visited": machine.visited,
            "taken": machine.history,
        }
    if args.highlight:
        return {"state": table.state(args.highlight)}
    return {}


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _export_format(args)
    if args.output == "-" and fmt not in TEXT_FORMATS:
        raise UsageError(f"{fmt} is binary: write it to a file with -o FILE.{fmt}")
    if (args.dpi is not None or args.scale is not None) and fmt != "png":
        raise UsageError(f"--dpi and --scale set a PNG's resolution, not {fmt}'s: use -o FILE.png")
    table = _table(args)
    # Everything is checked before anything is written: a bad state leaves no file behind,
    # and Diagram.save renders completely before it writes (atomically).
    diagram = render.Diagram(
        table, theme=args.theme, timeout=args.dot_timeout, **_highlights(args, table)
    )
    if args.output == "-":
        sys.stdout.write(diagram.pipe(fmt).decode("utf-8"))
    else:
        sys.stdout.flush()  # -o /dev/stdout: what was printed before comes first
        diagram.save(args.output, format=fmt, dpi=args.dpi, scale=args.scale)
        _wrote(args.output)
    return 0


# -- html -------------------------------------------------------------------------------------


def cmd_html(args: argparse.Namespace) -> int:
    from .web import html

    table = _table(args)
    # Lay the table out here, with the time limit asked for: the page then finds the layout
    # in the cache (drawing.layout_svg keeps it per table).
    render.layout_svg(table, timeout=args.dot_timeout)
    if args.output == "-":
        sys.stdout.write(html.standalone_html(table, theme=args.theme, title=args.title))
    else:
        sys.stdout.flush()
        html.save_html(args.output, table=table, theme=args.theme, title=args.title)
        _wrote(args.output)
    return 0


# -- ladder -----------------------------------------------------------------------------------

#: The ladder formats ``-o -`` can write to stdout (text, not binary).
LADDER_TEXT_FORMATS = ("svg", "mermaid", "html")


def cmd_ladder(args: argparse.Namespace) -> int:
    """Play a connection scenario and draw its ladder (both ends, every segment between them)."""
    from .drawing import ladder
    from .teach.connection_scenarios import get_connection_scenario

    scenario = get_connection_scenario(args.scenario)  # UnknownScenario lists the names
    if args.format:
        fmt = args.format
    elif args.output == "-":
        fmt = "svg"
    else:
        suffix = Path(args.output).suffix.lower()
        suffixes = {**ladder.LADDER_SUFFIXES, ".html": "html", ".htm": "html"}
        if suffix not in suffixes:
            raise UsageError(
                f"cannot tell the format from {args.output!r}: give --format, or a file ending "
                f"in one of {sorted(suffixes)}"
            )
        fmt = suffixes[suffix]
    if args.output == "-" and fmt not in LADDER_TEXT_FORMATS:
        raise UsageError(f"{fmt} is binary: write it to a file with -o FILE.{fmt}")
    if fmt == "html":
        # Both ends, the ladder and every step of the scenario in one page, no Python.
        from .web.connection_page import connection_html, save_connection_html
        from .web.connection_widget import record_scenario

        recording = record_scenario(scenario.name, theme=args.theme, time=args.time)
        if args.output == "-":
            sys.stdout.write(connection_html(recording))
        else:
            save_connection_html(args.output, recording)
            print(f"wrote {args.output}")
        return 0
    drawing = ladder.Ladder(
        ladder.trace_from_connection(scenario.play(), title=scenario.title),
        time=args.time,
        theme=args.theme,
    )
    if args.output == "-":
        sys.stdout.write(drawing.pipe(fmt).decode("utf-8"))
    else:
        drawing.save(args.output, format=fmt, scale=args.scale)
        print(f"wrote {args.output}")
    return 0


# -- table ------------------------------------------------------------------------------------


def _columns(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def cmd_table(args: argparse.Namespace) -> int:
    table = _table(args)
    fmt = "rows" if args.json else args.format
    if fmt == "rows":
        print(json.dumps(table.rows(), indent=2, ensure_ascii=False))
    elif fmt == "text":
        keys = ["source", "event", "sent", "target", "kind", "side", "section"]
        keys += ["via"] * any(t.via for t in table.transitions)
        keys += ["extended"] * any(t.extended for t in table.transitions)
        rows = [keys] + [
            [
                ("yes" if t.extended else "") if key == "extended" else getattr(t, key) or ""
                for key in keys
            ]
            for t in table.transitions
        ]
        print(_columns(rows))
    else:
        from .model.tablefile import dumps_table

        sys.stdout.write(dumps_table(table, fmt))
    return 0


# -- step, path -------------------------------------------------------------------------------


def _print_step(number: int, t: Transition, table: Table, describe: bool = True) -> None:
    print(f"{number}. {t.label}  ->  {t.target}")
    if describe:
        _print_state(table, t.target)


def cmd_step(args: argparse.Namespace) -> int:
    table = _table(args)
    machine = Machine(table, state=args.start)
    print(machine.state)
    _print_state(table, machine.state)
    for number, event in enumerate(args.events, start=1):
        transition = machine.fire(event)  # InvalidTransition: main() prints it, exit 1
        print()
        _print_step(number, transition, table)
    print()
    print(f"allowed in {machine.state}: {_names(machine.enabled_events())}")
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    table = _table(args)
    source, target = table.state(args.source), table.state(args.target)
    try:
        path = shortest_events(source, target, table)
    except NoPath:
        return _error("tcpviz path", f"no sequence of events leads from {source} to {target}", 1)
    if not path:
        print(f"{source} is {target}: no event needed")
        return 0
    print(source)
    for number, t in enumerate(path, start=1):
        _print_step(number, t, table, describe=False)
    print()
    # shortest_events honours 'via' (RFC 9293 Figure 5, Note 1), so `tcpviz step --from` can
    # replay this path as it stands.
    options = [*_table_options(args)]
    if source != table.initial:
        options += ["--from", source]
    command = shlex.join(["tcpviz", "step", *options, *(t.event for t in path)])
    print(f"{len(path)} event{'s' * (len(path) != 1)}: {command}")
    return 0


def _table_options(args: argparse.Namespace) -> list[str]:
    """The options that select the table, to repeat them in a suggested command."""
    return ["--table", args.table] * bool(args.table) + ["--extended"] * args.extended


# -- describe, states, events -----------------------------------------------------------------


def _describe(table: Table, state: str) -> None:
    print(state)
    _print_state(table, state, "  ")
    if table.state_aliases.get(state):
        print(f"  aliases: {' | '.join(table.state_aliases[state])}")
    incoming = [t for t in table.transitions if t.target == state]
    if state == table.initial:
        print("  the initial state")
    if incoming:
        print("  entered by:")
        width = max(len(t.source) for t in incoming)
        for t in incoming:
            print(f"    {t.source:<{width}}  {t.label}{_via(t)}")
    outgoing = table.outgoing(state)
    if outgoing:
        print("  events:")
        width = max(len(t.label) for t in outgoing)
        for t in outgoing:
            print(f"    {t.label:<{width}}  -> {t.target}{_via(t)}")
    else:
        print("  events: none (a dead end)")


def cmd_describe(args: argparse.Namespace) -> int:
    table = _table(args)
    if args.all == bool(args.state):
        raise UsageError("give one STATE, or --all")
    states = table.states if args.all else [table.state(args.state)]
    for number, state in enumerate(states):
        if number:
            print()
        _describe(table, state)
    return 0


def cmd_states(args: argparse.Namespace) -> int:
    table = _table(args)
    rows = [["state", "aliases"]]
    rows += [[s, " | ".join(table.state_aliases.get(s, ()))] for s in table.states]
    print(_columns(rows))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    table = _table(args)
    rows = [["event", "kind", "in words", "aliases"]]
    rows += [
        [name, event.kind, event.words, " | ".join(event.aliases)]
        for name, event in table.events.items()
    ]
    print(_columns(rows))
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    if not args.name:
        rows = [["scenario", "table", "title"]]
        rows += [
            [s.name, "extended" if s.extended else "classic", s.title]
            for s in _scenarios().SCENARIOS.values()
        ]
        print(_columns(rows))
        return 0
    scenario = _scenarios().get_scenario(args.name)
    table = tcp_table(extended=args.extended or scenario.extended)
    print(scenario.title)
    print(_wrap(scenario.summary, ""))
    print()
    print(scenario.start)
    transitions = scenario.transitions(table)
    for number, (step, t) in enumerate(zip(scenario.steps, transitions, strict=True), start=1):
        print()
        print(f"{number}. {t.label}  ->  {t.target}")
        print(_wrap(step.why, "   "))
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    """This machine's TCP sockets by state, again every ``--interval`` until Ctrl-C."""
    from .errors import InvalidFilter
    from .files import write_atomic
    from .traffic import live

    try:
        view = live.LiveView(port=args.port, process=args.process, source=args.source)
        count = 1 if args.once else args.count
        snapshots = view.watch(args.interval, count)
        clear = sys.stdout.isatty() and not args.json and count != 1
        # A screen redrawn in place must fit: a few sockets per state unless asked for more.
        rows = args.rows if args.rows is not None else (TERMINAL_ROWS if clear else None)
        for number, snapshot in enumerate(snapshots):
            if args.svg:  # the diagram with the counts, for slides: replaced at each reading
                diagram = render.Diagram(theme=args.theme).pipe("svg").decode("utf-8")
                counted = render.heat_map(diagram, None, snapshot.counts)
                write_atomic(Path(args.svg), counted.encode("utf-8"))
            if args.json:
                text = json.dumps(snapshot.to_dict(), indent=2 if count == 1 else None)
            else:
                text = live.format_table(snapshot, width=WIDTH, describe=not args.brief, rows=rows)
            if clear:
                text = "\x1b[H\x1b[2J" + text + "\n(Ctrl-C to stop)"
            elif number and not args.json:
                text = "\n" + text
            print(text, flush=True)
    except InvalidFilter as error:
        raise UsageError(str(error)) from None
    except KeyboardInterrupt:  # the way to stop watching: not an error
        print()
    return 0


# -- the parser -------------------------------------------------------------------------------

EPILOG = """\
examples:
  tcpviz step "active open" "SYN,ACK" close     one end's way through the diagram
  tcpviz describe SYN_RECV                      any tool's spelling of a state
  tcpviz path LISTEN TIME-WAIT                  the fewest events from one state to another
  tcpviz export --highlight ESTABLISHED -o tcp.svg
  tcpviz export --path handshake-client --theme dark -o handshake.png
  tcpviz table --format toml > my.toml          edit it, then: tcpviz step --table my.toml ...
  tcpviz html -o tcp.html                       a page that steps on its own, no Python needed
  tcpviz replay capture.pcap --conn 1           both ends' states in a real capture
  tcpviz live --port 8080                       this machine's sockets on port 8080, by state
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with its error on one line even when it quotes an argument holding a line
    break (``tcpviz table $'\\n0'``)."""

    def error(self, message: str) -> NoReturn:
        super().error(message.replace("\r", "\\r").replace("\n", "\\n"))


def build_parser() -> argparse.ArgumentParser:
    """The ``tcpviz`` argument parser with every subcommand."""
    parser = _Parser(
        prog="tcpviz",
        description="The TCP connection state machine of RFC 9293: drawn, listed, stepped through.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tcpviz {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    tables = argparse.ArgumentParser(add_help=False)
    tables.add_argument(
        "--extended",
        action="store_true",
        help="add what RFC 9293 section 3.10 specifies beyond Figure 5 (RST, ABORT, timeouts)",
    )
    tables.add_argument(
        "--table",
        metavar="FILE",
        help="use your own table (.toml, .json or .csv; see examples/README.md)",
    )

    def command(
        name: str,
        run: Callable[[argparse.Namespace], int],
        help: str,
        parents: Sequence[argparse.ArgumentParser] = (tables,),
    ) -> argparse.ArgumentParser:
        # typeshed wants the parents to be of the parser's own class (_Parser); argparse only
        # copies their arguments, from any ArgumentParser.
        sub = commands.add_parser(
            name,
            help=help,
            description=help,
            parents=list(parents),  # type: ignore[arg-type]
        )
        sub.set_defaults(run=run)
        return sub

    export = command("export", cmd_export, "draw the diagram to an SVG, PNG, PDF or DOT file")
    export.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the file to write ('-': stdout)"
    )
    export.add_argument(
        "--format",
        choices=render.FORMATS,
        help="the file format (default: from the suffix of FILE)",
    )
    export.add_argument(
        "--theme",
        choices=render.THEMES,
        default="light",
        help="colours (default: light; auto follows the page's light or dark theme)",
    )
    resolution = export.add_mutually_exclusive_group()
    resolution.add_argument(
        "--dpi", type=float, metavar="N", help="a PNG's resolution (default: 96; 300 for print)"
    )
    resolution.add_argument(
        "--scale", type=float, metavar="X", help="a PNG's size as a multiple of 96 dpi (2: sharp)"
    )

    def add_dot_timeout(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dot-timeout",
            type=_seconds,
            default=render.DOT_TIMEOUT,
            metavar="SECONDS",
            help=f"how long Graphviz's dot may run: to lay out a custom table, to make PNG or "
            f"PDF (default: {render.DOT_TIMEOUT:g}; large tables need more)",
        )

    add_dot_timeout(export)
    marks = export.add_mutually_exclusive_group()
    marks.add_argument("--highlight", metavar="STATE", help="mark STATE as the current state")
    marks.add_argument(
        "--after",
        nargs="+",
        metavar="EVENT",
        help="mark where these events lead from the initial state, the way there and the last arrow",
    )
    marks.add_argument(
        "--path",
        metavar="PATH",
        help="mark a whole path: client or server (the usual life of that end), or a scenario "
        "name (see: tcpviz scenarios)",
    )

    html = command("html", cmd_html, "write a standalone web page that steps through the diagram")
    html.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the page to write ('-': stdout)"
    )
    html.add_argument(
        "--theme",
        choices=render.THEMES,
        default="auto",
        help="colours (default: auto, following the reader's light or dark system setting)",
    )
    html.add_argument("--title", type=_text, help="the page's title")
    add_dot_timeout(html)

    table = command("table", cmd_table, "print the transition table")
    shape = table.add_mutually_exclusive_group()
    shape.add_argument(
        "--json",
        action="store_true",
        help="the rows as a JSON list, every field (for scripts; also loadable with --table)",
    )
    shape.add_argument(
        "--format",
        choices=TABLE_FORMATS,
        default="text",
        help="text (default: aligned columns), or a table file to edit and load with --table: "
        "json, csv, toml",
    )

    step = command("step", cmd_step, "fire events one by one and show each state reached")
    step.add_argument(
        "events",
        nargs="*",
        metavar="EVENT",
        help="an event name or alias ('active open', connect, SYN, 'SYN,ACK', ack, close, ...)",
    )
    step.add_argument(
        "--from", dest="start", metavar="STATE", help="start there instead of the initial state"
    )

    describe = command("describe", cmd_describe, "explain a state: meaning, aliases, events")
    describe.add_argument("state", nargs="?", metavar="STATE", help="a state, in any spelling")
    describe.add_argument("--all", action="store_true", help="every state")

    command("states", cmd_states, "list the states and the names other tools use for them")
    command("events", cmd_events, "list the events and the aliases accepted as input")

    path = command("path", cmd_path, "the fewest events leading from one state to another")
    path.add_argument("source", metavar="FROM")
    path.add_argument("target", metavar="TO")

    scenarios = command(
        "scenarios",
        cmd_scenarios,
        "list the named TCP scenarios, or play one with the reason for each step",
        parents=(),
    )
    scenarios.add_argument("name", nargs="?", metavar="NAME", help="a scenario to play")
    scenarios.add_argument(
        "--extended", action="store_true", help="play on the extended table (implied when needed)"
    )

    replay = command(
        "replay",
        cmd_replay,
        "read a packet capture (pcap, pcapng) and show both ends' states per TCP connection",
        parents=(),
    )
    replay.add_argument(
        "file",
        metavar="FILE",
        help="a capture, e.g. from tcpdump -w FILE ('-': standard input, tcpdump -w - | ...)",
    )
    replay.add_argument(
        "--conn", type=int, metavar="N", help="only connection N (numbered from 1), in detail"
    )
    shown = replay.add_mutually_exclusive_group()
    shown.add_argument(
        "--json",
        action="store_true",
        help="per connection the two endpoints (address, port, role) and each one's states",
    )
    shown.add_argument(
        "--html",
        action="store_true",
        help="write a standalone page stepping through connection --conn segment by segment "
        "(both ends' state diagrams and the ladder; no Python needed to open it), to -o FILE",
    )
    shown.add_argument(
        "--format",
        choices=REPLAY_FORMATS,
        help="text (default), json (as --json) or html (as --html)",
    )
    replay.add_argument(
        "-o", "--output", metavar="FILE", help="the page --html writes ('-': stdout)"
    )
    replay.add_argument(
        "--theme",
        choices=render.THEMES,
        help="the page's colours (default: auto, following the reader's light or dark setting)",
    )
    replay.add_argument("--title", type=_text, help="the page's title (default: names both ends)")

    live = command(
        "live",
        cmd_live,
        "watch this machine's TCP sockets by state, refreshed until Ctrl-C",
        parents=(),
    )
    live.add_argument("--once", action="store_true", help="print the sockets once and exit")
    live.add_argument(
        "--json",
        action="store_true",
        help="JSON for scripts: per state its count and description, then the sockets "
        "(one object per line when refreshing)",
    )
    live.add_argument(
        "--port",
        type=int,
        action="append",
        metavar="PORT",
        help="only sockets with PORT at either end, local or remote (may be repeated)",
    )
    live.add_argument(
        "--process",
        metavar="NAME|PID",
        help="only sockets of this process: a pid, or part of its name (python matches python3)",
    )
    live.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between refreshes (default: 1; at least 0.1)",
    )
    live.add_argument("--count", type=int, metavar="N", help="stop after N refreshes")
    live.add_argument(
        "--rows",
        type=int,
        metavar="N",
        help=f"list at most N sockets per state, counting the rest (default: all; "
        f"{TERMINAL_ROWS} when refreshing in a terminal)",
    )
    live.add_argument(
        "--source",
        choices=("auto", "sock_diag", "proc", "psutil", "netstat"),
        default="auto",
        help="where to read the sockets (default: auto, the first of these that works here)",
    )
    live.add_argument(
        "--brief", action="store_true", help="leave out the description of each state"
    )
    live.add_argument(
        "--svg",
        metavar="FILE",
        help="also write the state diagram with the count of each state (a heat map) to FILE, "
        "replaced at each refresh",
    )
    live.add_argument(
        "--theme", choices=render.THEMES, default="light", help="the colours of --svg"
    )

    lad = command(
        "ladder",
        cmd_ladder,
        "draw the ladder (sequence) diagram of a connection scenario: both ends, every segment",
        parents=(),
    )
    lad.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a connection scenario: handshake, simultaneous-close, lost-final-ack, ... "
        "(a wrong name lists them all)",
    )
    lad.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="the file to write: .svg, .png, .pdf, .mmd, or .html (a page stepping through the "
        "scenario, both ends and the ladder; no Python needed) (default '-': SVG on stdout)",
    )
    lad.add_argument(
        "--format",
        choices=("svg", "png", "pdf", "mermaid", "html"),
        help="the file format (default: from the suffix of FILE)",
    )
    lad.add_argument(
        "--time",
        choices=("logical", "real"),
        default="logical",
        help="logical: one row per step (default); real: rows spaced by the simulated clock",
    )
    lad.add_argument(
        "--theme",
        choices=render.THEMES,
        default="light",
        help="colours, as for export (default: light)",
    )
    lad.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="PNG pixels per CSS pixel, for slides (default 1; 2 for a sharp projector image)",
    )
    return parser


# -- replay -----------------------------------------------------------------------------------

#: Above this many connections, replay lists them one line each unless --conn picks one.
REPLAY_DETAIL = 10
#: What ``tcpviz replay --format`` can show.
REPLAY_FORMATS = ("text", "json", "html")


def _replay_time(value: float | None, start: float) -> str:
    return "" if value is None else f"{value - start:.6f}"


def _print_connection_detail(connection, start: float) -> None:
    from .traffic import CONN_STATES

    ends = connection.endpoints
    names = [f"{e.role} {e.address}:{e.port}" for e in ends]
    print(
        f"connection {connection.number}: {connection.describe()}   {connection.conn_state} "
        f"({CONN_STATES[connection.conn_state]})   history {connection.history}"
    )
    if connection.self_connect:
        print("   a self-connect: one socket connected to its own address and port")
    print("   segments (seq and ack relative to each end's first sequence number):")
    who = [e.role for e in ends] if len(ends) == 2 else ["self", "self"]
    rows = [["#", "time", "from", "flags", "seq", "ack", "len", ""]]
    for s in connection.segments:
        rows.append(
            [
                str(s.number),
                _replay_time(s.time, start),
                who[s.sender],
                s.flag_text,
                str(s.seq),
                str(s.ack) if s.flags & 0x10 else "",
                str(s.length),
                "" if s.kind == "new" else s.kind,
            ]
        )
    print(textwrap.indent(_columns(rows), "   "))
    if connection.unlisted:
        print(f"   ... and {connection.unlisted} more segments (replayed, not listed)")
    for end, name in zip(ends, names, strict=True):
        print(f"   {name} states:")
        rows = [["time", "state", "event", "cause", "", "why"]]
        for c in end.changes:
            rows.append(
                [
                    _replay_time(c.time, start) if c.time is not None else "-",
                    c.state,
                    c.event or "",
                    f"#{c.cause}" if c.cause is not None else "",
                    f"seen (#{c.proof})"
                    if c.seen and c.proof
                    else "seen"
                    if c.seen
                    else "inferred",
                    c.note,
                ]
            )
        print(textwrap.indent(_columns(rows), "     "))
        for note in end.notes:
            print(_wrap(f"note: {note}", "     "))
    print()


def _replay_row(c) -> list[str]:
    return [
        str(c.number),
        f"{c.addresses[0]}:{c.ports[0]}",
        f"{c.addresses[1]}:{c.ports[1]}",
        str(sum(c.packets)),
        str(sum(c.payload)),
        c.conn_state,
        "  |  ".join(" > ".join(e.states) for e in c.endpoints),
    ]


_REPLAY_HEADER = ["#", "originator", "responder", "packets", "bytes", "summary", "states"]
# Column widths once the list is too long to align at the end (IPv4 address and port fit).
_REPLAY_WIDTHS = (6, 22, 22, 8, 10, 7)


def _no_connection(number: int) -> bool:
    return False


def _first_few(number: int) -> bool:
    return number <= REPLAY_DETAIL + 1


def _replay_page(args: argparse.Namespace) -> int:
    """``tcpviz replay FILE --conn N --html -o PAGE``: the standalone page of one connection,
    for slides and homework (the same page the widget's recording makes)."""
    from .files import write_atomic
    from .traffic import Replay, iter_connections
    from .web.connection_page import connection_html
    from .web.replay import ReplayView, window_scales

    if args.output is None:
        raise UsageError("--html writes a page: give -o FILE (or -o - for standard output)")
    stdin = args.file == "-"
    source = sys.stdin.buffer if stdin else args.file
    name = "<stdin>" if stdin else args.file
    summary = Replay(name)
    progress = sys.stderr.isatty() and not stdin
    wanted = args.conn if args.conn is not None else 1
    chosen = None
    # Read to the end (bounded memory: only the connection wanted keeps its segments), so
    # that what is wrong further on in the file is reported too.
    for c in iter_connections(
        source, name=name, replay=summary, progress=progress, segments_of=wanted
    ):
        if c.number == wanted:
            chosen = c
    for problem in summary.problems:
        print(f"tcpviz replay: error: {problem}", file=sys.stderr)
    seen = summary.connections_seen
    if chosen is None:
        if args.conn is None and not seen:
            raise UsageError(f"no TCP connection in {name}: there is no page to make")
        raise UsageError(
            f"no connection {wanted} in {name}: it has "
            + (f"connections 1 to {seen}" if seen else "no connection")
        )
    if args.conn is None and seen > 1:
        raise UsageError(
            f"{name} holds connections 1 to {seen}: say which one the page shows with --conn N "
            f"(tcpviz replay {args.file} lists them)"
        )
    # The SYNs' window scale options are read again from the file (standard input cannot be).
    scale = None if stdin else window_scales(args.file, chosen)
    view = ReplayView(chosen, theme=args.theme or "auto", window_scale=scale)
    page = connection_html(view.recording(), title=args.title)
    if args.output == "-":
        sys.stdout.write(page)
    else:
        sys.stdout.flush()
        write_atomic(args.output, page)
        _wrote(args.output)
    return 1 if summary.problems else 0


def cmd_replay(args: argparse.Namespace) -> int:
    # The capture is read once and each connection handed on when it is over, so a capture of
    # any size is listed in bounded memory: rows are printed as they come once there are more
    # than REPLAY_DETAIL, and only --conn's connection (or the first few) is kept in full.
    if args.format == "json":
        args.json = True
    if args.html or args.format == "html":
        return _replay_page(args)
    for option in ("output", "title", "theme"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option} is for the page: add --html")
    from .traffic import Replay, iter_connections

    source = sys.stdin.buffer if args.file == "-" else args.file
    name = "<stdin>" if args.file == "-" else args.file
    summary = Replay(name)
    progress = sys.stderr.isatty() and args.file != "-"
    # Segments are listed for --conn's connection, or for all when there are at most
    # REPLAY_DETAIL; beyond that only the states are printed, so only the first few keep
    # theirs (memory stays a few KB per open connection whatever the capture holds).
    if args.conn is not None:
        keep: int | Callable[[int], bool] = args.conn
    elif args.json:
        keep = _no_connection
    else:
        keep = _first_few
    connections = iter_connections(
        source, name=name, replay=summary, progress=progress, segments_of=keep
    )
    found = False
    if args.json:
        out = sys.stdout
        out.write("{\n" + f'  "file": {json.dumps(name)},\n  "connections": [')
        first = True
        for c in connections:
            if args.conn is not None and c.number != args.conn:
                continue
            found = True
            if args.conn is not None:
                text = textwrap.indent(json.dumps(c.as_dict(segments=True), indent=2), "    ")
            else:
                # One line per connection: a capture may hold a million of them, and
                # indenting each costs more than replaying it.
                text = "    " + json.dumps(c.as_dict(), separators=(", ", ": "))
            out.write(("\n" if first else ",\n") + text)
            first = False
        out.write(
            ("\n  ],\n" if not first else "],\n")
            + f'  "packets": {summary.packets},\n  "tcp_segments": {summary.tcp},\n'
            + f'  "skipped": {json.dumps(summary.skipped)},\n'
            + f'  "problems": {json.dumps([str(p) for p in summary.problems])}\n'
            + "}\n"
        )
    else:
        kept = []
        streaming = False
        count = 0
        start = None
        for c in connections:
            count += 1
            start = c.first if start is None else min(start, c.first)
            if args.conn is not None:
                if c.number == args.conn:
                    kept.append(c)
                continue
            if streaming:
                print(_fixed_row(_replay_row(c)))
                continue
            kept.append(c)
            if len(kept) > REPLAY_DETAIL:
                streaming = True
                print(_fixed_row(_REPLAY_HEADER))
                for k in kept:
                    print(_fixed_row(_replay_row(k)))
                kept = []
        found = bool(kept)
        totals = (
            f"{summary.name}: {summary.packets} packets, {summary.tcp} TCP segments, "
            f"{count} connection{'' if count == 1 else 's'}"
        )
        skipped = ""
        if summary.skipped:
            skipped = "   not TCP: " + ", ".join(
                f"{n} {why}" for why, n in sorted(summary.skipped.items())
            )
        if streaming:
            print()
            print(totals)
            if skipped:
                print(skipped)
            print(f"(tcpviz replay {args.file} --conn N shows one connection in detail)")
        else:
            print(totals)
            if skipped:
                print(skipped)
            if kept:
                print(_columns([_REPLAY_HEADER] + [_replay_row(c) for c in kept]))
                print()
            for c in kept:
                _print_connection_detail(c, start if start is not None else c.first)
    for problem in summary.problems:
        print(f"tcpviz replay: error: {problem}", file=sys.stderr)
    if args.conn is not None and not found:
        seen = summary.connections_seen
        raise UsageError(
            f"no connection {args.conn} in {name}: it has "
            + (f"connections 1 to {seen}" if seen else "no connection")
        )
    return 1 if summary.problems else 0


def _fixed_row(cells: list[str]) -> str:
    head = [cell.ljust(width) for cell, width in zip(cells, _REPLAY_WIDTHS, strict=False)]
    return "  ".join([*head, *cells[len(_REPLAY_WIDTHS) :]]).rstrip()


# -- running ----------------------------------------------------------------------------------


def _error(prog: str, message: object, status: int) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tcpviz`` command with ``argv`` (default: the process's arguments); return the
    exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse has printed
        return stop.code if isinstance(stop.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    prog = f"tcpviz {args.command}"
    try:
        return args.run(args)
    except (UsageError, UnknownState, UnknownEvent, UnknownScenario) as error:
        return _error(prog, error, 2)  # the command line names something that does not exist
    except TcpvizError as error:  # InvalidTransition, TableError, GraphvizNotFound, ...
        return _error(prog, error, 1)
    except BrokenPipeError:
        # The reader went away (tcpviz table | head): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        where = f"{error.filename}: " if error.filename not in (None, "") else ""
        return _error(prog, f"{where}{error.strerror or error}", 1)
    except KeyboardInterrupt:
        return 130
