"""The ladder of a replayed connection: its captured segments between both ends' timelines.

Capture replay (:mod:`tcpviz.traffic`) and the ladder (:mod:`tcpviz.drawing`) sit side by side
and know nothing of each other; this module, above both, draws one with the other. Each segment
is an arrow from its sender to its receiver; each end's states are written on its timeline
where they change. A segment arrives where the state change it caused is written: replay dates
that change by what the receiver sent later, so in a simultaneous close the two FINs cross.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..drawing import Ladder, LadderSegment, LadderTrace, check_theme
from ..drawing.diagram import highlight, layout_svg
from ..drawing.ladder import TIMES
from ..drawing.ladder import StateChange as LadderState
from ..errors import WidgetError
from ..model.table import Table, tcp_table
from ..teach.player import HISTORY_SHOWN, Player, RecordedTrack
from ..traffic import CapturedSegment, CaptureReader, Connection, StateEntry, decode

__all__ = ["ReplayView", "replay_ladder", "replay_trace", "window_scales"]

_SYN, _FIN, _ACK = 0x02, 0x01, 0x10

_CALLS = frozenset({"active OPEN", "CLOSE", "ABORT", "SEND"})


def replay_trace(connection: Connection) -> LadderTrace:
    """The :class:`~tcpviz.drawing.LadderTrace` of a replayed connection (logical steps; times
    are seconds from its first segment)."""
    return _replay_rows(connection)[0]


def _replay_rows(
    connection: Connection,
) -> tuple[LadderTrace, list[list[tuple[int, StateEntry]]]]:
    """The ladder trace, and for each end every state entry with the ladder row it is written
    on (the entries before the capture shows anything on row 0)."""
    start = connection.first
    ends = connection.endpoints
    # An IPv6 address in brackets before its port, as in a URL (RFC 3986): [2001:db8::1]:80.
    names = tuple(
        f"{e.role} [{e.address}]:{e.port}" if ":" in e.address else f"{e.role} {e.address}:{e.port}"
        for e in ends
    )
    if len(names) == 1:  # a self-connect: one socket, drawn talking to itself
        names = (names[0], names[0] + " (the same socket)")
    # Two rows per segment: sent on one, at the earliest received on the next.
    sent = {s.number: 2 * i + 1 for i, s in enumerate(connection.segments)}
    arrives = {number: step + 1 for number, step in sent.items()}
    times = {s.number: s.time - start for s in connection.segments}
    last = 2 * len(connection.segments) + 1
    states: list[LadderState] = []
    rows: list[list[tuple[int, StateEntry]]] = []
    for index, end in enumerate(ends):
        mine: list[LadderState] = []
        placed: list[tuple[int, StateEntry]] = []
        at = 0
        for change in end.changes:
            cause = change.cause if change.cause in sent else None
            if change.previous is None and at == 0:
                # The state it was in before the capture shows anything (CLOSED, or where a
                # capture that starts mid-connection finds it): the top of its timeline.
                mine = []
                step = 0
            elif cause is None:
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
            placed.append((step, change))
        states += mine
        rows.append(placed)
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
    trace = LadderTrace(
        ends=names,  # type: ignore[arg-type]
        segments=segments,
        states=tuple(sorted(states, key=lambda s: (s.end, s.step))),
        title=f"connection {connection.number}: {connection.describe()}",
    )
    return trace, rows


def replay_ladder(connection: Connection, *, theme: str = "light") -> Ladder:
    """The ladder diagram of a replayed connection (shows itself in Jupyter, saves SVG, PNG,
    PDF or Mermaid).

    >>> from tcpviz.traffic import example_capture, replay
    >>> ladder = replay_ladder(replay(example_capture()).connection(1))
    >>> "TIME-WAIT" in ladder.svg() and "SYN,ACK" in ladder.svg()
    True
    """
    return Ladder(replay_trace(connection), theme=theme)


def window_scales(source: str | os.PathLike[str], connection: Connection) -> tuple[int, int] | None:
    """Each end's window scale shift (RFC 7323 section 2) for ``connection`` of the capture
    file ``source``: what the SYN each end sent carried in its options, read again from the
    capture (the replay keeps the window field of each segment, not the options of its SYN).

    Scaling is in effect only when both SYNs carried the option; otherwise both shifts are 0.
    ``None`` when it cannot be known: the capture does not hold both ends' SYNs (it starts
    mid-connection, or the SYN,ACK never came), or the connection is a self-connect.

    >>> from tcpviz.traffic import example_capture, replay
    >>> window_scales(example_capture(), replay(example_capture()).connection(1))
    (10, 10)
    """
    if len(connection.endpoints) != 2:
        return None
    syns: dict[int, CapturedSegment] = {}
    for s in connection.segments:
        if s.flags & _SYN and s.sender not in syns:
            syns[s.sender] = s
    if len(syns) < 2:
        return None
    wanted = {s.frame: s for s in syns.values()}
    found: dict[int, int] = {}
    last = max(wanted)
    with CaptureReader(source) as reader:
        for packet in reader:  # bounded: stops at the later SYN's frame
            segment = wanted.get(packet.number)
            if segment is not None:
                header = decode(packet.linktype, packet.data)
                if isinstance(header, str) or header.seq != segment.raw_seq:
                    return None  # not the segment replay saw: a different file
                found[segment.sender] = header.wscale
            if packet.number >= last:
                break
    if len(found) < 2:
        return None
    if found[0] < 0 or found[1] < 0:
        return (0, 0)  # one end offered no scaling: neither window is scaled
    # RFC 7323 2.3: a shift over 14 is taken as 14.
    return (min(found[0], 14), min(found[1], 14))


# -- stepping through a replayed connection -------------------------------------------------------

_REPEATS = {
    "retransmission": "a retransmission",
    "keep-alive": "a keep-alive",
    "duplicate": "a duplicate",
}


def _evidence(entry: StateEntry) -> str:
    """How the capture knows an end was in ``entry.state`` (as ``tcpviz replay`` says it)."""
    if entry.seen:
        return f"seen: it sent #{entry.proof} in this state" if entry.proof else "seen"
    return f"inferred: {entry.note}" if entry.note else "inferred: nothing it sent shows it"


class ReplayView:
    """What the connection widget shows of a replayed capture, one segment at a time.

    The same page as :class:`~tcpviz.web.connection_widget.ConnectionView` (both ends' state
    diagrams, the ladder between them), fed from the public output of capture replay
    (:class:`~tcpviz.traffic.Connection` segments, each end's
    :class:`~tcpviz.traffic.StateEntry` list). Position ``k`` is the moment segment ``k`` has
    been sent and taken by its receiver; ``0`` is before the first segment, and a last position
    "after the capture" holds what only timers did (TIME-WAIT's 2MSL). Stepping is a
    :class:`~tcpviz.teach.player.Player` on a :class:`~tcpviz.teach.player.RecordedTrack`: back,
    forward, the history menu and a click on the ladder move through it; nothing can be
    delivered or dropped, so the page hides those buttons.

    Parameters
    ----------
    connection
        A connection of :func:`tcpviz.traffic.replay`.
    theme, time
        As for :class:`~tcpviz.drawing.Ladder`.
    window_scale
        Each end's window scale shift (:func:`window_scales` of the capture file): each end's
        window is then shown scaled, as RCV.WND. ``None`` (the options are not known): the
        window field as captured, labelled "window field ... (unscaled)".

    >>> from tcpviz.traffic import example_capture, replay
    >>> view = ReplayView(replay(example_capture()).connection(1))
    >>> view.act("redo")
    >>> [e["state"] for e in view.position()["ends"]], view.position()["segment"]
    (['SYN-SENT', 'SYN-RECEIVED'], 1)
    """

    def __init__(
        self,
        connection: Connection,
        *,
        theme: str = "auto",
        time: str = "logical",
        window_scale: tuple[int, int] | None = None,
    ):
        check_theme(theme, WidgetError)
        if window_scale is not None and (
            len(window_scale) != 2
            or not all(isinstance(n, int) and 0 <= n <= 14 for n in window_scale)
        ):
            raise WidgetError(
                f"window_scale must be two shifts from 0 to 14 (RFC 7323), or None, not "
                f"{window_scale!r}"
            )
        #: Each end's window scale shift, or ``None`` when the capture does not say (the
        #: window is then shown as the raw field on the wire).
        self.window_scale = window_scale
        if time not in TIMES:
            raise WidgetError(f"unknown time: {time!r} (must be one of {list(TIMES)})")
        self.connection = connection
        self.theme = theme
        self.time = time
        self.table: Table = (
            connection.inference.table if connection.inference is not None else tcp_table(True)
        )
        self.error = ""
        self.scenario = None
        self._quiet = False
        self._observers: list[Callable[[], None]] = []
        self._trace, rows = _replay_rows(connection)
        self._rows = rows if len(rows) == 2 else [rows[0], rows[0]]  # a self-connect: one socket
        self._names = self._trace.ends
        roles = [e.role for e in connection.endpoints]
        self._who = roles if len(roles) == 2 else [roles[0], roles[0]]
        self._ladder: str | None = None
        self._positions = self._record()
        labels = [p.pop("label") for p in self._positions[1:]]
        self.player = Player(
            RecordedTrack(
                labels, [p["why"] for p in self._positions[1:]], self._positions[0]["why"]
            )
        )

    # -- the recording --------------------------------------------------------------------------

    def _moments(self) -> list[tuple[int, int | None]]:
        """(ladder row, segment shown) of every position."""
        segments = self._trace.segments
        moments: list[tuple[int, int | None]] = [(0, None)]
        for k, s in enumerate(segments, start=1):
            if k < len(segments):
                moments.append((2 * k, s.id))  # the row before the next segment is sent
            else:  # the last: every arrival drawn
                ends = [t.end_step or 0 for t in segments]
                moments.append((max(2 * k, *ends), s.id))
        last_state = max((row for placed in self._rows for row, _ in placed), default=0)
        if last_state > moments[-1][0]:
            moments.append((last_state, None))  # what timers did after the capture
        return moments

    def _record(self) -> list[dict[str, Any]]:
        c = self.connection
        by_number = {s.number: s for s in c.segments}
        positions: list[dict[str, Any]] = []
        scale = self.window_scale
        tcb = [_Numbers(None if scale is None else scale[i]) for i in (0, 1)]
        moments = self._moments()
        shown_before = -1
        for index, (row, number) in enumerate(moments):
            segment = by_number.get(number) if number is not None else None
            if segment is not None:
                sender = segment.sender if len(c.endpoints) == 2 else 0
                tcb[sender].sent(segment)
                tcb[1 - sender].received(segment)
            ends = []
            changes: list[str] = []
            for i, placed in enumerate(self._rows):
                told = i == 0 or len(c.endpoints) == 2  # a self-connect: one socket, told once
                now = [entry for step, entry in placed if step <= row] or [e for _, e in placed[:1]]
                entry = now[-1]
                if index == 0 and told:
                    changes.append(f"{self._who[i]}: {entry.state}, {_evidence(entry)}.")
                for step, e in placed:
                    if index and told and shown_before < step <= row:
                        arrow = f"{e.previous} → {e.state}" if e.previous else e.state
                        event = f" ({e.event})" if e.event else ""
                        changes.append(f"{self._who[i]}: {arrow}{event}, {_evidence(e)}.")
                ends.append(self._end(i, entry, now, tcb[i]))
            if index == 0:
                why = "Before the first segment. " + " ".join(changes)
                label = "start"
            elif segment is None:
                why = "After the capture ends. " + " ".join(changes)
                label = "after the capture"
            else:
                who = f"{self._who[sender]} to {self._who[1 - sender]}"
                repeat = _REPEATS.get(segment.kind)
                head = f"#{segment.number} {segment.label()} ({who}"
                head += f", {repeat}: it moves no state)." if repeat else ")."
                why = " ".join([head, *changes]) if changes else f"{head} No state changes."
                label = f"#{segment.number} {self._who[sender]}: {segment.label()}"
            if index == len(moments) - 1 and c.unlisted:
                why += f" ({c.unlisted} more segments were replayed but are not listed.)"
            flight = []
            if segment is not None:
                kind = "" if segment.kind == "new" else f", {segment.kind}"
                flight.append(
                    {
                        "id": segment.number,
                        "label": f"#{segment.number} {segment.label()}",
                        "route": f"{self._who[sender]} to {self._who[1 - sender]}: "
                        f"frame {segment.frame}, {tcb[sender].window_text(segment)}{kind}",
                        "from": sender,
                        "keys": {},
                    }
                )
            # Before the first segment the capture's clock has not started; after the capture,
            # its last segment's time.
            at = (segment.time - c.first) if segment is not None else c.last - c.first
            if index == 0:
                at = 0.0
            clock_text = (
                "capture time: before the first segment"
                if index == 0
                else f"capture time {at * 1000:.3f} ms after the first segment"
            )
            positions.append(
                {
                    "index": index,
                    "total": len(moments) - 1,
                    "ends": ends,
                    "flight": flight,
                    "clock": {
                        "now": f"{at * 1000:.3f} ms",
                        "next": "",
                        "key": "",
                        "text": clock_text,
                    },
                    "why": why,
                    "can_undo": index > 0,
                    "can_redo": index < len(moments) - 1,
                    "scenario": "",
                    "history": [],
                    "error": "",
                    "replay": True,
                    "ladder_step": row,
                    "ladder_since": shown_before,
                    "segment": number,
                    "wire_title": "The segment shown",
                    "wire_empty": "Step forward to the first segment."
                    if index == 0
                    else "No segment: what happened after the capture ended.",
                    "label": label,
                }
            )
            shown_before = row
        return positions

    def _role(self, i: int) -> str:
        return self._names[i]

    def _end(
        self, i: int, entry: StateEntry, now: list[StateEntry], numbers: _Numbers
    ) -> dict[str, Any]:
        ids, edges = self.table.state_ids, self.table.edge_ids
        transitions = [e.transition for e in now if e.transition is not None]
        last = entry.transition
        return {
            "name": self._role(i),
            "state": entry.state,
            "state_id": ids.get(entry.state, ""),
            "last_edge": edges.get(last, "") if last is not None else "",
            "visited": list(dict.fromkeys(ids[e.state] for e in now if e.state in ids)),
            "taken": [edges[t] for t in transitions[:-1] if t in edges],
            "tcb": numbers.rows(),
            "timers": [],
            "timers_text": "relative to each end's ISN, as captured"
            if self.window_scale is not None
            else "relative to each end's ISN; the window field unscaled",
            "calls": [],
            "evidence": "seen" if entry.seen else "inferred",
            "evidence_text": _evidence(entry),
        }

    # -- acting ---------------------------------------------------------------------------------

    def act(self, key: str) -> None:
        """Do what a button means: ``undo``, ``redo``, ``goto:<position>`` (the history menu),
        ``ladder:<row>`` (a click on the ladder: the moment of that row), ``reset`` (back to
        the start). Anything else raises :class:`~tcpviz.errors.WidgetError`."""
        if key == "undo":
            self.player.back()
        elif key == "redo":
            self.player.forward()
        elif key == "reset":
            self.player.jump(0)
        elif key.startswith(("goto:", "ladder:")):
            kind, _, number = key.partition(":")
            if not number.isdigit():
                raise WidgetError(f"{kind} needs a step number, not {number!r}")
            n = int(number)
            if kind == "ladder":
                n = next(
                    (p["index"] for p in self._positions if p["ladder_step"] >= n),
                    len(self._positions) - 1,
                )
            self.player.jump(n)
        else:
            raise WidgetError(
                f"a replayed capture only steps: {key!r} is not possible (expected undo, "
                "redo, goto:N, ladder:ROW or reset)"
            )
        for observer in list(self._observers):
            observer()

    def subscribe(self, observer: Callable[..., None]) -> Callable[[], None]:
        """Call ``observer()`` after every move; returns an unsubscribe."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    # -- what the page shows --------------------------------------------------------------------

    def diagram_svg(self) -> str:
        """The state diagram both ends are drawn on (the extended machine), themed."""
        return highlight(layout_svg(self.table), self.table, theme=self.theme)

    def ladder_svg(self) -> str:
        """The ladder of the whole connection (drawn once)."""
        if self._ladder is None:
            title = f"connection {self.connection.number}: {self.connection.describe()}"
            self._ladder = Ladder(
                self._trace, time=self.time, theme=self.theme, title=title, compact=True
            ).svg()
        return self._ladder

    def position(self, *, lookahead: bool = True) -> dict[str, Any]:
        """The moment shown, as the page draws it; with ``lookahead``, ``next`` holds the
        positions back and forward lead to."""
        n = self.player.track.position
        here = dict(self._positions[n])
        here["history"] = self.player.around(n, HISTORY_SHOWN)
        here["error"] = self.error
        here["next"] = self.lookahead() if lookahead else {}
        return here

    def lookahead(self) -> dict[str, dict[str, Any]]:
        """The positions undo and redo lead to (the page paints them at once)."""
        n = self.player.track.position
        nexts = {}
        if n > 0:
            nexts["undo"] = self._positions[n - 1]
        if n < len(self._positions) - 1:
            nexts["redo"] = self._positions[n + 1]
        return nexts

    def recording(self) -> dict[str, Any]:
        """Every position, for :func:`~tcpviz.web.connection_page.connection_html`."""
        everything = self.player.around(0, len(self._positions))
        return {
            "diagram": self.diagram_svg(),
            "ladder": self.ladder_svg(),
            "positions": [{**p, "history": everything} for p in self._positions],
            "theme": self.theme,
            "title": f"Replay of connection {self.connection.number}: {self.connection.describe()}",
            "scenarios": [],
            "start": 0,
        }

    def close(self) -> None:
        """Nothing to stop following (a recording does not change)."""
        self._observers.clear()


class _Numbers:
    """One end's sequence numbers as the capture shows them so far (relative, Wireshark's way):
    what it sent up to, what the peer acknowledged, what it acknowledged, and the window it
    last offered. With the end's window scale ``shift`` known, that is its RCV.WND (the field
    shifted, except in a SYN: RFC 7323 2.2); without, the raw field, labelled so."""

    def __init__(self, shift: int | None) -> None:
        self.shift = shift
        self.snd_nxt: int | None = None
        self.snd_una: int | None = None
        self.rcv_nxt: int | None = None
        self.window: int | None = None

    def offered(self, s: CapturedSegment) -> int:
        """The window ``s`` offers (the field, scaled when the scale is known)."""
        if self.shift is None or s.flags & _SYN:
            return s.window
        return s.window << self.shift

    def window_text(self, s: CapturedSegment) -> str:
        """What a card says of the window of ``s``."""
        if self.shift is None:
            return f"window field {s.window} (unscaled)"
        if self.shift and not s.flags & _SYN:
            return f"window {self.offered(s)} (field {s.window} << {self.shift})"
        return f"window {s.window}"

    def sent(self, s: CapturedSegment) -> None:
        end = s.seq + s.length + bool(s.flags & _SYN) + bool(s.flags & _FIN)
        self.snd_nxt = end if self.snd_nxt is None else max(self.snd_nxt, end)
        if s.flags & _ACK:
            self.rcv_nxt = s.ack if self.rcv_nxt is None else max(self.rcv_nxt, s.ack)
        self.window = self.offered(s)

    def received(self, s: CapturedSegment) -> None:
        if s.flags & _ACK:
            self.snd_una = s.ack if self.snd_una is None else max(self.snd_una, s.ack)

    def rows(self) -> list[tuple[str, str]]:
        def text(v: int | None) -> str:
            return "–" if v is None else str(v)

        return [
            ("SND.UNA", text(self.snd_una)),
            ("SND.NXT", text(self.snd_nxt)),
            ("RCV.NXT", text(self.rcv_nxt)),
            ("RCV.WND" if self.shift is not None else "window field", text(self.window)),
        ]
