"""Fuzzing the edges a user touches: table files and command lines (issue 8).

Hypothesis writes table files (random TOML/JSON/CSV text, damaged real tables, random bytes)
and command lines, and runs ``tcpviz.cli.main(argv)`` in this process with a strict UTF-8
stdout, as a terminal has. Whatever it tries: no traceback (only a :class:`TcpvizError` or
argparse's usage error), exit status 0, 1 or 2, one line saying what was wrong, and no file
left behind by a command that failed. Bounded: a few hundred examples, about a minute in all.
The number of cases tried is printed (``pytest -s``) and recorded in ``TRIED``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpviz.cli import main
from tcpviz.errors import TableError
from tcpviz.model.machine import Machine
from tcpviz.model.table import tcp_table
from tcpviz.model.tablefile import dumps_table, load_table

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRIED: dict[str, int] = {}
FUZZ = settings(
    deadline=None,  # a busy shared machine: wall-clock deadlines would only make it flaky
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text that reaches the parsers: XML-forbidden characters, lone surrogates, quotes, brackets.
NASTY = st.sampled_from(
    [
        *["\x00", "\x1b", "\ufffe", "\uffff", "\ud800", "\\ud800", "\u202e", "✓", "\n", "\r"],
        *['"', "'", "[", "]", "{", "}", "=", ",", ";", "#", "\\", "\t", " " * 40, "9" * 5000],
        *["[" * 500, "true", "null", "1e999", "-0", "extended", "via", "states", "aliases"],
    ]
)
TEXTS = st.one_of(st.text(max_size=200), st.lists(NASTY, max_size=20).map("".join))


def originals() -> dict[str, str]:
    table = tcp_table(extended=True)
    texts = {fmt: dumps_table(table, fmt) for fmt in ("toml", "json", "csv")}
    texts["example.toml"] = (EXAMPLES / "simplified-tcp.toml").read_text(encoding="utf-8")
    texts["example.json"] = (EXAMPLES / "alternating-bit.json").read_text(encoding="utf-8")
    return texts


ORIGINALS = originals()


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A real table file with a few hurried edits: lines lost, doubled, garbled or inserted."""
    name = draw(st.sampled_from(sorted(ORIGINALS)))
    fmt = name.rsplit(".", 1)[-1]
    lines = ORIGINALS[name].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        n = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "garble", "insert", "splice"]))
        if action == "delete":
            del lines[n]
        elif action == "duplicate":
            lines.insert(n, lines[n])
        elif action == "garble":
            lines[n] = draw(TEXTS)
        elif action == "insert":
            lines.insert(n, draw(TEXTS))
        else:  # put something nasty in the middle of a line
            at = draw(st.integers(0, len(lines[n])))
            lines[n] = lines[n][:at] + draw(NASTY) + lines[n][at:]
    return fmt, "\n".join(lines)


TABLE_FILES = st.one_of(
    st.tuples(st.sampled_from(["toml", "json", "csv"]), TEXTS),
    mutated(),
    st.tuples(st.sampled_from(["toml", "json", "csv"]), st.binary(max_size=300)),
)


def write(path: Path, content: str | bytes) -> None:
    if isinstance(content, str):
        # What a file can hold: a lone surrogate cannot be UTF-8, so it goes in as an escape.
        content = content.encode("utf-8", "backslashreplace")
    path.write_bytes(content)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` with a strict UTF-8 stdout (like a terminal) and Python's usual stderr."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(
        err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True
    )
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
        out.flush()
        err.flush()
    return status, out_bytes.getvalue().decode(), err_bytes.getvalue().decode()


def check_outcome(status: int, out: str, err: str) -> None:
    assert status in (0, 1, 2), (status, err)
    assert "Traceback" not in out + err, err
    if status != 0:
        last = err.rstrip("\n").split("\n")[-1] if err.strip() else ""
        assert last.startswith("tcpviz") and ": error: " in last, err
        # One line: tcpviz's own errors are one line; argparse adds its usage lines before.
        assert err.count("\n") == 1 or err.startswith("usage:"), err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=500)
@given(table=TABLE_FILES)
def test_any_table_file_loads_or_gives_one_line_naming_the_file(
    workdir: Path, table: tuple[str, str | bytes]
) -> None:
    TRIED["table files"] = TRIED.get("table files", 0) + 1
    fmt, content = table
    path = workdir / f"fuzz.{fmt}"
    write(path, content)
    try:
        loaded = load_table(path)
    except TableError as error:
        message = str(error)
        assert message.startswith(str(path)), message
        assert "\n" not in message and len(message) < 1000, message
    else:
        assert len(loaded) >= 1
        # A table that loads can be listed and written back, and loads again the same.
        for out_fmt in ("toml", "json"):
            again = workdir / f"again.{out_fmt}"
            again.write_text(dumps_table(loaded, out_fmt), encoding="utf-8")
            assert load_table(again) == loaded
        # (The extended rows are left out without --extended: that may leave a state unreached.)
        extended = ["--extended"] * any(t.extended for t in loaded.transitions)
        status, out, err = run_cli(["states", "--table", str(path), *extended])
        check_outcome(status, out, err)
        assert status == 0, err


# -- well-formed files holding hostile text: they load, or say why; what loads, works -----------

NAME = st.one_of(
    st.sampled_from(["A", "B", "closed", "CLOSED", "✓", "✗", "★", "a b", "a-b", "x" * 1001]),
    st.text(min_size=1, max_size=6),
    st.lists(NASTY, min_size=1, max_size=3).map("".join),
)
VALUE = st.one_of(
    st.text(max_size=10), NASTY, st.integers(-5, 5), st.booleans(), st.none(), st.just([])
)


@st.composite
def structured_tables(draw: st.DrawFn) -> tuple[str, str]:
    """A table file of the right shape whose names and texts are hostile."""
    states = draw(st.lists(NAME, min_size=1, max_size=4))
    data: dict = {}
    if draw(st.booleans()):
        data["name"] = draw(st.one_of(st.text(max_size=10), NASTY))
    if draw(st.booleans()):
        data["states"] = {
            s: {
                "description": draw(st.one_of(st.text(max_size=10), NASTY, VALUE)),
                "aliases": draw(st.lists(NAME, max_size=2)),
            }
            for s in states
        }
    rows = []
    for i, source in enumerate(states):  # a ring, so that every state can be reached
        row = {"source": source, "event": draw(NAME), "target": states[(i + 1) % len(states)]}
        for key in draw(
            st.sets(st.sampled_from(["sent", "action", "kind", "side", "extended", "via", "note"]))
        ):
            row[key] = draw(
                st.sampled_from(["segment", "timeout", "bogus"]) if key == "kind" else VALUE
            )
        rows.append(row)
    data["transitions"] = rows
    fmt = draw(st.sampled_from(["json", "toml", "csv"]))
    if fmt == "json":
        return fmt, json.dumps(data, indent=1)  # lone surrogates become \ud800 escapes
    if fmt == "toml":
        return fmt, tomlish(data)
    header = sorted({key for row in rows for key in row})
    lines = [",".join(header)] + [
        ",".join(json.dumps(str(row.get(key, ""))) for key in header) for row in rows
    ]
    return fmt, "\n".join(lines) + "\n"


def tomlish(data: dict) -> str:
    """TOML for ``data`` (strings as JSON strings, which TOML basic strings mostly accept)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if v is None:
            return '""'
        return json.dumps(str(v))

    out = [f"name = {value(data['name'])}"] if "name" in data else []
    for state, spec in data.get("states", {}).items():
        out.append(f"[states.{json.dumps(state)}]")
        out.extend(f"{key} = {value(v)}" for key, v in spec.items())
    for row in data["transitions"]:
        out.append("[[transitions]]")
        out.extend(f"{key} = {value(v)}" for key, v in row.items())
    return "\n".join(out) + "\n"


@settings(FUZZ, max_examples=250)
@given(table=structured_tables())
def test_hostile_text_in_a_well_formed_table_is_refused_or_works_everywhere(
    workdir: Path, table: tuple[str, str]
) -> None:
    TRIED["well-formed tables"] = TRIED.get("well-formed tables", 0) + 1
    fmt, content = table
    path = workdir / f"shaped.{fmt}"
    write(path, content)
    try:
        loaded = load_table(path)
    except TableError as error:
        message = str(error)
        assert message.startswith(str(path)) and "\n" not in message, message
        status, out, err = run_cli(["states", "--table", str(path)])
        check_outcome(status, out, err)
        assert status == 1
        return
    TRIED["well-formed tables that loaded"] = TRIED.get("well-formed tables that loaded", 0) + 1
    assert len(loaded) >= 1
    extended = ["--extended"] * any(t.extended for t in loaded.transitions)
    for argv in (
        ["states"],
        ["events"],
        ["describe", "--all"],
        ["table"],
        ["table", "--format", "toml"],
        ["table", "--format", "csv"],
        ["export", "--format", "dot", "-o", "-"],
        # An event enabled at the start (a row with 'via' may need another way in), after
        # "--" as on any command line: an event may be called "-A".
        ["step", "--table", str(path), *extended, "--", *Machine(loaded).enabled_events()[:1]],
    ):
        options = [] if argv[0] == "step" else ["--table", str(path), *extended]
        status, out, err = run_cli([*argv, *options])
        check_outcome(status, out, err)
        assert status == 0, (argv, err)
    svg = workdir / "shaped.svg"
    status, out, err = run_cli(["export", "--table", str(path), *extended, "-o", str(svg)])
    check_outcome(status, out, err)
    if status == 0:  # dot may be missing (exit 1, said in one line); what it draws must parse
        ET.parse(svg)
        svg.unlink()


STATE_WORDS = ["CLOSED", "listen", "SYN_RECV", "ESTAB", "time-wait", "nope", "", "✓"]
EVENT_WORDS = ["connect", "SYN,ACK", "ack", "close", "fin", "timeout", "rcv RST", "bogus"]
COMMANDS = ["export", "html", "table", "step", "describe", "states", "events", "path", "scenarios"]
OPTIONS = [
    "--extended", "--table", "--format", "--json", "-o", "--output", "--theme", "--highlight",
    "--after", "--path", "--title", "--from", "--all", "--dot-timeout", "--help", "--version",
]  # fmt: skip
VALUES = [
    "svg", "dot", "png", "toml", "json", "csv", "text", "dark", "auto", "client", "handshake",
    "-", "0", "-1", "nan", "1e9", "0.001",
]  # fmt: skip


@st.composite
def command_lines(draw: st.DrawFn, directory: Path) -> list[str]:
    files = {
        "out.svg": directory / "out" / "a.svg",
        "out.html": directory / "out" / "a.html",
        "out dir": directory / "out",
        "missing dir": directory / "nowhere" / "a.svg",
        "no suffix": directory / "out" / "noext",
        "table": directory / "table.csv",
        "bad table": directory / "bad.toml",
    }
    token = st.one_of(
        st.sampled_from(COMMANDS),
        st.sampled_from(OPTIONS),
        st.sampled_from(VALUES),
        st.sampled_from(STATE_WORDS),
        st.sampled_from(EVENT_WORDS),
        st.sampled_from(sorted(files)).map(lambda key: str(files[key])),
        st.text(max_size=12),
        st.sampled_from(["\udcff", "a\ufffe", "\x00", "x" * 2000, "--", "-x"]),
    )
    head = draw(st.sampled_from(COMMANDS))
    return [head, *draw(st.lists(token, max_size=8))]


def listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_any_command_line_succeeds_or_says_what_was_wrong(workdir: Path, data) -> None:
    TRIED["command lines"] = TRIED.get("command lines", 0) + 1
    root = workdir / "cli"
    (root / "out").mkdir(parents=True, exist_ok=True)
    (root / "table.csv").write_text("source,event,target\nA,go,B\nB,back,A\n")
    (root / "bad.toml").write_text('[[transitions]]\nsource = "A"\n')
    argv = data.draw(command_lines(root))
    if "\x00" in "".join(argv):
        # An operating system cannot pass NUL in an argument; argv never holds one.
        argv = [a.replace("\x00", "") for a in argv]
    before = listing(root)
    # Relative paths ("-o connect") land in the example's own folder, never the repository.
    here = os.getcwd()
    os.chdir(root)
    try:
        status, out, err = run_cli(argv)
    finally:
        os.chdir(here)
    check_outcome(status, out, err)
    after = listing(root)
    assert not [name for name in after if ".tmp" in name], after  # no temporary file, ever
    if status != 0:
        assert after == before, f"a failed command left files: {sorted(set(after) - set(before))}"
    # Whatever was written goes away, so each example starts from the same directory.
    for name in set(after) - set(before):
        path = root / name
        if path.is_file():
            path.unlink()


def test_report_how_many_cases_were_tried() -> None:
    """Runs last in this module: say how many cases the fuzz tests above tried."""
    if not TRIED:
        pytest.skip("run with the fuzz tests above to count their cases")
    print(f"\nfuzz: {json.dumps(TRIED)}", file=sys.stderr)
    assert all(count > 0 for count in TRIED.values())
