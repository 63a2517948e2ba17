"""Infer both endpoints' RFC 9293 states from the segments of one captured connection.

Each captured segment says two things. It is proof of its sender's state: a SYN is sent in
SYN-SENT, a SYN,ACK in SYN-RECEIVED, a FIN by a CLOSE, a RST by an ABORT or by an end with no
connection; its ACK field says which of the peer's segments the sender had received. And it is
a delivery to the receiver, which RFC 9293 section 3.10 (SEGMENT ARRIVES) turns into a state
change or none. Every change is a row of the extended TCP table, taken the way the core
``Machine`` takes it (``EndpointStates.machine()`` replays them through one).

The capture point sees a segment *between* the two ends, so a delivery is held back until the
receiver's own next segment shows it arrived (its ACK covers it): in a simultaneous close each
FIN crosses the other on the wire, the FIN that is not acknowledged by the other end's FIN had
not arrived, and both ends go FIN-WAIT-1 -> CLOSING, as they really did. Where what the
receiver sends disagrees with what the deliveries would have made of it, the sender's evidence
wins: the missing steps are taken along the table's own arrows and marked inferred. A segment
that the receiver answers by retransmitting what it acknowledged was lost on the way.

Retransmissions, keep-alives and duplicates never move a state. When a segment was sent several
times before the receiver answered, the receiver took the last copy before its answer (it
answers at once): a SYN dropped by a full accept queue and retransmitted puts the server in
SYN-RECEIVED at the retransmission.

What one capture point cannot know is marked ``seen=False`` (inferred): LISTEN before the SYN,
the far side's exact transition times (a state change is dated by the segment that caused it),
whether a RST was accepted (unless the receiver's later segments say), states left by timers
that send nothing (TIME-WAIT's 2MSL, which Linux fixes at 60 s), and transitions that send
nothing (SYN-RECEIVED -> ESTABLISHED, FIN-WAIT-1 -> FIN-WAIT-2, LAST-ACK -> CLOSED).

The state-deciding parts of 3.10 are written here for real segments (scaled windows, capture
gaps, a capture starting mid-connection, one pass at a million packets a minute) rather than
taken from :class:`tcpviz.sim.Endpoint`, whose receive costs about ten times a whole replay step
and whose TCB cannot yet start mid-connection. tests/test_capture_sim.py holds the two to the
same answers: every connection scenario of the simulator, captured at either end, replays to
the simulator's states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..model import Machine, Table, Transition, tcp_table
from .decode import ACK, FIN, RST, SYN, Header

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
FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT = (
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
)
#: States in which both sequence spaces are known (RFC 9293's synchronized states).
SYNCHRONIZED = frozenset(
    {ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT}
)
#: States after the end's own FIN: it sends no new data there.
_FIN_SENT = frozenset({FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT})

_MASK = 0xFFFFFFFF
_HALF = 0x80000000
_CONTROL = SYN | FIN | RST
# States a segment without control bits never moves an end out of: their ACK arrows are for
# the ACK of our SYN or FIN, which these states have no more (or not yet) to wait for.
_QUIET = frozenset({"ESTABLISHED", "CLOSE-WAIT", "FIN-WAIT-2", "TIME-WAIT"})
# States whose segments without control bits prove nothing new about the state itself.
_TALKING = frozenset({"ESTABLISHED", "CLOSE-WAIT"})
# A receiver that never answers must not hold back deliveries without bound.
_PENDING_LIMIT = 256


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
    """One endpoint of a captured connection: its address, role and the states it went through."""

    __slots__ = (
        "address",
        "changes",
        "entered_from",
        "fin",
        "irs",
        "iss",
        "notes",
        "port",
        "pristine",
        "rcv_nxt",
        "role",
        "snd_nxt",
        "snd_una",
        "state",
        "table",
    )

    def __init__(self, address: str, port: int, table: Table):
        self.address: str = address
        self.port: int = port
        self.role: str = "unknown"
        self.table: Table = table
        self.state: str = CLOSED
        self.entered_from: str | None = None
        self.changes: list[StateEntry] = []
        self.notes: list[str] = []
        # The sequence variables of RFC 9293 3.3.1 as far as the capture shows them.
        self.iss: int | None = None
        self.irs: int | None = None
        self.snd_nxt: int | None = None
        self.snd_una: int | None = None
        self.rcv_nxt: int | None = None
        self.fin: int | None = None  # sequence number of our FIN
        self.pristine: bool = True  # nothing sent, nothing delivered yet

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


class Inference:
    """Both endpoints' states for one connection, updated segment by segment.

    The capture module calls :meth:`add` for every segment and :meth:`finish` at the end.
    """

    def __init__(self, connection: Connection, table: Table | None = None):
        self.table: Table = table if table is not None else tcp_table(extended=True)
        self._arrows = _arrows(self.table)
        self.connection = connection
        a = EndpointStates(connection.addresses[0], connection.ports[0], self.table)
        if connection.self_connect:
            a.role = "self"
            self.endpoints: tuple[EndpointStates, ...] = (a,)
        else:
            b = EndpointStates(connection.addresses[1], connection.ports[1], self.table)
            self.endpoints = (a, b)
        # Segments on their way to each endpoint, not yet shown to have arrived.
        self.pending: tuple[list[tuple[CapturedSegment, Header]], ...] = tuple(
            [] for _ in self.endpoints
        )
        self.finished: bool = False

    # -- the public steps ---------------------------------------------------------------------

    def add(self, segment: CapturedSegment, h: Header) -> bool:
        """Take one captured segment into account; ``True`` if some state changed."""
        one = len(self.endpoints) == 1
        sender_index = 0 if one else segment.sender
        receiver_index = 0 if one else 1 - sender_index
        sender = self.endpoints[sender_index]
        receiver = self.endpoints[receiver_index]
        flags = h.flags
        if (
            not flags & _CONTROL
            and flags & ACK
            and segment.kind == "new"
            and sender.state in _TALKING
            and receiver.state in _QUIET
            and receiver.rcv_nxt is not None
            and not self.pending[sender_index]
            and not self.pending[receiver_index]
            and sender.changes[-1].seen
        ):
            # The bulk of any capture: data and ACKs on an open connection. Nothing is on its
            # way, the sender's state is already proven, and such a segment cannot move the
            # receiver (3.10.7.4): only the sequence variables move. (The general path below
            # gives the same result, three function calls later.)
            sender.rcv_nxt = h.ack
            end = (h.seq + h.length) & _MASK
            if sender.snd_nxt is None or 0 < ((end - sender.snd_nxt) & _MASK) < _HALF:
                sender.snd_nxt = end
            if 0 < ((end - receiver.rcv_nxt) & _MASK) < _HALF:
                receiver.rcv_nxt = end
            return False
        before = len(sender.changes) + len(receiver.changes)
        # First what the sender's segment shows it had received, then what it shows of itself.
        if self.pending[sender_index]:
            self._flush(sender_index, segment, h)
        if segment.kind == "new":
            self._evidence(sender, sender_index, segment, h)
        pending = self.pending[receiver_index]
        if not pending and not h.flags & _CONTROL and receiver.state in _QUIET:
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
            if end.state == TIME_WAIT:
                self._move(
                    end,
                    "timeout 2MSL",
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

    # -- moving an endpoint along the table ------------------------------------------------

    def _transition(self, end: EndpointStates, event: str) -> Transition | None:
        for t in self._arrows.get((end.state, event), ()):
            if t.via is None or t.via == end.entered_from:
                return t
        return None

    def _move(
        self,
        end: EndpointStates,
        event: str,
        segment: CapturedSegment | None,
        time: float | None,
        *,
        seen: bool = False,
        note: str = "",
    ) -> bool:
        transition = self._transition(end, event)
        if transition is None:
            return False
        self._start(end, segment, time)
        end.entered_from = end.state
        end.state = transition.target
        end.changes.append(
            StateEntry(
                transition.target,
                transition.source,
                event,
                time,
                segment.number if segment is not None else None,
                seen,
                segment.number if seen and segment is not None else None,
                note,
                transition,
            )
        )
        return True

    def _start(self, end: EndpointStates, segment: CapturedSegment | None, time, state=CLOSED):
        if not end.changes:
            end.changes.append(
                StateEntry(
                    state,
                    None,
                    None,
                    time if state != CLOSED else None,
                    segment.number if segment is not None and state != CLOSED else None,
                    False,
                    note="the state before the capture shows anything"
                    if state == CLOSED
                    else "the capture starts in the middle of this connection: it was "
                    "synchronized (ESTABLISHED, or a state after it) before its first segment",
                )
            )
            end.state = state

    def _confirm(self, end: EndpointStates, segment: CapturedSegment) -> None:
        """The endpoint's own segment proves the state it is in: mark the entry seen."""
        last = end.changes[-1] if end.changes else None
        if last is not None and last.previous is None and last.state == ESTABLISHED:
            return  # the guess of a capture that starts mid-connection (CLOSE-WAIT sends too)
        if last is not None and not last.seen and last.state == end.state:
            end.changes[-1] = StateEntry(*last[:5], True, segment.number, *last[7:])

    # -- the sender's evidence --------------------------------------------------------------

    def _evidence(self, end: EndpointStates, index: int, s: CapturedSegment, h: Header) -> None:
        """What a new segment sent by ``end`` proves about ``end``; the sender's evidence wins."""
        flags = h.flags
        end_seq = (h.seq + h.length + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & _MASK
        if flags & RST:
            self._sent_rst(end, index, s, h)
        elif flags & SYN:
            if flags & ACK:
                if end.state != SYN_RECEIVED:
                    self._reconcile(end, index, s, SYN_RECEIVED)
                else:
                    self._confirm(end, s)
            else:
                if end.state != SYN_SENT:
                    if end.state == CLOSED:
                        self._move(end, "active OPEN", s, s.time, seen=True)
                    else:
                        self._reconcile(end, index, s, SYN_SENT)
                elif end.iss is not None and h.seq != end.iss:
                    # Its own SYN is unanswered and this one has another ISN: an old duplicate
                    # from an earlier connection (RFC 9293 Figure 8), not this end's evidence.
                    end.notes.append(
                        f"segment {s.number}: a SYN from this end's address and port with "
                        "another initial sequence number while its own SYN is unanswered: an "
                        "old duplicate of an earlier connection (RFC 9293 3.5, Figure 8)"
                    )
                    return
                else:
                    self._confirm(end, s)
            end.iss = h.seq
            end.snd_una = h.seq
        else:
            if end.pristine and end.state == CLOSED:
                # No SYN from this end: the capture began after its handshake.
                self._start(end, s, s.time, ESTABLISHED)
            if flags & FIN:
                if end.state in (ESTABLISHED, CLOSE_WAIT, SYN_RECEIVED):
                    self._move(end, "CLOSE", s, s.time, seen=True)
                elif end.state not in (FIN_WAIT_1, CLOSING, LAST_ACK):
                    self._reconcile(end, index, s, FIN_WAIT_1)
                end.fin = h.seq + h.length
            elif end.state not in SYNCHRONIZED:
                self._reconcile(end, index, s, ESTABLISHED)
            elif h.length and end.state in _FIN_SENT:
                end.notes.append(f"segment {s.number} carries data after this end's FIN")
            else:
                self._confirm(end, s)
        if flags & ACK and end.state not in (CLOSED, LISTEN, SYN_SENT):
            end.rcv_nxt = h.ack
        if end.snd_nxt is None or _after(end_seq, end.snd_nxt):
            end.snd_nxt = end_seq
        end.pristine = False

    def _sent_rst(self, end: EndpointStates, index: int, s: CapturedSegment, h: Header) -> None:
        end.pristine = False
        if end.state in (CLOSED, LISTEN):
            # A RST from an end with no connection: a SYN to a closed port, or a segment for a
            # connection this end no longer has (RFC 9293 3.10.7.1). It proves the state.
            self._start(end, s, s.time)
            last = end.changes[-1]
            if not last.seen:
                end.changes[-1] = StateEntry(
                    last.state,
                    last.previous,
                    last.event,
                    last.time,
                    last.cause,
                    True,
                    s.number,
                    "no connection on this port: it answers with a RST (connection refused)"
                    if len(end.changes) == 1
                    else last.note,
                    last.transition,
                )
            return
        if end.state in SYNCHRONIZED and end.snd_nxt is not None and h.seq != end.snd_nxt:
            # An ABORT sends <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5): a RST with another
            # sequence number did not come from this end's own connection (a blind reset
            # forged by a third party, RFC 5961; or an old segment).
            end.notes.append(
                f"segment {s.number}: a RST from this end's address whose sequence number is "
                "not this end's SND.NXT: not its own (a forged or old RST, RFC 5961)"
            )
            return
        if end.state == SYN_SENT and self._answering_bad_ack(index, h):
            end.notes.append(
                f"segment {s.number}: a RST answering an ACK that does not acknowledge this "
                "end's SYN (RFC 9293 3.10.7.3); the end stays in SYN-SENT"
            )
            return
        self._move(
            end,
            "ABORT",
            s,
            s.time,
            seen=True,
            note="the application aborted (SO_LINGER 0, or close() with unread data, RFC 9293 "
            "3.6.1), or the end gave up on the connection",
        )

    def _answering_bad_ack(self, index: int, h: Header) -> bool:
        # An ABORT in SYN-SENT sends nothing (RFC 9293 3.10.5; Linux neither), so a RST from
        # SYN-SENT answers an unacceptable ACK (3.10.7.3) and leaves the state as it is.
        return self.endpoints[index].state == SYN_SENT

    def _reconcile(self, end: EndpointStates, index: int, s: CapturedSegment, target: str) -> None:
        """Take the table's arrows from where the endpoint is to where its segment shows it is."""
        state = end.state
        if state == CLOSED and target in (SYN_RECEIVED,):
            # A SYN,ACK from an end that got no SYN the capture saw: it was listening.
            self._move(end, "passive OPEN", None, None, note=_LISTEN_NOTE)
            self._move(
                end,
                "rcv SYN",
                None,
                s.time,
                note="its SYN,ACK shows it received a SYN the capture did not see",
            )
            self._confirm(end, s)
            return
        if state == LISTEN and target == SYN_RECEIVED:
            self._move(end, "rcv SYN", None, s.time, note="a SYN the capture did not see")
            self._confirm(end, s)
            return
        if state == SYN_SENT and target == SYN_RECEIVED:
            self._move(end, "rcv SYN", None, s.time, note="a SYN the capture did not see")
            self._confirm(end, s)
            return
        if target == SYN_SENT and state != CLOSED:
            self._move(
                end,
                "ABORT",
                None,
                s.time,
                note="this end sent a new SYN, so it had dropped its connection without a "
                "segment on the wire (a reboot, a crash, or a lost RST)",
            )
            if end.state != CLOSED:
                self._move(end, "ABORT", None, s.time)
            self._move(end, "active OPEN", s, s.time, seen=True)
            return
        if target in (ESTABLISHED, FIN_WAIT_1) and state in (SYN_SENT, SYN_RECEIVED, LISTEN):
            event = {SYN_SENT: "rcv SYN,ACK", SYN_RECEIVED: "rcv ACK of SYN"}.get(state)
            if state == LISTEN:
                self._move(end, "rcv SYN", None, s.time, note="a SYN the capture did not see")
                event = "rcv ACK of SYN"
            self._move(
                end,
                event or "",
                None,
                s.time,
                note=f"segment {s.number} shows this end synchronized; the segment that made it "
                "so was not seen",
            )
            if target == FIN_WAIT_1 and end.state == ESTABLISHED:
                self._move(end, "CLOSE", s, s.time, seen=True)
            else:
                self._confirm(end, s)
            return
        end.notes.append(
            f"segment {s.number} does not fit {state} (it looks like {target}); the capture "
            "missed segments of this connection"
        )

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
        flags = h.flags
        if t.kind != "new":
            return True
        if flags & RST:
            return True
        if flags & SYN:
            return end.state in (
                (SYN_RECEIVED, LISTEN, SYN_SENT) if flags & ACK else (CLOSED, SYN_SENT)
            )
        if flags & FIN:
            # SYN-RECEIVED may CLOSE too, but a socket the application holds was accepted, so
            # an ACK of SYN waiting to be delivered arrived first.
            return end.state in (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK)
        if h.length:
            return end.state in (ESTABLISHED, CLOSE_WAIT) or end.pristine
        return end.state in SYNCHRONIZED or end.pristine

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

    def _receive(
        self,
        end: EndpointStates,
        s: CapturedSegment,
        h: Header,
        answer: CapturedSegment | None,
        note: str,
    ) -> None:
        """RFC 9293 3.10 SEGMENT ARRIVES, the parts that decide the state."""
        flags = h.flags
        state = end.state
        if not flags & _CONTROL and state in _QUIET and end.rcv_nxt is not None:
            # The common case, data and ACKs on an open connection: only RCV.NXT moves.
            span_end = (h.seq + h.length) & _MASK
            if 0 < ((span_end - end.rcv_nxt) & _MASK) < _HALF:
                end.rcv_nxt = span_end
            return
        time = s.time
        if end.pristine and state == CLOSED and not end.changes:
            if flags & SYN and not flags & ACK:
                if answer is not None and answer.flags & RST:
                    self._start(end, None, None)
                    return  # 3.10.7.1: CLOSED answers with a RST (connection refused)
                if answer is None:
                    return  # nobody answered: the capture cannot tell what was there
                self._move(end, "passive OPEN", None, None, note=_LISTEN_NOTE)
                state = end.state
            elif flags & SYN:
                # A SYN,ACK to an end whose SYN the capture missed: it was in SYN-SENT.
                self._move(end, "active OPEN", None, None, note="a SYN the capture did not see")
                end.iss = (h.ack - 1) & _MASK
                end.snd_nxt = h.ack
                state = end.state
            else:
                self._start(end, s, time, ESTABLISHED)
                end.rcv_nxt = h.seq
                state = end.state
        span_end = (
            h.seq + h.length + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        ) & _MASK
        if state == CLOSED:
            return  # 3.10.7.1
        if state == LISTEN:
            if flags & (RST | ACK):
                return  # 3.10.7.2: a RST is ignored, an ACK gets a RST
            if flags & SYN:
                end.irs = h.seq
                end.rcv_nxt = span_end
                self._move(end, "rcv SYN", s, time, note=note)
            return
        if state == SYN_SENT:
            acceptable = (
                bool(flags & ACK)
                and end.iss is not None
                and end.snd_nxt is not None
                and _after(h.ack, end.iss)
                and _at_or_after(end.snd_nxt, h.ack)
            )
            if flags & ACK and not acceptable:
                return  # 3.10.7.3: an unacceptable ACK is answered with a RST and dropped
            if flags & RST:
                if acceptable:
                    self._move(end, "rcv RST", s, time, note=_RST_NOTE)
                else:
                    end.notes.append(
                        f"segment {s.number}: a RST without ACK in SYN-SENT is dropped "
                        "(RFC 9293 3.10.7.3)"
                    )
                return
            if flags & SYN:
                end.irs = h.seq
                end.rcv_nxt = span_end
                if acceptable:
                    end.snd_una = h.ack
                    self._move(end, "rcv SYN,ACK", s, time, note=note)
                else:
                    self._move(end, "rcv SYN", s, time, note=note or "a simultaneous open")
            return
        # Synchronized states and SYN-RECEIVED: 3.10.7.4, first the sequence number check.
        if end.rcv_nxt is None:
            end.rcv_nxt = h.seq
        if flags & SYN and end.irs is not None and h.seq == end.irs:
            # The SYN,ACK of a simultaneous open repeats the SYN already received: the SYN is
            # trimmed off as lying before RCV.NXT (3.10.7.4), the ACK is processed.
            flags &= ~SYN
        in_order = not _after(h.seq, end.rcv_nxt)
        if flags & RST:
            if h.seq == end.rcv_nxt or (state == SYN_RECEIVED and in_order):
                self._move(end, "rcv RST", s, time, note=_RST_NOTE)
            else:
                end.notes.append(
                    f"segment {s.number}: a RST whose sequence number is not exactly RCV.NXT: "
                    "answered with a challenge ACK, not accepted (RFC 5961 3.2)"
                )
            return
        if flags & SYN:
            end.notes.append(
                f"segment {s.number}: a SYN on a synchronized connection: answered with a "
                "challenge ACK (RFC 5961 4.2), the state does not change"
            )
            return
        if _after(span_end, end.rcv_nxt):
            end.rcv_nxt = span_end  # data before it the capture missed still arrived
        if flags & ACK:
            acks_fin = end.fin is not None and _after(h.ack, end.fin)
            if state == SYN_RECEIVED and end.iss is not None and _after(h.ack, end.iss):
                self._move(end, "rcv ACK of SYN", s, time, note=note)
                state = end.state
            elif state == FIN_WAIT_1 and acks_fin:
                if flags & FIN:
                    self._move(end, "rcv FIN,ACK", s, time, note=note)
                    return
                self._move(end, "rcv ACK of FIN", s, time, note=note)
                state = end.state
            elif state in (CLOSING, LAST_ACK) and acks_fin:
                self._move(end, "rcv ACK of FIN", s, time, note=note)
                return
        if flags & FIN and in_order:
            if state in (SYN_RECEIVED, ESTABLISHED):
                if state == SYN_RECEIVED:
                    self._move(end, "rcv ACK of SYN", s, time)
                self._move(end, "rcv FIN", s, time, note=note)
            elif state in (FIN_WAIT_1, FIN_WAIT_2):
                self._move(end, "rcv FIN", s, time, note=note)
            # CLOSE-WAIT, CLOSING, LAST-ACK: a FIN again (3.10.7.4, eighth step): no change;
            # TIME-WAIT: it is acknowledged and the 2MSL timer restarts.

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


_ARROWS: dict[int, tuple[Table, dict[tuple[str, str], tuple[Transition, ...]]]] = {}


def _arrows(table: Table) -> dict[tuple[str, str], tuple[Transition, ...]]:
    """The table's rows by (source state, event), made once per table (a lookup per step)."""
    cached = _ARROWS.get(id(table))
    if cached is None or cached[0] is not table:
        index: dict[tuple[str, str], list[Transition]] = {}
        for t in table.transitions:
            index.setdefault((t.source, t.event), []).append(t)
        cached = (table, {key: tuple(rows) for key, rows in index.items()})
        _ARROWS[id(table)] = cached
    return cached[1]


_LISTEN_NOTE = (
    "LISTEN before the SYN: a listening socket sends nothing, so the capture cannot see when "
    "it started"
)
_RST_NOTE = "whether the RST was accepted cannot be seen: nothing is sent in answer to it"
