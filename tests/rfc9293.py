"""RFC 9293's TCP state diagram, written out by hand from the RFC text, NOT from tcpviz.

The tests compare tcpviz's built-in tables against these lists, so a wrong row in
``tcpviz/table.py`` shows up as a difference. Nothing here imports tcpviz: keep it that way.

Events are spelled as the RFC prints them (``Timeout=2MSL``, ``rcv ACK of SYN``); the tests
look each spelling up through the table's own event matching, which therefore has to accept
what a student copies from the figure.
"""

from __future__ import annotations

from typing import NamedTuple


class Arrow(NamedTuple):
    """One arrow of the diagram: ``source -event / action, snd sent-> target``.

    ``via`` is the state the source must have been entered from (Note 1 of Figure 5);
    ``section`` is the part of RFC 9293 section 3.10 that specifies the arrow.
    """

    source: str
    event: str
    sent: str
    target: str
    action: str = ""
    via: str | None = None
    section: str = ""


#: Section 3.3.2, in the RFC's order ("... TIME-WAIT, and the fictional state CLOSED").
STATES = (
    "LISTEN",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
    "CLOSED",
)

#: How the boxes of Figure 5 spell the states (the figure abbreviates to fit its boxes).
FIGURE_BOX_NAMES = {
    "CLOSED": "CLOSED",
    "LISTEN": "LISTEN",
    "SYN RCVD": "SYN-RECEIVED",
    "SYN SENT": "SYN-SENT",
    "ESTAB": "ESTABLISHED",
    "FIN WAIT-1": "FIN-WAIT-1",
    "FINWAIT-2": "FIN-WAIT-2",
    "CLOSE WAIT": "CLOSE-WAIT",
    "CLOSING": "CLOSING",
    "LAST-ACK": "LAST-ACK",
    "TIME-WAIT": "TIME-WAIT",
}

#: Figure 5 (section 3.3.2), arrow by arrow, reading the figure top to bottom.
FIGURE_5 = (
    Arrow("CLOSED", "passive OPEN", "", "LISTEN", "create TCB", section="3.10.1"),
    Arrow("CLOSED", "active OPEN", "SYN", "SYN-SENT", "create TCB", section="3.10.1"),
    Arrow("LISTEN", "CLOSE", "", "CLOSED", "delete TCB", section="3.10.4"),
    Arrow("LISTEN", "rcv SYN", "SYN,ACK", "SYN-RECEIVED", section="3.10.7.2"),
    # SEND on a listening connection with a known remote socket: it becomes an active open.
    Arrow("LISTEN", "SEND", "SYN", "SYN-SENT", section="3.10.2"),
    Arrow("SYN-SENT", "CLOSE", "", "CLOSED", "delete TCB", section="3.10.4"),
    # Simultaneous open. RFC 793 printed "snd ACK" here; RFC 9293 corrected it to SYN,ACK.
    Arrow("SYN-SENT", "rcv SYN", "SYN,ACK", "SYN-RECEIVED", section="3.10.7.3"),
    Arrow("SYN-SENT", "rcv SYN,ACK", "ACK", "ESTABLISHED", section="3.10.7.3"),
    Arrow("SYN-RECEIVED", "rcv ACK of SYN", "", "ESTABLISHED", section="3.10.7.4"),
    # Note 1: "conditioned on having reached SYN-RECEIVED after a passive OPEN".
    Arrow("SYN-RECEIVED", "rcv RST", "", "LISTEN", via="LISTEN", section="3.10.7.4"),
    Arrow("SYN-RECEIVED", "CLOSE", "FIN", "FIN-WAIT-1", section="3.10.4"),
    Arrow("ESTABLISHED", "CLOSE", "FIN", "FIN-WAIT-1", section="3.10.4"),
    Arrow("ESTABLISHED", "rcv FIN", "ACK", "CLOSE-WAIT", section="3.10.7.4"),
    Arrow("FIN-WAIT-1", "rcv ACK of FIN", "", "FIN-WAIT-2", section="3.10.7.4"),
    Arrow("FIN-WAIT-1", "rcv FIN", "ACK", "CLOSING", section="3.10.7.4"),
    Arrow("FIN-WAIT-2", "rcv FIN", "ACK", "TIME-WAIT", section="3.10.7.4"),
    Arrow("CLOSING", "rcv ACK of FIN", "", "TIME-WAIT", section="3.10.7.4"),
    Arrow("CLOSE-WAIT", "CLOSE", "FIN", "LAST-ACK", section="3.10.4"),
    Arrow("LAST-ACK", "rcv ACK of FIN", "", "CLOSED", section="3.10.7.4"),
    Arrow("TIME-WAIT", "Timeout=2MSL", "", "CLOSED", "delete TCB", section="3.10.8"),
    # Note 2: "The figure omits a transition from FIN-WAIT-1 to TIME-WAIT if a FIN is received
    # and the local FIN is also acknowledged." One segment carrying both: FIN with ACK of FIN.
    Arrow("FIN-WAIT-1", "rcv FIN,ACK", "ACK", "TIME-WAIT", section="3.10.7.4"),
)

#: The states in which "the connection is synchronized" (3.10.7.4 treats RST alike in all).
SYNCHRONIZED = (
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
)

#: 3.10.5 ABORT Call: "Send a reset segment" in exactly these states ...
ABORT_SENDS_RST = ("SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT")
#: ... and silently deletes the TCB in these (LISTEN and SYN-SENT flush queues, the last three
#: "Respond with 'ok' and delete the TCB"). In CLOSED, ABORT is an error: there is no TCB.
ABORT_SILENT = ("LISTEN", "SYN-SENT", "CLOSING", "LAST-ACK", "TIME-WAIT")

#: 3.10.8 USER TIMEOUT says "for any state"; the user timeout itself (3.9.1.1, OPEN's timeout
#: parameter) is the time allowed for what we submitted to be acknowledged. It can therefore
#: only expire where something we sent is outstanding: our SYN (SYN-SENT, SYN-RECEIVED), data
#: (ESTABLISHED, CLOSE-WAIT) or our FIN (FIN-WAIT-1, CLOSING, LAST-ACK). LISTEN has sent
#: nothing, and in FIN-WAIT-2 and TIME-WAIT everything we sent has been acknowledged.
USER_TIMEOUT_STATES = (
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
)

#: What section 3.10 adds to the figure (its Note 3 leaves these out to stay legible).
SECTION_3_10 = (
    # 3.10.7.3 SYN-SENT: an RST with an acceptable ACK means "connection reset" (refused).
    Arrow("SYN-SENT", "rcv RST", "", "CLOSED", "delete TCB", section="3.10.7.3"),
    # 3.10.7.4 SYN-RECEIVED, first check: "If this connection was initiated with an active
    # OPEN (i.e., came from SYN-SENT state), then the connection was refused ... enter the
    # CLOSED state and delete the TCB" (the passive case is Note 1's arrow to LISTEN).
    Arrow(
        "SYN-RECEIVED", "rcv RST", "", "CLOSED", "delete TCB", via="SYN-SENT", section="3.10.7.4"
    ),
    # 3.10.7.4 synchronized states: "Enter the CLOSED state, delete the TCB, and return."
    *(
        Arrow(state, "rcv RST", "", "CLOSED", "delete TCB", section="3.10.7.4")
        for state in SYNCHRONIZED
    ),
    *(
        Arrow(state, "ABORT", "RST", "CLOSED", "delete TCB", section="3.10.5")
        for state in ABORT_SENDS_RST
    ),
    *(
        Arrow(state, "ABORT", "", "CLOSED", "delete TCB", section="3.10.5")
        for state in ABORT_SILENT
    ),
    *(
        Arrow(state, "user timeout", "", "CLOSED", "delete TCB", section="3.10.8")
        for state in USER_TIMEOUT_STATES
    ),
)

#: The usual life of each end, as every textbook draws it.
CLIENT_PATH = (
    ("active OPEN", "SYN-SENT"),
    ("rcv SYN,ACK", "ESTABLISHED"),
    ("CLOSE", "FIN-WAIT-1"),
    ("rcv ACK of FIN", "FIN-WAIT-2"),
    ("rcv FIN", "TIME-WAIT"),
    ("Timeout=2MSL", "CLOSED"),
)
SERVER_PATH = (
    ("passive OPEN", "LISTEN"),
    ("rcv SYN", "SYN-RECEIVED"),
    ("rcv ACK of SYN", "ESTABLISHED"),
    ("rcv FIN", "CLOSE-WAIT"),
    ("CLOSE", "LAST-ACK"),
    ("rcv ACK of FIN", "CLOSED"),
)


def kind_of(event: str) -> str:
    """The kind of an RFC event: a segment arrival, a timer, or a call by the user."""
    if event.startswith("rcv "):
        return "segment"
    if "timeout" in event.lower():
        return "timeout"
    return "user"


def enabled(arrows: tuple[Arrow, ...], state: str, entered_from: str | None) -> dict[str, Arrow]:
    """The arrows that can be taken in ``state`` (entered from ``entered_from``), by event."""
    return {
        a.event: a for a in arrows if a.source == state and (a.via is None or a.via == entered_from)
    }
