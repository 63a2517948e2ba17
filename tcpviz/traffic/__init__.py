"""Real traffic: packet capture replay and this machine's live sockets.

``replay(path)`` reads a pcap or pcapng file, splits it into TCP connections and infers each
endpoint's RFC 9293 state sequence, marking what the capture shows (``seen``) and what it can
only infer. ``read_sockets()`` and ``LiveView`` show this machine's sockets by state.
"""

from .capture import (
    CapturedSegment,
    Connection,
    Replay,
    example_capture,
    iter_connections,
    replay,
)
from .decode import LINKTYPES, Header, decode, flag_names
from .infer import EndpointStates, Inference, StateEntry
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
from .pcapfile import CaptureReader, Packet
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
from .summary import CONN_STATES, ZeekSummary

__all__ = [
    "CONN_STATES",
    "KERNEL_STATES",
    "LINKTYPES",
    "SOURCES",
    "TIMERS",
    "CaptureReader",
    "CapturedSegment",
    "Connection",
    "EndpointStates",
    "Header",
    "Inference",
    "LiveView",
    "Packet",
    "RawSocket",
    "Replay",
    "Sighting",
    "Snapshot",
    "Socket",
    "StateChange",
    "StateEntry",
    "StateRecorder",
    "ZeekSummary",
    "decode",
    "example_capture",
    "flag_names",
    "format_table",
    "iter_connections",
    "parse_inet_diag",
    "parse_proc_net_tcp",
    "port_filter",
    "process_owners",
    "read_proc_net_tcp",
    "read_sock_diag",
    "read_sockets",
    "replay",
]
