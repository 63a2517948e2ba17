"""Running Graphviz (tcpviz.drawing.layout.run_dot): a time limit the caller sets, and no dot left
running when tcpviz stops, whatever stops it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tcpviz.drawing import DOT_TIMEOUT, Diagram, run_dot
from tcpviz.errors import RenderError
from tcpviz.model.table import Table, Transition

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and signals: POSIX")


@pytest.fixture
def slow_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``dot`` on PATH that writes its pid to ``tmp_path/dot.pid`` and then hangs (30 s)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'dot.pid'}\nexec sleep 30\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "dot.pid"


def wait_for_pid(pid_file: Path) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # bounded
        if pid_file.exists() and pid_file.read_text().strip():
            return int(pid_file.read_text())
        time.sleep(0.02)
    raise AssertionError("the fake dot never started")


def gone(pid: int, within: float = 10) -> bool:
    """Whether process ``pid`` has exited (or is a zombie nobody will run again)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:  # bounded
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ")[-1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        except OSError:
            os.kill(pid, 0)  # no /proc: ProcessLookupError once it is gone
        time.sleep(0.05)
    return False


def test_the_time_limit_is_a_parameter_and_the_message_says_what_to_do(slow_dot: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RenderError) as caught:
        run_dot("digraph { a -> b }", timeout=0.5)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "within 0.5 s" in message and "--dot-timeout" in message and "timeout=" in message
    assert "\n" not in message
    assert gone(wait_for_pid(slow_dot)), "dot was left running after its time ran out"


def test_a_diagram_passes_its_time_limit_on(slow_dot: Path) -> None:
    table = Table([Transition("A", "go", "B"), Transition("B", "back", "A")])
    with pytest.raises(RenderError, match=r"within 0\.25 s"):
        Diagram(table, timeout=0.25).svg()
    assert Diagram(table).timeout == DOT_TIMEOUT


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "10", True])
def test_a_time_limit_must_be_a_positive_number(bad: object) -> None:
    with pytest.raises(RenderError, match="dot time limit"):
        run_dot("digraph {}", timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(RenderError, match="dot time limit"):
        Diagram(timeout=bad)  # type: ignore[arg-type]


_RUNNER = textwrap.dedent(
    """
    import sys
    from tcpviz.drawing import run_dot
    print("running", flush=True)
    try:
        run_dot("digraph { a -> b }", timeout=60)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_stopping_tcpviz_stops_dot(slow_dot: Path, how: str) -> None:
    if how != "SIGINT" and not sys.platform.startswith("linux"):
        pytest.skip("only Linux can have a child killed with its parent (PR_SET_PDEATHSIG)")
    child = subprocess.Popen([sys.executable, "-c", _RUNNER], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"running\n"
        dot = wait_for_pid(slow_dot)
        child.send_signal(getattr(signal, how))
        child.wait(timeout=20)
        assert gone(dot), f"dot (pid {dot}) kept running after tcpviz got {how}"
    finally:
        if child.poll() is None:
            child.kill()
        if child.stdout is not None:
            child.stdout.close()
        leave_no_sleeper(slow_dot)


def leave_no_sleeper(pid_file: Path) -> None:
    """Kill the fake dot if a failed test left it running (checked: it is our ``sleep 30``)."""
    text = pid_file.read_text().strip() if pid_file.exists() else ""
    if not text:
        return
    with contextlib.suppress(OSError), open(f"/proc/{int(text)}/cmdline", "rb") as cmdline:
        if cmdline.read() == b"sleep\x0030\x00":
            os.kill(int(text), signal.SIGKILL)


def test_dots_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(
        "#!/bin/sh\necho 'Error: <stdin>: syntax error in line 1' >&2\necho 'near x' >&2\nexit 1\n"
    )
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(
        RenderError, match=r"exit status 1: Error: <stdin>: syntax error in line 1 near x$"
    ):
        run_dot("digraph {")
