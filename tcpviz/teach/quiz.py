"""A quiz for class: given the current state and an event, where does the connection go next?

Questions come from a seeded random walk over the table (so a class can share a seed and get
the same questions) or follow a named scenario step by step. Each question offers the right
state among a few plausible wrong ones: where the same event leads from other states, where the
other events of this state lead, and the neighbours of the answer. The walk always follows the
table, whatever the student answers, so the next question starts where the connection really is.

Python is the authority: a page may show the questions, but :meth:`Quiz.answer` grades them.

>>> quiz = Quiz(seed=1, length=2)
>>> question = quiz.question
>>> question.state
'CLOSED'
>>> quiz.answer(quiz.expected).correct
True
>>> quiz.score
(1, 1)
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import QuizError, QuizFinished, TcpvizError
from ..model.machine import Machine
from ..model.table import Table, Transition, tcp_table
from .scenarios import Scenario, get_scenario, why

__all__ = [
    "DEFAULT_LENGTH",
    "MAX_LENGTH",
    "Feedback",
    "Question",
    "Quiz",
    "QuizError",
    "QuizFinished",
]

#: Questions in a random quiz unless told otherwise: enough for ten minutes of class.
DEFAULT_LENGTH = 10
#: The most questions one quiz asks, so a quiz always ends.
MAX_LENGTH = 200
#: Wrong states offered beside the right one (fewer when the table has fewer states).
WRONG_CHOICES = 3


@dataclass(frozen=True)
class Question:
    """What the student sees: a state, an event, and the states to choose from.

    ``entered_from`` is the state before ``state``: it matters in SYN-RECEIVED, where a RST
    leads back to LISTEN or to CLOSED depending on how the connection got there.
    """

    state: str
    event: str
    event_words: str
    choices: tuple[str, ...]
    number: int
    total: int = 0
    entered_from: str | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready data for the page (the answer is not in it)."""
        return {
            "state": self.state,
            "event": self.event,
            "event_words": self.event_words,
            "choices": list(self.choices),
            "number": self.number,
            "total": self.total,
            "entered_from": self.entered_from,
        }


@dataclass(frozen=True)
class Feedback:
    """The grade of one answer: right or not, the expected state, and why."""

    correct: bool
    expected: str
    given: str
    explanation: str
    question: Question
    transition: Transition

    def as_dict(self) -> dict[str, object]:
        """JSON-ready data for the page."""
        return {
            "correct": self.correct,
            "expected": self.expected,
            "given": self.given,
            "explanation": self.explanation,
            "number": self.question.number,
            "state": self.question.state,
            "event": self.question.event,
            "label": self.transition.label,
        }


class Quiz:
    """Ask where each event leads, one question at a time.

    ``Quiz()`` walks the classic table at random for :data:`DEFAULT_LENGTH` questions;
    ``extended=True`` (or a ``table``) changes the table, ``seed`` makes the questions
    repeatable, ``scenario`` (a name or a :class:`~tcpviz.teach.scenarios.Scenario`) asks its steps in
    order instead, and ``length`` bounds the number of questions.
    """

    def __init__(
        self,
        table: Table | None = None,
        *,
        extended: bool = False,
        seed: int | None = None,
        scenario: str | Scenario | None = None,
        length: int | None = None,
    ):
        self.scenario: Scenario | None = None if scenario is None else get_scenario(scenario)
        if table is None:
            table = tcp_table(extended or (self.scenario is not None and self.scenario.extended))
        self.table: Table = table
        self._into: dict[str, list[Transition]] = {state: [] for state in table.states}
        for t in table.transitions:
            self._into[t.target].append(t)
        if self.scenario is not None:
            # Check now, not halfway through the quiz, that the table has every step.
            try:
                self.scenario.transitions(table)
            except TcpvizError as error:
                raise QuizError(str(error)) from None
        most = len(self.scenario.steps) if self.scenario is not None else MAX_LENGTH
        if length is None:
            length = most if self.scenario is not None else DEFAULT_LENGTH
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= most:
            raise QuizError(f"length must be a whole number from 1 to {most}, not {length!r}")
        self.length: int = length
        # Without a seed, draw one, so that reset() can still replay the same questions.
        self.seed: int = random.randrange(2**32) if seed is None else seed
        self.reset()

    # -- asking -------------------------------------------------------------------------------

    @property
    def question(self) -> Question | None:
        """The question to answer now, or ``None`` once the quiz is finished."""
        return self._question

    @property
    def expected(self) -> str | None:
        """The right answer to the current question (for a teacher's screen and for tests)."""
        return None if self._transition is None else self._transition.target

    @property
    def score(self) -> tuple[int, int]:
        """``(right, asked)``: answers that were right, and answers given."""
        return sum(f.correct for f in self._history), len(self._history)

    @property
    def finished(self) -> bool:
        """Whether every question has been answered."""
        return self._question is None

    @property
    def history(self) -> tuple[Feedback, ...]:
        """The feedback on every answer so far, oldest first."""
        return tuple(self._history)

    def answer(self, state: str, *, number: int | None = None) -> Feedback:
        """Grade ``state`` (a name or alias, e.g. ``'SYN_RECV'``) and move to the next question.

        An unknown state raises :class:`~tcpviz.errors.UnknownState` and counts for nothing;
        the same question stays. After the last question, raises :class:`QuizFinished`.
        A page passes the ``number`` of the question it showed, so that a double click or a
        stale page cannot answer the next question by accident (:class:`QuizError`).
        """
        if self._question is None or self._transition is None:
            right, asked = self.score
            raise QuizFinished(
                f"the quiz is finished ({right} of {asked} right); call reset() to start again"
            )
        if number is not None and number != self._question.number:
            raise QuizError(
                f"answer to question {number!r}, but the current question is "
                f"{self._question.number}; nothing was graded"
            )
        feedback = self.grade(state)  # raises UnknownState before anything changes
        self._history.append(feedback)
        # The connection goes where the table says, whatever the answer was.
        self._machine.fire(feedback.transition)
        self._ask()
        return feedback

    def grade(self, state: str) -> Feedback:
        """The feedback answering the current question with ``state`` would get, without answering.

        Raises :class:`QuizFinished` after the last question and
        :class:`~tcpviz.errors.UnknownState` for a name that is not a state.
        """
        if self._question is None or self._transition is None:
            right, asked = self.score
            raise QuizFinished(
                f"the quiz is finished ({right} of {asked} right); call reset() to start again"
            )
        given = self.table.state(state)
        question, transition = self._question, self._transition
        correct = given == transition.target
        return Feedback(
            correct,
            transition.target,
            given,
            self._explain(question, transition, given, correct),
            question,
            transition,
        )

    def played_out(self) -> list[dict[str, object]]:
        """Every question of this quiz, from its first, with what each possible answer would get.

        The questions do not depend on the answers (the walk follows the table), so a page with
        no Python can show the whole quiz from this data and grade by looking up. For each
        question: the question (:meth:`Question.as_dict`), the ``expected`` state, the ``edge``
        id and RFC ``label`` of its arrow, the explanation of the ``right`` answer, and for a
        wrong answer ``not[state] + " " + wrong``, where ``not`` has every state of the table
        but the right one (a student may click any state). This quiz itself does not move.

        >>> script = Quiz(seed=1, length=2).played_out()
        >>> len(script), script[0]["question"]["number"]
        (2, 1)
        """
        copy = Quiz(self.table, seed=self.seed, scenario=self.scenario, length=self.length)
        script: list[dict[str, object]] = []
        while copy._question is not None and copy._transition is not None:  # bounded: length
            question, transition = copy._question, copy._transition
            right = transition.target
            wrong_parts = copy._wrong_tail(question, transition)
            script.append(
                {
                    "question": question.as_dict(),
                    "expected": right,
                    "edge": self.table.edge_ids[transition],
                    "label": transition.label,
                    "right": copy._explain(question, transition, right, True),
                    "wrong": " ".join(wrong_parts),
                    "not": {
                        state: f"Not {state}: {copy._why_not(question, state)}"
                        for state in self.table.states
                        if state != right
                    },
                }
            )
            copy.answer(right)
        return script

    def reset(self, seed: int | None = None) -> None:
        """Start again: the same questions, or new ones with a new ``seed``."""
        if seed is not None:
            self.seed = seed
        self._rng = random.Random(self.seed)
        start = self.scenario.start if self.scenario is not None else self.table.initial
        self._machine = Machine(self.table, state=start)
        self._asked: Counter[Transition] = Counter()
        self._history: list[Feedback] = []
        self._question: Question | None = None
        self._transition: Transition | None = None
        self._ask()

    def payload(self) -> dict[str, object]:
        """The quiz as JSON-ready data for the page: the question, the score, the last feedback."""
        right, asked = self.score
        return {
            "question": None if self._question is None else self._question.as_dict(),
            "score": [right, asked],
            "total": self.length,
            "finished": self.finished,
            "scenario": None if self.scenario is None else self.scenario.name,
            "last": self._history[-1].as_dict() if self._history else None,
        }

    def __repr__(self) -> str:
        right, asked = self.score
        what = f"scenario {self.scenario.name!r}" if self.scenario else f"seed {self.seed}"
        return f"<Quiz {what}: {right}/{asked} right of {self.length}>"

    # -- choosing questions -------------------------------------------------------------------

    def _ask(self) -> None:
        """Set the next question (or none, when the quiz is over)."""
        number = len(self._history) + 1
        transition = self._next_transition() if number <= self.length else None
        if transition is None:
            self._question, self._transition = None, None
            return
        self._asked[transition] += 1
        event = self.table.events[transition.event]
        self._transition = transition
        self._question = Question(
            state=transition.source,
            event=transition.event,
            event_words=event.text,
            choices=self._choices(transition),
            number=number,
            total=self.length,
            entered_from=self._machine.entered_from,
        )

    def _next_transition(self) -> Transition | None:
        if self.scenario is not None:
            step = self.scenario.steps[len(self._history)]
            return self._machine.resolve(step.event)
        options = self._machine.enabled()
        if not options:
            # A dead end of a custom table: begin a new connection from the initial state.
            self._machine = Machine(self.table)
            options = self._machine.enabled()
            if not options:
                return None
        previous = self._history[-1].transition if self._history else None
        if previous is not None and len(options) > 1:
            # The same state and event twice in a row teaches nothing new (a self-loop).
            fresh = [t for t in options if (t.source, t.event) != (previous.source, previous.event)]
            options = tuple(fresh) or options
        # Teaching value: a quiz should show as much of the table as its length allows. So
        # head for the nearest state no question has shown yet, then for arrows not asked yet,
        # and only then pick at random. Without this the walk keeps circling back to CLOSED
        # (the extended table has an ABORT to CLOSED from almost every state).
        shown = {f.question.state for f in self._history} | {self._machine.state}
        to_new_state = self._distances(lambda s: s not in shown)
        to_new_arrow = self._distances(
            lambda s: any(self._asked[t] == 0 for t in self.table.outgoing(s))
        )

        def dullness(t: Transition) -> tuple[float, int, float]:
            return to_new_state[t.target], self._asked[t], to_new_arrow[t.target]

        best = min(map(dullness, options))
        return self._rng.choice([t for t in options if dullness(t) == best])

    def _distances(self, wanted: Callable[[str], bool]) -> dict[str, float]:
        """For each state, the fewest steps to a ``wanted`` state (``inf`` if none is reachable).

        A breadth-first search backwards from the wanted states; it ignores ``via``, which
        only ever narrows a step that the walk then does not take.
        """
        distance = {s: math.inf for s in self.table.states}
        frontier = [s for s in self.table.states if wanted(s)]
        for s in frontier:
            distance[s] = 0
        while frontier:  # bounded: each state enters the frontier at most once
            following = []
            for s in frontier:
                for t in self._into[s]:
                    if distance[t.source] == math.inf:
                        distance[t.source] = distance[s] + 1
                        following.append(t.source)
            frontier = following
        return distance

    def _choices(self, transition: Transition) -> tuple[str, ...]:
        """The right target and up to :data:`WRONG_CHOICES` plausible wrong states, shuffled."""
        table, right, here = self.table, transition.target, transition.source
        tiers = [
            # Where the same event leads from other states: the classic mix-up.
            [t.target for t in table.transitions if t.event == transition.event],
            # Where the other events of this state lead.
            [t.target for t in table.outgoing(here)],
            # Neighbours: staying put, where the answer leads next, what else leads there.
            [here]
            + [t.target for t in table.outgoing(right)]
            + [t.source for t in table.transitions if t.target == right],
            # Anything else, if the table is so small that the above are not enough.
            list(table.states),
        ]
        pools = []
        for tier in tiers:
            pool = [s for s in dict.fromkeys(tier) if s != right]
            self._rng.shuffle(pool)
            pools.append(pool)
        wrong: list[str] = []
        plausible, rest = pools[:-1], pools[-1]
        # Take from each kind of plausible mistake in turn, so the choices are varied; only
        # then fill up with any other state.
        while len(wrong) < WRONG_CHOICES and any(plausible):  # bounded: each pass pops
            for pool in plausible:
                while pool and pool[0] in wrong:
                    pool.pop(0)
                if pool and len(wrong) < WRONG_CHOICES:
                    wrong.append(pool.pop(0))
        wrong += [s for s in rest if s not in wrong][: WRONG_CHOICES - len(wrong)]
        choices = [right, *wrong]
        self._rng.shuffle(choices)
        return tuple(choices)

    # -- explaining ---------------------------------------------------------------------------

    def _explain(
        self, question: Question, transition: Transition, given: str, correct: bool
    ) -> str:
        if correct:
            happens = self._happens(question, transition)
            reason = self._reason(question, transition)
            return " ".join(part for part in (f"Right. {happens}", reason) if part)
        why_not = f"Not {given}: {self._why_not(question, given)}"
        return " ".join((why_not, *self._wrong_tail(question, transition)))

    @staticmethod
    def _happens(question: Question, transition: Transition) -> str:
        """The sentence saying what the arrow does: where it starts, what it sends, where it goes."""
        where = f"In {question.state}"
        if transition.via is not None:
            where += f" (entered from {question.entered_from})"
        sent = f"sends {transition.sent}" if transition.sent else "sends nothing"
        return (
            f'{where}, the arrow is "{transition.label}": this end {sent} and goes to '
            f"{transition.target}."
        )

    def _wrong_tail(self, question: Question, transition: Transition) -> list[str]:
        """What follows "Not X: why not" in the explanation of any wrong answer."""
        right = transition.target
        description = self.table.descriptions.get(right, "")
        parts = (
            self._happens(question, transition),
            self._reason(question, transition),
            f"{right}: {description}" if description else "",
        )
        return [part for part in parts if part]

    def _reason(self, question: Question, transition: Transition) -> str:
        """One sentence on why the transition happens: a scenario's, or the table's note."""
        reason: str | None
        if self.scenario is not None:
            reason = self.scenario.steps[question.number - 1].why
        else:
            reason = why(transition, question.entered_from)
        if reason:
            return reason
        if transition.note:
            note = transition.note
            return f"{note[0].upper()}{note[1:]}."
        return ""

    def _why_not(self, question: Question, given: str) -> str:
        """Why ``given`` is wrong, in terms of the table."""
        here, event = question.state, question.event
        if given == here:
            return f"the connection does not stay in {here} on {event}."
        # The same event from the same state, but under another 'via' (Figure 5, Note 1).
        conditioned = [
            t
            for t in self.table.outgoing(here)
            if t.event == event and t.target == given and t.via is not None
        ]
        if conditioned:
            via = conditioned[0].via
            came = question.entered_from
            this_time = f"this time it came from {came}" if came else "this time it started there"
            return (
                f"{event} leads from {here} to {given} only when {here} was entered from "
                f"{via}, and {this_time}."
            )
        enabled = self.table.enabled(here, question.entered_from)
        others = [t.event for t in enabled if t.target == given]
        if others:
            return f"{here} goes to {given} on {_or(others)}, not on {event}."
        sources = [
            t.source for t in self.table.transitions if t.event == event and t.target == given
        ]
        if sources:
            return f"{event} leads to {given} only from {_or(list(dict.fromkeys(sources)))}."
        into = [t for t in self.table.transitions if t.target == given]
        if not into:
            return f"no event leads to {given} at all."
        ways = [f"from {t.source} on {t.event}" for t in into[:3]]
        more = f", and {len(into) - 3} more ways" if len(into) > 3 else ""
        return f"no single event leads from {here} to {given} ({given} is reached {', '.join(ways)}{more})."


def _or(items: list[str]) -> str:
    """``['a', 'b', 'c']`` -> ``'a, b or c'``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
