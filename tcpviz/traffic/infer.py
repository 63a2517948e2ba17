"""Infer both endpoints' RFC 9293 states from the segments of one captured connection.

Each end of the connection is a :class:`tcpviz.sim.Endpoint`, the simulator's own endpoint, and
every state change of an end comes from it: the capture decides only *when* to tell it what.
Each captured segment says two things. It is proof of its sender's state, which the sender's
endpoint takes through :meth:`~tcpviz.sim.Endpoint.emitted` (a SYN from CLOSED is an active
OPEN, a FIN a CLOSE, a RST an ABORT or an answer; SND.NXT follows what it sent and RCV.NXT its
ACK). And it is a delivery to the receiver, whose endpoint takes it through
:meth:`~tcpviz.sim.Endpoint.receive`: RFC 9293 section 3.10 (SEGMENT ARRIVES), with its
acceptability test, ACK checks and RST rules, is the endpoint's, not this module's. Every change
is a row of the extended TCP table fired through the endpoint's :class:`~tcpviz.model.Machine`,
so simulation and replay agree by construction (``EndpointStates.machine()`` replays them).
For the bulk of any capture, in-order data and ACKs on an open connection, both go through the
endpoint's header prediction (:meth:`~tcpviz.sim.Endpoint.predict`,
:meth:`~tcpviz.sim.Endpoint.emitted_predicted`), the same code the simulator's ``receive``
starts with.

What stays here is what only a capture point knows about. It sees a segment *between* the two
ends, so a delivery is held back until the receiver's own next segment shows it arrived (its
ACK covers it, or what it sends does not fit its state without it,
:meth:`~tcpviz.sim.Endpoint.fits`): in a simultaneous close each FIN crosses the other on the
wire, the FIN that is not acknowledged by the other end's FIN had not arrived, and both ends go
FIN-WAIT-1 -> CLOSING, as they really did. Where what an end sends needs a step the deliveries
did not give it (a SYN,ACK from LISTEN needs a SYN), the sender's evidence wins: its endpoint
takes the implied step by its own rules, and the step is marked inferred. A segment that the
receiver answers by retransmitting what it acknowledged was lost on the way.

Retransmissions, keep-alives and duplicates never move a state. When a segment was sent several
times before the receiver answered, the receiver took the last copy before its answer (it
answers at once): a SYN dropped by a full accept queue and retransmitted puts the server in
SYN-RECEIVED at the retransmission.

What one capture point cannot know is marked ``seen=False`` (inferred): LISTEN before the SYN,
the far side's exact transition times (a state change is dated by the segment that caused it),
whether a RST was accepted (unless the receiver's later segments say), states left by timers
that send nothing (TIME-WAIT's 2MSL, which Linux fixes at 60 s), and transitions that send
nothing (SYN-RECEIVED -> ESTABLISHED, FIN-WAIT-1 -> FIN-WAIT-2, LAST-ACK -> CLOSED).

The endpoints are given the largest window TCP allows (65535 << 14, RFC 7323) instead of the
one each end advertised: a capture point may miss the segments that moved a window, and no
segment a real peer sends within its window must be refused. A capture that starts after the
handshake meets each end with :meth:`~tcpviz.sim.Endpoint.midway` in ESTABLISHED, its sequence
variables taken from the first segments. tests/traffic/test_capture_sim.py holds replay to the
simulator's answers: every connection scenario, captured at either end, replays to its states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..model import Machine, Table, Transition, tcp_table
from ..sim import MAX_WINDOW, Endpoint, Outcome, Segment
from .decode import ACK, FIN, PSH, RST, SYN, Header

if TYPE_CHECKING:
    from .capture import CapturedSegment, Connection

__all__ = ["EndpointStates", "Inference", "StateEntry"]

CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED = (
    "CLOSED",
    "LISTEN",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
)
TIME_WAIT = "TIME-WAIT"

_MASK = 0xFFFFFFFF
_HALF = 0x80000000
_CONTROL = SYN | FIN | RST
# A receiver that never answers must not hold back deliveries without bound.
_PENDING_LIMIT = 256
# The control bits of a decoded header, as the endpoint's segments name them.
_FLAG_SETS: dict[int, frozenset[str]] = {
    bits: frozenset(
        name
        for bit, name in ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"))
        if bits & bit
    )
    for bits in range(32)
}


def _after(a: int, b: int) -> bool:
    """``a > b`` in sequence space (RFC 1982 serial arithmetic)."""
    return 0 < ((a - b) & _MASK) < _HALF


def _at_or_after(a: int, b: int) -> bool:
    return ((a - b) & _MASK) < _HALF


class StateEntry(NamedTuple):
    """One state an endpoint entered, when, and what the capture says about it.

    ``cause`` is the index of the segment (in ``Connection.segments`` order, from 1) that made
    the change, ``None`` when nothing on the wire did (LISTEN before the SYN, a 2MSL timeout).
    ``seen`` is ``True`` when a segment the endpoint itself sent proves it was in this state
    (``proof`` is that segment), ``False`` when it is inferred. ``time`` is the capture time of
    the cause (``None`` for timers the capture cannot see).
    """

    state: str
    previous: str | None
    event: str | None
    time: float | None
    cause: int | None
    seen: bool
    proof: int | None = None
    note: str = ""
    transition: Transition | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "previous": self.previous,
            "event": self.event,
            "time": self.time,
            "cause": self.cause,
            "seen": self.seen,
            "proof": self.proof,
            "note": self.note,
        }


class EndpointStates:
    """One endpoint of a captured connection: its address, role and the states it went through.

    ``endpoint`` is the :class:`~tcpviz.sim.Endpoint` that decides them; its state and sequence
    variables are read through here (``state``, ``snd_nxt``, ``rcv_nxt``...).
    """

    __slots__ = (
        "_notes",
        "address",
        "changes",
        "endpoint",
        "name",
        "port",
        "pristine",
        "role",
        "table",
    )

    def __init__(self, address: str, port: int, table: Table, peer: str = ""):
        self.address: str = address
        self.port: int = port
        self.role: str = "unknown"
        self.table: Table = table
        self.changes: list[StateEntry] = []
        self._notes: list[str] | None = None  # made on the first note: most ends have none
        #: ``address:port`` (``[address]:port`` for IPv6): the endpoint's name in its segments.
        self.name: str = _name(address, port)
        self.endpoint: Endpoint = Endpoint(self.name, peer=peer, window=MAX_WINDOW, table=table)
        self.pristine: bool = True  # nothing sent, nothing delivered yet

    @property
    def notes(self) -> list[str]:
        """What the capture shows of this end besides its states (lost segments, ignored RSTs)."""
        if self._notes is None:
            self._notes = []
        return self._notes

    @property
    def state(self) -> str:
        """The endpoint's current state."""
        return self.endpoint.machine.state

    @property
    def entered_from(self) -> str | None:
        return self.endpoint.machine.entered_from

    # The sequence variables of RFC 9293 3.3.1 as far as the capture shows them.
    @property
    def iss(self) -> int | None:
        return self.endpoint._data.iss

    @property
    def irs(self) -> int | None:
        return self.endpoint._data.irs

    @property
    def snd_nxt(self) -> int | None:
        return self.endpoint._data.snd_nxt

    @property
    def snd_una(self) -> int | None:
        return self.endpoint._data.snd_una

    @property
    def rcv_nxt(self) -> int | None:
        return self.endpoint._data.rcv_nxt

    @property
    def fin(self) -> int | None:
        """The sequence number of this end's FIN, once sent."""
        return self.endpoint._data.fin_seq

    @property
    def states(self) -> list[str]:
        """The states in order, starting with the first one known."""
        return [c.state for c in self.changes]

    def machine(self) -> Machine:
        """A :class:`~tcpviz.model.Machine` that took the same transitions (for the widgets)."""
        start = self.changes[0].state if self.changes else CLOSED
        machine = Machine(self.table, state=start)
        for change in self.changes[1:]:
            if change.transition is not None:
                machine.fire(change.transition)
        return machine

    def as_dict(self) -> dict[str, object]:
        return {
            "address": self.address,
            "port": self.port,
            "role": self.role,
            "states": [c.as_dict() for c in self.changes],
        }

    def __repr__(self) -> str:
        return f"<EndpointStates {self.address}:{self.port} {self.role} {' -> '.join(self.states)}>"


def _name(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _segment(sender: EndpointStates, receiver: EndpointStates, h: Header) -> Segment:
    """The captured segment as the endpoints take it."""
    flags = _FLAG_SETS[h.flags & 0x1F]
    return Segment._trusted(
        sender.name, receiver.name, h.seq, h.ack if "ACK" in flags else 0, flags, h.length, h.window
    )


# The notes of steps an end's own segment implies (the capture did not see what caused them).
def _implied_note(event: str, number: int) -> str:
    if event == "passive OPEN":
        return _LISTEN_NOTE
    if event == "rcv SYN":
        return "a SYN the capture did not see"
    if event == "ABORT":
        return (
            "this end sent a new SYN, so it had dropped its connection without a segment on the "
            "wire (a reboot, a crash, or a lost RST)"
        )
    return f"segment {number} shows this end synchronized; the segment that made it so was not seen"


class Inference:
    """Both endpoints' states for one connection, updated segment by segment.

    The capture module calls :meth:`add` for every segment and :meth:`finish` at the end.
    """

    __slots__ = ("connection", "endpoints", "finished", "pending", "table")

    def __init__(self, connection: Connection, table: Table | None = None):
        self.table: Table = table if table is not None else tcp_table(extended=True)
        #: The connection; ``None`` once finished, so that a connection handed on and dropped
        #: dies at once by reference counting (it holds its inference) and leaves the cyclic
        #: garbage collector nothing to find.
        self.connection: Connection | None = connection
        names = [_name(connection.addresses[i], connection.ports[i]) for i in (0, 1)]
        a = EndpointStates(connection.addresses[0], connection.ports[0], self.table, names[1])
        if connection.self_connect:
            a.role = "self"
            self.endpoints: tuple[EndpointStates, ...] = (a,)
        else:
            b = EndpointStates(connection.addresses[1], connection.ports[1], self.table, names[0])
            self.endpoints = (a, b)
        # Segments on their way to each endpoint, not yet shown to have arrived.
        self.pending: tuple[list[tuple[CapturedSegment, Header]], ...] = tuple(
            [] for _ in self.endpoints
        )
        self.finished: bool = False

    # -- the public steps ---------------------------------------------------------------------

    def add(self, segment: CapturedSegment, h: Header) -> bool:
        """Take one captured segment into account; ``True`` if some state changed."""
        if segment.kind == "new" and self.predicted(segment.sender, h):
            return False
        return self.add_unpredicted(segment, h)

    def predicted(self, sender_index: int, h: Header) -> bool:
        """Both ends' header prediction for a new segment from ``sender_index``: taken, no change.

        The bulk of any capture: data and ACKs on an open connection, nothing on its way, the
        sender's state already proven. ``False``: hand the segment to :meth:`add_unpredicted`
        (the capture point calls this first, so that it builds the segment's record only when
        it keeps it or the long way needs it).
        """
        endpoints = self.endpoints
        if len(endpoints) == 1:
            sender_index = receiver_index = 0
        else:
            receiver_index = 1 - sender_index
        flags = h.flags
        if flags & _CONTROL or not flags & ACK:
            return False
        pending = self.pending
        if pending[sender_index] or pending[receiver_index]:
            return False
        sender = endpoints[sender_index]
        changes = sender.changes
        if not changes or not changes[-1].seen:
            return False
        seq, ack, length = h.seq, h.ack, h.length
        return sender.endpoint.emitted_predicted(seq, ack, length) and endpoints[
            receiver_index
        ].endpoint.predict(seq, ack, length)

    def add_unpredicted(self, segment: CapturedSegment, h: Header) -> bool:
        """:meth:`add` for a segment :meth:`predicted` did not take (or not new)."""
        endpoints = self.endpoints
        if len(endpoints) == 1:
            sender_index = receiver_index = 0
        else:
            sender_index = segment.sender
            receiver_index = 1 - sender_index
        sender = endpoints[sender_index]
        receiver = endpoints[receiver_index]
        flags = h.flags
        before = len(sender.changes) + len(receiver.changes)
        # First what the sender's segment shows it had received, then what it shows of itself.
        if self.pending[sender_index]:
            self._flush(sender_index, segment, h)
        if segment.kind == "new":
            self._evidence(sender, receiver, segment, h)
        pending = self.pending[receiver_index]
        if not pending and not flags & _CONTROL and receiver.endpoint.quiet:
            # A segment without SYN, FIN or RST cannot move an end in these states (3.10.7.4),
            # whenever it arrives: take it in now rather than hold it back.
            if segment.kind == "new" or not self._seen_before(receiver, h):
                self._receive(receiver, segment, h, None, "")
        else:
            pending.append((segment, h))
            if len(pending) > _PENDING_LIMIT:
                self._deliver(receiver_index, [pending.pop(0)], None, "")
        return len(sender.changes) + len(receiver.changes) != before

    def settle(self) -> None:
        """Deliver what is still on its way: nothing later will show whether it arrived."""
        for index, pending in enumerate(self.pending):
            if pending:
                items = list(pending)
                pending.clear()
                self._deliver(
                    index, items, None, "no later segment of this end shows whether it arrived"
                )

    def finish(self, time: float) -> None:
        """The capture has nothing more for this connection: deliver what is still on its way."""
        if self.finished:
            return
        self.finished = True
        self.connection = None
        self.settle()
        for end in self.endpoints:
            if not end.changes:
                end.changes.append(
                    StateEntry(
                        CLOSED,
                        None,
                        None,
                        None,
                        None,
                        False,
                        note="this end never answered: no listener, a lost SYN, a filter, or "
                        "the capture missed its segments",
                    )
                )
            if end.state == TIME_WAIT and "2msl" in end.endpoint.timers:
                self._record(
                    end,
                    end.endpoint.timeout("2msl"),
                    None,
                    None,
                    note="after 2MSL (Linux: 60 s); the timer sends nothing, so the capture "
                    "cannot see it",
                )
        self._roles()

    def both_closed(self) -> bool:
        """Both ends have left the connection (CLOSED or TIME-WAIT, or LISTEN again)."""
        return all(
            e.state in (CLOSED, TIME_WAIT, LISTEN) and not e.pristine for e in self.endpoints
        ) and not any(self.pending)

    # -- recording what the endpoints did ---------------------------------------------------

    def _start(self, end: EndpointStates) -> None:
        """The first entry: CLOSED, before the capture shows anything of this end."""
        if not end.changes:
            end.changes.append(
                StateEntry(
                    end.endpoint.machine.start,
                    None,
                    None,
                    None,
                    None,
                    False,
                    note="the state before the capture shows anything",
                )
            )

    def _midway(self, end: EndpointStates, s: CapturedSegment, snd_nxt: int, rcv_nxt: int) -> None:
        """The capture starts after this end's handshake: meet it in ESTABLISHED."""
        old = end.endpoint
        end.endpoint = Endpoint.midway(
            old.name,
            peer=old.peer,
            state=ESTABLISHED,
            snd_nxt=snd_nxt & _MASK,
            rcv_nxt=rcv_nxt & _MASK,
            window=MAX_WINDOW,
            table=self.table,
        )
        end.changes.append(
            StateEntry(
                ESTABLISHED,
                None,
                None,
                s.time,
                s.number,
                False,
                note="the capture starts in the middle of this connection: it was "
                "synchronized (ESTABLISHED, or a state after it) before its first segment",
            )
        )

    def _record(
        self,
        end: EndpointStates,
        outcome: Outcome,
        s: CapturedSegment | None,
        time: float | None,
        *,
        seen: bool = False,
        note: str = "",
    ) -> None:
        """Write down the transitions ``outcome`` took: the first ``implied`` ones inferred."""
        if not outcome.transitions:
            return
        self._start(end)
        number = s.number if s is not None else None
        for i, t in enumerate(outcome.transitions):
            if i < outcome.implied:
                assert s is not None
                entry = StateEntry(
                    t.target,
                    t.source,
                    t.event,
                    None if t.event == "passive OPEN" else s.time,
                    None,
                    False,
                    None,
                    _implied_note(t.event, s.number),
                    t,
                )
            else:
                if t.event == "rcv RST":
                    why = _RST_NOTE
                elif not note and t.event == "rcv SYN" and t.source == SYN_SENT:
                    why = "a simultaneous open"
                elif not note and t.event == "ABORT" and seen:
                    why = _ABORT_NOTE
                else:
                    why = note
                entry = StateEntry(
                    t.target,
                    t.source,
                    t.event,
                    time,
                    number,
                    seen,
                    number if seen else None,
                    why,
                    t,
                )
            end.changes.append(entry)

    def _confirm(self, end: EndpointStates, segment: CapturedSegment) -> None:
        """The endpoint's own segment proves the state it is in: mark the entry seen."""
        last = end.changes[-1] if end.changes else None
        if last is not None and last.previous is None and last.state == ESTABLISHED:
            return  # the guess of a capture that starts mid-connection (CLOSE-WAIT sends too)
        if last is not None and not last.seen and last.state == end.state:
            end.changes[-1] = StateEntry(*last[:5], True, segment.number, *last[7:])

    # -- the sender's evidence --------------------------------------------------------------

    def _evidence(
        self, end: EndpointStates, peer: EndpointStates, s: CapturedSegment, h: Header
    ) -> None:
        """What a new segment sent by ``end`` proves about ``end``; the sender's evidence wins."""
        flags = h.flags
        if end.pristine and end.state == CLOSED and not end.changes and not flags & (SYN | RST):
            # No SYN from this end: the capture began after its handshake.
            self._midway(end, s, h.seq, h.ack if flags & ACK else 0)
        end.pristine = False
        was = end.state
        outcome = end.endpoint.emitted(_segment(end, peer, h))
        response = outcome.response
        if response == "answer" and was in (CLOSED, LISTEN):
            # A RST from an end with no connection: a SYN to a closed port, or a segment for a
            # connection this end no longer has (RFC 9293 3.10.7.1). It proves the state.
            self._start(end)
            last = end.changes[-1]
            if not last.seen:
                end.changes[-1] = last._replace(
                    seen=True,
                    proof=s.number,
                    note="no connection on this port: it answers with a RST (connection refused)"
                    if len(end.changes) == 1
                    else last.note,
                )
            return
        if response in ("answer", "ignored"):
            end.notes.append(f"segment {s.number}: {_said(outcome)}")
            return
        self._record(end, outcome, s, s.time, seen=True)
        if len(outcome.transitions) == outcome.implied:  # nothing of its own: it shows a state
            self._confirm(end, s)

    # -- deliveries -----------------------------------------------------------------------------

    def _flush(self, receiver_index: int, t: CapturedSegment, h: Header) -> None:
        """Deliver to ``receiver_index`` what its segment ``t`` shows it had received."""
        pending = self.pending[receiver_index]
        if not pending:
            return
        receiver = self.endpoints[receiver_index]
        if t.kind == "retransmission":
            # The receiver sends again what it sent before: whatever acknowledged that, on
            # its way to it, never arrived (lost between the capture point and the receiver).
            span = h.length + (1 if h.flags & SYN else 0) + (1 if h.flags & FIN else 0)
            sent_to = (h.seq + span) & _MASK
            keep = []
            for s, sh in pending:
                if sh.flags & ACK and not sh.flags & RST and _at_or_after(sh.ack, sent_to):
                    receiver.notes.append(
                        f"segment {s.number} was lost on its way to this end: it retransmitted "
                        f"what that segment acknowledged (segment {t.number})"
                    )
                else:
                    keep.append((s, sh))
            pending[:] = keep
        if h.flags & SYN and not h.flags & RST and any(sh.flags & RST for _, sh in pending):
            # The receiver opens anew (a SYN, or a SYN,ACK with a new ISN): the RSTs sent to it
            # before had arrived and closed what it had (RFC 9293 Figure 8: an old duplicate
            # SYN's SYN,ACK answered with a RST sends the server back to LISTEN).
            resets = [item for item in pending if item[1].flags & RST]
            pending[:] = [item for item in pending if not item[1].flags & RST]
            self._deliver(receiver_index, resets, t, "")
        if h.flags & ACK:
            # The ACK covers a segment's sequence space: it arrived. A segment that adds no
            # new sequence space (a SYN,ACK repeating its SYN in a simultaneous open, a pure
            # ACK) is not proven by it and waits (unless it is a copy of one that is).
            ack = h.ack
            top = receiver.rcv_nxt
            last = -1
            waiting = []  # SYNs this ACK does not answer: still on their way
            for i, (s, sh) in enumerate(pending):
                span = sh.length + (1 if sh.flags & SYN else 0) + (1 if sh.flags & FIN else 0)
                if not span:
                    continue
                end = (sh.seq + span) & _MASK
                if sh.flags & SYN and not sh.flags & ACK:
                    # The ACK of a SYN names exactly that SYN: another one (an old duplicate,
                    # another ISN) has not arrived, whatever comes before or after it.
                    if ack == end:
                        last = i
                        if top is None or _after(end, top):
                            top = end
                    else:
                        waiting.append(i)
                    continue
                fresh = top is None or _after(end, top)
                if fresh:
                    top = end
                if _at_or_after(ack, end) and (fresh or s.kind != "new"):
                    last = i
            if last >= 0:
                items = [item for i, item in enumerate(pending[: last + 1]) if i not in waiting]
                rest = [pending[i] for i in waiting if i <= last] + pending[last + 1 :]
                pending[:] = rest
                self._deliver(receiver_index, items, t, "")
        # Pending RSTs before a segment that is not itself a RST: the receiver went on, so it
        # did not accept them (a challenge ACK, RFC 5961 3.2), or they had not arrived yet.
        if not h.flags & RST and any(sh.flags & RST for _, sh in pending):
            keep = []
            for s, sh in pending:
                if sh.flags & RST and not sh.length:
                    receiver.notes.append(
                        f"segment {s.number} (RST) did not close this end: its segment "
                        f"{t.number} shows it still had the connection (a challenge ACK, "
                        "RFC 5961 3.2, or the RST had not arrived yet)"
                    )
                else:
                    keep.append((s, sh))
            pending[:] = keep
        # The receiver's segment needs deliveries no ACK number proves (pure ACKs, repeats):
        # deliver those, in order, until what it sent fits its state.
        while pending and not self._consistent(receiver, t, h):
            s, sh = pending[0]
            span = sh.length + (1 if sh.flags & SYN else 0) + (1 if sh.flags & FIN else 0)
            if span and (
                receiver.rcv_nxt is None or _after((sh.seq + span) & _MASK, receiver.rcv_nxt)
            ):
                break  # it brings new sequence space its ACK does not cover: not arrived yet
            del pending[0]
            self._deliver(receiver_index, [(s, sh)], t, "")

    def _consistent(self, end: EndpointStates, t: CapturedSegment, h: Header) -> bool:
        """Whether ``end``'s current state could have sent ``t`` (before its own user calls)."""
        if t.kind != "new" or h.flags & RST:
            return True
        if end.pristine and not h.flags & (SYN | FIN):
            return True  # the capture starts after this end's handshake
        return end.endpoint.fits(_segment(end, end, h))

    def _receive(
        self,
        end: EndpointStates,
        s: CapturedSegment,
        h: Header,
        answer: CapturedSegment | None,
        note: str,
    ) -> None:
        """Segment ``s`` arrives at ``end``: its endpoint decides (RFC 9293 3.10)."""
        flags = h.flags
        endpoint = end.endpoint
        if not flags & _CONTROL and flags & ACK and endpoint.predict(h.seq, h.ack, h.length):
            return  # the common case, data and ACKs on an open connection
        if end.pristine and end.state == CLOSED and not end.changes:
            # The first the capture shows of this end is a segment to it: where was it?
            if flags & SYN and not flags & ACK:
                if answer is not None and answer.flags & RST:
                    self._start(end)  # 3.10.7.1: CLOSED answers with a RST (connection refused)
                elif answer is None:
                    return  # nobody answered: the capture cannot tell what was there
                else:
                    self._start(end)
                    listen = endpoint.listen()
                    end.changes.append(
                        StateEntry(
                            listen.transitions[0].target,
                            CLOSED,
                            listen.transitions[0].event,
                            None,
                            None,
                            False,
                            note=_LISTEN_NOTE,
                            transition=listen.transitions[0],
                        )
                    )
            elif flags & SYN and not flags & RST:
                # A SYN,ACK to an end whose SYN the capture missed: it had sent one.
                self._start(end)
                syn = Segment(end.name, "", (h.ack - 1) & _MASK, flags="SYN")
                opened = endpoint.emitted(syn)
                for t in opened.transitions:
                    end.changes.append(
                        StateEntry(
                            t.target,
                            t.source,
                            t.event,
                            None,
                            None,
                            False,
                            note="a SYN the capture did not see",
                            transition=t,
                        )
                    )
                endpoint = end.endpoint
            elif not flags & RST:
                self._midway(end, s, h.ack if flags & ACK else 0, h.seq)
                endpoint = end.endpoint
        if (
            flags & SYN
            and answer is not None
            and answer.flags & SYN
            and endpoint.state in (CLOSED, LISTEN)
        ):
            endpoint.use_iss(answer.seq)  # the ISS its SYN,ACK shows
        sender = self.endpoints[s.sender] if len(self.endpoints) == 2 else end
        outcome = endpoint.receive(_segment(sender, end, h))
        if outcome.transitions:
            self._record(end, outcome, s, s.time, note=note)
        elif flags & (SYN | RST) and outcome.response != "accepted" and end.state != CLOSED:
            end.notes.append(f"segment {s.number}: {_said(outcome)}")

    def _deliver(self, index: int, items: list, answer: CapturedSegment | None, note: str) -> None:
        """Segments arrive at endpoint ``index``, in order; ``answer`` is its reply, if known."""
        end = self.endpoints[index]
        if len(items) == 1:
            s, sh = items[0]
            if s.kind == "new" or not self._seen_before(end, sh):
                self._receive(end, s, sh, answer, note)
            return
        # Several copies of one segment: the receiver answered the last one before its answer.
        copies: dict[tuple[int, int], int] = {}
        for i, (_s, sh) in enumerate(items):
            if sh.flags & (SYN | FIN) or sh.length:
                copies[(sh.seq, sh.flags & (SYN | FIN | ACK))] = i
        for i, (s, sh) in enumerate(items):
            key = (sh.seq, sh.flags & (SYN | FIN | ACK))
            if (sh.flags & (SYN | FIN) or sh.length) and copies.get(key, i) != i:
                if sh.flags & SYN and answer is not None:
                    end.notes.append(
                        f"segment {s.number} got no answer: lost, or dropped by this end (a "
                        "full accept queue drops SYNs silently); the copy it answered came later"
                    )
                continue
            if s.kind != "new" and copies.get(key, -1) == i and self._seen_before(end, sh):
                continue
            self._receive(end, s, sh, answer, note)

    def _seen_before(self, end: EndpointStates, sh: Header) -> bool:
        # A retransmission whose first copy this end already received moves nothing.
        span = sh.length + (1 if sh.flags & SYN else 0) + (1 if sh.flags & FIN else 0)
        if end.rcv_nxt is None or not span:
            return False  # an ACK moves nothing twice: the rules see to that on their own
        return not _after((sh.seq + span) & _MASK, end.rcv_nxt)

    def _roles(self) -> None:
        if len(self.endpoints) == 1:
            return
        a, b = self.endpoints
        a_syn = any(c.event == "active OPEN" for c in a.changes)
        b_syn = any(c.event == "active OPEN" for c in b.changes)
        if a_syn and b_syn:
            a.role = b.role = "peer"  # a simultaneous open: neither end is the server
        elif a_syn:
            a.role, b.role = "client", "server"
        elif b_syn:
            a.role, b.role = "server", "client"
        else:
            a.role, b.role = "originator", "responder"


def _said(outcome: Outcome) -> str:
    """An endpoint's reason, with RFC 9293 named: ``'... (RFC 9293 3.10.7.4)'``."""
    section, _, reason = outcome.reason.partition(": ")
    return f"{reason} (RFC 9293 {section})" if reason else outcome.reason


_LISTEN_NOTE = (
    "LISTEN before the SYN: a listening socket sends nothing, so the capture cannot see when "
    "it started"
)
_RST_NOTE = "whether the RST was accepted cannot be seen: nothing is sent in answer to it"
_ABORT_NOTE = (
    "the application aborted (SO_LINGER 0, or close() with unread data, RFC 9293 3.6.1), or the "
    "end gave up on the connection"
)
