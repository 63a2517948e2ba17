"""Real connections on 127.0.0.1, captured by tcpdump, replayed, and checked against the kernel.

Each test opens its own connections on a port of its own while tcpdump captures that port on
the loopback interface and a thread polls /proc/net/tcp for the sockets' states. The replay must
contain every state the kernel reported, in the order it reported them. Loopback states that
last under a millisecond (SYN-RECEIVED, LAST-ACK, often SYN-SENT and FIN-WAIT-1) never show in
polling, so the comparison is "what the kernel showed is a subsequence of what replay inferred".

Needs tcpdump (scripts/setup.sh --test installs it) and the right to capture (root or
CAP_NET_RAW): skipped without them, except in CI, where a missing tool is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tcpviz.model import PROC_NET_TCP_CODES
from tcpviz.traffic import replay

TCPDUMP = shutil.which("tcpdump")


def _can_capture() -> str | None:
    if not sys.platform.startswith("linux"):
        return "loopback captures are tested on Linux"
    if TCPDUMP is None:
        return "tcpdump is not installed (scripts/setup.sh --test installs it)"
    if not Path("/proc/net/tcp").exists():
        return "no /proc/net/tcp to read the kernel's socket states"
    return None


_why = _can_capture()
if _why and os.environ.get("CI"):
    pytest.fail(f"CI must run the loopback capture tests: {_why}", pytrace=False)
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KernelStates:
    """Poll /proc/net/tcp for the sockets of one port and keep each socket's states in order."""

    def __init__(self, port: int):
        self.port = port
        self.seen: dict[tuple[int, int], list[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> KernelStates:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        deadline = time.monotonic() + 60  # bounded even if a test forgets to stop it
        while not self._stop.is_set() and time.monotonic() < deadline:
            with open("/proc/net/tcp") as f:
                lines = f.readlines()[1:]
            for line in lines:
                fields = line.split()
                local, remote, code = fields[1], fields[2], fields[3]
                lport, rport = int(local.split(":")[1], 16), int(remote.split(":")[1], 16)
                if self.port not in (lport, rport):
                    continue
                state = PROC_NET_TCP_CODES[code]
                states = self.seen.setdefault((lport, rport), [])
                if not states or states[-1] != state:
                    states.append(state)
            time.sleep(0.0005)

    def of(self, local: int, remote: int) -> list[str]:
        return self.seen.get((local, remote), [])


class Capture:
    """tcpdump on lo for one port, written unbuffered (-U) to a file, stopped for sure."""

    def __init__(self, path: Path, port: int):
        self.path = path
        self.port = port
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Capture:
        # --immediate-mode: without it libpcap hands packets over a ring buffer block at a
        # time, and a tcpdump stopped before its block timeout writes none of them ("16
        # packets received by filter, 0 packets captured"). -U then writes each one at once.
        command = [TCPDUMP, "-i", "lo", "--immediate-mode", "-U", "-n", "-s", "128"]
        command += ["-w", str(self.path)]
        if os.geteuid() == 0:
            # As root tcpdump switches to the user tcpdump, who may not write into pytest's
            # private temporary directory: stay root, the capture is the test's own.
            command += ["-Z", "root"]
        self.process = subprocess.Popen(
            [*command, f"tcp port {self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # tcpdump says "listening on lo" once it captures; wait for that (bounded).
        ready = threading.Event()
        lines: list[bytes] = []

        def watch() -> None:
            assert self.process is not None and self.process.stderr is not None
            for line in self.process.stderr:
                lines.append(line)
                if b"listening on" in line:
                    ready.set()
                    return

        threading.Thread(target=watch, daemon=True).start()
        if not ready.wait(10):
            self.stop()
            message = b"".join(lines).decode(errors="replace").strip()
            denied = "permission" in message.lower() or "not permitted" in message.lower()
            if denied and not os.environ.get("CI"):
                pytest.skip(f"tcpdump may not capture here: {message}")
            pytest.fail(f"tcpdump did not start within 10 s: {message}")
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # tcpdump flushes and closes its file on SIGTERM
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # let the last segments reach the capture (-U writes each at once)
        self.stop()


def pause() -> None:
    time.sleep(0.05)  # long enough for the poller to see the states that last


def check(kernel: list[str], inferred: list[str], what: str) -> None:
    """Every state the kernel showed appears in the replay, in the same order."""
    at = 0
    for state in kernel:
        try:
            at = inferred.index(state, at) + 1
        except ValueError:
            pytest.fail(f"{what}: the kernel showed {kernel}, the replay inferred {inferred}")
    assert kernel, f"{what}: the kernel showed no state at all (is the poller working?)"


def ends(connection, client_port: int):
    by_port = {e.port: e for e in connection.endpoints}
    client = by_port[client_port]
    server = next(e for e in connection.endpoints if e is not client)
    return client, server


def run(tmp_path: Path, name: str, scenario):
    """Run ``scenario(port)`` under tcpdump and the poller; return (replay, kernel, port)."""
    port = free_port()
    path = tmp_path / f"{name}.pcap"
    with KernelStates(port) as kernel, Capture(path, port):
        client_port = scenario(port)
        pause()
    result = replay(path)
    assert not result.problems, result.problems
    result.connections = [c for c in result.connections if port in c.ports]
    for connection in result.connections:
        # Real segments, the simulator's endpoint: every change replay reports is one it fired.
        for end in connection.endpoints:
            recorded = [c.transition for c in end.changes if c.transition is not None]
            assert recorded == list(end.endpoint.machine.history)
    return result, kernel, port, client_port


def server_socket(port: int) -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    server.settimeout(5)
    return server


def client_socket() -> socket.socket:
    client = socket.socket()
    client.settimeout(5)
    return client


def test_normal_close_client_first(tmp_path):
    def scenario(port):
        with server_socket(port) as server, client_socket() as client:
            client.connect(("127.0.0.1", port))
            conn, _ = server.accept()
            with conn:
                client.sendall(b"hello")
                assert conn.recv(5) == b"hello"
                pause()
                client.shutdown(socket.SHUT_WR)
                pause()
                assert conn.recv(5) == b""
                pause()
                cport = client.getsockname()[1]
                conn.close()
                pause()
            return cport

    result, kernel, port, cport = run(tmp_path, "client-first", scenario)
    (c,) = result.connections
    client, server = ends(c, cport)
    assert c.conn_state == "SF"
    check(kernel.of(cport, port), client.states, "client")
    check(kernel.of(port, cport), server.states, "server")
    assert client.states[-2:] == ["TIME-WAIT", "CLOSED"]
    assert "FIN-WAIT-2" in kernel.of(cport, port) and "CLOSE-WAIT" in kernel.of(port, cport)
    assert server.states[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def test_normal_close_server_first(tmp_path):
    def scenario(port):
        with server_socket(port) as server, client_socket() as client:
            client.connect(("127.0.0.1", port))
            conn, _ = server.accept()
            cport = client.getsockname()[1]
            conn.sendall(b"bye")
            pause()
            conn.close()
            pause()
            assert client.recv(3) == b"bye" and client.recv(3) == b""
            pause()
            client.close()
            pause()
            return cport

    result, kernel, port, cport = run(tmp_path, "server-first", scenario)
    (c,) = result.connections
    client, server = ends(c, cport)
    check(kernel.of(cport, port), client.states, "client")
    check(kernel.of(port, cport), server.states, "server")
    assert server.states[-2:] == ["TIME-WAIT", "CLOSED"]
    assert client.states[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def test_connection_refused(tmp_path):
    def scenario(port):
        with client_socket() as client:
            with pytest.raises(ConnectionRefusedError):
                client.connect(("127.0.0.1", port))
            return client.getsockname()[1] if client.getsockname()[1] else None

    result, _kernel, port, _cport = run(tmp_path, "refused", scenario)
    (c,) = result.connections
    client = next(e for e in c.endpoints if e.port != port)
    server = next(e for e in c.endpoints if e.port == port)
    assert c.conn_state == "REJ"
    assert client.states == ["CLOSED", "SYN-SENT", "CLOSED"]
    assert server.states == ["CLOSED"] and server.changes[0].seen


def test_abort_with_so_linger_zero(tmp_path):
    def scenario(port):
        with server_socket(port) as server, client_socket() as client:
            client.connect(("127.0.0.1", port))
            conn, _ = server.accept()
            with conn:
                cport = client.getsockname()[1]
                pause()
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # RST instead of FIN
                pause()
                with pytest.raises(ConnectionResetError):
                    conn.recv(1)
            return cport

    result, kernel, port, cport = run(tmp_path, "linger0", scenario)
    (c,) = result.connections
    client, server = ends(c, cport)
    assert c.conn_state == "RSTO"
    check(kernel.of(cport, port), client.states, "client")
    check(kernel.of(port, cport), server.states, "server")
    assert client.changes[-1].event == "ABORT" and client.changes[-1].seen
    assert server.states[-1] == "CLOSED" and server.changes[-1].event == "rcv RST"


def test_close_with_unread_data_sends_rst(tmp_path):
    def scenario(port):
        with server_socket(port) as server, client_socket() as client:
            client.connect(("127.0.0.1", port))
            conn, _ = server.accept()
            cport = client.getsockname()[1]
            client.sendall(b"never read")
            pause()
            conn.close()  # unread data: RFC 9293 3.6.1, Linux sends a RST
            pause()
            with contextlib.suppress(ConnectionResetError):
                client.recv(1)
            return cport

    result, kernel, port, cport = run(tmp_path, "unread", scenario)
    (c,) = result.connections
    client, server = ends(c, cport)
    assert c.conn_state == "RSTR"
    check(kernel.of(cport, port), client.states, "client")
    check(kernel.of(port, cport), server.states, "server")
    assert server.changes[-1].event == "ABORT" and server.states[-1] == "CLOSED"
    assert client.states[-1] == "CLOSED"


def test_self_connect(tmp_path):
    def scenario(port):
        with socket.socket() as s:
            s.settimeout(5)
            s.bind(("127.0.0.1", port))
            s.connect(("127.0.0.1", port))  # Linux lets a socket connect to itself
            pause()
            s.sendall(b"echo")
            assert s.recv(4) == b"echo"
            pause()
        pause()
        return port

    result, kernel, port, _ = run(tmp_path, "self", scenario)
    (c,) = result.connections
    assert c.self_connect
    (end,) = c.endpoints
    check(kernel.of(port, port), end.states, "self")
    assert end.states[:4] == ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]


def test_syn_dropped_by_a_full_accept_queue_is_retransmitted(tmp_path):
    """A listen backlog of 0 holds one connection: the next SYN is dropped and retransmitted."""

    def scenario(port):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(0)
        server.settimeout(5)
        with server, client_socket() as first, client_socket() as second:
            first.connect(("127.0.0.1", port))  # fills the accept queue
            pause()
            second.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                second.connect(("127.0.0.1", port))  # its SYN finds the queue full
            time.sleep(0.5)
            accepted, _ = server.accept()  # room again: the retransmitted SYN gets in
            with accepted:
                second.settimeout(5)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:  # bounded: the SYN comes again after 1 s
                    if second.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        with contextlib.suppress(OSError):
                            second.getpeername()
                            break
                    time.sleep(0.05)
                pause()
                return second.getsockname()[1]

    result, kernel, port, cport = run(tmp_path, "accept-queue", scenario)
    c = next(c for c in result.connections if cport in c.ports)
    client, server = ends(c, cport)
    syns = [s for s in c.segments if s.flag_text == "SYN"]
    assert len(syns) >= 2 and syns[1].kind == "retransmission"
    assert syns[1].time - syns[0].time > 0.5  # the kernel waited (Linux: 1 s) before sending again
    check(kernel.of(cport, port), client.states, "client")
    assert "SYN-SENT" in kernel.of(cport, port)  # a whole second in SYN-SENT: polling sees it
    answered = next(ch for ch in server.changes if ch.state == "SYN-RECEIVED")
    assert answered.cause == syns[-1].number  # the copy the server answered, not the first
    assert any("accept queue" in note for note in server.notes)


def test_simultaneous_close_by_shutdown_at_one_instant(tmp_path):
    """Both ends shut down at once from two threads. Whether the FINs cross on the wire is up
    to the scheduler: when they do (neither FIN acknowledges the other) both ends go through
    CLOSING; when they do not, one end closes first. Replay must tell which, and agree with
    the kernel either way."""
    import threading

    def scenario(port):
        with server_socket(port) as server, client_socket() as client:
            client.connect(("127.0.0.1", port))
            conn, _ = server.accept()
            with conn:
                cport = client.getsockname()[1]
                pause()  # ESTABLISHED for the poller to see
                barrier = threading.Barrier(2, timeout=5)

                def shut(sock):
                    barrier.wait()
                    sock.shutdown(socket.SHUT_WR)

                other = threading.Thread(target=shut, args=(conn,))
                other.start()
                shut(client)
                other.join(timeout=5)
                pause()
            pause()
            return cport

    result, kernel, port, cport = run(tmp_path, "simultaneous-close", scenario)
    (c,) = result.connections
    client, server = ends(c, cport)
    check(kernel.of(cport, port), client.states, "client")
    check(kernel.of(port, cport), server.states, "server")
    fins = [s for s in c.segments if s.flags & 0x01]
    crossed = len(fins) == 2 and all(
        not (s.flags & 0x10 and s.raw_ack == (f.raw_seq + 1) & 0xFFFFFFFF)
        for s, f in ((fins[1], fins[0]), (fins[0], fins[1]))
    )
    if crossed:
        for end in (client, server):
            assert end.states[-4:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
    else:
        assert sorted(e.states[-2] for e in (client, server)) in (
            ["LAST-ACK", "TIME-WAIT"],
            ["CLOSE-WAIT", "TIME-WAIT"],
        ) or all(e.states[-2] == "TIME-WAIT" for e in (client, server))
