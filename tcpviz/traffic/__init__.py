"""Real traffic: packet capture replay and this machine's live sockets.

``replay(path)`` reads a pcap or pcapng file, splits it into TCP connections and infers each
endpoint's RFC 9293 state sequence, marking what the capture shows (``seen``) and what it can
only infer.
"""

from .capture import CapturedSegment, Connection, Replay, iter_connections, replay
from .decode import LINKTYPES, Header, decode, flag_names
from .infer import EndpointStates, Inference, StateChange
from .pcapfile import CaptureReader, Packet
from .summary import CONN_STATES, ZeekSummary

__all__ = [
    "CONN_STATES",
    "LINKTYPES",
    "CaptureReader",
    "CapturedSegment",
    "Connection",
    "EndpointStates",
    "Header",
    "Inference",
    "Packet",
    "Replay",
    "StateChange",
    "ZeekSummary",
    "decode",
    "flag_names",
    "iter_connections",
    "replay",
]
