"""Simulated time: the timers a connection's ends have running, and the profiles that set them.

An endpoint has no clock (sans-IO): it asks for a timer as data, ``Timer("retransmit", 1.0)``,
and the :class:`Clock` of whoever drives it (the simulated :class:`~tcpviz.sim.Connection`)
turns that into a deadline. Time moves only when asked to: :meth:`Clock.next` names the timer
that runs out first, and the driver advances to it. A ``Clock`` is immutable, so a connection's
history can keep one per step for free.

Two :class:`Profile` s give the numbers: ``RFC`` (RFC 6298 retransmission: an initial RTO of
1 s, doubling on each timeout; MSL 2 minutes so TIME-WAIT lasts 4; a 5 minute user timeout)
and ``LINUX`` (SYN retransmissions after 1, 1, 1, 1, 1, 2 and 4 s, then give up; a SYN,ACK
retransmitted 5 times; TIME-WAIT 60 s; an orphaned FIN-WAIT-2 times out after 60 s; data
retransmitted 15 times).

>>> clock = Clock().start("client", Timer("retransmit", 1.0)).start("server", Timer("2msl", 240))
>>> clock.next()
PendingTimer(end='client', name='retransmit', deadline=1.0, order=0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidOperation

__all__ = [
    "LINUX",
    "PROFILES",
    "RFC",
    "TIMERS",
    "Clock",
    "PendingTimer",
    "Profile",
    "Timer",
    "get_profile",
]

#: The timers an endpoint can ask for (RFC 9293 3.8.1 names three; Linux adds FIN-WAIT-2).
TIMERS: tuple[str, ...] = ("retransmit", "2msl", "user-timeout", "fin-wait-2")


@dataclass(frozen=True)
class Timer:
    """A timer an endpoint asks to start: its name (one of :data:`TIMERS`) and its duration (s)."""

    name: str
    after: float

    def __post_init__(self) -> None:
        if self.name not in TIMERS:
            raise InvalidOperation(f"unknown timer {self.name!r} (must be one of {list(TIMERS)})")
        if not (
            isinstance(self.after, int | float) and math.isfinite(self.after) and self.after > 0
        ):
            raise InvalidOperation(
                f"timer {self.name!r}: duration must be > 0 s, not {self.after!r}"
            )


@dataclass(frozen=True)
class PendingTimer:
    """A running timer: whose it is, which one, when it runs out; ``order`` breaks ties."""

    end: str
    name: str
    deadline: float
    order: int


@dataclass(frozen=True)
class Clock:
    """The simulated time and the timers running, ordered by deadline (then by start order)."""

    now: float = 0.0
    timers: tuple[PendingTimer, ...] = ()
    started: int = 0  # how many timers were ever started: the tie-break of equal deadlines

    def start(self, end: str, timer: Timer) -> Clock:
        """Start (or restart) ``end``'s timer ``timer.name`` to run out ``timer.after`` from now."""
        kept = tuple(t for t in self.timers if (t.end, t.name) != (end, timer.name))
        pending = PendingTimer(end, timer.name, self.now + timer.after, self.started)
        timers = tuple(sorted((*kept, pending), key=lambda t: (t.deadline, t.order)))
        return Clock(self.now, timers, self.started + 1)

    def stop(self, end: str, name: str) -> Clock:
        """Stop ``end``'s timer ``name`` (nothing happens if it is not running)."""
        kept = tuple(t for t in self.timers if (t.end, t.name) != (end, name))
        return self if len(kept) == len(self.timers) else Clock(self.now, kept, self.started)

    def stop_all(self, end: str) -> Clock:
        """Stop every timer of ``end``."""
        return Clock(self.now, tuple(t for t in self.timers if t.end != end), self.started)

    def next(self) -> PendingTimer | None:
        """The timer that runs out first, or ``None`` if none is running."""
        return self.timers[0] if self.timers else None

    def pop(self) -> tuple[PendingTimer, Clock]:
        """Advance to the first deadline: the timer that ran out and the clock after it."""
        if not self.timers:
            raise InvalidOperation("no timer is running, so there is no next timer to advance to")
        first, rest = self.timers[0], self.timers[1:]
        return first, Clock(max(self.now, first.deadline), rest, self.started)

    def remaining(self, end: str, name: str) -> float | None:
        """Seconds until ``end``'s timer ``name`` runs out, or ``None`` if it is not running."""
        for t in self.timers:
            if (t.end, t.name) == (end, name):
                return t.deadline - self.now
        return None


@dataclass(frozen=True)
class Profile:
    """The timer values of one TCP: RFC defaults or an operating system's.

    Parameters
    ----------
    name
        ``'rfc'`` or ``'linux'`` (or your own).
    initial_rto
        The first retransmission timeout (RFC 6298 2.1: 1 s).
    max_rto
        The largest RTO after doubling (RFC 6298 2.5 allows a maximum of at least 60 s).
    syn_waits
        When set, the waits after the first SYN (or SYN,ACK) and after each retransmission of
        it; when the last runs out the open is abandoned. ``None``: RTO doubling, as for data.
    max_retransmissions
        Retransmissions of one segment before the connection is abandoned (``None``: no limit
        but the user timeout).
    synack_retransmissions
        Retransmissions of a SYN,ACK before giving up (Linux ``tcp_synack_retries``, 5);
        ``None``: as ``max_retransmissions``.
    msl
        Maximum segment lifetime; TIME-WAIT lasts 2 MSL unless ``time_wait`` is set.
    time_wait
        A fixed TIME-WAIT duration (Linux: 60 s), overriding 2 MSL.
    fin_wait_2
        How long an end that called CLOSE waits in FIN-WAIT-2 for the other end's FIN
        (Linux ``tcp_fin_timeout``, 60 s); ``None``: forever, as RFC 9293 says.
    user_timeout
        How long what we sent may stay unacknowledged before the connection is aborted
        (RFC 9293 3.8.3, 3.10.8); ``None``: no user timeout.
    """

    name: str
    initial_rto: float = 1.0
    max_rto: float = 60.0
    syn_waits: tuple[float, ...] | None = None
    max_retransmissions: int | None = None
    synack_retransmissions: int | None = None
    msl: float = 120.0
    time_wait: float | None = None
    fin_wait_2: float | None = None
    user_timeout: float | None = 300.0

    @property
    def time_wait_duration(self) -> float:
        """How long TIME-WAIT lasts: ``time_wait`` if set, else 2 MSL."""
        return self.time_wait if self.time_wait is not None else 2 * self.msl

    def rto(self, retransmissions: int) -> float:
        """The RTO after ``retransmissions`` timeouts: doubled each time (RFC 6298 5.5), capped."""
        return min(self.initial_rto * 2**retransmissions, self.max_rto)


#: RFC 9293 with RFC 6298 retransmission: RTO 1 s doubling to at most 60 s, MSL 2 minutes,
#: user timeout 5 minutes (RFC 9293 3.8.3, RFC 1122 4.2.3.5 R2 for a SYN: at least 3 minutes).
RFC = Profile("rfc")

#: Linux defaults (net.ipv4.tcp_syn_retries = 6, tcp_syn_linear_timeouts = 4, tcp_synack_retries
#: = 5, TCP_TIMEWAIT_LEN 60 s, tcp_fin_timeout 60 s, tcp_retries2 = 15, TCP_RTO_MAX 120 s).
LINUX = Profile(
    "linux",
    max_rto=120.0,
    syn_waits=(1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 4.0),
    max_retransmissions=15,
    synack_retransmissions=5,
    time_wait=60.0,
    fin_wait_2=60.0,
    user_timeout=None,
)

#: The built-in profiles by name.
PROFILES: dict[str, Profile] = {"rfc": RFC, "linux": LINUX}


def get_profile(profile: str | Profile) -> Profile:
    """A :class:`Profile` given itself or its name (``'rfc'``, ``'linux'``)."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[str(profile).lower()]
    except KeyError:
        raise InvalidOperation(
            f"unknown profile {profile!r} (must be one of {sorted(PROFILES)})"
        ) from None
