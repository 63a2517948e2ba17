"""Record the states the kernel reports for some ports' connections, in order, while they run.

For checking what a capture replay or a simulation says against the kernel itself: a
background thread polls sock_diag (filtered by the kernel to the ports asked for, so each
poll costs well under a millisecond however many sockets the machine has) and keeps, per
connection, each state it saw and when. A socket that disappears is recorded as CLOSED.

Polling sees only states that last longer than a poll: on loopback SYN-SENT, SYN-RECEIVED,
FIN-WAIT-1, CLOSING and LAST-ACK usually last under a millisecond and are missed. Compare
what was seen, in order, with the expected sequence (:meth:`StateRecorder.seen_in_order`).

>>> import socket
>>> server = socket.create_server(("127.0.0.1", 0))
>>> port = server.getsockname()[1]
>>> with StateRecorder(port) as recorder:
...     client = socket.create_connection(("127.0.0.1", port))
...     accepted, _ = server.accept()
...     recorder.wait_for(lambda r: len(r.connections(local_port=port)) == 2)
...     for s in (client, accepted, server):
...         s.close()
True
>>> recorder.states_of(local_port=port, remote_port=0)
['LISTEN', 'CLOSED']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from ..errors import InvalidFilter, SocketsUnavailable
from .live import _STATE_NAMES, _ports
from .sockdiag import read_sock_diag

__all__ = ["Key", "Sighting", "StateRecorder"]

#: A connection: family (4 or 6), local address and port, remote address and port.
Key = tuple[int, str, int, str, int]


class Sighting(NamedTuple):
    """One state of one socket, as polled: the first and the last poll that saw it (seconds
    since the recorder started)."""

    state: str
    first: float
    last: float


class StateRecorder:
    """Poll the kernel's sockets on ``ports`` in a background thread, recording each
    connection's states in order.

    Parameters
    ----------
    ports : int or iterable of int
        The sockets with one of these ports at either end are watched.
    interval : float
        Seconds between polls (at least 0.0001). The default, 0.5 ms, catches states that
        last a few milliseconds.
    limit : float
        Seconds after which polling stops on its own (a bound for a forgotten recorder).

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self, ports: int | Iterable[int], *, interval: float = 0.0005, limit: float = 120.0
    ) -> None:
        self.ports: frozenset[int] = _ports(ports)
        if not self.ports:
            raise InvalidFilter("a recorder needs at least one port to watch")
        if not interval >= 0.0001:
            raise InvalidFilter(f"the interval must be at least 0.0001 s, not {interval!r}")
        if not 0 < limit <= 3600:
            raise InvalidFilter(f"the limit must be from 0 to 3600 seconds, not {limit!r}")
        self.interval = interval
        self.limit = limit
        self.history: dict[Key, list[Sighting]] = {}
        self.polls: int = 0
        self.error: Exception | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    # -- running --------------------------------------------------------------------------

    def start(self) -> StateRecorder:
        """Take a first reading now, then keep polling in a background thread."""
        if self._thread is not None:
            raise InvalidFilter("this recorder has already been started")
        self._start = time.monotonic()
        self._poll()  # the sockets already there are recorded before start() returns
        self._thread = threading.Thread(target=self._run, name="tcpviz-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take a last reading and stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.error is None:
            self._poll()

    def __enter__(self) -> StateRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        deadline = self._start + self.limit
        while not self._stop.wait(self.interval) and time.monotonic() < deadline:
            try:
                self._poll()
            except (OSError, SocketsUnavailable) as error:
                self.error = error
                return

    def _poll(self) -> None:
        raw = read_sock_diag(ports=self.ports)
        now = time.monotonic() - self._start
        present: set[Key] = set()
        with self._lock:
            self.polls += 1
            for s in raw:
                key = (s.family, s.local_address, s.local_port, s.remote_address, s.remote_port)
                present.add(key)
                self._saw(key, _STATE_NAMES.get(s.state_code, f"state {s.state_code}"), now)
            for key, seen in self.history.items():
                if key not in present and seen[-1].state != "CLOSED":
                    seen.append(Sighting("CLOSED", now, now))  # the kernel deleted it

    def _saw(self, key: Key, state: str, now: float) -> None:
        seen = self.history.setdefault(key, [])
        if seen and seen[-1].state == state:
            seen[-1] = seen[-1]._replace(last=now)
        else:
            seen.append(Sighting(state, now, now))

    # -- reading the record -----------------------------------------------------------------

    def wait_for(self, condition: Callable[[StateRecorder], bool], timeout: float = 5.0) -> bool:
        """Wait (at most ``timeout`` seconds) until ``condition(self)`` holds; whether it did."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if condition(self):
                    return True
            if time.monotonic() > deadline or self.error is not None:
                return False
            time.sleep(max(self.interval, 0.001))

    def connections(
        self, *, local_port: int | None = None, remote_port: int | None = None
    ) -> list[Key]:
        """The connections recorded, those with the given ports if any given."""
        return [
            key
            for key in self.history
            if (local_port is None or key[2] == local_port)
            and (remote_port is None or key[4] == remote_port)
        ]

    def states_of(
        self,
        key: Key | None = None,
        *,
        local_port: int | None = None,
        remote_port: int | None = None,
    ) -> list[str]:
        """The states one connection went through, in order. Name it by its key, or by
        ports that match exactly one connection recorded."""
        if key is None:
            keys = self.connections(local_port=local_port, remote_port=remote_port)
            if len(keys) != 1:
                raise InvalidFilter(
                    f"local port {local_port}, remote port {remote_port} match {len(keys)} "
                    f"connections, not one: {keys}"
                )
            key = keys[0]
        return [s.state for s in self.history.get(key, [])]

    @staticmethod
    def seen_in_order(seen: Sequence[str], expected: Sequence[str]) -> bool:
        """Whether every state in ``seen`` appears in ``expected``, in the same order (states
        too short to be polled may be missing from ``seen``, nothing may be added).

        >>> StateRecorder.seen_in_order(["ESTABLISHED", "TIME-WAIT"],
        ...     ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"])
        True
        """
        rest = iter(expected)
        return all(any(state == e for e in rest) for state in seen)

    def __repr__(self) -> str:
        return (
            f"<StateRecorder of ports {sorted(self.ports)}: {len(self.history)} connections, "
            f"{self.polls} polls>"
        )
