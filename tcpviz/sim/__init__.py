"""The connection simulator: segments, the endpoint (RFC 9293 3.10), the network, the clock.

The pieces, bottom up:

- :class:`Segment`: an immutable segment (ends, SEG.SEQ, SEG.ACK, flags, data length), printed
  in the table's notation (``SYN,ACK seq=300 ack=101``); ``seq_lt`` and friends compare
  sequence numbers modulo 2**32.
- :class:`Endpoint`: one end, sans-IO. User calls (``listen``, ``connect``, ``send``, ``read``,
  ``close``, ``shutdown``, ``abort``), ``receive(segment)`` and ``timeout(name)`` each return an
  :class:`Outcome`: the segments to send, the table rows fired through its
  :class:`~tcpviz.model.Machine`, timers to start and stop (:class:`Timer`), and for a segment
  the response and its reason with the RFC 9293 section. The capture replay drives it too.
- :class:`Clock` and the :class:`Profile` s ``RFC`` and ``LINUX``: simulated time and timer values.
- :class:`Connection`: two endpoints, the segments in flight (:class:`Flight`, with stable ids),
  the clock, and one history of :class:`Operation` s with undo, redo, jump and reset. Its
  :attr:`~Connection.trace` is a list of frozen :class:`TraceEvent` s (:class:`Called`,
  :class:`Sent`, :class:`Delivered`, :class:`Dropped`, :class:`Duplicated`, :class:`Delayed`,
  :class:`StateChanged`, :class:`TimerStarted`, :class:`TimerStopped`, :class:`TimerFired`),
  which the ladder draws.

>>> c = Connection()
>>> c.run("client connect", "server connect", "deliver 1", "deliver 2", "deliver 3", "deliver 4")
>>> c.states  # simultaneous open: the SYNs crossed
('ESTABLISHED', 'ESTABLISHED')
>>> [e.text for e in c.trace if isinstance(e, StateChanged) and e.end == "server"]  # doctest: +NORMALIZE_WHITESPACE
['t=0 server: CLOSED -> SYN-SENT (active OPEN / create TCB, snd SYN)',
 't=0 server: SYN-SENT -> SYN-RECEIVED (rcv SYN / snd SYN,ACK)',
 't=0 server: SYN-RECEIVED -> ESTABLISHED (rcv ACK of SYN)']
"""

from .clock import LINUX, PROFILES, RFC, TIMERS, Clock, PendingTimer, Profile, Timer, get_profile
from .connection import (
    ACTIONS,
    Called,
    Connection,
    ConnectionChange,
    Delayed,
    Delivered,
    Dropped,
    Duplicated,
    Flight,
    Operation,
    Sent,
    StateChanged,
    TimerFired,
    TimerStarted,
    TimerStopped,
    TraceEvent,
)
from .endpoint import CALLS, MAX_WINDOW, RESPONSES, TCB, Endpoint, Outcome
from .segment import (
    FLAGS,
    SEQ_MOD,
    Segment,
    flags_label,
    seq_add,
    seq_diff,
    seq_ge,
    seq_gt,
    seq_le,
    seq_lt,
)

__all__ = [
    "ACTIONS",
    "CALLS",
    "FLAGS",
    "LINUX",
    "MAX_WINDOW",
    "PROFILES",
    "RESPONSES",
    "RFC",
    "SEQ_MOD",
    "TCB",
    "TIMERS",
    "Called",
    "Clock",
    "Connection",
    "ConnectionChange",
    "Delayed",
    "Delivered",
    "Dropped",
    "Duplicated",
    "Endpoint",
    "Flight",
    "Operation",
    "Outcome",
    "PendingTimer",
    "Profile",
    "Segment",
    "Sent",
    "StateChanged",
    "Timer",
    "TimerFired",
    "TimerStarted",
    "TimerStopped",
    "TraceEvent",
    "flags_label",
    "get_profile",
    "seq_add",
    "seq_diff",
    "seq_ge",
    "seq_gt",
    "seq_le",
    "seq_lt",
]
