"""Stepping through a story one position at a time: where it stands, the way on, the way back.

Every view that steps (the state-machine widget, the connection widget, a replayed capture)
shows the same thing: a story of steps with a position in it, a scenario that may be playing,
and one sentence of why for the step that led here. :class:`Player` is that logic, written
once. It works on any model through a :class:`Track`, a small protocol; three adapters are
here: :class:`MachineTrack` (one :class:`~tcpviz.model.machine.Machine`), :class:`ConnectionTrack`
(a simulated :class:`~tcpviz.sim.Connection`) and :class:`RecordedTrack` (a story recorded
once, such as a replayed capture, that can be walked but not changed).

The player knows nothing of pages or timers: a view asks it to choose a scenario, to step, to
go back or jump, and shows :meth:`Player.status`. The model may be shared: the player reads the
track every time, so steps taken elsewhere (a cell, another view, undo) move the scenario too.

>>> from tcpviz.model.machine import Machine
>>> player = ScenarioPlayer(Machine())
>>> player.select("handshake-client")
>>> player.step().target, player.step().target
('SYN-SENT', 'ESTABLISHED')
>>> player.status()["index"], player.finished
(2, True)
>>> player.back(); player.status()["why"][:32]
'Our application asks to connect,'
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from ..errors import NothingToUndo, ScenarioError, TcpvizError
from ..model.machine import Machine
from ..model.table import Table, Transition
from .scenarios import SCENARIOS, Scenario, get_scenario
from .scenarios import why as why_of

if TYPE_CHECKING:
    from ..sim import Connection, TraceEvent

__all__ = [
    "HISTORY_SHOWN",
    "ConnectionTrack",
    "HistoryWindow",
    "MachineTrack",
    "Player",
    "RecordedTrack",
    "ScenarioPlayer",
    "Script",
    "Story",
    "Track",
    "connection_player",
    "explain_events",
    "lead_in",
    "playable",
]

#: Steps each side of the position in :meth:`Player.around` (a history menu of fixed size).
HISTORY_SHOWN = 25


@runtime_checkable
class Track(Protocol):
    """What a :class:`Player` steps: a model with one story of steps and a position in it.

    The story is the steps taken (``1 .. position``) followed by those that redo would take
    again (``position + 1 .. length``). A step is whatever the model calls one (a
    :class:`~tcpviz.model.table.Transition`, an operation's text form), compared with ``==``
    against a scenario's steps.
    """

    @property
    def position(self) -> int:
        """How many steps of the story are taken (0: the start)."""
        ...

    @property
    def length(self) -> int:
        """How many steps the story holds (taken, and to redo)."""
        ...

    def steps(self, lo: int, hi: int) -> Sequence[Hashable]:
        """Steps ``lo + 1`` to ``hi`` of the story (a slice: ``steps(0, position)`` is the
        history)."""
        ...

    def jump(self, n: int) -> None:
        """Go to position ``n`` of the story (the steps after it stay, to redo)."""
        ...

    def undo(self) -> None:
        """One step back (raises :class:`~tcpviz.errors.NothingToUndo` at the start)."""
        ...

    def redo(self) -> None:
        """One step forward in the story (raises at its end)."""
        ...

    def take(self, step: Any) -> None:
        """Take a new step here; what could be redone is forgotten."""
        ...

    def run(self, steps: Sequence[Any]) -> None:
        """Take new steps here, all or none (observers may hear of them as one change)."""
        ...

    def reset(self) -> None:
        """Back to the start, the story forgotten."""
        ...

    def explain(self, n: int) -> str:
        """One sentence on what step ``n`` did (``0``: where the story starts)."""
        ...


@dataclass(frozen=True)
class Script:
    """A scenario as a player plays it: its steps in the track's terms, a sentence per step.

    ``lead_in`` are the steps from the track's start to where the scenario starts (taken at
    once, like the first ``lead`` steps, which only set the scene); ``source`` is the
    scenario object it was made from.
    """

    name: str
    title: str
    summary: str
    steps: tuple[Hashable, ...]
    whys: tuple[str, ...]
    lead_in: tuple[Hashable, ...] = ()
    lead: int = 0
    source: object = None

    def __post_init__(self) -> None:
        if len(self.whys) != len(self.steps):
            raise ScenarioError(
                f"script {self.name!r} has {len(self.steps)} steps but {len(self.whys)} whys"
            )


class HistoryWindow(NamedTuple):
    """What a history list shows of a story (:meth:`Player.window`): steps ``earlier + 1`` to
    ``earlier + len(taken)`` are taken (the last of them led to the position), ``ahead`` are
    those redo would take next, in order; ``earlier`` and ``later`` steps lie beyond."""

    earlier: int
    taken: tuple[Hashable, ...]
    ahead: tuple[Hashable, ...]
    later: int


def _label(step: object) -> str:
    """How a step is listed: its ``label`` (a transition, an operation) or its text."""
    label = getattr(step, "label", None)
    return label if isinstance(label, str) else str(step)


class Player:
    """Plays a story on ``track``: position, back and forward, jumps, scenarios, and why.

    Parameters
    ----------
    track
        The model, through a :class:`Track`.
    scripts
        The scenarios that play on it, by name, in teaching order.
    find
        Reads what :meth:`select` is given (a name, a title, a scenario object) into a name of
        ``scripts``; by default the name itself.
    preload
        How a scenario starts. ``False``: its steps are taken one by one (:meth:`step`), the
        state-machine widget's way. ``True``: all its steps are loaded as the story and the
        position goes back to its start, so redo (:meth:`forward`) and jumps walk it, the
        connection widget's way.
    """

    def __init__(
        self,
        track: Track,
        scripts: Mapping[str, Script] | None = None,
        *,
        find: Callable[[Any], str] | None = None,
        preload: bool = False,
    ):
        self.track = track
        self.scripts: dict[str, Script] = dict(scripts or {})
        self._find = find
        self.preload = preload
        self.script: Script | None = None

    # -- scenarios ------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """The scenarios that play on this track, in teaching order."""
        return list(self.scripts)

    @property
    def scenario(self) -> Any:
        """The scenario chosen (the object its script was made from), or ``None``."""
        return None if self.script is None else self.script.source

    @property
    def steps(self) -> tuple[Hashable, ...]:
        """The chosen scenario's steps, in the track's terms (empty when none is chosen)."""
        return () if self.script is None else self.script.steps

    def _unknown(self, name: object) -> ScenarioError:
        return ScenarioError(f"unknown scenario: {name!r} (must be one of {sorted(self.names)})")

    def select(self, name: Any) -> None:
        """Choose the scenario ``name`` and go to where it starts (see ``preload``)."""
        try:
            key = self._find(name) if self._find is not None else name
        except TcpvizError:
            key = None
        script = self.scripts.get(key) if isinstance(key, str) else None
        if script is None:
            raise self._unknown(name)
        self._check(script)
        self.script = script
        self.restart()

    def _check(self, script: Script) -> None:
        """Raise if ``script`` cannot start on this track (subclasses know why)."""

    def restart(self) -> None:
        """Back to the start of the chosen scenario, its lead steps taken."""
        script = self._chosen()
        track = self.track
        track.reset()
        if self.preload:
            track.run((*script.lead_in, *script.steps))
            track.jump(len(script.lead_in) + script.lead)
        else:
            track.run((*script.lead_in, *script.steps[: script.lead]))

    def index(self, history: Sequence[Hashable] | None = None) -> int | None:
        """The scenario's steps taken so far, or ``None`` when the story has left its path.

        Only the scenario's own stretch is compared, so this costs the same after a long
        session. ``history`` defaults to the track's steps taken.
        """
        script = self.script
        if script is None:
            return None
        base = len(script.lead_in)
        position = self.track.position if history is None else len(history)
        taken = position - base
        if not 0 <= taken <= len(script.steps):
            return None
        story = self.track.steps(0, position) if history is None else history
        if tuple(story[:base]) != script.lead_in:
            return None
        if tuple(story[base:]) != script.steps[:taken]:
            return None
        return taken

    @property
    def finished(self) -> bool:
        """Whether every step of the chosen scenario has been taken (and it is on its path)."""
        return self.script is not None and self.index() == len(self.script.steps)

    def recover(self) -> None:
        """Bring a story that left the scenario's path back onto it, as far as it had come."""
        script = self._chosen()
        base = len(script.lead_in)
        history = self.track.steps(0, self.track.position)
        if tuple(history[:base]) != script.lead_in:
            self.restart()
            return
        k = 0
        while k < len(script.steps) and base + k < len(history):  # bounded by the steps
            if history[base + k] != script.steps[k]:
                break
            k += 1
        self.track.jump(base + k)

    def step(self, expected: int | None = None) -> Any:
        """Take the scenario's next step and return it; ``None`` when it only brought the story
        back onto the scenario's path.

        ``expected`` is the index the caller saw: a second view's late timer, whose step was
        taken already, then changes nothing.
        """
        script = self._chosen()
        index = self.index()
        if expected is not None and expected != index:
            return None
        if index is None:
            self.recover()
            return None
        if index >= len(script.steps):
            raise ScenarioError(
                f"scenario {script.name!r} is finished; play it again with play() or the "
                "Play button"
            )
        step = script.steps[index]
        self.track.take(step)
        return self.track.steps(self.track.position - 1, self.track.position)[0]

    def _chosen(self) -> Script:
        if self.script is None:
            raise ScenarioError("no scenario chosen: call play(name) first")
        return self.script

    # -- moving in the story --------------------------------------------------------------------

    def back(self) -> None:
        """One step back (undo)."""
        self.track.undo()

    def forward(self) -> None:
        """One step forward in the story (redo)."""
        self.track.redo()

    def jump(self, n: int) -> None:
        """Go to position ``n`` of the story (``0``: its start); the model checks ``n``."""
        self.track.jump(n)

    # -- what a view shows ----------------------------------------------------------------------

    def why(
        self, n: int | None = None, *, step: Hashable = None, otherwise: str | None = None
    ) -> str:
        """One sentence on the step that led to position ``n`` (default: the current one).

        The scenario's sentence when the story up to ``n`` follows the scenario; else
        ``otherwise`` or the track's own explanation. ``step`` is the step that leads to
        ``n`` when it is not (yet) in the story: a preview of a button.
        """
        track, script = self.track, self.script
        n = track.position if n is None else n
        if n == 0:
            if script is not None:
                return script.summary
            return track.explain(0) if otherwise is None else otherwise
        if script is not None:
            base = len(script.lead_in)
            k = n - base  # the scenario's step number, from 1
            if 1 <= k <= len(script.steps):
                story = list(track.steps(0, n if step is None else n - 1))
                if step is not None:
                    story.append(step)
                if tuple(story) == (*script.lead_in, *script.steps[:k]):
                    return script.whys[k - 1]
        return track.explain(n) if otherwise is None else otherwise

    def window(self, n: int | None = None, shown: int = HISTORY_SHOWN) -> HistoryWindow:
        """The stretch of the story a history list shows: the steps within ``shown`` of
        position ``n`` (default: the current one), split at ``n``, and how many lie beyond
        either end. A fixed size, however long the story.

        >>> player = Player(RecordedTrack([f"#{k}" for k in range(1, 8)], ["why"] * 7))
        >>> player.jump(5)
        >>> player.window(shown=2)
        HistoryWindow(earlier=3, taken=('#4', '#5'), ahead=('#6', '#7'), later=0)
        """
        if isinstance(shown, bool) or not isinstance(shown, int) or shown < 1:
            raise ValueError(f"shown must be a whole number of steps >= 1, not {shown!r}")
        track = self.track
        n = track.position if n is None else n
        length = track.length
        lo, hi = max(0, n - shown), min(length, n + shown)
        story = tuple(track.steps(lo, hi))
        return HistoryWindow(lo, story[: n - lo], story[n - lo :], length - hi)

    def around(self, n: int | None = None, shown: int = HISTORY_SHOWN) -> list[list[Any]]:
        """The history menu: a ``[number, label]`` row for each position within ``shown`` of
        ``n``, the steps of :meth:`window` and the position before them (``[0, 'start']``, or
        the step that led there); a fixed size, however long the story."""
        w = self.window(n, shown)
        if w.earlier == 0:
            rows: list[list[Any]] = [[0, "start"]]
        else:
            (before,) = self.track.steps(w.earlier - 1, w.earlier)
            rows = [[w.earlier, _label(before)]]
        steps = (*w.taken, *w.ahead)
        rows += [[i, _label(s)] for i, s in enumerate(steps, start=w.earlier + 1)]
        return rows

    def status(self, *, story: bool = True) -> dict[str, Any]:
        """Where the story stands, for a view.

        ``name``, ``index`` (the scenario's steps taken, ``None`` off its path), ``total``
        (its steps) and ``on_track`` describe the scenario (an idle player has no name);
        with ``story``, ``position``, ``length``, ``can_back``, ``can_forward`` and ``why``
        describe the story (a view that shows those its own way leaves them out).
        """
        track = self.track
        about: dict[str, Any] = {}
        if story:
            position, length = track.position, track.length
            about = {
                "position": position,
                "length": length,
                "can_back": position > 0,
                "can_forward": position < length,
                "why": self.why(position),
            }
        if self.script is None:
            return {"name": "", "index": 0, "total": 0, "on_track": True, **about}
        index = self.index()
        return {
            "name": self.script.name,
            "index": index,
            "total": len(self.script.steps),
            "on_track": index is not None,
            **about,
        }


# -- one machine ----------------------------------------------------------------------------------


class Story(Protocol):
    """The read side of a :class:`Track`: a copy of a model's story kept up to date by
    someone who follows the model (the state-machine widget's tracker does, step by step)."""

    @property
    def position(self) -> int: ...

    @property
    def length(self) -> int: ...

    def steps(self, lo: int, hi: int) -> Sequence[Hashable]: ...


class MachineTrack:
    """A :class:`~tcpviz.model.machine.Machine` as a :class:`Track`: its steps are transitions.

    The machine's ``history`` is a new tuple each time it is read, so reading the story costs
    time in proportion to its length. A view that already follows the machine step by step
    can lend its copy as ``story``: position, length and steps are then read from it (a
    history window in constant time); moving still goes through the machine. Set ``story``
    back to ``None`` when the view stops following.
    """

    def __init__(self, machine: Machine, *, story: Story | None = None):
        self.machine = machine
        self.story: Story | None = story

    @property
    def position(self) -> int:
        if self.story is not None:
            return self.story.position
        return len(self.machine.history)

    @property
    def length(self) -> int:
        if self.story is not None:
            return self.story.length
        return len(self.machine.history) + len(self.machine.future)

    def steps(self, lo: int, hi: int) -> Sequence[Transition]:
        if self.story is not None:
            return self.story.steps(lo, hi)  # type: ignore[return-value]
        history = self.machine.history
        if hi <= len(history):
            return history[lo:hi]
        return (*history, *self.machine.future)[lo:hi]

    def jump(self, n: int) -> None:
        self.machine.jump(n)

    def undo(self) -> None:
        self.machine.undo()

    def redo(self) -> None:
        self.machine.redo()

    def take(self, step: Any) -> None:
        self.machine.fire(step)

    def run(self, steps: Sequence[Any]) -> None:
        self.machine.run(*steps)

    def reset(self) -> None:
        self.machine.reset()

    def explain(self, n: int) -> str:
        if n == 0:
            return f"The machine starts in {self.machine.start}."
        story = self.steps(max(0, n - 2), n)
        t = story[-1]
        before = story[0].source if len(story) == 2 else None
        reason = why_of(t, before) if isinstance(t, Transition) else None
        return reason or f"{t.label}: from {t.source} to {t.target}."


def lead_in(table: Table, start: str, goal: str) -> list[Transition] | None:
    """The fewest transitions that can really fire from ``start`` to ``goal``, or ``None``.

    "Really" means the ``via`` rule is respected (RFC 9293 Figure 5, Note 1): a search over
    positions, a state together with the state it was entered from, not over states alone.

    >>> from tcpviz.model.table import tcp_table
    >>> [t.event for t in lead_in(tcp_table(), "CLOSED", "ESTABLISHED")]
    ['active OPEN', 'rcv SYN,ACK']
    """
    start, goal = table.state(start), table.state(goal)
    queue: deque[tuple[str, str | None, list[Transition]]] = deque([(start, None, [])])
    seen: set[tuple[str, str | None]] = {(start, None)}
    while queue:  # bounded: each (state, entered_from) pair is queued once
        state, entered_from, path = queue.popleft()
        if state == goal:
            return path
        for t in table.enabled(state, entered_from):
            if (t.target, t.source) not in seen:
                seen.add((t.target, t.source))
                queue.append((t.target, t.source, [*path, t]))
    return None


def playable(table: Table) -> dict[str, tuple[Transition, ...]]:
    """Every scenario that plays on ``table``, by name, with the transitions its steps take there.

    A scenario is left out when ``table`` lacks one of its states or events (an extended
    scenario on the classic figure, any scenario on an unrelated custom table).
    """
    found = {}
    for name, scenario in SCENARIOS.items():
        try:
            found[name] = scenario.transitions(table)
        except TcpvizError:
            continue
    return found


class ScenarioPlayer(Player):
    """Plays one scenario at a time on ``machine`` (a :class:`Player` on a :class:`MachineTrack`;
    ``story`` as for it).

    :meth:`select` goes back to the machine's start, walks the shortest way to the scenario's
    start if it lies elsewhere, and takes the scenario's lead steps (those that only set the
    scene) at once. :meth:`step` takes the next step, or brings the machine back onto the path.
    """

    def __init__(self, machine: Machine, *, story: Story | None = None):
        scripts = {}
        self._unreachable: set[str] = set()
        for name, transitions in playable(machine.table).items():
            scenario = SCENARIOS[name]
            way = lead_in(machine.table, machine.start, scenario.start)
            if way is None:
                self._unreachable.add(name)  # select() says why
            scripts[name] = Script(
                name,
                scenario.title,
                scenario.summary,
                transitions,
                tuple(step.why for step in scenario.steps),
                lead_in=tuple(way) if way is not None else (),
                lead=scenario.lead,
                source=scenario,
            )
        super().__init__(MachineTrack(machine, story=story), scripts, find=_scenario_name)
        self.machine = machine

    def _unknown(self, name: object) -> ScenarioError:
        return ScenarioError(
            f"unknown scenario for this table: {name!r} (must be one of {sorted(self.names)})"
        )

    def _check(self, script: Script) -> None:
        if script.name in self._unreachable:
            scenario = SCENARIOS[script.name]
            raise ScenarioError(
                f"scenario {script.name!r} starts in {scenario.start}, which cannot be "
                f"reached from {self.machine.start}"
            )

    def step(self, expected: int | None = None) -> Transition | None:
        """Take the next step and return its transition; ``None`` when it only brought the
        machine back (see :meth:`Player.step`)."""
        return super().step(expected)


def _scenario_name(name: str | Scenario) -> str:
    return get_scenario(name).name


# -- a simulated connection -----------------------------------------------------------------------


class ConnectionTrack:
    """A simulated :class:`~tcpviz.sim.Connection` as a :class:`Track`: its steps are
    operations, in their text form (``'deliver 3'``).

    It follows the connection as an observer and keeps the story's labels itself, one change at
    a time, so a step costs the same however long the history is (the connection's
    ``history`` is a new tuple each time). Call :meth:`close` to stop following.
    """

    def __init__(self, connection: Connection, *, timer_names: Mapping[str, str] | None = None):
        self.connection = connection
        self.timer_names: Mapping[str, str] = timer_names or {}
        #: Counts the changes of the story (not of the position): a view keeps what it drew
        #: from the story (the ladder) until this moves.
        self.revision = 0
        self._story: list[str] = []
        self._moving = False  # our own jumps: the story does not change
        self._rebuild()
        self._unsubscribe = connection.subscribe(self._changed)

    def _rebuild(self) -> None:
        c = self.connection
        self._story = [op.label for op in (*c.history, *c.future)]
        self.revision += 1

    def _changed(self, connection: Connection, change: Any) -> None:
        if change.action == "apply":
            op = change.operation
            del self._story[change.step - 1 :]
            self._story.append(op.label if op is not None else connection.history[-1].label)
            self.revision += 1
        elif change.action == "reset":
            self._story = []
            self.revision += 1
        elif (
            change.action == "jump"
            and not self._moving
            and connection.step + len(connection.future) != len(self._story)
        ):
            # Connection.run() reports its steps as one jump: read what it added.
            self._rebuild()
        # undo, redo and our own jumps move within the story: nothing to record.

    @property
    def position(self) -> int:
        return self.connection.step

    @property
    def length(self) -> int:
        return len(self._story)

    def steps(self, lo: int, hi: int) -> Sequence[str]:
        return tuple(self._story[lo:hi])

    def jump(self, n: int) -> None:
        self._moving = True
        try:
            self.connection.jump(n)
        finally:
            self._moving = False

    def undo(self) -> None:
        self.connection.undo()

    def redo(self) -> None:
        self.connection.redo()

    def take(self, step: Any) -> None:
        self.connection.apply(step)

    def run(self, steps: Sequence[Any]) -> None:
        self.connection.run(*steps)

    def reset(self) -> None:
        self.connection.reset()

    def explain(self, n: int, events: Sequence[TraceEvent] | None = None) -> str:
        """What step ``n`` did, from its trace events (``events``: those of a step not in the
        story, a preview)."""
        if n == 0:
            return "Both ends are CLOSED. Make one listen and the other connect."
        return explain_events(
            self.connection.events(n) if events is None else events, self.timer_names
        )

    def close(self) -> None:
        """Stop following the connection."""
        self._unsubscribe()


def explain_events(
    events: Sequence[TraceEvent], timer_names: Mapping[str, str] | None = None
) -> str:
    """One sentence per thing a connection's step did: what arrived and why, what the network
    lost or copied, which timer ran out (``timer_names``: how to call each), which call was
    made."""
    from ..sim import Called, Delayed, Delivered, Dropped, Duplicated, TimerFired

    timer_names = timer_names or {}
    parts = []
    for e in events:
        if isinstance(e, Delivered):
            section = f" ({e.section})" if e.section else ""
            parts.append(f"{e.end} got {e.segment.label}: {e.reason}{section}.")
        elif isinstance(e, Dropped):
            parts.append(f"The network lost {e.segment.label} on its way to {e.end}.")
        elif isinstance(e, Duplicated):
            parts.append(f"The network copied {e.segment.label} (the copy is #{e.copy_id}).")
        elif isinstance(e, Delayed):
            parts.append(
                f"The network held {e.segment.label} back: the others in flight overtake it."
            )
        elif isinstance(e, TimerFired):
            parts.append(f"{e.end}'s {timer_names.get(e.timer, e.timer)} timer ran out.")
        elif isinstance(e, Called):
            parts.append(f"{e.end}: {e.call}. {e.reason}".strip())
    return " ".join(parts)


def connection_player(
    connection: Connection, *, timer_names: Mapping[str, str] | None = None
) -> Player:
    """A :class:`Player` on ``connection`` (a :class:`ConnectionTrack`), with every connection
    scenario, preloaded: a chosen scenario's steps are the story, walked by redo and jumps.

    >>> from tcpviz.sim import Connection
    >>> player = connection_player(Connection())
    >>> player.select("handshake")
    >>> player.forward(); player.forward()
    >>> player.status()["position"], player.status()["length"], player.track.connection.states
    (2, 5, ('SYN-SENT', 'LISTEN'))
    """
    from .connection_scenarios import CONNECTION_SCENARIOS, get_connection_scenario

    scripts = {
        s.name: Script(
            s.name,
            s.title,
            s.summary,
            s.operations,
            tuple(f"{step.why} (RFC 9293 {step.section})" for step in s.steps),
            source=s,
        )
        for s in CONNECTION_SCENARIOS.values()
    }
    return Player(
        ConnectionTrack(connection, timer_names=timer_names),
        scripts,
        find=lambda name: get_connection_scenario(name).name,
        preload=True,
    )


# -- a story recorded once ------------------------------------------------------------------------


class RecordedTrack:
    """A story recorded once (a replayed capture): ``labels[i]`` names step ``i + 1`` and
    ``whys[i]`` says what it did (``start`` the start). It can be walked, not changed."""

    def __init__(self, labels: Sequence[str], whys: Sequence[str], start: str = ""):
        if len(labels) != len(whys):
            raise ScenarioError(f"a recording of {len(labels)} steps needs as many whys")
        self._labels = tuple(labels)
        self._whys = tuple(whys)
        self._start = start
        self._position = 0

    @property
    def position(self) -> int:
        return self._position

    @property
    def length(self) -> int:
        return len(self._labels)

    def steps(self, lo: int, hi: int) -> Sequence[str]:
        return self._labels[lo:hi]

    def jump(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(self._labels):
            raise NothingToUndo(
                f"cannot go to step {n!r}: the recording runs from 0 to {len(self._labels)}"
            )
        self._position = n

    def undo(self) -> None:
        if self._position == 0:
            raise NothingToUndo("nothing to undo: the recording is at its start")
        self._position -= 1

    def redo(self) -> None:
        if self._position == len(self._labels):
            raise NothingToUndo("nothing to redo: the recording is at its end")
        self._position += 1

    def take(self, step: Any) -> None:
        raise ScenarioError(
            "a recording cannot take new steps: go back, forward, or to a step of it"
        )

    def run(self, steps: Sequence[Any]) -> None:
        if steps:
            self.take(steps[0])

    def reset(self) -> None:
        self._position = 0

    def explain(self, n: int) -> str:
        return self._start if n == 0 else self._whys[n - 1]
