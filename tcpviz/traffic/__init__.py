"""Real traffic: packet capture replay and this machine's live sockets."""

from .live import (
    SOURCES,
    LiveView,
    Snapshot,
    Socket,
    StateChange,
    format_table,
    process_owners,
    read_sockets,
)
from .recorder import Sighting, StateRecorder
from .sockdiag import (
    KERNEL_STATES,
    TIMERS,
    RawSocket,
    parse_inet_diag,
    parse_proc_net_tcp,
    port_filter,
    read_proc_net_tcp,
    read_sock_diag,
)

__all__ = [
    "KERNEL_STATES",
    "SOURCES",
    "TIMERS",
    "LiveView",
    "RawSocket",
    "Sighting",
    "Snapshot",
    "Socket",
    "StateChange",
    "StateRecorder",
    "format_table",
    "parse_inet_diag",
    "parse_proc_net_tcp",
    "port_filter",
    "process_owners",
    "read_proc_net_tcp",
    "read_sock_diag",
    "read_sockets",
]
