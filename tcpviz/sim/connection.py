"""A simulated connection: two endpoints, the segments in flight between them, a clock, a history.

The student is the network and the applications. Each :class:`Operation` is one step: a user
call on either end (listen, connect, send, read, close, shutdown, abort), something done to a
segment in flight (deliver, drop, duplicate, delay: any of them, in any order), a segment
injected from outside (an old duplicate), or the clock advanced to the next timer. Nothing else
happens by itself: no segment arrives and no time passes unless asked. Simultaneous open and
simultaneous close are not special cases: they are what happens when two segments cross.

The whole connection (both ends, the network, the clock) has one history. :meth:`Connection.undo`,
:meth:`~Connection.redo`, :meth:`~Connection.jump` and :meth:`~Connection.reset` move through it;
an operation that is not possible raises :class:`~tcpviz.errors.InvalidOperation` and changes
nothing. Each step keeps a snapshot of what it changed (immutable data, so cheap), so a step
costs the same however long the history is.

Everything that happened is in :attr:`Connection.trace`, a list of frozen :class:`TraceEvent`
records (what was sent, delivered, dropped, duplicated, delayed; state changes; timers started,
stopped and fired), each with its step number and simulated time: enough to draw a ladder.

>>> c = Connection()
>>> for op in ["server listen", "client connect", "deliver 1", "deliver 2", "deliver 3"]:
...     _ = c.apply(op)
>>> c.states
('ESTABLISHED', 'ESTABLISHED')
>>> [e.segment.label for e in c.trace if isinstance(e, Sent)]
['SYN seq=100', 'SYN,ACK seq=300 ack=101', 'ACK seq=101 ack=301']
>>> _ = c.undo(); c.states
('ESTABLISHED', 'SYN-RECEIVED')
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import ClassVar

from .._observers import Observers
from ..errors import InvalidOperation, NothingToUndo
from ..model import Machine, Transition
from .clock import RFC, Clock, Profile, get_profile
from .endpoint import CALLS, Endpoint, Outcome, _Data
from .segment import Segment

__all__ = [
    "ACTIONS",
    "Called",
    "Connection",
    "ConnectionChange",
    "Delayed",
    "Delivered",
    "Dropped",
    "Duplicated",
    "Flight",
    "Operation",
    "Sent",
    "StateChanged",
    "TimerFired",
    "TimerStarted",
    "TimerStopped",
    "TraceEvent",
]

#: What one step can be: a user call on one end, something done to a segment in flight, a
#: segment injected from outside, or the clock advanced to the next timer.
ACTIONS: tuple[str, ...] = (*CALLS, "deliver", "drop", "duplicate", "delay", "inject", "advance")
_NETWORK = ("deliver", "drop", "duplicate", "delay")


@dataclass(frozen=True)
class Operation:
    """One step of a connection, as data; :attr:`label` is its text form, :meth:`parse` reads it.

    ``end`` names the end of a user call (or the end an injected segment goes to),
    ``segment_id`` the segment in flight a network action applies to (``None`` for deliver:
    the first in flight), ``length`` the octets of a send or a read, ``segment`` the injected one.

    >>> Operation.parse("client send 5")
    Operation(action='send', end='client', segment_id=None, length=5, segment=None)
    >>> Operation.parse("deliver 3").label
    'deliver 3'
    """

    action: str
    end: str | None = None
    segment_id: int | None = None
    length: int | None = None
    segment: Segment | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidOperation(
                f"unknown operation {self.action!r} (must be one of {list(ACTIONS)})"
            )

    @property
    def label(self) -> str:
        """The text form: ``'client connect'``, ``'deliver 3'``, ``'inject server SYN seq=90'``."""
        if self.action == "advance":
            return "advance"
        if self.action in _NETWORK:
            return self.action if self.segment_id is None else f"{self.action} {self.segment_id}"
        if self.action == "inject":
            return f"inject {self.end} {self.segment.label if self.segment else ''}".rstrip()
        return f"{self.end} {self.action}" + ("" if self.length is None else f" {self.length}")

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, text: str | Operation, ends: Iterable[str] = ("client", "server")) -> Operation:
        """Read an operation's text form (an :class:`Operation` is returned as it is)."""
        if isinstance(text, Operation):
            return text
        ends = tuple(ends)
        words = str(text).split()
        usage = (
            "expected e.g. 'client connect', 'server send 5', 'deliver 3', 'drop 2', "
            "'advance', 'inject server SYN seq=90'"
        )
        if not words:
            raise InvalidOperation(f"an empty operation ({usage})")
        head = words[0].lower()
        if head == "advance" and len(words) == 1:
            return cls("advance")
        if head in _NETWORK and len(words) <= 2:
            if len(words) == 1:
                if head != "deliver":
                    raise InvalidOperation(f"{head} needs a segment number, e.g. '{head} 3'")
                return cls(head)
            number = words[1].lstrip("#")
            if not number.isdigit():
                raise InvalidOperation(f"{text!r}: {number!r} is not a segment number ({usage})")
            return cls(head, segment_id=int(number))
        if head == "inject" and len(words) >= 3:
            to = words[1]
            if to not in ends:
                raise InvalidOperation(
                    f"{text!r}: unknown end {to!r} (must be one of {list(ends)})"
                )
            other = next((e for e in ends if e != to), to)
            return cls("inject", to, segment=Segment.parse(" ".join(words[2:]), other, to))
        if head in ends and len(words) in (2, 3):
            action = words[1].lower()
            if action not in CALLS:
                raise InvalidOperation(
                    f"{text!r}: unknown call {words[1]!r} (must be one of {list(CALLS)})"
                )
            length = None
            if len(words) == 3:
                if action not in ("send", "read") or not words[2].isdigit():
                    raise InvalidOperation(f"{text!r}: only send and read take a number of octets")
                length = int(words[2])
            return cls(action, head, length=length)
        raise InvalidOperation(f"cannot read operation {text!r} ({usage}; ends: {list(ends)})")


@dataclass(frozen=True)
class Flight:
    """A segment in the network: its stable id, when and at which step it was sent, its origin.

    ``origin`` is ``'sent'``, ``'retransmission'``, ``'duplicate'`` (a copy the network made) or
    ``'injected'`` (put in from outside, e.g. an old duplicate from an earlier connection).
    """

    id: int
    segment: Segment
    sent_at: float
    step: int
    origin: str = "sent"

    @property
    def label(self) -> str:
        """``'#3 server -> client: SYN,ACK seq=300 ack=101'``."""
        return f"#{self.id} {self.segment.src} -> {self.segment.dst}: {self.segment.label}"


# -- the trace ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceEvent:
    """Something that happened: at which step (1 = the first operation), at what time, to which end.

    Subclasses add what they are about; ``kind`` names each for JSON and for ``match``.
    """

    step: int
    time: float
    end: str
    kind: ClassVar[str] = "event"

    @property
    def text(self) -> str:
        """One line for a log: ``'t=1 client: retransmitted #2 SYN seq=100'``."""
        return f"t={self.time:g} {self.end}: {self.kind}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: ``kind``, the fields, segments and transitions as dictionaries too."""
        out: dict[str, object] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Segment):
                value = value.as_dict()
            elif isinstance(value, Transition):
                value = {
                    "source": value.source,
                    "event": value.event,
                    "target": value.target,
                    "sent": value.sent,
                    "label": value.label,
                    "section": value.section,
                }
            out[f.name] = value
        out["text"] = self.text
        return out


@dataclass(frozen=True)
class Called(TraceEvent):
    """The application at ``end`` made a user call (``'connect'``, ``'send 5'``); why it did what."""

    call: str
    reason: str
    kind: ClassVar[str] = "call"

    @property
    def text(self) -> str:
        return f"t={self.time:g} {self.end}: {self.call} ({self.reason})"


@dataclass(frozen=True)
class Sent(TraceEvent):
    """``end`` sent a segment, now in flight with id ``segment_id``."""

    segment_id: int
    segment: Segment
    retransmission: bool = False
    injected: bool = False
    kind: ClassVar[str] = "sent"

    @property
    def text(self) -> str:
        what = "injected" if self.injected else "retransmitted" if self.retransmission else "sent"
        return f"t={self.time:g} {self.end}: {what} #{self.segment_id} {self.segment.label}"


@dataclass(frozen=True)
class Delivered(TraceEvent):
    """Segment ``segment_id`` arrived at ``end``; what that end did with it, and why."""

    segment_id: int
    segment: Segment
    response: str
    reason: str
    section: str
    kind: ClassVar[str] = "delivered"

    @property
    def text(self) -> str:
        return (
            f"t={self.time:g} {self.end}: received #{self.segment_id} {self.segment.label}: "
            f"{self.response} ({self.reason})"
        )


@dataclass(frozen=True)
class Dropped(TraceEvent):
    """Segment ``segment_id``, on its way to ``end``, was lost in the network."""

    segment_id: int
    segment: Segment
    kind: ClassVar[str] = "dropped"

    @property
    def text(self) -> str:
        return f"t={self.time:g} lost #{self.segment_id} {self.segment.label} (to {self.end})"


@dataclass(frozen=True)
class Duplicated(TraceEvent):
    """The network copied segment ``segment_id`` (to ``end``); the copy is ``copy_id``."""

    segment_id: int
    segment: Segment
    copy_id: int
    kind: ClassVar[str] = "duplicated"

    @property
    def text(self) -> str:
        return f"t={self.time:g} duplicated #{self.segment_id} as #{self.copy_id}"


@dataclass(frozen=True)
class Delayed(TraceEvent):
    """Segment ``segment_id`` (to ``end``) was held back: the others in flight go first."""

    segment_id: int
    segment: Segment
    kind: ClassVar[str] = "delayed"

    @property
    def text(self) -> str:
        return f"t={self.time:g} delayed #{self.segment_id} {self.segment.label}"


@dataclass(frozen=True)
class StateChanged(TraceEvent):
    """``end`` took the table's ``transition``: from ``previous`` to ``state``."""

    previous: str
    state: str
    transition: Transition
    kind: ClassVar[str] = "state"

    @property
    def text(self) -> str:
        return (
            f"t={self.time:g} {self.end}: {self.previous} -> {self.state} ({self.transition.label})"
        )


@dataclass(frozen=True)
class TimerStarted(TraceEvent):
    """``end`` started (or restarted) its timer ``timer``, to run out at ``deadline``."""

    timer: str
    deadline: float
    kind: ClassVar[str] = "timer-start"

    @property
    def text(self) -> str:
        return (
            f"t={self.time:g} {self.end}: {self.timer} timer started, runs out at {self.deadline:g}"
        )


@dataclass(frozen=True)
class TimerStopped(TraceEvent):
    """``end`` stopped its timer ``timer`` before it ran out."""

    timer: str
    kind: ClassVar[str] = "timer-stop"

    @property
    def text(self) -> str:
        return f"t={self.time:g} {self.end}: {self.timer} timer stopped"


@dataclass(frozen=True)
class TimerFired(TraceEvent):
    """``end``'s timer ``timer`` ran out (the clock was advanced to it)."""

    timer: str
    kind: ClassVar[str] = "timer-fire"

    @property
    def text(self) -> str:
        return f"t={self.time:g} {self.end}: {self.timer} timer ran out"


@dataclass(frozen=True)
class ConnectionChange:
    """What just happened to a connection, for observers: ``action`` is ``'apply'``, ``'undo'``,
    ``'redo'``, ``'jump'`` or ``'reset'``; ``step`` the position after it; ``events`` the trace
    events the step added (``apply``, ``redo``) or took back (``undo``). :meth:`Connection.run`
    reports its steps as one ``'jump'``."""

    action: str
    step: int
    events: tuple[TraceEvent, ...] = ()
    #: The operation applied (``apply`` only), so an observer need not read the history.
    operation: Operation | None = None


Observer = Callable[["Connection", ConnectionChange], None]


# -- the connection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """Everything a step changes: restoring it restores the connection exactly."""

    ends: tuple[tuple[_Data, int], ...]
    clock: Clock
    in_flight: tuple[Flight, ...]
    next_id: int
    counts: tuple[int, int, int]  # segments put on the network, delivered, dropped


@dataclass(frozen=True)
class _Step:
    operation: Operation
    events: tuple[TraceEvent, ...]
    after: _State
    trace_end: int  # len(trace) after this step


class Connection:
    """Two :class:`~tcpviz.sim.Endpoint` s, the network between them, a clock and one history.

    Parameters
    ----------
    profile
        Timer values for both ends: ``'rfc'`` (default) or ``'linux'``, or a
        :class:`~tcpviz.sim.clock.Profile`.
    client_iss, server_iss
        Each end's first initial sequence number (RFC 9293's figures use 100 and 300).
    window
        Both ends' fixed receive window.
    names
        The two ends' names, client first.

    Examples
    --------
    >>> c = Connection()
    >>> _ = c.apply("client connect")   # nobody listens at the server
    >>> _ = c.deliver(1)
    >>> c.in_flight[0].segment.label
    'RST,ACK seq=0 ack=101'
    >>> _ = c.deliver(); c.states        # connection refused
    ('CLOSED', 'CLOSED')
    """

    def __init__(
        self,
        *,
        profile: str | Profile = RFC,
        client_iss: int = 100,
        server_iss: int = 300,
        window: int = 65535,
        names: tuple[str, str] = ("client", "server"),
    ):
        given = tuple(str(n) for n in names)
        if (
            len(given) != 2
            or given[0] == given[1]
            or not all(re.fullmatch(r"\w+", n) for n in given)
        ):
            raise InvalidOperation(f"names must be two different words, not {names!r}")
        self.profile: Profile = get_profile(profile)
        client, server = given
        self.names: tuple[str, str] = (client, server)
        self._ends: dict[str, Endpoint] = {
            client: Endpoint(
                client, peer=server, iss=client_iss, window=window, profile=self.profile
            ),
            server: Endpoint(
                server, peer=client, iss=server_iss, window=window, profile=self.profile
            ),
        }
        self._start = _State(self._end_snapshots(), Clock(), (), 1, (0, 0, 0))
        self._state = self._start
        self._steps: list[_Step] = []
        self._position = 0  # steps taken of self._steps
        self._base = 0  # the step number this connection starts at (see fork)
        self._trace: list[TraceEvent] = []
        self._observers: Observers[Connection, ConnectionChange] = Observers()

    @classmethod
    def from_operations(
        cls, operations: Iterable[str | Operation], **options: object
    ) -> Connection:
        """A new connection with ``operations`` applied in order (``options`` as for the class)."""
        connection = cls(**options)  # type: ignore[arg-type]
        for operation in operations:
            connection.apply(operation)
        return connection

    def copy(self) -> Connection:
        """An independent connection with the same options, position, history and steps to
        redo: undo, redo and new steps on either leave the other as it is.

        The steps are immutable, so this copies references only (in proportion to the
        history's length); :meth:`fork` starts one with no history, in constant time.

        >>> c = Connection.from_operations(["server listen", "client connect"])
        >>> twin = c.copy()
        >>> _ = twin.undo(); twin.states, c.states
        (('CLOSED', 'LISTEN'), ('SYN-SENT', 'LISTEN'))
        """
        machines = []
        for end in self.ends:
            machine = Machine(end.machine.table, state=end.machine.start)
            machine.run(*end.machine.history, *end.machine.future)
            machine.jump(len(end.machine.history))
            machines.append(machine)
        twin = self._twin(machines, [end._data for end in self.ends])
        twin._start, twin._state, twin._base = self._start, self._state, self._base
        twin._steps, twin._position = list(self._steps), self._position
        twin._trace = list(self._trace)
        return twin

    def fork(self, step: int | None = None) -> Connection:
        """A new connection standing where this one stands now (or stood after ``step``
        operations, undone ones included): the same options, both ends, the network and the
        clock, but no history of its own. Its steps go on counting from there (its
        :attr:`step` is ``step``, and :meth:`undo` stops there). Constant time: nothing of
        this connection is copied or changed.

        >>> c = Connection.from_operations(["server listen", "client connect"])
        >>> twin = c.fork()
        >>> _ = twin.deliver(1)
        >>> twin.states, twin.step, c.states, c.step
        (('SYN-SENT', 'SYN-RECEIVED'), 3, ('SYN-SENT', 'LISTEN'), 2)
        """
        here = self.step
        step = here if step is None else step
        total = self._base + len(self._steps)
        if isinstance(step, bool) or not isinstance(step, int) or not self._base <= step <= total:
            raise NothingToUndo(
                f"cannot fork at step {step!r}: steps run from {self._base} to {total}"
            )
        n = step - self._base
        state = self._state if step == here else self._start if n == 0 else self._steps[n - 1].after
        machines = []
        for end, (_, length) in zip(self.ends, state.ends, strict=True):
            # The machine as it stood: the state, and the arrow that led there (the table's
            # ``via`` rule and the diagram's "last" arrow need it); nothing older.
            m = end.machine
            if length:
                taken = (*m.history, *m.future)
                # The arrow that led there, and before it as many as a 'via' arrow needs: RST in
                # SYN-RECEIVED goes back to LISTEN only if SYN-RECEIVED was entered from LISTEN.
                first = length - 1
                while taken[first].via is not None and first > 0:  # bounded by the history
                    first -= 1
                machine = Machine(m.table, state=taken[first].source)
                machine.run(*taken[first:length])
            else:
                machine = Machine(m.table, state=m.start)
            machines.append(machine)
        twin = self._twin(machines, [data for data, _ in state.ends])
        twin._start = _State(
            twin._end_snapshots(), state.clock, state.in_flight, state.next_id, state.counts
        )
        twin._state = twin._start
        twin._base = step
        return twin

    def _twin(self, machines: list[Machine], data: list[_Data]) -> Connection:
        """A connection with this one's options and ends that run ``machines`` and hold
        ``data``; its history, start and state are for the caller to set.

        Built without ``__init__`` (the options are checked already): a fork is made for every
        button of every step of the widget's lookahead. An endpoint is its options, its machine
        and its immutable data, so a shallow copy with a machine of its own is independent.
        """
        twin = Connection.__new__(Connection)
        twin.profile, twin.names = self.profile, self.names
        twin._ends = {}
        for (name, mine), machine, d in zip(self._ends.items(), machines, data, strict=True):
            end = copy.copy(mine)
            end.machine, end._data = machine, d
            twin._ends[name] = end
        twin._steps, twin._position, twin._base = [], 0, 0
        twin._trace, twin._observers = [], Observers()
        return twin

    def preview(self, operation: str | Operation) -> Connection:
        """What :meth:`apply` of ``operation`` would lead to, as a :meth:`fork` that took it;
        this connection, its history and what it can redo do not change.

        Raises
        ------
        InvalidOperation
            If it is not possible now (and nothing changes).

        >>> c = Connection.from_operations(["server listen", "client connect"])
        >>> c.preview("deliver 1").states, c.states
        (('SYN-SENT', 'SYN-RECEIVED'), ('SYN-SENT', 'LISTEN'))
        """
        twin = self.fork()
        twin.apply(operation)
        return twin

    # -- where we are -------------------------------------------------------------------------

    @property
    def client(self) -> Endpoint:
        """The first end (``names[0]``)."""
        return self._ends[self.names[0]]

    @property
    def server(self) -> Endpoint:
        """The second end (``names[1]``)."""
        return self._ends[self.names[1]]

    @property
    def ends(self) -> tuple[Endpoint, Endpoint]:
        """The two endpoints, client first."""
        return self.client, self.server

    def end(self, name: str) -> Endpoint:
        """The endpoint called ``name``."""
        try:
            return self._ends[name]
        except KeyError:
            raise InvalidOperation(
                f"unknown end {name!r} (must be one of {list(self.names)})"
            ) from None

    @property
    def states(self) -> tuple[str, str]:
        """The two ends' states, client first."""
        return self.client.state, self.server.state

    @property
    def now(self) -> float:
        """The simulated time, in seconds since the start."""
        return self._state.clock.now

    @property
    def clock(self) -> Clock:
        """The clock with the timers running on both ends."""
        return self._state.clock

    @property
    def in_flight(self) -> tuple[Flight, ...]:
        """The segments in the network, in the order ``deliver`` with no number takes them."""
        return self._state.in_flight

    @property
    def counts(self) -> dict[str, int]:
        """Segments put on the network (sent, duplicated, injected), delivered, dropped, in flight."""
        total, delivered, dropped = self._state.counts
        return {
            "sent": total,
            "delivered": delivered,
            "dropped": dropped,
            "in_flight": len(self._state.in_flight),
        }

    @property
    def trace(self) -> tuple[TraceEvent, ...]:
        """Everything that happened up to the current step, oldest first.

        A new tuple each time (O(length)); a view that follows step by step reads
        :meth:`events` of the new step instead, in O(1).
        """
        return tuple(self._trace)

    def events(self, step: int | None = None) -> tuple[TraceEvent, ...]:
        """The trace events of one recorded step (default: the last one taken), in O(1); a
        step undone and not yet redone is recorded too (what :meth:`redo` would do)."""
        step = self.step if step is None else step
        first, last = self._base + 1, self._base + len(self._steps)
        if isinstance(step, bool) or not isinstance(step, int) or not first <= step <= last:
            raise NothingToUndo(f"no step {step!r}: steps recorded run from {first} to {last}")
        return self._steps[step - self._base - 1].events

    @property
    def step(self) -> int:
        """How many operations have been applied (the position in the history; a
        :meth:`fork` counts on from where it was made)."""
        return self._base + self._position

    @property
    def history(self) -> tuple[Operation, ...]:
        """The operations applied, oldest first."""
        return tuple(s.operation for s in self._steps[: self._position])

    @property
    def future(self) -> tuple[Operation, ...]:
        """The operations :meth:`redo` would apply again, next first."""
        return tuple(s.operation for s in self._steps[self._position :])

    def possible(self) -> list[Operation]:
        """Every operation possible now (sends and reads as one octet / everything unread)."""
        ops: list[Operation] = []
        for name, endpoint in self._ends.items():
            for call in endpoint.allowed_calls():
                ops.append(Operation(call, name, length=1 if call == "send" else None))
        last = self._state.in_flight[-1] if self._state.in_flight else None
        for flight in self._state.in_flight:
            actions = _NETWORK if flight is not last else _NETWORK[:-1]  # the last cannot wait
            ops.extend(Operation(a, segment_id=flight.id) for a in actions)
        if self._state.clock.timers:
            ops.append(Operation("advance"))
        return ops

    def describe(self) -> dict[str, object]:
        """The connection now, as JSON-ready data for a view."""
        return {
            "step": self.step,
            "now": self.now,
            "ends": [e.describe() for e in self.ends],
            "in_flight": [
                {
                    "id": f.id,
                    "src": f.segment.src,
                    "dst": f.segment.dst,
                    "label": f.segment.label,
                    "origin": f.origin,
                    "sent_at": f.sent_at,
                }
                for f in self._state.in_flight
            ],
            "timers": [
                {"end": t.end, "timer": t.name, "deadline": t.deadline}
                for t in self._state.clock.timers
            ],
            "possible": [op.label for op in self.possible()],
            "counts": self.counts,
        }

    # -- operations ---------------------------------------------------------------------------

    def apply(self, operation: str | Operation) -> tuple[TraceEvent, ...]:
        """Apply one operation (or its text form) and return the trace events it produced.

        Raises
        ------
        InvalidOperation
            If it is not possible now; the message lists what is. Nothing changes.
        """
        op = Operation.parse(operation, self.names)
        before = self._state
        try:
            events, after = self._perform(op)
        except BaseException:
            self._restore(before)  # whatever went wrong, the step is all or nothing
            raise
        del self._steps[self._position :]  # a new step forgets what could be redone
        self._trace.extend(events)
        self._steps.append(_Step(op, events, after, len(self._trace)))
        self._position += 1
        self._state = after
        self._notify(ConnectionChange("apply", self.step, events, op))
        return events

    def run(self, *operations: str | Operation) -> None:
        """Apply several operations; on an error none of them is kept."""
        position = self._position
        try:
            with self._observers.held():
                for op in operations:
                    self.apply(op)
        except BaseException:
            if self._position == position:
                raise  # the first one failed: nothing changed at all
            # Back to where the run started. What could be redone before it is forgotten: the
            # run's steps replaced it in both machines' histories.
            self._jump(position)
            del self._steps[position:]
            raise
        self._notify(ConnectionChange("jump", self.step))

    def listen(self, end: str) -> tuple[TraceEvent, ...]:
        """``end`` calls OPEN, passive."""
        return self.apply(Operation("listen", end))

    def connect(self, end: str) -> tuple[TraceEvent, ...]:
        """``end`` calls OPEN, active."""
        return self.apply(Operation("connect", end))

    def send(self, end: str, length: int = 1) -> tuple[TraceEvent, ...]:
        """``end``'s application sends ``length`` octets."""
        return self.apply(Operation("send", end, length=length))

    def read(self, end: str, length: int | None = None) -> tuple[TraceEvent, ...]:
        """``end``'s application reads ``length`` octets (default: all unread)."""
        return self.apply(Operation("read", end, length=length))

    def close(self, end: str) -> tuple[TraceEvent, ...]:
        """``end``'s application calls ``close()`` (a RST if data is left unread, RFC 9293 3.6.1)."""
        return self.apply(Operation("close", end))

    def shutdown(self, end: str) -> tuple[TraceEvent, ...]:
        """``end``'s application closes its sending half (always a FIN)."""
        return self.apply(Operation("shutdown", end))

    def abort(self, end: str) -> tuple[TraceEvent, ...]:
        """``end``'s application calls ABORT."""
        return self.apply(Operation("abort", end))

    def deliver(self, segment_id: int | None = None) -> tuple[TraceEvent, ...]:
        """Deliver segment ``segment_id`` (default: the first in flight) to its destination."""
        return self.apply(Operation("deliver", segment_id=segment_id))

    def drop(self, segment_id: int) -> tuple[TraceEvent, ...]:
        """Lose segment ``segment_id`` in the network."""
        return self.apply(Operation("drop", segment_id=segment_id))

    def duplicate(self, segment_id: int) -> tuple[TraceEvent, ...]:
        """Let the network copy segment ``segment_id``; the copy gets a new id."""
        return self.apply(Operation("duplicate", segment_id=segment_id))

    def delay(self, segment_id: int) -> tuple[TraceEvent, ...]:
        """Hold segment ``segment_id`` back: it moves behind the others in flight."""
        return self.apply(Operation("delay", segment_id=segment_id))

    def inject(self, to: str, segment: Segment | str) -> tuple[TraceEvent, ...]:
        """Put ``segment`` (or its label) on the network towards ``to``, e.g. an old duplicate."""
        if isinstance(segment, str):
            other = next((n for n in self.names if n != to), to)
            segment = Segment.parse(segment, other, to)
        return self.apply(Operation("inject", to, segment=segment))

    def advance(self) -> tuple[TraceEvent, ...]:
        """Advance the clock to the next timer and let it run out."""
        return self.apply(Operation("advance"))

    def _perform(self, op: Operation) -> tuple[tuple[TraceEvent, ...], _State]:
        state = self._state
        step, now = self.step + 1, state.clock.now
        work = _Scratch(state, step)
        if op.action in CALLS:
            endpoint = self.end(op.end or "")
            outcome = endpoint.call(op.action, op.length)
            work.events.append(Called(step, now, endpoint.name, outcome.cause, outcome.reason))
            self._absorb(work, endpoint, outcome)
        elif op.action in _NETWORK:
            flight = self._find(work, op.segment_id)
            index = work.in_flight.index(flight)
            dst = flight.segment.dst
            if op.action == "deliver":
                receiver = self.end(dst)
                del work.in_flight[index]
                outcome = receiver.receive(flight.segment)
                work.delivered += 1
                work.events.append(
                    Delivered(
                        step,
                        now,
                        dst,
                        flight.id,
                        flight.segment,
                        outcome.response,
                        outcome.reason,
                        outcome.section,
                    )
                )
                self._absorb(work, receiver, outcome)
            elif op.action == "drop":
                del work.in_flight[index]
                work.dropped += 1
                work.events.append(Dropped(step, now, dst, flight.id, flight.segment))
            elif op.action == "duplicate":
                copy = Flight(work.next_id, flight.segment, now, step, "duplicate")
                work.next_id += 1
                work.total += 1
                work.in_flight.insert(index + 1, copy)
                work.events.append(Duplicated(step, now, dst, flight.id, flight.segment, copy.id))
            else:
                if len(work.in_flight) < 2 or index == len(work.in_flight) - 1:
                    raise InvalidOperation(
                        f"cannot delay #{flight.id}: it is already the last in flight "
                        f"(in flight: {[f.label for f in work.in_flight]})"
                    )
                del work.in_flight[index]
                work.in_flight.append(flight)
                work.events.append(Delayed(step, now, dst, flight.id, flight.segment))
        elif op.action == "inject":
            segment = op.segment
            if (
                segment is None
                or segment.dst not in self._ends
                or segment.src not in self._ends
                or segment.src == segment.dst
            ):
                # A segment from outside still claims to come from the other end (an old
                # duplicate, a spoofed RST), so the ladder has two timelines to draw it between.
                raise InvalidOperation(
                    f"inject needs a segment from one of {list(self.names)} to the other, "
                    f"not {segment!r}"
                )
            self._put(work, segment, segment.src, origin="injected")
        else:  # advance
            if not work.clock.timers:
                raise InvalidOperation(
                    f"no timer is running, so there is nothing to advance to; possible now: "
                    f"{[o.label for o in self.possible()]}"
                )
            pending, work.clock = work.clock.pop()
            endpoint = self.end(pending.end)
            work.events.append(TimerFired(step, work.clock.now, pending.end, pending.name))
            outcome = endpoint.timeout(pending.name)
            self._absorb(work, endpoint, outcome)
        after = _State(
            self._end_snapshots(),
            work.clock,
            tuple(work.in_flight),
            work.next_id,
            (work.total, work.delivered, work.dropped),
        )
        return tuple(work.events), after

    def _find(self, work: _Scratch, segment_id: int | None) -> Flight:
        if not work.in_flight:
            raise InvalidOperation(
                f"no segment is in flight; possible now: {[o.label for o in self.possible()]}"
            )
        if segment_id is None:
            return work.in_flight[0]
        for flight in work.in_flight:
            if flight.id == segment_id:
                return flight
        raise InvalidOperation(
            f"no segment #{segment_id} in flight (in flight: {[f.label for f in work.in_flight]})"
        )

    def _put(self, work: _Scratch, segment: Segment, sender: str, *, origin: str) -> None:
        flight = Flight(work.next_id, segment, work.clock.now, work.step, origin)
        work.next_id += 1
        work.total += 1
        work.in_flight.append(flight)
        work.events.append(
            Sent(
                work.step,
                work.clock.now,
                sender,
                flight.id,
                segment,
                retransmission=origin == "retransmission",
                injected=origin == "injected",
            )
        )

    def _absorb(self, work: _Scratch, endpoint: Endpoint, outcome: Outcome) -> None:
        """Record what an endpoint did: its state changes, timers and segments."""
        name = endpoint.name
        now = work.clock.now
        for t in outcome.transitions:
            work.events.append(StateChanged(work.step, now, name, t.source, t.target, t))
        for stopped in outcome.stopped:
            if work.clock.remaining(name, stopped) is not None:
                work.clock = work.clock.stop(name, stopped)
                work.events.append(TimerStopped(work.step, now, name, stopped))
        for timer in outcome.started:
            work.clock = work.clock.start(name, timer)
            work.events.append(TimerStarted(work.step, now, name, timer.name, now + timer.after))
        for segment in outcome.sent:
            self._put(
                work,
                segment,
                name,
                origin="retransmission" if segment.note == "retransmission" else "sent",
            )

    # -- history ------------------------------------------------------------------------------

    def undo(self) -> tuple[TraceEvent, ...]:
        """Take back the last step; returns its trace events."""
        if self._position == 0:
            raise NothingToUndo("nothing to undo: the connection is at its start")
        events = self._steps[self._position - 1].events
        self._jump(self._position - 1)
        self._notify(ConnectionChange("undo", self.step, events))
        return events

    def redo(self) -> tuple[TraceEvent, ...]:
        """Apply again the step last undone; returns its trace events."""
        if self._position == len(self._steps):
            raise NothingToUndo("nothing to redo: no step was undone since the last operation")
        self._jump(self._position + 1)
        events = self._steps[self._position - 1].events
        self._notify(ConnectionChange("redo", self.step, events))
        return events

    def jump(self, step: int) -> None:
        """Go to the connection as it was after ``step`` operations (0: the start); undone steps
        stay available to :meth:`redo`."""
        first, total = self._base, self._base + len(self._steps)
        if isinstance(step, bool) or not isinstance(step, int) or not first <= step <= total:
            raise NothingToUndo(f"cannot jump to step {step!r}: steps run from {first} to {total}")
        if step == self.step:
            return
        self._jump(step - self._base)
        self._notify(ConnectionChange("jump", self.step))

    def reset(self) -> None:
        """Go back to the start and forget the history (``jump(0)`` keeps it for redo)."""
        self._jump(0)
        self._steps.clear()
        for endpoint, (_, length) in zip(self._ends.values(), self._start.ends, strict=True):
            kept = endpoint.machine.history[:length]  # a fork starts with its last arrow
            endpoint.machine.reset()
            endpoint.machine.run(*kept)
        self._notify(ConnectionChange("reset", self.step))

    def _jump(self, step: int) -> None:
        state = self._start if step == 0 else self._steps[step - 1].after
        self._restore(state)
        trace_end = 0 if step == 0 else self._steps[step - 1].trace_end
        if step < self._position:
            del self._trace[trace_end:]
        else:
            for s in self._steps[self._position : step]:
                self._trace.extend(s.events)
        self._position = step
        self._state = state

    def _restore(self, state: _State) -> None:
        for endpoint, snapshot in zip(self._ends.values(), state.ends, strict=True):
            endpoint._restore(snapshot)

    def _end_snapshots(self) -> tuple[tuple[_Data, int], ...]:
        return tuple(e._snapshot() for e in self._ends.values())

    # -- observers ----------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(connection, change)`` after every change; returns an unsubscribe."""
        return self._observers.subscribe(observer)

    def _notify(self, change: ConnectionChange) -> None:
        self._observers.notify(self, change, stacklevel=4)  # a broken view never breaks it

    def __repr__(self) -> str:
        client, server = self.states
        return (
            f"<Connection {self.names[0]} {client} / {self.names[1]} {server}, "
            f"t={self.now:g} s, {len(self.in_flight)} in flight, step {self.step}>"
        )


class _Scratch:
    """The network and clock of a step being worked out (copied, so an error leaves no trace)."""

    def __init__(self, state: _State, step: int):
        self.step = step
        self.clock = state.clock
        self.in_flight = list(state.in_flight)
        self.next_id = state.next_id
        self.total, self.delivered, self.dropped = state.counts
        self.events: list[TraceEvent] = []
