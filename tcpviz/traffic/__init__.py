"""Real traffic: packet capture replay and this machine's live sockets."""

from .live import SOURCES, LiveView, Snapshot, Socket, format_table, process_owners, read_sockets
from .sockdiag import (
    KERNEL_STATES,
    TIMERS,
    RawSocket,
    parse_inet_diag,
    parse_proc_net_tcp,
    read_proc_net_tcp,
    read_sock_diag,
)

__all__ = [
    "KERNEL_STATES",
    "SOURCES",
    "TIMERS",
    "LiveView",
    "RawSocket",
    "Snapshot",
    "Socket",
    "format_table",
    "parse_inet_diag",
    "parse_proc_net_tcp",
    "process_owners",
    "read_proc_net_tcp",
    "read_sock_diag",
    "read_sockets",
]
