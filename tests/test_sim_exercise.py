"""Notebook 01's simultaneous-open exercise, done the way a student does it (issue 6, item 8).

Two ``Machine`` objects, each fed what the other sent: the segment on the wire, spelled as the
table prints it. In SYN-RECEIVED the other end's SYN,ACK acknowledges our SYN, so
``fire("rcv SYN,ACK")`` there is the table's "rcv ACK of SYN" (RFC 9293 3.10.7.4, Figure 7).
"""

from __future__ import annotations

import pytest

from tcpviz import InvalidTransition, Machine


@pytest.mark.parametrize("spelling", ["rcv {}", "{}", "receive {}"])
@pytest.mark.parametrize("extended", [False, True])
def test_simultaneous_open_with_two_machines(spelling: str, extended: bool) -> None:
    client_end, server_end = Machine(extended=extended), Machine(extended=extended)
    from_client = client_end.fire("active open").sent
    from_server = server_end.fire("active open").sent
    assert (from_client, from_server) == ("SYN", "SYN")
    # The SYNs cross: each end receives the other's SYN in SYN-SENT.
    from_client = client_end.fire(spelling.format(from_server)).sent
    from_server = server_end.fire(spelling.format(from_client and "SYN")).sent
    assert (client_end.state, server_end.state) == ("SYN-RECEIVED", "SYN-RECEIVED")
    assert (from_client, from_server) == ("SYN,ACK", "SYN,ACK")
    # Each SYN,ACK acknowledges the other's SYN.
    taken = client_end.fire(spelling.format(from_server))
    assert taken.event == "rcv ACK of SYN" and taken.target == "ESTABLISHED"
    server_end.fire(spelling.format(from_client))
    assert [client_end.visited, server_end.visited] == [
        ("CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"),
    ] * 2


def test_syn_ack_keeps_its_own_meaning_in_syn_sent() -> None:
    m = Machine()
    m.fire("active open")
    assert m.fire("rcv SYN,ACK").event == "rcv SYN,ACK"  # its own name wins where enabled
    assert m.state == "ESTABLISHED"


def test_syn_ack_where_it_means_nothing_is_still_refused() -> None:
    m = Machine()
    m.fire("passive open")
    with pytest.raises(InvalidTransition, match=r"'rcv SYN,ACK' not allowed in LISTEN"):
        m.fire("rcv SYN,ACK")
    assert m.state == "LISTEN" and not m.history[1:]
