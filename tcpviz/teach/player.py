"""Playing a scenario on a machine, one step at a time: where it stands, the next step, the way back.

The player knows nothing of pages or timers: a view (the state-machine widget, the connection
widget) asks it to choose a scenario, to take the next step, or to bring a machine that left the
scenario's path back onto it, and shows :meth:`ScenarioPlayer.status`. The machine may be shared:
the player reads its history every time, so steps taken elsewhere (a cell, another view, undo)
move the scenario too.

>>> from tcpviz.model.machine import Machine
>>> player = ScenarioPlayer(Machine())
>>> player.select("handshake-client")
>>> player.step().target, player.step().target
('SYN-SENT', 'ESTABLISHED')
>>> player.status()["index"], player.finished
(2, True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from ..errors import ScenarioError, TcpvizError
from ..model.machine import Machine
from ..model.table import Table, Transition
from .scenarios import SCENARIOS, Scenario, get_scenario

__all__ = ["ScenarioPlayer", "lead_in", "playable"]


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


class ScenarioPlayer:
    """Plays one scenario at a time on ``machine``.

    :meth:`select` goes back to the machine's start, walks the shortest way to the scenario's
    start if it lies elsewhere, and takes the scenario's lead steps (those that only set the
    scene) at once. :meth:`step` takes the next step, or brings the machine back onto the path.
    """

    def __init__(self, machine: Machine):
        self.machine = machine
        self._playable = playable(machine.table)
        self.scenario: Scenario | None = None
        self.steps: tuple[Transition, ...] = ()
        self._base = 0  # the history's length where the scenario's first step is taken
        self._prefix: tuple[Transition, ...] = ()  # the history then (the way to its start)

    @property
    def names(self) -> list[str]:
        """The scenarios that play on the machine's table, in teaching order."""
        return list(self._playable)

    def select(self, name: str | Scenario) -> None:
        """Choose the scenario ``name`` and go to where it starts (see the class docstring)."""
        try:
            scenario = get_scenario(name)
        except TcpvizError:
            scenario = None
        if scenario is None or scenario.name not in self._playable:
            raise ScenarioError(
                f"unknown scenario for this table: {name!r} (must be one of {sorted(self.names)})"
            )
        path = lead_in(self.machine.table, self.machine.start, scenario.start)
        if path is None:
            raise ScenarioError(
                f"scenario {scenario.name!r} starts in {scenario.start}, which cannot be "
                f"reached from {self.machine.start}"
            )
        self.scenario, self.steps = scenario, self._playable[scenario.name]
        self.restart()

    def restart(self) -> None:
        """Back to the start of the chosen scenario, its lead steps taken."""
        scenario = self._chosen()
        path = lead_in(self.machine.table, self.machine.start, scenario.start)
        assert path is not None  # select() checked it, and the machine's start never changes
        # Set before moving, so that observers already see the scenario on its track.
        self._base, self._prefix = len(path), tuple(path)
        self.machine.reset()
        self.machine.run(*path, *self.steps[: scenario.lead])

    def index(self, history: Sequence[Transition] | None = None) -> int | None:
        """The steps taken so far, or ``None`` when the machine has left the scenario's path.

        Only the scenario's own stretch of the history is compared, so this costs the same
        after a long session. ``history`` defaults to the machine's.
        """
        if self.scenario is None:
            return None
        history = self.machine.history if history is None else history
        taken = len(history) - self._base
        if not 0 <= taken <= len(self.steps):
            return None
        if tuple(history[: self._base]) != self._prefix:
            return None
        if tuple(history[self._base :]) != self.steps[:taken]:
            return None
        return taken

    @property
    def finished(self) -> bool:
        """Whether every step of the chosen scenario has been taken (and it is on its path)."""
        return self.scenario is not None and self.index() == len(self.steps)

    def recover(self) -> None:
        """Bring a machine that left the scenario's path back onto it, as far as it had come."""
        history = self.machine.history
        if tuple(history[: self._base]) != self._prefix:
            self.restart()
            return
        k = 0
        while k < len(self.steps) and self._base + k < len(history):  # bounded by the steps
            if history[self._base + k] != self.steps[k]:
                break
            k += 1
        self.machine.jump(self._base + k)

    def step(self, expected: int | None = None) -> Transition | None:
        """Take the next step and return it; ``None`` when it only brought the machine back.

        ``expected`` is the index the caller saw: a second view's late timer, whose step was
        taken already, then changes nothing.
        """
        scenario = self._chosen()
        index = self.index()
        if expected is not None and expected != index:
            return None
        if index is None:
            self.recover()
            return None
        if index >= len(self.steps):
            raise ScenarioError(
                f"scenario {scenario.name!r} is finished; play it again with play() or the "
                "Play button"
            )
        return self.machine.fire(self.steps[index])

    def status(self) -> dict[str, object]:
        """Where the scenario stands: its name, the steps taken, their number, and whether the
        machine is on its path (an idle player has no name)."""
        if self.scenario is None:
            return {"name": "", "index": 0, "total": 0, "on_track": True}
        index = self.index()
        return {
            "name": self.scenario.name,
            "index": index,
            "total": len(self.steps),
            "on_track": index is not None,
        }

    def _chosen(self) -> Scenario:
        if self.scenario is None:
            raise ScenarioError("no scenario chosen: call play(name) first")
        return self.scenario
