"""Transition tables as plain data: the TCP table of RFC 9293, and the ``Table`` that checks any table.

One row per arrow: where it starts, the event, what is sent, where it ends, the kind of event,
which side usually takes it and the RFC 9293 section that specifies it. Everything else in
tcpviz (the machine, the graph, every diagram, the widget's buttons, the CLI's listings) is
derived from a ``Table``, so a picture can never disagree with the behaviour.

The built-in rows come in two sets. ``FIGURE_5`` is every arrow of RFC 9293 Figure 5
(section 3.3.2), plus the FIN-WAIT-1 -> TIME-WAIT arrow that the figure's Note 2 says it leaves
out. ``SECTION_3_10`` adds what the event processing of section 3.10 specifies but the figure
omits for legibility (its Note 3): RST arriving in the other states, the ABORT call, the user
timeout. ``tcp_table()`` is the classic figure, ``tcp_table(extended=True)`` both sets.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn, TypedDict

from ..errors import TableError, UnknownEvent
from . import states as _states
from .states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
    _shown,
)

__all__ = [
    "FIGURE_5",
    "KINDS",
    "SECTION_3_10",
    "SIDES",
    "TCP_EVENTS",
    "Event",
    "Table",
    "Transition",
    "event_key",
    "tcp_table",
]

#: What makes a transition happen: a call by the local application, a segment arriving, a timer.
KINDS: tuple[str, ...] = ("user", "segment", "timeout")
#: Which end of a connection usually takes a transition.
SIDES: tuple[str, ...] = ("client", "server", "either")
#: The longest state name, event name, ``sent`` or ``action`` a table may have. Graphviz's
#: scanner takes no string of 16,384 characters or more (the label's markup and escapes count
#: too), and its router gives up on an edge longer than 65,535 points ("Edge length larger than
#: maximum"), which a one-line label of some 9,000 characters reaches. 1,000 characters stay
#: well inside both and are far more than a diagram can show legibly.
MAX_LABEL_LENGTH = 1000

# What XML 1.0 cannot hold (its Char production): C0 controls but tab, newline and carriage
# return; UTF-16 surrogates (a lone one, from a JSON escape, cannot even be encoded as UTF-8);
# U+FFFE and U+FFFF. Text holding one would make an SVG or HTML file that does not parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Event:
    """An event of a table: its name (RFC notation), kind, plain words and input aliases."""

    name: str
    kind: str = "user"
    words: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """What a student reads on a button: the plain words, or the name."""
        return self.words or self.name


@dataclass(frozen=True)
class Transition:
    """One arrow of a state diagram.

    ``via`` restricts the arrow to a state that was entered from the state it names (RFC 9293
    Figure 5, Note 1: RST in SYN-RECEIVED returns to LISTEN only after a passive OPEN).
    ``line`` records where a loaded row came from, for error messages; it takes no part in
    equality.
    """

    source: str
    event: str
    target: str
    sent: str = ""
    action: str = ""
    kind: str = "user"
    side: str = "either"
    section: str = ""
    via: str | None = None
    extended: bool = False
    note: str = ""
    line: int | None = field(default=None, compare=False, repr=False)

    @property
    def effect(self) -> str:
        """The action half of the RFC's ``event / action`` label, e.g. ``'create TCB, snd SYN'``."""
        parts = [self.action] if self.action else []
        if self.sent:
            parts.append(f"snd {self.sent}")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """The RFC's ``event / action`` notation, e.g. ``'rcv SYN / snd SYN,ACK'``."""
        return f"{self.event} / {self.effect}" if self.effect else self.event

    def as_dict(self) -> dict[str, object]:
        """The row as JSON-ready data (``line`` left out)."""
        return {
            "source": self.source,
            "event": self.event,
            "target": self.target,
            "sent": self.sent,
            "action": self.action,
            "kind": self.kind,
            "side": self.side,
            "section": self.section,
            "via": self.via,
            "extended": self.extended,
            "note": self.note,
        }


_WORD_SYNONYMS = {
    "receive": "rcv",
    "received": "rcv",
    "recv": "rcv",
    "rx": "rcv",
    "snd": "send",
    "sent": "send",
    "tx": "send",
}


def event_key(name: str) -> str:
    """Reduce an event name to the form it is matched in: ``'Receive SYN+ACK'`` -> ``'rcv syn ack'``."""
    # Letters of any script are kept (see states.state_key); only separators are dropped.
    words = re.sub(r"[\W_]+", " ", str(name).casefold()).split()
    return " ".join(_WORD_SYNONYMS.get(word, word) for word in words)


def text_problem(text: str, *, label: bool = False) -> str | None:
    """What makes ``text`` unusable in a table, or ``None``: a character XML cannot hold, or
    (for a ``label``: a name, or text drawn on an arrow) a line break or more than
    :data:`MAX_LABEL_LENGTH` characters."""
    bad = _NOT_XML.search(text)
    if bad is not None:
        return (
            f"holds U+{ord(bad[0]):04X} at character {bad.start() + 1}, which no SVG or HTML "
            "file can hold (XML forbids it): remove it"
        )
    if label and ("\n" in text or "\r" in text or "\t" in text):
        return "holds a line break or a tab: a name or a label is one line of text"
    if label and len(text) > MAX_LABEL_LENGTH:
        return (
            f"is {len(text)} characters long, more than a diagram can draw (at most "
            f"{MAX_LABEL_LENGTH}): shorten it and put the rest in a 'note' or a description"
        )
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")


def _unique_ids(
    names: Iterable[str], prefix: str, transform: Callable[[str], str]
) -> dict[str, str]:
    """Give each name an id made of letters, digits and underscores, unique among the names."""
    names = list(names)
    bases = {name: f"{prefix}{transform(_slug(name)) or 'x'}" for name in names}
    shared = Counter(bases.values())
    ids: dict[str, str] = {}
    for name in names:
        base = bases[name]
        # Names whose slugs clash ('получен FIN' and 'ожидание FIN' both give 'FIN'): a name
        # that is its own slug keeps the plain id, the others get a suffix derived from the
        # name itself. Nothing depends on the order of the names, so adding a state to a
        # table never renames another one.
        if shared[base] > 1 and _slug(name) != name:
            base = f"{base}_{hashlib.sha1(name.encode()).hexdigest()[:6]}"
        ids[name] = base
    return ids


class _Where(TypedDict):
    """Where a bad row sits, for the error message."""

    row: Transition
    number: int


def _some(names: Iterable[str], limit: int = 20) -> str:
    """A list of names for an error message: all of them, or the first ``limit`` and a count."""
    names = list(names)
    if len(names) <= limit:
        return repr(names)
    return f"{names[:limit]!r} and {len(names) - limit} more"


def _alias_clash_message(alias: str, state: str, other: str, is_name: bool) -> str:
    """What :func:`~tcpviz.model.states.alias_clash` found, as an error message."""
    if is_name:
        return (
            f"alias {_shown(alias)} of state {_shown(state)} is the name of state "
            f"{_shown(other)}: input could not tell the two apart; drop or change the alias"
        )
    return (
        f"alias {_shown(alias)} of state {_shown(state)} is also an alias of state "
        f"{_shown(other)}: input could not tell the two apart; drop it from one of them"
    )


class Table:
    """A validated transition table: states, their descriptions, events and transitions.

    Construction checks everything and raises :class:`TableError` naming the row at fault:
    unknown states, unknown kinds or sides, an event leading to two targets from one state,
    states that cannot be reached from the initial state. A ``Table`` never changes after.
    """

    def __init__(
        self,
        transitions: Iterable[Transition],
        *,
        states: Iterable[str] | None = None,
        initial: str | None = None,
        descriptions: Mapping[str, str] | None = None,
        state_aliases: Mapping[str, Iterable[str]] | None = None,
        events: Iterable[Event] = (),
        name: str = "",
        source: str | None = None,
    ):
        self.name = name
        self.source = source
        if not isinstance(name, str):
            self._fail(f"the table's name must be a string, not {_shown(name)}")
        self._check_text(name, "the table's name")
        rows = tuple(transitions)
        if not rows:
            raise TableError("the table has no transitions", source=source)
        for number, t in enumerate(rows, start=1):
            if not isinstance(t, Transition):
                self._fail(f"a transition must be a Transition, not {_shown(t)}", None, number)
            for role in ("source", "target"):  # checked again below, with the states known
                if not isinstance(getattr(t, role), str):
                    self._fail(
                        f"the {role} state must be a name, not {_shown(getattr(t, role))}",
                        t,
                        number,
                    )
        if states is None:
            states = dict.fromkeys(s for t in rows for s in (t.source, t.target))
        self.states: tuple[str, ...] = tuple(states)
        if not self.states:
            raise TableError("the table has no states", source=source)
        self._check_state_names()
        self._state_set = frozenset(self.states)
        self.initial: str = self.states[0] if initial is None else initial
        if not isinstance(self.initial, str) or self.initial not in self._state_set:
            raise TableError(
                f"unknown initial state {_shown(self.initial)} (must be one of "
                f"{_some(self.states)})",
                source=source,
            )
        self.descriptions: dict[str, str] = self._check_descriptions(descriptions or {})
        self.state_aliases: dict[str, tuple[str, ...]] = self._check_aliases(state_aliases or {})
        self._state_index = _states.alias_index(self.states, self.state_aliases)

        known_events = {event_key(e.name): e for e in self._check_events(events)}
        self.transitions: tuple[Transition, ...] = tuple(
            self._check_row(n, t, known_events) for n, t in enumerate(rows, start=1)
        )
        self.events: dict[str, Event] = {}
        for t in self.transitions:
            self.events.setdefault(
                t.event, known_events.get(event_key(t.event)) or Event(t.event, t.kind)
            )
        self._event_index = self._build_event_index()
        # One pass over the rows (a scan per state made a 10,000-state table take 10 s).
        outgoing: dict[str, list[Transition]] = {s: [] for s in self.states}
        for t in self.transitions:
            outgoing[t.source].append(t)
        self._outgoing: dict[str, tuple[Transition, ...]] = {
            s: tuple(ts) for s, ts in outgoing.items()
        }
        self._check_unreachable()
        self.state_ids: dict[str, str] = _unique_ids(self.states, "state_", str)
        self.event_ids: dict[str, str] = _unique_ids(self.events, "", str.lower)
        self.edge_ids: dict[Transition, str] = {
            t: f"edge_{self.state_ids[t.source][6:]}__{self.event_ids[t.event]}"
            + (f"__via_{self.state_ids[t.via][6:]}" if t.via else "")
            for t in self.transitions
        }

    # -- validation -------------------------------------------------------------------------

    def _fail(
        self, message: str, row: Transition | None = None, number: int | None = None
    ) -> NoReturn:
        line = row.line if row is not None and row.line is not None else None
        if line is None and number is not None:
            message = f"row {number}: {message}"
        raise TableError(message, source=self.source, line=line)

    def _check_text(
        self,
        text: str,
        what: str,
        *,
        label: bool = False,
        row: Transition | None = None,
        number: int | None = None,
    ) -> None:
        problem = text_problem(text, label=label)
        if problem is not None:
            self._fail(f"{what} {_shown(text)} {problem}", row, number)

    def _check_state_names(self) -> None:
        seen: dict[str, str] = {}
        names: set[str] = set()
        for state in self.states:
            if not isinstance(state, str) or not state.strip():
                self._fail(f"a state name must be a non-empty string, not {_shown(state)}")
            self._check_text(state, "the state name", label=True)
            key = _states.state_key(state)
            if state in names:
                self._fail(f"state {_shown(state)} is listed twice")
            if key in seen:
                self._fail(
                    f"states {_shown(seen[key])} and {_shown(state)} differ only in case or "
                    "punctuation"
                )
            seen[key] = state
            names.add(state)

    def _check_descriptions(self, descriptions: Mapping[str, str]) -> dict[str, str]:
        for state, text in descriptions.items():
            if state not in self._state_set:
                self._fail(f"a description for {_shown(state)}, which is not a state of the table")
            if not isinstance(text, str):
                self._fail(
                    f"the description of state {_shown(state)} must be a string, not {_shown(text)}"
                )
            self._check_text(text, f"the description of state {_shown(state)}")
        return {s: descriptions.get(s, "") for s in self.states}

    def _check_aliases(self, aliases: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
        checked: dict[str, tuple[str, ...]] = {}
        for state, names in aliases.items():
            if state not in self._state_set:
                self._fail(f"aliases for {_shown(state)}, which is not a state of the table")
            names = (names,) if isinstance(names, str) else tuple(names)
            for alias in names:
                if not isinstance(alias, str) or not alias.strip():
                    self._fail(
                        f"an alias of state {_shown(state)} must be a non-empty string, "
                        f"not {_shown(alias)}"
                    )
                self._check_text(alias, f"the alias of state {_shown(state)}", label=True)
            checked[state] = names
        clash = _states.alias_clash(self.states, checked)
        if clash is not None:
            alias, state, other, is_name = clash
            self._fail(_alias_clash_message(alias, state, other, is_name))
        return {s: checked.get(s, ()) for s in self.states}

    def _check_events(self, events: Iterable[Event]) -> list[Event]:
        events = list(events)
        for event in events:
            if not isinstance(event, Event):
                self._fail(f"an event must be an Event, not {_shown(event)}")
            if not isinstance(event.name, str):
                self._fail(f"an event name must be a string, not {_shown(event.name)}")
            if not isinstance(event.words, str):
                self._fail(
                    f"the words of event {_shown(event.name)} must be a string, "
                    f"not {_shown(event.words)}"
                )
            self._check_text(event.words, f"the words of event {_shown(event.name)}")
            aliases = event.aliases
            if isinstance(aliases, str) or not all(isinstance(a, str) for a in aliases):
                self._fail(
                    f"the aliases of event {_shown(event.name)} must be a tuple of strings, "
                    f"not {_shown(aliases)}"
                )
            for alias in aliases:
                self._check_text(alias, f"the alias of event {_shown(event.name)}")
        return events

    def _check_row(self, number: int, t: Transition, known: Mapping[str, Event]) -> Transition:
        where: _Where = {"row": t, "number": number}
        for role in ("source", "target"):
            value = getattr(t, role)
            if not isinstance(value, str) or value not in self._state_set:
                self._fail(
                    f"unknown {role} state {_shown(value)} (must be one of {_some(self.states)})",
                    **where,
                )
        if t.via is not None and not isinstance(t.via, str):
            self._fail(f"'via' must be a state name or None, not {_shown(t.via)}", **where)
        if t.via is not None and t.via not in self._state_set:
            self._fail(
                f"unknown 'via' state {_shown(t.via)} (must be one of {_some(self.states)})",
                **where,
            )
        if not isinstance(t.event, str) or not event_key(t.event):
            self._fail(
                f"the event must be a name with letters or digits, not {_shown(t.event)}", **where
            )
        for key in ("sent", "action", "kind", "side", "section", "note"):
            value = getattr(t, key)
            if not isinstance(value, str):
                self._fail(f"{key!r} must be a string, not {_shown(value)}", **where)
        if not isinstance(t.extended, bool):
            # Anything else would be taken as true or false silently ("no" is true).
            self._fail(f"'extended' must be True or False, not {_shown(t.extended)}", **where)
        if t.kind not in KINDS:
            self._fail(f"unknown kind {_shown(t.kind)} (must be one of {list(KINDS)})", **where)
        if t.side not in SIDES:
            self._fail(f"unknown side {_shown(t.side)} (must be one of {list(SIDES)})", **where)
        for key in ("event", "sent", "action"):  # drawn on the arrow
            self._check_text(getattr(t, key), f"the {key}", label=True, **where)
        for key in ("section", "note"):
            self._check_text(getattr(t, key), f"the {key}", **where)
        return t

    def _build_event_index(self) -> dict[str, tuple[str, ...]]:
        """Map every matching key of every event and alias to the event names it may mean."""
        names: dict[str, str] = {}
        for number, t in enumerate(self.transitions, start=1):
            key = event_key(t.event)
            if names.setdefault(key, t.event) != t.event:
                self._fail(
                    f"events {_shown(names[key])} and {_shown(t.event)} differ only in case or "
                    "punctuation",
                    t,
                    number,
                )
        index: dict[str, tuple[str, ...]] = {key: (name,) for key, name in names.items()}
        for name in self.events:
            for alias in self.events[name].aliases:
                key = event_key(alias)
                # An event's own name comes first: it wins wherever it is enabled, and another
                # event's alias of the same spelling only applies where it is not.
                if name not in index.get(key, ()):
                    index[key] = (*index.get(key, ()), name)
        # Rows sharing a state and an event must differ in 'via'; otherwise two rows could
        # both fire at once and the machine would have to guess.
        groups: dict[tuple[str, str], list[Transition]] = {}
        for number, t in enumerate(self.transitions, start=1):
            group = groups.setdefault((t.source, t.event), [])
            clash = next(
                (o for o in group if o.via is None or t.via is None or o.via == t.via), None
            )
            if clash is not None:
                self._fail(
                    f"event {_shown(t.event)} leads from {t.source} to two targets "
                    f"({clash.target} and {t.target}); give the rows different 'via' states "
                    "or drop one",
                    t,
                    number,
                )
            group.append(t)
        return index

    def _check_unreachable(self) -> None:
        reached = {self.initial}
        frontier = [self.initial]
        while frontier:  # bounded: each state enters the frontier at most once
            for t in self._outgoing[frontier.pop()]:
                if t.target not in reached:
                    reached.add(t.target)
                    frontier.append(t.target)
        missing = [s for s in self.states if s not in reached]
        if missing:
            raise TableError(
                f"no transition reaches {_some(missing)} from the initial state {self.initial!r}",
                source=self.source,
            )

    # -- questions --------------------------------------------------------------------------

    def state(self, name: str) -> str:
        """The state called ``name`` (any case; aliases such as ``SYN_RECV`` accepted)."""
        return _states.canonical_state(name, self._state_index)

    def event_candidates(self, name: str) -> tuple[str, ...]:
        """The events ``name`` may mean (``'ack'`` means ACK of SYN or ACK of FIN), in table order."""
        try:
            return self._event_index[event_key(name)]
        except KeyError:
            raise UnknownEvent(
                f"unknown event: {_shown(name)} (must be one of {_some(self.events)})"
            ) from None

    def outgoing(self, state: str) -> tuple[Transition, ...]:
        """Every transition leaving ``state``, whatever state it was entered from."""
        return self._outgoing[self.state(state)]

    def enabled(self, state: str, entered_from: str | None = None) -> tuple[Transition, ...]:
        """The transitions that can fire in ``state``, given the state it was entered from."""
        if entered_from is not None:
            # Spelled like any state ('listen', 'SYN_SENT'), or a 'via' row would silently
            # never match.
            entered_from = self.state(entered_from)
        return tuple(t for t in self.outgoing(state) if t.via is None or t.via == entered_from)

    def subset(self, *, extended: bool) -> Table:
        """This table without the rows marked ``extended`` (or unchanged when ``extended``)."""
        if extended or not any(t.extended for t in self.transitions):
            return self  # nothing to leave out: no need to check the same rows again
        return Table(
            (t for t in self.transitions if not t.extended),
            states=self.states,
            initial=self.initial,
            descriptions=self.descriptions,
            state_aliases=self.state_aliases,
            events=self.events.values(),
            name=self.name,
            source=self.source,
        )

    def rows(self) -> list[dict[str, object]]:
        """The transitions as JSON-ready dictionaries."""
        return [t.as_dict() for t in self.transitions]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return (
            self.states == other.states
            and self.initial == other.initial
            and self.transitions == other.transitions
            and self.descriptions == other.descriptions
        )

    def __hash__(self) -> int:
        return hash((self.states, self.initial, self.transitions))

    def __len__(self) -> int:
        return len(self.transitions)

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Table{name}: {len(self.states)} states, {len(self.transitions)} transitions>"


# -- the TCP events ---------------------------------------------------------------------------

PASSIVE_OPEN = "passive OPEN"
ACTIVE_OPEN = "active OPEN"
SEND = "SEND"
CLOSE = "CLOSE"
ABORT = "ABORT"
RCV_SYN = "rcv SYN"
RCV_SYN_ACK = "rcv SYN,ACK"
RCV_ACK_OF_SYN = "rcv ACK of SYN"
RCV_FIN = "rcv FIN"
RCV_FIN_ACK = "rcv FIN,ACK"
RCV_ACK_OF_FIN = "rcv ACK of FIN"
RCV_RST = "rcv RST"
TIMEOUT_2MSL = "timeout 2MSL"
USER_TIMEOUT = "user timeout"

#: The one vocabulary of TCP events: user calls, segment arrivals and timeouts. Aliases that
#: several events share ("ack", "send SYN", "timeout") mean whichever of them is enabled.
TCP_EVENTS: tuple[Event, ...] = (
    Event(PASSIVE_OPEN, "user", "passive open (listen)", ("listen", "passive open", "passive")),
    Event(ACTIVE_OPEN, "user", "active open (connect)", ("connect", "open", "active", "send SYN")),
    Event(SEND, "user", "send data", ("send data", "send SYN", "write")),
    Event(CLOSE, "user", "close", ("shutdown",)),
    Event(ABORT, "user", "abort", ()),
    Event(RCV_SYN, "segment", "receive SYN", ("SYN",)),
    Event(
        RCV_SYN_ACK, "segment", "receive SYN,ACK", ("SYN,ACK", "SYN+ACK", "SYNACK", "rcv SYNACK")
    ),
    # In SYN-RECEIVED after a simultaneous open, the segment on the wire that acknowledges our
    # SYN is the other end's SYN,ACK (its SYN we already have): it means "ACK of SYN" there
    # (RFC 9293 3.10.7.4, Figure 7 line 6). The name "rcv SYN,ACK" still wins where it is enabled.
    Event(
        RCV_ACK_OF_SYN,
        "segment",
        "receive ACK of our SYN",
        ("ACK of SYN", "ACK", "rcv ACK", "SYN,ACK", "rcv SYN,ACK"),
    ),
    Event(RCV_FIN, "segment", "receive FIN", ("FIN",)),
    Event(
        RCV_FIN_ACK,
        "segment",
        "receive FIN with the ACK of our FIN",
        ("FIN,ACK", "FIN+ACK", "FINACK", "rcv FINACK", "rcv FIN and ACK of FIN"),
    ),
    Event(RCV_ACK_OF_FIN, "segment", "receive ACK of our FIN", ("ACK of FIN", "ACK", "rcv ACK")),
    Event(RCV_RST, "segment", "receive RST", ("RST", "reset received", "rcv reset")),
    Event(
        TIMEOUT_2MSL,
        "timeout",
        "2MSL timeout",
        ("2MSL", "2MSL timeout", "timeout", "Timeout=2MSL", "time wait timeout"),
    ),
    Event(USER_TIMEOUT, "timeout", "user timeout", ("timeout",)),
)


def _row(
    source, event, target, sent="", action="", *, side="either", section, **extra
) -> Transition:
    kind = next(e.kind for e in TCP_EVENTS if e.name == event)
    return Transition(source, event, target, sent, action, kind, side, section, **extra)


#: Every arrow of RFC 9293 Figure 5 (section 3.3.2), with the section of 3.10 that specifies it.
FIGURE_5: tuple[Transition, ...] = (
    _row(CLOSED, PASSIVE_OPEN, LISTEN, action="create TCB", side="server", section="3.10.1"),
    _row(CLOSED, ACTIVE_OPEN, SYN_SENT, "SYN", "create TCB", side="client", section="3.10.1"),
    _row(LISTEN, CLOSE, CLOSED, action="delete TCB", side="server", section="3.10.4"),
    _row(LISTEN, RCV_SYN, SYN_RECEIVED, "SYN,ACK", side="server", section="3.10.7.2"),
    _row(
        LISTEN,
        SEND,
        SYN_SENT,
        "SYN",
        section="3.10.2",
        note="sending on a listening connection turns it into an active open",
    ),
    _row(SYN_SENT, CLOSE, CLOSED, action="delete TCB", side="client", section="3.10.4"),
    _row(
        SYN_SENT,
        RCV_SYN,
        SYN_RECEIVED,
        "SYN,ACK",
        section="3.10.7.3",
        note="simultaneous open: both ends sent a SYN",
    ),
    _row(SYN_SENT, RCV_SYN_ACK, ESTABLISHED, "ACK", side="client", section="3.10.7.3"),
    _row(SYN_RECEIVED, RCV_ACK_OF_SYN, ESTABLISHED, side="server", section="3.10.7.4"),
    _row(
        SYN_RECEIVED,
        RCV_RST,
        LISTEN,
        side="server",
        section="3.10.7.4",
        via=LISTEN,
        note="only when SYN-RECEIVED was reached by a passive OPEN (Figure 5, Note 1)",
    ),
    _row(SYN_RECEIVED, CLOSE, FIN_WAIT_1, "FIN", section="3.10.4"),
    _row(ESTABLISHED, CLOSE, FIN_WAIT_1, "FIN", side="client", section="3.10.4"),
    _row(ESTABLISHED, RCV_FIN, CLOSE_WAIT, "ACK", side="server", section="3.10.7.4"),
    _row(FIN_WAIT_1, RCV_ACK_OF_FIN, FIN_WAIT_2, side="client", section="3.10.7.4"),
    _row(
        FIN_WAIT_1,
        RCV_FIN,
        CLOSING,
        "ACK",
        section="3.10.7.4",
        note="simultaneous close: both ends sent a FIN",
    ),
    _row(
        FIN_WAIT_1,
        RCV_FIN_ACK,
        TIME_WAIT,
        "ACK",
        section="3.10.7.4",
        note="the FIN arrives together with the ACK of ours; the figure leaves this arrow out "
        "(Figure 5, Note 2)",
    ),
    _row(FIN_WAIT_2, RCV_FIN, TIME_WAIT, "ACK", side="client", section="3.10.7.4"),
    _row(CLOSING, RCV_ACK_OF_FIN, TIME_WAIT, section="3.10.7.4"),
    _row(CLOSE_WAIT, CLOSE, LAST_ACK, "FIN", side="server", section="3.10.4"),
    _row(LAST_ACK, RCV_ACK_OF_FIN, CLOSED, side="server", section="3.10.7.4"),
    _row(TIME_WAIT, TIMEOUT_2MSL, CLOSED, action="delete TCB", side="client", section="3.10.8"),
)

_SYNCHRONIZED = (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT)

#: What section 3.10 specifies beyond the figure (its Note 3 leaves these out to stay legible).
SECTION_3_10: tuple[Transition, ...] = (
    _row(
        SYN_SENT,
        RCV_RST,
        CLOSED,
        action="delete TCB",
        side="client",
        section="3.10.7.3",
        extended=True,
        note="connection refused: the RST acknowledges our SYN",
    ),
    _row(
        SYN_RECEIVED,
        RCV_RST,
        CLOSED,
        action="delete TCB",
        section="3.10.7.4",
        via=SYN_SENT,
        extended=True,
        note="connection refused, when SYN-RECEIVED was reached by an active OPEN",
    ),
    *(
        _row(
            state,
            RCV_RST,
            CLOSED,
            action="delete TCB",
            section="3.10.7.4",
            extended=True,
            note="connection reset by the remote end",
        )
        for state in _SYNCHRONIZED
    ),
    # ABORT (3.10.5): LISTEN and SYN-SENT have no synchronized peer, so nothing is sent. From
    # SYN-RECEIVED until both ends have sent their FIN, a RST tells the remote end (FIN-WAIT-1
    # and FIN-WAIT-2 too: the remote end may still send data). In CLOSING, LAST-ACK and
    # TIME-WAIT both FINs are out, so the TCB is just deleted ("Respond with 'ok'").
    *(
        _row(state, ABORT, CLOSED, action="delete TCB", section="3.10.5", extended=True)
        for state in (LISTEN, SYN_SENT)
    ),
    *(
        _row(state, ABORT, CLOSED, "RST", "delete TCB", section="3.10.5", extended=True)
        for state in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT)
    ),
    *(
        _row(state, ABORT, CLOSED, action="delete TCB", section="3.10.5", extended=True)
        for state in (CLOSING, LAST_ACK, TIME_WAIT)
    ),
    # 3.10.8 says "for any state if a user timeout occurs", but the user timeout is the time
    # allowed for what we sent to be acknowledged (3.9.1.1, OPEN's timeout parameter), so it
    # can only expire while a SYN, data or a FIN is outstanding. LISTEN has sent nothing; in
    # FIN-WAIT-2 and TIME-WAIT everything we sent is acknowledged. (Leaving TIME-WAIT out
    # also keeps the alias "timeout" unambiguous there: it means the 2MSL timer.)
    *(
        _row(
            state,
            USER_TIMEOUT,
            CLOSED,
            action="delete TCB",
            section="3.10.8",
            extended=True,
            note="the connection is aborted: what we sent was not acknowledged in time",
        )
        for state in (
            SYN_SENT,
            SYN_RECEIVED,
            ESTABLISHED,
            FIN_WAIT_1,
            CLOSE_WAIT,
            CLOSING,
            LAST_ACK,
        )
    ),
)


def _tcp(extended: bool) -> Table:
    return Table(
        FIGURE_5 + SECTION_3_10 if extended else FIGURE_5,
        states=_states.STATES,
        initial=CLOSED,
        descriptions=_states.DESCRIPTIONS,
        state_aliases=_states.ALIASES,
        events=TCP_EVENTS,
        name="TCP (RFC 9293, extended)" if extended else "TCP (RFC 9293 Figure 5)",
    )


_TCP_TABLES = {False: _tcp(False), True: _tcp(True)}


def tcp_table(extended: bool = False) -> Table:
    """The built-in TCP table: RFC 9293 Figure 5, or with ``extended`` the section 3.10 additions."""
    return _TCP_TABLES[bool(extended)]
