"""The ``tcpviz`` command: every subcommand's output, its exit status, and no traceback ever."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tcpviz import __version__
from tcpviz.cli import main
from tcpviz.model.states import STATES
from tcpviz.model.table import tcp_table
from tcpviz.model.tablefile import load_table, parse_table

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONSOLE_SCRIPT = Path(sys.executable).with_name("tcpviz")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(argv)``: the exit status, stdout and stderr."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def blocks(out: str) -> list[str]:
    """The first line of each paragraph of ``step`` output: the states and the steps."""
    return [para.splitlines()[0] for para in out.strip().split("\n\n")]


# -- basics -----------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"tcpviz {__version__}\n", "")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("export", "html", "table", "step", "describe", "states", "events", "path"):
        assert command in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys)
    assert status == 2 and out == "" and "usage: tcpviz" in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "table", "--format", "yaml")
    assert status == 2
    assert "invalid choice: 'yaml'" in err


# -- table ------------------------------------------------------------------------------------


@pytest.mark.parametrize("extended", [False, True])
def test_table_json_has_every_row(capsys: pytest.CaptureFixture[str], extended: bool) -> None:
    status, out, _ = run(capsys, "table", "--json", *["--extended"] * extended)
    assert status == 0
    rows = json.loads(out)
    table = tcp_table(extended)
    assert rows == table.rows()
    assert len(rows) == len(table)
    for row in rows:
        assert {"source", "event", "target", "sent"} <= set(row)


def test_table_text_has_aligned_columns(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "table")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "source",
        "event",
        "sent",
        "target",
        "kind",
        "side",
        "section",
        "via",
    ]
    assert len(lines) == 1 + len(tcp_table())
    # Each column starts at the same position on every line.
    target_column = lines[0].index("target")
    for line, t in zip(lines[1:], tcp_table().transitions, strict=True):
        assert line.startswith(t.source)
        assert line[target_column:].startswith(t.target)
        assert f" {t.event} " in line
    via_row = next(n for n, t in enumerate(tcp_table().transitions) if t.via)
    assert lines[1 + via_row].endswith("LISTEN")  # the 'via' column, shown since a row uses it


@pytest.mark.parametrize("fmt", ["toml", "json", "csv"])
def test_table_file_formats_load_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    status, out, _ = run(capsys, "table", "--extended", "--format", fmt)
    assert status == 0
    path = tmp_path / f"mine.{fmt}"
    path.write_text(out, encoding="utf-8")
    loaded = load_table(path)
    assert loaded.transitions == tcp_table(extended=True).transitions
    if fmt != "csv":
        assert loaded == tcp_table(extended=True)
    # ... and the command reads it back: --extended keeps the rows marked extended.
    status, out, _ = run(capsys, "table", "--json", "--extended", "--table", str(path))
    assert json.loads(out) == tcp_table(extended=True).rows()
    status, out, _ = run(capsys, "table", "--json", "--table", str(path))
    assert json.loads(out) == tcp_table().rows()


def test_table_json_output_is_a_table_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "table", "--json")
    assert parse_table(out, "json").transitions == tcp_table().transitions


def test_table_of_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "table", "--table", str(EXAMPLES / "alternating-bit.json"))
    assert status == 0
    header = out.splitlines()[0].split()
    assert header == ["source", "event", "sent", "target", "kind", "side", "section"]  # no via
    assert len(out.splitlines()) == 9


# -- step -------------------------------------------------------------------------------------


def test_step_through_the_client_handshake(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "step", "active open", "SYN,ACK")
    assert (status, err) == (0, "")
    assert blocks(out) == [
        "CLOSED",
        "1. active OPEN / create TCB, snd SYN  ->  SYN-SENT",
        "2. rcv SYN,ACK / snd ACK  ->  ESTABLISHED",
        "allowed in ESTABLISHED: ['CLOSE', 'rcv FIN']",
    ]
    assert "three-way handshake" in out  # each state's description follows it


def test_step_through_the_server_handshake(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "step", "listen", "SYN", "ack")
    assert status == 0
    states = [line.split("->")[-1].strip() for line in blocks(out)[1:-1]]
    assert states == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]


def test_step_from_a_state(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "step", "--from", "close_wait", "close", "ack")
    assert status == 0
    assert blocks(out)[0] == "CLOSE-WAIT"
    assert blocks(out)[-2] == "2. rcv ACK of FIN  ->  CLOSED"


def test_step_with_no_events_shows_what_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "step")
    assert status == 0
    assert blocks(out) == ["CLOSED", "allowed in CLOSED: ['passive OPEN', 'active OPEN']"]


def test_impossible_step_exits_1_naming_the_allowed_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "step", "connect", "ack", "close")
    assert status == 1
    assert "1. active OPEN" in out and "2." not in out  # the steps before it are shown
    assert err == (
        "tcpviz step: error: event 'ack' not allowed in SYN-SENT "
        "(allowed: ['CLOSE', 'rcv SYN', 'rcv SYN,ACK'])\n"
    )


def test_unknown_event_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "step", "connect", "synak", "x")
    assert status == 2
    assert "unknown event: 'synak' in SYN-SENT (allowed: ['CLOSE', 'rcv SYN', 'rcv SYN,ACK']" in err
    assert "'x'" not in err  # nothing after the typo runs


def test_step_on_a_table_file(capsys: pytest.CaptureFixture[str]) -> None:
    table = str(EXAMPLES / "alternating-bit.json")
    status, out, _ = run(capsys, "step", "--table", table, "send", "timer", "ack1", "ack0")
    assert status == 0
    assert [line.split("->")[-1].strip() for line in blocks(out)[1:-1]] == [
        "Wait for ACK 0",
        "Wait for ACK 0",
        "Wait for ACK 0",
        "Wait for call 1",
    ]


def test_a_bad_table_file_is_reported_with_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("source,event,target,kind\nA,go,B,user\nB,back,A,timer\n")
    status, out, err = run(capsys, "step", "--table", str(path), "go")
    assert (status, out) == (1, "")
    assert err.startswith(f"tcpviz step: error: {path}:3: unknown kind 'timer'")
    status, _, err = run(capsys, "states", "--table", str(tmp_path / "missing.toml"))
    assert status == 1 and "missing.toml: no such file" in err


# -- describe, states, events, path -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state"),
    [("SYN_RECV", "SYN-RECEIVED"), ("estab", "ESTABLISHED"), ("fin_wait1", "FIN-WAIT-1")],
)
def test_describe_accepts_any_spelling(
    capsys: pytest.CaptureFixture[str], name: str, state: str
) -> None:
    status, out, _ = run(capsys, "describe", name)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == state
    table = tcp_table()
    assert table.descriptions[state].split()[0] in lines[1]
    events = lines[lines.index("  events:") + 1 :]
    assert len(events) == len(table.outgoing(state))
    for line, t in zip(events, table.outgoing(state), strict=True):
        assert re.fullmatch(rf"    {re.escape(t.label)} +-> {t.target}(  \(only when .*\))?", line)


def test_describe_shows_the_via_condition(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "describe", "syn-received", "--extended")
    assert re.search(
        r"\n    rcv RST / delete TCB +-> CLOSED  \(only when entered from SYN-SENT\)", out
    )
    assert re.search(r"\n    rcv RST +-> LISTEN  \(only when entered from LISTEN\)", out)
    assert "aliases: SYN_RECV | SYN-RECV" in out


def test_describe_all(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "describe", "--all")
    assert status == 0
    assert [para.splitlines()[0] for para in out.split("\n\n")] == list(STATES)


@pytest.mark.parametrize("argv", [["describe"], ["describe", "LISTEN", "--all"]])
def test_describe_needs_one_state_or_all(capsys: pytest.CaptureFixture[str], argv) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2 and "give one STATE, or --all" in err


def test_unknown_state_exits_2_listing_the_states(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "describe", "SYN_WAIT")
    assert (status, out) == (2, "")
    assert "unknown state: 'SYN_WAIT'" in err and "'TIME-WAIT'" in err


def test_states_and_events_list_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "states")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == list(STATES)
    assert "SYN_RECV | SYN-RECV" in out
    _, out, _ = run(capsys, "events", "--extended")
    assert len(out.splitlines()) == 1 + len(tcp_table(extended=True).events)
    assert "SYN,ACK | SYN+ACK" in out and "ABORT" in out


def test_path(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "path", "closed", "established")
    assert status == 0
    assert out.splitlines() == [
        "CLOSED",
        "1. active OPEN / create TCB, snd SYN  ->  SYN-SENT",
        "2. rcv SYN,ACK / snd ACK  ->  ESTABLISHED",
        "",
        "2 events: tcpviz step 'active OPEN' 'rcv SYN,ACK'",
    ]


def test_the_suggested_step_command_works(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "path", "LISTEN", "TIME_WAIT", "--extended")
    command = out.splitlines()[-1].split(": ", 1)[1]
    import shlex

    argv = shlex.split(command)[1:]
    status, out, _ = run(capsys, *argv)
    assert status == 0 and "->  TIME-WAIT" in out


def test_path_nowhere(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "oneway.csv"
    path.write_text("source,event,target\nA,go,B\n")
    status, out, err = run(capsys, "path", "B", "A", "--table", str(path))
    assert (status, out) == (1, "")
    assert "no sequence of events leads from B to A" in err
    assert run(capsys, "path", "A", "a", "--table", str(path))[1] == "A is A: no event needed\n"


def test_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "scenarios")
    assert (
        status == 0 and "handshake-client" in out and re.search("connection-refused +extended", out)
    )
    status, out, _ = run(capsys, "scenarios", "connection refused")
    assert status == 0
    assert "1. active OPEN / create TCB, snd SYN  ->  SYN-SENT" in out
    assert "2. rcv RST / delete TCB  ->  CLOSED" in out
    status, _, err = run(capsys, "scenarios", "no-such-thing")
    assert status == 2 and "unknown scenario" in err


# -- real processes ---------------------------------------------------------------------------


def test_python_dash_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tcpviz", "step", "listen", "SYN", "ACK"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "->  ESTABLISHED" in done.stdout


def test_console_script_reports_errors_without_traceback() -> None:
    assert CONSOLE_SCRIPT.exists(), "the package is not installed (pip install -e .)"
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "step", "close"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("CLOSED\n")
    assert "not allowed in CLOSED (allowed: ['passive OPEN', 'active OPEN'])" in done.stderr
    assert "Traceback" not in done.stderr


def test_console_script_describe() -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "describe", "SYN_RECV"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("SYN-RECEIVED\n")


def test_a_closed_pipe_is_not_a_traceback() -> None:
    """``tcpviz table | head -1``: the reader leaves early; tcpviz stops quietly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tcpviz", "describe", "--all", "--extended"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before the child writes anything: its writes fail with EPIPE
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 1
        assert err == ""
    finally:
        process.kill()
        process.wait(timeout=60)


# -- export -----------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.exe  # see conftest.py: skipped without dot, except in CI


def classes(svg: str) -> dict[str, set[str]]:
    """The classes of every state and edge group of an SVG, by id."""
    root = ET.fromstring(svg)
    return {
        g.get("id"): set(g.get("class", "").split())
        for g in root.iter(f"{SVG}g")
        if g.get("id", "").startswith(("state_", "edge_"))
    }


def marked(svg: str, flag: str) -> set[str]:
    return {id_ for id_, names in classes(svg).items() if flag in names}


def test_export_highlights_the_state(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "tcp.svg"
    status, out, _ = run(capsys, "export", "--highlight", "syn_recv", "-o", str(path))
    assert (status, out) == (0, f"wrote {path}\n")
    svg = path.read_text(encoding="utf-8")
    assert marked(svg, "current") == {"state_SYN_RECEIVED"}
    assert marked(svg, "last") == set()
    assert len(classes(svg)) == len(STATES) + len(tcp_table())
    assert [p.name for p in tmp_path.iterdir()] == ["tcp.svg"]


def test_export_after_events(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "export", "--after", "connect", "SYN,ACK", "-o", "-")
    assert status == 0
    assert marked(out, "current") == {"state_ESTABLISHED"}
    assert marked(out, "last") == {"edge_SYN_SENT__rcv_syn_ack"}
    assert marked(out, "visited") == {"state_CLOSED", "state_SYN_SENT", "state_ESTABLISHED"}


SERVER_STATES = ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK"]


@pytest.mark.parametrize(
    ("path", "states"),
    [
        ("server", SERVER_STATES),
        ("passive-close", SERVER_STATES),
        ("handshake-client", ["CLOSED", "SYN-SENT", "ESTABLISHED"]),
    ],
)
def test_export_a_path(capsys: pytest.CaptureFixture[str], path: str, states: list[str]) -> None:
    status, out, _ = run(capsys, "export", "--path", path, "-o", "-")
    assert status == 0
    table = tcp_table()
    assert marked(out, "visited") == {table.state_ids[s] for s in states}
    assert len(marked(out, "current")) == 1
    assert len(marked(out, "last")) == 1


def test_export_dot_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "export", "--format", "dot", "--highlight", "LISTEN", "-o", "-")
    assert status == 0
    assert out.startswith("digraph") and "state_LISTEN" in out


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-")])
def test_export_png_and_pdf(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str, magic: bytes
) -> None:
    path = tmp_path / f"tcp{suffix}"
    status, _, err = run(capsys, "export", "--extended", "--theme", "dark", "-o", str(path))
    assert status == 0, err
    assert path.read_bytes().startswith(magic)
    # --format wins over the suffix.
    other = tmp_path / "diagram.bin"
    assert run(capsys, "export", "--format", suffix[1:], "-o", str(other))[0] == 0
    assert other.read_bytes().startswith(magic)


@needs_dot
def test_export_a_table_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "abp.svg"
    table = EXAMPLES / "alternating-bit.json"
    argv = ["export", "--table", str(table), "--highlight", "ack1", "-o", str(path)]
    status, _, err = run(capsys, *argv)
    assert status == 0, err
    assert marked(path.read_text(encoding="utf-8"), "current") == {"state_Wait_for_ACK_1"}


def test_binary_formats_are_not_written_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "export", "--format", "png", "-o", "-")
    assert (status, out) == (2, "")
    assert "png is binary: write it to a file with -o FILE.png" in err


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["--highlight", "SYN_WAIT"], 2, "unknown state: 'SYN_WAIT'"),
        (["--after", "connect", "FIN"], 1, "event 'FIN' not allowed in SYN-SENT"),
        (["--path", "connection-refused"], 1, "it needs the extended table"),
        (["--path", "nowhere"], 2, "unknown scenario: 'nowhere'"),
        (["--highlight", "LISTEN", "--path", "client"], 2, "not allowed with argument"),
        (["--theme", "neon"], 2, "invalid choice: 'neon'"),
    ],
)
def test_a_failing_export_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], status: int, message: str
) -> None:
    path = tmp_path / "tcp.svg"
    result, out, err = run(capsys, "export", "-o", str(path), *argv)
    assert (result, out) == (status, "")
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_a_render_failure_leaves_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tcpviz.drawing import diagram as render
    from tcpviz.errors import GraphvizNotFound

    def missing(*args: object, **kwargs: object) -> bytes:
        raise GraphvizNotFound(render.INSTALL_GRAPHVIZ)

    monkeypatch.setattr(render, "run_dot", missing)
    monkeypatch.setattr(render, "_rasterize", lambda *args: None)  # dot draws the PNG
    status, out, err = run(capsys, "export", "-o", str(tmp_path / "tcp.png"))
    assert (status, out) == (1, "")
    assert "dot` program was not found" in err and "apt install graphviz" in err
    assert list(tmp_path.iterdir()) == []


def test_a_write_failure_keeps_the_old_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from tcpviz import files

    path = tmp_path / "tcp.svg"
    path.write_text("the old diagram")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    status, out, err = run(capsys, "export", "--highlight", "LISTEN", "-o", str(path))
    assert (status, out) == (1, "")
    # The error names the file the user asked for, never a temporary one.
    assert err == f"tcpviz export: error: {path}: No space left on device\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tcp.svg"]  # no temporary file left
    assert path.read_text() == "the old diagram"


def test_export_into_a_missing_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "export", "-o", str(tmp_path / "no" / "tcp.svg"))
    assert status == 1
    assert err.startswith("tcpviz export: error: cannot write") and "no directory" in err


def test_export_needs_a_known_suffix_or_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "export", "-o", str(tmp_path / "tcp.jpg"))
    assert status == 2
    assert "cannot tell the format" in err and "'.png'" in err
    assert list(tmp_path.iterdir()) == []


# -- html -------------------------------------------------------------------------------------


def test_html_page(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "tcp.html"
    status, out, _ = run(capsys, "html", "-o", str(path), "--title", "Lesson 4 <TCP>", "--extended")
    assert (status, out) == (0, f"wrote {path}\n")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Lesson 4 &lt;TCP&gt;</title>" in page
    assert "edge_ESTABLISHED__abort" in page  # the extended table


@needs_dot
def test_html_of_a_table_file_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    table = EXAMPLES / "alternating-bit.json"
    status, out, _ = run(capsys, "html", "--table", str(table), "--theme", "dark", "-o", "-")
    assert status == 0
    assert "state_Wait_for_ACK_0" in out and "tcpviz-page-dark" in out


def test_a_table_that_needs_its_extended_rows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "advanced.csv"
    path.write_text("source,event,target,extended\nA,go,B,\nB,deeper,C,true\nC,back,A,true\n")
    status, _, err = run(capsys, "states", "--table", str(path))
    assert status == 1
    assert "no transition reaches ['C']" in err and "(add --extended)" in err
    status, out, _ = run(capsys, "states", "--table", str(path), "--extended")
    assert status == 0 and out.split()[2:] == ["A", "B", "C"]


def test_export_png_at_a_chosen_dpi(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, _ = run(capsys, "export", "-o", str(tmp_path / "a.png"), "--dpi", "192")
    assert status == 0
    big = (tmp_path / "a.png").read_bytes()
    status, _, _ = run(capsys, "export", "-o", str(tmp_path / "b.png"))
    small = (tmp_path / "b.png").read_bytes()
    width = int.from_bytes(big[16:20], "big")
    assert abs(width - 2 * int.from_bytes(small[16:20], "big")) <= 2
    status, _, err = run(capsys, "export", "-o", str(tmp_path / "c.svg"), "--scale", "2")
    assert status == 2 and "PNG's resolution, not svg's" in err


# -- hostile command lines (issue 8) ----------------------------------------------------------


def test_an_empty_table_name_is_an_error_not_the_built_in_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "states", "--table", "")
    assert (status, out) == (1, "")
    assert err == (
        "tcpviz states: error: an empty file name: give the path of a .toml, .json or .csv file\n"
    )


def test_output_into_a_directory_says_it_is_a_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "adir").mkdir()
    status, out, err = run(capsys, "export", "--format", "svg", "-o", str(tmp_path / "adir"))
    assert (status, out) == (1, "")
    assert err.startswith(f"tcpviz export: error: {tmp_path / 'adir'}: is a directory")
    assert ".tmp" not in err and err.count("\n") == 1
    assert list((tmp_path / "adir").iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")
@pytest.mark.parametrize("name", ["a link like /dev/stdout", "/dev/fd/1"])
def test_export_to_dev_stdout_writes_the_diagram_to_stdout_only(tmp_path: Path, name: str) -> None:
    # Not the real /dev/stdout: should this regress, running the test as root would replace
    # the machine's /dev/stdout. A symlink of our own to /proc/self/fd/1 is the same thing.
    if name == "/dev/fd/1":
        target = name
    else:
        link = tmp_path / "stdout"
        link.symlink_to("/proc/self/fd/1")
        target = str(link)
    # A child process, so that its stdout is a real pipe.
    done = subprocess.run(
        [sys.executable, "-m", "tcpviz", "export", "--format", "svg", "-o", target],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"<?xml") and done.stdout.rstrip().endswith(b"</svg>")
    assert b"wrote" not in done.stdout
    if name != "/dev/fd/1":
        assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["stdout"]


def test_a_title_that_is_not_utf8_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    title = b"\xff".decode("utf-8", "surrogateescape")  # what Python makes of $'\xff' in argv
    status, out, err = run(capsys, "html", "--title", title, "-o", str(tmp_path / "p.html"))
    assert (status, out) == (2, "")
    assert "argument --title: is not UTF-8 text (it holds the byte 0xff)" in err
    assert list(tmp_path.iterdir()) == []
    status, out, err = run(capsys, "html", "--title", "a\ufffe", "-o", str(tmp_path / "p.html"))
    assert status == 2 and "U+FFFE" in err
    assert list(tmp_path.iterdir()) == []


def test_an_output_name_that_is_not_utf8_is_written_and_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/tcp\xff.svg")
    status, out, err = run(capsys, "export", "-o", name)
    assert (status, err) == (0, "")
    assert out == f"wrote {tmp_path}/tcp\ufffd.svg\n"
    assert os.path.exists(os.fsencode(str(tmp_path)) + b"/tcp\xff.svg")


@pytest.mark.parametrize("bad", ["0", "-5", "nan", "inf", "soon"])
def test_dot_timeout_must_be_a_positive_number(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: str
) -> None:
    status, out, err = run(capsys, "export", "--dot-timeout", bad, "-o", str(tmp_path / "x.svg"))
    assert (status, out) == (2, "")
    assert (
        f"argument --dot-timeout: must be a number of seconds above 0, such as 300, not {bad!r}"
        in err
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="a fake dot is a shell script")
@pytest.mark.parametrize("command", ["export", "html"])
def test_dot_timeout_reaches_graphviz_and_the_message_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text("#!/bin/sh\nexec sleep 30\n")
    (bin_dir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    table = tmp_path / "t.csv"
    table.write_text("source,event,target\nA,go,B\nB,back,A\n")
    out_file = tmp_path / ("x.svg" if command == "export" else "x.html")
    status, out, err = run(
        capsys, command, "--table", str(table), "--dot-timeout", "0.5", "-o", str(out_file)
    )
    assert (status, out) == (1, "")
    assert "within 0.5 s" in err and "--dot-timeout SECONDS" in err and err.count("\n") == 1
    assert not out_file.exists()


def test_a_label_dot_cannot_take_is_refused_at_load_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = tmp_path / "long.csv"
    table.write_text("source,event,target\nA,go,B\nB," + "e" * 10_000 + ",A\n")
    status, out, err = run(capsys, "export", "--table", str(table), "-o", str(tmp_path / "x.svg"))
    assert (status, out) == (1, "")
    assert err.startswith(f"tcpviz export: error: {table}:3: 'event' 'eeee")
    assert "10000 characters long" in err and err.count("\n") == 1
    assert not (tmp_path / "x.svg").exists()


def test_an_empty_output_name_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "html", "-o", "")
    assert (status, out) == (1, "")
    assert err == "tcpviz html: error: an empty file name: give the file to write\n"
    assert list(tmp_path.iterdir()) == []


def test_a_usage_error_quoting_a_line_break_stays_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "table", "\n0")
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == "tcpviz: error: unrecognized arguments: \\n0"


# -- replay --html: the standalone page of a replayed connection -------------------------------


def page_data(page: str) -> dict:
    """The recording a standalone connection page carries."""
    found = re.search(
        r'<script type="application/json" id="tcpviz-data">(.*?)</script>', page, re.S
    )
    assert found is not None
    return json.loads(found.group(1))


def test_replay_html_writes_the_page_of_one_connection(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from html import escape

    from tcpviz.traffic import example_capture, replay
    from tcpviz.web.replay import ReplayView, window_scales

    capture = example_capture()
    page = tmp_path / "homework.html"
    status, out, err = run(capsys, "replay", str(capture), "--conn", "2", "--html", "-o", str(page))
    assert (status, err) == (0, "") and out == f"wrote {page}\n"
    text = page.read_text(encoding="utf-8")
    data = page_data(text)
    connection = replay(capture).connection(2)
    # The same recording the widget's view makes, the windows scaled as the SYNs said.
    want = ReplayView(connection, window_scale=window_scales(capture, connection)).recording()
    want = json.loads(json.dumps(want))  # as the page holds it (tuples become lists)
    assert data["positions"] == want["positions"]
    assert all(p["replay"] for p in data["positions"])
    assert "RCV.WND" in dict(data["positions"][-1]["ends"][0]["tcb"])
    assert f"<h1>{escape(f'Replay of connection 2: {connection.describe()}')}</h1>" in text
    assert "replayed from a packet capture" in text and "<script src" not in text
    # --format html is the same page; -o - writes it to stdout; --theme and --title apply.
    status, out, err = run(
        capsys, "replay", str(capture), "--conn", "2", "--format", "html", "--theme", "dark",
        "--title", "Homework 3", "-o", "-",
    )  # fmt: skip
    assert status == 0 and err == "" and out.startswith("<!DOCTYPE html>")
    assert "<h1>Homework 3</h1>" in out and 'class="tcpviz-page-dark"' in out
    assert page_data(out)["positions"] == want["positions"]


def test_replay_html_of_a_capture_with_one_connection_needs_no_conn(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from capture_support import Conversation, handshake_and_close

    capture = handshake_and_close(Conversation()).write(tmp_path / "one.pcap")
    status, _, err = run(capsys, "replay", str(capture), "--html", "-o", str(tmp_path / "p.html"))
    assert status == 0 and err == ""
    # No SYN option in this capture: the windows are not scaled (RFC 7323: both or neither).
    ends = page_data((tmp_path / "p.html").read_text())["positions"][-1]["ends"]
    assert dict(ends[0]["tcb"])["RCV.WND"] == "65535"


def test_replay_html_bad_input_is_one_line_and_leaves_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tcpviz.traffic import example_capture

    capture = str(example_capture())
    page = tmp_path / "p.html"
    junk = tmp_path / "notes.txt"
    junk.write_text("not a capture\n")
    for argv, status, message in [
        ([capture, "--html", "-o", str(page)], 2, "holds connections 1 to 5: say which one"),
        ([capture, "--conn", "9", "--html", "-o", str(page)], 2, "no connection 9 in"),
        ([capture, "--conn", "1", "--html"], 2, "--html writes a page: give -o FILE"),
        ([capture, "--conn", "1", "-o", str(page)], 2, "--output is for the page: add --html"),
        ([capture, "--conn", "1", "--theme", "dark"], 2, "--theme is for the page"),
        ([str(junk), "--html", "-o", str(page)], 1, "notes.txt: not a packet capture"),
        ([capture, "--conn", "1", "--html", "-o", str(tmp_path / "no" / "p.html")], 1, "no"),
    ]:
        got, _, err = run(capsys, "replay", *argv)
        assert got == status, (argv, err)
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert not page.exists()
    # argparse: one of --json, --html and --format at a time.
    got, _, err = run(capsys, "replay", capture, "--json", "--html", "-o", str(page))
    assert got == 2 and "argument --html: not allowed with argument --json" in err
    assert not page.exists()


def test_replay_html_of_a_truncated_capture_shows_what_was_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tcpviz.traffic import example_capture

    cut = tmp_path / "cut.pcap"
    cut.write_bytes(example_capture().read_bytes()[:300])
    page = tmp_path / "p.html"
    status, _, err = run(capsys, "replay", str(cut), "--html", "-o", str(page))
    # Everything that could be read is shown, and what went wrong is said, in one line.
    assert status == 1 and "cut.pcap: cut short inside the header of packet 4" in err
    assert len(err.strip().splitlines()) == 1
    positions = page_data(page.read_text())["positions"]
    assert [e["state"] for e in positions[-1]["ends"]] == ["ESTABLISHED", "ESTABLISHED"]
