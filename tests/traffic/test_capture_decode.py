"""The header decoder against dpkt, field by field, on random segments and every link type."""

from __future__ import annotations

import socket

import dpkt
import pytest
from capture_support import frame, tcp_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.traffic.decode import LINKTYPES, Header, decode, flag_names, format_address

u32 = st.integers(0, 2**32 - 1)
port = st.integers(1, 65535)


@settings(max_examples=200, deadline=None)
@given(
    v6=st.booleans(),
    linktype=st.sampled_from([0, 1, 101, 113, 276]),
    sport=port,
    dport=port,
    seq=u32,
    ack=u32,
    flags=st.text("SAFRP", max_size=5),
    data=st.binary(max_size=40),
    window=st.integers(0, 65535),
)
def test_decode_matches_dpkt(v6, linktype, sport, dport, seq, ack, flags, data, window):
    if v6:
        src, dst = (
            socket.inet_pton(socket.AF_INET6, "fe80::1"),
            socket.inet_pton(socket.AF_INET6, "2001:db8::ff"),
        )
    else:
        src, dst = bytes([192, 168, 1, 1]), bytes([10, 9, 8, 7])
    ip = tcp_bytes(src, dst, sport, dport, flags, seq, ack, data, window, v6)
    h = decode(linktype, frame(ip, linktype, v6))
    assert isinstance(h, Header)
    parsed = dpkt.ip6.IP6(ip) if v6 else dpkt.ip.IP(ip)
    tcp = parsed.data
    assert (h.src, h.dst) == (parsed.src, parsed.dst)
    assert (h.sport, h.dport, h.seq, h.ack) == (tcp.sport, tcp.dport, tcp.seq, tcp.ack)
    assert (h.flags, h.window, h.length) == (tcp.flags, tcp.win, len(tcp.data))


def test_length_comes_from_ip_even_when_the_frame_is_cut_short():
    ip = tcp_bytes(bytes(4), bytes(4), 1, 2, "PA", 5, 6, b"x" * 1000)
    h = decode(101, ip[:54])  # a snaplen of 54 keeps the headers only
    assert isinstance(h, Header) and h.length == 1000


def test_ethernet_padding_is_not_data():
    ip = tcp_bytes(bytes(4), bytes(4), 1, 2, "A", 5, 6)
    h = decode(1, frame(ip, 1) + b"\0" * 6)  # padded to Ethernet's 60-byte minimum
    assert h.length == 0


def test_vlan_tags_and_window_scale_option():
    tcp = dpkt.tcp.TCP(sport=1, dport=2, seq=3, flags=dpkt.tcp.TH_SYN, opts=b"\x01\x03\x03\x07")
    tcp.off = 6
    ip = dpkt.ip.IP(src=bytes(4), dst=bytes(4), p=6, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    tagged = b"\x04" * 6 + b"\x02" * 6 + b"\x81\x00\x00\x05" + b"\x08\x00" + bytes(ip)
    h = decode(1, tagged)
    assert isinstance(h, Header) and h.wscale == 7 and h.seq == 3


@pytest.mark.parametrize(
    ("linktype", "data", "reason"),
    [
        (1, b"\x00" * 12 + b"\x08\x06" + b"\0" * 28, "not IP"),
        (1, b"\x00" * 10, "short"),
        (101, bytes(ip := tcp_bytes(bytes(4), bytes(4), 1, 2, "A", 0, 0))[:30], "short"),
        (101, b"\x45" + b"\0" * 8 + b"\x11" + b"\0" * 10, "not TCP"),
        (101, b"\x45\0\0\x28\0\0\x00\x10\x40\x06" + b"\0" * 30, "fragment"),
        (101, b"\x41" + b"\0" * 39, "bad header"),
    ],
)
def test_frames_that_are_not_tcp_say_why(linktype, data, reason):
    assert decode(linktype, data) == reason


def test_names():
    assert (
        flag_names(0x12) == "SYN,ACK" and flag_names(0x11) == "FIN,ACK" and flag_names(0) == "none"
    )
    assert format_address(bytes([127, 0, 0, 1])) == "127.0.0.1"
    assert format_address(bytes(15) + b"\x01") == "::1"
    assert 276 in LINKTYPES and 113 in LINKTYPES
