"""The ladder (sequence) diagram of one connection: two timelines and the segments between them.

Each end of the connection is a vertical timeline, time running down. Every segment is an arrow
from the sender's timeline to the receiver's, slanted by its time in flight (arrows of segments
in flight at the same time cross), labelled with its flags, seq, ack and length. A lost segment
ends in a cross half-way; a retransmission or duplicate says so in its label and is dashed;
timers are brackets beside their end's timeline; each end's state is written beside its timeline
where it changes.

Graphviz cannot draw this (no slanted arrows at fixed times), so tcpviz lays it out itself: a
layout pass (:func:`layout_ladder`) turns a :class:`LadderTrace` into positioned boxes, lines and
texts so that no label overlaps another, and two writers paint the same geometry: an SVG writer
of its own, and a DOT file with every position pinned (Graphviz's ``nop2`` engine) that Graphviz
turns into PNG or PDF, the route :class:`~tcpviz.drawing.Diagram` uses for those formats too.
Text sizes are estimated from the metrics of DejaVu Sans, the font ``Helvetica,Arial`` falls back
to here and the widest of them, so the estimate is exact here and generous elsewhere.

Two clocks: ``time="logical"`` gives every moment of the trace its own row; ``time="real"``
spaces the rows by the simulated clock (long waits, such as TIME-WAIT's 2MSL, are drawn with a
break in the time axis rather than metres of empty paper).
"""

from __future__ import annotations

import functools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ..errors import RenderError
from ..files import write_atomic
from .layout import run_dot
from .themes import _PALETTES, THEMES, _check_theme, _Palette, _themed

__all__ = [
    "LADDER_FORMATS",
    "LADDER_SUFFIXES",
    "TIMER_NAMES",
    "TIMES",
    "Box",
    "Ladder",
    "LadderLayout",
    "LadderSegment",
    "LadderTrace",
    "StateChange",
    "TimerSpan",
    "UserCall",
    "layout_ladder",
    "text_width",
    "trace_from_connection",
    "trace_from_events",
]

#: The clocks a ladder can be drawn by.
TIMES: tuple[str, ...] = ("logical", "real")
#: What :meth:`Ladder.pipe` and :meth:`Ladder.save` produce.
LADDER_FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "mermaid")
#: File suffixes :meth:`Ladder.save` understands, and the format each one means.
LADDER_SUFFIXES: dict[str, str] = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}

#: How a segment's story ended on the ladder.
FATES: tuple[str, ...] = ("delivered", "dropped", "in flight")
#: How a timer's bracket ends.
TIMER_OUTCOMES: tuple[str, ...] = ("fired", "stopped", "running")


# -- what the ladder draws ------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderSegment:
    """One segment on the wire, as the ladder draws it.

    ``sender`` is 0 for the left end and 1 for the right end. ``sent_step`` and ``sent_time`` say
    when it left (the trace's logical step and the simulated clock, in seconds); ``end_step`` and
    ``end_time`` when it was delivered or dropped (``None`` while in flight).
    """

    id: int
    sender: int
    flags: str
    seq: int
    ack: int | None
    length: int
    sent_step: int
    sent_time: float = 0.0
    fate: str = "in flight"
    end_step: int | None = None
    end_time: float | None = None
    retransmission: bool = False
    duplicate: bool = False
    note: str = ""  # what happened to it, e.g. the receiver's reason with its RFC section

    def label_lines(self) -> tuple[str, str]:
        """The two lines of its label: the flags (and what kind of copy it is), the numbers."""
        head = self.flags or "(no flags)"
        if self.retransmission:
            head += " (retransmission)"
        elif self.duplicate:
            head += " (duplicate)"
        numbers = f"seq={self.seq}"
        if self.ack is not None:
            numbers += f" ack={self.ack}"
        if self.length:
            numbers += f" len={self.length}"
        return head, numbers


@dataclass(frozen=True)
class StateChange:
    """End ``end`` (0 left, 1 right) is in ``state`` from ``step`` on."""

    end: int
    step: int
    state: str
    time: float = 0.0
    cause: str = ""


@dataclass(frozen=True)
class TimerSpan:
    """A timer of one end: started at ``start_step``; fired, stopped or still running."""

    end: int
    name: str
    start_step: int
    start_time: float = 0.0
    stop_step: int | None = None
    stop_time: float | None = None
    outcome: str = "running"


@dataclass(frozen=True)
class UserCall:
    """A call of the user (the application) on one end: ``CLOSE``, ``SEND 100 bytes``, ..."""

    end: int
    step: int
    call: str
    time: float = 0.0


@dataclass(frozen=True)
class LadderTrace:
    """Everything one ladder shows: the two ends' names, the segments, states, timers, calls.

    ``now_step`` and ``now_time`` are where the story stands (segments in flight are drawn up to
    there); by default the last step and time mentioned.
    """

    ends: tuple[str, str] = ("client", "server")
    segments: tuple[LadderSegment, ...] = ()
    states: tuple[StateChange, ...] = ()
    timers: tuple[TimerSpan, ...] = ()
    calls: tuple[UserCall, ...] = ()
    now_step: int | None = None
    now_time: float | None = None
    title: str = ""

    def __post_init__(self) -> None:
        if len(self.ends) != 2:
            raise RenderError(f"a ladder has two ends, not {len(self.ends)}: {self.ends!r}")
        for s in self.segments:
            if s.sender not in (0, 1):
                raise RenderError(f"segment {s.id}: sender must be 0 or 1, not {s.sender!r}")
            if s.fate not in FATES:
                raise RenderError(
                    f"segment {s.id}: unknown fate {s.fate!r} (must be one of {list(FATES)})"
                )
            if s.fate != "in flight" and s.end_step is None:
                raise RenderError(f"segment {s.id} was {s.fate} but has no end_step")
            if s.end_step is not None and s.end_step <= s.sent_step:
                raise RenderError(
                    f"segment {s.id} ends at step {s.end_step}, not after it was sent "
                    f"(step {s.sent_step})"
                )
        for t in self.timers:
            if t.outcome not in TIMER_OUTCOMES:
                raise RenderError(
                    f"timer {t.name!r}: unknown outcome {t.outcome!r} "
                    f"(must be one of {list(TIMER_OUTCOMES)})"
                )
        items: tuple[StateChange | TimerSpan | UserCall, ...] = (
            *self.states,
            *self.timers,
            *self.calls,
        )
        for item in items:
            if item.end not in (0, 1):
                raise RenderError(f"{item!r}: end must be 0 or 1")

    def window(self, first: int, last: int) -> LadderTrace:
        """The part of the story from step ``first`` to step ``last``: what a widget shows of a
        long connection, so that drawing it costs the same however long the story is.

        A segment sent before ``first`` and still travelling then starts at ``first`` (its title
        says when it was really sent); one arriving after ``last`` is shown in flight; a timer
        is cut the same way. The state each end is in at ``first`` is written there."""
        if last < first:
            raise RenderError(f"window from step {first} to {last}: the last is before the first")
        segments = []
        for s in self.segments:
            if s.sent_step > last or (s.end_step is not None and s.end_step < first):
                continue
            if s.sent_step < first and s.end_step == first:
                continue  # it arrived as the window opens: there is no flight left to draw
            changes: dict[str, Any] = {}
            if s.sent_step < first:
                changes.update(sent_step=first, note=f"sent at step {s.sent_step}. {s.note}")
            if s.end_step is not None and s.end_step > last:
                changes.update(fate="in flight", end_step=None, end_time=None)
            segments.append(replace(s, **changes) if changes else s)
        states = []
        for end in (0, 1):
            before = [c for c in self.states if c.end == end and c.step < first]
            changes_then = any(c.end == end and c.step == first for c in self.states)
            if before and not changes_then:
                states.append(replace(max(before, key=lambda c: c.step), step=first))
        states += [c for c in self.states if first <= c.step <= last]
        timers = []
        for t in self.timers:
            if t.start_step > last or (t.stop_step is not None and t.stop_step < first):
                continue
            changes = {}
            if t.start_step < first:
                changes["start_step"] = first
            if t.stop_step is not None and t.stop_step > last:
                changes.update(stop_step=None, stop_time=None, outcome="running")
            timers.append(replace(t, **changes) if changes else t)
        now = self.now_step if self.now_step is not None else last
        return LadderTrace(
            ends=self.ends,
            segments=tuple(segments),
            states=tuple(states),
            timers=tuple(timers),
            calls=tuple(c for c in self.calls if first <= c.step <= last),
            now_step=min(max(now, first), last),
            now_time=self.now_time,
            title=self.title,
        )

    def steps(self) -> list[int]:
        """Every step something happens at, in order."""
        found: set[int] = set()
        for s in self.segments:
            found.add(s.sent_step)
            if s.end_step is not None:
                found.add(s.end_step)
        found.update(c.step for c in self.states)
        found.update(c.step for c in self.calls)
        for t in self.timers:
            found.add(t.start_step)
            if t.stop_step is not None:
                found.add(t.stop_step)
        if self.now_step is not None:
            found.add(self.now_step)
        return sorted(found)


# -- text metrics -------------------------------------------------------------------------------

# Advance widths of DejaVu Sans (per 1000 em) for ASCII 32..126, measured in Chromium here.
_WIDTHS = {
    "normal": (
        318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
        636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
        770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
        684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
        634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
        525, 636, 337, 636, 838,
    ),
    "bold": (
        348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
        696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734,
        830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
        774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
        712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
        582, 712, 365, 712, 838,
    ),
}  # fmt: skip


@functools.lru_cache(maxsize=8192)
def text_width(text: str, size: float, weight: str = "normal") -> float:
    """The width of ``text`` at ``size`` px in DejaVu Sans (other characters count as 1 em)."""
    table = _WIDTHS["bold" if weight == "bold" else "normal"]
    units = 0
    for ch in text:
        code = ord(ch)
        units += table[code - 32] if 32 <= code < 127 else 1000
    return units * size / 1000.0


# -- geometry -----------------------------------------------------------------------------------


class Box(NamedTuple):
    """An axis-aligned rectangle in the ladder's SVG user units (CSS px at scale 1)."""

    x: float
    y: float
    w: float
    h: float
    kind: str = ""
    ref: str = ""

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        """True when the two boxes, each grown by ``gap / 2``, share any area."""
        return (
            self.x < other.right + gap
            and other.x < self.right + gap
            and self.y < other.bottom + gap
            and other.y < self.bottom + gap
        )


# Tuples: a long ladder makes thousands of these, and a tuple is made several times faster
# than a frozen dataclass. Where it makes thousands, it makes them with _new(Cls, values):
# tuple.__new__ without the Python-level __new__ a named tuple has (twice as fast), every
# field given, in order.
_new = tuple.__new__


class _Line(NamedTuple):
    x1: float
    y1: float
    x2: float
    y2: float
    role: str  # timeline, segment, tick, bracket, loss, break
    dashed: bool = False
    head: bool = False  # an arrowhead at (x2, y2)


class _Text(NamedTuple):
    x: float
    y: float  # baseline
    text: str
    size: float
    role: str  # label, state, timer, call, end, time
    anchor: str = "middle"  # start, middle, end
    weight: str = "normal"
    italic: bool = False


@dataclass
class _Group:
    """One element a reader can point at (a segment, a state change, a timer...)."""

    id: str
    classes: str
    title: str
    data: dict[str, str] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)
    texts: list[_Text] = field(default_factory=list)
    backs: list[Box] = field(default_factory=list)  # label backgrounds (the halo)


@dataclass
class LadderLayout:
    """Where everything of one ladder goes: the size, the groups to draw and the label boxes."""

    width: float
    height: float
    groups: list[_Group]
    labels: list[Box]  # every text's box (arrow labels, states, timers, calls, names, times)
    rows: dict[int, float]  # step -> y of its row
    attempts: int = 1


# Sizes in CSS px at scale 1. Arrow labels 14 px and state names 16 px: the widget may show the
# ladder down to 12/14 of its natural size and still meet the 12 px floor of DESIGN.md, 8.
_LABEL = 14.0
_STATE = 16.0
_SMALL = 14.0
_NAME = 18.0
_PAD = 3.0
_LINE_GAP = 1.25  # line height as a multiple of the font size
_MARGIN = 14.0
_BRACKET = 12.0  # from the timeline to a timer's bracket
_TRACK = 7.0  # between the brackets of two timers running at once
_LANE_GAP = 10.0  # from the bracket to the state/timer lane
_GAP = 2.0  # least room between two label boxes


class _Index:
    """Placed boxes bucketed by y, so a new box is checked only against its neighbours.

    Each is kept as its edges (left, top, right, bottom), worked out once when it is added."""

    def __init__(self, band: float = 48.0):
        self.band = band
        self.buckets: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)

    def hits(self, box: Box, gap: float = _GAP) -> bool:
        x, y, w, h = box.x, box.y, box.w, box.h
        x1, y1, x2, y2 = x - gap, y - gap, x + w + gap, y + h + gap
        band, buckets = self.band, self.buckets
        # The bands the box grown by the gap meets: a box it could touch is in one of them.
        for k in range(int(y1 // band), int(y2 // band) + 1):
            for left, top, right, bottom in buckets.get(k, ()):
                if left < x2 and x1 < right and top < y2 and y1 < bottom:
                    return True
        return False

    def add(self, box: Box) -> None:
        x, y, w, h = box.x, box.y, box.w, box.h
        edges = (x, y, x + w, y + h)
        band, buckets = self.band, self.buckets
        for k in range(int(y // band), int((y + h) // band) + 1):
            buckets[k].append(edges)


def _crossings(box: Box, lines: Iterable[tuple[float, float, float, float]]) -> int:
    """How many of ``lines`` pass through ``box`` (a cost: a label should not hide an arrow)."""
    # min and max written as comparisons: the same values (only compared here), without two
    # calls a number.
    count = 0
    top, bottom, left, right = box.y, box.y + box.h, box.x, box.x + box.w
    for x1, y1, x2, y2 in lines:
        if y1 <= y2:
            if y2 < top or y1 > bottom:
                continue
        elif y1 < top or y2 > bottom:
            continue
        # Clip the line to the box's rows and see whether its x-range meets the box.
        if y1 == y2:
            xa, xb = x1, x2
        else:
            ta = (top - y1) / (y2 - y1)
            tb = (bottom - y1) / (y2 - y1)
            if tb < ta:
                ta, tb = tb, ta
            if ta < 0.0:
                ta = 0.0
            if tb > 1.0:
                tb = 1.0
            xa, xb = x1 + (x2 - x1) * ta, x1 + (x2 - x1) * tb
        if xb < xa:
            xa, xb = xb, xa
        if xa <= right and xb >= left:
            count += 1
    return count


_FRACTIONS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82)


def _rows(trace: LadderTrace, time: str, row: float) -> tuple[dict[int, float], list[float]]:
    """The y of each step (its first sub-row) and the y of every sub-row after the first.

    One row per moment: the steps in order, and when one end sends several segments in the same
    step each gets a row of its own, so their arrows never lie on top of each other."""
    sends: dict[tuple[int, int], int] = defaultdict(int)
    for s in trace.segments:
        sends[(s.sent_step, s.sender)] += 1
    times: dict[int, float] = {}  # the clock at each step: only real time spaces rows by it
    if time == "real":
        for s in trace.segments:
            times.setdefault(s.sent_step, s.sent_time)
            if s.end_step is not None and s.end_time is not None:
                times.setdefault(s.end_step, s.end_time)
        for c in trace.states:
            times.setdefault(c.step, c.time)
        for call in trace.calls:
            times.setdefault(call.step, call.time)
        for t in trace.timers:
            times.setdefault(t.start_step, t.start_time)
            if t.stop_step is not None and t.stop_time is not None:
                times.setdefault(t.stop_step, t.stop_time)
        if trace.now_step is not None and trace.now_time is not None:
            times.setdefault(trace.now_step, trace.now_time)
    ys: dict[int, float] = {}
    breaks: list[float] = []
    y = 0.0
    previous: float | None = None
    last_sub = 0
    for step in trace.steps():
        if ys:
            y += row * (last_sub + 1) if time == "logical" else row * 0.8 * (last_sub + 1)
            if time == "real" and previous is not None:
                dt = max(0.0, times.get(step, previous) - previous)
                # Up to 12 s in proportion (RTOs, retries); longer waits get a break in the axis.
                if dt > 12.0:
                    breaks.append(y + row * 0.6)
                    y += row * 1.6
                else:
                    y += dt * row * 0.9
        ys[step] = y
        previous = times.get(step, previous)
        last_sub = max(sends.get((step, 0), 1), sends.get((step, 1), 1)) - 1
    return ys, breaks


def _times(trace: LadderTrace) -> dict[int, float]:
    found: dict[int, float] = {}
    for s in trace.segments:
        found.setdefault(s.sent_step, s.sent_time)
        if s.end_step is not None and s.end_time is not None:
            found.setdefault(s.end_step, s.end_time)
    for c in trace.states:
        found.setdefault(c.step, c.time)
    return found


def layout_ladder(
    trace: LadderTrace, *, time: str = "logical", compact: bool = False, _attempts: int = 8
) -> LadderLayout:
    """Lay ``trace`` out: every line, text and box of the ladder, labels never overlapping.

    Arrow labels are tried at points along their arrow (the middle first); a label that finds no
    free place makes the rows taller, and the pass starts again (at most ``_attempts`` times).
    """
    if time not in TIMES:
        raise RenderError(f"unknown time: {time!r} (must be one of {list(TIMES)})")
    row = 56.0
    layout = None
    for attempt in range(1, _attempts + 1):
        layout, placed_all = _layout_once(trace, time, row, compact)
        layout.attempts = attempt
        if placed_all:
            return layout
        row *= 1.3
    assert layout is not None
    return layout


def _layout_once(
    trace: LadderTrace, time: str, row: float, compact: bool = False
) -> tuple[LadderLayout, bool]:
    ys, breaks = _rows(trace, time, row)
    steps = sorted(ys)
    step_of_y = [ys[s] for s in steps]
    sub = row if time == "logical" else row * 0.8

    # Horizontal: [lane][bracket] |left timeline| ... arrows ... |right timeline| [bracket][lane]
    # Each end's lane as wide as the widest thing it holds (its states, timers and calls).
    lane_texts: tuple[list[float], list[float]] = ([80.0], [80.0])
    for c in trace.states:
        lane_texts[c.end].append(text_width(c.state, _STATE, "bold") + 2 * _PAD)
    for span in trace.timers:
        lane_texts[span.end].append(text_width(_timer_text(span), _SMALL) + 2 * _PAD)
    for call in trace.calls:
        lane_texts[call.end].append(text_width(call.call, _SMALL) + 2 * _PAD)
    lanes = (max(lane_texts[0]), max(lane_texts[1]))
    # Each segment's label (its two lines) and width, worked out once: the widest sets the
    # room between the timelines, and each is placed below.
    label_of: dict[int, tuple[tuple[str, str], float]] = {}
    for s in trace.segments:
        a, b = s.label_lines()
        label_of[id(s)] = ((a, b), max(text_width(a, _LABEL, "bold"), text_width(b, _LABEL)))
    label_w = max([w + 2 * _PAD for _, w in label_of.values()] + [120.0])
    time_axis = 62.0 if time == "real" else 0.0
    # Compact (the widget's column, scaled down to fit it): the timelines closer, a fixed room
    # beside the widest label rather than a multiple of it (a retransmission's label is half as
    # wide again as a first copy's), the timer brackets packed against the timelines; labels
    # slide along their arrows and rows grow where they must. The full width gives crossing
    # arrows room on paper.
    if compact:
        middle = max(300.0, label_w + 110.0)
        bracket, lane_gap = _BRACKET - 3.0, _LANE_GAP - 4.0
    else:
        middle = max(420.0, 2.3 * label_w)
        bracket, lane_gap = _BRACKET, _LANE_GAP
    # Timers running at once on one end get brackets side by side (tracks), so two never merge
    # into one line; a timer that starts where another stops counts as overlapping it.
    tracks = _timer_tracks(trace.timers)
    side = [
        bracket
        + _TRACK * max([k for t, k in zip(trace.timers, tracks, strict=True) if t.end == end] + [0])
        for end in (0, 1)
    ]
    x_left = _MARGIN + time_axis + lanes[0] + lane_gap + side[0]
    # The ends' names: on one line at full size where they fit, else broken or smaller, and the
    # timelines moved apart when even that does not fit (two long IPv6 ends).
    names, middle = _end_names(trace.ends, x_left, middle, side[1] + lane_gap + lanes[1])
    x_right = x_left + middle
    width = x_right + side[1] + lane_gap + lanes[1] + _MARGIN
    xs = (x_left, x_right)
    top = _MARGIN + max(n.height for n in names) + _NAME * 0.2 + 18.0
    for step in ys:
        ys[step] += top

    def y_of(step: int, offset: int = 0) -> float:
        return ys[step] + offset * sub

    last_y = max(ys.values(), default=top)
    now_y = y_of(trace.now_step) if trace.now_step in ys else last_y
    bottom = max(last_y, now_y) + row * 0.7

    groups: list[_Group] = []
    labels: list[Box] = []
    index = _Index()

    # Ends' names above their timelines, and the timelines.
    for end in (0, 1):
        name = trace.ends[end]
        g = _Group(f"ladder_end_{end}", "ladder-end", f"{name}: its timeline, time running down")
        g.lines.append(_Line(xs[end], top - 10.0, xs[end], bottom, "timeline"))
        end_name = names[end]
        cx = _name_centre(end, end_name.width, xs[end], width)
        for k, line in enumerate(end_name.lines):
            baseline = _MARGIN + end_name.size * (1.0 + _LINE_GAP * k)
            g.texts.append(_Text(cx, baseline, line, end_name.size, "end", weight="bold"))
        w = end_name.width + 2 * _PAD
        box = Box(cx - w / 2, _MARGIN + end_name.size * 0.05 - _PAD, w, end_name.height + 2 * _PAD)
        labels.append(Box(box.x, box.y, box.w, box.h, "end", name))
        index.add(box)
        groups.append(g)

    # The lanes beside the timelines: state names first (they sit exactly where the state
    # changes), then timers and calls, each slid down past what is already there.
    def lane_box(end: int, y: float, w: float, h: float) -> Box:
        if end == 0:
            return _new(Box, (xs[0] - side[0] - lane_gap - w, y, w, h, "", ""))
        return _new(Box, (xs[1] + side[1] + lane_gap, y, w, h, "", ""))

    def place_in_lane(
        end: int, y: float, w: float, h: float, kind: str, ref: str, beside: Box | None = None
    ) -> Box:
        box = lane_box(end, y, w, h)
        hit = index.hits(box)
        if beside is not None and hit:
            # No room above: on the state's row, outside its label.
            x = beside.x - _GAP * 3 - w if end == 0 else beside.right + _GAP * 3
            box = Box(x, beside.y + (beside.h - h) / 2, w, h)
            if box.x < _MARGIN or box.right > width - _MARGIN or index.hits(box):
                box = lane_box(end, y, w, h)
            hit = index.hits(box)
        for _ in range(200):  # bounded: each try moves a quarter line down
            if not hit:
                break
            box = lane_box(end, box.y + h / 4, w, h)
            hit = index.hits(box)
        index.add(box)
        labels.append(_new(Box, (box.x, box.y, box.w, box.h, kind, ref)))
        return box

    def lane_text(
        end: int, box: Box, text: str, size: float, role: str, weight: str, italic: bool
    ) -> _Text:
        x = box.x + box.w - _PAD if end == 0 else box.x + _PAD
        anchor = "end" if end == 0 else "start"
        return _new(
            _Text, (x, box.y + _PAD + size * 0.95, text, size, role, anchor, weight, italic)
        )

    state_boxes: dict[tuple[int, int], Box] = {}  # (end, step) -> its state label
    for n, change in enumerate(sorted(trace.states, key=lambda c: (c.step, c.end))):
        y = y_of(change.step)
        w = text_width(change.state, _STATE, "bold") + 2 * _PAD
        h = _STATE * _LINE_GAP + 2 * _PAD
        box = place_in_lane(change.end, y - h / 2, w, h, "state", change.state)
        state_boxes.setdefault((change.end, change.step), box)
        g = _Group(
            f"ladder_state_{n}",
            "node ladder-state",
            f"{trace.ends[change.end]} enters {change.state}"
            + (f": {change.cause}" if change.cause else ""),
            {"end": str(change.end), "step": str(change.step), "state": change.state},
        )
        tick = 7.0
        x = xs[change.end]
        g.lines.append(_Line(x - tick, y, x + tick, y, "tick"))
        g.backs.append(_new(Box, (box.x, box.y, box.w, box.h, "state-back", "")))
        g.texts.append(lane_text(change.end, box, change.state, _STATE, "state", "bold", False))
        groups.append(g)

    for n, call in enumerate(trace.calls):
        y = y_of(call.step)
        w = text_width(call.call, _SMALL) + 2 * _PAD
        h = _SMALL * _LINE_GAP + 2 * _PAD
        # Just above the state label the call leads to (which sits centred on the row).
        top_of_state = y - (_STATE * _LINE_GAP + 2 * _PAD) / 2
        state_box = state_boxes.get((call.end, call.step))
        box = place_in_lane(
            call.end, top_of_state - h - _GAP, w, h, "call", call.call, beside=state_box
        )
        g = _Group(
            f"ladder_call_{n}",
            "ladder-call",
            f"the application on the {trace.ends[call.end]} calls {call.call}",
            {"end": str(call.end), "step": str(call.step)},
        )
        g.backs.append(box)
        g.texts.append(lane_text(call.end, box, call.call, _SMALL, "call", "normal", True))
        groups.append(g)

    for n, timer in enumerate(trace.timers):
        y1 = y_of(timer.start_step)
        y2 = y_of(timer.stop_step) if timer.stop_step in ys else now_y + row * 0.5
        offset = bracket + _TRACK * tracks[n]
        x = xs[timer.end] + (-offset if timer.end == 0 else offset)
        inward = 5.0 if timer.end == 0 else -5.0
        text = _timer_text(timer)
        g = _Group(
            f"ladder_timer_{n}",
            f"ladder-timer {timer.outcome}",
            f"{trace.ends[timer.end]}: {timer.name} timer, {timer.outcome}",
            {"end": str(timer.end), "step": str(timer.start_step)},
        )
        g.lines.append(_new(_Line, (x, y1, x, y2, "bracket", timer.outcome == "running", False)))
        g.lines.append(_new(_Line, (x, y1, x + inward, y1, "bracket", False, False)))
        if timer.outcome == "fired":
            g.lines.append(_Line(x, y2, xs[timer.end], y2, "bracket"))
        elif timer.outcome == "stopped":
            g.lines.append(_new(_Line, (x, y2, x + inward, y2, "bracket", False, False)))
        w = text_width(text, _SMALL) + 2 * _PAD
        h = _SMALL * _LINE_GAP + 2 * _PAD
        box = place_in_lane(timer.end, y1 + 2.0, w, h, "timer", timer.name)
        g.backs.append(box)
        g.texts.append(lane_text(timer.end, box, text, _SMALL, "timer", "normal", True))
        groups.append(g)

    # The segments: geometry first (every arrow), then their labels, so a label can avoid
    # every arrow, not only those drawn before it.
    arrows = []
    sub_used: dict[tuple[int, int], int] = defaultdict(int)
    in_flight_at: dict[tuple[int, int], int] = defaultdict(int)
    crosses = _Index()  # where lost segments' crosses are
    for s in sorted(trace.segments, key=lambda s: (s.sent_step, s.id)):
        k = sub_used[(s.sent_step, s.sender)]
        sub_used[(s.sent_step, s.sender)] += 1
        x1, y1 = xs[s.sender], y_of(s.sent_step, k)
        x_to = xs[1 - s.sender]
        if s.fate == "delivered":
            assert s.end_step is not None
            x2, y2 = x_to, y_of(s.end_step)
        elif s.fate == "dropped":
            assert s.end_step is not None
            # Lost on the way: the arrow stops half-way towards where it would have arrived, or
            # as near half-way as another lost segment's cross leaves room for.
            yt = y_of(s.end_step)
            for f in (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75):
                x2, y2 = x1 + (x_to - x1) * f, y1 + (yt - y1) * f
                spot = Box(x2 - 7.0, y2 - 7.0, 14.0, 14.0)
                if not crosses.hits(spot):
                    break
            crosses.add(spot)
        else:
            j = in_flight_at[(s.sent_step, s.sender)]
            in_flight_at[(s.sent_step, s.sender)] += 1
            yt = max(now_y, y1) + row * (0.8 + 0.3 * j)
            x2, y2 = x1 + (x_to - x1) * 0.55, y1 + (yt - y1) * 0.55
        arrows.append((s, x1, y1, x2, y2))
    segment_lines = [(x1, y1, x2, y2) for _, x1, y1, x2, y2 in arrows]
    # Each band's arrows by number (no two arrows start at the same point: a sender's segments
    # of one step each have a sub-row of their own).
    line_index: dict[int, list[int]] = defaultdict(list)
    band = 48.0
    for n, (_, ya, _, yb) in enumerate(segment_lines):
        for k in range(int(min(ya, yb) // band), int(max(ya, yb) // band) + 1):
            line_index[k].append(n)

    # The crosses of lost segments first: no label may hide one.
    cross = 7.0  # half the size of a lost segment's cross
    for s, _, _, x2, y2 in arrows:
        if s.fate == "dropped":
            mark = Box(x2 - cross, y2 - cross, 2 * cross, 2 * cross, "loss", str(s.id))
            index.add(mark)
            labels.append(mark)

    placed_all = True
    fates = {"delivered": "delivered", "dropped": "lost on the way", "in flight": "in flight"}
    who = (f"{trace.ends[0]} to {trace.ends[1]}", f"{trace.ends[1]} to {trace.ends[0]}")
    label_h = 2 * _LABEL * _LINE_GAP + 2 * _PAD  # two lines, and the padding
    lo, hi = x_left + 6.0, x_right - 6.0
    line_h = _LABEL * _LINE_GAP
    hits, add = index.hits, index.add
    for n, (s, x1, y1, x2, y2) in enumerate(arrows):
        (head, numbers), text_w = label_of[id(s)]
        best: tuple[float, Box] | None = None
        fallback: tuple[float, Box] | None = None
        reach = 1.0 if s.fate == "delivered" else 0.9  # a lost arrow's label stays off its cross
        bw = text_w + 2 * _PAD
        # A lost arrow's label on the sender's side of its cross, where there is room for it
        # there (the label is wider than most of a short lost arrow).
        left, right = lo, hi
        if s.fate == "dropped":
            if x2 < x1 and hi - (x2 + cross + _GAP) >= bw:
                left = x2 + cross + _GAP
            elif x2 > x1 and (x2 - cross - _GAP) - lo >= bw:
                right = x2 - cross - _GAP
        # The other arrows near this one: a label is scored by how many of them it hides.
        top_y, low_y = min(y1, y2) - label_h, max(y1, y2) + label_h
        numbered = {
            i
            for k in range(int(top_y // band), int(low_y // band) + 1)
            for i in line_index.get(k, ())
        }
        numbered.discard(n)
        near = [segment_lines[i] for i in numbered]
        if s.fate == "dropped":
            # A lost arrow is short and a label centred on it would hide all of it: above it
            # or below it, clear of it, where that is free.
            cx = x1 + (x2 - x1) * 0.5
            bx = min(max(cx - bw / 2, left), right - bw)
            xa, xb = max(bx, min(x1, x2)), min(bx + bw, max(x1, x2))
            ya = y1 + (y2 - y1) * (xa - x1) / (x2 - x1) if x2 != x1 else y1
            yb = y1 + (y2 - y1) * (xb - x1) / (x2 - x1) if x2 != x1 else y2
            for by in (min(ya, yb) - label_h - _GAP, max(ya, yb) + _GAP):
                box = _new(Box, (bx, by, bw, label_h, "", ""))
                if not hits(box):
                    crossed = float(_crossings(box, near))
                    if best is None or crossed < best[0]:
                        best = (crossed, box)
        for f in _FRACTIONS:
            if s.fate == "dropped" and best is not None:
                break  # placed clear of its arrow
            shift = abs(f - 0.5) * 2.0
            if best is not None and best[0] <= shift:
                break  # nothing further along can cost less than the best found
            f *= reach
            cx, cy = x1 + (x2 - x1) * f, y1 + (y2 - y1) * f
            # Centred on the arrow, kept between the timelines.
            bx = min(max(cx - bw / 2, left), right - bw)
            box = _new(Box, (bx, cy - label_h / 2, bw, label_h, "", ""))
            if hits(box):
                overlap = _crossings(box, near) + shift + 100.0
                if fallback is None or overlap < fallback[0]:
                    fallback = (overlap, box)
                continue
            cost = _crossings(box, near) + shift
            if best is None or cost < best[0]:
                best = (cost, box)
        if best is None:
            placed_all = False
            assert fallback is not None
            best = fallback
        box = best[1]
        add(box)
        labels.append(_new(Box, (box.x, box.y, box.w, box.h, "label", str(s.id))))
        # "edge" and "node" (below) as in the state diagram's SVG: the same structural
        # comparison (tcpviz.diagrams.signature) then covers the ladders in diagrams/.
        classes = f"edge ladder-segment {s.fate.replace(' ', '-')}"
        if s.retransmission:
            classes += " retransmission"
        if s.duplicate:
            classes += " duplicate"
        title = f"{head} {numbers}, {who[s.sender]}, {fates[s.fate]}"
        if s.note:
            title += f": {s.note}"
        data = {
            "segment": str(s.id),
            "sender": str(s.sender),
            "sent-step": str(s.sent_step),
            "fate": s.fate,
        }
        if s.end_step is not None:
            data["end-step"] = str(s.end_step)
        dashed = s.retransmission or s.duplicate or s.fate == "in flight"
        drawn = [_new(_Line, (x1, y1, x2, y2, "segment", dashed, s.fate != "dropped"))]
        if s.fate == "dropped":
            drawn.append(_Line(x2 - cross, y2 - cross, x2 + cross, y2 + cross, "loss"))
            drawn.append(_Line(x2 - cross, y2 + cross, x2 + cross, y2 - cross, "loss"))
        middle = box.x + box.w / 2
        texts = [
            _new(
                _Text,
                (
                    middle,
                    box.y + _PAD + _LABEL * 0.95,
                    head,
                    _LABEL,
                    "label",
                    "middle",
                    "bold",
                    False,
                ),
            ),
            _new(
                _Text,
                (
                    middle,
                    box.y + _PAD + line_h + _LABEL * 0.95,
                    numbers,
                    _LABEL,
                    "label",
                    "middle",
                    "normal",
                    False,
                ),
            ),
        ]
        groups.append(_Group(f"ladder_segment_{s.id}", classes, title, data, drawn, texts, [box]))

    # The time axis of real time: the clock at each row where it moved, and breaks.
    if time == "real":
        clock = _times(trace)
        g = _Group("ladder_clock", "ladder-clock", "the simulated clock, in seconds")
        shown: float | None = None
        for step in steps:
            t = clock.get(step)
            if t is None or (shown is not None and abs(t - shown) < 1e-9):
                continue
            text = f"{_seconds(t)} s"
            y = ys[step]
            w = text_width(text, _SMALL) + 2 * _PAD
            h = _SMALL * _LINE_GAP + 2 * _PAD
            box = Box(_MARGIN, y - h / 2, w, h)
            if index.hits(box):
                continue
            index.add(box)
            labels.append(Box(box.x, box.y, box.w, box.h, "time", text))
            g.texts.append(
                _Text(box.x + _PAD, box.y + _PAD + _SMALL * 0.95, text, _SMALL, "time", "start")
            )
            shown = t
        for y in breaks:
            for end in (0, 1):
                x = xs[end]
                g.lines.append(_Line(x - 9, y - 2, x + 9, y - 8, "break"))
                g.lines.append(_Line(x - 9, y + 6, x + 9, y, "break"))
        groups.append(g)

    del step_of_y
    # max(a, b) + m is max(a + m, b + m) to the bit: adding is monotonic.
    height = max([bottom] + [box.y + box.h for box in labels]) + _MARGIN
    layout = LadderLayout(width, height, groups, labels, {s: ys[s] for s in steps})
    return layout, placed_all


class _EndName(NamedTuple):
    """An end's name as drawn above its timeline: its lines, their size and the widest one."""

    lines: tuple[str, ...]
    size: float
    width: float

    @property
    def height(self) -> float:
        return self.size * (1.2 + _LINE_GAP * (len(self.lines) - 1))


#: The sizes an end's name may shrink to: the arrow labels' size at the least.
_NAME_SIZES = (_NAME, _NAME - 2.0, _LABEL)


def _name_lines(name: str, broken: bool) -> tuple[str, ...]:
    """``name`` on one line, or broken before its port (``[2001:db8::1]`` / ``:443``), else at
    its middle space; a name with neither stays whole."""
    if not broken:
        return (name,)
    colon = name.rfind(":")
    if name.startswith("[") and "]:" in name:
        colon = name.rindex("]:") + 1
    elif name.count(":") != 1:  # an IPv6 address without brackets: no port to break before
        colon = -1
    if 0 < colon < len(name) - 1:
        return (name[:colon], name[colon:])
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    if spaces:
        cut = min(spaces, key=lambda i: abs(2 * i - len(name)))
        return (name[:cut], name[cut + 1 :])
    return (name,)


def _end_name(name: str, size: float, broken: bool) -> _EndName:
    lines = _name_lines(name, broken)
    return _EndName(lines, size, max(text_width(line, size, "bold") for line in lines))


def _name_centre(end: int, w: float, x: float, width: float) -> float:
    """Where end ``end``'s name of width ``w`` is centred: over its timeline at ``x``, or as
    near it as keeps the name inside the picture's margins."""
    if end == 0:
        return max(x, _MARGIN + w / 2 + _PAD)
    return min(x, width - _MARGIN - w / 2 - _PAD)


def _end_names(
    ends: Sequence[str], x_left: float, middle: float, right_room: float
) -> tuple[tuple[_EndName, _EndName], float]:
    """The two ends' names as drawn, and the room between the timelines they need.

    The largest size at which the two names, each centred over its timeline (or slid inwards
    from the picture's edge), keep a gap between them; at each size first on one line, then
    broken. When even the smallest broken names do not fit, the timelines move apart."""

    def deficit(names: tuple[_EndName, _EndName], middle: float) -> float:
        x_right = x_left + middle
        width = x_right + right_room + _MARGIN
        w0, w1 = names[0].width, names[1].width
        right_of_0 = _name_centre(0, w0, x_left, width) + w0 / 2 + _PAD
        left_of_1 = _name_centre(1, w1, x_right, width) - w1 / 2 - _PAD
        return right_of_0 + 4 * _GAP - left_of_1

    names: tuple[_EndName, _EndName] | None = None
    for size in _NAME_SIZES:
        for broken in (False, True):
            names = (_end_name(ends[0], size, broken), _end_name(ends[1], size, broken))
            if deficit(names, middle) <= 0:
                return names, middle
    assert names is not None
    # The timelines apart by what is missing: the right name moves with them.
    return names, middle + deficit(names, middle)


def _timer_tracks(timers: Sequence[TimerSpan]) -> list[int]:
    """A track for each timer (by position): the lowest no other timer of its end then uses."""
    result = [0] * len(timers)
    busy: tuple[list[tuple[int, float]], ...] = ([], [])  # each end's (track, until)
    inf = float("inf")
    for n in sorted(range(len(timers)), key=lambda n: timers[n].start_step):  # stable: by n
        t = timers[n]
        # In start order, a timer over before this one starts is over for every later one too.
        mine = busy[t.end]
        if mine:
            mine[:] = [b for b in mine if b[1] >= t.start_step]
        track = 0
        if mine:
            used = {k for k, _ in mine}
            while track in used:
                track += 1
        result[n] = track
        mine.append((track, inf if t.stop_step is None else t.stop_step))
    return result


def _seconds(t: float) -> str:
    return f"{t:.3f}".rstrip("0").rstrip(".") if t != int(t) else str(int(t))


def _timer_text(timer: TimerSpan) -> str:
    # The name only: how the timer ended is drawn (a fired timer's bracket reaches back to the
    # timeline, to what it set off) and said in its title, not written before it happens.
    return timer.name


# -- writing SVG ----------------------------------------------------------------------------------

_FONT = "Helvetica,Arial,sans-serif"


def _escape(text: str) -> str:
    if "&" not in text and "<" not in text and ">" not in text and '"' not in text:
        return text  # the usual case, and a long ladder has thousands of texts
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _colours(p: _Palette) -> dict[str, dict[str, str]]:
    """What each role looks like in one palette (the attributes written on each element)."""
    return {
        "timeline": {"stroke": p.node_line, "stroke-width": "2"},
        "tick": {"stroke": p.node_line, "stroke-width": "2"},
        "segment": {"stroke": p.edge_line, "stroke-width": "1.6"},
        "loss": {"stroke": p.last_line, "stroke-width": "3"},
        "bracket": {"stroke": p.muted, "stroke-width": "1.6"},
        "break": {"stroke": p.muted, "stroke-width": "1.6"},
        "label": {"fill": p.text},
        "state": {"fill": p.text},
        "timer": {"fill": p.muted},
        "call": {"fill": p.text},
        "end": {"fill": p.text},
        "time": {"fill": p.muted},
        "back": {"fill": p.background},
        "state-back": {"fill": p.visited_fill},
        "head": {"fill": p.edge_line},
    }


def _ladder_rules(scope: str, p: _Palette) -> list[str]:
    c = _colours(p)
    return [
        f"{scope} rect.ladder-background {{ fill: {p.background}; }}",
        f"{scope} line.timeline, {scope} line.tick {{ stroke: {p.node_line}; }}",
        f"{scope} line.segment {{ stroke: {p.edge_line}; }}",
        f"{scope} path.head {{ fill: {p.edge_line}; }}",
        f"{scope} line.loss {{ stroke: {p.last_line}; }}",
        f"{scope} line.bracket, {scope} line.break {{ stroke: {p.muted}; }}",
        f"{scope} text {{ fill: {c['label']['fill']}; }}",
        f"{scope} text.timer, {scope} text.time {{ fill: {p.muted}; }}",
        f"{scope} rect.back {{ fill: {p.background}; }}",
        f"{scope} rect.state-back {{ fill: {p.visited_fill}; }}",
        f"{scope} g.ladder-state text {{ fill: {p.visited_text}; }}",
        # The moment the widget shows: its segment and state thick and in the "now" colours.
        f"{scope} g.selected line.segment {{ stroke: {p.last_line}; stroke-width: 3.2; }}",
        f"{scope} g.selected path.head {{ fill: {p.last_line}; }}",
        f"{scope} g.selected text {{ fill: {p.last_text}; }}",
        f"{scope} g.ladder-state.selected rect.state-back {{ fill: {p.current_fill}; }}",
        f"{scope} g.ladder-state.selected text {{ fill: {p.current_text}; }}",
        f"{scope} g.later {{ opacity: 0.25; }}",
    ]


def _build_ladder_style() -> str:
    lines = [
        "/* tcpviz ladder: one rule set per theme, scoped to svg.tcpviz-ladder.tcpviz-theme-NAME */"
    ]
    lines.extend(_themed("svg.tcpviz-ladder", _ladder_rules))
    lines.append("svg.tcpviz-ladder g.ladder-segment { cursor: pointer; }")
    lines.append("svg.tcpviz-ladder g.ladder-segment:hover line.segment { stroke-width: 3; }")
    return "\n".join(lines)


_LADDER_STYLE = _build_ladder_style()


def ladder_style_sheet() -> str:
    """The CSS every ladder SVG embeds: all themes, and the widget's ``selected``/``later``."""
    return _LADDER_STYLE


def _num(v: float) -> str:
    return f"{v:.1f}"


def _shorten(line: _Line, by: float) -> _Line:
    """The line stopping ``by`` short of its end (where the arrowhead's base is)."""
    dx, dy = line.x2 - line.x1, line.y2 - line.y1
    n = math.hypot(dx, dy) or 1.0
    return _Line(
        line.x1, line.y1, line.x2 - dx / n * by, line.y2 - dy / n * by, line.role, line.dashed
    )


# The elements a ladder has thousands of, as %-templates: "%.1f" is what f"{x:.1f}" writes
# (the same C routine), without parsing the format spec again for every number.
_LINE = '<line class="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f%s'
_HEAD = '<path class="head" d="M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z"%s/>'
_RECT = '<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f%s'
_TEXT = '<text class="%s" x="%.1f" y="%.1f" font-size="%.1f%s%s</text>'


def _svg(layout: LadderLayout, theme: str, label: str) -> str:
    palette = _PALETTES["light" if theme == "auto" else theme]
    colours = _colours(palette)
    bake = theme != "auto"  # auto follows the page's theme through CSS variables alone

    # Each role's attributes written once (a long connection has thousands of elements).
    baked = {
        role: "".join(f' {k}="{v}"' for k, v in values.items()) if bake else ""
        for role, values in colours.items()
    }
    attrs = baked.__getitem__
    head_attrs = baked["head"]
    # What is the same for every element of a kind, joined once: a 1,000-segment ladder
    # writes some 12,000 elements, and the writer's time is mostly their text.
    line_ends = {
        (role, dashed): '"'
        + baked[role]
        + (' stroke-dasharray="7,4"' if dashed else "")
        + ' stroke-linecap="round"/>'
        for role in baked
        for dashed in (False, True)
    }
    text_styles = {
        (role, anchor, weight, italic): (
            f'" text-anchor="{anchor}"'
            + (' font-weight="bold"' if weight == "bold" else "")
            + (' font-style="italic"' if italic else "")
            + f"{baked[role]}>"
        )
        for role in baked
        for anchor in ("start", "middle", "end")
        for weight in ("normal", "bold")
        for italic in (False, True)
    }
    rect_ends = {kind: f'" rx="3"{baked[kind]}/>' for kind in baked}
    escape = _escape
    hypot = math.hypot

    w, h = _num(layout.width), _num(layout.height)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tcpviz-ladder tcpviz-theme-{theme}" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="group" '
        f'aria-label="{_escape(label)}" font-family="{_FONT}" '
        f"data-rows='{json.dumps({str(k): round(v, 1) for k, v in layout.rows.items()})}'>",
        f"<style>\n{_LADDER_STYLE}\n</style>",
        f'<rect class="ladder-background" x="0" y="0" width="{w}" height="{h}"{attrs("back")}/>',
    ]
    append = out.append
    for g in layout.groups:
        data = "".join([f' data-{k}="{escape(v)}"' for k, v in g.data.items()])
        title = escape(g.title)
        role = ' role="img"' if title else ""
        append(
            f'<g id="{g.id}" class="{g.classes}"{role} aria-label="{title}"{data}>'
            f"<title>{title}</title>"
        )
        for x1, y1, x2, y2, kind, dashed, head in g.lines:
            if head:
                # The line stops 9 px short, where the arrowhead's base is (as _shorten
                # does for the DOT writer); the head, 11 px long, is drawn at its end.
                dx, dy = x2 - x1, y2 - y1
                n = hypot(dx, dy) or 1.0
                ux, uy = dx / n, dy / n
                bx, by = x2 - ux * 11.0, y2 - uy * 11.0
                px, py = -uy * 11.0 * 0.42, ux * 11.0 * 0.42
                append(
                    _LINE % (kind, x1, y1, x2 - ux * 9.0, y2 - uy * 9.0, line_ends[kind, dashed])
                )
                append(_HEAD % (x2, y2, bx + px, by + py, bx - px, by - py, head_attrs))
            else:
                append(_LINE % (kind, x1, y1, x2, y2, line_ends[kind, dashed]))
        for bx, by, bw, bh, kind, _ in g.backs:
            kind = kind or "back"
            append(_RECT % (kind, bx, by, bw, bh, rect_ends[kind]))
        for tx, ty, text, size, kind, anchor, weight, italic in g.texts:
            style = text_styles[kind, anchor, weight, italic]
            append(_TEXT % (kind, tx, ty, size, style, escape(text)))
        append("</g>")
    append("</svg>")
    return "\n".join(out)


# -- writing DOT (for Graphviz's PNG and PDF) ---------------------------------------------------


def _dot(layout: LadderLayout, theme: str, dpi: float) -> str:
    """The same geometry as DOT with every position pinned, for ``dot -Knop2``.

    Graphviz's y axis points up, so every y is flipped; points are pixels at 72 dpi."""
    palette = _PALETTES["light" if theme == "auto" else theme]
    colours = _colours(palette)
    height = layout.height

    def p(x: float, y: float) -> str:
        return f"{x:.2f},{height - y:.2f}"

    out = [
        "digraph ladder {",
        f'  graph [bb="0,0,{layout.width:.2f},{height:.2f}", splines=true, pad=0, '
        f'dpi={dpi:.1f}, bgcolor="{palette.background}", outputorder=edgesfirst, layout=nop2];',
        '  node [shape=point, width=0, height=0, label="", style=invis, fixedsize=true];',
        "  edge [arrowhead=none];",
        # Two corners pin the picture to the ladder's own size.
        f'  c0 [pos="{p(0, 0)}"]; c1 [pos="{p(layout.width, layout.height)}"];',
    ]
    n = 0
    for g in layout.groups:
        for line in g.lines:
            n += 2
            a, b = f"p{n - 1}", f"p{n}"
            c = colours[line.role]
            out.append(f'  {a} [pos="{p(line.x1, line.y1)}"]; {b} [pos="{p(line.x2, line.y2)}"];')
            style = ", style=dashed" if line.dashed else ""
            head = ", arrowhead=normal, arrowsize=0.9" if line.head else ""
            x1, y1, x2, y2 = line.x1, line.y1, line.x2, line.y2
            end = _shorten(line, 9.0) if line.head else line
            mid1 = (x1 + (end.x2 - x1) / 3, y1 + (end.y2 - y1) / 3)
            mid2 = (x1 + 2 * (end.x2 - x1) / 3, y1 + 2 * (end.y2 - y1) / 3)
            spline = f"{p(x1, y1)} {p(*mid1)} {p(*mid2)} {p(end.x2, end.y2)}"
            pos = f"e,{p(x2, y2)} {spline}" if line.head else spline
            out.append(
                f'  {a} -> {b} [pos="{pos}", color="{c["stroke"]}", '
                f"penwidth={c['stroke-width']}{style}{head}];"
            )
        for box in g.backs:
            n += 1
            fill = colours[box.kind or "back"]["fill"]
            out.append(
                f'  b{n} [shape=box, style="filled,rounded", color="{fill}", '
                f'fillcolor="{fill}", width={box.w / 72:.3f}, '
                f'height={box.h / 72:.3f}, pos="{p(box.x + box.w / 2, box.y + box.h / 2)}"];'
            )
        for t in g.texts:
            n += 1
            w = text_width(t.text, t.size, t.weight)
            cx = t.x + (w / 2 if t.anchor == "start" else -w / 2 if t.anchor == "end" else 0.0)
            cy = t.y - t.size * 0.35  # from the baseline to the middle of the letters
            font = "Helvetica-Bold" if t.weight == "bold" else "Helvetica"
            font += "-Oblique" if t.italic and t.weight != "bold" else ""
            label = t.text.replace("\\", "\\\\").replace('"', '\\"')
            out.append(
                f'  t{n} [shape=plaintext, style="", label="{label}", fontname="{font}", '
                f'fontsize={t.size:.1f}, fontcolor="{colours[t.role]["fill"]}", '
                f'width={w / 72:.3f}, height={t.size * 1.2 / 72:.3f}, pos="{p(cx, cy)}"];'
            )
    out.append("}")
    return "\n".join(out) + "\n"


# -- writing Mermaid ------------------------------------------------------------------------------


def _mermaid_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name) or "end"


def _mermaid(trace: LadderTrace) -> str:
    """A Mermaid ``sequenceDiagram``: messages in the order sent, states as notes.

    Mermaid draws every message level, so crossing segments do not cross there; lost segments
    use its ``-x`` arrow, segments still in flight its open ``-)`` arrow."""
    names = [_mermaid_name(n) for n in trace.ends]
    if names[0] == names[1]:
        names[1] += "_2"
    out = ["sequenceDiagram"]
    out += [f"    participant {names[i]} as {trace.ends[i]}" for i in (0, 1)]
    events: list[tuple[int, int, str]] = []
    for n, c in enumerate(trace.states):
        side = "left of" if c.end == 0 else "right of"
        events.append((c.step, 2 * n + 1, f"    Note {side} {names[c.end]}: {c.state}"))
    for n, call in enumerate(trace.calls):
        side = "left of" if call.end == 0 else "right of"
        events.append((call.step, 2 * n, f"    Note {side} {names[call.end]}: {call.call}"))
    for t in trace.timers:
        side = "left of" if t.end == 0 else "right of"
        events.append((t.start_step, 10**6, f"    Note {side} {names[t.end]}: {t.name} started"))
        if t.outcome == "fired" and t.stop_step is not None:
            events.append((t.stop_step, -1, f"    Note {side} {names[t.end]}: {t.name} fired"))
    for s in trace.segments:
        arrow = {"delivered": "->>", "dropped": "-x", "in flight": "-)"}[s.fate]
        head, numbers = s.label_lines()
        text = f"{head} {numbers}" + {"dropped": " (lost)", "in flight": " (in flight)"}.get(
            s.fate, ""
        )
        text = text.replace(";", ",").replace("#", "")
        events.append(
            (
                s.sent_step,
                10**5 + s.id,
                f"    {names[s.sender]}{arrow}{names[1 - s.sender]}: {text}",
            )
        )
    events.sort(key=lambda e: (e[0], e[1]))
    out += [line for _, _, line in events]
    return "\n".join(out) + "\n"


# -- from the simulator's trace ---------------------------------------------------------------

_Record = TypeVar("_Record", "LadderSegment", "TimerSpan", "UserCall")

#: Timers a ladder leaves out unless asked: the user timeout runs for a connection's whole life.
HIDDEN_TIMERS: tuple[str, ...] = ("user-timeout",)
#: How the simulator's timers are written on a ladder: RFC 6298's RTO, RFC 9293's 2MSL.
TIMER_NAMES: dict[str, str] = {
    "retransmit": "RTO",
    "2msl": "2MSL",
    "fin-wait-2": "FIN-WAIT-2 timeout",
    "user-timeout": "user timeout",
}


def trace_from_events(
    events: Iterable[Any],
    *,
    ends: Sequence[str] = ("client", "server"),
    initial: Sequence[str] = ("CLOSED", "CLOSED"),
    now_step: int | None = None,
    now_time: float | None = None,
    title: str = "",
    hide_timers: Iterable[str] = HIDDEN_TIMERS,
) -> LadderTrace:
    """The ladder of a simulated connection's trace (:attr:`tcpviz.sim.Connection.trace`).

    Each event is read by its ``kind`` (``sent``, ``delivered``, ``dropped``, ``duplicated``,
    ``state``, ``call``, ``timer-start``, ``timer-stop``, ``timer-fire``; ``delayed`` draws
    nothing: a held-back segment shows as arrows crossing). A network duplicate is drawn from
    where its original left, since it is the same segment. ``initial`` is each end's state
    before the first event; timers named in ``hide_timers`` are left out (by default the user
    timeout, which runs for the whole life of a connection and would only add a long bracket)."""
    names = list(ends)
    hidden = set(hide_timers)
    index = {name: i for i, name in enumerate(names)}

    def who(name: str) -> int:
        if name not in index:
            raise RenderError(f"the trace names an end {name!r} (the ends are {names})")
        return index[name]

    segments: dict[int, dict[str, Any]] = {}
    states: list[StateChange] = []
    calls: list[UserCall] = []
    timers: list[TimerSpan] = []
    running: dict[tuple[int, str], tuple[int, float, float]] = {}
    first_state: dict[int, str] = {}
    flag_texts: dict[Any, str] = {}  # a segment's flags -> how they are written
    last_step, last_time = 0, 0.0

    timer_names: dict[tuple[str, float], str] = {}  # the same few again and again

    def close_timer(key: tuple[int, str], step: int, time: float, outcome: str) -> None:
        start_step, start_time, after = running.pop(key)
        name = timer_names.get((key[1], after))
        if name is None:
            name = f"{TIMER_NAMES.get(key[1], key[1])} {_seconds(after)} s"
            timer_names[key[1], after] = name
        timers.append(_made(TimerSpan, (key[0], name, start_step, start_time, step, time, outcome)))

    for e in events:
        kind = getattr(e, "kind", None)
        step, time = int(e.step), float(e.time)
        if step > last_step:
            last_step = step
        if time > last_time:
            last_time = time
        if kind == "sent":
            seg = e.segment
            flags = seg.flags
            try:  # the same few flag sets again and again: written once each
                flag_text = flag_texts[flags]
            except KeyError:
                flag_text = flag_texts[flags] = seg.flag_text
            except TypeError:  # flags that cannot be a key (not a simulator's segment)
                flag_text = seg.flag_text
            # Every field of LadderSegment, in its order (see _made).
            segments[e.segment_id] = {
                "id": e.segment_id,
                "sender": who(e.end),
                "flags": flag_text,
                "seq": seg.seq,
                "ack": seg.ack if "ACK" in flags else None,
                "length": seg.payload,
                "sent_step": step,
                "sent_time": time,
                "fate": "in flight",
                "end_step": None,
                "end_time": None,
                "retransmission": bool(getattr(e, "retransmission", False)),
                "duplicate": False,
                "note": "injected from outside" if getattr(e, "injected", False) else "",
            }
        elif kind in ("delivered", "dropped"):
            seg = segments.get(e.segment_id)
            if seg is None:
                continue  # sent before the part of the trace given
            seg["fate"] = "delivered" if kind == "delivered" else "dropped"
            seg["end_step"], seg["end_time"] = step, time
            if kind == "delivered":
                why = f"{e.response}: {e.reason}" if getattr(e, "reason", "") else e.response
                section = getattr(e, "section", "")
                seg["note"] = (
                    seg.get("note", "") + " " + why + (f" ({section})" if section else "")
                ).strip()
        elif kind == "duplicated":
            original = segments.get(e.segment_id)
            if original is not None:
                segments[e.copy_id] = {
                    **original,
                    "id": e.copy_id,
                    "duplicate": True,
                    "retransmission": False,
                    "note": f"a copy of #{e.segment_id} made by the network at step {step}",
                }
        elif kind == "state":
            end = who(e.end)
            first_state.setdefault(end, e.previous)
            cause = getattr(getattr(e, "transition", None), "label", "")
            states.append(StateChange(end, step, e.state, time, cause))
        elif kind == "call":
            calls.append(_made(UserCall, (who(e.end), step, e.call, time)))
        elif kind in ("timer-start", "timer-stop", "timer-fire") and e.timer in hidden:
            continue
        elif kind == "timer-start":
            key = (who(e.end), e.timer)
            if key in running:
                close_timer(key, step, time, "stopped")  # restarted: the old one ends here
            running[key] = (step, time, float(e.deadline) - time)
        elif kind in ("timer-stop", "timer-fire"):
            key = (who(e.end), e.timer)
            if key in running:
                close_timer(key, step, time, "fired" if kind == "timer-fire" else "stopped")
    for (end, name), (start_step, start_time, after) in running.items():
        shown = TIMER_NAMES.get(name, name)
        timers.append(TimerSpan(end, f"{shown} {_seconds(after)} s", start_step, start_time))
    opening = [StateChange(end, 0, first_state.get(end, initial[end])) for end in (0, 1)]
    ladder_segments = []
    for seg in segments.values():
        if seg["fate"] != "in flight" and seg["end_step"] <= seg["sent_step"]:
            # A duplicate delivered in the step it was made: one row later, so it slants.
            seg["end_step"] = seg["sent_step"] + 1
        ladder_segments.append(_made(LadderSegment, seg.values()))
    return LadderTrace(
        ends=(names[0], names[1]),
        segments=tuple(ladder_segments),
        states=tuple(opening + states),
        timers=tuple(timers),
        calls=tuple(calls),
        now_step=last_step if now_step is None else now_step,
        now_time=last_time if now_time is None else now_time,
        title=title,
    )


def _made(cls: type[_Record], values: Iterable[Any]) -> _Record:
    """``cls(*values)`` for one of the frozen records above, every field given in order, made
    without the generated ``__init__``: a frozen dataclass sets each field through
    ``object.__setattr__``, which for a segment's 14 fields is most of the cost of making one
    (5 µs here against under 1 µs), and a long ladder makes thousands (a test checks that the
    result is ``cls(*values)``)."""
    made = object.__new__(cls)
    made.__dict__.update(zip(_FIELD_NAMES[cls], values, strict=True))
    return made


_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (LadderSegment, TimerSpan, UserCall)
}


def trace_from_connection(connection: Any, *, title: str = "") -> LadderTrace:
    """The ladder of a :class:`tcpviz.sim.Connection` up to where it stands now."""
    return trace_from_events(
        connection.trace,
        ends=tuple(connection.names),
        now_step=connection.step,
        now_time=connection.now,
        title=title,
    )


# -- the public object ----------------------------------------------------------------------------


def _check_format(format: str) -> str:
    name = str(format).lower().lstrip(".")
    if name not in LADDER_FORMATS:
        raise RenderError(f"unknown format: {format!r} (must be one of {sorted(LADDER_FORMATS)})")
    return name


def _check_time(time: str) -> str:
    if time not in TIMES:
        raise RenderError(f"unknown time: {time!r} (must be one of {list(TIMES)})")
    return time


def _trace(source: Any) -> LadderTrace:
    if isinstance(source, LadderTrace):
        return source
    convert = getattr(source, "ladder_trace", None)
    if callable(convert):
        trace = convert()
        if isinstance(trace, LadderTrace):
            return trace
    if hasattr(source, "trace") and hasattr(source, "names") and hasattr(source, "step"):
        return trace_from_connection(source)  # a tcpviz.sim.Connection
    if isinstance(source, (list, tuple)) and all(hasattr(e, "kind") for e in source):
        return trace_from_events(source)  # a Connection's trace
    raise RenderError(
        f"cannot draw a ladder of {type(source).__name__}: give a LadderTrace or a connection "
        "of tcpviz.sim"
    )


class Ladder:
    """The ladder diagram of a connection: shows itself as SVG in Jupyter and saves SVG, PNG,
    PDF or Mermaid text.

    Parameters
    ----------
    trace
        A :class:`LadderTrace`, or a connection of the simulator (or its trace).
    time
        ``"logical"`` (one row per moment) or ``"real"`` (rows spaced by the simulated clock).
    theme
        One of :data:`~tcpviz.drawing.THEMES`, as for the state diagram.
    title
        What the ladder shows, for its accessible name (default: the trace's title).
    compact
        Timelines closer together, for a column of a widget (labels still never overlap).

    Examples
    --------
    >>> trace = LadderTrace(
    ...     segments=(LadderSegment(1, 0, "SYN", 100, None, 0, 1, fate="delivered", end_step=2),),
    ...     states=(StateChange(0, 1, "SYN-SENT"), StateChange(1, 2, "SYN-RECEIVED")),
    ... )
    >>> "SYN-RECEIVED" in Ladder(trace).svg()
    True
    """

    def __init__(
        self,
        trace: Any,
        *,
        time: str = "logical",
        theme: str = "light",
        title: str | None = None,
        compact: bool = False,
    ):
        self.trace: LadderTrace = _trace(trace)
        self.compact: bool = bool(compact)
        self.time: str = _check_time(time)
        self.theme: str = _check_theme(theme)
        self.title: str = self.trace.title if title is None else title
        self._layout: LadderLayout | None = None

    @property
    def layout(self) -> LadderLayout:
        """Where everything goes (computed once): size, groups and every label's box."""
        if self._layout is None:
            self._layout = layout_ladder(self.trace, time=self.time, compact=self.compact)
        return self._layout

    def _label(self) -> str:
        a, b = self.trace.ends
        what = self.title or f"ladder diagram of {a} and {b}"
        return f"{what}: {len(self.trace.segments)} segments, {self.time} time"

    def svg(self) -> str:
        """The SVG, ready to inline in HTML or save (colours also written as attributes)."""
        return _svg(self.layout, self.theme, self._label())

    def mermaid(self) -> str:
        """The ladder as Mermaid ``sequenceDiagram`` text."""
        return _mermaid(self.trace)

    def dot(self, dpi: float = 96.0) -> str:
        """The ladder as DOT with every position pinned (what PNG and PDF are made from)."""
        return _dot(self.layout, self.theme, dpi)

    def pipe(self, format: str = "svg", *, scale: float = 1.0) -> bytes:
        """The ladder as a file's bytes. ``svg`` and ``mermaid`` need nothing; ``png`` and ``pdf``
        run Graphviz's ``dot`` on :meth:`dot` (``scale`` sets the PNG's pixels per CSS px)."""
        format = _check_format(format)
        if format == "svg":
            return ('<?xml version="1.0" encoding="UTF-8"?>\n' + self.svg() + "\n").encode()
        if format == "mermaid":
            return self.mermaid().encode("utf-8")
        if not (0.1 <= scale <= 10):
            raise RenderError(f"scale must be between 0.1 and 10, not {scale!r}")
        dpi = 72.0 * scale if format == "png" else 72.0
        return run_dot(self.dot(dpi), format)

    def save(self, path: str | Path, format: str | None = None, *, scale: float = 1.0) -> Path:
        """Write the ladder to ``path`` atomically; the format comes from the suffix unless given.
        Nothing is written when rendering fails."""
        path = Path(path)
        if format is None:
            suffix = path.suffix.lower()
            if suffix not in LADDER_SUFFIXES:
                raise RenderError(
                    f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use "
                    f"one of {sorted(LADDER_SUFFIXES)} or pass format= "
                    f"(one of {sorted(LADDER_FORMATS)})"
                )
            format = LADDER_SUFFIXES[suffix]
        data = self.pipe(format, scale=scale)
        return write_atomic(path, data)

    def with_theme(self, theme: str) -> Ladder:
        """The same ladder in another theme (the layout is shared)."""
        copy = Ladder(
            self.trace, time=self.time, theme=theme, title=self.title, compact=self.compact
        )
        copy._layout = self._layout
        return copy

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        bundle = {"image/svg+xml": self.svg(), "text/plain": repr(self)}
        if include is not None:
            bundle = {k: v for k, v in bundle.items() if k in set(include)}
        if exclude is not None:
            bundle = {k: v for k, v in bundle.items() if k not in set(exclude)}
        return bundle

    def __repr__(self) -> str:
        a, b = self.trace.ends
        return (
            f"<Ladder of {a} and {b}: {len(self.trace.segments)} segments, {self.time} time, "
            f"theme {self.theme!r}>"
        )


assert set(THEMES) >= {"light", "dark", "print", "auto"}
