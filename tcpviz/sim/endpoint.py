"""One end of a TCP connection: what a user call, an arriving segment or a timer does to it.

This module is the one place that decides what a segment means for an endpoint, following
RFC 9293 section 3.10 (event processing) state by state: OPEN, SEND, RECEIVE, CLOSE, ABORT
(3.10.1-3.10.5), SEGMENT ARRIVES (3.10.7.1 CLOSED, 3.10.7.2 LISTEN, 3.10.7.3 SYN-SENT, 3.10.7.4
the other states: the acceptability test of the four cases, RST and SYN handled with the RFC 5961
challenge ACK, the ACK checks, data, FIN) and the timeouts (3.10.8).

It is sans-IO, like h11's ``Connection``: segments in, segments and state changes out. There is
no socket and no clock: an endpoint asks for timers as data (:class:`~tcpviz.sim.clock.Timer`)
and is told when one ran out (:meth:`Endpoint.timeout`). The simulated connection and the
capture replay both call it, so they agree by construction.

Every state change is a row of the transition table fired through a
:class:`~tcpviz.model.Machine` (the extended table, with RFC 9293 3.10's RST, ABORT and user
timeout arrows), so the diagram, the table and the connection can never disagree. A segment
that fits no arrow is answered (ACK, RST) or dropped as section 3.10 says, and the
:class:`Outcome` gives the reason with its section number. A call that is not possible raises
:class:`~tcpviz.errors.InvalidOperation` and changes nothing.

Capture replay (:mod:`tcpviz.traffic`) drives the same class with real segments, one endpoint
per end: :meth:`Endpoint.receive` for each delivery, :meth:`Endpoint.emitted` for each segment
the end itself sent (its evidence: a SYN from CLOSED is its active OPEN, a FIN its CLOSE, a RST
its ABORT or an answer, and a segment that needs something to have arrived first takes that
step by the same rules, counted as implied), :meth:`Endpoint.fits` to ask whether it needs one,
:meth:`Endpoint.midway` for a capture that starts after the handshake and
:meth:`Endpoint.use_iss` for the ISS a capture shows. For the bulk of any connection, in-order
data and ACKs in ESTABLISHED, CLOSE-WAIT or FIN-WAIT-2, :meth:`Endpoint.receive` starts with
header prediction (:meth:`Endpoint.predict`, as real stacks' fast path does): a few
comparisons instead of the whole of 3.10.7.4, with the same result, which a test holds it to.
Windows up to :data:`MAX_WINDOW` (65535 << 14, RFC 7323's largest scaled window) are taken.

What is left out, on purpose: windows stay fixed (no flow or congestion control), no MSS
option, no urgent data, no security/compartment check, out-of-order segments are not held
(RFC 9293 lets a receiver drop them; it then acknowledges what it expects), and data on a SYN is
not taken (no TCP Fast Open): the sender sends it again.

Where the text of 3.10 and the table meet, the choices made:

- After a simultaneous open the other end's SYN,ACK starts one before RCV.NXT, so the four-case
  test alone would refuse it although RFC 9293 Figure 7 accepts it. Its SYN is trimmed (the
  RFC's "idealized segment that begins at RCV.NXT", as Linux does) and its ACK of our SYN moves
  SYN-RECEIVED to ESTABLISHED: the table's "rcv ACK of SYN".
- A retransmitted SYN arriving in SYN-RECEIVED is unacceptable and answered with an ACK, as the
  RFC says (Linux sends its SYN,ACK again instead); the SYN,ACK's own timer recovers.
- A new SYN in the window in SYN-RECEIVED after a passive open: 3.10.7.4 returns to LISTEN, but
  Figure 5 has no such arrow, so it gets the synchronized states' challenge ACK (RFC 5961 4.2).
- Linux's FIN-WAIT-2 timeout (profile ``LINUX``) leaves FIN-WAIT-2 by the table's only arrow to
  CLOSED there that is not a segment: ABORT, which sends a RST.

>>> server = Endpoint("server", peer="client", iss=300)
>>> _ = server.listen()
>>> out = server.receive(Segment("client", "server", seq=100, flags="SYN"))
>>> [s.label for s in out.sent], out.transitions[0].target
(['SYN,ACK seq=300 ack=101'], 'SYN-RECEIVED')
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, replace
from typing import Any

from ..errors import InvalidOperation
from ..model import Machine, Table, Transition, tcp_table
from .clock import RFC, Profile, Timer, get_profile
from .segment import Segment, _parse_flags, seq_add, seq_diff, seq_gt, seq_le, seq_lt

__all__ = ["CALLS", "MAX_WINDOW", "RESPONSES", "TCB", "Endpoint", "Outcome"]

#: The largest window a TCP can offer: 65535 shifted by the largest window scale, 14 (RFC 7323
#: 2.3). An endpoint replaying a capture uses it so that no segment a real peer could send
#: within its window is refused.
MAX_WINDOW = 65535 << 14

# The states, by their display names in the table.
CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED = "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED"
ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2 = "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"
CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT = "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"

# The table's events this module fires (checked against the table below, at import).
_EVENTS = {
    "passive": "passive OPEN",
    "active": "active OPEN",
    "send": "SEND",
    "close": "CLOSE",
    "abort": "ABORT",
    "syn": "rcv SYN",
    "syn_ack": "rcv SYN,ACK",
    "ack_of_syn": "rcv ACK of SYN",
    "fin": "rcv FIN",
    "fin_ack": "rcv FIN,ACK",
    "ack_of_fin": "rcv ACK of FIN",
    "rst": "rcv RST",
    "2msl": "timeout 2MSL",
    "user_timeout": "user timeout",
}
assert set(_EVENTS.values()) <= set(tcp_table(extended=True).events), "table events renamed"

#: The user calls an endpoint takes (RFC 9293 3.9.1: OPEN passive and active, SEND, RECEIVE,
#: CLOSE, ABORT; ``shutdown`` is CLOSE without the reset for unread data of ``close``).
CALLS: tuple[str, ...] = ("listen", "connect", "send", "read", "close", "shutdown", "abort")

#: What an endpoint did with an arriving segment (``'ok'`` for calls and timers), and what a
#: segment it sent (:meth:`Endpoint.emitted`) showed: ``'ok'`` (it proves the state the end is
#: in), ``'repeat'`` (sent before: nothing new), ``'answer'`` (a RST from an end without the
#: connection, or answering an unacceptable ACK), ``'ignored'`` (fits no state the end can be
#: in: the capture missed segments, or it is not this end's own).
RESPONSES: tuple[str, ...] = (
    "accepted",
    "ack",
    "challenge-ack",
    "rst",
    "dropped",
    "ok",
    "repeat",
    "answer",
    "ignored",
)

_SYNCHRONIZED = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)
# Header prediction (Endpoint.predict): states a segment without SYN, FIN or RST cannot move an
# end out of (their ACK arrows are for an ACK of our SYN or FIN, which these have no more to
# wait for); the flag sets it takes; the states that send data.
_PREDICTED = frozenset({ESTABLISHED, CLOSE_WAIT, FIN_WAIT_2})
_PLAIN = frozenset({frozenset({"ACK"}), frozenset({"PSH", "ACK"})})
_TALKING = frozenset({ESTABLISHED, CLOSE_WAIT})
_QUIET = frozenset({ESTABLISHED, CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT})
_MASK = 0xFFFFFFFF
_HALF = 0x80000000
_FITS = "3.10.7: it fits this state"
_ANSWERED = "3.10.7.2: a SYN,ACK from SYN-RECEIVED"
_SYN_ACK = frozenset({"SYN", "ACK"})


@dataclass(frozen=True)
class TCB:
    """The variables of RFC 9293 3.3.1 that the state machine needs (``None``: not chosen yet).

    ``snd_wnd`` and ``rcv_wnd`` stay fixed: the simulator models no flow control.
    """

    iss: int | None = None
    irs: int | None = None
    snd_una: int | None = None
    snd_nxt: int | None = None
    snd_wnd: int = 65535
    rcv_nxt: int | None = None
    rcv_wnd: int = 65535

    def as_dict(self) -> dict[str, int | None]:
        """The variables under the RFC's names: ``{'ISS': 100, 'SND.UNA': 100, ...}``."""
        return {
            "ISS": self.iss,
            "IRS": self.irs,
            "SND.UNA": self.snd_una,
            "SND.NXT": self.snd_nxt,
            "SND.WND": self.snd_wnd,
            "RCV.NXT": self.rcv_nxt,
            "RCV.WND": self.rcv_wnd,
        }


@dataclass(frozen=True)
class Outcome:
    """What one call, arriving segment or timer did to an endpoint.

    Attributes
    ----------
    end
        The endpoint's name.
    cause
        What happened: a call (``'connect'``, ``'send 5'``), a segment's label, ``'timeout 2msl'``.
    sent
        The segments it sends, in order (retransmissions carry the note ``'retransmission'``).
    transitions
        The table rows fired through its machine, in order (none, one, or two: a SYN-RECEIVED
        end that gets an ACK carrying a FIN goes to ESTABLISHED and on to CLOSE-WAIT).
    started, stopped
        Timers to start (or restart) and to stop: apply ``stopped`` first, then ``started``.
    response
        For an arriving segment one of :data:`RESPONSES`; ``'ok'`` for a call or a timer.
    reason
        One sentence, starting with its RFC section: ``'3.10.7.4: unacceptable segment, ACK sent'``.
    section
        That section number alone, e.g. ``'3.10.7.4'``.
    delivered
        Octets of data accepted for the application by this segment.
    implied
        For :meth:`Endpoint.emitted`: how many of ``transitions`` (the first ones) the segment
        shows were taken although what caused them was not seen (a SYN,ACK sent from LISTEN
        implies a SYN received); the rest are the segment's own (its CLOSE, its ABORT).
    """

    end: str
    cause: str
    sent: tuple[Segment, ...] = ()
    transitions: tuple[Transition, ...] = ()
    started: tuple[Timer, ...] = ()
    stopped: tuple[str, ...] = ()
    response: str = "ok"
    reason: str = ""
    section: str = ""
    delivered: int = 0
    implied: int = 0

    @property
    def state(self) -> str | None:
        """The state the endpoint ended in, if it changed (else ``None``)."""
        return self.transitions[-1].target if self.transitions else None


_OUTCOME_DEFAULTS = {
    f.name: f.default for f in Outcome.__dataclass_fields__.values() if f.default is not MISSING
}


class _Text:
    """A text written when first read: ``make(*args)``. A capture replay is told the cause and
    reason of every segment it hands an endpoint and reads almost none of them."""

    __slots__ = ("args", "make")

    def __init__(self, make: Any, *args: Any):
        self.make = make
        self.args = args


class _Written:
    """An :class:`Outcome` text field that may hold a :class:`_Text`, written on first read.

    Whoever reads the field (``outcome.reason``, ``==``, ``repr``, ``dataclasses.replace``)
    gets the finished string, so an Outcome looks the same whether or not it was lazy.
    """

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Any):
        self.name = name
        self.default = default

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            if self.default is MISSING:
                raise AttributeError(self.name)
            return self.default
        fields = instance.__dict__
        value = fields[self.name]
        if value.__class__ is _Text:
            value = fields[self.name] = value.make(*value.args)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # Only the dataclass's own __init__ gets here (through object.__setattr__): frozen.
        instance.__dict__[self.name] = value


for _field in ("cause", "reason"):
    setattr(Outcome, _field, _Written(_field, Outcome.__dataclass_fields__[_field].default))


def _reason(section: str, clauses: list[str]) -> str:
    reason = "; ".join(clauses)
    return f"{section}: {reason}" if section else reason


def _label(segment: Segment) -> str:
    return segment.label


def _sent(segment: Segment) -> str:
    return f"sent {segment.label}"


_new_data = object.__new__


class _Data:
    """Everything about an endpoint besides its machine: the TCB's variables and the rest.

    Mutable so that header prediction can move a sequence variable in place; everything else
    works on a copy (a :class:`_Work`) and swaps it in whole, and a snapshot is a copy.
    """

    # Slots: two per open connection of a replay, and a __dict__ each was about 1 KB and one
    # more object for the garbage collector to scan.
    __slots__ = (
        "close_pending",
        "fin_seq",
        "incarnation",
        "irs",
        "iss",
        "next_iss",
        "orphaned",
        "queued",
        "rcv_nxt",
        "rcv_wnd",
        "retries",
        "rexmit",
        "running",
        "snd_nxt",
        "snd_una",
        "snd_wnd",
        "unread",
    )

    def __init__(self, window: int, incarnation: int = 0, next_iss: int | None = None):
        # The TCB (RFC 9293 3.3.1), under the names of :class:`TCB`.
        self.iss: int | None = None
        self.irs: int | None = None
        self.snd_una: int | None = None
        self.snd_nxt: int | None = None
        self.snd_wnd: int = window
        self.rcv_nxt: int | None = None
        self.rcv_wnd: int = window
        self.unread = 0  # octets received, not yet read by the application
        self.queued = 0  # octets the application sent before the connection was ESTABLISHED
        self.close_pending = False  # CLOSE in SYN-RECEIVED with data queued (3.10.4)
        self.orphaned = False  # close() was called: no more reads (3.6.1), Linux's FIN-WAIT-2
        self.fin_seq: int | None = None  # the sequence number of our FIN, once sent
        self.rexmit: tuple[Segment, ...] = ()  # retransmission queue: not fully acknowledged
        self.retries = 0  # how many times the head of the queue was retransmitted
        self.running: frozenset[str] = frozenset()  # the timers running
        self.incarnation = incarnation  # ISSs chosen so far (each iss + incarnation * iss_step)
        self.next_iss = next_iss  # an ISS imposed for the next connection (capture replay)

    def copy(self) -> _Data:
        new = _new_data(_Data)
        new.iss = self.iss
        new.irs = self.irs
        new.snd_una = self.snd_una
        new.snd_nxt = self.snd_nxt
        new.snd_wnd = self.snd_wnd
        new.rcv_nxt = self.rcv_nxt
        new.rcv_wnd = self.rcv_wnd
        new.unread = self.unread
        new.queued = self.queued
        new.close_pending = self.close_pending
        new.orphaned = self.orphaned
        new.fin_seq = self.fin_seq
        new.rexmit = self.rexmit
        new.retries = self.retries
        new.running = self.running
        new.incarnation = self.incarnation
        new.next_iss = self.next_iss
        return new

    @property
    def tcb(self) -> TCB:
        return TCB(
            self.iss,
            self.irs,
            self.snd_una,
            self.snd_nxt,
            self.snd_wnd,
            self.rcv_nxt,
            self.rcv_wnd,
        )


def _seg(
    src: str,
    dst: str,
    seq: int,
    ack: int = 0,
    flags: str = "",
    payload: int = 0,
    window: int | None = None,
    note: str = "",
) -> Segment:
    """A segment this module makes: its numbers are valid by construction, so unchecked."""
    return Segment._trusted(src, dst, seq, ack, _parse_flags(flags), payload, window, note)


_TIMERS: dict[tuple[str, float], Timer] = {}


def _timer(name: str, after: float) -> Timer:
    """The (immutable) timer asked for, made once per name and duration."""
    key = (name, after)
    timer = _TIMERS.get(key)
    if timer is None:
        timer = Timer(name, after)
        if len(_TIMERS) < 1024:
            _TIMERS[key] = timer
    return timer


_RUNNING: dict[frozenset[str], frozenset[str]] = {}


def _timers_running(names: frozenset[str]) -> frozenset[str]:
    """One shared set per combination of timer names (at most 16): none kept per endpoint."""
    return _RUNNING.setdefault(names, names)


def _outcome(**fields: Any) -> Outcome:
    """An :class:`Outcome` from fields this module made (the frozen dataclass's checks skipped)."""
    outcome = object.__new__(Outcome)
    outcome.__dict__.update(_OUTCOME_DEFAULTS, **fields)
    return outcome


def _v(value: int | None) -> int:
    """A TCB variable in a state where it is set (the rules only read them there)."""
    assert value is not None, "a TCB variable read before it was set"
    return value


class _Work:
    """The scratch pad of one event: the changes it makes, committed only if all goes well."""

    __slots__ = (
        "cause",
        "clauses",
        "d",
        "delivered",
        "endpoint",
        "entered_from",
        "fired",
        "implied",
        "response",
        "section",
        "sent",
        "starts",
        "state",
        "stops",
    )

    def __init__(self, endpoint: Endpoint, cause: str | _Text):
        self.endpoint = endpoint
        self.d: _Data = endpoint._d.copy()
        self.cause = cause
        last = endpoint.machine.last
        self.state: str = last.target if last is not None else endpoint.machine.start
        self.entered_from: str | None = last.source if last is not None else None
        self.fired: list[Transition] = []
        self.sent: list[Segment] = []
        self.starts: dict[str, Timer] = {}
        # A dict used as an ordered set: an empty dict is not tracked by the garbage collector.
        self.stops: dict[str, None] = {}
        self.response = "ok"
        self.section = ""
        self.clauses: list[str] = []
        self.delivered = 0
        self.implied = 0  # transitions implied by what an end sent (Endpoint.emitted)

    @property
    def tcb(self) -> _Data:
        return self.d  # the TCB's variables live in the data, under the same names

    def set(self, **changes: Any) -> None:
        d = self.d
        for name, value in changes.items():
            setattr(d, name, value)

    set_tcb = set

    def go(self, key: str) -> Transition:
        """Take the table's row for event ``key`` from where this event has got to."""
        event = _EVENTS[key]
        machine = self.endpoint.machine
        for t in machine.enabled_from(self.state, self.entered_from):
            if t.event == event:
                self.fired.append(t)
                self.entered_from, self.state = self.state, t.target
                return t
        # The rules below only take arrows the table has; reaching here is a bug in them.
        raise AssertionError(f"no {event!r} arrow from {self.state} in {machine.table!r}")

    def say(self, section: str, clause: str, response: str | None = None) -> None:
        if not self.section:
            self.section = section
        self.clauses.append(clause)
        if response is not None:
            self.response = response

    def headline(self, section: str, clause: str, response: str) -> None:
        """What matters most about this event: its section leads the reason."""
        self.section = section
        self.clauses.insert(0, clause)
        self.response = response

    def start(self, name: str, after: float) -> None:
        self.starts[name] = _timer(name, after)
        self.stops.pop(name, None)
        self.d.running = _timers_running(self.d.running | {name})

    def stop(self, name: str) -> None:
        self.starts.pop(name, None)
        if name in self.endpoint._d.running:
            self.stops[name] = None
        self.d.running = _timers_running(self.d.running - {name})

    def outcome(self) -> Outcome:
        # Every field set here (no defaults merged); the reason's text written when first read.
        outcome = object.__new__(Outcome)
        outcome.__dict__.update(
            end=self.endpoint.name,
            cause=self.cause,
            sent=tuple(self.sent) if self.sent else (),
            transitions=tuple(self.fired) if self.fired else (),
            started=tuple(self.starts.values()) if self.starts else (),
            stopped=tuple(sorted(self.stops)) if self.stops else (),
            response=self.response,
            reason=_Text(_reason, self.section, self.clauses)
            if self.clauses
            else self.section and f"{self.section}: ",
            section=self.section,
            delivered=self.delivered,
            implied=self.implied,
        )
        return outcome


class Endpoint:
    """One end of a TCP connection: a TCB, a machine on the extended table, and the 3.10 rules.

    Parameters
    ----------
    name
        This end's name, written as the source of what it sends (``'client'``, an address).
    peer
        The other end's name, the destination of what it sends.
    iss
        The initial send sequence number of its first connection. RFC 9293 3.4.1 picks it from
        a clock and a secret; a fixed one keeps a lesson reproducible.
    iss_step
        How far the ISS moves on for each later connection of this end (RFC 9293 Figure 8 uses
        100: an old duplicate SYN meets a new connection numbered 100 further on).
    window
        RCV.WND (and the SND.WND it assumes of the other end); fixed.
    profile
        The timer values: :data:`~tcpviz.sim.clock.RFC` (default), ``LINUX``, or a name.
    table
        The transition table; by default the extended TCP table, whose rows include the RST,
        ABORT and user timeout arrows of section 3.10.

    Examples
    --------
    >>> client = Endpoint("client", peer="server", iss=100)
    >>> [s.label for s in client.connect().sent], client.state
    (['SYN seq=100'], 'SYN-SENT')
    >>> out = client.receive(Segment("server", "client", seq=300, ack=101, flags="SYN,ACK"))
    >>> out.reason
    '3.10.7.3: our SYN is acknowledged: ESTABLISHED, ACK sent'
    >>> client.tcb.snd_una, client.tcb.rcv_nxt
    (101, 301)
    """

    # Slots: a capture replay holds two endpoints per open connection, tens of thousands at once.
    __slots__ = ("_d", "iss_base", "iss_step", "machine", "name", "peer", "profile", "window")

    def __init__(
        self,
        name: str = "client",
        *,
        peer: str = "server",
        iss: int = 100,
        iss_step: int = 100,
        window: int = 65535,
        profile: str | Profile = RFC,
        table: Table | None = None,
    ):
        for label, value in (("iss", iss), ("iss_step", iss_step)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
                raise InvalidOperation(
                    f"{label} must be an integer from 0 to 2**32 - 1, not {value!r}"
                )
        if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= MAX_WINDOW:
            raise InvalidOperation(
                f"window must be an integer from 0 to {MAX_WINDOW} (65535 << 14, the largest "
                f"scaled window, RFC 7323), not {window!r}"
            )
        self.name: str = str(name)
        self.peer: str = str(peer)
        self.iss_base = iss
        self.iss_step = iss_step
        self.window = window
        self.profile: Profile = get_profile(profile)
        self.machine: Machine = Machine(tcp_table(extended=True) if table is None else table)
        self._d = _Data(window)

    # -- what it holds ------------------------------------------------------------------------

    @property
    def _data(self) -> _Data:
        """The data, for the simulator's connection (its copies, forks and snapshots)."""
        return self._d

    @_data.setter
    def _data(self, data: _Data) -> None:
        # Installed from outside (a twin of a connection, a fork from a snapshot): a copy of
        # its own, since header prediction moves the live data's variables in place.
        self._d = data.copy()

    @property
    def state(self) -> str:
        """The current state (the machine's)."""
        return self.machine.state

    @property
    def tcb(self) -> TCB:
        """The send and receive sequence variables."""
        return self._d.tcb

    @property
    def unread(self) -> int:
        """Octets received and acknowledged that the application has not read yet."""
        return self._d.unread

    @property
    def queued(self) -> int:
        """Octets the application sent before the connection was established, not yet sent."""
        return self._d.queued

    @property
    def retransmission_queue(self) -> tuple[Segment, ...]:
        """The segments sent and not yet fully acknowledged, oldest first."""
        return self._d.rexmit

    @property
    def timers(self) -> frozenset[str]:
        """The names of the timers it has asked to run and not stopped."""
        return self._d.running

    @property
    def quiet(self) -> bool:
        """Whether no segment without SYN, FIN or RST can change this end's state now.

        True in ESTABLISHED, CLOSE-WAIT, FIN-WAIT-2 and TIME-WAIT (their ACK arrows are for an
        ACK of our SYN or FIN, which they have no more to wait for, 3.10.7.4), unless the
        application closed with data still arriving (3.6.1: that data is answered with a RST).
        """
        return self.machine.state in _QUIET and not self._d.orphaned

    def allowed_calls(self) -> list[str]:
        """The user calls possible now, in the order of :data:`CALLS`."""
        return [call for call in CALLS if self._refusal(call) is None]

    def _refusal(self, call: str, length: int = 1) -> str | None:
        """Why ``call`` is not possible now (with its RFC section), or ``None`` if it is."""
        state, d = self.state, self._d
        if call in ("listen", "connect"):
            return None if state == CLOSED else "3.10.1: connection already exists"
        if call == "abort":
            return "3.10.5: connection does not exist" if state == CLOSED else None
        if call == "read":
            if state == CLOSED:
                return "3.10.3: connection does not exist"
            if d.orphaned:
                return "3.6.1: the application closed the connection and reads no more"
            return None if d.unread else "3.10.3: nothing received is waiting to be read"
        if call == "send":
            if state == CLOSED:
                return "3.10.2: connection does not exist"
            if state not in (LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT):
                return "3.10.2: connection closing (this end has sent its FIN)"
            if d.close_pending:
                return "3.10.2: connection closing (a CLOSE is queued)"
            free = self._send_space()
            if length > free:
                return f"only {free} octets fit in the send window of {d.tcb.snd_wnd} now"
            return None
        if call in ("close", "shutdown"):
            if state == CLOSED:
                return "3.10.4: connection does not exist"
            if state in (LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT):
                return "3.10.4: connection closing (a CLOSE is queued)" if d.close_pending else None
            return "3.10.4: connection closing (this end has sent its FIN)"
        raise InvalidOperation(f"unknown call {call!r} (must be one of {list(CALLS)})")

    def _send_space(self) -> int:
        d = self._d
        outstanding = sum(s.payload for s in d.rexmit)
        return max(0, d.tcb.snd_wnd - outstanding - d.queued)

    def _check(self, call: str, length: int = 1) -> None:
        why = self._refusal(call, length)
        if why is not None:
            raise InvalidOperation(
                f"cannot {call} in {self.state} ({why}); possible now: {self.allowed_calls()}"
            )

    # -- user calls ---------------------------------------------------------------------------

    def call(self, name: str, length: int | None = None) -> Outcome:
        """Make the user call ``name`` (one of :data:`CALLS`); ``length`` for send and read."""
        if name not in CALLS:
            raise InvalidOperation(
                f"unknown call {name!r} (must be one of {list(CALLS)}); "
                f"possible now: {self.allowed_calls()}"
            )
        if name == "send":
            return self.send(1 if length is None else length)
        if name == "read":
            return self.read(length)
        if length is not None:
            raise InvalidOperation(
                f"{name} takes no length (only send and read do), got {length!r}"
            )
        return getattr(self, name)()

    def listen(self) -> Outcome:
        """OPEN, passive (3.10.1): wait in LISTEN for a connection request."""
        self._check("listen")
        w = _Work(self, "listen")
        w.go("passive")
        w.say("3.10.1", "passive OPEN: waiting for a SYN")
        return self._commit(w)

    def connect(self) -> Outcome:
        """OPEN, active (3.10.1): choose an ISS, send a SYN, go to SYN-SENT."""
        self._check("connect")
        w = _Work(self, "connect")
        self._open_active(w)
        w.go("active")
        w.say("3.10.1", "active OPEN: SYN sent")
        return self._commit(w)

    def send(self, data: int | bytes | str = 1) -> Outcome:
        """SEND (3.10.2) ``data`` (a number of octets, or bytes/str whose length counts).

        In LISTEN this turns the open into an active one (the table's SEND arrow); before the
        connection is established the data is queued; after that it goes out at once as one
        segment per call.
        """
        if isinstance(data, str):
            data = data.encode()
        length = len(data) if isinstance(data, bytes | bytearray) else data
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise InvalidOperation(f"send needs at least one octet, not {data!r}")
        self._check("send", length)
        w = _Work(self, f"send {length}")
        if w.state == LISTEN:
            self._open_active(w)
            w.go("send")
            w.set(queued=w.d.queued + length)
            w.say(
                "3.10.2", f"SEND in LISTEN makes the open active: SYN sent, {length} octets queued"
            )
        elif w.state in (SYN_SENT, SYN_RECEIVED):
            w.set(queued=w.d.queued + length)
            w.say("3.10.2", f"{length} octets queued until the connection is ESTABLISHED")
        else:
            self._send_data(w, length)
            w.say("3.10.2", f"{length} octets sent")
        return self._commit(w)

    def read(self, length: int | None = None) -> Outcome:
        """RECEIVE (3.10.3): the application reads ``length`` octets (default: all unread)."""
        self._check("read")
        unread = self._d.unread
        if length is None:
            length = unread
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= unread:
            raise InvalidOperation(f"read takes 1 to {unread} octets (unread now), not {length!r}")
        w = _Work(self, f"read {length}")
        w.set(unread=unread - length)
        w.say("3.10.3", f"the application read {length} octets")
        return self._commit(w)

    def close(self) -> Outcome:
        """CLOSE (3.10.4) by an application that will read no more (the socket ``close()``).

        With received data still unread this sends a RST instead of a FIN, to show that data
        was lost (3.6.1): the table's ABORT arrow.
        """
        return self._close("close")

    def shutdown(self) -> Outcome:
        """CLOSE (3.10.4) of the sending half only (``shutdown(SHUT_WR)``): always a FIN."""
        return self._close("shutdown")

    def abort(self) -> Outcome:
        """ABORT (3.10.5): send a RST if the other end may still be talking; delete the TCB."""
        self._check("abort")
        w = _Work(self, "abort")
        self._abort(w)
        return self._commit(w)

    @classmethod
    def midway(
        cls,
        name: str,
        *,
        peer: str,
        state: str,
        snd_nxt: int,
        rcv_nxt: int,
        snd_una: int | None = None,
        window: int = 65535,
        profile: str | Profile = RFC,
        table: Table | None = None,
    ) -> Endpoint:
        """An endpoint met in the middle of a connection, as a capture that starts late sees it.

        Its machine starts in ``state`` (a synchronized state) with no history: how it got there
        is not known. ``snd_nxt`` and ``rcv_nxt`` are the numbers its segments show; ``snd_una``
        defaults to everything acknowledged, except our FIN in FIN-WAIT-1, CLOSING and LAST-ACK
        (then the FIN is the last number sent, not yet acknowledged). ISS and IRS stay unknown
        (``None``) and nothing is queued for retransmission.

        >>> end = Endpoint.midway("b", peer="a", state="ESTABLISHED", snd_nxt=9000, rcv_nxt=500)
        >>> out = end.receive(Segment("a", "b", seq=500, ack=9000, flags="FIN,ACK"))
        >>> end.state, [s.label for s in out.sent]
        ('CLOSE-WAIT', ['ACK seq=9000 ack=501'])
        """
        end = cls(name, peer=peer, window=window, profile=profile, table=table)
        start = end.machine.table.state(state)
        if start not in _SYNCHRONIZED:
            raise InvalidOperation(
                f"an endpoint can be met midway only in a synchronized state, not {state!r} "
                f"(must be one of {list(_SYNCHRONIZED)})"
            )
        for label, value in (("snd_nxt", snd_nxt), ("rcv_nxt", rcv_nxt), ("snd_una", snd_una)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32
            ):
                raise InvalidOperation(
                    f"{label} must be an integer from 0 to 2**32 - 1, not {value!r}"
                )
        fin_sent = start in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT)
        fin_outstanding = start in (FIN_WAIT_1, CLOSING, LAST_ACK)
        if snd_una is None:
            snd_una = seq_add(snd_nxt, -1) if fin_outstanding else snd_nxt
        end.machine = Machine(end.machine.table, state=start)
        d = end._d
        d.snd_una, d.snd_nxt, d.rcv_nxt = snd_una, snd_nxt, rcv_nxt
        d.fin_seq = seq_add(snd_nxt, -1) if fin_sent else None
        return end

    def use_iss(self, iss: int) -> None:
        """Make the next connection this end opens (actively, or on a SYN in LISTEN) use ``iss``.

        For replaying a capture, where the ISS is the one the capture shows. It changes no state
        and sends nothing; it applies once.
        """
        if isinstance(iss, bool) or not isinstance(iss, int) or not 0 <= iss < 2**32:
            raise InvalidOperation(f"an ISS is an integer from 0 to 2**32 - 1, not {iss!r}")
        self._d = self._d.copy()  # a snapshot taken before keeps the old value
        self._d.next_iss = iss

    # -- header prediction: the common case, cheaply ------------------------------------------

    def predict(self, seq: int, ack: int, payload: int = 0) -> bool:
        """Header prediction: take an in-order ACK or data segment cheaply, if it is one.

        For a segment with ACK and no SYN, FIN or RST (PSH does not matter), ``seq``, ``ack``
        and ``payload`` its SEG.SEQ, SEG.ACK and data length. When this end is ESTABLISHED,
        CLOSE-WAIT or FIN-WAIT-2, the segment starts exactly at RCV.NXT in an open window and
        its ACK lies between SND.UNA and SND.NXT with nothing queued for retransmission that it
        covers, the steps of 3.10.7.4 come to this (as in real stacks' fast path, e.g. Linux's
        ``tcp_rcv_established``): SND.UNA moves to SEG.ACK, the data (in ESTABLISHED and
        FIN-WAIT-2) moves RCV.NXT on, and no state changes. Then it is applied and ``True``
        returned; otherwise nothing changes and ``False`` says to call :meth:`receive`.
        :meth:`receive` itself starts here, so both give the same result (a test holds them
        to it against the step-by-step path); this one builds no :class:`Outcome` and sends
        nothing, for a capture replay that needs neither (the reply would be an ACK).
        """
        d = self._d
        state = self.machine.state
        if state not in _PREDICTED or seq != d.rcv_nxt or not d.rcv_wnd:
            return False
        una = d.snd_una
        if ack != una:
            advance = (ack - una) & _MASK  # type: ignore[operator]
            if d.rexmit or advance >= _HALF or advance > ((d.snd_nxt - una) & _MASK):  # type: ignore[operator]
                return False  # old, not yet sent, or it acknowledges what is queued
            d.snd_una = ack
        if payload:
            if d.orphaned:
                return False  # data after close(): 3.6.1's RST (the long way)
            if state != CLOSE_WAIT:
                d.rcv_nxt = (seq + payload) & _MASK
                d.unread += payload
        return True

    def _receive_predicted(self, segment: Segment) -> Outcome | None:
        """:meth:`predict`, with the :class:`Outcome` the long way would give."""
        una = self._d.snd_una
        state = self.machine.state
        seq, ack, payload = segment.seq, segment.ack, segment.payload
        if not self.predict(seq, ack, payload):
            return None
        d = self._d
        clauses = []
        response = "ok"
        sent: tuple[Segment, ...] = ()
        delivered = 0
        if ack != una:
            clauses.append(f"acknowledges up to {ack}")
            response = "accepted"
        if payload and state != CLOSE_WAIT:
            clauses.append(f"{payload} octets of data accepted, ACK sent")
            response = "accepted"
            delivered = payload
            sent = (_seg(self.name, segment.src, d.snd_nxt, d.rcv_nxt, "ACK", window=self.window),)  # type: ignore[arg-type]
        elif payload:
            clauses.append(f"data after the other end's FIN is ignored ({state})")
        if response == "ok":
            clauses.append("nothing new in it (a duplicate ACK): ignored")
            response = "dropped"
        return Outcome(
            end=self.name,
            cause=segment.label,
            sent=sent,
            response=response,
            reason="3.10.7.4: " + "; ".join(clauses),
            section="3.10.7.4",
            delivered=delivered,
        )

    def emitted_predicted(self, seq: int, ack: int, payload: int = 0) -> bool:
        """Header prediction for :meth:`emitted`: a segment this end sent, if it changes nothing.

        For a segment with ACK and no SYN, FIN or RST sent by an end in ESTABLISHED or
        CLOSE-WAIT (data, or a pure ACK), or a pure ACK sent from any other synchronized state
        (FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK, TIME-WAIT), which only moves SND.NXT past
        its data and RCV.NXT to its ACK: applied, ``True``. Otherwise nothing changes and
        ``False`` says to call :meth:`emitted`, which starts here too.
        """
        state = self.machine.state
        if state not in _TALKING and (payload or state not in _SYNCHRONIZED):
            return False
        d = self._d
        end = (seq + payload) & _MASK
        if 0 < ((end - d.snd_nxt) & _MASK) < _HALF:  # type: ignore[operator]
            d.snd_nxt = end
        if 0 < ((ack - d.rcv_nxt) & _MASK) < _HALF:  # type: ignore[operator]
            d.rcv_nxt = ack
        return True

    # -- what this end sent: its own evidence, for a capture replay ---------------------------

    def fits(self, segment: Segment) -> bool:
        """Whether this end, in its state now, sends ``segment`` without receiving anything first.

        Its own calls count (a SYN from CLOSED is an active OPEN, a FIN from ESTABLISHED a
        CLOSE, a RST an ABORT or an answer): ``False`` means some segment must have arrived
        before it was sent (a SYN,ACK from LISTEN needs a SYN), which :meth:`emitted` would
        take as implied.
        """
        state = self.machine.state
        if segment.has("RST"):
            return True
        if segment.has("SYN"):
            if segment.has("ACK"):
                return state == SYN_RECEIVED
            return state in (CLOSED, SYN_SENT)
        if segment.has("FIN"):
            # Not SYN-RECEIVED: an application closes a connection it has accepted, and accept()
            # returns it ESTABLISHED (3.10.4's CLOSE in SYN-RECEIVED is for one no one holds).
            return state in (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK)
        if segment.payload:
            return state in _TALKING
        return state in _SYNCHRONIZED

    def emitted(self, segment: Segment) -> Outcome:
        """This end sent ``segment`` (a capture shows it): bring the endpoint into line with it.

        The sender's evidence, for a capture replay where the real end is known only by what it
        sends. A SYN from CLOSED is its active OPEN, with the SYN's sequence number as ISS; a
        FIN is its CLOSE; a RST in a connection is its ABORT, while a RST from CLOSED or LISTEN,
        or from SYN-SENT (answering an unacceptable ACK, 3.10.7.3), is an answer that changes
        nothing. Where the segment needs something to have arrived first (a SYN,ACK from LISTEN:
        a SYN; data from SYN-RECEIVED: the ACK of its SYN; a new SYN from a synchronized state:
        it had dropped the connection), that step is taken along the table by the same rules as
        :meth:`receive`, from the segment the evidence implies, and counted in
        :attr:`Outcome.implied`. SND.NXT follows what it sent; RCV.NXT follows its ACK (what it
        had received). Every state change is a table row fired through :attr:`machine`.
        """
        if not isinstance(segment, Segment):
            raise InvalidOperation(f"emitted takes a Segment, not {type(segment).__name__}")
        flags = segment.flags
        if flags in _PLAIN and self.emitted_predicted(segment.seq, segment.ack, segment.payload):
            return _outcome(
                end=self.name, cause=_Text(_sent, segment), reason=_FITS, section="3.10.7"
            )
        if flags == _SYN_ACK and self.machine.state == SYN_RECEIVED and segment.seq == self._d.iss:
            # The SYN,ACK it sent on the SYN it got (this end already holds it as sent).
            return _outcome(
                end=self.name, cause=_Text(_sent, segment), reason=_ANSWERED, section="3.10.7.2"
            )
        w = _Work(self, _Text(_sent, segment))
        if "RST" in flags:
            self._emitted_rst(w, segment)
        elif "SYN" in flags:
            self._emitted_syn(w, segment)
        else:
            self._emitted_other(w, segment)
        if w.response == "ok" and "ACK" in flags and w.state not in (CLOSED, LISTEN, SYN_SENT):
            nxt = w.d.rcv_nxt
            if nxt is None or seq_gt(segment.ack, nxt):
                w.set(rcv_nxt=segment.ack)
        if w.response == "ok" and w.d.snd_nxt is not None and seq_gt(segment.end, w.d.snd_nxt):
            w.set(snd_nxt=segment.end)
        return self._commit(w)

    def _implied(self, w: _Work, step: Any, *args: Any) -> None:
        """Take a step the evidence implies (a delivery, a call): its transitions are implied."""
        step(w, *args)
        w.implied = len(w.fired)

    def _emitted_rst(self, w: _Work, seg: Segment) -> None:
        state = w.state
        if state in (CLOSED, LISTEN):
            section = "3.10.7.1" if state == CLOSED else "3.10.7.2"
            w.say(section, f"a RST from {state}: the answer of an end with no connection", "answer")
        elif state == SYN_SENT:
            w.say(
                "3.10.7.3",
                "a RST from SYN-SENT answers an ACK that is not for its SYN (an ABORT there "
                "sends nothing): the state does not change",
                "answer",
            )
        elif state in _SYNCHRONIZED and seg.seq != w.d.snd_nxt:
            w.say(
                "3.10.5",
                f"a RST with sequence number {seg.seq}, not this end's SND.NXT "
                f"({w.d.snd_nxt}): not its own ABORT but a forged or old RST, as RFC 5961 warns",
                "ignored",
            )
        else:
            w.go("abort")
            self._delete_tcb(w)
            w.say("3.10.5", "its RST is an ABORT: TCB deleted")

    def _emitted_syn(self, w: _Work, seg: Segment) -> None:
        state = w.state
        if "ACK" in seg.flags:
            if state == SYN_RECEIVED:
                d = w.d
                if seg.seq != d.iss and d.snd_una == d.iss:
                    # The ISS was chosen before the capture showed it: take the real one.
                    w.set(iss=seg.seq, snd_una=seg.seq, snd_nxt=seq_add(seg.seq, 1))
                    w.set(
                        rexmit=tuple(
                            replace(q, seq=seg.seq) if q.has("SYN") else q for q in d.rexmit
                        )
                    )
                w.say("3.10.7.2", _ANSWERED.partition(": ")[2])
                return
            # It answered a SYN the capture did not show: received first, by the same rules.
            syn = _seg(self.peer, self.name, seq_add(seg.ack, -1), flags="SYN", window=self.window)
            w.set(next_iss=seg.seq)
            if state == CLOSED:
                w.go("passive")
                state = LISTEN
            if state == LISTEN:
                self._implied(w, self._arrive_listen, syn)
            elif state == SYN_SENT and seg.seq == w.d.iss:
                self._implied(w, self._arrive_syn_sent, syn)
            else:
                w.set(next_iss=None)
                w.say("3.10.7", f"a SYN,ACK does not fit {state}: segments were missed", "ignored")
                return
            w.clauses.clear()
            w.response = "ok"
            w.say("3.10.7.2", f"its SYN,ACK shows it received a SYN first: {w.state}")
            return
        if state == SYN_SENT:
            if seg.seq == w.d.iss:
                w.say("3.10.7.3", "its SYN again (a retransmission)", "repeat")
            else:
                w.say(
                    "3.5",
                    f"a SYN with ISS {seg.seq} while its SYN with {w.d.iss} is unanswered: an "
                    "old duplicate of an earlier connection (Figure 8), not its own",
                    "ignored",
                )
            return
        if state != CLOSED:
            # A new SYN from an end that still had a connection: it dropped it without a
            # segment on the wire (a reboot, a crash, a lost RST). Implied: the table's ABORT.
            self._implied(w, self._drop_quietly)
        w.set(next_iss=seg.seq)
        self._open_active(w)
        w.go("active")
        w.say("3.10.1", "its SYN is an active OPEN")

    def _drop_quietly(self, w: _Work) -> None:
        w.go("abort")
        self._delete_tcb(w)

    def _emitted_other(self, w: _Work, seg: Segment) -> None:
        state = w.state
        fin = "FIN" in seg.flags
        if state in (SYN_SENT, LISTEN, SYN_RECEIVED):
            if "ACK" not in seg.flags:
                w.say("3.10.7", f"a segment without ACK does not fit {state}", "ignored")
                return
            # Synchronized: it received what made it so (SYN,ACK; SYN and ACK of SYN).
            if state == LISTEN:
                syn = _seg(self.peer, self.name, seq_add(seg.ack, -1), flags="SYN")
                w.set(next_iss=seq_add(seg.seq, -1))
                self._implied(w, self._arrive_listen, syn)
                state = w.state
            if state == SYN_SENT:
                synack = _seg(
                    self.peer, self.name, seq_add(seg.ack, -1), _v(w.d.snd_nxt), "SYN,ACK"
                )
                self._implied(w, self._arrive_syn_sent, synack)
            else:
                ack = _seg(self.peer, self.name, _v(w.d.rcv_nxt), _v(w.d.snd_nxt), "ACK")
                self._implied(w, self._arrive_synchronized, ack)
            w.clauses.clear()
            w.response = "ok"
            w.say("3.10.7", f"its segment shows it synchronized first: {w.state}")
            state = w.state
            if state not in _SYNCHRONIZED:
                w.say("3.10.7", "the implied segments did not synchronize it", "ignored")
                return
        if fin:
            if state in (ESTABLISHED, CLOSE_WAIT):
                w.set(snd_nxt=seq_add(seg.seq, seg.payload))
                self._send_fin(w)
                w.go("close")
                w.say("3.10.4", f"its FIN is a CLOSE: {w.state}")
            elif state in (FIN_WAIT_1, CLOSING, LAST_ACK):
                w.say("3.10.4", "its FIN again", "repeat")
            else:
                w.say("3.10.4", f"a FIN does not fit {state}: segments were missed", "ignored")
            return
        if state not in _SYNCHRONIZED:
            w.say("3.10.7", f"a segment does not fit {state}: segments were missed", "ignored")
        elif seg.payload and state not in _TALKING:
            w.say("3.10.2", f"data after this end's FIN ({state})", "ignored")
        else:
            w.say("3.10.7", _FITS.partition(": ")[2])

    # -- timers -------------------------------------------------------------------------------

    def timeout(self, name: str) -> Outcome:
        """The timer ``name`` (one it asked for and did not stop) ran out."""
        if name not in self._d.running:
            raise InvalidOperation(
                f"timer {name!r} of {self.name} is not running (running: {sorted(self._d.running)})"
            )
        w = _Work(self, f"timeout {name}")
        w.d.running = _timers_running(w.d.running - {name})
        if name == "retransmit":
            self._retransmit(w)
        elif name == "user-timeout":
            w.say("3.10.8", "user timeout: what we sent was not acknowledged in time; aborted")
            w.go("user_timeout")
            self._delete_tcb(w)
        elif name == "2msl":
            w.say("3.10.8", "2MSL timeout: no old segment can still be around; TCB deleted")
            w.go("2msl")
            self._delete_tcb(w)
        else:  # "fin-wait-2", Linux's tcp_fin_timeout for an end that called close()
            w.say(
                "3.10.5",
                f"Linux tcp_fin_timeout: {self.profile.fin_wait_2:g} s in FIN-WAIT-2 after "
                "close(); the TCB is deleted by the table's ABORT arrow, with its RST (Linux "
                "sends one from the full socket, and deletes silently from its TIME-WAIT form)",
            )
            self._abort(w)
        return self._commit(w)

    def _retransmit(self, w: _Work) -> None:
        d, profile = w.d, self.profile
        if not d.rexmit:  # cannot happen: the timer stops when the queue empties
            w.say("RFC 6298 5.2", "nothing left to retransmit")
            return
        head = d.rexmit[0]
        done = d.retries  # retransmissions of the head so far
        if "SYN" in head.flags and "ACK" not in head.flags and profile.syn_waits is not None:
            limit: int | None = len(profile.syn_waits) - 1
        elif head.has("SYN") and profile.synack_retransmissions is not None:
            limit = profile.synack_retransmissions
        else:
            limit = profile.max_retransmissions
        if limit is not None and done >= limit:
            w.say(
                "3.10.8",
                f"{head.flag_text} retransmitted {done} times without an acknowledgement: "
                "the connection is abandoned (user timeout)",
            )
            w.go("user_timeout")
            self._delete_tcb(w)
            return
        again = head
        if "ACK" in head.flags and d.tcb.rcv_nxt is not None:
            again = replace(head, ack=d.tcb.rcv_nxt)  # acknowledge what has arrived since
        w.sent.append(replace(again, note="retransmission"))
        w.set(retries=done + 1)
        w.start("retransmit", self._wait(head, done + 1))
        w.say(
            "RFC 6298 5.4",
            f"retransmission timeout: the oldest unacknowledged segment ({head.flag_text}) "
            f"sent again, next wait {self._wait(head, done + 1):g} s",
        )

    def _wait(self, segment: Segment, retransmissions: int) -> float:
        """How long to wait for the ACK of ``segment`` after that many retransmissions."""
        waits = self.profile.syn_waits
        if waits is not None and "SYN" in segment.flags and "ACK" not in segment.flags:
            return waits[min(retransmissions, len(waits) - 1)]
        return self.profile.rto(retransmissions)

    # -- segment arrives ----------------------------------------------------------------------

    def receive(self, segment: Segment) -> Outcome:
        """SEGMENT ARRIVES (3.10.7): what ``segment`` does to this end.

        Returns the :class:`Outcome`: the segments sent in reply, the transitions fired, the
        timers, and what was done with the segment (``response``) and why (``reason``).
        """
        if not isinstance(segment, Segment):
            raise InvalidOperation(f"receive takes a Segment, not {type(segment).__name__}")
        if segment.flags in _PLAIN and self.machine.state in _PREDICTED:
            outcome = self._receive_predicted(segment)
            if outcome is not None:
                return outcome
        return self._receive(segment)

    def _receive(self, segment: Segment) -> Outcome:
        """SEGMENT ARRIVES the long way, through every step of 3.10.7."""
        w = _Work(self, _Text(_label, segment))
        if w.state == CLOSED:
            self._arrive_closed(w, segment)
        elif w.state == LISTEN:
            self._arrive_listen(w, segment)
        elif w.state == SYN_SENT:
            self._arrive_syn_sent(w, segment)
        else:
            self._arrive_synchronized(w, segment)
        return self._commit(w)

    def _reply(
        self, w: _Work, to: Segment, flags: str, seq: int, ack: int = 0, note: str = ""
    ) -> None:
        w.sent.append(_seg(self.name, to.src, seq, ack, flags, window=self.window, note=note))

    def _arrive_closed(self, w: _Work, seg: Segment) -> None:
        if seg.has("RST"):
            w.say("3.10.7.1", "no connection: an arriving RST is discarded", "dropped")
        elif seg.has("ACK"):
            self._reply(w, seg, "RST", seg.ack)
            w.say("3.10.7.1", "no connection here: RST sent (seq = the segment's ACK)", "rst")
        else:
            self._reply(w, seg, "RST,ACK", 0, seq_add(seg.seq, seg.length))
            w.say("3.10.7.1", "no connection here: RST sent (acknowledging the segment)", "rst")

    def _arrive_listen(self, w: _Work, seg: Segment) -> None:
        if seg.has("RST"):
            w.say("3.10.7.2", "a RST in LISTEN is ignored", "dropped")
        elif seg.has("ACK"):
            self._reply(w, seg, "RST", seg.ack)
            w.say("3.10.7.2", "nothing was sent that an ACK could acknowledge: RST sent", "rst")
        elif seg.has("SYN"):
            iss = self._next_iss(w)
            rcv_nxt = seq_add(seg.seq, 1)
            w.set_tcb(iss=iss, irs=seg.seq, rcv_nxt=rcv_nxt, snd_una=iss, snd_nxt=seq_add(iss, 1))
            self._queue(w, _seg(self.name, seg.src, iss, rcv_nxt, "SYN,ACK", window=self.window))
            w.go("syn")
            w.say("3.10.7.2", "a connection request: SYN,ACK sent", "accepted")
            if seg.payload:
                w.say("3.10.7.2", "the data on the SYN is not taken (no TCP Fast Open)")
        else:
            w.say("3.10.7.2", "neither SYN, ACK nor RST: discarded", "dropped")

    def _arrive_syn_sent(self, w: _Work, seg: Segment) -> None:
        tcb = w.tcb
        ack_ok = False
        if seg.has("ACK"):
            if seq_le(seg.ack, _v(tcb.iss)) or seq_gt(seg.ack, _v(tcb.snd_nxt)):
                if seg.has("RST"):
                    w.say("3.10.7.3", "a RST whose ACK is not for our SYN: discarded", "dropped")
                else:
                    self._reply(w, seg, "RST", seg.ack)
                    w.say(
                        "3.10.7.3",
                        f"the ACK ({seg.ack}) is not for our SYN ({_v(tcb.iss)}): RST sent",
                        "rst",
                    )
                return
            ack_ok = True
        if seg.has("RST"):
            if ack_ok:
                w.go("rst")
                self._delete_tcb(w)
                w.say("3.10.7.3", "connection refused: the RST acknowledges our SYN", "accepted")
            else:
                w.say(
                    "3.10.7.3",
                    "a RST without ACK (it does not acknowledge our SYN): discarded",
                    "dropped",
                )
            return
        if not seg.has("SYN"):
            w.say("3.10.7.3", "neither SYN nor RST: discarded", "dropped")
            return
        rcv_nxt = seq_add(seg.seq, 1)
        w.set_tcb(irs=seg.seq, rcv_nxt=rcv_nxt)
        if ack_ok:
            self._acknowledged(w, seg.ack)
            w.go("syn_ack")
            self._reply(w, seg, "ACK", _v(w.tcb.snd_nxt), rcv_nxt)
            w.say("3.10.7.3", "our SYN is acknowledged: ESTABLISHED, ACK sent", "accepted")
            self._established(w)
        else:
            # Simultaneous open: the other end's SYN crossed ours. We answer SYN,ACK with our
            # ISS again, and that SYN,ACK replaces the SYN in the retransmission queue.
            synack = _seg(self.name, seg.src, _v(tcb.iss), rcv_nxt, "SYN,ACK", window=self.window)
            w.set(rexmit=(synack, *w.d.rexmit[1:]))
            w.sent.append(synack)
            w.go("syn")
            w.say(
                "3.10.7.3",
                "simultaneous open: the other end's SYN crossed ours; SYN,ACK sent",
                "accepted",
            )

    def _acceptable(self, seg: Segment, tcb: TCB | _Data) -> bool:
        """The four cases of RFC 9293 3.10.7.4's sequence number check."""
        nxt, wnd, seq, length = _v(tcb.rcv_nxt), tcb.rcv_wnd, seg.seq, seg.length
        # RCV.NXT =< n < RCV.NXT+RCV.WND on the circle is (n - RCV.NXT) mod 2**32 < RCV.WND,
        # for any window up to 2**31 (MAX_WINDOW is below it).
        if length == 0:
            return seq == nxt if wnd == 0 else ((seq - nxt) & _MASK) < wnd
        if wnd == 0:
            return False
        return ((seq - nxt) & _MASK) < wnd or ((seq + length - 1 - nxt) & _MASK) < wnd

    def _arrive_synchronized(self, w: _Work, seg: Segment) -> None:
        tcb, section = w.tcb, "3.10.7.4"
        flags = seg.flags
        old_syn = closed_window = False
        # First, the sequence number. After a simultaneous open the other end's SYN,ACK
        # carries the SYN we already have: trimmed of it (the RFC's "idealized segment that
        # begins at RCV.NXT"), it is an acceptable ACK of our SYN (Figure 7, line 6).
        if (
            w.state == SYN_RECEIVED
            and "SYN" in flags
            and "ACK" in flags
            and "RST" not in flags
            and seg.seq == _v(tcb.irs)
        ):
            old_syn = True
        elif (
            tcb.rcv_wnd == 0
            and seg.seq == tcb.rcv_nxt
            and "SYN" not in flags
            and ("ACK" in flags or "RST" in flags)
        ):
            # "If the RCV.WND is zero, no segments will be acceptable, but special allowance
            # should be made to accept valid ACKs, URGs, and RSTs": its ACK or RST counts, its
            # data and FIN do not.
            closed_window = seg.length > 0
        elif not self._acceptable(seg, tcb):
            if "RST" in flags:
                w.say(section, "a RST outside the receive window: discarded", "dropped")
            elif w.state == TIME_WAIT and "FIN" in flags and seg.end == _v(tcb.rcv_nxt):
                self._reply(w, seg, "ACK", _v(tcb.snd_nxt), _v(tcb.rcv_nxt))
                w.start("2msl", self.profile.time_wait_duration)
                w.say(
                    section,
                    "the other end's FIN again (our ACK was lost): acknowledged again, "
                    "2MSL timer restarted",
                    "ack",
                )
            else:
                self._reply(w, seg, "ACK", _v(tcb.snd_nxt), _v(tcb.rcv_nxt))
                w.say(
                    section,
                    f"unacceptable segment (seq {seg.seq}, length {seg.length}; expected "
                    f"{_v(tcb.rcv_nxt)} within a window of {tcb.rcv_wnd}): ACK sent",
                    "ack",
                )
            return
        ahead = seq_gt(seg.seq, _v(tcb.rcv_nxt))  # out of order: starts after what we expect
        skip = 0 if ahead else seq_diff(_v(tcb.rcv_nxt), seg.seq)  # old octets at its front
        syn = int("SYN" in flags)
        new_text = 0 if ahead else max(0, seg.payload - max(0, skip - syn))
        new_fin = "FIN" in flags and not ahead and skip <= syn + seg.payload
        if closed_window:
            new_text, new_fin = 0, False

        # Second, RST (RFC 5961 3.2: only a RST exactly at RCV.NXT resets).
        if "RST" in flags:
            if seg.seq == _v(tcb.rcv_nxt):
                passive = w.state == SYN_RECEIVED and w.entered_from == LISTEN
                refused = w.state == SYN_RECEIVED and not passive
                w.go("rst")
                if passive:
                    self._back_to_listen(w)
                    w.say(section, "RST at RCV.NXT: back to LISTEN (opened passively)", "accepted")
                else:
                    self._delete_tcb(w)
                    what = "connection refused" if refused else "connection reset"
                    w.say(section, f"RST at RCV.NXT: {what}", "accepted")
            else:
                self._reply(w, seg, "ACK", _v(tcb.snd_nxt), _v(tcb.rcv_nxt), note="challenge ACK")
                w.say(
                    section,
                    f"a RST in the window but not at RCV.NXT ({_v(tcb.rcv_nxt)}): challenge ACK "
                    "sent (RFC 5961 3.2)",
                    "challenge-ack",
                )
            return

        # Fourth, SYN: in a synchronized state any SYN gets a challenge ACK (RFC 5961 4.2).
        if "SYN" in flags and not old_syn:
            self._reply(w, seg, "ACK", _v(tcb.snd_nxt), _v(tcb.rcv_nxt), note="challenge ACK")
            w.say(
                section,
                f"a SYN in {w.state}: challenge ACK sent, segment dropped (RFC 5961 4.2)",
                "challenge-ack",
            )
            if w.state == SYN_RECEIVED and w.entered_from == LISTEN:
                # 3.10.7.4 would send a passive open back to LISTEN; Figure 5 and the table
                # have no such arrow, so the synchronized states' answer is given.
                w.say(section, "the table has no SYN-RECEIVED -> LISTEN arrow for a new SYN")
            return

        # Fifth, ACK.
        if "ACK" not in flags:
            w.say(section, "no ACK bit: discarded", "dropped")
            return
        if w.state == SYN_RECEIVED:
            if not (seq_lt(_v(tcb.snd_una), seg.ack) and seq_le(seg.ack, _v(tcb.snd_nxt))):
                self._reply(w, seg, "RST", seg.ack)
                w.say(section, f"the ACK ({seg.ack}) is not for our SYN: RST sent", "rst")
                return
            self._acknowledged(w, seg.ack)
            w.go("ack_of_syn")
            w.say(section, "our SYN is acknowledged: ESTABLISHED", "accepted")
            self._established(w)
        tcb = w.tcb
        if seq_gt(seg.ack, _v(tcb.snd_nxt)):
            self._reply(w, seg, "ACK", _v(tcb.snd_nxt), _v(tcb.rcv_nxt))
            w.say(section, f"the ACK ({seg.ack}) is for something not yet sent: ACK sent", "ack")
            return
        if seq_lt(seg.ack, seq_add(_v(tcb.snd_una), -tcb.snd_wnd)):
            self._reply(w, seg, "ACK", _v(tcb.snd_nxt), _v(tcb.rcv_nxt))
            w.say(section, f"the ACK ({seg.ack}) is too old (RFC 5961 5.2): ACK sent", "ack")
            return
        advanced = seq_gt(seg.ack, _v(tcb.snd_una))
        if advanced:
            self._acknowledged(w, seg.ack)
            if not w.fired:
                w.say(section, f"acknowledges up to {seg.ack}", "accepted")
        fin_acked = w.d.fin_seq is not None and seq_gt(_v(w.tcb.snd_una), w.d.fin_seq)
        if fin_acked and w.state == FIN_WAIT_1 and not new_fin:
            w.go("ack_of_fin")
            w.say(section, "our FIN is acknowledged: FIN-WAIT-2", "accepted")
            if self.profile.fin_wait_2 is not None and w.d.orphaned:
                w.start("fin-wait-2", self.profile.fin_wait_2)
        elif fin_acked and w.state == CLOSING:
            w.go("ack_of_fin")
            self._time_wait(w)
            w.say(section, "our FIN is acknowledged: TIME-WAIT", "accepted")
        elif fin_acked and w.state == LAST_ACK:
            w.go("ack_of_fin")
            self._delete_tcb(w)
            w.say(section, "our FIN is acknowledged: CLOSED", "accepted")
            return

        # Seventh, the data; eighth, the FIN.
        if ahead and (seg.payload or "FIN" in flags):
            self._reply(w, seg, "ACK", _v(w.tcb.snd_nxt), _v(w.tcb.rcv_nxt))
            w.say(
                section,
                f"out of order (starts at {seg.seq}, {_v(w.tcb.rcv_nxt)} expected): not held, "
                "ACK sent for what is expected",
                "ack" if w.response == "ok" else None,
            )
            return
        need_ack = False
        if closed_window:
            self._reply(w, seg, "ACK", _v(w.tcb.snd_nxt), _v(w.tcb.rcv_nxt))
            w.say(section, "the receive window is zero: its data and FIN not taken, ACK sent")
            if w.response == "ok":
                w.response = "ack"
            return
        if new_text:
            if w.state in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
                if w.d.orphaned:
                    # 3.6.1: data arriving after close() is lost: tell the other end.
                    w.headline("3.6.1", "data arrived after close(): RST sent, data lost", "rst")
                    self._abort(w, quiet=True)
                    return
                w.set_tcb(rcv_nxt=seq_add(_v(w.tcb.rcv_nxt), new_text))
                w.set(unread=w.d.unread + new_text)
                w.delivered = new_text
                need_ack = True
                w.say(section, f"{new_text} octets of data accepted", "accepted")
            else:
                w.say(section, f"data after the other end's FIN is ignored ({w.state})")
        if new_fin:
            w.set_tcb(rcv_nxt=seq_add(_v(w.tcb.rcv_nxt), 1))
            need_ack = True
            if w.state == ESTABLISHED:
                w.go("fin")
                w.say(section, "the other end's FIN: CLOSE-WAIT", "accepted")
            elif w.state == FIN_WAIT_1 and fin_acked:
                w.go("fin_ack")
                self._time_wait(w)
                w.say(section, "the other end's FIN with the ACK of ours: TIME-WAIT", "accepted")
            elif w.state == FIN_WAIT_1:
                w.go("fin")
                w.say(
                    section,
                    "the other end's FIN crossed ours (simultaneous close): CLOSING",
                    "accepted",
                )
            elif w.state == FIN_WAIT_2:
                w.go("fin")
                self._time_wait(w)
                w.say(section, "the other end's FIN: TIME-WAIT", "accepted")
            elif w.state == TIME_WAIT:
                w.start("2msl", self.profile.time_wait_duration)
                w.say(section, "a FIN in TIME-WAIT: 2MSL timer restarted", "accepted")
            else:  # CLOSE-WAIT, CLOSING, LAST-ACK: "Remain in the ... state"
                w.say(section, f"a FIN again in {w.state}: the state does not change", "accepted")
        if need_ack:
            self._reply(w, seg, "ACK", _v(w.tcb.snd_nxt), _v(w.tcb.rcv_nxt))
            w.clauses[-1] += ", ACK sent"
        if w.response == "ok":
            w.say(section, "nothing new in it (a duplicate ACK): ignored", "dropped")

    # -- the pieces ---------------------------------------------------------------------------

    def _next_iss(self, w: _Work) -> int:
        iss = w.d.next_iss
        if iss is None:
            iss = seq_add(self.iss_base, w.d.incarnation * self.iss_step)
        w.set(incarnation=w.d.incarnation + 1, next_iss=None)
        return iss

    def _open_active(self, w: _Work) -> None:
        iss = self._next_iss(w)
        w.set_tcb(iss=iss, snd_una=iss, snd_nxt=seq_add(iss, 1))
        self._queue(w, _seg(self.name, self.peer, iss, 0, "SYN", window=self.window))

    def _queue(self, w: _Work, segment: Segment) -> None:
        """Send ``segment``, which occupies sequence space, and keep it until acknowledged."""
        w.sent.append(segment)
        if not w.d.rexmit:
            w.set(retries=0)
            w.start("retransmit", self._wait(segment, 0))
            if self.profile.user_timeout is not None:
                w.start("user-timeout", self.profile.user_timeout)
        w.set(rexmit=(*w.d.rexmit, segment))

    def _send_data(self, w: _Work, length: int) -> None:
        tcb = w.tcb
        self._queue(
            w,
            _seg(
                self.name,
                self.peer,
                _v(tcb.snd_nxt),
                _v(tcb.rcv_nxt),
                "PSH,ACK",
                length,
                self.window,
            ),
        )
        w.set_tcb(snd_nxt=seq_add(_v(tcb.snd_nxt), length))

    def _send_fin(self, w: _Work) -> None:
        tcb = w.tcb
        self._queue(
            w,
            _seg(
                self.name,
                self.peer,
                _v(tcb.snd_nxt),
                _v(tcb.rcv_nxt),
                "FIN,ACK",
                window=self.window,
            ),
        )
        w.set(fin_seq=_v(tcb.snd_nxt))
        w.set_tcb(snd_nxt=seq_add(_v(tcb.snd_nxt), 1))

    def _acknowledged(self, w: _Work, ack: int) -> None:
        """SND.UNA moves to ``ack``: drop what it covers from the queue, restart the timers."""
        w.set_tcb(snd_una=ack)
        if not w.d.rexmit:
            return  # nothing queued for retransmission: nothing to drop, no timer to restart
        left = tuple(s for s in w.d.rexmit if not seq_le(s.end, ack))
        if len(left) == len(w.d.rexmit):
            return
        w.set(rexmit=left, retries=0)
        if left:  # RFC 6298 5.3: restart the timer for what is still outstanding
            w.start("retransmit", self._wait(left[0], 0))
            if self.profile.user_timeout is not None:
                w.start("user-timeout", self.profile.user_timeout)
        else:  # RFC 6298 5.2: all acknowledged
            w.stop("retransmit")
            w.stop("user-timeout")

    def _established(self, w: _Work) -> None:
        """Just ESTABLISHED: send what the application queued, and a CLOSE it queued."""
        if w.d.queued:
            queued = w.d.queued
            w.set(queued=0)
            self._send_data(w, queued)
            w.say("3.10.2", f"the {queued} queued octets sent")
        if w.d.close_pending:
            w.set(close_pending=False)
            self._send_fin(w)
            w.go("close")
            w.say("3.10.4", "the queued CLOSE: FIN sent, FIN-WAIT-1")

    def _time_wait(self, w: _Work) -> None:
        for name in ("retransmit", "user-timeout", "fin-wait-2"):
            w.stop(name)
        w.start("2msl", self.profile.time_wait_duration)

    def _close(self, call: str) -> Outcome:
        self._check(call)
        w = _Work(self, call)
        state = w.state
        if call == "close":
            w.set(orphaned=True)
        if state in (LISTEN, SYN_SENT):
            w.go("close")
            self._delete_tcb(w)
            w.say("3.10.4", "CLOSE before any connection: TCB deleted")
        elif call == "close" and w.d.unread and state in (ESTABLISHED, CLOSE_WAIT):
            unread = w.d.unread
            w.say("3.6.1", f"close() with {unread} octets unread: RST sent to show data was lost")
            self._abort(w, quiet=True)
        elif state == SYN_RECEIVED and w.d.queued:
            w.set(close_pending=True)
            w.say("3.10.4", "CLOSE queued: the queued data goes first, once ESTABLISHED")
        else:
            self._send_fin(w)
            w.go("close")
            w.say("3.10.4", f"CLOSE: FIN sent, {w.state}")
        return self._commit(w)

    def _abort(self, w: _Work, *, quiet: bool = False) -> None:
        taken = w.go("abort")
        if "RST" in taken.sent:
            self._reply_rst(w)
        if not quiet:
            sent = "RST sent, " if "RST" in taken.sent else ""
            w.say("3.10.5", f"ABORT: {sent}TCB deleted")
        self._delete_tcb(w)

    def _reply_rst(self, w: _Work) -> None:
        w.sent.append(_seg(self.name, self.peer, _v(w.tcb.snd_nxt), 0, "RST", window=self.window))

    def _delete_tcb(self, w: _Work) -> None:
        for name in sorted(w.d.running):
            w.stop(name)
        w.d = _Data(self.window, w.d.incarnation, w.d.next_iss)

    def _back_to_listen(self, w: _Work) -> None:
        self._delete_tcb(w)

    # -- committing, snapshots ----------------------------------------------------------------

    def _commit(self, w: _Work) -> Outcome:
        """Fire the transitions through the machine, then keep the new data: all or nothing."""
        if len(w.fired) == 1:
            self.machine.fire(w.fired[0])
        elif w.fired:
            self.machine.run(*w.fired)  # all or nothing; observers hear of it once
        self._d = w.d
        return w.outcome()

    def _snapshot(self) -> tuple[_Data, int]:
        # A copy: header prediction moves the live data's sequence variables in place.
        return self._d.copy(), len(self.machine.history)

    def _restore(self, snapshot: tuple[_Data, int]) -> None:
        data, steps = snapshot
        self.machine.jump(steps)
        self._d = data.copy()

    def describe(self) -> dict[str, object]:
        """Everything a view shows of this end, as JSON-ready data."""
        d = self._d
        return {
            "name": self.name,
            "state": self.state,
            "tcb": d.tcb.as_dict(),
            "unread": d.unread,
            "queued": d.queued,
            "retransmission_queue": [s.label for s in d.rexmit],
            "timers": sorted(d.running),
            "calls": self.allowed_calls(),
        }

    def __repr__(self) -> str:
        return f"<Endpoint {self.name} {self.state} {self.tcb.as_dict()}>"
