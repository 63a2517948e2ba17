"""Reading this machine's TCP sockets: sock_diag netlink against /proc/net/tcp, psutil and ss.

The machine's own sockets, plus ``pairs`` loopback connections this benchmark opens (two
ESTABLISHED sockets each, a listener, and as many in TIME-WAIT as ``pairs // 4``), so that the
count is known and about what a busy lab machine has. Each way of reading is timed in
alternating rounds of the same run:

- tcpviz's two kernel readers alone (``read_sock_diag``, ``read_proc_net_tcp``: the rows);
- tcpviz's whole reading, states named, with and without the processes that hold the sockets
  (``read_sockets``), and its filtered view of one port (``LiveView(port=...)``): the port
  of all those connections, and a student's port with one connection (the kernel filters by
  port, and the process search stops once it has found the sockets' owners);
- what a user would otherwise reach for: ``psutil.net_connections("tcp")`` (which also finds
  each socket's process) and ``ss -tanp`` run and parsed (if ``ss`` is installed).

Target: tcpviz's whole reading with processes no slower than ``psutil.net_connections``.

Run it alone with ``.venv/bin/python benchmarks/bench_live.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Check, Result, row, run_alone

from tcpviz.traffic import LiveView, read_proc_net_tcp, read_sock_diag, read_sockets

SOCK_DIAG = "sock_diag netlink, rows"
PROC = "/proc/net/tcp + tcp6, rows"
WHOLE = "tcpviz read_sockets, states named"
WHOLE_OWNERS = "tcpviz read_sockets with processes"
VIEW = "tcpviz LiveView(port=...) with processes"
VIEW_SMALL = "tcpviz LiveView of a student's port (3 sockets)"
PSUTIL = "psutil.net_connections('tcp')"
SS = "ss -tanp, run and parsed"
#: tcpviz's reading with processes, against psutil's (which finds the processes too).
RATIO_TARGET = 1.0
QUICK = {"pairs": 20, "repeats": 6, "rounds": 2}


@contextlib.contextmanager
def loopback_connections(pairs: int) -> Iterator[int]:
    """Open ``pairs`` connections on 127.0.0.1 (and close a quarter of them, client first,
    into TIME-WAIT); yield the listening port; close everything at the end."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * pairs + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    listener = socket.create_server(("127.0.0.1", 0), backlog=min(pairs, 4096))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    try:
        for number in range(pairs):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            server, _ = listener.accept()
            if number % 4 == 3:
                client.close()  # the active close: this client's socket goes to TIME-WAIT
                server.close()
            else:
                held += [client, server]
        yield port
    finally:
        for s in held:
            s.close()
        listener.close()


def _ss() -> int:
    """What a script without tcpviz does: run ``ss`` and split its lines."""
    out = subprocess.run(
        ["ss", "-tanpH"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return sum(1 for line in out.splitlines() if line.split())


def run(*, pairs: int = 1000, repeats: int = 30, rounds: int = 3) -> Result:
    """Time ``repeats`` readings of each kind, in ``rounds`` alternating rounds, with
    ``pairs`` extra loopback connections open."""
    result = Result("live", "Read this machine's TCP sockets")
    try:
        import psutil
    except ImportError:
        psutil = None
    with loopback_connections(pairs) as port, loopback_connections(1) as small:
        view = LiveView(port=port)
        student = LiveView(port=small)
        actions: dict[str, Callable[[], object]] = {
            SOCK_DIAG: read_sock_diag,
            PROC: read_proc_net_tcp,
            WHOLE: lambda: read_sockets("sock_diag", processes=False),
            WHOLE_OWNERS: lambda: read_sockets("sock_diag", processes=True),
            VIEW: view.snapshot,
            VIEW_SMALL: student.snapshot,
        }
        if psutil is not None:
            actions[PSUTIL] = lambda: psutil.net_connections("tcp")
        else:
            result.notes.append("psutil is not installed: no psutil row")
        if shutil.which("ss"):
            actions[SS] = _ss
        else:
            result.notes.append("ss is not installed: no ss row")
        for action in actions.values():  # warm up
            action()
        samples: dict[str, list[float]] = {label: [] for label in actions}
        clock = time.perf_counter
        for number in range(max(1, rounds)):
            share = repeats // rounds + (number < repeats % rounds)
            for label, action in actions.items():
                for _ in range(share):
                    start = clock()
                    action()
                    samples[label].append(clock() - start)
        seen = len(read_sock_diag())
        mine = len(view.snapshot().sockets)
    notes = {
        SOCK_DIAG: f"{seen} sockets",
        PROC: "same sockets",
        VIEW: f"{mine} sockets kept",
        VIEW_SMALL: "the kernel filters",
        PSUTIL: "with pids",
        SS: "a process per reading",
    }
    result.rows += [row(label, values, notes.get(label, "")) for label, values in samples.items()]
    ratio = None
    if psutil is not None:
        ratio = result.row(WHOLE_OWNERS).median_ms / result.row(PSUTIL).median_ms
        result.ratios["tcpviz with processes / psutil (median)"] = ratio
        result.checks.append(
            Check(
                "tcpviz reading with processes against psutil.net_connections",
                f"<= {RATIO_TARGET}x",
                f"{ratio:.2f}x",
                ratio <= RATIO_TARGET,
            )
        )
    result.ratios["/proc / sock_diag rows (median)"] = (
        result.row(PROC).median_ms / result.row(SOCK_DIAG).median_ms
    )
    result.checks.append(
        Check(
            "every socket opened here is seen",
            f">= {2 * (pairs - pairs // 4) + 1}",
            str(mine),
            mine >= 2 * (pairs - pairs // 4) + 1,
        )
    )
    result.notes.append(
        f"{pairs} loopback connections opened ({pairs // 4} closed into TIME-WAIT), "
        f"{seen} TCP sockets on the machine in all"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
