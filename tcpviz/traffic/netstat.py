"""Read TCP sockets from ``netstat``, for systems without sock_diag where psutil cannot help.

On macOS ``psutil.net_connections()`` needs root, but ``netstat -an -p tcp`` lists every
socket, TIME-WAIT included, for any user: a student's laptop can still watch its sockets (no
timers and no processes there). The parser reads the BSD and macOS format (``tcp4``,
``tcp6``, ``tcp46``; the port after the address's last dot), the Windows one (``TCP``,
``address:port``, ``[v6]:port``) and Linux's net-tools one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from ..errors import SocketsUnavailable

__all__ = ["NETSTAT_COMMANDS", "parse_netstat", "read_netstat"]

#: The command each system lists its TCP sockets with.
NETSTAT_COMMANDS: dict[str, tuple[str, ...]] = {
    "win32": ("netstat", "-an", "-p", "TCP"),
    "linux": ("netstat", "-ant"),  # net-tools; -p would mean "processes" there
    "default": ("netstat", "-an", "-p", "tcp"),
}


def _endpoint(text: str) -> tuple[str, int]:
    """An address and port as netstat prints them: ``127.0.0.1:8080`` and ``[::1]:8080``
    (Linux, Windows), ``127.0.0.1.8080`` and ``::1.8080`` (BSD, macOS); ``*`` for any."""
    head, colon, tail = text.rpartition(":")
    if colon and (tail.isdigit() or tail == "*"):
        return head.strip("[]") or "*", int(tail) if tail.isdigit() else 0
    address, _, port = text.rpartition(".")
    return address or "*", int(port) if port.isdigit() else 0


def parse_netstat(text: str) -> list[tuple[int, str, str, int, str, int]]:
    """The TCP lines of ``netstat -an`` output as (family, state as printed, local address,
    local port, remote address, remote port). Headings and other protocols are skipped.

    >>> parse_netstat("tcp4  0  0  127.0.0.1.8080  *.*  LISTEN")
    [(4, 'LISTEN', '127.0.0.1', 8080, '*', 0)]
    >>> parse_netstat("  TCP    [::1]:8080   [::]:0   LISTENING")
    [(6, 'LISTENING', '::1', 8080, '::', 0)]
    """
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        proto = fields[0]
        if proto == "TCP" and len(fields) >= 4:  # Windows: TCP local remote state
            local, remote, state = _endpoint(fields[1]), _endpoint(fields[2]), fields[3]
        elif proto.startswith("tcp") and len(fields) >= 6:  # proto recv-q send-q local remote st
            local, remote, state = _endpoint(fields[3]), _endpoint(fields[4]), fields[5]
        else:
            continue
        if proto == "tcp4":
            family = 4
        elif proto in ("tcp6", "tcp46"):
            family = 6
        else:
            family = 6 if ":" in local[0] else 4
        rows.append((family, state, local[0], local[1], remote[0], remote[1]))
    return rows


def read_netstat(timeout: float = 10.0) -> list[tuple[int, str, str, int, str, int]]:
    """Run ``netstat`` and parse it (see :func:`parse_netstat`)."""
    command = NETSTAT_COMMANDS.get(sys.platform, NETSTAT_COMMANDS["default"])
    if shutil.which(command[0]) is None:
        raise SocketsUnavailable(f"no {command[0]} command on this system ({sys.platform})")
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SocketsUnavailable(f"{' '.join(command)} failed: {error}") from None
    if done.returncode != 0:
        raise SocketsUnavailable(
            f"{' '.join(command)} exited with {done.returncode}: {done.stderr.strip()[:200]}"
        )
    return parse_netstat(done.stdout)
