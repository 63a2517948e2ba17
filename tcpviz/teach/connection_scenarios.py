"""Scenarios of both ends of a connection, as data: each step an operation and one sentence of why.

A scenario is a list of operations on a :class:`~tcpviz.sim.Connection` in their text form
(``'client connect'``, ``'deliver 2'``, ``'drop 7'``, ``'advance'``), each with the reason a
teacher reads aloud and the RFC 9293 section to look it up in. Segment numbers are the stable ids
the connection gives segments as they are sent (1, 2, 3, ... in order, duplicates and
retransmissions included), so a scenario replays the same way every time. What each end does is
not written here: playing the scenario runs the endpoints' RFC 9293 3.10 rules, so a scenario
cannot disagree with them. ``ends_in`` says where RFC 9293 leaves both ends (the tests check it).

>>> scenario = get_connection_scenario("simultaneous-open")
>>> scenario.play().states
('ESTABLISHED', 'ESTABLISHED')
>>> scenario.steps[0].why
'Both applications open actively at the same moment: the client sends its SYN...'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import UnknownScenario
from ..sim import Connection, Operation

__all__ = [
    "CONNECTION_SCENARIOS",
    "ConnectionScenario",
    "ConnectionStep",
    "get_connection_scenario",
]


@dataclass(frozen=True)
class ConnectionStep:
    """One operation of a scenario, why it happens, and where RFC 9293 (or RFC 6298) says so."""

    operation: str
    why: str
    section: str

    def __post_init__(self) -> None:
        Operation.parse(self.operation)  # a typo fails at import, not in class


@dataclass(frozen=True)
class ConnectionScenario:
    """A named scenario of a whole connection: its steps and the states both ends end in."""

    name: str
    title: str
    summary: str
    steps: tuple[ConnectionStep, ...]
    ends_in: tuple[str, str]
    options: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def operations(self) -> tuple[str, ...]:
        """The steps' operations, in order."""
        return tuple(step.operation for step in self.steps)

    def play(self, connection: Connection | None = None) -> Connection:
        """Apply every step to ``connection`` (default: a new one with the scenario's options)."""
        connection = Connection(**self.options) if connection is None else connection  # type: ignore[arg-type]
        connection.run(*self.operations)
        return connection

    def as_dict(self) -> dict[str, object]:
        """JSON-ready data: name, title, summary, the steps, the final states."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "steps": [
                {"operation": s.operation, "why": s.why, "section": s.section} for s in self.steps
            ],
            "ends_in": list(self.ends_in),
        }


def _s(operation: str, why: str, section: str) -> ConnectionStep:
    return ConnectionStep(operation, why, section)


_HANDSHAKE = (
    _s(
        "server listen",
        "The server's application opens passively: it waits in LISTEN and sends nothing.",
        "3.10.1",
    ),
    _s(
        "client connect",
        "The client's application opens actively: the client picks its ISS (100) and sends a "
        "SYN carrying it.",
        "3.10.1",
    ),
    _s(
        "deliver 1",
        "The SYN reaches the server, which picks its own ISS (300) and answers SYN,ACK: its SYN, "
        "and ack=101 because the client's SYN occupies sequence number 100.",
        "3.10.7.2",
    ),
    _s(
        "deliver 2",
        "The SYN,ACK acknowledges the client's SYN, so the client is ESTABLISHED and "
        "acknowledges the server's SYN with ack=301.",
        "3.10.7.3",
    ),
    _s(
        "deliver 3",
        "The ACK acknowledges the server's SYN: the server is ESTABLISHED too.",
        "3.10.7.4",
    ),
)

_SCENARIOS = (
    ConnectionScenario(
        "handshake",
        "Three-way handshake",
        "A client connects to a listening server: SYN, SYN,ACK, ACK (RFC 9293 Figure 6).",
        _HANDSHAKE,
        ("ESTABLISHED", "ESTABLISHED"),
    ),
    ConnectionScenario(
        "data-then-client-close",
        "Data, then the client closes",
        "The client sends five octets, the server reads them, then the client closes first and "
        "waits in TIME-WAIT (RFC 9293 Figure 12).",
        (
            *_HANDSHAKE,
            _s(
                "client send 5",
                "The client sends 5 octets: seq=101, the first number after its SYN.",
                "3.10.2",
            ),
            _s(
                "deliver 4",
                "The data is in the server's window at RCV.NXT: it is accepted and acknowledged "
                "with ack=106, since data consumes its length in sequence numbers.",
                "3.10.7.4",
            ),
            _s("deliver 5", "The ACK tells the client its 5 octets arrived.", "3.10.7.4"),
            _s("server read", "The server's application reads the 5 octets.", "3.10.3"),
            _s(
                "client close",
                "The client has nothing more to send: it sends a FIN (seq=106) and waits in "
                "FIN-WAIT-1 for its acknowledgement.",
                "3.10.4",
            ),
            _s(
                "deliver 6",
                "The FIN reaches the server, which acknowledges it (ack=107: a FIN consumes one "
                "sequence number) and waits in CLOSE-WAIT for its own application to close.",
                "3.10.7.4",
            ),
            _s(
                "deliver 7",
                "The ACK of its FIN moves the client to FIN-WAIT-2: it can still receive.",
                "3.10.7.4",
            ),
            _s(
                "server close",
                "The server's application closes too: the server sends its FIN, LAST-ACK.",
                "3.10.4",
            ),
            _s(
                "deliver 8",
                "The server's FIN reaches the client, which acknowledges it and enters "
                "TIME-WAIT, starting the 2MSL timer.",
                "3.10.7.4",
            ),
            _s(
                "deliver 9",
                "The last ACK reaches the server: its FIN is acknowledged and it is CLOSED.",
                "3.10.7.4",
            ),
            _s(
                "advance",
                "After 2 MSL (4 minutes) no segment of this connection can still be in the "
                "network: the client deletes its TCB.",
                "3.10.8",
            ),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "server-close",
        "The server closes first",
        "After the handshake the server closes first: it is the server that waits in TIME-WAIT "
        "(as a web server does after it answers and closes).",
        (
            *_HANDSHAKE,
            _s("server close", "The server closes first: it sends its FIN, FIN-WAIT-1.", "3.10.4"),
            _s(
                "deliver 4",
                "The client acknowledges the FIN and waits in CLOSE-WAIT for its application.",
                "3.10.7.4",
            ),
            _s("deliver 5", "The ACK of its FIN moves the server to FIN-WAIT-2.", "3.10.7.4"),
            _s("client close", "The client's application closes: FIN, LAST-ACK.", "3.10.4"),
            _s(
                "deliver 6",
                "The client's FIN reaches the server, which acknowledges it and enters "
                "TIME-WAIT: the end that closes first is the one that waits.",
                "3.10.7.4",
            ),
            _s("deliver 7", "The last ACK closes the client.", "3.10.7.4"),
            _s("advance", "2 MSL later the server's TIME-WAIT is over.", "3.10.8"),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "simultaneous-open",
        "Simultaneous open",
        "Both ends open actively at once and their SYNs cross: each goes through SYN-RECEIVED "
        "(RFC 9293 Figure 7).",
        (
            _s(
                "client connect",
                "Both applications open actively at the same moment: the client sends its SYN...",
                "3.10.1",
            ),
            _s("server connect", "... and the server sends its own SYN (seq=300).", "3.10.1"),
            _s(
                "deliver 1",
                "The server, in SYN-SENT, receives a SYN rather than a SYN,ACK: the SYNs "
                "crossed. It answers SYN,ACK (its SYN again, with ack=101), SYN-RECEIVED.",
                "3.10.7.3",
            ),
            _s(
                "deliver 2",
                "The client does the same with the server's SYN: SYN,ACK, SYN-RECEIVED.",
                "3.10.7.3",
            ),
            _s(
                "deliver 3",
                "The server's SYN,ACK carries a SYN the client already has; what counts is its "
                "ACK of the client's SYN: ESTABLISHED.",
                "3.10.7.4",
            ),
            _s("deliver 4", "Likewise for the server: ESTABLISHED.", "3.10.7.4"),
        ),
        ("ESTABLISHED", "ESTABLISHED"),
    ),
    ConnectionScenario(
        "simultaneous-close",
        "Simultaneous close",
        "Both ends close at once and their FINs cross: both go through CLOSING, and both wait "
        "in TIME-WAIT (RFC 9293 Figure 13).",
        (
            *_HANDSHAKE,
            _s("client close", "The client closes: FIN (seq=101), FIN-WAIT-1.", "3.10.4"),
            _s(
                "server close",
                "Before the client's FIN arrives, the server closes too: FIN (seq=301).",
                "3.10.4",
            ),
            _s(
                "deliver 4",
                "The server, in FIN-WAIT-1, receives a FIN that does not acknowledge its own: "
                "it acknowledges it and waits in CLOSING for the ACK of its FIN.",
                "3.10.7.4",
            ),
            _s("deliver 5", "The same happens at the client: CLOSING.", "3.10.7.4"),
            _s(
                "deliver 6",
                "The ACK of the client's FIN arrives: TIME-WAIT.",
                "3.10.7.4",
            ),
            _s("deliver 7", "And at the server: TIME-WAIT as well.", "3.10.7.4"),
            _s("advance", "2 MSL later the client's TIME-WAIT is over...", "3.10.8"),
            _s("advance", "... and the server's.", "3.10.8"),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "refused",
        "Connection refused",
        "The client connects to a port where nothing listens: the server's TCP answers RST.",
        (
            _s("client connect", "The client sends a SYN; no application listens.", "3.10.1"),
            _s(
                "deliver 1",
                "No connection exists at the server: a segment without ACK is answered with "
                "RST,ACK acknowledging it (seq=0, ack=101).",
                "3.10.7.1",
            ),
            _s(
                "deliver 2",
                "The RST acknowledges the client's SYN, so it is believed: connection refused.",
                "3.10.7.3",
            ),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "abort",
        "Abort with RST",
        "An application aborts an established connection: a RST, and both ends are gone at once.",
        (
            *_HANDSHAKE,
            _s(
                "client abort",
                "The client's application calls ABORT: the client sends RST (seq=101, its "
                "SND.NXT) and deletes its TCB without waiting.",
                "3.10.5",
            ),
            _s(
                "deliver 4",
                "The RST's sequence number is exactly the server's RCV.NXT, so it is believed: "
                "connection reset.",
                "3.10.7.4",
            ),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "close-with-unread-data",
        "Close with unread data",
        "The server closes while data it received is still unread: it sends RST, not FIN, to "
        "show the data was lost (RFC 9293 3.6.1).",
        (
            *_HANDSHAKE,
            _s("client send 5", "The client sends 5 octets.", "3.10.2"),
            _s("deliver 4", "The server's TCP accepts and acknowledges them.", "3.10.7.4"),
            _s("deliver 5", "The client learns they arrived.", "3.10.7.4"),
            _s(
                "server close",
                "The server's application calls close() without reading them: the server "
                "sends a RST instead of a FIN, so the client knows the data was not read.",
                "3.6.1",
            ),
            _s(
                "deliver 6",
                "The RST is at the client's RCV.NXT: connection reset.",
                "3.10.7.4",
            ),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "lost-syn",
        "Lost SYN",
        "The client's SYN is lost; its retransmission timer sends it again after 1 s.",
        (
            _HANDSHAKE[0],
            _HANDSHAKE[1],
            _s("drop 1", "The SYN is lost in the network.", "3.8.1"),
            _s(
                "advance",
                "After the initial retransmission timeout of 1 s, the client sends its SYN "
                "again (RFC 6298: initial RTO 1 s).",
                "3.8.1",
            ),
            _s("deliver 2", "This time the SYN arrives: SYN,ACK.", "3.10.7.2"),
            _s("deliver 3", "The client is ESTABLISHED and sends the ACK.", "3.10.7.3"),
            _s("deliver 4", "The server is ESTABLISHED.", "3.10.7.4"),
        ),
        ("ESTABLISHED", "ESTABLISHED"),
    ),
    ConnectionScenario(
        "lost-syn-ack",
        "Lost SYN,ACK",
        "The server's SYN,ACK is lost: both ends time out, and it is the server's retransmitted "
        "SYN,ACK that completes the handshake.",
        (
            _HANDSHAKE[0],
            _HANDSHAKE[1],
            _s("deliver 1", "The SYN arrives: the server answers SYN,ACK.", "3.10.7.2"),
            _s("drop 2", "The SYN,ACK is lost.", "3.8.1"),
            _s(
                "advance",
                "The client hears nothing for 1 s and retransmits its SYN.",
                "3.8.1",
            ),
            _s(
                "deliver 3",
                "The server already has this SYN (seq=100 is before its RCV.NXT of 101): the "
                "segment is not acceptable, so it sends an ACK of what it expects.",
                "3.10.7.4",
            ),
            _s(
                "deliver 4",
                "The client, in SYN-SENT, waits for a SYN: an ACK without one is discarded.",
                "3.10.7.3",
            ),
            _s(
                "advance",
                "The server's own retransmission timer runs out: it sends its SYN,ACK again.",
                "3.8.1",
            ),
            _s("deliver 5", "The SYN,ACK arrives: the client is ESTABLISHED.", "3.10.7.3"),
            _s("deliver 6", "The ACK arrives: the server is ESTABLISHED.", "3.10.7.4"),
        ),
        ("ESTABLISHED", "ESTABLISHED"),
    ),
    ConnectionScenario(
        "lost-final-ack",
        "Lost final ACK: why TIME-WAIT exists",
        "The client's last ACK is lost; the server retransmits its FIN, and only because the "
        "client is still in TIME-WAIT can it acknowledge it again.",
        (
            *_HANDSHAKE,
            _s("client close", "The client closes: FIN, FIN-WAIT-1.", "3.10.4"),
            _s("deliver 4", "The server acknowledges it: CLOSE-WAIT.", "3.10.7.4"),
            _s("deliver 5", "The client is in FIN-WAIT-2.", "3.10.7.4"),
            _s("server close", "The server closes: FIN, LAST-ACK.", "3.10.4"),
            _s(
                "deliver 6",
                "The client acknowledges the server's FIN and enters TIME-WAIT.",
                "3.10.7.4",
            ),
            _s(
                "drop 7",
                "That final ACK is lost: the server does not know its FIN arrived.",
                "3.8.1",
            ),
            _s(
                "advance",
                "The server's retransmission timer runs out: it sends its FIN again.",
                "3.8.1",
            ),
            _s(
                "deliver 8",
                "The client, still in TIME-WAIT, recognises the FIN and acknowledges it again, "
                "restarting its 2MSL timer. Had it deleted its TCB, it would answer RST.",
                "3.10.7.4",
            ),
            _s("deliver 9", "This ACK arrives: the server is CLOSED.", "3.10.7.4"),
            _s("advance", "2 MSL after the last FIN, the client's TIME-WAIT is over.", "3.10.8"),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "half-open",
        "Half-open connection found by a RST",
        "One end loses the connection without the other knowing; the next segment the other "
        "sends is answered with RST (RFC 9293 3.5.1, Figure 10).",
        (
            *_HANDSHAKE,
            _s(
                "client abort",
                "The client aborts: it sends a RST and forgets the connection at once...",
                "3.10.5",
            ),
            _s(
                "drop 4",
                "... but the RST is lost, so the server still believes the connection is open: "
                "it is half-open, as if the client had crashed.",
                "3.5.1",
            ),
            _s("server send 5", "The server sends data on its half.", "3.10.2"),
            _s(
                "deliver 5",
                "The client has no connection: it answers with a RST whose sequence number is "
                "the segment's ACK number.",
                "3.10.7.1",
            ),
            _s(
                "deliver 6",
                "That number is the server's RCV.NXT, so the RST is believed: the server learns "
                "the connection is gone.",
                "3.10.7.4",
            ),
        ),
        ("CLOSED", "CLOSED"),
    ),
    ConnectionScenario(
        "blind-reset",
        "A forged RST and the challenge ACK",
        "Someone who cannot see the traffic forges RSTs to break the connection: only a RST at "
        "exactly RCV.NXT is believed, and one merely in the window gets a challenge ACK "
        "(RFC 5961, RFC 9293 3.10.7.4).",
        (
            *_HANDSHAKE,
            _s(
                "inject server RST seq=70000",
                "An attacker forges a RST that claims to come from the client, guessing its "
                "sequence number: 70000...",
                "3.10.7.4",
            ),
            _s(
                "deliver 4",
                "... is outside the server's receive window (101 to 65635): discarded, no reply.",
                "3.10.7.4",
            ),
            _s(
                "inject server RST seq=5000",
                "A better guess: 5000 is in the window, though not the 101 the server expects.",
                "3.10.7.4",
            ),
            _s(
                "deliver 5",
                "The server does not believe it: it answers with a challenge ACK, to the real "
                "client, saying what it expects.",
                "3.10.7.4",
            ),
            _s(
                "deliver 6",
                "The real client is alive: the ACK tells it nothing new, so it stays silent and "
                "the connection survives (had it really reset, it would answer with a RST at "
                "exactly 101).",
                "3.10.7.4",
            ),
        ),
        ("ESTABLISHED", "ESTABLISHED"),
    ),
    ConnectionScenario(
        "old-duplicate-syn",
        "Old duplicate SYN",
        "A SYN from an earlier connection arrives before the new one: the client's RST sends the "
        "server back to LISTEN, and the handshake goes on (RFC 9293 Figure 8).",
        (
            _HANDSHAKE[0],
            _s("client connect", "The client sends a SYN (seq=100).", "3.10.1"),
            _s(
                "inject server SYN seq=90",
                "An old SYN (seq=90) from an earlier connection between the same ports is still "
                "in the network...",
                "3.5",
            ),
            _s(
                "deliver 2",
                "... and reaches the server first: it answers SYN,ACK with ack=91.",
                "3.10.7.2",
            ),
            _s(
                "deliver 3",
                "ack=91 does not acknowledge the client's SYN (100): the client answers RST "
                "with seq=91.",
                "3.10.7.3",
            ),
            _s(
                "deliver 4",
                "The RST is at the server's RCV.NXT, and the server was opened passively: back "
                "to LISTEN.",
                "3.10.7.4",
            ),
            _s(
                "deliver 1",
                "Now the real SYN arrives: SYN,ACK with a new ISS (400) and ack=101.",
                "3.10.7.2",
            ),
            _s("deliver 5", "The client is ESTABLISHED and acknowledges it.", "3.10.7.3"),
            _s("deliver 6", "The server is ESTABLISHED.", "3.10.7.4"),
        ),
        ("ESTABLISHED", "ESTABLISHED"),
    ),
)

#: The connection scenarios by name, in teaching order.
CONNECTION_SCENARIOS: dict[str, ConnectionScenario] = {s.name: s for s in _SCENARIOS}


def get_connection_scenario(name: str | ConnectionScenario) -> ConnectionScenario:
    """The connection scenario called ``name`` (any case; spaces or underscores for dashes)."""
    if isinstance(name, ConnectionScenario):
        return name
    key = re.sub(r"[\s_]+", "-", str(name).strip().lower())
    try:
        return CONNECTION_SCENARIOS[key]
    except KeyError:
        raise UnknownScenario(
            f"unknown connection scenario {name!r} (must be one of {list(CONNECTION_SCENARIOS)})"
        ) from None
