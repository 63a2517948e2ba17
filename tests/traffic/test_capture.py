"""Capture replay: connections and both endpoints' states from captures written in the tests."""

from __future__ import annotations

import io
import json
import struct

import pytest
from capture_support import Conversation, handshake_and_close

from tcpviz.cli import main
from tcpviz.errors import (
    CorruptCapture,
    NotACapture,
    NoTcpInCapture,
    TruncatedCapture,
    UnsupportedLinkType,
)
from tcpviz.traffic import Replay, iter_connections, replay
from tcpviz.traffic import capture as capture_module
from tcpviz.traffic import infer as infer_module


def states(end):
    return [c.state for c in end.changes]


def change(end, state):
    """The (first) entry of ``state`` in an endpoint's states."""
    return next(c for c in end.changes if c.state == state)


def only(path):
    result = replay(path)
    assert not result.problems, result.problems
    assert len(result.connections) == 1
    return result.connections[0]


# -- the usual lives of a connection -----------------------------------------------------------


def test_handshake_and_close_both_ends(tmp_path):
    c = only(handshake_and_close(Conversation()).write(tmp_path / "hs.pcap"))
    client, server = c.endpoints
    assert (client.role, client.address, client.port) == ("client", "10.0.0.1", 40000)
    assert (server.role, server.address, server.port) == ("server", "10.0.0.2", 80)
    assert states(client) == [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSED",
    ]
    assert states(server) == [
        "CLOSED",
        "LISTEN",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "CLOSE-WAIT",
        "LAST-ACK",
        "CLOSED",
    ]
    assert c.conn_state == "SF"
    assert c.history == "ShADaFf"
    # What the capture shows, and what it can only infer.
    assert change(client, "SYN-SENT").seen and change(client, "SYN-SENT").cause == 1
    assert change(client, "ESTABLISHED").seen and change(client, "ESTABLISHED").proof == 3
    assert not change(client, "FIN-WAIT-2").seen  # entered on an ACK, sends nothing
    assert change(client, "TIME-WAIT").seen  # its ACK of the server's FIN shows it
    assert client.changes[-1].event == "timeout 2MSL" and client.changes[-1].time is None
    assert not change(server, "LISTEN").seen and change(server, "LISTEN").cause is None
    assert change(server, "SYN-RECEIVED").seen and change(server, "SYN-RECEIVED").cause == 1
    assert change(server, "CLOSE-WAIT").seen and change(server, "CLOSE-WAIT").cause == 6
    assert change(server, "LAST-ACK").seen
    last = server.changes[-1]
    assert (last.state, last.event, last.cause, last.seen) == ("CLOSED", "rcv ACK of FIN", 9, False)


def test_every_change_is_an_arrow_of_the_table(tmp_path):
    c = only(handshake_and_close(Conversation()).write(tmp_path / "hs.pcap"))
    for end in c.endpoints:
        machine = end.machine()  # replays the transitions through the core Machine
        assert machine.state == end.changes[-1].state
        assert [t.target for t in machine.history] == states(end)[1:]


def test_server_closes_first_with_fin_ack_combined(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.s("FA", 301, 101)
    conv.c("FA", 101, 302)  # the client's FIN,ACK acknowledges the server's FIN at once
    conv.s("A", 302, 102)
    c = only(conv.write(tmp_path / "server-close.pcap"))
    client, server = c.endpoints
    assert states(server)[-3:] == ["FIN-WAIT-1", "TIME-WAIT", "CLOSED"]
    assert change(server, "TIME-WAIT").event == "rcv FIN,ACK"
    assert states(client)[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def test_connection_refused(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("RA", 0, 101)
    c = only(conv.write(tmp_path / "refused.pcap"))
    client, server = c.endpoints
    assert states(client) == ["CLOSED", "SYN-SENT", "CLOSED"]
    assert client.changes[-1].event == "rcv RST" and not client.changes[-1].seen
    assert states(server) == ["CLOSED"]
    assert server.changes[0].seen and server.changes[0].proof == 2
    assert "refused" in server.changes[0].note
    assert c.conn_state == "REJ"


def test_rst_without_ack_in_syn_sent_is_dropped(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("R", 0)  # no ACK: RFC 9293 3.10.7.3 drops it
    c = only(conv.write(tmp_path / "rst-no-ack.pcap"))
    client = c.endpoints[0]
    assert states(client) == ["CLOSED", "SYN-SENT"]
    assert any("without ACK" in n for n in client.notes)


def test_abort_with_rst(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("PA", 101, 301, b"data")
    conv.s("A", 301, 105)
    conv.c("RA", 105, 301)  # SO_LINGER 0: close() sends a RST
    c = only(conv.write(tmp_path / "abort.pcap"))
    client, server = c.endpoints
    assert states(client)[-2:] == ["ESTABLISHED", "CLOSED"]
    assert client.changes[-1].event == "ABORT" and client.changes[-1].seen
    assert states(server)[-2:] == ["ESTABLISHED", "CLOSED"]
    assert server.changes[-1].event == "rcv RST" and not server.changes[-1].seen
    assert c.conn_state == "RSTO"


def test_rst_with_a_wrong_sequence_number_gets_a_challenge_ack(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("R", 150)  # in the window, not at RCV.NXT (101): RFC 5961 3.2
    c = only(conv.write(tmp_path / "blind-rst.pcap"))
    server = c.endpoints[1]
    assert states(server)[-1] == "ESTABLISHED"
    assert any("challenge ACK" in n for n in server.notes)


def test_rst_followed_by_more_from_the_receiver_was_not_accepted(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("R", 101)
    conv.s("A", 301, 101)  # the server goes on: it did not take the RST
    c = only(conv.write(tmp_path / "rst-ignored.pcap"))
    server = c.endpoints[1]
    assert states(server)[-1] == "ESTABLISHED"
    assert any("did not close this end" in n for n in server.notes)


def test_simultaneous_close(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("FA", 101, 301)  # both FINs cross on the wire: neither acknowledges the other
    conv.s("FA", 301, 101)
    conv.c("A", 102, 302)
    conv.s("A", 302, 102)
    c = only(conv.write(tmp_path / "simultaneous-close.pcap"))
    for end in c.endpoints:
        assert states(end)[-4:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
        assert change(end, "CLOSING").seen  # its ACK of the other FIN shows it
    assert c.conn_state == "SF"


def test_simultaneous_open(tmp_path):
    conv = Conversation(cport=5000, sport=6000)
    conv.c("S", 100)
    conv.s("S", 300)
    conv.c("SA", 100, 301)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.s("A", 301, 101)
    c = only(conv.write(tmp_path / "simultaneous-open.pcap"))
    for end in c.endpoints:
        assert states(end) == ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
        assert end.role == "peer"
        assert change(end, "SYN-RECEIVED").seen


def test_half_close_server_keeps_sending(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("FA", 101, 301)  # shutdown(SHUT_WR)
    conv.s("A", 301, 102)
    conv.s("PA", 301, 102, b"still talking")
    conv.c("A", 102, 314)
    conv.s("FA", 314, 102)
    conv.c("A", 102, 315)
    c = only(conv.write(tmp_path / "half-close.pcap"))
    client, server = c.endpoints
    assert states(client)[-4:] == ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    # The client acknowledged data sent after the server acknowledged its FIN: FIN-WAIT-2 shown.
    assert change(client, "FIN-WAIT-2").seen
    assert states(server)[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def test_capture_starting_mid_connection(tmp_path):
    conv = Conversation()
    conv.c("PA", 5000, 9000, b"abc")
    conv.s("A", 9000, 5003)
    conv.c("FA", 5003, 9000)
    conv.s("FA", 9000, 5004)
    conv.c("A", 5004, 9001)
    c = only(conv.write(tmp_path / "mid.pcap"))
    a, b = c.endpoints
    assert (a.role, b.role) == ("originator", "responder")
    assert states(a) == ["ESTABLISHED", "FIN-WAIT-1", "TIME-WAIT", "CLOSED"]
    assert not a.changes[0].seen and "middle" in a.changes[0].note
    assert "rcv FIN,ACK" in [x.event for x in a.changes]
    assert states(b) == ["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert c.conn_state == "SF" and c.history.startswith("D")
    assert c.segments[0].seq == 1  # relative numbers start at the first byte seen


def test_syn_dropped_by_a_full_accept_queue_and_retransmitted(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.c("S", 100, gap=1.0)  # no answer for a second: the client retransmits its SYN
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    c = only(conv.write(tmp_path / "syn-retransmitted.pcap"))
    client, server = c.endpoints
    assert [s.kind for s in c.segments] == ["new", "retransmission", "new", "new"]
    assert states(client) == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    syn_received = change(server, "SYN-RECEIVED")
    assert syn_received.cause == 2  # the copy the server answered, not the first one
    assert any("accept queue" in n for n in server.notes)
    assert "t" in c.history.lower() or "S" in c.history


def test_retransmissions_and_duplicates_never_move_a_state(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("PA", 101, 301, b"hello")
    conv.c("PA", 101, 301, b"hello", gap=0.2)  # retransmitted data
    conv.s("A", 301, 106)
    conv.s("A", 301, 106)  # a duplicate ACK
    conv.c("A", 105, 301, gap=5)  # a keep-alive: SND.NXT - 1, no data
    conv.s("A", 301, 106)
    c = only(conv.write(tmp_path / "retransmission.pcap"))
    kinds = [s.kind for s in c.segments]
    assert kinds == ["new"] * 4 + ["retransmission", "new", "duplicate", "keep-alive", "duplicate"]
    for end in c.endpoints:
        assert states(end)[-1] == "ESTABLISHED"
    assert c.conn_state == "S1"
    assert "T" in c.history


def test_reused_four_tuple_is_a_new_connection_only_after_both_closed(tmp_path):
    conv = Conversation()
    handshake_and_close(conv)
    conv.c("S", 5000, gap=2)  # the same ports again, a new ISN: a new connection
    conv.s("SA", 7000, 5001)
    conv.c("A", 5001, 7001)
    result = replay(conv.write(tmp_path / "reuse.pcap"))
    assert [c.number for c in result.connections] == [1, 2]
    first, second = result.connections
    assert sum(first.packets) == 9 and sum(second.packets) == 3
    assert states(second.endpoints[0]) == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert second.conn_state == "S1"


def test_self_connect(tmp_path):
    conv = Conversation(client="127.0.0.1", server="127.0.0.1", cport=50000, sport=50000)
    conv.c("S", 100)
    conv.c("SA", 100, 101)
    conv.c("A", 101, 101)
    conv.c("FA", 101, 101)
    conv.c("A", 102, 102)
    c = only(conv.write(tmp_path / "self.pcap", linktype=0))
    assert c.self_connect
    (end,) = c.endpoints
    assert end.role == "self"
    assert states(end) == [
        "CLOSED",
        "SYN-SENT",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "CLOSING",
        "TIME-WAIT",
        "CLOSED",
    ]


def test_unanswered_syn(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.c("S", 100, gap=1)
    conv.c("S", 100, gap=2)
    c = only(conv.write(tmp_path / "s0.pcap"))
    client, server = c.endpoints
    assert states(client) == ["CLOSED", "SYN-SENT"]
    assert states(server) == ["CLOSED"] and "never answered" in server.changes[0].note
    assert c.conn_state == "S0"


# -- link types, IPv6, pcapng -------------------------------------------------------------------


@pytest.mark.parametrize("linktype", [1, 0, 113, 276, 101])
@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_link_types_ipv6_and_pcapng(tmp_path, linktype, v6, fmt):
    conv = (
        Conversation(client="2001:db8::1", server="2001:db8::2", v6=True) if v6 else Conversation()
    )
    path = handshake_and_close(conv).write(tmp_path / f"c.{fmt}", linktype=linktype, fmt=fmt)
    c = only(path)
    assert c.addresses == (("2001:db8::1", "2001:db8::2") if v6 else ("10.0.0.1", "10.0.0.2"))
    assert c.conn_state == "SF"
    assert states(c.endpoints[1])[-1] == "CLOSED"
    assert c.segments[0].time == pytest.approx(1_700_000_000.01, abs=1e-5)


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def test_pcapng_interfaces_each_with_their_own_link_type_and_clock(tmp_path):
    """Two interfaces (as tcpdump -i any or mergecap write them): Ethernet in microseconds, then
    Linux cooked v2 in nanoseconds; dpkt's reader would read both with the first's."""
    from capture_support import frame, tcp_bytes

    a, b = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    syn = frame(tcp_bytes(a, b, 1234, 80, "S", 100, 0), 1)
    synack = frame(tcp_bytes(b, a, 80, 1234, "SA", 300, 101), 276)
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb0 = _block(1, struct.pack("<HHI", 1, 0, 65535) + _option(9, b"\x06") + _option(0, b""))
    idb1 = _block(1, struct.pack("<HHI", 276, 0, 65535) + _option(9, b"\x09") + _option(0, b""))

    def epb(iface: int, ticks: int, data: bytes) -> bytes:
        return _block(
            6,
            struct.pack("<IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
            + data,
        )

    isb = _block(5, struct.pack("<III", 0, 0, 0))  # statistics: skipped
    content = shb + idb0 + idb1 + epb(0, 1_000_000_500_000, syn) + isb
    content += epb(1, 1_000_000_750_000_000, synack)
    path = tmp_path / "two-interfaces.pcapng"
    path.write_bytes(content)
    c = only(path)
    assert [s.time for s in c.segments] == [pytest.approx(1_000_000.5), pytest.approx(1_000_000.75)]
    assert states(c.endpoints[1])[-1] == "SYN-RECEIVED"


# -- bad input: one clear message, everything readable still reported -----------------------------


def test_truncated_capture_reports_what_was_read(tmp_path, capsys):
    path = handshake_and_close(Conversation()).write(tmp_path / "cut.pcap")
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    result = replay(path)
    assert len(result.connections) == 1 and sum(result.connections[0].packets) == 8
    (problem,) = result.problems
    assert isinstance(problem, TruncatedCapture)
    assert str(problem).startswith(f"{path}: cut short inside packet 9")
    assert main(["replay", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "1 connection" in out
    assert err.strip().count("\n") == 0 and "cut short" in err


def test_corrupt_record_length(tmp_path):
    path = handshake_and_close(Conversation()).write(tmp_path / "corrupt.pcap")
    data = bytearray(path.read_bytes())
    # The third record's captured length: after the 24-byte header and two records.
    first = struct.unpack_from("<I", data, 24 + 8)[0]
    second_at = 24 + 16 + first
    second = struct.unpack_from("<I", data, second_at + 8)[0]
    struct.pack_into("<I", data, second_at + 16 + second + 8, 0x7FFFFFFF)
    path.write_bytes(bytes(data))
    result = replay(path)
    assert isinstance(result.problems[0], CorruptCapture)
    assert "packet 3" in str(result.problems[0]) and sum(result.connections[0].packets) == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b'{"a": 1}', "JSON"),
        (b"hello world, this is text\n", "text"),
        (b"\x1f\x8b\x08\x00" + b"\0" * 30, "gunzip"),
        (b"\x00\x01\x02\x03" * 10, "00 01 02 03"),
    ],
)
def test_not_a_capture(tmp_path, capsys, content, words):
    path = tmp_path / "notes.pcap"
    path.write_bytes(content)
    with pytest.raises(NotACapture, match=words):
        replay(path)
    assert main(["replay", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tcpviz replay: error: {path}: ") and err.count("\n") == 1


def test_no_tcp_in_capture(tmp_path):
    import dpkt

    udp = dpkt.udp.UDP(sport=53, dport=5353, data=b"x")
    udp.ulen = 9
    ip = dpkt.ip.IP(src=b"\x0a\0\0\x01", dst=b"\x0a\0\0\x02", p=17, data=udp)
    ip.len = 20 + 9
    arp = dpkt.ethernet.Ethernet(type=0x0806, data=b"\0" * 28)
    with open(tmp_path / "udp.pcap", "wb") as f:
        w = dpkt.pcap.Writer(f)
        w.writepkt(bytes(dpkt.ethernet.Ethernet(type=0x0800, data=ip)), ts=1)
        w.writepkt(bytes(arp), ts=2)
    result = replay(tmp_path / "udp.pcap")
    (problem,) = result.problems
    assert isinstance(problem, NoTcpInCapture)
    assert "no TCP segment among its 2 packet(s)" in str(problem)
    assert result.skipped == {"not TCP": 1, "not IP": 1}


def test_unsupported_link_type(tmp_path):
    conv = handshake_and_close(Conversation())
    path = tmp_path / "usb.pcap"
    with open(path, "wb") as f:
        import dpkt

        w = dpkt.pcap.Writer(f, linktype=189)  # USB_LINUX
        for time, ip in conv.packets:
            w.writepkt(ip, ts=time)
    result = replay(path)
    (problem,) = result.problems
    assert isinstance(problem, UnsupportedLinkType)
    assert "link type 189" in str(problem) and "1 ETHERNET" in str(problem)


# -- streaming ----------------------------------------------------------------------------------


def test_connections_are_handed_on_while_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(capture_module, "REORDER_LIMIT", 4)
    monkeypatch.setattr(capture_module, "CLOSED_LINGER", 0.0)
    conv = Conversation()
    for i in range(40):
        conv.client = (conv.client[0], 20000 + i)
        handshake_and_close(conv)
    path = conv.write(tmp_path / "many.pcap")
    seen_before_end = []
    reader_positions = []

    def progress(done, total):
        reader_positions.append(done)

    monkeypatch.setattr(capture_module, "_SWEEP_EVERY", 16, raising=False)
    numbers = []
    for c in iter_connections(path, progress=progress):
        numbers.append(c.number)
        seen_before_end.append(len(reader_positions))
    assert sorted(numbers) == list(range(1, 41))
    assert seen_before_end[0] < seen_before_end[-1]  # the first came out before the file ended


def test_segment_limit_keeps_memory_bounded(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    seq = 101
    for _ in range(50):
        conv.c("PA", seq, 301, b"x" * 10)
        seq += 10
        conv.s("A", 301, seq)
    conv.c("FA", seq, 301)
    conv.s("FA", 301, seq + 1)
    conv.c("A", seq + 1, 302)
    result = replay(conv.write(tmp_path / "long.pcap"), segment_limit=10)
    c = result.connections[0]
    assert len(c.segments) < 20 and c.unlisted > 80
    assert sum(c.packets) == 106
    assert states(c.endpoints[0])[-1] == "CLOSED"
    # The segments that changed a state are kept even beyond the limit.
    kept = {s.number for s in c.segments}
    for end in c.endpoints:
        assert all(ch.cause in kept for ch in end.changes if ch.cause is not None)


def test_file_object_and_progress_callback(tmp_path):
    path = handshake_and_close(Conversation()).write(tmp_path / "hs.pcap")
    calls = []
    result = replay(
        io.BytesIO(path.read_bytes()),
        name="memory.pcap",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert result.name == "memory.pcap" and len(result.connections) == 1
    assert calls and calls[-1][0] == -1


# -- the command line -----------------------------------------------------------------------------


def test_cli_text(tmp_path, capsys):
    path = handshake_and_close(Conversation()).write(tmp_path / "hs.pcap")
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert "9 packets, 9 TCP segments, 1 connection" in out
    assert "SF (Normal establishment and termination.)" in out
    assert "client 10.0.0.1:40000 states:" in out and "server 10.0.0.2:80 states:" in out
    assert "SYN-RECEIVED  rcv SYN" in out and "inferred" in out and "seen (#2)" in out


def test_cli_json(tmp_path, capsys):
    path = handshake_and_close(Conversation()).write(tmp_path / "hs.pcap")
    assert main(["replay", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (conn,) = data["connections"]
    client, server = conn["endpoints"]
    assert (client["address"], client["port"], client["role"]) == ("10.0.0.1", 40000, "client")
    assert [s["state"] for s in server["states"]][-1] == "CLOSED"
    assert server["states"][2]["cause"] == 1 and server["states"][2]["seen"] is True
    assert "segments" not in conn
    assert main(["replay", str(path), "--json", "--conn", "1"]) == 0
    conn = json.loads(capsys.readouterr().out)["connections"][0]
    assert [s["flags"] for s in conn["segments"]][:2] == ["SYN", "SYN,ACK"]


def test_cli_conn_out_of_range(tmp_path, capsys):
    path = handshake_and_close(Conversation()).write(tmp_path / "hs.pcap")
    assert main(["replay", str(path), "--conn", "3"]) == 2
    err = capsys.readouterr().err
    assert "no connection 3" in err and "connections 1 to 1" in err


def test_cli_missing_file(tmp_path, capsys):
    assert main(["replay", str(tmp_path / "nope.pcap")]) == 1
    assert "nope.pcap" in capsys.readouterr().err


def test_cli_long_captures_are_listed_as_they_are_read(tmp_path, capsys):
    conv = Conversation()
    for i in range(15):
        conv.client = (conv.client[0], 30000 + i)
        handshake_and_close(conv)
    path = conv.write(tmp_path / "fifteen.pcap")
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("#") and "originator" in lines[0]
    assert sum(1 for line in lines if line.split()[:1] and line.split()[0].isdigit()) == 15
    assert "135 packets, 135 TCP segments, 15 connections" in out
    assert "--conn N shows one connection in detail" in out
    assert "segments (seq and ack" not in out
    assert main(["replay", str(path), "--conn", "15"]) == 0
    out = capsys.readouterr().out
    assert "connection 15: 10.0.0.1:30014 -> 10.0.0.2:80" in out
    assert main(["replay", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["number"] for c in data["connections"]] == list(range(1, 16))
    assert data["packets"] == 135 and data["problems"] == []


def test_shards_by_flow_hash_split_the_connections_between_processes(tmp_path):
    conv = Conversation()
    for i in range(30):
        conv.client = (conv.client[0], 31000 + i)
        handshake_and_close(conv)
    path = conv.write(tmp_path / "thirty.pcap")
    whole = replay(path)
    seen = []
    for k in range(3):
        part = Replay(str(path))
        connections = list(iter_connections(path, replay=part, shard=(k, 3)))
        assert part.tcp == sum(sum(c.packets) for c in connections)
        seen += [(c.ports, tuple(tuple(e.states) for e in c.endpoints)) for c in connections]
    assert sorted(seen) == sorted(
        (c.ports, tuple(tuple(e.states) for e in c.endpoints)) for c in whole.connections
    )
    with pytest.raises(ValueError, match="shard"):
        list(iter_connections(path, shard=(3, 3)))


def test_cli_reads_standard_input(tmp_path, capsys, monkeypatch):
    path = handshake_and_close(Conversation()).write(tmp_path / "hs.pcap")

    class Stdin:
        buffer = io.BytesIO(path.read_bytes())

    monkeypatch.setattr("sys.stdin", Stdin())
    assert main(["replay", "-", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file"] == "<stdin>" and len(data["connections"]) == 1


def test_capture_starting_with_the_syn_ack(tmp_path):
    conv = Conversation()
    conv.s("SA", 300, 101)  # the capture started just after the client's SYN
    conv.c("A", 101, 301)
    conv.c("PA", 101, 301, b"hi")
    conv.s("A", 301, 103)
    c = only(conv.write(tmp_path / "synack-first.pcap"))
    client, server = c.endpoints  # the SYN,ACK's receiver is the originator (as in Zeek)
    assert (client.address, client.port, client.role) == ("10.0.0.1", 40000, "client")
    assert server.role == "server"
    assert states(client) == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert not change(client, "SYN-SENT").seen and "did not see" in change(client, "SYN-SENT").note
    assert states(server)[-2:] == ["SYN-RECEIVED", "ESTABLISHED"]


def test_states_do_not_depend_on_which_segments_are_kept(tmp_path, monkeypatch):
    # A segment that is not kept skips its record when both ends' header prediction takes it;
    # one that is kept goes the long way round with a record: the ends must end up the same.
    conv = Conversation()
    for i in range(3):
        conv.client = (conv.client[0], 32000 + i)
        conv.c("S", 100)
        conv.s("SA", 300, 101)
        conv.c("A", 101, 301)
        c, s = 101, 301
        for _ in range(4):
            conv.c("PA", c, s, b"abc")
            c += 3
            conv.s("PA", s, c, b"hello")
            s += 5
            conv.c("A", c, s)
        conv.c("FA", c, s)
        conv.s("A", s, c + 1)
        conv.s("FA", s, c + 1)
        conv.c("A", c + 1, s + 1)
    path = conv.write(tmp_path / "kept.pcap")
    taken = []
    predicted = infer_module.Inference.predicted

    def counting(self, sender, h):
        taken.append(predicted(self, sender, h))
        return taken[-1]

    monkeypatch.setattr(infer_module.Inference, "predicted", counting)

    def ends(limit):
        out = []
        for c in iter_connections(path, segment_limit=limit):
            assert len(c.segments) + c.unlisted == sum(c.packets)
            out.append((c.ports, [[e.as_dict() for e in end.changes] for end in c.endpoints]))
        return out

    unkept = ends(0)
    assert sum(taken) >= 3 * 8  # the data and ACKs went the short way, with no record
    assert unkept == ends(2000) == ends(5)
    assert [len(changes) for _, both in unkept for changes in both] == [7] * 6  # CLOSED..CLOSED
