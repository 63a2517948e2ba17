"""The ladder of a replayed connection: its captured segments between both ends' timelines.

Capture replay (:mod:`tcpviz.traffic`) and the ladder (:mod:`tcpviz.drawing`) sit side by side
and know nothing of each other; this module, above both, draws one with the other. Each segment
is an arrow from its sender to its receiver; each end's states are written on its timeline
where they change. A segment arrives where the state change it caused is written: replay dates
that change by what the receiver sent later, so in a simultaneous close the two FINs cross.
"""

from __future__ import annotations

from ..drawing import Ladder, LadderSegment, LadderTrace
from ..drawing.ladder import StateChange as LadderState
from ..traffic import Connection

__all__ = ["replay_ladder", "replay_trace"]

_CALLS = frozenset({"active OPEN", "CLOSE", "ABORT", "SEND"})


def replay_trace(connection: Connection) -> LadderTrace:
    """The :class:`~tcpviz.drawing.LadderTrace` of a replayed connection (logical steps; times
    are seconds from its first segment)."""
    start = connection.first
    ends = connection.endpoints
    names = tuple(f"{e.role} {e.address}:{e.port}" for e in ends)
    if len(names) == 1:  # a self-connect: one socket, drawn talking to itself
        names = (names[0], names[0] + " (the same socket)")
    # Two rows per segment: sent on one, at the earliest received on the next.
    sent = {s.number: 2 * i + 1 for i, s in enumerate(connection.segments)}
    arrives = {number: step + 1 for number, step in sent.items()}
    times = {s.number: s.time - start for s in connection.segments}
    last = 2 * len(connection.segments) + 1
    states: list[LadderState] = []
    for index, end in enumerate(ends):
        mine: list[LadderState] = []
        at = 0
        for change in end.changes:
            cause = change.cause if change.cause in sent else None
            if cause is None:
                if at == 0:
                    # Before the capture shows anything (CLOSED, LISTEN): the last of them is
                    # where the timeline starts.
                    mine = []
                    step = 0
                else:
                    step = max(last, at + 1)  # a timer after the capture (2MSL)
            elif change.event in _CALLS:
                step = max(sent[cause], at)
            else:
                # A delivery: the receiver took the segment after what it had already done.
                step = max(arrives[cause], at + 1)
                arrives[cause] = step
            at = step
            time = change.time - start if change.time is not None else times.get(cause or 0, 0.0)
            mine.append(LadderState(index, step, change.state, time, change.event or ""))
        states += mine
    segments = tuple(
        LadderSegment(
            s.number,
            s.sender if len(ends) == 2 else 0,
            s.flag_text,
            s.seq,
            s.ack if s.flags & 0x10 else None,
            s.length,
            sent[s.number],
            times[s.number],
            fate="delivered",
            end_step=arrives[s.number],
            end_time=times[s.number],
            retransmission=s.kind == "retransmission",
            duplicate=s.kind == "duplicate",
            note="" if s.kind == "new" else s.kind,
        )
        for s in connection.segments
    )
    return LadderTrace(
        ends=names,  # type: ignore[arg-type]
        segments=segments,
        states=tuple(sorted(states, key=lambda s: (s.end, s.step))),
        title=f"connection {connection.number}: {connection.describe()}",
    )


def replay_ladder(connection: Connection, *, theme: str = "light") -> Ladder:
    """The ladder diagram of a replayed connection (shows itself in Jupyter, saves SVG, PNG,
    PDF or Mermaid).

    >>> from tcpviz.traffic import example_capture, replay
    >>> ladder = replay_ladder(replay(example_capture()).connection(1))
    >>> "TIME-WAIT" in ladder.svg() and "SYN,ACK" in ladder.svg()
    True
    """
    return Ladder(replay_trace(connection), theme=theme)
