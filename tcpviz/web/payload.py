"""The JSON the page needs: a table, a machine's position and the scenarios, as plain data.

One payload serves the notebook widget and the standalone HTML page. The table travels once;
with it the page can step on its own (instantly in a notebook, with no Python at all in the
standalone page), so every field the page shows (button labels, what was sent or received)
is written here, once, from the table.
"""

from __future__ import annotations

from ..errors import TcpvizError
from ..model.machine import Change, Machine
from ..model.table import Table, Transition
from ..teach.scenarios import SCENARIOS

__all__ = [
    "HISTORY_WINDOW",
    "MachineTracker",
    "button_label",
    "history_item",
    "machine_payload",
    "narration",
    "scenarios_payload",
    "table_payload",
]

_RECEIVE_PREFIXES = ("receive ", "received ", "rcv ")


def _segment_words(text: str) -> str:
    """``'receive ACK of our SYN'`` -> ``'ACK of our SYN'`` (what arrived, without the verb)."""
    lower = text.lower()
    for prefix in _RECEIVE_PREFIXES:
        if lower.startswith(prefix):
            return text[len(prefix) :]
    return text


def button_label(table: Table, transition: Transition) -> str:
    """What a student reads on the button for ``transition``: ``'receive SYN → send SYN,ACK'``."""
    words = table.events[transition.event].text
    return f"{words} → send {transition.sent}" if transition.sent else words


def narration(table: Table, transition: Transition) -> str:
    """One sentence on what just happened: ``'Received SYN, sent SYN,ACK.'``."""
    words = table.events[transition.event].text
    if transition.kind == "segment":
        what = f"Received {_segment_words(words)}"
    elif transition.kind == "timeout":
        what = f"Timer expired ({words})"
    else:
        what = f"The application called {words}"
    sent = f"sent {transition.sent}" if transition.sent else "sent nothing"
    action = f" ({transition.action})" if transition.action else ""
    return f"{what}, {sent}{action}."


def table_payload(table: Table) -> dict[str, object]:
    """The table as JSON-ready data: states, transitions (keyed by their SVG ids), initial state.

    Each transition carries its RFC ``label``, the event in plain ``words``, a ``button``
    label and a ``narration``, so the page needs no wording of its own.
    """
    return {
        "name": table.name,
        "initial": table.initial,
        "states": [
            {
                "name": state,
                "id": table.state_ids[state],
                "description": table.descriptions[state],
            }
            for state in table.states
        ],
        "transitions": [
            {
                "id": table.edge_ids[t],
                "source": t.source,
                "event": t.event,
                "target": t.target,
                "sent": t.sent,
                "action": t.action,
                "label": t.label,
                "kind": t.kind,
                "side": t.side,
                "via": t.via,
                "note": t.note,
                "section": t.section,
                "extended": t.extended,
                "words": table.events[t.event].text,
                "button": button_label(table, t),
                "narration": narration(table, t),
            }
            for t in table.transitions
        ],
    }


#: How many steps of the history, and of the steps that redo would take, travel to the page:
#: the most recent ones (and the next ones). Sending the whole history made one step cost
#: time in proportion to the session's length; the page lists the rest as "… N earlier
#: steps", a button that goes back to them. The machine keeps everything.
HISTORY_WINDOW = 50


class MachineTracker:
    """Keeps :func:`machine_payload` of a machine up to date, one change at a time.

    A step (``fire``, ``undo``, ``redo``) costs the same whatever the history's length: the
    tracker keeps its own copy of the history, the redo list, and how often each state and
    each arrow occurs in the history (for ``visited`` and ``taken``). Any other change
    (``jump``, ``reset``, a ``run``) reads the machine again.

    >>> machine = Machine()
    >>> tracker = MachineTracker(machine)
    >>> _ = machine.subscribe(lambda m, change: tracker.apply(change))
    >>> _ = machine.run("passive open", "SYN")
    >>> tracker.payload()["history_shown"]
    ['edge_CLOSED__passive_open', 'edge_LISTEN__rcv_syn']
    """

    def __init__(self, machine: Machine, window: int = HISTORY_WINDOW):
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a whole number of steps >= 1, not {window!r}")
        self.machine = machine
        self.window = window
        self._history: list[Transition] = []
        self._redo: list[Transition] = []  # the next step to redo last, as the machine keeps it
        # How often each target state / each arrow occurs in the history. Dicts keep their
        # keys in the order of first occurrence: removing a key whose count drops to zero and
        # adding it again later still gives the order of first visit in the current history.
        self._states: dict[str, int] = {}
        self._edges: dict[Transition, int] = {}
        self.resync()

    @property
    def history(self) -> list[Transition]:
        """The machine's history as the tracker last saw it (do not change it)."""
        return self._history

    def resync(self) -> None:
        """Read the whole position from the machine again."""
        self._history = list(self.machine.history)
        self._redo = list(reversed(self.machine.future))
        self._states = {}
        self._edges = {}
        for transition in self._history:
            self._count(transition, 1)

    def _count(self, transition: Transition, delta: int) -> None:
        for counts, key in ((self._states, transition.target), (self._edges, transition)):
            n = counts.get(key, 0) + delta
            if n:
                counts[key] = n
            else:
                del counts[key]

    def apply(self, change: Change) -> None:
        """Follow one change of the machine (call it from an observer)."""
        history, redo, step = self._history, self._redo, change.transition
        if change.action == "fire" and step is not None:
            history.append(step)
            redo.clear()
            self._count(step, 1)
        elif change.action == "redo" and redo and redo[-1] == step:
            history.append(redo.pop())
            self._count(history[-1], 1)
        elif change.action == "undo" and history and history[-1] == step:
            redo.append(history.pop())
            self._count(step, -1)
        else:
            self.resync()
            return
        if (history[-1] if history else None) != self.machine.last:  # a change went unseen
            self.resync()

    def payload(self) -> dict[str, object]:
        """The machine's position as the page shows it: see :func:`machine_payload`."""
        table, machine, window = self.machine.table, self.machine, self.window
        edge_ids, state_ids = table.edge_ids, table.state_ids
        history, redo = self._history, self._redo
        last = history[-1] if history else None
        state = last.target if last is not None else machine.start
        shown = history[-window:]
        upcoming = redo[: -window - 1 : -1]  # the next ``window`` steps, next first
        visited = [machine.start, *(s for s in self._states if s != machine.start)]
        # Every arrow taken before the last step (the last one is drawn as "last").
        taken = [t for t, n in self._edges.items() if n > 1 or t != last]
        return {
            "state": state,
            "description": table.descriptions[state],
            "last": edge_ids[last] if last is not None else "",
            "visited": [state_ids[s] for s in visited],
            "taken": [edge_ids[t] for t in taken],
            "history_shown": [edge_ids[t] for t in shown],
            "history_hidden": len(history) - len(shown),
            "future_shown": [edge_ids[t] for t in upcoming],
            "future_hidden": len(redo) - len(upcoming),
            "enabled": [
                edge_ids[t] for t in table.enabled(state, last.source if last is not None else None)
            ],
        }


def history_item(table: Table, transition: Transition) -> dict[str, str]:
    """One step of a history list: the edge id, the RFC label, where it came from and went."""
    return {
        "edge": table.edge_ids[transition],
        "label": transition.label,
        "source": transition.source,
        "target": transition.target,
    }


def machine_payload(machine: Machine, window: int = HISTORY_WINDOW) -> dict[str, object]:
    """Where ``machine`` stands, as the page shows it (the widget's synced traits, by name).

    Arrows and states are named by their SVG ids; the page has the table for the rest.
    ``history_shown`` holds the last ``window`` steps, after ``history_hidden`` earlier ones;
    ``future_shown`` the next ``window`` steps that redo would take, before ``future_hidden``
    others.
    ``taken`` is every arrow of the history but the last step's, ``visited`` every state met
    (in order of first visit).
    """
    return MachineTracker(machine, window).payload()


def scenarios_payload(table: Table) -> list[dict[str, object]]:
    """The scenarios that play on ``table``, each step carrying the edge id it takes there.

    A scenario is left out when ``table`` lacks one of its states or events (an extended
    scenario on the classic figure, any scenario on an unrelated custom table).
    """
    payload = []
    for scenario in SCENARIOS.values():
        try:
            data = scenario.as_dict(table)
            transitions = scenario.transitions(table)
        except TcpvizError:
            continue
        for step, transition in zip(data["steps"], transitions, strict=True):  # type: ignore[arg-type]
            step["edge"] = table.edge_ids[transition]
        payload.append(data)
    return payload
