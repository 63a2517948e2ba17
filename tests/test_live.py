"""The live view on real sockets this test makes on loopback, read through sock_diag, /proc and
psutil; the filters; the table; ``tcpviz live``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tcpviz.cli import main
from tcpviz.errors import InvalidFilter, TcpvizError
from tcpviz.model import DESCRIPTIONS, STATES
from tcpviz.traffic import LiveView, Snapshot, Socket, format_table, read_sockets

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag and /proc")
KERNEL_SOURCES = ("sock_diag", "proc")


@dataclass
class Loopback:
    """A listener on 127.0.0.1 and the connections made to it, all closed at the end."""

    listener: socket.socket
    port: int
    sockets: list[socket.socket] = field(default_factory=list)

    def pair(self) -> tuple[socket.socket, socket.socket]:
        client = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        server, _ = self.listener.accept()
        self.sockets += [client, server]
        return client, server

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        self.listener.close()


@contextlib.contextmanager
def loopback() -> Iterator[Loopback]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    net = Loopback(listener, listener.getsockname()[1])
    try:
        yield net
    finally:
        net.close()


def states_of(snapshot: Snapshot, port: int) -> dict[tuple[int, int], str]:
    """(local port, remote port) -> state, for the sockets with ``port`` at one end."""
    return {
        (s.local_port, s.remote_port): s.state
        for s in snapshot.sockets
        if port in (s.local_port, s.remote_port)
    }


def wait_for(read: Callable[[], Snapshot], ok: Callable[[Snapshot], bool]) -> Snapshot:
    """Read until ``ok`` (loopback is quick, but the machine is shared): at most 3 s."""
    deadline = time.monotonic() + 3
    while True:
        snapshot = read()
        if ok(snapshot) or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.05)


@linux
@pytest.mark.parametrize("source", KERNEL_SOURCES)
def test_the_kernel_sources_see_each_state_of_sockets_made_here(source):
    with loopback() as net:
        open_client, _ = net.pair()
        # An active close: the client closes first, then the server: the client waits in
        # TIME-WAIT.
        tw_client, tw_server = net.pair()
        tw_port = tw_client.getsockname()[1]
        tw_client.close()
        tw_server.recv(1)  # the FIN
        tw_server.close()
        # A half close: the client sends its FIN and keeps its socket: FIN-WAIT-2 here,
        # CLOSE-WAIT at the server, which has not closed.
        half_client, half_server = net.pair()
        half_client.shutdown(socket.SHUT_WR)
        half_server.recv(1)
        # The same, but the client then closes: the kernel keeps FIN-WAIT-2 on a timer.
        gone_client, gone_server = net.pair()
        gone_port = gone_client.getsockname()[1]
        gone_client.shutdown(socket.SHUT_WR)
        gone_server.recv(1)
        gone_client.close()

        p = net.port
        o, h = open_client.getsockname()[1], half_client.getsockname()[1]
        expected = {
            (p, 0): "LISTEN",
            (o, p): "ESTABLISHED",
            (p, o): "ESTABLISHED",
            (tw_port, p): "TIME-WAIT",
            (h, p): "FIN-WAIT-2",
            (p, h): "CLOSE-WAIT",
            (gone_port, p): "FIN-WAIT-2",
            (p, gone_port): "CLOSE-WAIT",
        }
        snapshot = wait_for(lambda: read_sockets(source), lambda s: states_of(s, p) == expected)
        assert snapshot.source == source
        assert states_of(snapshot, p) == expected
        mine = {
            (s.local_port, s.remote_port): s
            for s in snapshot.sockets
            if p in (s.local_port, s.remote_port)
        }
        time_wait = mine[tw_port, p]
        assert time_wait.timer == "time-wait" and 55 < time_wait.expires <= 60
        assert time_wait.orphan and time_wait.pid is None and time_wait.inode == 0
        held = mine[h, p]  # still ours: no timer, the kernel waits for the peer's FIN forever
        assert held.timer is None and held.pid == os.getpid() and not held.orphan
        orphan = mine[gone_port, p]
        assert orphan.timer == "fin-wait-2" and 0 < orphan.expires <= 60 and orphan.orphan
        assert mine[p, 0].pid == os.getpid() and mine[p, 0].process
        assert all(s.family == 4 and s.local_address == "127.0.0.1" for s in mine.values())

        # TIME-WAIT's timer counts down (Linux keeps TIME-WAIT 60 s: TCP_TIMEWAIT_LEN).
        # It falls by the time that passed between the two readings (a busy machine may
        # sleep longer than asked), to the kernel's tick.
        time.sleep(1.0)
        second = read_sockets(source)
        later = {s.local_port: s for s in second.sockets if s.remote_port == p}[tw_port]
        assert later.state == "TIME-WAIT"
        passed = second.time - snapshot.time
        assert passed >= 1.0
        assert time_wait.expires - later.expires == pytest.approx(passed, abs=0.25)


@linux
def test_ipv6_sockets_are_seen_by_both_kernel_sources():
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError as error:  # pragma: no cover - a machine without IPv6 loopback
        pytest.skip(f"no IPv6 loopback here: {error}")
    with listener:
        port = listener.getsockname()[1]
        client = socket.create_connection(("::1", port), timeout=5)
        server, _ = listener.accept()
        with client, server:
            for source in KERNEL_SOURCES:
                snapshot = wait_for(
                    lambda source=source: read_sockets(source),
                    lambda s: len(states_of(s, port)) == 3,
                )
                found = [s for s in snapshot.sockets if port in (s.local_port, s.remote_port)]
                assert {s.family for s in found} == {6}
                assert sorted(s.state for s in found) == ["ESTABLISHED", "ESTABLISHED", "LISTEN"]
                assert {s.local for s in found} >= {f"[::1]:{port}"}


def test_psutil_agrees_on_the_states_when_installed():
    pytest.importorskip("psutil")  # optional: other systems' source, and process names
    with loopback() as net:
        client, _server = net.pair()
        expected = {(net.port, 0), (client.getsockname()[1], net.port)}
        snapshot = wait_for(
            lambda: read_sockets("psutil"),
            lambda s: expected <= set(states_of(s, net.port)),
        )
        states = states_of(snapshot, net.port)
        assert states[net.port, 0] == "LISTEN"
        assert states[client.getsockname()[1], net.port] == "ESTABLISHED"
        listener = next(
            s for s in snapshot.sockets if (s.local_port, s.remote_port) == (net.port, 0)
        )
        assert listener.pid == os.getpid() and listener.timer is None  # psutil has no timers


@linux
def test_a_port_filter_keeps_both_ends_and_every_state_is_counted():
    with loopback() as net:
        net.pair()
        view = LiveView(port=net.port)
        snapshot = wait_for(view.snapshot, lambda s: s.counts["ESTABLISHED"] == 2)
        assert all(net.port in (s.local_port, s.remote_port) for s in snapshot.sockets)
        assert snapshot.counts == {**dict.fromkeys(STATES, 0), "LISTEN": 1, "ESTABLISHED": 2}
        assert list(snapshot.counts) == list(STATES)
        assert snapshot.filters == {"port": [net.port]}
        assert LiveView(port=[net.port, 1]).snapshot().counts["LISTEN"] == 1


@linux
def test_a_process_filter_keeps_its_connections_after_close():
    with loopback() as net:
        view = LiveView(process=os.getpid())
        client, server = net.pair()
        port = client.getsockname()[1]
        first = wait_for(view.snapshot, lambda s: (port, net.port) in states_of(s, net.port))
        assert states_of(first, net.port)[port, net.port] == "ESTABLISHED"
        client.close()
        server.recv(1)
        server.close()
        later = wait_for(
            view.snapshot,
            lambda s: states_of(s, net.port).get((port, net.port)) == "TIME-WAIT",
        )
        (time_wait,) = [
            s for s in later.sockets if (s.local_port, s.remote_port) == (port, net.port)
        ]
        # No process holds a TIME-WAIT socket; the view remembers who held the connection.
        assert time_wait.orphan and time_wait.pid == os.getpid()
        assert time_wait.owner.endswith(", closed")
        # A fresh view never saw it held, but it is a connection to our own listener.
        fresh = LiveView(process=os.getpid()).snapshot()
        assert (port, net.port) in states_of(fresh, net.port)
        name = next(s.process for s in later.sockets if s.state == "LISTEN")
        by_name = LiveView(process=name.upper()).snapshot()  # a name, any case
        assert (net.port, 0) in states_of(by_name, net.port)


def test_bad_filters_are_refused_with_what_would_be_right():
    for port in (0, 65536, "http", True):
        with pytest.raises(InvalidFilter, match="a port must be a number from 1 to 65535"):
            LiveView(port=port)
    with pytest.raises(InvalidFilter, match="a process must be a name or a process id"):
        LiveView(process="  ")
    with pytest.raises(InvalidFilter, match="a process id must be positive"):
        LiveView(process=0)
    with pytest.raises(InvalidFilter, match=r"unknown socket source: 'ss' \(must be one of"):
        read_sockets("ss")
    view = LiveView()
    with pytest.raises(InvalidFilter, match=r"interval must be at least 0\.1 seconds"):
        view.watch(0)
    with pytest.raises(InvalidFilter, match="count must be at least 1"):
        view.watch(1, count=0)
    assert issubclass(InvalidFilter, TcpvizError) and issubclass(InvalidFilter, ValueError)


def test_watch_is_bounded_and_keeps_its_interval():
    view = LiveView(port=1)
    started = time.monotonic()
    snapshots = list(view.watch(0.2, count=3))
    assert len(snapshots) == 3
    assert 0.35 < time.monotonic() - started < 3
    assert snapshots[0].time < snapshots[-1].time


def _sample() -> Snapshot:
    sockets = (
        Socket(4, "LISTEN", "127.0.0.1", 8080, "0.0.0.0", 0, pid=10, process="python3"),
        Socket(6, "ESTABLISHED", "::1", 8080, "::1", 50000, pid=10, process="python3"),
        Socket(
            4, "TIME-WAIT", "127.0.0.1", 50002, "127.0.0.1", 8080,
            timer="time-wait", expires=42.25, orphan=True,
        ),
    )  # fmt: skip
    return Snapshot(sockets, "sock_diag", time.time(), 0.004, {"port": [8080]})


def test_the_table_explains_each_state_with_the_tables_description():
    text = format_table(_sample(), width=88)
    assert "TCP sockets at" in text and "3 (port 8080)" in text and "sock_diag in 4.0 ms" in text
    for state in ("LISTEN", "ESTABLISHED", "TIME-WAIT"):
        assert f"\n{state}  1\n" in text
        assert " ".join(DESCRIPTIONS[state].split()[:6]) in " ".join(text.split())
    assert "time-wait 42.2 s" in text or "time-wait 42.3 s" in text
    assert "[::1]:8080" in text and "python3[10]" in text and "no process: closed" in text
    assert "no sockets in: CLOSED, SYN-SENT" in text
    assert not any(line.endswith("-") for line in text.splitlines())  # LAST-ACK whole
    assert max(len(line) for line in text.splitlines()) <= 88
    brief = format_table(_sample(), describe=False)
    assert DESCRIPTIONS["LISTEN"][:30] not in brief


def test_a_long_list_can_be_cut_per_state_with_the_rest_counted():
    many = tuple(
        Socket(4, "TIME-WAIT", "127.0.0.1", 50000 + i, "127.0.0.1", 80, "time-wait", 30.0)
        for i in range(5)
    )
    text = format_table(Snapshot(many, "proc", time.time(), 0.001), rows=2)
    assert "TIME-WAIT  5" in text and "127.0.0.1:50001" in text and "127.0.0.1:50002" not in text
    assert "    ... and 3 more" in text
    with pytest.raises(InvalidFilter, match="rows must be a whole number from 1, not 0"):
        format_table(_sample(), rows=0)
    assert main(["live", "--once", "--rows", "0", "--port", "1"]) == 2


def test_json_has_every_state_with_its_count_and_description():
    data = json.loads(json.dumps(_sample().to_dict()))
    assert [s["state"] for s in data["states"]] == list(STATES)
    counts = {s["state"]: s["count"] for s in data["states"]}
    assert counts["LISTEN"] == counts["TIME-WAIT"] == 1 and counts["CLOSED"] == 0
    assert all(s["description"] == DESCRIPTIONS[s["state"]] for s in data["states"])
    assert [s["state"] for s in data["sockets"]] == ["LISTEN", "ESTABLISHED", "TIME-WAIT"]
    assert data["sockets"][2]["expires"] == 42.25 and data["sockets"][2]["orphan"] is True
    assert data["total"] == 3 and data["elapsed_ms"] == 4.0 and data["source"] == "sock_diag"


# -- the command line ---------------------------------------------------------------------------


@linux
def test_cli_once_json_lists_the_sockets_of_a_port(capsys):
    with loopback() as net:
        client, _ = net.pair()
        ephemeral = client.getsockname()[1]
        assert main(["live", "--once", "--json", "--port", str(net.port)]) == 0
    data = json.loads(capsys.readouterr().out)
    counts = {s["state"]: s["count"] for s in data["states"]}
    assert counts["LISTEN"] == 1 and counts["ESTABLISHED"] == 2
    assert data["filters"] == {"port": [net.port]}
    assert {s["local_port"] for s in data["sockets"]} == {net.port, ephemeral}


def test_cli_refuses_bad_options_with_status_2(capsys):
    assert main(["live", "--once", "--port", "70000"]) == 2
    assert "a port must be a number from 1 to 65535, not 70000" in capsys.readouterr().err
    assert main(["live", "--interval", "0"]) == 2
    assert "interval must be at least 0.1" in capsys.readouterr().err
    assert main(["live", "--port", "http"]) == 2


@linux
def test_cli_refreshes_count_times_as_json_lines(capsys):
    assert main(["live", "--json", "--count", "2", "--interval", "0.1", "--port", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["total"] == 0 for line in lines)


@linux
def test_cli_stops_cleanly_on_ctrl_c():
    command = [sys.executable, "-m", "tcpviz", "live", "--interval", "0.1", "--port", "1"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 20
        first = process.stdout.readline()  # the first table has started
        assert first.startswith("TCP sockets at"), first
        time.sleep(0.3)
        assert time.monotonic() < deadline
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@linux
def test_cli_in_a_terminal_redraws_in_place_until_ctrl_c():
    import pty
    import select

    command = [sys.executable, "-m", "tcpviz", "live", "--interval", "0.2", "--port", "1"]
    main_end, terminal = pty.openpty()
    process = subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, start_new_session=True
    )
    os.close(terminal)
    shown = b""
    try:
        deadline = time.monotonic() + 20
        while shown.count(b"\x1b[H\x1b[2J") < 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([main_end], [], [], 0.5)
            if ready:
                shown += os.read(main_end, 65536)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        os.close(main_end)
    text = shown.decode()
    assert text.count("\x1b[H\x1b[2J") >= 2, text  # each refresh replaces the last
    assert "TCP sockets at" in text and "(Ctrl-C to stop)" in text
    assert process.returncode == 0 and "Traceback" not in err.decode()


def test_other_systems_read_through_psutil(monkeypatch):
    pytest.importorskip("psutil")
    from tcpviz.traffic import live

    monkeypatch.setattr(live.sys, "platform", "darwin")
    with loopback() as net:
        net.pair()
        snapshot = wait_for(lambda: read_sockets(), lambda s: len(states_of(s, net.port)) == 3)
    assert snapshot.source == "psutil"
    assert sorted(states_of(snapshot, net.port).values()) == [
        "ESTABLISHED",
        "ESTABLISHED",
        "LISTEN",
    ]
    with pytest.raises(live.SocketsUnavailable, match="sock_diag is Linux only"):
        read_sockets("sock_diag")
    # psutil's statuses that are not TCP states (Windows, Solaris) count as CLOSED.
    assert [live._psutil_state(s) for s in ("DELETE_TCB", "NONE", "SYN_RECV", "FIN_WAIT1")] == [
        "CLOSED", "CLOSED", "SYN-RECEIVED", "FIN-WAIT-1",
    ]  # fmt: skip


def test_without_psutil_or_netstat_other_systems_are_told_what_to_install(monkeypatch, tmp_path):
    from tcpviz.traffic import live

    monkeypatch.setattr(live.sys, "platform", "darwin")
    monkeypatch.setattr(live, "_psutil", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no netstat either
    with pytest.raises(
        live.SocketsUnavailable,
        match=r"install psutil \(pip install psutil\); and no netstat command on this system",
    ):
        read_sockets()


@linux
def test_cli_process_filter_by_pid(capsys):
    with loopback() as net:
        net.pair()
        assert main(["live", "--once", "--json", "--process", str(os.getpid())]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["filters"] == {"process": os.getpid()}
    assert {s["pid"] for s in data["sockets"] if not s["orphan"]} == {os.getpid()}
    assert any(s["state"] == "LISTEN" and s["local_port"] == net.port for s in data["sockets"])


def test_a_view_remembers_holders_only_while_their_connections_last(monkeypatch):
    from tcpviz.traffic import live

    held = Socket(4, "ESTABLISHED", "127.0.0.1", 50000, "127.0.0.1", 80, pid=5, process="curl")
    closed = held._replace(state="TIME-WAIT", pid=None, process=None, orphan=True)
    readings = iter([(held,), (closed,), ()])
    monkeypatch.setattr(
        live,
        "read_sockets",
        lambda *a, **k: Snapshot(next(readings), "proc", time.time(), 0.0),
    )
    view = LiveView(process="curl")
    assert [s.state for s in view.snapshot().sockets] == ["ESTABLISHED"]
    (time_wait,) = view.snapshot().sockets  # held by no process: named by its last holder
    assert (time_wait.state, time_wait.pid, time_wait.owner) == ("TIME-WAIT", 5, "curl[5], closed")
    assert view.snapshot().sockets == () and view._holders == {}  # gone: forgotten


def test_a_process_filter_says_how_many_unowned_sockets_it_could_not_attribute(monkeypatch):
    from tcpviz.traffic import live

    stranger = Socket(
        4, "TIME-WAIT", "127.0.0.1", 50000, "192.0.2.1", 80, "time-wait", 12.0, orphan=True
    )
    monkeypatch.setattr(
        live, "read_sockets", lambda *a, **k: Snapshot((stranger,), "proc", time.time(), 0.0)
    )
    snapshot = LiveView(process="curl").snapshot()
    assert snapshot.sockets == () and snapshot.unowned == 1
    assert snapshot.to_dict()["unowned_not_shown"] == 1
    assert "Not shown: 1 socket held by no process" in format_table(snapshot)


def test_a_view_tells_what_moved_since_its_last_reading(monkeypatch):
    from tcpviz.traffic import StateChange, live

    client = Socket(4, "ESTABLISHED", "127.0.0.1", 50000, "127.0.0.1", 80, pid=5, process="x")
    server = Socket(4, "ESTABLISHED", "127.0.0.1", 80, "127.0.0.1", 50000, pid=5, process="x")
    readings = iter(
        [
            (server,),
            (server, client),
            (server._replace(state="CLOSE-WAIT"), client._replace(state="FIN-WAIT-2")),
            (client._replace(state="TIME-WAIT", pid=None, orphan=True),),
        ]
    )
    monkeypatch.setattr(
        live, "read_sockets", lambda *a, **k: Snapshot(next(readings), "proc", time.time(), 0.0)
    )
    view = LiveView(port=80)
    assert view.snapshot().changes == ()  # the first reading: nothing moved yet
    (new,) = view.snapshot().changes
    assert new == StateChange("127.0.0.1:50000", "127.0.0.1:80", None, "ESTABLISHED")
    assert str(new) == "127.0.0.1:50000 -> 127.0.0.1:80: (new) -> ESTABLISHED"
    closing = view.snapshot()
    assert sorted(str(c) for c in closing.changes) == [
        "127.0.0.1:50000 -> 127.0.0.1:80: ESTABLISHED -> FIN-WAIT-2",
        "127.0.0.1:80 -> 127.0.0.1:50000: ESTABLISHED -> CLOSE-WAIT",
    ]
    last = view.snapshot()
    assert sorted(str(c) for c in last.changes) == [
        "127.0.0.1:50000 -> 127.0.0.1:80: FIN-WAIT-2 -> TIME-WAIT",
        "127.0.0.1:80 -> 127.0.0.1:50000: CLOSE-WAIT -> CLOSED (gone)",
    ]
    text = format_table(last)
    assert "Since the last reading:\n" in text and "CLOSE-WAIT -> CLOSED (gone)" in text
    assert {c["after"] for c in last.to_dict()["changes"]} == {"TIME-WAIT", "CLOSED"}


@linux
def test_cli_writes_the_diagram_with_the_counts_for_slides(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    out = tmp_path / "sockets.svg"
    with loopback() as net:
        net.pair()
        assert main(["live", "--once", "--port", str(net.port), "--svg", str(out)]) == 0
    assert "ESTABLISHED  2" in capsys.readouterr().out
    root = ET.parse(out).getroot()  # a whole SVG file
    ns = "{http://www.w3.org/2000/svg}"
    counts = [
        g.findtext(f"{ns}text") for g in root.iter(f"{ns}g") if g.get("class") == "tcpviz-count"
    ]
    assert sorted(counts) == ["1", "2"]
    assert main(["live", "--once", "--port", "1", "--svg", str(tmp_path / "no" / "x.svg")]) == 1
    assert "x.svg" in capsys.readouterr().err and not (tmp_path / "no").exists()


def test_cli_says_why_when_no_source_can_read_the_sockets(monkeypatch, capsys):
    from tcpviz.traffic import live

    def unavailable(*args, **kwargs):
        raise live.SocketsUnavailable("cannot read /proc/net/tcp: no such file")

    monkeypatch.setattr(live, "read_sockets", unavailable)
    assert main(["live", "--once"]) == 1
    err = capsys.readouterr().err
    assert err == "tcpviz live: error: cannot read /proc/net/tcp: no such file\n"
