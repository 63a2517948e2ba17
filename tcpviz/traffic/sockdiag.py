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

import errno
import os
import socket
import struct
import sys
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "KERNEL_STATES",
    "TIMERS",
    "RawSocket",
    "dump_request",
    "parse_inet_diag",
    "parse_proc_net_tcp",
    "port_filter",
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
# inet_diag_msg: family, state, timer, retransmits (u8 each), inet_diag_sockid (48 bytes),
# expires (ms), rqueue, wqueue, uid, inode (u32 each): 72 bytes.
_MSG_SIZE = 72


class RawSocket(NamedTuple):
    """One TCP socket as the kernel reports it (state as the kernel's number).

    A named tuple: thousands are made per reading, and a tuple is quick to make."""

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


# Addresses repeat (127.0.0.1, the machine's own): each raw address is converted once.
_ADDRESSES: dict[tuple[int, bytes], str] = {}


def _address(family: int, raw: bytes) -> str:
    key = (family, raw)
    text = _ADDRESSES.get(key)
    if text is None:
        if len(_ADDRESSES) > 65536:  # bounded, whatever the machine
            _ADDRESSES.clear()
        if family == socket.AF_INET:
            text = socket.inet_ntop(socket.AF_INET, raw[:4])
        else:
            text = socket.inet_ntop(socket.AF_INET6, raw[:16])
        _ADDRESSES[key] = text
    return text


# -- sock_diag netlink --------------------------------------------------------------------


# The kernel's filter language (linux/inet_diag.h): each op is {code, yes, no}; a condition
# jumps ``yes`` bytes on to go on when true, ``no`` when false. Landing exactly at the end
# accepts the socket; landing 4 bytes past it rejects it.
INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_BC_S_EQ = 11  # local port equals (Linux 4.16 and later)
INET_DIAG_BC_D_EQ = 12  # remote port equals
_BC_OP = struct.Struct("=BBH")


def port_filter(ports: Iterable[int]) -> bytes:
    """Bytecode keeping the sockets with one of ``ports`` at either end (local or remote).

    >>> len(port_filter([80]))   # two tests of 8 bytes: local port, remote port
    16
    """
    tests = [
        (code, port)
        for port in sorted(set(ports))
        for code in (INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ)
    ]
    if not tests:
        raise ValueError("a port filter needs at least one port")
    size = 8 * len(tests)
    code = b""
    for number, (test, port) in enumerate(tests):
        left = size - 8 * number  # bytes from this test to the end
        # A match jumps to the end (accept); a miss goes to the next test, the last one past
        # the end (reject).
        code += _BC_OP.pack(test, left, 8 if number < len(tests) - 1 else left + 4)
        code += _BC_OP.pack(0, 0, port)  # the port, in the following op's ``no`` field
    return code


def dump_request(family: int, sequence: int = 1, ports: Iterable[int] = ()) -> bytes:
    """The netlink message asking for every TCP socket of ``family`` (AF_INET or AF_INET6),
    or, with ``ports``, those with one of them at either end (filtered by the kernel)."""
    body = (
        _REQ_V2.pack(family, socket.IPPROTO_TCP, 0, 0, ALL_STATES)
        + _SOCKID.pack(0, 0, bytes(16), bytes(16))
        + _SOCKID_TAIL.pack(0, 0xFFFFFFFF, 0xFFFFFFFF)  # INET_DIAG_NOCOOKIE
    )
    ports = tuple(ports)
    if ports:
        code = port_filter(ports)
        body += struct.pack("=HH", 4 + len(code), INET_DIAG_REQ_BYTECODE) + code
    header = _NLMSGHDR.pack(
        _NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0
    )
    return header + body


# The whole inet_diag_msg in one go; the ports (network order) are swapped afterwards.
_MSG = struct.Struct("=BBBBHH16s16sIIIIIIII")
assert _MSG.size == _MSG_SIZE


def parse_inet_diag(data: bytes) -> tuple[list[RawSocket], bool]:
    """Parse netlink replies to :func:`dump_request`.

    Returns the sockets and whether the dump's end (``NLMSG_DONE``) was in ``data``.
    An ``NLMSG_ERROR`` reply raises :class:`OSError` with the kernel's errno; a message
    longer than what is left raises :class:`ValueError`.
    """
    sockets: list[RawSocket] = []
    append, unpack, header = sockets.append, _MSG.unpack_from, _NLMSGHDR
    ntohs, address = socket.ntohs, _address
    offset, end = 0, len(data)
    while offset + header.size <= end:
        length, kind, _flags, _seq, _pid = header.unpack_from(data, offset)
        if length < header.size or offset + length > end:
            raise ValueError(
                f"netlink message at byte {offset} claims {length} bytes, {end - offset} are left"
            )
        body = offset + header.size
        if kind == SOCK_DIAG_BY_FAMILY and length - header.size >= _MSG_SIZE:
            (
                family, state, timer, retrans, sport, dport, src, dst,
                _if, _c0, _c1, expires, rqueue, wqueue, uid, inode,
            ) = unpack(data, body)  # fmt: skip
            append(
                RawSocket(
                    4 if family == socket.AF_INET else 6,
                    state,
                    address(family, src),
                    ntohs(sport),
                    address(family, dst),
                    ntohs(dport),
                    timer,
                    expires / 1000 if timer else 0.0,
                    retrans,
                    rqueue,
                    wqueue,
                    uid,
                    inode,
                )
            )
        elif kind == NLMSG_DONE:
            return sockets, True
        elif kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, body)
            if error != 0:  # 0 is an acknowledgement, not an error
                raise OSError(-error, f"sock_diag: {os.strerror(-error)}")
        offset += (length + 3) & ~3  # messages are aligned to 4 bytes
    return sockets, False


def read_sock_diag(timeout: float = 2.0, ports: Iterable[int] = ()) -> list[RawSocket]:
    """Every IPv4 and IPv6 TCP socket, through sock_diag netlink (Linux only).

    With ``ports``, only the sockets with one of them at either end: the kernel filters, so
    the cost no longer grows with the machine's other sockets. (A kernel older than 4.16,
    which refuses the filter, gets the whole list, filtered here.)

    Raises :class:`OSError` where netlink or sock_diag is not available (other systems, some
    containers), and :class:`TimeoutError` when the kernel does not finish a dump in
    ``timeout`` seconds.
    """
    family_netlink = getattr(socket, "AF_NETLINK", None)
    if family_netlink is None:
        raise OSError(f"sock_diag netlink is Linux only (this is {sys.platform})")
    ports = tuple(ports)
    try:
        return _dump(family_netlink, timeout, ports)
    except OSError as error:
        if not ports or error.errno != errno.EINVAL:
            raise
    wanted = set(ports)
    return [
        s
        for s in _dump(family_netlink, timeout, ())
        if s.local_port in wanted or s.remote_port in wanted
    ]


def _dump(family_netlink: int, timeout: float, ports: tuple[int, ...]) -> list[RawSocket]:
    found: list[RawSocket] = []
    with socket.socket(family_netlink, socket.SOCK_DGRAM, NETLINK_INET_DIAG) as nl:
        nl.settimeout(timeout)
        for sequence, family in enumerate((socket.AF_INET, socket.AF_INET6), start=1):
            nl.sendto(dump_request(family, sequence, ports), (0, 0))
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
