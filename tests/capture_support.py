"""Write small packet captures for the replay tests: conversations scripted segment by segment.

Each capture is built with dpkt (an independent encoder, so the tests do not check tcpviz's
decoder against itself) and written as pcap or pcapng on the link type asked for.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dpkt

FLAGS = {
    "S": dpkt.tcp.TH_SYN,
    "A": dpkt.tcp.TH_ACK,
    "F": dpkt.tcp.TH_FIN,
    "R": dpkt.tcp.TH_RST,
    "P": dpkt.tcp.TH_PUSH,
}


def tcp_bytes(
    src, dst, sport, dport, flags, seq, ack, data=b"", window=65535, v6=False, options=b""
):
    """An IP packet (bytes) carrying one TCP segment, checksums filled in by dpkt; ``options``
    are the TCP options' bytes (a multiple of 4 long)."""
    bits = 0
    for letter in flags:
        bits |= FLAGS[letter]
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=bits, win=window)
    if options:
        tcp.opts = options
        tcp.off = 5 + len(options) // 4
    tcp.data = data
    if v6:
        ip = dpkt.ip6.IP6(src=src, dst=dst, nxt=6, hlim=64, data=tcp)
        ip.plen = len(bytes(tcp))
    else:
        ip = dpkt.ip.IP(src=src, dst=dst, p=6, ttl=64, data=tcp)
        ip.len = 20 + len(bytes(tcp))
    return bytes(ip)


def frame(ip: bytes, linktype: int, v6: bool = False) -> bytes:
    """Wrap an IP packet in the link layer of ``linktype``."""
    kind = 0x86DD if v6 else 0x0800
    if linktype == 1:  # Ethernet
        return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=kind)) + ip
    if linktype == 0:  # BSD null, host byte order (little-endian here)
        return struct.pack("<I", 30 if v6 else 2) + ip
    if linktype == 113:  # Linux cooked v1: packet type, ARPHRD, address length, address, protocol
        return struct.pack("!HHH8sH", 0, 772, 6, b"\0" * 8, kind) + ip
    if linktype == 276:  # Linux cooked v2: protocol, reserved, ifindex, ARPHRD, type, len, addr
        return struct.pack("!HHIHBB8s", kind, 0, 1, 772, 0, 6, b"\0" * 8) + ip
    if linktype in (101, 12):  # raw IP
        return ip
    raise ValueError(linktype)


def window_scale_option(shift: int) -> bytes:
    """A NOP and RFC 7323's window scale option (kind 3, length 3) with ``shift``."""
    return bytes([1, 3, 3, shift])


class Conversation:
    """Segments between a client and a server, with times; ``c("S", 100)``, ``s("SA", 300, 101)``."""

    def __init__(self, client="10.0.0.1", server="10.0.0.2", cport=40000, sport=80, v6=False):
        family = socket.AF_INET6 if v6 else socket.AF_INET
        self.v6 = v6
        self.client = (socket.inet_pton(family, client), cport)
        self.server = (socket.inet_pton(family, server), sport)
        self.time = 1_700_000_000.0
        self.packets: list[tuple[float, bytes]] = []

    def _add(self, src, dst, flags, seq, ack=0, data=b"", gap=0.01, window=65535, options=b""):
        self.time += gap
        ip = tcp_bytes(
            src[0], dst[0], src[1], dst[1], flags, seq, ack, data, window, self.v6, options
        )
        self.packets.append((self.time, ip))

    def c(self, flags, seq, ack=0, data=b"", gap=0.01, window=65535, options=b""):
        """The client sends a segment."""
        self._add(self.client, self.server, flags, seq, ack, data, gap, window, options)

    def s(self, flags, seq, ack=0, data=b"", gap=0.01, window=65535, options=b""):
        """The server sends a segment."""
        self._add(self.server, self.client, flags, seq, ack, data, gap, window, options)

    def write(self, path: Path, linktype: int = 1, fmt: str = "pcap") -> Path:
        """Write the conversation as a pcap (or pcapng) file on ``linktype``."""
        with open(path, "wb") as f:
            if fmt == "pcap":
                writer = dpkt.pcap.Writer(f, linktype=linktype)
            else:
                writer = dpkt.pcapng.Writer(f, linktype=linktype)
            for time, ip in self.packets:
                writer.writepkt(frame(ip, linktype, self.v6), ts=time)
        return path


def handshake_and_close(conv: Conversation, data: bytes = b"hello") -> Conversation:
    """The textbook connection: handshake, one request, the client closes first."""
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("PA", 101, 301, data)
    n = 101 + len(data)
    conv.s("A", 301, n)
    conv.c("FA", n, 301)
    conv.s("A", 301, n + 1)
    conv.s("FA", 301, n + 1)
    conv.c("A", n + 1, 302)
    return conv
