"""Apply a transition table: the current state, firing events, history, undo/redo, observers.

The machine knows nothing of drawing. Views (a diagram, a widget, a terminal) follow it by
subscribing; every change is one :class:`Change`. Any error leaves the machine untouched.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from .._observers import Observers
from ..errors import InvalidTransition, NothingToUndo, UnknownEvent
from .table import Table, Transition, tcp_table

__all__ = ["Change", "Machine", "Observer"]


@dataclass(frozen=True)
class Change:
    """What just happened to a machine.

    ``action`` is one of ``'fire'``, ``'undo'``, ``'redo'``, ``'reset'``, ``'jump'``;
    ``transition`` is the transition taken (``fire``, ``redo``) or taken back (``undo``).
    """

    action: str
    state: str
    previous: str
    transition: Transition | None = None


Observer = Callable[["Machine", Change], None]

# The rows enabled in each (state, entered-from) pair, per table, worked out once: stepping is
# the hot path of a simulation and of a capture replay, and Table.enabled spells every name
# again. Keyed by id, dropped with the table (a Table is hashable only by all of its rows).
_ENABLED: dict[int, tuple[weakref.ref, dict[tuple[str, str | None], tuple[Transition, ...]]]] = {}


_UNHEARD: Observers[Machine, Change] = Observers()  # every machine's until it has its own
_NOTHING = contextlib.nullcontext()


def _enabled_index(table: Table) -> dict[tuple[str, str | None], tuple[Transition, ...]]:
    entry = _ENABLED.get(id(table))
    if entry is None or entry[0]() is not table:
        entry = (weakref.ref(table), {})
        _ENABLED[id(table)] = entry
        weakref.finalize(table, _ENABLED.pop, id(table), None)
    return entry[1]


class Machine:
    """A state machine stepping through a :class:`~tcpviz.model.table.Table`.

    >>> m = Machine()
    >>> m.fire("passive open").target
    'LISTEN'
    >>> m.fire("SYN").sent
    'SYN,ACK'
    >>> m.state
    'SYN-RECEIVED'
    """

    # Slots, and no redo list until something is undone: a capture replay holds two machines
    # per open connection, tens of thousands at once, and the garbage collector scans them all.
    __slots__ = ("__weakref__", "_enabled", "_history", "_observers", "_redo", "_start", "table")

    def __init__(
        self, table: Table | None = None, *, extended: bool = False, state: str | None = None
    ):
        self.table: Table = tcp_table(extended) if table is None else table
        self._start: str = self.table.initial if state is None else self.table.state(state)
        self._history: list[Transition] = []
        self._redo: list[Transition] | tuple[()] = ()  # a list once a step is undone
        # Shared and empty until someone subscribes: a replay holds tens of thousands of machines.
        self._observers: Observers[Machine, Change] = _UNHEARD
        self._enabled = _enabled_index(self.table)

    # -- where we are -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The current state's display name."""
        return self._history[-1].target if self._history else self._start

    @property
    def start(self) -> str:
        """The state the machine starts from (and returns to on :meth:`reset`)."""
        return self._start

    @property
    def description(self) -> str:
        """What the current state means."""
        return self.table.descriptions[self.state]

    @property
    def last(self) -> Transition | None:
        """The transition that led to the current state, if any."""
        return self._history[-1] if self._history else None

    @property
    def entered_from(self) -> str | None:
        """The state the current state was entered from (``None`` at the start)."""
        return self._history[-1].source if self._history else None

    @property
    def history(self) -> tuple[Transition, ...]:
        """The transitions taken since the start, oldest first."""
        return tuple(self._history)

    @property
    def future(self) -> tuple[Transition, ...]:
        """The transitions :meth:`redo` would take again, next first."""
        return tuple(reversed(self._redo))

    @property
    def visited(self) -> tuple[str, ...]:
        """Every state met since the start, in order of first visit."""
        return tuple(dict.fromkeys([self._start, *(t.target for t in self._history)]))

    def enabled(self) -> tuple[Transition, ...]:
        """The transitions that can fire now."""
        key: tuple[str, str | None]
        if self._history:
            last = self._history[-1]
            key = (last.target, last.source)
        else:
            key = (self._start, None)
        rows = self._enabled.get(key)
        if rows is None:
            rows = self._enabled[key] = self.table.enabled(*key)
        return rows

    def enabled_from(self, state: str, entered_from: str | None = None) -> tuple[Transition, ...]:
        """The transitions of this machine's table enabled in ``state`` entered from ``entered_from``.

        Like :meth:`Table.enabled <tcpviz.model.Table.enabled>`, worked out once per pair; the
        names must be the table's own display names (as :attr:`state` gives them).
        """
        key = (state, entered_from)
        rows = self._enabled.get(key)
        if rows is None:
            rows = self._enabled[key] = self.table.enabled(state, entered_from)
        return rows

    def enabled_events(self) -> list[str]:
        """The names of the events that can fire now, in table order."""
        return [t.event for t in self.enabled()]

    def can_fire(self, event: str | Transition) -> bool:
        """Whether :meth:`fire` would accept ``event`` now."""
        try:
            self.resolve(event)
        except InvalidTransition:
            return False
        return True

    def resolve(self, event: str | Transition) -> Transition:
        """The transition ``event`` (a name, an alias or a row) would take now, without taking it."""
        enabled = self.enabled()
        if isinstance(event, Transition):
            for transition in enabled:  # the rows themselves first: no field-by-field compare
                if transition is event:
                    return event
            if event not in enabled:
                raise InvalidTransition(
                    f"transition {event.label!r} from {event.source} not allowed in "
                    f"{self.state} (allowed: {self.enabled_events()})"
                )
            return event
        try:
            candidates = self.table.event_candidates(event)
        except UnknownEvent:
            raise UnknownEvent(
                f"unknown event: {event!r} in {self.state} (allowed: {self.enabled_events()}; "
                f"every event of this table: {list(self.table.events)})"
            ) from None
        for name in candidates:  # in the table's order of preference: an event's own name first
            for transition in enabled:
                if transition.event == name:
                    return transition
        raise InvalidTransition(
            f"event {event!r} not allowed in {self.state} (allowed: {self.enabled_events()})"
        )

    # -- moving -------------------------------------------------------------------------------

    def fire(self, event: str | Transition) -> Transition:
        """Take the transition for ``event`` and return it.

        Raises :class:`~tcpviz.errors.InvalidTransition` (naming the state and listing the
        enabled events) if ``event`` cannot happen now; the machine is then unchanged.
        """
        history = self._history
        key: tuple[str, str | None]
        if history:
            last = history[-1]
            previous, key = last.target, (last.target, last.source)
        else:
            previous, key = self._start, (self._start, None)
        rows = self._enabled.get(key) if isinstance(event, Transition) else None
        # A row enabled now (a simulator's, a replay's step) needs no lookup.
        transition = event if rows is not None and event in rows else self.resolve(event)
        history.append(transition)
        if self._redo:
            self._redo = ()
        if self._observers:  # no one to tell: no Change to make (a replay fires millions)
            self._notify(Change("fire", self.state, previous, transition))
        return transition

    def run(self, *events: str | Transition) -> list[Transition]:
        """Fire several events in order; on an error, none of them is kept.

        Observers hear of the whole run once, as a ``'jump'``, and only if it succeeded.
        """
        previous = self.state
        # fire only appends to the history and replaces the redo list: this is enough to undo.
        saved = (len(self._history), self._redo)
        taken: list[Transition] = []
        try:
            with self._observers.held() if self._observers is not _UNHEARD else _NOTHING:
                for event in events:
                    taken.append(self.fire(event))
        except BaseException:
            # Whatever went wrong (a bad event, an interrupt), the run is all or nothing.
            del self._history[saved[0] :]
            self._redo = saved[1]
            raise
        if taken:
            self._notify(Change("jump", self.state, previous, self.last))
        return taken

    def undo(self) -> Transition:
        """Take back the last transition and return it."""
        if not self._history:
            raise NothingToUndo(f"nothing to undo: {self.state} is where the machine started")
        previous = self.state
        transition = self._history.pop()
        self._redo_list().append(transition)
        self._notify(Change("undo", self.state, previous, transition))
        return transition

    def redo(self) -> Transition:
        """Take again the transition last undone and return it."""
        if not self._redo:
            raise NothingToUndo(
                f"nothing to redo in {self.state}: no step was undone since the last fire"
            )
        previous = self.state
        transition = self._redo_list().pop()
        self._history.append(transition)
        self._notify(Change("redo", self.state, previous, transition))
        return transition

    def jump(self, steps: int) -> None:
        """Go back (or forward, through the redo list) to the state after ``steps`` transitions.

        ``jump(0)`` is the start; ``jump(len(history))`` changes nothing. Undone steps stay
        available to :meth:`redo`.
        """
        total = len(self._history) + len(self._redo)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= total:
            raise NothingToUndo(f"cannot jump to step {steps!r}: steps run from 0 to {total}")
        if steps == len(self._history):
            return  # already there: nothing changes, so observers hear nothing
        previous = self.state
        while len(self._history) > steps:  # bounded by the length of the history
            self._redo_list().append(self._history.pop())
        while len(self._history) < steps:
            self._history.append(self._redo_list().pop())
        self._notify(Change("jump", self.state, previous, self.last))

    def reset(self) -> None:
        """Go back to the start and forget the history (and what could be redone)."""
        previous = self.state
        self._history.clear()
        self._redo = ()
        self._notify(Change("reset", self.state, previous))

    def _redo_list(self) -> list[Transition]:
        redo = self._redo
        if not isinstance(redo, list):
            redo = self._redo = []
        return redo

    # -- observers ----------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(machine, change)`` after every change; returns a function to unsubscribe."""
        if self._observers is _UNHEARD:
            self._observers = Observers()
        return self._observers.subscribe(observer)

    def _notify(self, change: Change) -> None:
        # A broken view (a closed browser tab, a buggy callback) must not break the machine.
        self._observers.notify(self, change, stacklevel=4)

    def __repr__(self) -> str:
        return f"<Machine {self.state} after {len(self._history)} steps of {self.table!r}>"
