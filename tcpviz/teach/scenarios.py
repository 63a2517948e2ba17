"""Named scenarios for class: short event sequences, each step explained in one sentence.

A scenario follows one end of a connection (or, for the simultaneous ones, either end, since
both do the same) from ``CLOSED`` through a handshake, a close or a reset. Each step names an
event exactly as the table spells it and says *why* the transition happens, so a teacher can
play it on the diagram and read the reason aloud. The target states are not written here: they
come from the table when the scenario is played, so a scenario cannot disagree with the table.
:func:`why` gives the one-sentence reason for any arrow of the built-in tables (the quiz uses it).

About simultaneous open (RFC 9293 section 3.5, Figure 7): each end sends a SYN, then receives
the other's SYN and answers with a SYN,ACK, then receives the other's SYN,ACK. Figure 5 has no
arrow for a SYN,ACK arriving in SYN-RECEIVED, and needs none: its SYN is one this end already
has, so what moves the connection on is the ACK of our own SYN that comes with it. The table
therefore spells that last step ``rcv ACK of SYN``. The scenario reaches SYN-RECEIVED through
the ``SYN-SENT --rcv SYN--> SYN-RECEIVED`` arrow, not through LISTEN, which decides where a RST
would lead from there (the ``via`` rule of Figure 5, Note 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidTransition, TcpvizError, UnknownScenario
from ..model.machine import Machine
from ..model.states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
)
from ..model.table import (
    ABORT,
    ACTIVE_OPEN,
    CLOSE,
    PASSIVE_OPEN,
    RCV_ACK_OF_FIN,
    RCV_ACK_OF_SYN,
    RCV_FIN,
    RCV_FIN_ACK,
    RCV_RST,
    RCV_SYN,
    RCV_SYN_ACK,
    SEND,
    TIMEOUT_2MSL,
    USER_TIMEOUT,
    Table,
    Transition,
    tcp_table,
)

__all__ = [
    "SCENARIOS",
    "STEP_SIDES",
    "Scenario",
    "Step",
    "UnknownScenario",
    "get_scenario",
    "scenario_payload",
    "why",
]

# The states in which both ends have exchanged sequence numbers (RFC 9293 section 3.10.7.4).
_SYNCHRONIZED = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)

#: The values ``Step.side`` may take: empty when the step is the same for either end.
STEP_SIDES: tuple[str, ...] = ("", "client", "server")


@dataclass(frozen=True)
class Step:
    """One event of a scenario and, in one sentence, why the connection moves as it does."""

    event: str
    why: str
    side: str = ""

    def __post_init__(self) -> None:
        if self.side not in STEP_SIDES:
            raise ValueError(f"unknown side: {self.side!r} (must be one of {list(STEP_SIDES)})")
        if not self.why.strip():
            raise ValueError(f"the step {self.event!r} needs a 'why'")


@dataclass(frozen=True)
class Scenario:
    """A named sequence of steps that runs on the TCP table (``extended`` ones need section 3.10)."""

    name: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    extended: bool = False
    start: str = "CLOSED"
    #: How many of the first steps only set the scene: a player takes them at once, so the
    #: class watches what the scenario is about (a simultaneous close need not replay the
    #: handshake first). A quiz still asks every step.
    lead: int = 0

    def __post_init__(self) -> None:
        # Accept a list for convenience but keep the scenario immutable (and hashable).
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise ValueError(f"scenario {self.name!r} has no steps")
        if isinstance(self.lead, bool) or not isinstance(self.lead, int):
            raise ValueError(f"lead must be a whole number of steps, not {self.lead!r}")
        if not 0 <= self.lead < len(self.steps):
            raise ValueError(
                f"scenario {self.name!r}: lead must be from 0 to {len(self.steps) - 1} "
                f"(it has {len(self.steps)} steps), not {self.lead}"
            )

    @property
    def events(self) -> tuple[str, ...]:
        """The event names of the steps, in order."""
        return tuple(step.event for step in self.steps)

    @property
    def side(self) -> str:
        """``'client'`` or ``'server'`` if every step follows that end, else ``''``."""
        sides = {step.side for step in self.steps}
        return sides.pop() if len(sides) == 1 else ""

    def table(self) -> Table:
        """The built-in table this scenario is written for."""
        return tcp_table(self.extended)

    def play(self, machine: Machine | None = None) -> Machine:
        """Fire every step on ``machine`` (a fresh one on :meth:`table` by default) and return it.

        A given machine must stand in the scenario's start state. If a step cannot fire (the
        machine's table lacks it), :class:`~tcpviz.errors.InvalidTransition` is raised and the
        machine is left as it was.
        """
        if machine is None:
            machine = Machine(self.table(), state=self.start)
        elif machine.state != machine.table.state(self.start):
            raise InvalidTransition(
                f"scenario {self.name!r} starts in {self.start}, but the machine is in "
                f"{machine.state} (reset it, or build Machine(state={self.start!r}))"
            )
        try:
            machine.run(*self.events)
        except InvalidTransition as error:
            hint = " (it needs the extended table)" if self.extended else ""
            raise InvalidTransition(
                f"scenario {self.name!r} cannot play on {machine.table!r}{hint}: {error}"
            ) from None
        return machine

    def transitions(self, table: Table | None = None) -> tuple[Transition, ...]:
        """The transitions the steps take on ``table`` (this scenario's own table by default)."""
        machine = self.play(Machine(table or self.table(), state=self.start))
        return machine.history

    def states(self, table: Table | None = None) -> list[str]:
        """The states the scenario goes through: the start, then each step's target."""
        transitions = self.transitions(table)
        return [transitions[0].source, *(t.target for t in transitions)]

    def as_dict(self, table: Table | None = None) -> dict[str, object]:
        """JSON-ready data for the page; each step carries the state it leads to on ``table``."""
        transitions = self.transitions(table)
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "extended": self.extended,
            "start": transitions[0].source,
            "side": self.side,
            "lead": self.lead,
            "steps": [
                {
                    "event": step.event,
                    "why": step.why,
                    "side": step.side,
                    "source": t.source,
                    "target": t.target,
                    "label": t.label,
                }
                for step, t in zip(self.steps, transitions, strict=True)
            ],
        }


# -- the steps, shared by the scenarios that take them ----------------------------------------
# Each 'why' is written for the transition it explains, wherever that transition appears, so
# a step reads the same in every scenario (and the quiz can reuse it).

_CONNECT = Step(
    ACTIVE_OPEN,
    "Our application asks to connect, so TCP creates a record for the connection (the TCB) "
    "and sends a SYN carrying the first sequence number it will use.",
    "client",
)
_CONNECTED = Step(
    RCV_SYN_ACK,
    "The server's SYN,ACK both accepts our request and asks to open its own direction, so we "
    "acknowledge it and the connection is open.",
    "client",
)
_LISTEN = Step(
    PASSIVE_OPEN,
    "The server application asks to accept connections, so TCP creates a record for the "
    "connection and waits for a SYN without sending anything.",
    "server",
)
_SYN_ARRIVES = Step(
    RCV_SYN,
    "A client's SYN asks to open a connection, so the server acknowledges it and sends its own "
    "SYN in the same segment (a SYN,ACK).",
    "server",
)
_HANDSHAKE_DONE = Step(
    RCV_ACK_OF_SYN,
    "The client's ACK shows that our SYN arrived, so both directions are synchronized and the "
    "connection is open.",
    "server",
)
_ACTIVE_CLOSE = Step(
    CLOSE,
    "Our application has nothing more to send, so TCP sends a FIN and waits for the other end "
    "to acknowledge it.",
    "client",
)
_FIN_ACKED = Step(
    RCV_ACK_OF_FIN,
    "The ACK shows the other end got our FIN, so our direction is closed, while the other end "
    "may still send data until it closes too.",
    "client",
)
_LAST_FIN = Step(
    RCV_FIN,
    "The other end has finished too, so we acknowledge its FIN and then wait, in case that "
    "last ACK is lost and the FIN comes again.",
    "client",
)
_TIME_WAIT_OVER = Step(
    TIMEOUT_2MSL,
    "After twice the maximum segment lifetime no old segment of this connection can still be "
    "in the network, so TCP deletes its record and the connection is closed.",
    "client",
)
_PEER_CLOSES = Step(
    RCV_FIN,
    "The other end says it will send no more data, so we acknowledge its FIN and tell our "
    "application, which may still send what it has left.",
    "server",
)
_PASSIVE_CLOSE = Step(
    CLOSE,
    "Our application has finished too, so TCP sends its own FIN and waits for the very last "
    "acknowledgement.",
    "server",
)
_LAST_ACK = Step(
    RCV_ACK_OF_FIN,
    "The ACK of our FIN means both directions are closed, so TCP deletes the connection's "
    "record at once, with no waiting.",
    "server",
)


def _scenario(
    name: str, title: str, summary: str, *steps: Step, extended: bool = False, lead: int = 0
) -> Scenario:
    return Scenario(name, title, summary, steps, extended, lead=lead)


_ALL: tuple[Scenario, ...] = (
    _scenario(
        "handshake-client",
        "Three-way handshake: the client",
        "The client sends a SYN and the server's SYN,ACK opens the connection. "
        "Two steps on this end, three segments on the wire.",
        _CONNECT,
        _CONNECTED,
    ),
    _scenario(
        "handshake-server",
        "Three-way handshake: the server",
        "The server listens, answers a client's SYN with a SYN,ACK, and the client's ACK "
        "opens the connection.",
        _LISTEN,
        _SYN_ARRIVES,
        _HANDSHAKE_DONE,
    ),
    _scenario(
        "active-close",
        "Active close: the end that closes first",
        "The end that closes first sends a FIN, waits for its ACK and then for the other "
        "end's FIN, and lingers in TIME-WAIT before the connection is gone.",
        _CONNECT,
        _CONNECTED,
        _ACTIVE_CLOSE,
        _FIN_ACKED,
        _LAST_FIN,
        _TIME_WAIT_OVER,
    ),
    _scenario(
        "passive-close",
        "Passive close: the end that closes second",
        "The other end's FIN arrives first, so this end acknowledges it, closes when its "
        "application is done, and is gone as soon as its own FIN is acknowledged.",
        _LISTEN,
        _SYN_ARRIVES,
        _HANDSHAKE_DONE,
        _PEER_CLOSES,
        _PASSIVE_CLOSE,
        _LAST_ACK,
    ),
    _scenario(
        "simultaneous-open",
        "Simultaneous open: both ends connect at once",
        "Both ends send a SYN at the same time, so each receives the other's SYN before any "
        "answer and goes through SYN-RECEIVED (RFC 9293, Figure 7). The SYN,ACK that follows "
        "carries a SYN this end already has, so only its ACK of our SYN counts.",
        Step(
            ACTIVE_OPEN,
            "Our application asks to connect, so TCP sends a SYN, while at the same moment "
            "the other end sends a SYN to us.",
        ),
        Step(
            RCV_SYN,
            "The other end's SYN arrives before any answer to ours, so we acknowledge it and "
            "repeat our SYN in a SYN,ACK, still waiting for our own SYN to be acknowledged.",
        ),
        Step(
            RCV_ACK_OF_SYN,
            "The other end's SYN,ACK arrives, and since we already have its SYN, what is new "
            "is the ACK of our SYN, so both directions are open.",
        ),
    ),
    _scenario(
        "simultaneous-close",
        "Simultaneous close: both ends close at once",
        "Both ends send a FIN at the same time, so each receives the other's FIN before the "
        "ACK of its own and passes through CLOSING on the way to TIME-WAIT.",
        _CONNECT,
        _CONNECTED,
        _ACTIVE_CLOSE,
        Step(
            RCV_FIN,
            "The other end's FIN arrives before the ACK of ours, because both ends closed at "
            "the same time, so we acknowledge it and keep waiting for our own FIN to be "
            "acknowledged.",
            "client",
        ),
        Step(
            RCV_ACK_OF_FIN,
            "Now our FIN is acknowledged as well, so both directions are closed and we wait "
            "in TIME-WAIT in case our last ACK was lost.",
            "client",
        ),
        _TIME_WAIT_OVER,
        lead=2,  # the handshake only sets the scene
    ),
    _scenario(
        "fin-ack-shortcut",
        "FIN and ACK together: skipping FIN-WAIT-2",
        "The other end acknowledges our FIN and sends its own in one segment, so this end "
        "goes from FIN-WAIT-1 straight to TIME-WAIT (the arrow RFC 9293 Figure 5, Note 2 "
        "leaves out of the figure).",
        _CONNECT,
        _CONNECTED,
        _ACTIVE_CLOSE,
        Step(
            RCV_FIN_ACK,
            "One segment carries both the ACK of our FIN and the other end's own FIN, so we "
            "skip FIN-WAIT-2, acknowledge the FIN and go straight to TIME-WAIT.",
            "client",
        ),
        _TIME_WAIT_OVER,
        lead=2,
    ),
    _scenario(
        "connection-refused",
        "Connection refused",
        "Nothing listens on the port the client asked for, so the other end answers the SYN "
        "with a RST and the connection attempt ends at once.",
        _CONNECT,
        Step(
            RCV_RST,
            "No application listens on that port, so the other end answers our SYN with a RST, "
            "and TCP gives up and tells our application the connection was refused.",
            "client",
        ),
        extended=True,
    ),
    _scenario(
        "reset-in-established",
        "Connection reset",
        "An open connection receives a RST, so it is dropped at once, with no closing "
        "handshake and no TIME-WAIT.",
        _CONNECT,
        _CONNECTED,
        Step(
            RCV_RST,
            "The other end aborted the connection (or forgot it, after a crash), so TCP drops "
            "it at once, discards what was not yet delivered and reports a reset to our "
            "application.",
            "client",
        ),
        extended=True,
        lead=2,
    ),
    _scenario(
        "listen-reset",
        "A half-open attempt reset: back to LISTEN",
        "A client's SYN is answered, but the client then sends a RST, so the server forgets the "
        "attempt and goes back to listening (RFC 9293 Figure 5, Note 1).",
        _LISTEN,
        _SYN_ARRIVES,
        Step(
            RCV_RST,
            "The client reset its half-finished attempt, and because this end got here from a "
            "passive OPEN it goes back to LISTEN to wait for the next client instead of closing.",
            "server",
        ),
    ),
    _scenario(
        "abort",
        "Abort: closing with a RST",
        "The application aborts an open connection instead of closing it, so TCP sends a RST "
        "and forgets the connection without any closing handshake.",
        _CONNECT,
        _CONNECTED,
        Step(
            ABORT,
            "Our application gives up on the connection, so TCP sends a RST to tell the other "
            "end, throws away unsent data and deletes its record at once.",
            "client",
        ),
        extended=True,
    ),
    _scenario(
        "connect-timeout",
        "Connection timed out",
        "The client's SYN is never answered, not even by a RST, so after the user timeout "
        "TCP gives up on the attempt.",
        _CONNECT,
        Step(
            USER_TIMEOUT,
            "No answer to our SYN came back in time (the other host may be down or a firewall "
            "drops the SYN), so TCP stops retrying and reports a timeout to our application.",
            "client",
        ),
        extended=True,
    ),
)

#: Every scenario by name, in teaching order (handshakes, closes, then the resets).
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _ALL}


def _name_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", str(name).lower()).strip("-")


def get_scenario(name: str | Scenario) -> Scenario:
    """The scenario called ``name`` (case, spaces and underscores ignored).

    >>> get_scenario("Handshake client").events
    ('active OPEN', 'rcv SYN,ACK')
    """
    if isinstance(name, Scenario):
        return name
    try:
        return SCENARIOS[_name_key(name)]
    except KeyError:
        raise UnknownScenario(
            f"unknown scenario: {name!r} (must be one of {sorted(SCENARIOS)})"
        ) from None


def scenario_payload(table: Table | None = None) -> list[dict[str, object]]:
    """Every scenario as JSON-ready data for the page.

    With ``table``, only the scenarios that play on it, with the targets it gives; without,
    every scenario on its own table.
    """
    payload = []
    for scenario in SCENARIOS.values():
        try:
            payload.append(scenario.as_dict(table))
        except TcpvizError:
            # This table lacks a step (an extended scenario on the classic figure) or the
            # start state (an unrelated custom table).
            continue
    return payload


# -- reasons for every built-in arrow ---------------------------------------------------------
# The quiz explains any arrow, not only those a scenario takes. An arrow is keyed by where it
# starts and ends, its event and its 'via' state: in SYN-RECEIVED a RST leads to LISTEN or to
# CLOSED depending on 'via', and each needs its own reason.

_Key = tuple[str, str, str, "str | None"]


def _key(t: Transition) -> _Key:
    return t.source, t.event, t.target, t.via


_RESET = (
    "The other end reset the connection, so TCP drops it at once, whatever step of the "
    "closing handshake it was in."
)
_ABORT_WITH_RST = (
    "Our application gives up on the connection, so TCP sends a RST to tell the other end, "
    "throws away unsent data and deletes its record at once."
)
_ABORT_NOTHING_TO_TELL = (
    "Our application gives up before any connection is synchronized, so there is nobody to "
    "tell and TCP just deletes its record."
)
_ABORT_AFTER_FIN = (
    "Our application gives up when both ends have already sent their FIN, so there is nothing "
    "left to reset and TCP just deletes its record."
)
_USER_TIMEOUT = (
    "Something we sent (a SYN, data or a FIN) went unacknowledged for longer than the user "
    "timeout, so TCP gives up and aborts the connection."
)

#: Reasons for the built-in arrows that no scenario takes (scenarios give the others).
_OTHER_REASONS: dict[_Key, str] = {
    (LISTEN, CLOSE, CLOSED, None): (
        "The server application stops accepting connections, so TCP deletes the listening "
        "record, and sends nothing because no connection exists yet."
    ),
    (LISTEN, SEND, SYN_SENT, None): (
        "The application asks to send on a listening connection whose remote end is now "
        "known, so TCP turns it into an active open and sends a SYN first."
    ),
    (SYN_SENT, CLOSE, CLOSED, None): (
        "The application cancels its connection attempt before any answer came back, so TCP "
        "deletes its record without sending anything."
    ),
    (SYN_RECEIVED, CLOSE, FIN_WAIT_1, None): (
        "The application closes before the handshake has finished, so TCP sends a FIN at once "
        "and the connection goes on as an active close."
    ),
    (SYN_RECEIVED, RCV_RST, CLOSED, SYN_SENT): (
        "This end got here by connecting itself (a simultaneous open), so a RST means the "
        "attempt was refused and the connection closes instead of going back to LISTEN."
    ),
    **{(state, RCV_RST, CLOSED, None): _RESET for state in _SYNCHRONIZED},
    **{(state, ABORT, CLOSED, None): _ABORT_NOTHING_TO_TELL for state in (LISTEN, SYN_SENT)},
    **{
        (state, ABORT, CLOSED, None): _ABORT_WITH_RST
        for state in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT)
    },
    **{(state, ABORT, CLOSED, None): _ABORT_AFTER_FIN for state in (CLOSING, LAST_ACK, TIME_WAIT)},
    **{
        (state, USER_TIMEOUT, CLOSED, None): _USER_TIMEOUT
        for state in (
            SYN_SENT,
            SYN_RECEIVED,
            ESTABLISHED,
            FIN_WAIT_1,
            CLOSE_WAIT,
            CLOSING,
            LAST_ACK,
        )
    },
}

_WHY: dict[_Key, str] = {}
_WHY_AFTER: dict[tuple[str | None, _Key], str] = {}
for _scenario_ in _ALL:
    _before: str | None = None
    for _step, _t in zip(_scenario_.steps, _scenario_.transitions(), strict=True):
        # The first scenario taking an arrow gives its reason (the plainest come first); a
        # scenario that reaches the arrow's state from elsewhere gives its reason in that
        # context (after a simultaneous open, the ACK of our SYN comes in the peer's SYN,ACK).
        _WHY.setdefault(_key(_t), _step.why)
        _WHY_AFTER.setdefault((_before, _key(_t)), _step.why)
        _before = _t.source
for _k, _reason in _OTHER_REASONS.items():
    _WHY.setdefault(_k, _reason)
del _scenario_, _before, _step, _t, _k, _reason


def why(transition: Transition, entered_from: str | None = None) -> str | None:
    """One sentence on why a built-in arrow is taken, or ``None`` for an arrow tcpviz does not know.

    With ``entered_from`` (the state before ``transition.source``), a scenario that takes the
    arrow in that same context gives the reason.

    >>> from tcpviz.model.table import tcp_table
    >>> arrow = tcp_table().outgoing("TIME-WAIT")[0]
    >>> why(arrow).startswith("After twice the maximum segment lifetime")
    True
    """
    key = _key(transition)
    if entered_from is not None and (entered_from, key) in _WHY_AFTER:
        return _WHY_AFTER[entered_from, key]
    return _WHY.get(key)
