"""The JSON the page needs: a table, a machine's position and the scenarios, as plain data.

One payload serves the notebook widget and the standalone HTML page. Python decides, the page
looks up (DESIGN.md, decision 7): the table travels once, with everything the page needs to
respond at once, computed here by the model itself. For each position the page can reach (a
state, and the state it was entered from where the ``via`` rule makes that matter) the enabled
arrows and where each leads (:func:`moves_payload`); how event names are spelled
(:func:`event_lookup`); the scenarios with the way to their start (:func:`scenarios_payload`);
quizzes played out in advance, with the explanation of every answer (:func:`quizzes_payload`).
The page keeps no stepping rule, no search and no quiz logic, so it cannot disagree with
Python; every field it shows (button labels, what was sent or received) is written here.
"""

from __future__ import annotations

from typing import Any

from ..errors import TcpvizError
from ..model.machine import Change, Machine
from ..model.table import Table, Transition
from ..teach.player import lead_in
from ..teach.quiz import Quiz
from ..teach.scenarios import SCENARIOS

__all__ = [
    "HISTORY_WINDOW",
    "QUIZ_SEEDS",
    "IdCodec",
    "MachineTracker",
    "button_label",
    "event_lookup",
    "history_item",
    "machine_payload",
    "moves_payload",
    "narration",
    "quizzes_payload",
    "refusal",
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
                # The button in two parts, so that what arrives stands out from what is sent:
                # in SYN-SENT "receive SYN → send SYN,ACK" and "receive SYN,ACK → send ACK"
                # must look different at a glance. button == f"{words} {button_sent}".strip()
                "button_sent": f"→ send {t.sent}" if t.sent else "",
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

    @property
    def future(self) -> tuple[Transition, ...]:
        """The steps redo would take again, next first, as the tracker last saw them."""
        return tuple(reversed(self._redo))

    # The story as a Player reads it (teach.player.Story), in time that does not grow with it.

    @property
    def position(self) -> int:
        """How many steps of the story are taken."""
        return len(self._history)

    @property
    def length(self) -> int:
        """How many steps the story holds (taken, and to redo)."""
        return len(self._history) + len(self._redo)

    def steps(self, lo: int, hi: int) -> tuple[Transition, ...]:
        """Steps ``lo + 1`` to ``hi`` of the story (the history, then what redo would take)."""
        taken = len(self._history)
        lo, hi = max(0, lo), min(hi, taken + len(self._redo))
        if hi <= lo:
            return ()
        head = tuple(self._history[lo : min(hi, taken)])
        if hi <= taken:
            return head
        # The redo list keeps the next step last: future step k is _redo[-1 - k].
        redo, first = self._redo, max(lo, taken) - taken
        count = len(redo)
        return head + tuple(reversed(redo[count - (hi - taken) : count - first]))

    def resync(self) -> None:
        """Read the whole position from the machine again."""
        self._history = list(self.machine.history)
        self._redo = list(reversed(self.machine.future))
        self._states = {}
        self._edges = {}
        for transition in self._history:
            self._count(transition, 1)

    def _count(self, transition: Transition, delta: int) -> None:
        _bump(self._states, transition.target, delta)
        _bump(self._edges, transition, delta)

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
        elif change.action == "undo" and step is not None and history and history[-1] == step:
            redo.append(history.pop())
            self._count(step, -1)
        else:
            self.resync()
            return
        if (history[-1] if history else None) != self.machine.last:  # a change went unseen
            self.resync()

    def payload(self, *, history: bool = True) -> dict[str, object]:
        """The machine's position as the page shows it: see :func:`machine_payload`.

        ``history=False`` leaves out the window on the history (``history_shown``,
        ``history_hidden``, ``future_shown``, ``future_hidden``): the state-machine widget
        takes it from its :class:`~tcpviz.teach.player.Player`, as the connection views do."""
        table, machine, window = self.machine.table, self.machine, self.window
        edge_ids, state_ids = table.edge_ids, table.state_ids
        steps, redo = self._history, self._redo
        last = steps[-1] if steps else None
        state = last.target if last is not None else machine.start
        visited = [machine.start, *(s for s in self._states if s != machine.start)]
        # Every arrow taken before the last step (the last one is drawn as "last").
        taken = [t for t, n in self._edges.items() if n > 1 or t != last]
        data: dict[str, object] = {
            "state": state,
            "description": table.descriptions[state],
            "last": edge_ids[last] if last is not None else "",
            "visited": [state_ids[s] for s in visited],
            "taken": [edge_ids[t] for t in taken],
        }
        if history:
            shown = steps[-window:]
            upcoming = redo[: -window - 1 : -1]  # the next ``window`` steps, next first
            data["history_shown"] = [edge_ids[t] for t in shown]
            data["history_hidden"] = len(steps) - len(shown)
            data["future_shown"] = [edge_ids[t] for t in upcoming]
            data["future_hidden"] = len(redo) - len(upcoming)
        data["enabled"] = [
            edge_ids[t] for t in table.enabled(state, last.source if last is not None else None)
        ]
        return data


class IdCodec:
    """Lists of state or edge ids as they travel to the page: their numbers in the table, short.

    A step resends the window of the history and the lists of visited states and taken arrows;
    as ids that is 1.5 to 2.5 KB a step on the TCP figure, and more the longer the ids (a big
    custom table). As the row numbers of the table, in base 36, joined by ``'.'``, the same
    lists take a few hundred bytes, whatever the ids; the page has the table and reads them
    back by looking the numbers up.

    >>> codec = IdCodec(Machine().table)
    >>> codec.encode(["edge_CLOSED__passive_open", "edge_LISTEN__rcv_syn"], "edges")
    '0.3'
    >>> codec.decode("0.3", "edges")
    ['edge_CLOSED__passive_open', 'edge_LISTEN__rcv_syn']
    """

    KINDS = ("states", "edges")

    def __init__(self, table: Table):
        self._ids = {
            "states": [table.state_ids[s] for s in table.states],
            "edges": [table.edge_ids[t] for t in table.transitions],
        }
        self._numbers = {kind: {v: i for i, v in enumerate(ids)} for kind, ids in self._ids.items()}

    def encode(self, ids: list[str], kind: str) -> str:
        """``ids`` (of ``kind``, ``'states'`` or ``'edges'``) as the page receives them."""
        numbers = self._numbers[kind]
        return ".".join(_base36(numbers[i]) for i in ids)

    def decode(self, text: str, kind: str) -> list[str]:
        """The ids an :meth:`encode` string stands for."""
        ids = self._ids[kind]
        return [ids[int(n, 36)] for n in text.split(".")] if text else []


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:  # bounded: one digit per pass, n shrinks
        n, d = divmod(n, 36)
        out = digits[d] + out
        if not n:
            return out


def _bump(counts: dict[Any, int], key: object, delta: int) -> None:
    """Add ``delta`` to ``counts[key]``, dropping the key at zero (so the order of first
    occurrence in the current history is the dict's order)."""
    n = counts.get(key, 0) + delta
    if n:
        counts[key] = n
    else:
        del counts[key]


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

    ``lead_in`` lists the edges from the table's initial state to the scenario's start (empty
    when it starts there; the way is found by :func:`tcpviz.teach.player.lead_in`); the first
    ``lead`` steps only set the scene. A scenario is left out when ``table`` lacks one of its
    states or events (an extended scenario on the classic figure, any scenario on an
    unrelated custom table), or its start cannot be reached.
    """
    payload = []
    for scenario in SCENARIOS.values():
        try:
            data = scenario.as_dict(table)
            transitions = scenario.transitions(table)
        except TcpvizError:
            continue
        way = lead_in(table, table.initial, scenario.start)
        if way is None:
            continue
        steps = data["steps"]
        assert isinstance(steps, list)
        for step, transition in zip(steps, transitions, strict=True):
            step["edge"] = table.edge_ids[transition]
        data["lead_in"] = [table.edge_ids[t] for t in way]
        payload.append(data)
    return payload


def refusal(table: Table, transition: Transition, state: str) -> str:
    """Why the arrow ``transition`` cannot be taken now, in ``state`` (where it is not enabled)."""
    if transition.source != state:
        return (
            f"That arrow starts in {transition.source}, but the connection is in {state}: "
            f"only arrows leaving {state} can be taken."
        )
    words = table.events[transition.event].text
    because = (
        transition.note or f"this arrow needs {transition.source} entered from {transition.via}"
    )
    return f'"{words}" is not possible now: {because}.'


def moves_payload(table: Table) -> dict[str, object]:
    """Every position the page can reach, what can happen there and where each arrow leads.

    A position is a state together with what the ``via`` rule needs to know (the state it was
    entered from); positions that allow the same arrows are one. The page looks up, and never
    works out, where it is and what it may do:

    - ``positions``: a list; each has its ``state``, the ``enabled`` edge ids (in table order,
      as :meth:`tcpviz.model.table.Table.enabled` gives them) and, for the arrows leaving the
      state that are not enabled there, why not (``refused``, edge id -> sentence);
    - ``start``: state -> the position of a machine started in that state;
    - ``after``: edge id -> the position the arrow leads to;
    - ``elsewhere``: edge id -> why the arrow cannot be taken from any other state, with
      ``{state}`` standing for the current state;
    - ``events``: how event names are read (:func:`event_lookup`);
    - ``entered_from_matters``: the states where the state before decides what may happen.

    >>> moves = moves_payload(Machine().table)
    >>> here = moves["positions"][moves["start"]["CLOSED"]]
    >>> here["enabled"]
    ['edge_CLOSED__passive_open', 'edge_CLOSED__active_open']
    >>> moves["positions"][moves["after"]["edge_CLOSED__passive_open"]]["state"]
    'LISTEN'
    """
    edge_ids = table.edge_ids
    positions: list[dict[str, object]] = []
    numbers: dict[tuple[str, tuple[Transition, ...]], int] = {}

    def position(state: str, entered_from: str | None) -> int:
        enabled = table.enabled(state, entered_from)
        key = (state, enabled)
        if key not in numbers:
            numbers[key] = len(positions)
            positions.append(
                {
                    "state": state,
                    "enabled": [edge_ids[t] for t in enabled],
                    "refused": {
                        edge_ids[t]: refusal(table, t, state)
                        for t in table.outgoing(state)
                        if t not in enabled
                    },
                }
            )
        return numbers[key]

    start = {state: position(state, None) for state in table.states}
    after = {edge_ids[t]: position(t.target, t.source) for t in table.transitions}
    marker = "\x00"  # a state name that cannot occur, replaced by the page's {state}
    elsewhere = {
        edge_ids[t]: refusal(table, t, marker).replace(marker, "{state}") for t in table.transitions
    }
    return {
        "positions": positions,
        "start": start,
        "after": after,
        "elsewhere": elsewhere,
        "events": event_lookup(table),
        # Where the state before matters (an arrow with `via` leaves it): a question there
        # says where the connection came from.
        "entered_from_matters": [s for s in table.states if any(t.via for t in table.outgoing(s))],
    }


def event_lookup(table: Table) -> dict[str, list[str]]:
    """How the page reads an event name: each spelling, lower case, -> the events it may mean.

    The spellings are every event's name, its words on the page and its aliases that Python
    accepts, each as written and in the reduced form Python matches (``'rcv syn ack'``), so
    ``"listen"`` or ``"SYN,ACK"`` mean on the page what they mean to
    :meth:`tcpviz.model.machine.Machine.fire`; a spelling Python refuses is not listed. Which of
    the events may fire is then a look-up in :func:`moves_payload`.

    >>> event_lookup(Machine().table)["listen"]
    ['passive OPEN']
    """
    from ..errors import UnknownEvent
    from ..model.table import event_key

    lookup: dict[str, list[str]] = {}
    for name, event in table.events.items():
        for spelling in (name, event.text, *event.aliases):
            try:
                candidates = list(table.event_candidates(spelling))
            except UnknownEvent:
                continue
            for form in (spelling, event_key(spelling)):
                key = " ".join(str(form).lower().split())
                lookup.setdefault(key, candidates)
    return lookup


#: The quizzes a standalone page carries, played out in advance: "New quiz" goes to the next.
#: Fixed seeds, so a class opening the same page gets the same quizzes (and Python,
#: ``Quiz(seed=...)``, the same questions).
QUIZ_SEEDS: tuple[int, ...] = (1, 2, 3, 4, 5)


def quizzes_payload(table: Table, seeds: tuple[int, ...] = QUIZ_SEEDS) -> dict[str, object]:
    """Quizzes on ``table``, one per seed, played out (:meth:`tcpviz.teach.quiz.Quiz.played_out`).

    Each quiz: its ``seed``, ``total`` questions and the ``questions`` with what every answer
    gets, so a page with no Python grades by looking up. The explanations repeat from quiz to
    quiz, so each is sent once, in ``texts``; a question's ``right``, ``wrong`` and ``not``
    values are indexes into it.
    """
    texts: dict[str, int] = {}

    def text(value: object) -> int:
        return texts.setdefault(str(value), len(texts))

    quizzes = []
    for seed in seeds:
        quiz = Quiz(table, seed=seed)
        questions = []
        for played in quiz.played_out():
            not_ = played["not"]
            assert isinstance(not_, dict)
            questions.append(
                {
                    **played,
                    "right": text(played["right"]),
                    "wrong": text(played["wrong"]),
                    "not": {state: text(why) for state, why in not_.items()},
                }
            )
        quizzes.append({"seed": seed, "total": quiz.length, "questions": questions})
    return {"texts": list(texts), "quizzes": quizzes}
