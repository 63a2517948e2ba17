"""The connection widget: both ends' state diagrams with the ladder between them, in a notebook.

Python decides, the page draws (DESIGN.md, decision 7). The widget holds a
:class:`~tcpviz.sim.Connection` (shared if given) and follows it as an observer. For the page it
computes *positions*: everything one moment shows (each end's state, TCB, timers and possible
calls; every segment in flight with its deliver / drop / duplicate buttons; the clock; why the
last step happened) and, with each position, the position every button leads to (a one-step
lookahead), so that a click is painted at once while Python confirms. The page holds no TCP
rules.

The story, undo, redo, jumps, scenarios and the why of each step are a
:class:`~tcpviz.teach.player.Player` on the connection, the same player the state-machine
widget uses. The lookahead runs on twins of the connection (:meth:`~tcpviz.sim.Connection.preview`,
:meth:`~tcpviz.sim.Connection.fork`, each in constant time), so the real connection, its history
and what it can redo are never touched, and a step costs the same however long the history is.

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
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..drawing import check_theme
from ..drawing.diagram import highlight, layout_svg
from ..drawing.ladder import TIMER_NAMES, TIMES, Ladder, trace_from_events
from ..errors import SimError, TcpvizError, WidgetError
from ..model.table import Table, tcp_table
from ..sim import Connection
from ..sim.connection import Operation
from ..teach.connection_scenarios import CONNECTION_SCENARIOS, ConnectionScenario
from ..teach.player import HISTORY_SHOWN, ConnectionTrack, Player, connection_player
from .replay import ReplayView, window_scales

if TYPE_CHECKING:
    from ..traffic import Connection as CapturedConnection

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
_HISTORY_SHOWN = HISTORY_SHOWN  # steps each side of the moment in the history menu


def _seconds(t: float) -> str:
    return f"{t:g} s"


class ConnectionView:
    """What the connection widget shows, computed in Python: positions with their lookahead,
    the ladder, and the actions behind every button. No widget machinery: tests and
    benchmarks drive it directly, and the standalone page is recorded from it.

    The story, undo and redo, jumps, scenarios and each step's why are a
    :class:`~tcpviz.teach.player.Player` on the connection (the same player the state-machine
    widget steps its machine with); this class turns its positions into what the page draws.

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
        self.error = ""
        self.player: Player = connection_player(self.connection, timer_names=TIMER_NAMES)
        self.track: ConnectionTrack = self.player.track  # type: ignore[assignment]
        self._ladder: tuple[int, str] | None = None  # (the story's revision, its ladder)
        self._quiet = False

    @property
    def scenario(self) -> ConnectionScenario | None:
        """The scenario loaded, if any."""
        return self.player.scenario

    def subscribe(self, observer: Callable[..., None]) -> Callable[[], None]:
        """Call ``observer()`` after every change of what the view shows; returns an
        unsubscribe."""
        return self.connection.subscribe(lambda *_: observer())

    # -- acting ---------------------------------------------------------------------------------

    def act(self, key: str) -> None:
        """Do what the button ``key`` means: ``op:<operation>`` (a user call, ``deliver 3``,
        ``advance``...), ``undo``, ``redo``, ``goto:<step>`` (the history menu),
        ``ladder:<step>`` (a click on the ladder), ``scenario:<name>``, ``reset``.

        A step that is not possible raises (and changes nothing); so does an unknown key."""
        c = self.connection
        if key.startswith("op:"):
            c.apply(Operation.parse(key[3:], c.names))
        elif key == "undo":
            self.player.back()
        elif key == "redo":
            self.player.forward()
        elif key.startswith(("goto:", "ladder:")):
            # The history menu names a step, the ladder a row: in a simulation they are one.
            kind, _, number = key.partition(":")
            if not number.isdigit():
                raise WidgetError(f"{kind} needs a step number, not {number!r}")
            self.player.jump(int(number))
        elif key.startswith("scenario:"):
            self.play(key[9:])
        elif key == "reset":
            self.player.script = None
            c.reset()
        else:
            raise WidgetError(
                f"unknown action {key!r} (expected op:OPERATION, undo, redo, goto:N, "
                "scenario:NAME or reset)"
            )

    def play(self, name: str | ConnectionScenario) -> None:
        """Load scenario ``name``: the connection starts over with the scenario's steps ready to
        redo one by one (``redo``, or a click on the ladder)."""
        self._quiet = True  # one refresh when it is loaded, not one per change on the way
        try:
            self.player.select(name)
        finally:
            self._quiet = False

    # -- what the page shows --------------------------------------------------------------------

    def diagram_svg(self) -> str:
        """The state diagram both ends are drawn on (the extended machine), themed."""
        return highlight(layout_svg(self.table), self.table, theme=self.theme)

    def ladder_svg(self) -> str:
        """The ladder of the story's last :attr:`ladder_window` steps (what undo left to redo
        included), cached until the story changes."""
        revision = self.track.revision
        if self._ladder is None or self._ladder[0] != revision:
            self._ladder = (revision, self._draw_ladder())
        return self._ladder[1]

    def _draw_ladder(self) -> str:
        c = self.connection
        end = self.track.length  # the end of the story: steps to redo are drawn too
        first = max(1, end - self.ladder_window + 1)
        events = [e for step in range(first, end + 1) for e in c.events(step)]
        initial = c.fork(first - 1).states if first > 1 else ("CLOSED", "CLOSED")
        trace = trace_from_events(
            events, ends=c.names, initial=initial, now_step=end, now_time=c.fork(end).now
        )
        title = self.scenario.title if self.scenario else "connection"
        return Ladder(trace, time=self.time, theme=self.theme, title=title, compact=True).svg()

    def position(self, *, lookahead: bool = True) -> dict[str, Any]:
        """Where the connection stands, as the page draws it; with ``lookahead``, ``next``
        holds the position each button leads to."""
        c = self.connection
        here = self._describe(c, c.step, self.player.why(c.step))
        here["history"] = self.player.around(c.step, _HISTORY_SHOWN)
        here["error"] = self.error
        here["next"] = self.lookahead() if lookahead else {}
        return here

    def lookahead(self) -> dict[str, dict[str, Any]]:
        """For every button of the current position, the position it leads to (without its own
        lookahead): worked out on twins (:meth:`~tcpviz.sim.Connection.preview` and
        :meth:`~tcpviz.sim.Connection.fork`), so the connection itself does not move."""
        c = self.connection
        nexts: dict[str, dict[str, Any]] = {}
        p = c.step
        for op in c.possible():
            try:
                twin = c.preview(op)
            except SimError:
                continue  # not possible after all: no preview, Python answers the click
            why = self.player.why(
                p + 1, step=op.label, otherwise=self.track.explain(p + 1, twin.events())
            )
            nexts[f"op:{op.label}"] = self._describe(twin, p + 1, why, total=p + 1)
        if p > 0:
            nexts["undo"] = self._describe(c.fork(p - 1), p - 1, self.player.why(p - 1))
        if p < self.track.length:
            nexts["redo"] = self._describe(c.fork(p + 1), p + 1, self.player.why(p + 1))
        return nexts

    def _describe(
        self, c: Connection, index: int, why: str, total: int | None = None
    ) -> dict[str, Any]:
        """One position of ``c`` (the real connection or a twin), without lookahead; ``total``
        is the length of the story there when it is not the story's (a preview)."""
        end_of_story = self.track.length if total is None else total
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
            "why": why,
            "can_undo": index > 0,
            "can_redo": index < end_of_story,
            "scenario": self.scenario.name if self.scenario else "",
            "history": [],
            "error": "",
        }

    def recording(self) -> dict[str, Any]:
        """Every position of the story, start to end, for the standalone page (no lookahead,
        nothing to click but back, forward, the ladder and the history)."""
        c = self.connection
        length = self.track.length
        everything = self.player.around(0, length)  # the whole story in the history menu
        positions = []
        for i in range(length + 1):
            p = self._describe(c.fork(i), i, self.player.why(i))
            p["history"] = everything
            for end in p["ends"]:
                end["calls"] = []
            for card in p["flight"]:
                card["keys"] = {}
            p["clock"]["key"] = ""
            positions.append(p)
        return {
            "diagram": self.diagram_svg(),
            "ladder": self.ladder_svg(),
            "positions": positions,
            "theme": self.theme,
            "title": self.scenario.title if self.scenario else "A TCP connection",
            "scenarios": [],
            "start": 0,
        }

    def close(self) -> None:
        """Stop following the connection."""
        self.track.close()


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
    :meth:`from_capture` steps through a connection of a packet capture instead.
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
        view: ConnectionView | ReplayView | None = None,
        **kwargs: Any,
    ):
        if view is not None and (connection is not None or scenario is not None):
            raise WidgetError("give a view, or a connection and a scenario, not both")
        self.view: ConnectionView | ReplayView = (
            ConnectionView(connection, theme=theme, time=time) if view is None else view
        )
        super().__init__(**kwargs)
        self.theme = self.view.theme
        self.diagram = self.view.diagram_svg()
        if isinstance(self.view, ConnectionView):
            self.scenarios = [
                {"name": s.name, "title": s.title} for s in CONNECTION_SCENARIOS.values()
            ]
        if scenario is not None:
            assert isinstance(self.view, ConnectionView)
            self.view.play(scenario)
        self._acting = False
        self._version = 0
        self._refresh()
        # Changes made elsewhere (a cell, another view) show here too.
        self._unsubscribe = self.view.subscribe(self._followed)
        self.on_msg(self._on_message)

    @classmethod
    def from_capture(
        cls,
        source: str | os.PathLike[str] | CapturedConnection,
        conn: int | None = None,
        *,
        theme: str = "auto",
        time: str = "logical",
        **kwargs: Any,
    ) -> ConnectionWidget:
        """Step through connection ``conn`` (numbered from 1, as ``tcpviz replay`` lists them)
        of a pcap or pcapng file, or through a replayed :class:`~tcpviz.traffic.Connection`,
        segment by segment: both ends' states (inferred ones marked), the ladder with the
        segment shown lit, its numbers; back, forward, or a click on the ladder.

        From a file, each end's window is shown scaled as its SYN's window scale option says
        (:func:`~tcpviz.web.replay.window_scales`); a :class:`~tcpviz.traffic.Connection` alone
        does not carry the options, so its window fields are shown raw (and labelled so).

        Raises
        ------
        WidgetError
            If the capture has no connection ``conn``.
        """
        from ..traffic import Connection as Captured
        from ..traffic import replay

        scale = None
        if isinstance(source, Captured):
            if conn is not None and conn != source.number:
                raise WidgetError(f"conn={conn} but the connection given is number {source.number}")
            captured = source
        else:
            found = replay(source)
            numbers = [c.number for c in found.connections]
            if not numbers:
                problems = "; ".join(str(p) for p in found.problems)
                raise WidgetError(
                    f"{found.name}: no TCP connection to replay"
                    + (f" ({problems})" if problems else "")
                )
            number = numbers[0] if conn is None else conn
            if number not in numbers:
                raise WidgetError(
                    f"{found.name} has no connection {number!r} (it holds connections "
                    f"{', '.join(map(str, numbers))}; see tcpviz replay {found.name})"
                )
            captured = found.connection(number)
            scale = window_scales(source, captured)
        view = ReplayView(captured, theme=theme, time=time, window_scale=scale)
        return cls(view=view, **kwargs)

    def _followed(self, *_: Any) -> None:
        if not self._acting:
            self._refresh()

    @property
    def connection(self) -> Connection | CapturedConnection:
        """The connection shown: a simulated one (shared: code may move it and the widget
        follows) or a replayed one."""
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
