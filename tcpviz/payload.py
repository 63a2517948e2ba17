"""The JSON the page needs: a table, a machine's position and the scenarios, as plain data.

One payload serves the notebook widget and the standalone HTML page. The table travels once;
with it the page can step on its own (instantly in a notebook, with no Python at all in the
standalone page), so every field the page shows (button labels, what was sent or received)
is written here, once, from the table.
"""

from __future__ import annotations

from .errors import TcpvizError
from .machine import Machine
from .scenarios import SCENARIOS
from .table import Table, Transition

__all__ = [
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


def history_item(table: Table, transition: Transition) -> dict[str, str]:
    """One step of a history list: the edge id, the RFC label, where it came from and went."""
    return {
        "edge": table.edge_ids[transition],
        "label": transition.label,
        "source": transition.source,
        "target": transition.target,
    }


def machine_payload(machine: Machine) -> dict[str, object]:
    """Where ``machine`` stands, as the page shows it (the widget's synced traits, by name)."""
    table = machine.table
    last = machine.last
    return {
        "state": machine.state,
        "description": machine.description,
        "last": table.edge_ids[last] if last is not None else "",
        "visited": [table.state_ids[s] for s in machine.visited],
        "history": [history_item(table, t) for t in machine.history],
        "future": [history_item(table, t) for t in machine.future],
        "enabled": [table.edge_ids[t] for t in machine.enabled()],
    }


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
