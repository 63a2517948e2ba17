"""This machine's TCP sockets, grouped by RFC 9293 state: read, filtered, counted and listed.

On Linux the sockets come from sock_diag netlink (:mod:`tcpviz.traffic.sockdiag`), with
/proc/net/tcp as the fallback; both give the time left on the TIME-WAIT and FIN-WAIT-2 timers.
Elsewhere they come from psutil, if it is installed, or ``netstat`` (macOS lets only root list
sockets through psutil); neither gives timers. Process names on Linux
come from /proc/PID/fd (what ``ss -p`` and psutil read too), or psutil elsewhere.

What a student should know when reading the list:

- A socket in TIME-WAIT (and one in FIN-WAIT-2 after ``close()``) belongs to no process: the
  kernel keeps it after the program let go of it. :class:`LiveView` remembers who held each
  connection a moment before, so a watched program's connections stay in its listing.
- Loopback states that last under a millisecond (SYN-SENT, SYN-RECEIVED, FIN-WAIT-1, CLOSING,
  LAST-ACK) are seldom caught by looking every second; the capture replay sees them.
- A listening socket stays in LISTEN; each accepted connection is a socket of its own.

>>> view = LiveView(port=1)          # a port nothing uses here
>>> sorted(view.snapshot().counts)[:3]
['CLOSE-WAIT', 'CLOSED', 'CLOSING']
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from ..errors import InvalidFilter, SocketsUnavailable, UnknownState
from ..model import DESCRIPTIONS, STATES, canonical_state
from . import sockdiag
from .sockdiag import KERNEL_STATES, TIMERS, RawSocket

__all__ = [
    "MIN_INTERVAL",
    "SOURCES",
    "LiveView",
    "Snapshot",
    "Socket",
    "StateChange",
    "filter_text",
    "format_table",
    "process_owners",
    "read_sockets",
]

#: Where sockets can be read from; ``auto`` takes the first that works on this system.
SOURCES: tuple[str, ...] = ("auto", "sock_diag", "proc", "psutil", "netstat")

#: The shortest interval between two readings (seconds): a reading costs a few milliseconds.
MIN_INTERVAL = 0.1

#: The states a socket can be in after its program called close(), held by the kernel alone.
CLOSED_BY_PROGRAM = ("FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK", "TIME-WAIT")


class Socket(NamedTuple):
    """One TCP socket of this machine, its state in RFC 9293's name (a named tuple: a busy
    machine has thousands).

    ``timer`` names the kernel timer running (``time-wait``, ``fin-wait-2``, ``retransmit``,
    ``keepalive``, ``zero-window probe``) and ``expires`` the seconds left on it; both are
    ``None`` where none runs or the source does not say (psutil, netstat). ``orphan`` is true for a
    socket no process holds (TIME-WAIT, FIN-WAIT-2 or LAST-ACK after ``close()``); its ``pid``
    and ``process`` are then those of the last holder, where known. ``queued`` is true for a
    connection waiting in a listener's queue that no program has ``accept()``-ed yet. For
    LISTEN, ``recv_queue`` counts those connections.
    """

    family: int
    state: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    timer: str | None = None
    expires: float | None = None
    recv_queue: int | None = None
    send_queue: int | None = None
    uid: int | None = None
    inode: int | None = None
    pid: int | None = None
    process: str | None = None
    orphan: bool = False
    queued: bool = False

    @property
    def key(self) -> tuple[int, str, int, str, int]:
        """The connection's identity: family and both ends."""
        return (
            self.family,
            self.local_address,
            self.local_port,
            self.remote_address,
            self.remote_port,
        )

    @property
    def local(self) -> str:
        """The local end as ``address:port`` (IPv6 in brackets)."""
        return _endpoint(self.local_address, self.local_port)

    @property
    def remote(self) -> str:
        """The remote end as ``address:port``; ``*`` for a listening socket."""
        if self.state == "LISTEN":
            return "*"
        return _endpoint(self.remote_address, self.remote_port)

    @property
    def owner(self) -> str:
        """Who holds the socket, for a listing: ``name[pid]``, marked when it was let go."""
        if self.pid is None:
            if self.queued:
                return "no process: not accept()-ed yet"
            return "no process: closed" if self.orphan else ""
        who = f"{self.process or '?'}[{self.pid}]"
        return f"{who}, closed" if self.orphan else who

    def to_dict(self) -> dict[str, Any]:
        """The socket as JSON-ready data."""
        data = self._asdict()
        data["description"] = DESCRIPTIONS[self.state]
        return data


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _timer(raw: RawSocket, state: str) -> tuple[str | None, float | None]:
    name = TIMERS.get(raw.timer_code)
    if name is None:
        return None, None
    if state == "FIN-WAIT-2" and raw.timer_code in (2, 3):
        # After close() the kernel times FIN-WAIT-2 out (tcp_fin_timeout), as a timewait
        # socket in its FIN-WAIT-2 substate or with the keepalive timer.
        name = "fin-wait-2"
    return name, round(raw.expires, 3)


# The kernel's state numbers, named as the table names them (checked once, here).
_STATE_NAMES = {code: canonical_state(name) for code, name in KERNEL_STATES.items()}


def from_raw(raw: RawSocket) -> Socket:
    """A kernel row as a :class:`Socket`, its state in the table's name."""
    state = _STATE_NAMES.get(raw.state_code)
    if state is None:
        raise SocketsUnavailable(
            f"the kernel reported TCP state {raw.state_code}, which is not one of "
            f"{sorted(KERNEL_STATES)}"
        )
    timer, expires = _timer(raw, state) if raw.timer_code else (None, None)
    # No inode: no file descriptor. After close() in the closing states; before accept()
    # in the others (an accepted connection gets its file then).
    closed = state in CLOSED_BY_PROGRAM
    return Socket(
        raw.family,
        state,
        raw.local_address,
        raw.local_port,
        raw.remote_address,
        raw.remote_port,
        timer,
        expires,
        raw.recv_queue,
        raw.send_queue,
        raw.uid,
        raw.inode,
        None,
        None,
        raw.inode == 0 and closed,
        raw.inode == 0 and not closed,
    )


# -- owners ------------------------------------------------------------------------------


def process_owners(
    root: str = "/proc", inodes: Iterable[int] | None = None
) -> dict[int, tuple[int, str]]:
    """Map socket inodes to ``(pid, process name)`` by reading ``/proc/PID/fd`` (Linux).

    With ``inodes``, the search stops once all of them are found (newest processes first,
    where a student's program usually is). Only processes this user may inspect are seen
    (all of them as root), as with ``ss -p``. Raises :class:`OSError` where there is no /proc.
    """
    owners: dict[int, tuple[int, str]] = {}
    wanted = None if inodes is None else set(inodes) - {0}
    if wanted is not None and not wanted:
        return owners
    pids = sorted((int(e.name) for e in os.scandir(root) if e.name.isdigit()), reverse=True)
    for pid in pids:
        fds = f"{root}/{pid}/fd"
        try:
            names = os.listdir(fds)
        except OSError:  # gone, or not ours to see
            continue
        name = None
        for fd in names:
            try:
                target = os.readlink(f"{fds}/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                if name is None:
                    name = _process_name(root, pid)
                inode = int(target[8:-1])
                owners.setdefault(inode, (pid, name))
                if wanted is not None:
                    wanted.discard(inode)
        if wanted is not None and not wanted:
            break
    return owners


def _process_name(root: str, pid: int) -> str:
    try:
        with open(f"{root}/{pid}/comm", encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return "?"


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:
        return None
    return psutil


# psutil's statuses beyond the eleven states: Windows' DELETE_TCB (a connection being deleted),
# Solaris' IDLE and BOUND (a socket not connected yet), NONE (no state): all CLOSED.
_PSUTIL_CLOSED = frozenset({"NONE", "DELETE_TCB", "IDLE", "BOUND"})


def _psutil_state(status: str) -> str:
    return "CLOSED" if status in _PSUTIL_CLOSED else canonical_state(status)


def _read_psutil(processes: bool) -> list[Socket]:
    psutil = _psutil()
    if psutil is None:
        raise SocketsUnavailable(
            f"cannot read TCP sockets on {sys.platform}: install psutil (pip install psutil)"
        )
    import socket as _socket

    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        raise SocketsUnavailable(
            "psutil may not list this machine's sockets as this user (on macOS: run as root)"
        ) from None
    names: dict[int, str] = {}
    found = []
    for c in connections:
        state = _psutil_state(c.status)
        laddr, raddr = c.laddr, c.raddr or ("", 0)
        process = None
        if processes and c.pid is not None:
            if c.pid not in names:
                try:
                    names[c.pid] = psutil.Process(c.pid).name()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    names[c.pid] = "?"
            process = names[c.pid]
        found.append(
            Socket(
                family=6 if c.family == _socket.AF_INET6 else 4,
                state=state,
                local_address=laddr[0],
                local_port=laddr[1],
                remote_address=raddr[0],
                remote_port=raddr[1],
                pid=c.pid,
                process=process,
                orphan=c.pid is None and state in CLOSED_BY_PROGRAM,
            )
        )
    return found


def _read_netstat() -> list[Socket]:
    from .netstat import read_netstat

    found = []
    for family, state, local, local_port, remote, remote_port in read_netstat():
        try:
            name = _psutil_state(state)
        except UnknownState:
            continue  # a system's own extra (there is none in the formats read)
        found.append(Socket(family, name, local, local_port, remote, remote_port))
    return found


def _other_system(processes: bool) -> tuple[list[Socket], str]:
    """A system without sock_diag: psutil, else netstat (macOS lets anyone run netstat, but
    psutil only root)."""
    if sys.platform == "emscripten":  # Pyodide, JupyterLite: Python inside a web page
        raise SocketsUnavailable(
            "Python running inside a web page (JupyterLite, Pyodide) cannot see this "
            "machine's sockets: run the notebook in Jupyter on the machine itself"
        )
    try:
        return _read_psutil(processes), "psutil"
    except SocketsUnavailable as first:
        try:
            return _read_netstat(), "netstat"
        except SocketsUnavailable as second:
            raise SocketsUnavailable(f"{first}; and {second}") from None


# -- reading --------------------------------------------------------------------------------


class StateChange(NamedTuple):
    """A socket seen in another state than at the previous reading: ``before`` is ``None``
    for a socket that is new, ``after`` is ``CLOSED`` for one that is gone (the kernel
    deleted it)."""

    local: str
    remote: str
    before: str | None
    after: str

    def __str__(self) -> str:
        before = "(new)" if self.before is None else self.before
        after = "CLOSED (gone)" if self.after == "CLOSED" and self.before else self.after
        return f"{self.local} -> {self.remote}: {before} -> {after}"


@dataclass(frozen=True)
class Snapshot:
    """The sockets seen at one moment, with where they were read from and how long it took."""

    sockets: tuple[Socket, ...]
    source: str  #: sock_diag, proc or psutil
    time: float  #: when, as time.time()
    elapsed: float  #: seconds the reading took (owners included)
    filters: dict[str, Any] = field(default_factory=dict)
    #: Sockets held by no process (TIME-WAIT...) that a process filter could not attribute.
    unowned: int = 0
    #: What moved since the view's previous reading (empty for the first one).
    changes: tuple[StateChange, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """How many sockets are in each state, every state listed (zero included)."""
        counts = dict.fromkeys(STATES, 0)
        for s in self.sockets:
            counts[s.state] += 1
        return counts

    def by_state(self) -> dict[str, list[Socket]]:
        """The sockets grouped by state, the states in the table's order, empty ones left out."""
        groups: dict[str, list[Socket]] = {state: [] for state in STATES}
        for s in self.sockets:
            groups[s.state].append(s)
        return {state: sorted(g, key=_order) for state, g in groups.items() if g}

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data: per state its count and description, then the
        sockets."""
        counts = self.counts
        return {
            "source": self.source,
            "time": round(self.time, 3),
            "elapsed_ms": round(self.elapsed * 1000, 3),
            "filters": self.filters,
            "total": len(self.sockets),
            "unowned_not_shown": self.unowned,
            "states": [
                {"state": s, "count": counts[s], "description": DESCRIPTIONS[s]} for s in STATES
            ],
            "sockets": [s.to_dict() for s in sorted(self.sockets, key=_order)],
            "changes": [c._asdict() for c in self.changes],
        }


def _order(s: Socket) -> tuple[Any, ...]:
    return (STATES.index(s.state), s.local_port, s.remote_port, s.local_address, s.family)


def _linux_sockets(source: str, ports: tuple[int, ...]) -> tuple[str, list[RawSocket]]:
    if source in ("auto", "sock_diag"):
        try:
            return "sock_diag", sockdiag.read_sock_diag(ports=ports)
        except OSError as error:
            if source == "sock_diag":
                raise SocketsUnavailable(f"sock_diag netlink does not answer: {error}") from None
    try:
        return "proc", sockdiag.read_proc_net_tcp()
    except OSError as error:
        if source == "proc":
            raise SocketsUnavailable(f"cannot read /proc/net/tcp: {error}") from None
        raise
    except ValueError as error:
        raise SocketsUnavailable(str(error)) from None


def read_sockets(
    source: str = "auto",
    *,
    processes: bool = True,
    ports: Iterable[int] = (),
    where: Callable[[Socket], bool] | None = None,
) -> Snapshot:
    """Every TCP socket of this machine, IPv4 and IPv6, at this moment.

    Parameters
    ----------
    source : str
        ``sock_diag``, ``proc``, ``psutil`` or ``netstat``; ``auto`` (the default) takes
        sock_diag, then /proc/net/tcp, then psutil, then netstat, the first that works here.
    processes : bool
        Look up the process holding each socket (a few milliseconds more).
    ports : iterable of int
        Keep only the sockets with one of these ports at either end. sock_diag asks the
        kernel to filter, which keeps a reading quick on a machine with many sockets.
    where : callable, optional
        Keep only the sockets for which it is true. Applied before the processes are looked
        up, which is then skipped when no socket kept needs it.

    Raises
    ------
    InvalidFilter
        For a source not in :data:`SOURCES`.
    SocketsUnavailable
        When the chosen source (or, for ``auto``, every source) cannot be read here.
    """
    if source not in SOURCES:
        raise InvalidFilter(f"unknown socket source: {source!r} (must be one of {list(SOURCES)})")
    start = time.perf_counter()
    ports = tuple(_ports(tuple(ports)))
    if ports:
        wanted, test = frozenset(ports), where

        def in_ports_and_where(s: Socket) -> bool:
            in_ports = s.local_port in wanted or s.remote_port in wanted
            return in_ports and (test is None or test(s))

        where = in_ports_and_where

    linux = sys.platform.startswith("linux")
    if source == "netstat":
        sockets, used = _read_netstat(), "netstat"
    elif source == "psutil":
        sockets, used = _read_psutil(processes), "psutil"
    elif source == "auto" and not linux:
        sockets, used = _other_system(processes)
    else:
        if not linux:
            raise SocketsUnavailable(f"{source} is Linux only (this is {sys.platform})")
        try:
            used, raw = _linux_sockets(source, ports)
        except OSError:  # auto: neither netlink nor /proc (a sandbox): psutil, if any
            sockets, used = _other_system(processes)
        else:
            sockets = [from_raw(r) for r in raw]
            if where is not None:
                sockets = [s for s in sockets if where(s)]
                where = None
            # Only a socket with a file descriptor (an inode) can have a process.
            if processes and any(s.inode for s in sockets):
                sockets = _with_owners(sockets)
    if where is not None:
        sockets = [s for s in sockets if where(s)]
    return Snapshot(tuple(sockets), used, time.time(), time.perf_counter() - start)


def _with_owners(sockets: list[Socket]) -> list[Socket]:
    try:
        owners = process_owners(inodes=[s.inode for s in sockets if s.inode])
    except OSError:
        return sockets
    named = []
    for s in sockets:
        owner = owners.get(s.inode) if s.inode else None
        named.append(s._replace(pid=owner[0], process=owner[1]) if owner else s)
    return named


# -- filtering and watching -------------------------------------------------------------------


def _ports(port: int | Iterable[int] | None) -> frozenset[int]:
    if port is None:
        return frozenset()
    values = [port] if isinstance(port, (int, str)) else list(port)
    ports = set()
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidFilter(f"a port must be a number from 1 to 65535, not {value!r}") from None
        if not 0 < number < 65536 or isinstance(value, bool):
            raise InvalidFilter(f"a port must be a number from 1 to 65535, not {value!r}")
        ports.add(number)
    return frozenset(ports)


def _process(process: int | str | None) -> int | str | None:
    if process is None:
        return None
    if isinstance(process, int) and not isinstance(process, bool):
        if process <= 0:
            raise InvalidFilter(f"a process id must be positive, not {process!r}")
        return process
    if not isinstance(process, str) or not process.strip():
        raise InvalidFilter(f"a process must be a name or a process id, not {process!r}")
    text = process.strip()
    return _process(int(text)) if text.isdigit() else text.lower()


class LiveView:
    """Read this machine's sockets again and again, filtered, remembering who held what.

    Parameters
    ----------
    port : int or iterable of int, optional
        Keep sockets with one of these ports at either end (local or remote).
    process : int or str, optional
        Keep sockets of this process: a pid, or a name (matched if it is part of the process
        name, ignoring case: ``python`` matches ``python3``). Sockets in TIME-WAIT belong to
        no process; they are kept when this view saw the same connection held by a matching
        process before, or when it arrived on a port such a process listens on.
    source : str
        Where to read from (see :func:`read_sockets`).

    Examples
    --------
    >>> view = LiveView(port=8080)
    >>> snapshot = view.snapshot()
    >>> all(8080 in (s.local_port, s.remote_port) for s in snapshot.sockets)
    True
    """

    def __init__(
        self,
        *,
        port: int | Iterable[int] | None = None,
        process: int | str | None = None,
        source: str = "auto",
    ) -> None:
        if source not in SOURCES:
            raise InvalidFilter(
                f"unknown socket source: {source!r} (must be one of {list(SOURCES)})"
            )
        self.ports: frozenset[int] = _ports(port)
        self.process: int | str | None = _process(process)
        self.source = source
        self._lock = threading.Lock()
        # Each connection's state at the previous reading (None before the first one).
        self._states: dict[tuple[int, str, int, str, int], str] | None = None
        # The last known holder of each connection, to name it once its program closed it.
        self._holders: dict[tuple[int, str, int, str, int], tuple[int, str | None]] = {}

    @property
    def filters(self) -> dict[str, Any]:
        """The filters as data (for JSON and headings)."""
        filters: dict[str, Any] = {}
        if self.ports:
            filters["port"] = sorted(self.ports)
        if self.process is not None:
            filters["process"] = self.process
        return filters

    def snapshot(self) -> Snapshot:
        """The sockets now, filtered (safe to call from several threads: one reading at a
        time, so each one's changes are against the one before)."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        start = time.perf_counter()
        full = read_sockets(self.source, processes=True, ports=self.ports)
        sockets = self._remember(full.sockets)
        unowned = 0
        if self.process is not None:
            sockets, unowned = self._of_process(sockets)
        return replace(
            full,
            sockets=tuple(sockets),
            unowned=unowned,
            changes=self._changes(sockets),
            filters=self.filters,
            elapsed=time.perf_counter() - start,
        )

    def _changes(self, sockets: Sequence[Socket]) -> tuple[StateChange, ...]:
        """What moved since the previous reading; remembers this one (only its sockets)."""
        now = {s.key: s for s in sockets}
        before, self._states = self._states, {key: s.state for key, s in now.items()}
        if before is None:  # the first reading: everything is there, nothing moved
            return ()
        moved = [
            StateChange(s.local, s.remote, before.get(key), s.state)
            for key, s in now.items()
            if before.get(key) != s.state
        ]
        for key, state in before.items():
            if key not in now:
                family, local, local_port, remote, remote_port = key
                gone = Socket(family, state, local, local_port, remote, remote_port)
                moved.append(StateChange(gone.local, gone.remote, state, "CLOSED"))
        return tuple(moved)

    def _remember(self, sockets: Iterable[Socket]) -> list[Socket]:
        """Name each socket no process holds by its last holder, if this view saw one; keep
        in memory only the connections still there (so memory stays bounded)."""
        holders: dict[tuple[int, str, int, str, int], tuple[int, str | None]] = {}
        named = []
        for s in sockets:
            if s.pid is None:
                holder = self._holders.get(s.key)
                if holder is not None:
                    s = s._replace(pid=holder[0], process=holder[1])
            if s.pid is not None:
                holders[s.key] = (s.pid, s.process)
            named.append(s)
        self._holders = holders
        return named

    def _matches(self, s: Socket) -> bool:
        if s.pid is None:
            return False
        if isinstance(self.process, int):
            return s.pid == self.process
        return isinstance(self.process, str) and self.process in (s.process or "").lower()

    def _of_process(self, sockets: list[Socket]) -> tuple[list[Socket], int]:
        """The sockets of the watched process, and how many sockets held by no process were
        left out (they may be its connections, closed before this view saw them)."""
        listeners = {
            (s.family, s.local_port): s.local_address
            for s in sockets
            if s.state == "LISTEN" and not s.orphan and self._matches(s)
        }

        def to_own_listener(s: Socket) -> bool:
            # Its own server's side (on the listening port), or its own client's side of a
            # connection to that server over loopback.
            if (s.family, s.local_port) in listeners:
                return True
            listener = listeners.get((s.family, s.remote_port))
            return listener is not None and (
                s.remote_address == listener or _loopback(s.remote_address)
            )

        kept, unowned = [], 0
        for s in sockets:
            if self._matches(s) or (s.pid is None and to_own_listener(s)):
                kept.append(s)
            elif s.pid is None and s.orphan:
                unowned += 1
        return kept, unowned

    def watch(self, interval: float = 1.0, count: int | None = None) -> Iterator[Snapshot]:
        """Yield a snapshot every ``interval`` seconds (at least :data:`MIN_INTERVAL`),
        ``count`` times (``None``: until the caller stops). Bad values raise at once."""
        if not interval >= MIN_INTERVAL:  # also refuses NaN
            raise InvalidFilter(
                f"the interval must be at least {MIN_INTERVAL} seconds, not {interval!r}"
            )
        if count is not None and count < 1:
            raise InvalidFilter(f"the count must be at least 1, not {count!r}")
        return self._watch(interval, count)

    def _watch(self, interval: float, count: int | None) -> Iterator[Snapshot]:
        taken = 0
        while count is None or taken < count:
            started = time.monotonic()
            yield self.snapshot()
            taken += 1
            if count is None or taken < count:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))


# -- the listing ----------------------------------------------------------------------------


def filter_text(filters: dict[str, Any]) -> str:
    """Filters as words for a heading: ``{"port": [80, 443]}`` -> ``'port 80 or 443'``."""
    parts = []
    for name, value in filters.items():
        values = value if isinstance(value, list) else [value]
        parts.append(f"{name} " + " or ".join(str(v) for v in values))
    return ", ".join(parts)


def _wrap(text: str, width: int, indent: str) -> str:
    import textwrap

    # State names keep their hyphens on one line: LAST-ACK, not LAST- / ACK.
    return textwrap.fill(
        text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _seconds(s: Socket) -> str:
    if s.timer is None or s.expires is None:
        return ""
    return f"{s.timer} {s.expires:.1f} s"


def format_table(
    snapshot: Snapshot, *, width: int = 88, describe: bool = True, rows: int | None = None
) -> str:
    """The snapshot as the terminal shows it: the count per state, then each state's sockets
    under its description.

    The states with sockets come with their description from the table (the same words as
    the diagram and ``tcpviz describe``); the empty states are listed on one line. With
    ``rows``, at most that many sockets are listed per state, and the rest are counted.
    """
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise InvalidFilter(f"rows must be a whole number from 1, not {rows!r}")
    counts = snapshot.counts
    filters = filter_text(snapshot.filters)
    when = time.strftime("%H:%M:%S", time.localtime(snapshot.time))
    lines = [
        f"TCP sockets at {when}: {len(snapshot.sockets)}"
        + (f" ({filters})" if filters else "")
        + f"  [read from {snapshot.source} in {snapshot.elapsed * 1000:.1f} ms]",
        "",
    ]
    groups = snapshot.by_state()
    header = ("", "local", "remote", "timer", "process")
    for state, group in groups.items():
        lines.append(f"{state}  {counts[state]}")
        if describe:
            lines.append(_wrap(DESCRIPTIONS[state], width, "  "))
        listed = group if rows is None else group[:rows]
        table = [header] + [("", s.local, s.remote, _seconds(s), s.owner) for s in listed]
        sizes = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            text = "  ".join(cell.ljust(size) for cell, size in zip(row, sizes, strict=True))
            lines.append("  " + text.rstrip())
        if len(listed) < len(group):
            lines.append(f"    ... and {len(group) - len(listed)} more")
        lines.append("")
    if snapshot.changes:
        lines.append("Since the last reading:")
        shown = snapshot.changes if rows is None else snapshot.changes[: max(rows, 8)]
        lines.extend(f"  {change}" for change in shown)
        if len(shown) < len(snapshot.changes):
            lines.append(f"  ... and {len(snapshot.changes) - len(shown)} more")
        lines.append("")
    if snapshot.unowned:
        lines.append(
            _wrap(
                f"Not shown: {snapshot.unowned} "
                + ("socket" if snapshot.unowned == 1 else "sockets")
                + " held by no process (TIME-WAIT, or closed by their program) that this view "
                "never saw held by it; filter by port to see them.",
                width,
                "",
            )
        )
        lines.append("")
    empty = [state for state in STATES if not counts[state]]
    if empty:
        lines.append(_wrap("no sockets in: " + ", ".join(empty), width, ""))
    return "\n".join(lines)
