"""Read this machine's TCP sockets from the Linux kernel: sock_diag netlink, or /proc/net/tcp.

Both readers use the standard library alone and give the same rows: family, the kernel's state
code, addresses and ports, the timer the kernel has running for the socket and the time left on
it, the queues, the owner's uid and the socket's inode (0 for a socket no process holds any more,
such as one in TIME-WAIT). The parsers take bytes or text, so tests feed them recorded replies.

sock_diag (``NETLINK_INET_DIAG``, see ``man 7 sock_diag``) is one request per address family:
an ``inet_diag_req_v2`` asking for every state, answered by one ``inet_diag_msg`` per socket.
/proc/net/tcp and tcp6 print the same kernel fields as hexadecimal text.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "KERNEL_STATES",
    "TIMERS",
    "RawSocket",
    "dump_request",
    "parse_inet_diag",
    "parse_proc_net_tcp",
    "read_proc_net_tcp",
    "read_sock_diag",
]

#: The kernel's ``enum tcp_state`` (include/net/tcp_states.h), as RFC 9293 names them.
KERNEL_STATES: dict[int, str] = {
    1: "ESTABLISHED",
    2: "SYN-SENT",
    3: "SYN-RECEIVED",
    4: "FIN-WAIT-1",
    5: "FIN-WAIT-2",
    6: "TIME-WAIT",
    7: "CLOSED",
    8: "CLOSE-WAIT",
    9: "LAST-ACK",
    10: "LISTEN",
    11: "CLOSING",
    # 12 is TCP_NEW_SYN_RECV: a request socket, a passive open's SYN-RECEIVED before accept.
    12: "SYN-RECEIVED",
}

#: ``idiag_timer`` and the ``tr`` column of /proc/net/tcp: which timer is running.
TIMERS: dict[int, str | None] = {
    0: None,
    1: "retransmit",
    2: "keepalive",  # also the FIN-WAIT-2 timeout of a socket closed while still held open
    3: "time-wait",  # a timewait socket: TIME-WAIT, or FIN-WAIT-2 after close() (its substate)
    4: "zero-window probe",
}

# Netlink and sock_diag constants (linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h).
NETLINK_INET_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
ALL_STATES = 0xFFF  # bits 1 to 11; asking for SYN_RECV also brings TCP_NEW_SYN_RECV (12)

_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
# inet_diag_req_v2: family, protocol, extensions, pad, states; then inet_diag_sockid.
_REQ_V2 = struct.Struct("=BBBBI")
# inet_diag_sockid: ports in network order, addresses as 16 raw bytes, interface, cookie.
_SOCKID = struct.Struct("!HH16s16s")
_SOCKID_TAIL = struct.Struct("=III")  # interface, cookie[2] (host order)
# inet_diag_msg: family, state, timer, retransmits, sockid, expires (ms), rqueue, wqueue, uid,
# inode.
_MSG_HEAD = struct.Struct("=BBBB")
_MSG_TAIL = struct.Struct("=IIIII")
_MSG_SIZE = _MSG_HEAD.size + _SOCKID.size + _SOCKID_TAIL.size + _MSG_TAIL.size  # 72 bytes


@dataclass(frozen=True)
class RawSocket:
    """One TCP socket as the kernel reports it (state as the kernel's number)."""

    family: int  #: 4 or 6
    state_code: int  #: the kernel's enum tcp_state value (see KERNEL_STATES)
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    timer_code: int  #: see TIMERS
    expires: float  #: seconds left on the timer (0 when none runs)
    retransmits: int
    recv_queue: int
    send_queue: int
    uid: int
    inode: int  #: 0 when no process holds the socket (TIME-WAIT, an orphan after close())


def _address(family: int, raw: bytes) -> str:
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    return socket.inet_ntop(socket.AF_INET6, raw[:16])


# -- sock_diag netlink --------------------------------------------------------------------


def dump_request(family: int, sequence: int = 1) -> bytes:
    """The netlink message asking for every TCP socket of ``family`` (AF_INET or AF_INET6)."""
    body = (
        _REQ_V2.pack(family, socket.IPPROTO_TCP, 0, 0, ALL_STATES)
        + _SOCKID.pack(0, 0, bytes(16), bytes(16))
        + _SOCKID_TAIL.pack(0, 0xFFFFFFFF, 0xFFFFFFFF)  # INET_DIAG_NOCOOKIE
    )
    header = _NLMSGHDR.pack(
        _NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0
    )
    return header + body


def _messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Each netlink message in ``data``: (type, payload)."""
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            raise ValueError(
                f"netlink message at byte {offset} claims {length} bytes, "
                f"{len(data) - offset} are left"
            )
        yield kind, data[offset + _NLMSGHDR.size : offset + length]
        offset += (length + 3) & ~3  # messages are aligned to 4 bytes


def parse_inet_diag(data: bytes) -> tuple[list[RawSocket], bool]:
    """Parse netlink replies to :func:`dump_request`.

    Returns the sockets and whether the dump's end (``NLMSG_DONE``) was in ``data``.
    An ``NLMSG_ERROR`` reply raises :class:`OSError` with the kernel's errno.
    """
    sockets: list[RawSocket] = []
    for kind, payload in _messages(data):
        if kind == NLMSG_DONE:
            return sockets, True
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", payload)
            if error == 0:  # an acknowledgement, not an error
                continue
            raise OSError(-error, f"sock_diag: {os.strerror(-error)}")
        if kind != SOCK_DIAG_BY_FAMILY or len(payload) < _MSG_SIZE:
            continue
        family, state, timer, retrans = _MSG_HEAD.unpack_from(payload)
        sport, dport, src, dst = _SOCKID.unpack_from(payload, _MSG_HEAD.size)
        tail = _MSG_HEAD.size + _SOCKID.size + _SOCKID_TAIL.size
        expires, rqueue, wqueue, uid, inode = _MSG_TAIL.unpack_from(payload, tail)
        sockets.append(
            RawSocket(
                family=4 if family == socket.AF_INET else 6,
                state_code=state,
                local_address=_address(family, src),
                local_port=sport,
                remote_address=_address(family, dst),
                remote_port=dport,
                timer_code=timer,
                expires=expires / 1000 if timer else 0.0,
                retransmits=retrans,
                recv_queue=rqueue,
                send_queue=wqueue,
                uid=uid,
                inode=inode,
            )
        )
    return sockets, False


def read_sock_diag(timeout: float = 2.0) -> list[RawSocket]:
    """Every IPv4 and IPv6 TCP socket, through sock_diag netlink (Linux only).

    Raises :class:`OSError` where netlink or sock_diag is not available (other systems, some
    containers), and :class:`TimeoutError` when the kernel does not finish a dump in
    ``timeout`` seconds.
    """
    family_netlink = getattr(socket, "AF_NETLINK", None)
    if family_netlink is None:
        raise OSError(f"sock_diag netlink is Linux only (this is {sys.platform})")
    found: list[RawSocket] = []
    with socket.socket(family_netlink, socket.SOCK_DGRAM, NETLINK_INET_DIAG) as nl:
        nl.settimeout(timeout)
        for sequence, family in enumerate((socket.AF_INET, socket.AF_INET6), start=1):
            nl.sendto(dump_request(family, sequence), (0, 0))
            while True:  # ends at NLMSG_DONE; each recv is bounded by the timeout
                sockets, done = parse_inet_diag(nl.recv(1 << 16))
                found.extend(sockets)
                if done:
                    break
    return found


# -- /proc/net/tcp ------------------------------------------------------------------------

# The kernel prints each 32-bit word of an address as the hex of its value in host order.
_WORD = struct.Struct("=I")


def _proc_address(text: str) -> tuple[str, int]:
    address, _, port = text.partition(":")
    raw = b"".join(_WORD.pack(int(address[i : i + 8], 16)) for i in range(0, len(address), 8))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw), int(port, 16)


def parse_proc_net_tcp(text: str, family: int, ticks_per_second: int = 100) -> list[RawSocket]:
    """Parse /proc/net/tcp (``family`` 4) or /proc/net/tcp6 (``family`` 6).

    ``ticks_per_second`` is USER_HZ (``os.sysconf("SC_CLK_TCK")``, 100 on Linux), the unit of
    the ``tm->when`` column. Lines that do not parse raise :class:`ValueError` naming them.
    """
    sockets = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] == "sl":
            continue
        try:
            local, remote = _proc_address(fields[1]), _proc_address(fields[2])
            tx_queue, rx_queue = (int(x, 16) for x in fields[4].split(":"))
            timer, when = (int(x, 16) for x in fields[5].split(":"))
            retransmits = int(fields[6], 16)
            uid, inode = int(fields[7]), int(fields[9])
            state = int(fields[3], 16)
        except (IndexError, ValueError):
            raise ValueError(f"/proc/net/tcp line {number} does not parse: {line!r}") from None
        sockets.append(
            RawSocket(
                family=family,
                state_code=state,
                local_address=local[0],
                local_port=local[1],
                remote_address=remote[0],
                remote_port=remote[1],
                timer_code=timer,
                expires=when / ticks_per_second if timer else 0.0,
                retransmits=retransmits,
                recv_queue=rx_queue,
                send_queue=tx_queue,
                uid=uid,
                inode=inode,
            )
        )
    return sockets


def read_proc_net_tcp(root: str = "/proc") -> list[RawSocket]:
    """Every IPv4 and IPv6 TCP socket, from ``/proc/net/tcp`` and ``tcp6`` (Linux only).

    A missing tcp6 (IPv6 disabled) is skipped; a missing tcp raises :class:`OSError`.
    """
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = []
    for name, family in (("tcp", 4), ("tcp6", 6)):
        try:
            with open(f"{root}/net/{name}", encoding="ascii") as file:
                text = file.read()
        except FileNotFoundError:
            if family == 6:
                continue
            raise
        found.extend(parse_proc_net_tcp(text, family, ticks))
    return found
