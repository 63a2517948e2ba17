"""The connection widget: both ends' state diagrams with the ladder between them, in a notebook.

Python decides, the page draws (DESIGN.md, decision 7). The widget holds a
:class:`~tcpviz.sim.Connection` (shared if given) and follows it as an observer. For the page it
computes *positions*: everything one moment shows (each end's state, TCB, timers and possible
calls; every segment in flight with its deliver / drop / duplicate buttons; the clock; why the
last step happened) and, with each position, the position every button leads to (a one-step
lookahead), so that a click is painted at once while Python confirms. The page holds no TCP
rules.

The lookahead runs on a private scratch :class:`~tcpviz.sim.Connection` that mirrors the real one
step by step (public API only: apply, then undo), so the real connection, its history and what
it can redo are never touched, and a step costs the same however long the history is.

The ladder shows the whole recorded story (what undo leaves to redo included, greyed out after
the moment shown), and for a long story its last :attr:`ConnectionView.ladder_window` steps.

>>> view = ConnectionView()
>>> view.act("op:server listen")
>>> view.position()["ends"][1]["state"]
'LISTEN'
>>> sorted(view.position()["next"])[:3]
['op:client connect', 'op:client listen', 'op:server abort']
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..drawing import check_theme
from ..drawing.diagram import highlight, layout_svg
from ..drawing.ladder import TIMER_NAMES, TIMES, Ladder, trace_from_events
from ..errors import SimError, TcpvizError, WidgetError
from ..model.table import Table, tcp_table
from ..sim import Called, Connection, Delivered, Dropped, Duplicated, TimerFired
from ..sim.connection import Operation
from ..teach.connection_scenarios import (
    CONNECTION_SCENARIOS,
    ConnectionScenario,
    get_connection_scenario,
)
from .payload import HISTORY_WINDOW

__all__ = ["ConnectionView", "ConnectionWidget", "record_scenario"]

_STATIC = Path(__file__).parent / "static"
#: The TCB variables shown beside each end's diagram, as RFC 9293 3.3.1 names them.
TCB_FIELDS: tuple[tuple[str, str], ...] = (
    ("ISS", "iss"),
    ("IRS", "irs"),
    ("SND.UNA", "snd_una"),
    ("SND.NXT", "snd_nxt"),
    ("RCV.NXT", "rcv_nxt"),
    ("SND.WND", "snd_wnd"),
    ("RCV.WND", "rcv_wnd"),
)
_CARD_ACTIONS = ("deliver", "drop", "duplicate")
_HISTORY_SHOWN = HISTORY_WINDOW // 2  # steps each side of the moment in the history menu


def _seconds(t: float) -> str:
    return f"{t:g} s"


class ConnectionView:
    """What the connection widget shows, computed in Python: positions with their lookahead,
    the ladder, and the actions behind every button. No widget machinery: tests and
    benchmarks drive it directly, and the standalone page is recorded from it.

    Parameters
    ----------
    connection
        The connection to show (default: a new one); shared, so code and other views may move it.
    theme, time
        As for :class:`~tcpviz.drawing.Ladder`.
    """

    #: How many of the story's last steps the ladder draws (a long story stays cheap to draw).
    ladder_window: int = 80

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        theme: str = "auto",
        time: str = "logical",
    ):
        check_theme(theme, WidgetError)
        if time not in TIMES:
            raise WidgetError(f"unknown time: {time!r} (must be one of {list(TIMES)})")
        self.connection: Connection = Connection() if connection is None else connection
        self.theme: str = theme
        self.time: str = time
        # The endpoints' machines run the extended table.
        self.table: Table = tcp_table(extended=True)
        self.scenario: ConnectionScenario | None = None
        self.error = ""
        # The story (history and future) as (operation label, both states after it), kept in
        # step with the connection so no step has to read the whole history.
        self._story: list[str] = []
        self._scratch = self._new_scratch()
        self._valid = 0  # the scratch's steps 1.._valid are the connection's
        self._ladder_svg: str | None = None
        self._quiet = False
        self._ours: Operation | None = None
        self._unsubscribe = self.connection.subscribe(self._changed)
        self._rebuild_story()

    # -- following the connection --------------------------------------------------------------

    def _new_scratch(self) -> Connection:
        """A connection made like the real one (profile, names, ISSs, window), at its start."""
        c = self.connection
        return Connection(
            profile=c.profile,
            names=c.names,
            client_iss=c.client.iss_base,
            server_iss=c.server.iss_base,
            window=c.client.window,
        )

    def _rebuild_story(self) -> None:
        """Read the whole story again (after a change made outside this view: O(history))."""
        c = self.connection
        self._story = [op.label for op in (*c.history, *c.future)]
        self._scratch = self._new_scratch()
        self._valid = 0
        self._ladder_svg = None

    def _changed(self, connection: Connection, change: Any) -> None:
        """Keep the story and the scratch in step with the connection, whoever moved it."""
        if self._quiet:
            return
        if change.action == "apply":
            p = change.step - 1
            op = self._ours if self._ours is not None else connection.history[-1]
            del self._story[p:]
            self._story.append(op.label)
            self._valid = min(self._valid, p)
            self._ladder_svg = None  # the story changed
        elif change.action == "reset":
            self._story, self._valid, self._ladder_svg = [], 0, None
            self._scratch = self._new_scratch()
        elif (
            change.action == "jump"
            and self._ours is None
            and connection.step + len(connection.future) != len(self._story)
        ):
            # Connection.run() reports its steps as one jump: read what it added.
            self._rebuild_story()
        # undo, redo and our own jumps move within the story: nothing to record.

    def _sync(self) -> Connection:
        """The scratch connection at the real one's position, with the same steps up to it."""
        s, target = self._scratch, self.connection.step
        if target > self._valid:
            s.jump(self._valid)
            for label in self._story[self._valid : target]:
                s.apply(label)
            self._valid = target
        elif s.step != target:
            s.jump(target)
        return s

    # -- acting ---------------------------------------------------------------------------------

    def act(self, key: str) -> None:
        """Do what the button ``key`` means: ``op:<operation>`` (a user call, ``deliver 3``,
        ``advance``...), ``undo``, ``redo``, ``goto:<step>``, ``scenario:<name>``, ``reset``.

        A step that is not possible raises (and changes nothing); so does an unknown key."""
        c = self.connection
        if key.startswith("op:"):
            op = Operation.parse(key[3:], c.names)
            self._ours = op
            try:
                c.apply(op)
            finally:
                self._ours = None
            # The scratch follows at once (one step), so the next lookahead needs no catch-up.
            s = self._scratch
            if s.step != c.step - 1:
                s.jump(min(c.step - 1, self._valid))
            if s.step == c.step - 1:
                s.apply(op)
                self._valid = c.step
        elif key == "undo":
            c.undo()
        elif key == "redo":
            c.redo()
        elif key.startswith("goto:"):
            number = key[5:]
            if not number.isdigit():
                raise WidgetError(f"goto needs a step number, not {number!r}")
            self._ours = Operation("advance")  # marks the jump as ours: the story is unchanged
            try:
                c.jump(int(number))
            finally:
                self._ours = None
        elif key.startswith("scenario:"):
            self.play(key[9:])
        elif key == "reset":
            self.scenario = None
            c.reset()
        else:
            raise WidgetError(
                f"unknown action {key!r} (expected op:OPERATION, undo, redo, goto:N, "
                "scenario:NAME or reset)"
            )

    def play(self, name: str | ConnectionScenario) -> None:
        """Load scenario ``name``: the connection starts over with the scenario's steps ready to
        redo one by one (``redo``, or a click on the ladder)."""
        scenario = get_connection_scenario(name)
        c = self.connection
        self._quiet = True
        try:
            c.reset()
            c.run(*scenario.operations)
            self._story = list(scenario.operations)
            self._ladder_svg = self._draw_ladder()  # the whole story is the trace right now
            c.jump(0)
        finally:
            self._quiet = False
        self._scratch = self._new_scratch()
        self._valid = 0
        self.scenario = scenario

    # -- what the page shows --------------------------------------------------------------------

    def diagram_svg(self) -> str:
        """The state diagram both ends are drawn on (the extended machine), themed."""
        return highlight(layout_svg(self.table), self.table, theme=self.theme)

    def ladder_svg(self) -> str:
        """The ladder of the story's last :attr:`ladder_window` steps (cached until it changes)."""
        if self._ladder_svg is None:
            c = self.connection
            if c.future:  # only the steps taken are in the trace: draw from the end of the story
                here = c.step
                self._quiet = True
                try:
                    c.jump(len(self._story))
                    self._ladder_svg = self._draw_ladder()
                    c.jump(here)
                finally:
                    self._quiet = False
            else:
                self._ladder_svg = self._draw_ladder()
        return self._ladder_svg

    def _draw_ladder(self) -> str:
        c = self.connection
        first = max(1, c.step - self.ladder_window + 1)
        events = [e for step in range(first, c.step + 1) for e in c.events(step)]
        initial = ("CLOSED", "CLOSED")
        if first > 1:
            s = self._sync_at(first - 1)
            initial = s.states
        trace = trace_from_events(
            events, ends=c.names, initial=initial, now_step=c.step, now_time=c.now
        )
        title = self.scenario.title if self.scenario else "connection"
        return Ladder(trace, time=self.time, theme=self.theme, title=title, compact=True).svg()

    def _sync_at(self, step: int) -> Connection:
        s = self._scratch
        if step > self._valid:
            s.jump(self._valid)
            for label in self._story[self._valid : step]:
                s.apply(label)
            self._valid = step
        s.jump(step)
        return s

    def position(self, *, lookahead: bool = True) -> dict[str, Any]:
        """Where the connection stands, as the page draws it; with ``lookahead``, ``next``
        holds the position each button leads to."""
        c = self.connection
        here = self._describe(c, c.step)
        here["history"] = self._history(c.step)
        here["error"] = self.error
        here["next"] = self.lookahead() if lookahead else {}
        return here

    def lookahead(self) -> dict[str, dict[str, Any]]:
        """For every button of the current position, the position it leads to (without its own
        lookahead): worked out on the scratch twin, so the connection itself does not move."""
        c = self.connection
        nexts: dict[str, dict[str, Any]] = {}
        s = self._sync()
        p = c.step
        for op in s.possible():
            try:
                s.apply(op)
            except SimError:
                continue  # not possible after all: no preview, Python answers the click
            nexts[f"op:{op.label}"] = self._describe(s, p + 1, story_end=p + 1, label=op.label)
            s.undo()
        self._valid = min(self._valid, p)
        if p > 0:
            s.jump(p - 1)
            nexts["undo"] = self._describe(s, p - 1)
            s.jump(p)
        if p < len(self._story):
            s.apply(self._story[p])
            nexts["redo"] = self._describe(s, p + 1)
            self._valid = p + 1
            s.undo()
        return nexts

    def _describe(
        self, c: Connection, index: int, story_end: int | None = None, label: str | None = None
    ) -> dict[str, Any]:
        """One position of ``c`` (the real connection or the scratch), without lookahead;
        ``label`` is the operation that led there when it is not in the story (a preview)."""
        end_of_story = len(self._story) if story_end is None else story_end
        possible = c.possible()
        calls: dict[str, list[dict[str, str]]] = {name: [] for name in c.names}
        cards: dict[int, dict[str, str]] = {}
        advance = ""
        for op in possible:
            if op.action == "advance":
                advance = "op:advance"
            elif op.end is not None and op.action not in ("inject",):
                text = op.action if op.length is None else f"{op.action} {op.length}"
                calls[op.end].append(
                    {"key": f"op:{op.label}", "label": text, "title": f"{op.end}: {text}"}
                )
            elif op.segment_id is not None and op.action in _CARD_ACTIONS:
                cards.setdefault(op.segment_id, {})[op.action] = f"op:{op.label}"
        ends = []
        for endpoint in c.ends:
            machine = endpoint.machine
            last = machine.last
            tcb = endpoint.tcb
            rows = [
                (name, "–" if getattr(tcb, field) is None else str(getattr(tcb, field)))
                for name, field in TCB_FIELDS
            ]
            rows.append(("unread", str(endpoint.unread)))
            timers = [
                f"{TIMER_NAMES.get(t.name, t.name)} at {_seconds(t.deadline)}"
                for t in c.clock.timers
                if t.end == endpoint.name
            ]
            ends.append(
                {
                    "name": endpoint.name,
                    "state": endpoint.state,
                    "state_id": self.table.state_ids.get(endpoint.state, ""),
                    "last_edge": self.table.edge_ids.get(last, "") if last is not None else "",
                    "visited": [],
                    "taken": [],
                    "tcb": rows,
                    "timers": timers,
                    "calls": calls[endpoint.name],
                }
            )
        flight = []
        for f in c.in_flight:
            seg = f.segment
            origin = "" if f.origin == "sent" else f" ({f.origin})"
            flight.append(
                {
                    "id": f.id,
                    "label": f"#{f.id} {seg.label}",
                    "route": f"{seg.src} to {seg.dst}{origin}",
                    "from": 0 if seg.src == c.names[0] else 1,
                    "keys": cards.get(f.id, {}),
                }
            )
        pending = c.clock.next()
        return {
            "index": index,
            "total": end_of_story,
            "ends": ends,
            "flight": flight,
            "clock": {
                "now": _seconds(c.now),
                "next": (
                    f"{pending.end}'s {TIMER_NAMES.get(pending.name, pending.name)} timer at "
                    f"{_seconds(pending.deadline)}"
                    if pending
                    else ""
                ),
                "key": advance,
            },
            "why": self._why(c, index, label),
            "can_undo": index > 0,
            "can_redo": index < end_of_story,
            "scenario": self.scenario.name if self.scenario else "",
            "history": [],
            "error": "",
        }

    def _why(self, c: Connection, index: int, label: str | None = None) -> str:
        """What the step that led here did, and why (the scenario's sentence when it has one)."""
        if index == 0:
            return (
                self.scenario.summary
                if self.scenario
                else "Both ends are CLOSED. Make one listen and the other connect."
            )
        parts = []
        if self.scenario and index <= len(self.scenario.steps):
            step = self.scenario.steps[index - 1]
            done = label if label is not None else self._story[index - 1]
            if done == step.operation:
                parts.append(f"{step.why} (RFC 9293 {step.section})")
        if not parts:
            for e in c.events(index):
                if isinstance(e, Delivered):
                    section = f" ({e.section})" if e.section else ""
                    parts.append(f"{e.end} got {e.segment.label}: {e.reason}{section}.")
                elif isinstance(e, Dropped):
                    parts.append(f"The network lost {e.segment.label} on its way to {e.end}.")
                elif isinstance(e, Duplicated):
                    parts.append(
                        f"The network copied {e.segment.label} (the copy is #{e.copy_id})."
                    )
                elif isinstance(e, TimerFired):
                    parts.append(f"{e.end}'s {TIMER_NAMES.get(e.timer, e.timer)} timer ran out.")
                elif isinstance(e, Called):
                    parts.append(f"{e.end}: {e.call}. {e.reason}".strip())
        return " ".join(parts)

    def _history(self, index: int) -> list[list[Any]]:
        lo = max(0, index - _HISTORY_SHOWN)
        hi = min(len(self._story), index + _HISTORY_SHOWN)
        rows: list[list[Any]] = [[0, "start"]] if lo == 0 else []
        rows += [[i, self._story[i - 1]] for i in range(max(1, lo), hi + 1)]
        return rows

    def recording(self) -> dict[str, Any]:
        """Every position of the story, start to end, for the standalone page (no lookahead,
        nothing to click but back, forward, the ladder and the history)."""
        c = self.connection
        here = c.step
        ladder = self.ladder_svg()
        positions = []
        self._quiet = True
        try:
            for i in range(len(self._story) + 1):
                c.jump(i)
                p = self._describe(c, i)
                p["history"] = [[0, "start"]] + [
                    [n, label] for n, label in enumerate(self._story, start=1)
                ]
                for end in p["ends"]:
                    end["calls"] = []
                for card in p["flight"]:
                    card["keys"] = {}
                p["clock"]["key"] = ""
                positions.append(p)
        finally:
            c.jump(here)
            self._quiet = False
        return {
            "diagram": self.diagram_svg(),
            "ladder": ladder,
            "positions": positions,
            "theme": self.theme,
            "title": self.scenario.title if self.scenario else "A TCP connection",
            "scenarios": [],
            "start": 0,
        }

    def close(self) -> None:
        """Stop following the connection."""
        self._unsubscribe()


def record_scenario(name: str, *, theme: str = "auto", time: str = "logical") -> dict[str, Any]:
    """The recording of connection scenario ``name`` for :func:`~tcpviz.web.connection_page.
    connection_html`: every position from the start to the end of the scenario."""
    view = ConnectionView(theme=theme, time=time)
    try:
        view.play(name)
        return view.recording()
    finally:
        view.close()


class ConnectionWidget(anywidget.AnyWidget):
    """Both ends of a TCP connection in a notebook: their state diagrams, the ladder, the
    segments in flight with deliver / drop / duplicate, the clock, undo and scenarios.

    ``ConnectionWidget()`` starts with both ends CLOSED; ``connection=`` shows (and shares)
    a :class:`~tcpviz.sim.Connection`; ``scenario=`` loads one of
    :data:`~tcpviz.teach.connection_scenarios.CONNECTION_SCENARIOS` ready to step through.
    """

    _esm = _STATIC / "connection.js"
    _css = _STATIC / "connection.css"

    diagram = traitlets.Unicode("").tag(sync=True)  # sent once
    ladder = traitlets.Unicode("").tag(sync=True)  # when the story changes
    position = traitlets.Dict().tag(sync=True)  # every step
    # Sent just after each position: what every button there leads to. The position is shown
    # first; the lookahead is ready long before a person clicks again.
    lookahead = traitlets.Dict().tag(sync=True)
    scenarios: traitlets.List[dict[str, str]] = traitlets.List().tag(sync=True)
    theme = traitlets.Unicode("auto").tag(sync=True)

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        scenario: str | None = None,
        theme: str = "auto",
        time: str = "logical",
        **kwargs: Any,
    ):
        self.view = ConnectionView(connection, theme=theme, time=time)
        super().__init__(**kwargs)
        self.theme = theme
        self.diagram = self.view.diagram_svg()
        self.scenarios = [{"name": s.name, "title": s.title} for s in CONNECTION_SCENARIOS.values()]
        if scenario is not None:
            self.view.play(scenario)
        self._acting = False
        self._version = 0
        self._refresh()
        # Changes made elsewhere (a cell, another view) show here too.
        self._unsubscribe = self.view.connection.subscribe(self._followed)
        self.on_msg(self._on_message)

    def _followed(self, *_: Any) -> None:
        if not self._acting:
            self._refresh()

    @property
    def connection(self) -> Connection:
        """The connection shown (shared: code may move it and the widget follows)."""
        return self.view.connection

    def act(self, key: str) -> None:
        """Do what a button does (see :meth:`ConnectionView.act`); errors are shown."""
        self._acting = True
        try:
            self.view.act(key)
            self.view.error = ""
        except (TcpvizError, ValueError) as error:
            self.view.error = str(error)
        finally:
            self._acting = False
        self._version = 0
        self._refresh()

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("action"), str):
            self.act(content["action"])

    def _refresh(self) -> None:
        if self.view._quiet:
            return
        self._version += 1
        # In order of need: the position confirms the click (constant, small); the ladder
        # (redrawn only when the story changed) and the lookahead for the next click follow.
        self.position = {**self.view.position(lookahead=False), "version": self._version}
        ladder = self.view.ladder_svg()
        if ladder != self.ladder:
            self.ladder = ladder
        self.lookahead = {"version": self._version, "next": self.view.lookahead()}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._unsubscribe()
            self.view.close()
        super().close()
