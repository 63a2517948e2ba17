"""Parsing the kernel's socket lists: sock_diag netlink replies and /proc/net/tcp text, made here.

The netlink bytes are laid out field by field as linux/inet_diag.h and linux/netlink.h define
them (written out again here, not taken from the module under test); the /proc lines are ones
this machine printed, with the addresses in the kernel's host-order hex.
"""

from __future__ import annotations

import errno
import socket
import struct
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.traffic import live, sockdiag
from tcpviz.traffic.sockdiag import parse_inet_diag, parse_proc_net_tcp

SOCK_DIAG_BY_FAMILY, NLMSG_ERROR, NLMSG_DONE, NLM_F_MULTI = 20, 2, 3, 2


def nlmsg(kind: int, payload: bytes, seq: int = 1) -> bytes:
    """One netlink message: struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid},
    padded to 4 bytes."""
    message = struct.pack("=IHHII", 16 + len(payload), kind, NLM_F_MULTI, seq, 0) + payload
    return message + bytes(-len(message) % 4)


def diag_msg(
    family: int,
    state: int,
    src: str,
    sport: int,
    dst: str,
    dport: int,
    *,
    timer: int = 0,
    expires_ms: int = 0,
    uid: int = 1000,
    inode: int = 4242,
    rqueue: int = 0,
    wqueue: int = 0,
    extra: bytes = b"",
) -> bytes:
    """struct inet_diag_msg, then optional attributes (``extra``)."""
    raw_src = socket.inet_pton(family, src).ljust(16, b"\0")
    raw_dst = socket.inet_pton(family, dst).ljust(16, b"\0")
    head = struct.pack("=BBBB", family, state, timer, 0)
    sockid = struct.pack("!HH", sport, dport) + raw_src + raw_dst + struct.pack("=III", 0, 7, 0)
    tail = struct.pack("=IIIII", expires_ms, rqueue, wqueue, uid, inode)
    assert len(head + sockid + tail) == 72  # sizeof(struct inet_diag_msg)
    return nlmsg(SOCK_DIAG_BY_FAMILY, head + sockid + tail + extra)


def test_a_netlink_dump_of_both_families_parses_with_timers_and_owners():
    reply = (
        diag_msg(socket.AF_INET, 10, "127.0.0.1", 8080, "0.0.0.0", 0, wqueue=128, inode=11)
        + diag_msg(socket.AF_INET, 1, "127.0.0.1", 40000, "127.0.0.1", 8080, inode=12)
        # A timewait socket: timer 3, 59.8 s left, no owner (uid and inode 0).
        + diag_msg(
            socket.AF_INET, 6, "127.0.0.1", 40002, "127.0.0.1", 8080,
            timer=3, expires_ms=59800, uid=0, inode=0,
        )
        # close() after shutdown: a timewait socket in its FIN-WAIT-2 substate.
        + diag_msg(
            socket.AF_INET6, 5, "::1", 40004, "::1", 8080, timer=3, expires_ms=58000,
            uid=0, inode=0, extra=b"\x08\x00\x01\x00\x00\x00\x00\x00",  # an attribute, skipped
        )
        + nlmsg(NLMSG_DONE, struct.pack("=i", 0))
    )  # fmt: skip
    sockets, done = parse_inet_diag(reply)
    assert done
    assert [(s.family, s.state_code, s.local_port, s.remote_port) for s in sockets] == [
        (4, 10, 8080, 0),
        (4, 1, 40000, 8080),
        (4, 6, 40002, 8080),
        (6, 5, 40004, 8080),
    ]
    listener, established, time_wait, fin_wait_2 = sockets
    assert listener.local_address == "127.0.0.1" and listener.remote_address == "0.0.0.0"
    assert listener.send_queue == 128 and listener.inode == 11 and listener.uid == 1000
    assert established.timer_code == 0 and established.expires == 0.0
    assert time_wait.timer_code == 3 and time_wait.expires == pytest.approx(59.8)
    assert (time_wait.uid, time_wait.inode) == (0, 0)
    assert fin_wait_2.local_address == "::1" and fin_wait_2.expires == pytest.approx(58.0)

    named = [live.from_raw(s) for s in sockets]
    assert [s.state for s in named] == ["LISTEN", "ESTABLISHED", "TIME-WAIT", "FIN-WAIT-2"]
    assert (named[2].timer, named[2].expires, named[2].orphan) == ("time-wait", 59.8, True)
    assert (named[3].timer, named[3].orphan) == ("fin-wait-2", True)
    assert named[3].local == "[::1]:40004" and named[0].remote == "*"
    assert not named[1].orphan and named[1].timer is None and named[1].expires is None


def test_a_dump_split_over_several_reads_ends_only_at_done():
    first = diag_msg(socket.AF_INET, 1, "10.0.0.1", 1, "10.0.0.2", 2)
    sockets, done = parse_inet_diag(first)
    assert len(sockets) == 1 and not done
    sockets, done = parse_inet_diag(nlmsg(NLMSG_DONE, bytes(4)))
    assert sockets == [] and done


def test_an_error_reply_raises_the_kernels_errno():
    with pytest.raises(OSError) as caught:
        parse_inet_diag(nlmsg(NLMSG_ERROR, struct.pack("=i", -errno.EPERM) + bytes(16)))
    assert caught.value.errno == errno.EPERM
    # An error code 0 is an acknowledgement.
    assert parse_inet_diag(nlmsg(NLMSG_ERROR, bytes(20)) + nlmsg(NLMSG_DONE, bytes(4))) == (
        [],
        True,
    )


def test_a_truncated_reply_is_refused_naming_the_offset():
    whole = diag_msg(socket.AF_INET, 1, "10.0.0.1", 1, "10.0.0.2", 2)
    with pytest.raises(ValueError, match=r"netlink message at byte 0 claims 88 bytes, 50 are left"):
        parse_inet_diag(whole[:50])


def test_the_request_asks_for_every_tcp_state_of_one_family():
    request = sockdiag.dump_request(socket.AF_INET6, sequence=9)
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", request)
    assert (length, kind, seq) == (len(request), SOCK_DIAG_BY_FAMILY, 9) == (72, 20, 9)
    assert flags == 0x1 | 0x300  # NLM_F_REQUEST | NLM_F_DUMP
    family, protocol, ext, _, states = struct.unpack_from("=BBBBI", request, 16)
    assert (family, protocol, ext) == (socket.AF_INET6, socket.IPPROTO_TCP, 0)
    assert all(states >> code & 1 for code in range(1, 12))  # ESTABLISHED ... CLOSING


# Lines this machine printed (kernel 6.18, x86-64): a listener, an established pair, a
# TIME-WAIT, a FIN-WAIT-2 after close() (timer 3, tm->when in USER_HZ ticks) and its peer in
# CLOSE-WAIT with the FIN in its receive queue.
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:AF05 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 55246 1 00000000a23c3544 100 0 0 10 0
   2: 0100007F:8C2E 0100007F:AF05 01 00000000:00000000 00:00000000 00000000  1000        0 55247 2 00000000fa1b6e2e 20 0 0 10 -1
   3: 0100007F:8C3C 0100007F:AF05 06 00000000:00000000 03:00001756 00000000     0        0 0 3 000000006812595e
   4: 0100007F:8C4A 0100007F:AF05 05 00000000:00000000 03:0000175C 00000000     0        0 0 3 0000000066b95281
   5: 0100007F:AF05 0100007F:8C4A 08 00000000:00000001 00:00000000 00000000     0        0 55252 1 00000000df17ad94 20 4 0 10 -1
"""
PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:9E6F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 55253 1 00000000de5e4df8 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:89D8 0000000000000000FFFF00000100007F:9E6F 01 00000000:00000000 00:00000000 00000000     0        0 55254 2 00000000ceebc8d6 20 0 0 10 -1
"""

little_endian = pytest.mark.skipif(
    sys.byteorder != "little", reason="the sample lines were printed by a little-endian kernel"
)


@little_endian
def test_proc_net_tcp_lines_parse_with_their_timers():
    sockets = parse_proc_net_tcp(PROC_NET_TCP, 4, ticks_per_second=100)
    assert [(s.state_code, s.local_port, s.remote_port) for s in sockets] == [
        (10, 0xAF05, 0),
        (1, 0x8C2E, 0xAF05),
        (6, 0x8C3C, 0xAF05),
        (5, 0x8C4A, 0xAF05),
        (8, 0xAF05, 0x8C4A),
    ]
    listener, established, time_wait, fin_wait_2, close_wait = sockets
    assert listener.local_address == "127.0.0.1" and listener.remote_address == "0.0.0.0"
    assert established.uid == 1000 and established.inode == 55247
    assert time_wait.timer_code == 3 and time_wait.expires == pytest.approx(0x1756 / 100)
    assert time_wait.inode == 0 and fin_wait_2.expires == pytest.approx(59.8)
    assert close_wait.recv_queue == 1 and close_wait.send_queue == 0
    assert [live.from_raw(s).state for s in sockets] == [
        "LISTEN", "ESTABLISHED", "TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT",
    ]  # fmt: skip


@little_endian
def test_proc_net_tcp6_lines_parse_including_mapped_ipv4():
    listener, mapped = parse_proc_net_tcp(PROC_NET_TCP6, 6)
    assert (listener.family, listener.local_address, listener.local_port) == (6, "::1", 0x9E6F)
    assert listener.remote_address == "::"
    assert mapped.local_address == "::ffff:127.0.0.1" and mapped.remote_port == 0x9E6F


def test_proc_addresses_are_words_in_host_order():
    # The kernel prints each 32-bit word with %08X of its value as the CPU holds it.
    word = struct.unpack("=I", socket.inet_aton("192.0.2.7"))[0]
    line = f"0: {word:08X}:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 9 1"
    (s,) = parse_proc_net_tcp(line, 4)
    assert (s.local_address, s.local_port, s.inode) == ("192.0.2.7", 80, 9)


def test_a_line_that_does_not_parse_is_named():
    with pytest.raises(ValueError, match=r"line 2 does not parse: '   1: garbage'"):
        parse_proc_net_tcp("  sl  local_address\n   1: garbage\n", 4)


def test_an_unknown_kernel_state_is_an_error_naming_it():
    (raw,) = parse_inet_diag(diag_msg(socket.AF_INET, 99, "10.0.0.1", 1, "10.0.0.2", 2))[0]
    with pytest.raises(live.SocketsUnavailable, match="TCP state 99, which is not one of"):
        live.from_raw(raw)


def test_unaccepted_connections_are_queued_not_orphans():
    (raw,) = parse_inet_diag(
        diag_msg(socket.AF_INET, 1, "127.0.0.1", 8080, "127.0.0.1", 40000, inode=0)
    )[0]
    s = live.from_raw(raw)
    assert s.queued and not s.orphan and s.owner == "no process: not accept()-ed yet"


def _fake_proc(root, processes):
    for pid, (name, targets) in processes.items():
        fd = root / str(pid) / "fd"
        fd.mkdir(parents=True)
        (root / str(pid) / "comm").write_text(name + "\n")
        for number, target in enumerate(targets, start=3):
            (fd / str(number)).symlink_to(target)
    (root / "self").mkdir()  # not a process number: skipped
    (root / "300").mkdir()  # a process whose fds we may not read: skipped


def test_owners_come_from_each_process_fd_links(tmp_path):
    _fake_proc(
        tmp_path,
        {
            100: ("python3", ["socket:[555]", "/dev/null", "pipe:[7]", "socket:[557]"]),
            200: ("nginx", ["socket:[556]"]),
        },
    )
    owners = live.process_owners(str(tmp_path))
    assert owners == {555: (100, "python3"), 557: (100, "python3"), 556: (200, "nginx")}
    # Asked for some inodes, the search stops when it has them (newest processes first).
    assert live.process_owners(str(tmp_path), inodes=[556]) == {556: (200, "nginx")}
    assert live.process_owners(str(tmp_path), inodes=[0]) == {}


# netstat output as macOS, Windows and Linux (net-tools) print it, abridged.
MACOS_NETSTAT = """\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
tcp4       0      0  127.0.0.1.8080         127.0.0.1.50000        ESTABLISHED
tcp4       0      0  127.0.0.1.50002        127.0.0.1.8080         TIME_WAIT
tcp4       0      0  *.8080                 *.*                    LISTEN
tcp6       0      0  fe80::1%lo0.631        *.*                    LISTEN
tcp46      0      0  *.5000                 *.*                    LISTEN
tcp4       0      0  192.168.1.5.50010      93.184.216.34.443      SYN_SENT
tcp4       0      0  127.0.0.1.8080         127.0.0.1.50003        CLOSE_WAIT
udp4       0      0  *.5353                 *.*
"""
WINDOWS_NETSTAT = """\

Active Connections

  Proto  Local Address          Foreign Address        State
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING
  TCP    127.0.0.1:8080         127.0.0.1:50000        ESTABLISHED
  TCP    [::1]:8080             [::1]:50004            TIME_WAIT
  TCP    [::]:445               [::]:0                 LISTENING
"""
LINUX_NETSTAT = """\
Active Internet connections (servers and established)
Proto Recv-Q Send-Q Local Address           Foreign Address         State
tcp        0      0 127.0.0.1:8080          0.0.0.0:*               LISTEN
tcp        0      0 127.0.0.1:50000         127.0.0.1:8080          FIN_WAIT2
tcp6       0      0 :::22                   :::*                    LISTEN
tcp6       0      0 ::1:8080                ::1:50005               SYN_RECV
"""


def test_netstat_of_three_systems_parses():
    from tcpviz.traffic.netstat import parse_netstat

    assert parse_netstat(MACOS_NETSTAT) == [
        (4, "ESTABLISHED", "127.0.0.1", 8080, "127.0.0.1", 50000),
        (4, "TIME_WAIT", "127.0.0.1", 50002, "127.0.0.1", 8080),
        (4, "LISTEN", "*", 8080, "*", 0),
        (6, "LISTEN", "fe80::1%lo0", 631, "*", 0),
        (6, "LISTEN", "*", 5000, "*", 0),
        (4, "SYN_SENT", "192.168.1.5", 50010, "93.184.216.34", 443),
        (4, "CLOSE_WAIT", "127.0.0.1", 8080, "127.0.0.1", 50003),
    ]
    assert parse_netstat(WINDOWS_NETSTAT) == [
        (4, "LISTENING", "0.0.0.0", 135, "0.0.0.0", 0),
        (4, "ESTABLISHED", "127.0.0.1", 8080, "127.0.0.1", 50000),
        (6, "TIME_WAIT", "::1", 8080, "::1", 50004),
        (6, "LISTENING", "::", 445, "::", 0),
    ]
    assert parse_netstat(LINUX_NETSTAT) == [
        (4, "LISTEN", "127.0.0.1", 8080, "0.0.0.0", 0),
        (4, "FIN_WAIT2", "127.0.0.1", 50000, "127.0.0.1", 8080),
        (6, "LISTEN", "::", 22, "::", 0),
        (6, "SYN_RECV", "::1", 8080, "::1", 50005),
    ]


def test_the_netstat_source_runs_netstat_and_names_the_states(tmp_path, monkeypatch):
    # A stand-in netstat on PATH prints the macOS sample, as a Mac's would.
    fake = tmp_path / "netstat"
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({MACOS_NETSTAT!r})\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(live, "_psutil", lambda: None)  # as if psutil could not list them
    snapshot = live.read_sockets()
    assert snapshot.source == "netstat"
    counts = {state: n for state, n in snapshot.counts.items() if n}
    assert counts == {
        "LISTEN": 3, "SYN-SENT": 1, "ESTABLISHED": 1, "CLOSE-WAIT": 1, "TIME-WAIT": 1,
    }  # fmt: skip
    assert all(s.timer is None and s.pid is None for s in snapshot.sockets)
    fake.write_text("#!/bin/sh\necho 'netstat: no' >&2\nexit 3\n")
    with pytest.raises(
        live.SocketsUnavailable,
        match=r"install psutil.*netstat -an -p tcp exited with 3: netstat: no",
    ):
        live.read_sockets()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(live.SocketsUnavailable, match="no netstat command on this system"):
        live.read_sockets("netstat")


def test_python_in_a_web_page_is_told_why_it_sees_no_sockets(monkeypatch):
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(live.SocketsUnavailable, match=r"inside a web page .*JupyterLite"):
        live.read_sockets()


# -- any socket the kernel could describe parses back to what it was ---------------------------

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
port = st.integers(0, 65535)
u32 = st.integers(0, 2**32 - 1)


@st.composite
def kernel_sockets(draw):
    family = draw(st.sampled_from([socket.AF_INET, socket.AF_INET6]))
    addresses = ipv4 if family == socket.AF_INET else ipv6
    return {
        "family": family,
        "state": draw(st.integers(1, 12)),
        "src": draw(addresses),
        "sport": draw(port),
        "dst": draw(addresses),
        "dport": draw(port),
        "timer": draw(st.integers(0, 4)),
        "expires_ms": draw(st.integers(0, 2**31)),
        "uid": draw(u32),
        "inode": draw(u32),
        "rqueue": draw(u32),
        "wqueue": draw(u32),
    }


# No deadline: the machine these run on is shared, and an example's time says nothing here.
@settings(deadline=None, max_examples=60)
@given(st.lists(kernel_sockets(), max_size=8))
def test_any_netlink_dump_parses_back(rows):
    data = b"".join(
        diag_msg(
            r["family"], r["state"], r["src"], r["sport"], r["dst"], r["dport"],
            timer=r["timer"], expires_ms=r["expires_ms"], uid=r["uid"], inode=r["inode"],
            rqueue=r["rqueue"], wqueue=r["wqueue"],
        )
        for r in rows
    ) + nlmsg(NLMSG_DONE, bytes(4))  # fmt: skip
    sockets, done = parse_inet_diag(data)
    assert done and len(sockets) == len(rows)
    for s, r in zip(sockets, rows, strict=True):
        family = 4 if r["family"] == socket.AF_INET else 6
        assert (s.family, s.state_code, s.local_port, s.remote_port) == (
            family, r["state"], r["sport"], r["dport"],
        )  # fmt: skip
        # Compare addresses as addresses (inet_ntop may write IPv6 more compactly).
        assert socket.inet_pton(r["family"], s.local_address) == socket.inet_pton(
            r["family"], r["src"]
        )
        assert socket.inet_pton(r["family"], s.remote_address) == socket.inet_pton(
            r["family"], r["dst"]
        )
        assert (s.uid, s.inode, s.recv_queue, s.send_queue) == (
            r["uid"], r["inode"], r["rqueue"], r["wqueue"],
        )  # fmt: skip
        assert s.expires == (r["expires_ms"] / 1000 if r["timer"] else 0.0)


def _proc_hex(family: int, address: str) -> str:
    """The kernel's %08X per 32-bit word of the address, as the CPU holds the word."""
    raw = socket.inet_pton(family, address)
    return "".join(f"{struct.unpack('=I', raw[i : i + 4])[0]:08X}" for i in range(0, len(raw), 4))


@settings(deadline=None, max_examples=60)
@given(st.lists(kernel_sockets(), max_size=8))
def test_any_proc_net_tcp_line_parses_back(rows):
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        mine = [r for r in rows if r["family"] == family]
        text = "  sl  local_address rem_address   st ...\n" + "".join(
            f"{n:4d}: {_proc_hex(family, r['src'])}:{r['sport']:04X} "
            f"{_proc_hex(family, r['dst'])}:{r['dport']:04X} {r['state']:02X} "
            f"{r['wqueue']:08X}:{r['rqueue']:08X} {r['timer']:02X}:{r['expires_ms'] // 10:08X} "
            f"00000000 {r['uid']:5d}        0 {r['inode']} 1 0000000000000000 20 4 0 10 -1\n"
            for n, r in enumerate(mine)
        )
        sockets = parse_proc_net_tcp(text, version, ticks_per_second=100)
        assert [(s.state_code, s.local_port, s.remote_port, s.inode, s.uid) for s in sockets] == [
            (r["state"], r["sport"], r["dport"], r["inode"], r["uid"]) for r in mine
        ]
        for s, r in zip(sockets, mine, strict=True):
            assert socket.inet_pton(family, s.local_address) == socket.inet_pton(family, r["src"])
            assert (s.send_queue, s.recv_queue) == (r["wqueue"], r["rqueue"])
            if r["timer"]:
                assert s.expires == pytest.approx((r["expires_ms"] // 10) / 100)
