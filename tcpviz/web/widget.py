"""The notebook widget: the laid-out diagram, stepped by clicks, keys, scenarios and a quiz.

Python is the authority. The widget holds a :class:`~tcpviz.model.machine.Machine` (shared if given,
so several widgets, and cells calling ``machine.fire(...)``, stay consistent) and follows it as
an observer: every change, whatever its source, becomes a handful of small synced traits. The
SVG and the table travel to the page once; the page then toggles classes, paints a click at
once from the table, and sends the event here, where the machine decides.

>>> w = TCPWidget()
>>> w.fire("passive open").target
'LISTEN'
>>> w.state, w.enabled
('LISTEN', ['edge_LISTEN__close', 'edge_LISTEN__rcv_syn', 'edge_LISTEN__send'])
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from ..drawing import check_theme
from ..drawing.diagram import layout_svg
from ..errors import (
    InvalidTransition,
    MissingDependency,
    ScenarioError,
    TcpvizError,
    WidgetError,
)

try:
    import anywidget
    import ipywidgets  # noqa: F401  # anywidget's own dependency; named so the message is true
    import traitlets
except ModuleNotFoundError as missing:  # `pip install tcpviz` without the widget extra
    raise MissingDependency(
        "TCPWidget", ["anywidget", "ipywidgets"], "widget", missing.name
    ) from None
from ..model.machine import Change, Machine
from ..model.table import Table, Transition
from ..teach.player import ScenarioPlayer
from ..teach.quiz import Feedback, Quiz
from .payload import (
    HISTORY_WINDOW,
    IdCodec,
    MachineTracker,
    history_item,
    moves_payload,
    scenarios_payload,
    table_payload,
)

__all__ = ["MODES", "SPEEDS", "StateMachineWidget", "TCPWidget", "WidgetError", "show"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_STATIC = Path(__file__).parent / "static"

#: What the widget's side panel offers: free exploring, a scenario played step by step, a quiz.
MODES: tuple[str, ...] = ("explore", "scenario", "quiz")
#: The slowest and fastest scenario playback, as a multiple of one step per 1.8 s.
SPEEDS: tuple[float, float] = (0.25, 4.0)
_SCENARIO_ACTIONS = ("pause", "play", "select", "speed", "step")


def _compact(kind: str) -> dict[str, Callable[[Any, Any], Any]]:
    """Serializers sending a list of ``kind`` ids as :class:`~tcpviz.web.payload.IdCodec` text."""

    def to_json(value: list[str], widget: Any) -> str:
        return widget._codec.encode(value, kind)

    def from_json(value: Any, widget: Any) -> list[str]:
        return widget._codec.decode(value, kind) if isinstance(value, str) else list(value)

    return {"to_json": to_json, "from_json": from_json}


def _idle_scenario(speed: float = 1.0) -> dict[str, Any]:
    return {"name": "", "index": 0, "total": 0, "playing": False, "speed": speed, "on_track": True}


class TCPWidget(anywidget.AnyWidget):
    """An interactive TCP state diagram for Jupyter.

    ``TCPWidget()`` draws RFC 9293 Figure 5; ``extended=True`` adds section 3.10's arrows;
    ``table=`` draws any table; ``machine=`` shares a machine with other widgets and code.
    ``theme`` is one of :data:`tcpviz.drawing.diagram.THEMES` (``"auto"`` follows JupyterLab) and
    ``mode`` one of :data:`MODES`.

    No click is lost to a cell run again: ``TCPWidget(machine)`` gives back the open widget
    already showing ``machine`` with the same options, and in JupyterLab or Notebook 7 a cell's
    ``TCPWidget()`` run again gives back the widget that cell made the time before. For a new
    one, pass a new machine (``TCPWidget(Machine())``) or press Reset (which Undo reset takes
    back).
    """

    # Set by __new__ and _CellWidgets.made (declared only: no class attribute, no trait).
    _reused: bool
    _options: tuple[Any, ...]

    # Each widget carries only a small loader (its `_esm`, saved in the notebook too); the
    # page asks for the real module and style sheet once, by their hash, and keeps them for
    # every later widget (static/loader.js, the "module" message).
    _esm = _STATIC / "loader.js"
    _module_hash = traitlets.Unicode("").tag(sync=True)

    #: How many recent steps (and steps to redo) travel to the page (``history_shown``,
    #: ``future_shown``); the page offers the others through "… N earlier steps". Set it on
    #: the class or a subclass before building a widget.
    history_window: int = HISTORY_WINDOW

    # Sent once.
    svg = traitlets.Unicode("").tag(sync=True)
    table = traitlets.Dict().tag(sync=True)
    scenarios: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    #: Where each arrow leads and what is enabled where (see payload.moves_payload), so the
    #: page paints a click at once by looking it up.
    moves = traitlets.Dict().tag(sync=True)
    # Small, sent on every change.
    theme = traitlets.Unicode("auto").tag(sync=True)
    mode = traitlets.Unicode("explore").tag(sync=True)
    state = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)
    last = traitlets.Unicode("").tag(sync=True)
    # Lists of ids travel as their numbers in the table (payload.IdCodec): a step's message
    # stays a few hundred bytes whatever the ids. In Python they are lists of ids.
    visited = traitlets.List(traitlets.Unicode()).tag(sync=True, **_compact("states"))
    taken = traitlets.List(traitlets.Unicode()).tag(sync=True, **_compact("edges"))
    # A window on the history and on the steps to redo (edge ids), and how many steps each
    # leaves out: a step sends the same few values after a long session as after a reset.
    history_shown: traitlets.List[str] = traitlets.List().tag(sync=True, **_compact("edges"))
    history_hidden = traitlets.Int(0).tag(sync=True)
    future_shown: traitlets.List[str] = traitlets.List().tag(sync=True, **_compact("edges"))
    future_hidden = traitlets.Int(0).tag(sync=True)
    enabled = traitlets.List(traitlets.Unicode()).tag(sync=True, **_compact("edges"))
    error = traitlets.Unicode("").tag(sync=True)
    #: Whether the last change was a reset that :meth:`undo_reset` can take back.
    can_undo_reset = traitlets.Bool(False).tag(sync=True)
    quiz = traitlets.Dict().tag(sync=True)
    scenario = traitlets.Dict(_idle_scenario()).tag(sync=True)

    def __new__(
        cls,
        machine: Machine | None = None,
        *,
        table: Table | None = None,
        extended: bool = False,
        theme: str = "auto",
        mode: str = "explore",
        **kwargs: Any,
    ) -> TCPWidget:
        # Re-running a cell `TCPWidget(machine)` (Shift+Enter on the cell a click made the
        # active one) gives back the widget already showing that machine: nothing is lost,
        # the page's module is not sent again, and the machine does not gain one more
        # follower per run. A closed widget, or other options, make a new one.
        key = _reuse_key(cls, machine, table, extended, theme, mode, kwargs)
        if key is not None:
            found = _SHOWING.get(machine, {}).get(key)  # type: ignore[arg-type]
            widget = found() if found is not None else None
            if widget is not None and widget.comm is not None:
                widget._reused = True
                return widget
        # `client = TCPWidget()` in a cell run again: the widget that cell made the time before
        # (the same options, in the same order), with its own machine and every click.
        options = (cls, id(table), bool(extended), theme, mode, _hashable(kwargs))
        fresh = machine is None and options[-1] is not None
        again = _CELLS.again(options) if fresh else None
        if again is not None:
            again._reused = True
            return again
        widget = super().__new__(cls)
        widget._reused = False
        if key is not None:
            _SHOWING.setdefault(machine, {})[key] = weakref.ref(widget)  # type: ignore[arg-type]
        if fresh:
            _CELLS.made(options, widget)
        return widget

    def __init__(
        self,
        machine: Machine | None = None,
        *,
        table: Table | None = None,
        extended: bool = False,
        theme: str = "auto",
        mode: str = "explore",
        **kwargs: Any,
    ):
        if self._reused:  # __new__ gave back a widget built already: keep it as it is
            return
        if machine is not None and table is not None and machine.table != table:
            raise WidgetError(
                f"the machine runs {machine.table!r} but table= is {table!r}: give one of them"
            )
        if (
            machine is not None
            and extended
            and not any(t.extended for t in machine.table.transitions)
        ):
            raise WidgetError(
                f"extended=True, but the machine runs {machine.table!r}: build it with "
                "Machine(extended=True)"
            )
        if machine is None:
            machine = Machine(table, extended=extended)
        self._machine = machine
        self._tracker = MachineTracker(machine, self.history_window)
        t = machine.table
        self._codec = IdCodec(t)
        self._edges: dict[str, Transition] = {edge: tr for tr, edge in t.edge_ids.items()}
        # The player reads the story from the tracker, which follows the machine step by step:
        # its history list (Player.window) then costs the same however long the session.
        self._player = ScenarioPlayer(machine, story=self._tracker)
        # What the last reset forgot (the history and the steps to redo), until the next change.
        self._before_reset: tuple[tuple[Transition, ...], tuple[Transition, ...]] | None = None
        self._quiz: Quiz | None = None
        super().__init__(
            _module_hash=_front_end()[0],
            svg=layout_svg(t),
            table=table_payload(t),
            moves=moves_payload(t),
            scenarios=scenarios_payload(t),
            theme=theme,
            **kwargs,
        )
        self._sync_machine()
        self.mode = self._check_mode(mode)  # "quiz" starts a quiz (see _mode_changed)
        self.on_msg(self._on_page_message)
        self._unsubscribe = _follow(self, machine)

    # -- validation -------------------------------------------------------------------------------

    @traitlets.validate("theme")
    def _valid_theme(self, proposal: dict[str, Any]) -> str:
        return check_theme(proposal["value"], WidgetError)

    @traitlets.validate("history_shown", "future_shown")
    def _valid_steps(self, proposal: dict[str, Any]) -> list[str]:
        # One check of the whole list: a List(Unicode()) validates each item as a trait,
        # which was a third of the cost of a step.
        value = proposal["value"]
        if not all(isinstance(edge, str) for edge in value):
            raise WidgetError(f"{proposal['trait'].name} must list edge ids, not {value!r}")
        return value

    @traitlets.validate("mode")
    def _valid_mode(self, proposal: dict[str, Any]) -> str:
        return self._check_mode(proposal["value"])

    @staticmethod
    def _check_mode(mode: str) -> str:
        if mode not in MODES:
            raise WidgetError(f"unknown mode: {mode!r} (must be one of {sorted(MODES)})")
        return mode

    @traitlets.observe("mode")
    def _mode_changed(self, change: dict[str, Any]) -> None:
        if change["new"] != "scenario" and self.scenario.get("playing"):
            self.scenario = {**self.scenario, "playing": False}
        if change["new"] == "quiz" and self._quiz is None:
            self.start_quiz()

    # -- the machine ------------------------------------------------------------------------------

    @property
    def machine(self) -> Machine:
        """The machine this widget shows (and steps)."""
        return self._machine

    @property
    def history(self) -> list[dict[str, str]]:
        """Every step taken, oldest first: edge id, RFC label, source and target of each.

        The page gets only the last :attr:`history_window` steps (``history_shown``).
        """
        table = self._machine.table
        return [history_item(table, t) for t in self._machine.history]

    @property
    def future(self) -> list[dict[str, str]]:
        """The steps :meth:`redo` would take again, next first (as in :attr:`history`)."""
        table = self._machine.table
        return [history_item(table, t) for t in self._machine.future]

    @property
    def transition_table(self) -> Table:
        """The table the machine runs (the ``table`` trait is its JSON payload)."""
        return self._machine.table

    @property
    def active_quiz(self) -> Quiz | None:
        """The quiz in progress (or finished), if one was started."""
        return self._quiz

    def fire(self, event: str | Transition) -> Transition:
        """Fire ``event`` (a name, an alias, or a row of the table) on the machine.

        An event that cannot happen raises the machine's error; the message is also shown in
        the widget.
        """
        return self._guard(lambda: self._machine.fire(event))

    def run(self, *events: str | Transition) -> list[Transition]:
        """Fire several events; on an error none is kept (and the error is shown)."""
        return self._guard(lambda: self._machine.run(*events))

    def undo(self) -> Transition:
        """Take back the last step."""

        def back() -> Transition:
            step = self._machine.last
            self._player.back()
            assert step is not None  # back() raised otherwise
            return step

        return self._guard(back)

    def redo(self) -> Transition:
        """Take again the step last undone."""

        def forward() -> Transition:
            self._player.forward()
            step = self._machine.last
            assert step is not None
            return step

        return self._guard(forward)

    def jump(self, index: int) -> None:
        """Go to the state after ``index`` steps of the history (``0`` is the start)."""
        self._guard(lambda: self._player.jump(index))

    def reset(self) -> None:
        """Go back to the machine's start and forget the history (:meth:`undo_reset` undoes it)."""
        self._guard(self._machine.reset)

    def undo_reset(self) -> None:
        """Take back the last reset: the steps it forgot, and those to redo, come back.

        Only right after the reset (of this machine, from anywhere): any other change since
        raises :class:`WidgetError`, as the steps taken since would be lost.
        """

        def restore() -> None:
            if self._before_reset is None:
                raise WidgetError("no reset to undo: the machine changed since, or never was reset")
            history, future = self._before_reset
            with self.hold_sync():
                # Fire every step again, then go back: the steps that were undone before the
                # reset are steps to redo again.
                self._machine.run(*history, *future)
                self._machine.jump(len(history))

        self._guard(restore)

    def _guard(self, action: Callable[[], _T]) -> _T:
        """Run ``action``; a tcpviz error is shown in the widget and raised."""
        try:
            result = action()
        except TcpvizError as error:
            self.error = str(error)
            raise
        self.error = ""  # also after an action that changed nothing (a jump to where it is)
        return result

    # -- scenarios --------------------------------------------------------------------------------

    def play(self, name: str, *, autoplay: bool = True) -> None:
        """Play the scenario ``name`` (see :data:`tcpviz.teach.scenarios.SCENARIOS`) from its start.

        The machine goes back to the scenario's start; the page then takes one step every
        1.8 s / speed (``autoplay=False`` waits for Step). Without a page, call :meth:`step`.
        """
        self._guard(lambda: self._select(name, playing=autoplay))

    def pause(self) -> None:
        """Stop the scenario's playback where it is."""
        if self.scenario.get("playing"):
            self.scenario = {**self.scenario, "playing": False}

    def step(self) -> Transition | None:
        """Take the scenario's next step and return it (``None`` when it only got back on track)."""
        return self._guard(self._scenario_step)

    @property
    def player(self) -> ScenarioPlayer:
        """The player stepping this widget's machine: undo, redo, jumps and scenarios (a
        :class:`~tcpviz.teach.player.Player`, the same logic as the connection widget's)."""
        return self._player

    def _select(self, name: str, *, playing: bool) -> None:
        with self.hold_sync():
            self._players(lambda: self._player.select(name))
            self.mode = "scenario"
            self.scenario = self._scenario_trait(playing=playing)

    @staticmethod
    def _players(action: Callable[[], Any]) -> Any:
        """Run a player ``action``; its error becomes the widget's (same message)."""
        try:
            return action()
        except ScenarioError as error:
            raise WidgetError(str(error)) from None

    def _scenario_step(self, expected: int | None = None) -> Transition | None:
        with self.hold_sync():
            return self._players(lambda: self._player.step(expected))

    def _scenario_trait(self, **changes: Any) -> dict[str, Any]:
        speed = changes.pop("speed", self.scenario.get("speed", 1.0))
        # The page shows the history and each step's why from the table and the scenarios it
        # has: only where the scenario stands travels.
        status = self._player.status(story=False)
        if not status["name"]:
            return _idle_scenario(speed)
        index, total, on_track = status["index"], status["total"], status["on_track"]
        assert isinstance(total, int) and (index is None or isinstance(index, int))
        playing = changes.pop("playing", self.scenario.get("playing", False))
        if index is None or not on_track or index >= total:
            playing = False
        return {
            "name": status["name"],
            "index": index if on_track else self.scenario.get("index", 0),
            "total": total,
            "playing": bool(playing),
            "speed": speed,
            "on_track": on_track,
        }

    def _scenario_message(self, msg: dict[str, Any]) -> None:
        action = msg.get("action")
        if action not in _SCENARIO_ACTIONS:
            raise WidgetError(
                f"unknown scenario action: {action!r} (must be one of {list(_SCENARIO_ACTIONS)})"
            )
        if action == "select" or (action == "play" and msg.get("name")):
            self._select(str(msg.get("name")), playing=action == "play")
        elif action == "speed":
            value = msg.get("value")
            low, high = SPEEDS
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise WidgetError(f"speed must be a number from {low} to {high}, not {value!r}")
            if not low <= value <= high:
                raise WidgetError(f"speed must be from {low} to {high}, not {value!r}")
            self.scenario = self._scenario_trait(speed=float(value))
        elif action == "pause":
            self.pause()
        elif self._player.scenario is None:
            raise WidgetError("choose a scenario first")
        elif action == "play":
            index = self._player.index()
            if index is None:
                self._player.recover()
            elif index >= len(self._player.steps):
                self._player.restart()
            self.mode = "scenario"
            self.scenario = self._scenario_trait(playing=True)
        else:  # step
            expected = msg.get("index")
            self._scenario_step(expected if isinstance(expected, int) else None)

    # -- the quiz ---------------------------------------------------------------------------------

    def start_quiz(
        self, seed: int | None = None, *, scenario: str | None = None, length: int | None = None
    ) -> Quiz:
        """Start a quiz on this widget's table and switch to quiz mode; returns the quiz.

        The same ``seed`` gives the same questions (a class can share one). With
        ``scenario``, the questions follow that scenario's steps.
        """

        def start() -> Quiz:
            quiz = Quiz(self._machine.table, seed=seed, scenario=scenario, length=length)
            self._quiz = quiz
            with self.hold_sync():
                self.quiz = self._quiz_trait()
                self.mode = "quiz"
            return quiz

        return self._guard(start)

    def answer(self, state: str) -> Feedback:
        """Answer the current quiz question with ``state``; returns the graded feedback."""

        def grade() -> Feedback:
            if self._quiz is None:
                raise WidgetError("no quiz is running: call start_quiz() first")
            feedback = self._quiz.answer(state)
            self.quiz = self._quiz_trait()
            return feedback

        return self._guard(grade)

    def _quiz_trait(self) -> dict[str, Any]:
        if self._quiz is None:
            return {}
        data = self._quiz.payload()
        if data["last"] is not None:
            # The page marks the arrow the answer was about; it knows arrows by their ids.
            transition = self._quiz.history[-1].transition
            last = data["last"]
            assert isinstance(last, dict)
            data["last"] = {**last, "edge": self._machine.table.edge_ids[transition]}
        data["seed"] = self._quiz.seed
        return data

    # -- keeping the traits in step -----------------------------------------------------------------

    def _history_window(self) -> dict[str, object]:
        """The history list the page shows: the player's window on the story (the same
        :meth:`~tcpviz.teach.player.Player.window` the connection views' history menu comes
        from), the last :attr:`history_window` steps taken and the next ones to redo."""
        w = self._player.window(shown=self.history_window)
        edge_ids = self._machine.table.edge_ids
        # A machine's story is its transitions (MachineTrack's steps).
        taken, ahead = (
            cast("tuple[Transition, ...]", w.taken),
            cast("tuple[Transition, ...]", w.ahead),
        )
        return {
            "history_shown": [edge_ids[t] for t in taken],
            "history_hidden": w.earlier,
            "future_shown": [edge_ids[t] for t in ahead],
            "future_hidden": w.later,
        }

    def _sync_machine(self) -> None:
        # Only the traits whose values changed are sent (traitlets compares), all in one
        # message; none of them grows with the history. The tracker keeps the states visited
        # and the arrows taken step by step; the player gives the history list.
        with self.hold_sync():
            for key, value in self._tracker.payload(history=False).items():
                setattr(self, key, value)
            for key, value in self._history_window().items():
                setattr(self, key, value)
            self.scenario = self._scenario_trait()

    def _on_change(self, machine: Machine, change: Change) -> None:
        # Called by the machine after every change, from any source (this widget's page,
        # another widget, a cell). The step happened, so an old error no longer applies.
        # The tracker still holds the position before this change: what a reset forgets.
        # A reset that forgets nothing (a second one) keeps the first one's undo.
        forgot = (tuple(self._tracker.history), self._tracker.future)
        if change.action != "reset":
            self._before_reset = None
        elif any(forgot):
            self._before_reset = forgot
        try:
            self._tracker.apply(change)
        except Exception:  # never leave the traits behind the machine: read it all again
            _log.exception("tcpviz widget: could not follow %s step by step", change.action)
            self._tracker.resync()
        with self.hold_sync():
            self._sync_machine()
            self.can_undo_reset = self._before_reset is not None
            self.error = ""

    # -- messages from the page ---------------------------------------------------------------------

    def _on_page_message(self, widget: Any, content: Any, buffers: list[Any] | None) -> None:
        """Handle one message of the page; never raises (errors go to the ``error`` trait).

        Registered with ``on_msg``; ipywidgets' ``_handle_custom_msg(content, buffers)``
        calls it for each ``model.send(...)`` of the page.
        """
        msg = content if isinstance(content, dict) else {}
        try:
            with self.hold_sync():
                self._dispatch(msg)
                self.error = ""
        except TcpvizError as error:
            self.error = str(error)
        except Exception as error:  # a bug must not kill the kernel's message loop
            _log.exception("tcpviz widget: message %r failed", msg)
            self.error = f"internal error while handling {msg.get('type')!r}: {error!r}"
        finally:
            # The page paints clicks at once and waits for this to let the traits win again.
            self._safe_send({"type": "ack", "id": msg.get("id")})

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        machine = self._machine
        if kind == "fire":
            if msg.get("edge") is not None:
                transition = self._edges.get(msg["edge"])
                if transition is None:
                    raise InvalidTransition(
                        f"unknown transition: {msg['edge']!r} in {machine.state} "
                        f"(allowed: {machine.enabled_events()})"
                    )
                machine.fire(transition)
            else:
                machine.fire(str(msg.get("event", "")))
        elif kind == "undo":
            self._player.back()
        elif kind == "redo":
            self._player.forward()
        elif kind == "reset":
            machine.reset()
        elif kind == "undo_reset":
            self.undo_reset()
        elif kind == "jump":
            self._player.jump(msg.get("index"))  # type: ignore[arg-type]  # the machine checks it
        elif kind == "mode":
            self.mode = msg.get("mode")  # type: ignore[assignment]  # validated
        elif kind == "scenario":
            self._scenario_message(msg)
        elif kind == "quiz_start":
            seed = msg.get("seed")
            self.start_quiz(seed if isinstance(seed, int) else None)
        elif kind == "quiz_answer":
            self.answer(str(msg.get("state", "")))
        elif kind == "dismiss":
            self.error = ""
        elif kind == "module":
            digest, js, css = _front_end()
            self._safe_send({"type": "module", "hash": digest, "esm": js, "css": css})
        else:
            raise WidgetError(
                f"unknown message type: {kind!r} (must be one of "
                "['dismiss', 'fire', 'jump', 'mode', 'quiz_answer', 'quiz_start', 'redo', "
                "'module', 'reset', 'scenario', 'undo', 'undo_reset'])"
            )

    def _safe_send(self, content: dict[str, Any]) -> None:
        # A closed or disconnected front end must not break the Python object.
        with contextlib.suppress(Exception):
            self.send(content)

    def close(self) -> None:
        """Stop following the machine and close the front end."""
        # Also called by ipywidgets' __del__, even for a widget whose __init__ failed.
        unsubscribe = getattr(self, "_unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe()
        player = getattr(self, "_player", None)
        if player is not None:
            player.track.story = None  # the tracker no longer follows: read the machine
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget view and, beside it, a still picture of the diagram as it stands.

        Front ends with a widget manager show the view; nbconvert's HTML, GitHub and other
        static renderings, which cannot run the widget, show the picture
        (:mod:`tcpviz.web.snapshot`) instead of a blank.
        """
        bundle = super()._repr_mimebundle_(**kwargs)  # anywidget: (data, metadata)
        if bundle is None:
            return None
        from .snapshot import snapshot_bundle

        data, metadata = bundle
        return {**data, **snapshot_bundle(self._machine)}, metadata

    def __repr__(self) -> str:
        return f"<TCPWidget {self._machine.state} ({self.mode}) of {self._machine.table!r}>"


@functools.cache
def _front_end() -> tuple[str, str, str]:
    """The page's module and style sheet, and a hash of both (read once per process)."""
    js = (_STATIC / "widget.js").read_text(encoding="utf-8")
    css = (_STATIC / "widget.css").read_text(encoding="utf-8")
    digest = hashlib.sha256(f"{js}\0{css}".encode()).hexdigest()[:16]
    return digest, js, css


def front_end() -> tuple[str, str]:
    """The JavaScript module and the style sheet the widget's page runs (widget.js, widget.css)."""
    _, js, css = _front_end()
    return js, css


#: The same widget under a name that says it works for any table.
StateMachineWidget = TCPWidget


#: For each machine, the open widgets showing it, by the options they were built with.
_SHOWING: weakref.WeakKeyDictionary[Machine, dict[tuple[Any, ...], weakref.ref[TCPWidget]]] = (
    weakref.WeakKeyDictionary()
)


def _reuse_key(cls: type, machine: Machine | None, *options: Any) -> tuple[Any, ...] | None:
    """What makes two calls build the same widget, or ``None`` when a new one is needed."""
    if machine is None:
        return None  # a fresh machine each time: nothing to keep
    table, extended, theme, mode, kwargs = options
    rest = _hashable(kwargs)
    if rest is None:  # an option that cannot be compared: build a new widget
        return None
    return (cls, id(table), bool(extended), theme, mode, rest)


def _hashable(kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """``kwargs`` as a key, or ``None`` when an option cannot be compared."""
    try:
        key = tuple(sorted(kwargs.items()))
        hash(key)
    except TypeError:
        return None
    return key


class _CellWidgets:
    """The widgets each notebook cell built in its last run, so that a run again gives them back.

    A front end that names its cells (JupyterLab and Notebook 7 send ``cellId`` with each
    execution) lets the k-th ``TCPWidget()`` of a cell's new run return the k-th widget of its
    previous run, if that is still open and was built with the same options. Elsewhere (a
    script, a front end that sends no cell id) nothing is reused.
    """

    def __init__(self) -> None:
        # cell id -> (the run's message id, widgets of this run, widgets of the run before)
        self._cells: dict[
            str, tuple[str, list[weakref.ref[TCPWidget]], list[weakref.ref[TCPWidget]]]
        ] = {}

    @staticmethod
    def _here() -> tuple[str, str] | None:
        """(cell id, message id of its run) of the cell running now, if the kernel knows."""
        try:
            from IPython import get_ipython

            shell = get_ipython()
            kernel = getattr(shell, "kernel", None)
            parent = kernel.get_parent("shell") if kernel is not None else None
        except Exception:  # no IPython, no kernel, an old ipykernel: no cells to speak of
            return None
        if not isinstance(parent, dict):
            return None
        cell = (parent.get("metadata") or {}).get("cellId")
        run = (parent.get("header") or {}).get("msg_id")
        return (cell, run) if isinstance(cell, str) and isinstance(run, str) else None

    def _runs(
        self,
    ) -> tuple[list[weakref.ref[TCPWidget]], list[weakref.ref[TCPWidget]]] | None:
        here = self._here()
        if here is None:
            return None
        cell, run = here
        entry = self._cells.get(cell)
        if entry is None or entry[0] != run:  # a new run of this cell: the last one is "before"
            entry = (run, [], entry[1] if entry is not None else [])
            self._cells[cell] = entry
        return entry[1], entry[2]

    def again(self, options: tuple[Any, ...]) -> TCPWidget | None:
        """The widget this cell's previous run built at this point, if it fits ``options``."""
        runs = self._runs()
        if runs is None:
            return None
        now, before = runs
        if len(now) >= len(before):
            return None
        widget = before[len(now)]()
        if widget is None or widget.comm is None or getattr(widget, "_options", None) != options:
            return None
        now.append(weakref.ref(widget))
        return widget

    def made(self, options: tuple[Any, ...], widget: TCPWidget) -> None:
        """Note that this cell's run built ``widget`` with ``options``."""
        widget._options = options
        runs = self._runs()
        if runs is not None:
            runs[0].append(weakref.ref(widget))


_CELLS = _CellWidgets()


def _follow(widget: TCPWidget, machine: Machine) -> Callable[[], None]:
    """Subscribe ``widget`` to ``machine``; returns the function that unsubscribes it.

    The observer holds the widget weakly, so a long-lived machine does not keep a widget
    alive, and it never raises: a view must not break the machine or the cell that fired.
    """
    ref = weakref.ref(widget)

    def observe(machine: Machine, change: Change) -> None:
        target = ref()
        if target is None:
            return
        try:
            target._on_change(machine, change)
        except Exception:
            _log.exception("tcpviz widget: could not follow %s", change.action)

    unsubscribe = machine.subscribe(observe)
    weakref.finalize(widget, unsubscribe)
    return unsubscribe


def show(
    machine: Machine | None = None,
    *,
    table: Table | None = None,
    extended: bool = False,
    theme: str = "auto",
    mode: str = "explore",
) -> TCPWidget:
    """Build a :class:`TCPWidget`, display it (in a notebook) and return it.

    In a notebook cell: ``w = tcpviz.web.widget.show(extended=True)``, then ``w.fire("listen")``.
    """
    widget = TCPWidget(machine, table=table, extended=extended, theme=theme, mode=mode)
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the widget dependencies
        return widget
    display(widget)
    return widget
