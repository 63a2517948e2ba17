"""Decode the link, IP and TCP headers of a captured frame into the few fields replay needs.

Hand-written with :mod:`struct` on purpose: a TCP state machine needs ports, sequence and
acknowledgement numbers, flags, window and length, and unpacking exactly those is several times
faster than building a full packet object per frame (the tests check every field against dpkt).

Link types (the numbers of the tcpdump.org LINKTYPE registry): Ethernet (with 802.1Q/802.1ad
VLAN tags), BSD loopback/null and OpenBSD loop, Linux cooked capture v1 and v2 (``tcpdump -i
any``), raw IP (IPv4 or IPv6). IPv4 with options; IPv6 with hop-by-hop, routing, destination
options and fragment headers. A frame that is not TCP is counted by why (see :data:`SKIPS`).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "ACK",
    "FIN",
    "LINKTYPES",
    "PSH",
    "RST",
    "SKIPS",
    "SYN",
    "URG",
    "Header",
    "decode",
    "flag_names",
    "format_address",
    "link_decoder",
]

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"), (URG, "URG"))

#: The link types replay decodes: number -> name (as tcpdump's LINKTYPE registry spells it).
LINKTYPES: dict[int, str] = {
    0: "NULL (BSD loopback)",
    1: "ETHERNET",
    12: "RAW (IP)",
    14: "RAW (IP, OpenBSD)",
    101: "RAW (IP)",
    108: "LOOP (OpenBSD loopback)",
    113: "LINUX_SLL (cooked, tcpdump -i any)",
    228: "IPV4",
    229: "IPV6",
    276: "LINUX_SLL2 (cooked v2, tcpdump -i any)",
}

#: Why a frame is not a TCP segment, as counted in ``Replay.skipped``.
SKIPS: dict[str, str] = {
    "not IP": "frames that carry no IP packet (ARP, LLDP, ...)",
    "not TCP": "IP packets of another protocol (UDP, ICMP, ...)",
    "fragment": "IP fragments after the first (they carry no TCP header)",
    "short": "frames cut short before the end of the TCP header (a small snaplen)",
    "bad header": "headers whose length fields make no sense",
}


class Header(NamedTuple):
    """The TCP header fields of one segment, with its IP addresses (packed bytes)."""

    src: bytes
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    #: Bytes of data (from the IP length, so right even when the capture cut the frame short).
    length: int
    #: The window scale option's shift (SYN segments only), or -1 when absent.
    wscale: int = -1


_u16 = struct.Struct("!H").unpack_from
_u32 = struct.Struct("!I").unpack_from
_tcp = struct.Struct("!HHIIBBH").unpack_from

# A link decoder returns (IP version, offset of the IP header), or a skip reason (a str).
LinkDecoder = Callable[[bytes], "tuple[int, int] | str"]

_ETHERTYPES = {0x0800: 4, 0x86DD: 6}
_VLAN = (0x8100, 0x88A8, 0x9100)
# Address family values of the null/loopback header: AF_INET is 2 everywhere, AF_INET6 is 10
# on Linux, 23 on Windows, 24, 28 or 30 on the BSDs and macOS.
_AF = {2: 4, 10: 6, 23: 6, 24: 6, 28: 6, 30: 6}


def _ethernet(data: bytes) -> tuple[int, int] | str:
    if len(data) < 14:
        return "short"
    kind = (data[12] << 8) | data[13]
    at = 14
    while kind in _VLAN:  # bounded: each tag moves at forward by 4
        if len(data) < at + 4:
            return "short"
        kind = (data[at + 2] << 8) | data[at + 3]
        at += 4
    version = _ETHERTYPES.get(kind)
    return (version, at) if version else "not IP"


def _null(data: bytes) -> tuple[int, int] | str:
    if len(data) < 4:
        return "short"
    # Written in the capturing host's byte order: try both (the values are small).
    family = data[0] | data[1] << 8 if data[2] == data[3] == 0 else data[3] | data[2] << 8
    version = _AF.get(family)
    return (version, 4) if version else "not IP"


def _loop(data: bytes) -> tuple[int, int] | str:
    if len(data) < 4:
        return "short"
    version = _AF.get(_u32(data)[0])
    return (version, 4) if version else "not IP"


def _sll(data: bytes) -> tuple[int, int] | str:
    if len(data) < 16:
        return "short"
    version = _ETHERTYPES.get((data[14] << 8) | data[15])
    return (version, 16) if version else "not IP"


def _sll2(data: bytes) -> tuple[int, int] | str:
    if len(data) < 20:
        return "short"
    version = _ETHERTYPES.get((data[0] << 8) | data[1])
    return (version, 20) if version else "not IP"


def _raw(data: bytes) -> tuple[int, int] | str:
    if not data:
        return "short"
    version = data[0] >> 4
    return (version, 0) if version in (4, 6) else "not IP"


_LINK_DECODERS: dict[int, LinkDecoder] = {
    0: _null,
    1: _ethernet,
    12: _raw,
    14: _raw,
    101: _raw,
    108: _loop,
    113: _sll,
    228: _raw,
    229: _raw,
    276: _sll2,
}
assert set(_LINK_DECODERS) == set(LINKTYPES)

# IPv6 extension headers that may stand between the IPv6 header and TCP.
_IPV6_EXTENSIONS = (0, 43, 60)
_IPV6_FRAGMENT = 44


def link_decoder(linktype: int) -> LinkDecoder | None:
    """The function finding the IP header in frames of ``linktype`` (``None``: unsupported)."""
    return _LINK_DECODERS.get(linktype)


def decode(linktype: int, data: bytes) -> Header | str:
    """The TCP header of a frame, or why the frame is not a TCP segment (a key of :data:`SKIPS`).

    Unsupported link types raise ``KeyError``; check with :func:`link_decoder` first.
    """
    found = _LINK_DECODERS[linktype](data)
    if isinstance(found, str):
        return found
    version, at = found
    return decode_ip(data, at, version)


def decode_ip(data: bytes, at: int, version: int) -> Header | str:
    """Decode the IP and TCP headers starting at offset ``at`` of ``data``."""
    if version == 4:
        if len(data) < at + 20:
            return "short"
        ihl = (data[at] & 0x0F) * 4
        if data[at] >> 4 != 4 or ihl < 20:
            return "bad header"
        if data[at + 9] != 6:
            return "not TCP"
        if ((data[at + 6] & 0x1F) << 8) | data[at + 7]:
            return "fragment"
        total = (data[at + 2] << 8) | data[at + 3]
        if total == 0:
            # TCP segmentation offload: the capture holds the packet before the NIC split it
            # and the kernel wrote 0 as its length; the frame itself is all there is.
            total = len(data) - at
        src = data[at + 12 : at + 16]
        dst = data[at + 16 : at + 20]
        tcp_at = at + ihl
        payload = total - ihl
    elif version == 6:
        if len(data) < at + 40:
            return "short"
        if data[at] >> 4 != 6:
            return "bad header"
        payload = (data[at + 4] << 8) | data[at + 5]
        following = data[at + 6]
        src = data[at + 8 : at + 24]
        dst = data[at + 24 : at + 40]
        tcp_at = at + 40
        for _ in range(8):  # bounded: no real packet has more extension headers than this
            if following == 6:
                break
            if following in _IPV6_EXTENSIONS:
                if len(data) < tcp_at + 8:
                    return "short"
                size = (data[tcp_at + 1] + 1) * 8
            elif following == _IPV6_FRAGMENT:
                if len(data) < tcp_at + 8:
                    return "short"
                if ((data[tcp_at + 2] << 8) | data[tcp_at + 3]) & 0xFFF8:
                    return "fragment"
                size = 8
            else:
                return "not TCP"
            following = data[tcp_at]
            tcp_at += size
            payload -= size
        else:
            return "not TCP"
    else:
        return "not IP"
    if len(data) < tcp_at + 20:
        return "short"
    sport, dport, seq, ack, offset, flags, window = _tcp(data, tcp_at)
    header_length = (offset >> 4) * 4
    length = payload - header_length
    if header_length < 20 or length < 0:
        return "bad header"
    wscale = -1
    if flags & SYN and header_length > 20:
        wscale = _window_scale(data, tcp_at + 20, tcp_at + header_length)
    return Header(src, sport, dst, dport, seq, ack, flags, window, length, wscale)


def _window_scale(data: bytes, at: int, end: int) -> int:
    end = min(end, len(data))
    while at < end:  # bounded: each option moves at forward by at least one byte
        kind = data[at]
        if kind == 0:
            break
        if kind == 1:
            at += 1
            continue
        if at + 1 >= end:
            break
        size = data[at + 1]
        if kind == 3 and size == 3 and at + 2 < end:
            return min(data[at + 2], 14)  # RFC 7323 2.3: larger shifts are taken as 14
        if size < 2:
            break
        at += size
    return -1


def flag_names(flags: int) -> str:
    """The flags of a segment the way the RFC writes them: ``'SYN,ACK'``, ``'FIN,PSH,ACK'``."""
    return ",".join(name for bit, name in _FLAG_NAMES if flags & bit) or "none"


def format_address(address: bytes) -> str:
    """``b'\\x7f\\x00\\x00\\x01'`` -> ``'127.0.0.1'``; 16 bytes are written as IPv6."""
    return socket.inet_ntop(socket.AF_INET6 if len(address) == 16 else socket.AF_INET, address)
