"""The quiz: seeded questions that follow the table, fair choices, grading and explanations."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpviz.errors import TcpvizError, UnknownState
from tcpviz.model.table import Table, Transition, tcp_table
from tcpviz.teach.quiz import MAX_LENGTH, Feedback, Question, Quiz, QuizError, QuizFinished
from tcpviz.teach.scenarios import SCENARIOS, why


def play(quiz: Quiz, answer=lambda quiz, question: quiz.expected) -> list[Feedback]:
    """Answer every question (by default rightly) and return the feedback."""
    feedback = []
    for _ in range(MAX_LENGTH + 1):  # bounded even if the quiz never finished
        if quiz.finished:
            return feedback
        feedback.append(quiz.answer(answer(quiz, quiz.question)))
    raise AssertionError("the quiz did not finish")


def wrong(quiz: Quiz, question: Question) -> str:
    return next(choice for choice in question.choices if choice != quiz.expected)


def transcript(quiz: Quiz) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [
        (f.question.state, f.question.event, f.question.choices, f.expected) for f in play(quiz)
    ]


# -- questions ------------------------------------------------------------------------------


def test_same_seed_same_questions_and_choices():
    assert transcript(Quiz(seed=7)) == transcript(Quiz(seed=7))
    assert transcript(Quiz(seed=7, extended=True)) == transcript(Quiz(seed=7, extended=True))


def test_different_seeds_give_different_quizzes():
    assert len({tuple(transcript(Quiz(seed=seed))) for seed in range(10)}) > 1


def test_reset_replays_the_same_quiz_and_a_new_seed_changes_it():
    quiz = Quiz(seed=11)
    first = transcript(quiz)
    quiz.reset()
    assert quiz.score == (0, 0) and quiz.history == () and not quiz.finished
    assert transcript(quiz) == first
    quiz.reset(seed=12)
    assert quiz.seed == 12
    assert transcript(quiz) == transcript(Quiz(seed=12))


def test_without_a_seed_one_is_drawn_so_reset_can_replay():
    quiz = Quiz()
    assert isinstance(quiz.seed, int)
    first = transcript(quiz)
    quiz.reset()
    assert transcript(quiz) == first


def test_first_question_starts_where_the_table_starts():
    question = Quiz(seed=0).question
    assert question.state == "CLOSED"
    assert question.event in ("passive OPEN", "active OPEN")
    assert question.number == 1
    assert question.total == 10
    assert question.entered_from is None
    assert question.event_words == tcp_table().events[question.event].text


def test_the_walk_follows_the_table_whatever_the_answers():
    quiz = Quiz(seed=3, length=12)
    previous = None
    for feedback in play(quiz, wrong):
        if previous is not None:
            # Each question starts where the last transition really went.
            assert feedback.question.state == previous.transition.target
            assert feedback.question.entered_from == previous.transition.source
        previous = feedback


def test_no_arrow_is_asked_twice_in_a_short_quiz():
    for extended in (False, True):
        for seed in range(20):
            asked = [f.transition for f in play(Quiz(seed=seed, extended=extended, length=10))]
            assert len(set(asked)) == 10, (extended, seed)


def test_a_long_quiz_shows_every_state():
    for extended in (False, True):
        for seed in range(20):
            quiz = Quiz(seed=seed, extended=extended, length=30)
            shown = {f.question.state for f in play(quiz)}
            assert shown == set(quiz.table.states), (extended, seed)


def test_choices_are_the_answer_and_three_plausible_states():
    quiz = Quiz(seed=5, length=30)
    for feedback in play(quiz):
        choices = feedback.question.choices
        assert len(choices) == 4
        assert len(set(choices)) == 4
        assert feedback.expected in choices


def test_choices_mix_the_kinds_of_mistake():
    # In ESTABLISHED, CLOSE leads to FIN-WAIT-1. Plausible mix-ups: where CLOSE leads from
    # other states (CLOSED, LAST-ACK) and where the other event here leads (CLOSE-WAIT).
    table = tcp_table()
    for seed in range(10):
        quiz = Quiz(table, scenario="active-close", seed=seed)
        quiz.answer(quiz.expected)
        quiz.answer(quiz.expected)
        question = quiz.question
        assert (question.state, question.event) == ("ESTABLISHED", "CLOSE")
        assert "FIN-WAIT-1" in question.choices
        assert "CLOSE-WAIT" in question.choices
        assert {"CLOSED", "LAST-ACK"} & set(question.choices)


# -- answers --------------------------------------------------------------------------------


def test_a_right_answer_counts_and_is_confirmed_briefly():
    quiz = Quiz(seed=1)
    expected = quiz.expected
    feedback = quiz.answer(expected)
    assert feedback.correct
    assert (feedback.expected, feedback.given) == (expected, expected)
    assert feedback.explanation.startswith("Right.")
    assert expected in feedback.explanation
    assert feedback.transition.label in feedback.explanation
    assert quiz.score == (1, 1)
    assert quiz.question.number == 2


def test_a_wrong_answer_is_explained_with_the_arrow_what_is_sent_and_the_target():
    quiz = Quiz(scenario="handshake-server")
    quiz.answer("LISTEN")
    feedback = quiz.answer("SYN-SENT")  # in LISTEN, rcv SYN
    assert not feedback.correct
    assert (feedback.expected, feedback.given) == ("SYN-RECEIVED", "SYN-SENT")
    text = feedback.explanation
    assert text.startswith("Not SYN-SENT: LISTEN goes to SYN-SENT on SEND, not on rcv SYN.")
    assert "rcv SYN / snd SYN,ACK" in text
    assert "sends SYN,ACK" in text
    assert tcp_table().descriptions["SYN-RECEIVED"] in text
    assert SCENARIOS["handshake-server"].steps[1].why in text
    assert quiz.score == (1, 2)


def test_staying_put_is_explained():
    quiz = Quiz(scenario="handshake-client")
    feedback = quiz.answer("CLOSED")
    assert "does not stay in CLOSED on active OPEN" in feedback.explanation
    assert "sends SYN" in feedback.explanation


def test_an_unreachable_answer_says_how_that_state_is_reached():
    quiz = Quiz(scenario="handshake-client")
    feedback = quiz.answer("CLOSE-WAIT")
    assert "no single event leads from CLOSED to CLOSE-WAIT" in feedback.explanation
    assert "from ESTABLISHED on rcv FIN" in feedback.explanation


def test_the_via_rule_is_explained():
    quiz = Quiz(tcp_table(extended=True), scenario="listen-reset")
    quiz.answer("LISTEN")
    quiz.answer("SYN-RECEIVED")
    assert quiz.question.entered_from == "LISTEN"
    feedback = quiz.answer("CLOSED")
    assert feedback.expected == "LISTEN"
    assert (
        "rcv RST leads from SYN-RECEIVED to CLOSED only when SYN-RECEIVED was entered from "
        "SYN-SENT, and this time it came from LISTEN." in feedback.explanation
    )
    assert "(entered from LISTEN)" in feedback.explanation


def test_aliases_are_accepted_and_graded_as_the_state():
    quiz = Quiz(scenario="handshake-server")
    assert quiz.answer("listening").correct
    feedback = quiz.answer("syn_recv")
    assert feedback.correct
    assert feedback.given == "SYN-RECEIVED"
    assert quiz.answer("ESTAB").correct
    assert quiz.score == (3, 3)


def test_an_unknown_state_raises_and_does_not_count():
    quiz = Quiz(seed=2)
    question = quiz.question
    with pytest.raises(UnknownState, match=r"'SYN-ACKED'.*must be one of"):
        quiz.answer("SYN-ACKED")
    assert quiz.score == (0, 0)
    assert quiz.question == question
    assert quiz.history == ()


def test_the_quiz_ends_after_its_length():
    quiz = Quiz(seed=4, length=3)
    feedback = play(quiz, wrong)
    assert len(feedback) == 3
    assert [f.question.number for f in feedback] == [1, 2, 3]
    assert quiz.finished and quiz.question is None and quiz.expected is None
    assert quiz.score == (0, 3)
    assert quiz.history == tuple(feedback)
    with pytest.raises(QuizFinished, match=r"0 of 3 right.*reset\(\)"):
        quiz.answer("CLOSED")
    assert quiz.score == (0, 3)


def test_an_answer_to_another_question_number_is_refused():
    # A double click on the page sends the same answer twice: only the first one counts.
    quiz = Quiz(seed=6)
    quiz.answer(quiz.expected, number=1)
    with pytest.raises(QuizError, match=r"answer to question 1, but the current question is 2"):
        quiz.answer("CLOSED", number=1)
    assert quiz.score == (1, 1)
    assert quiz.question.number == 2
    assert quiz.answer(quiz.expected, number=2).correct


@pytest.mark.parametrize("length", [0, -1, MAX_LENGTH + 1, 2.5, True, "10"])
def test_a_bad_length_is_refused(length):
    with pytest.raises(QuizError, match=r"length must be a whole number from 1 to"):
        Quiz(length=length)


# -- scenarios ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_scenario_quiz_asks_its_steps_in_order(name):
    scenario = SCENARIOS[name]
    quiz = Quiz(scenario=name, seed=0)
    assert quiz.table is tcp_table(scenario.extended)
    feedback = play(quiz, wrong)
    transitions = scenario.transitions()
    assert [(f.question.state, f.question.event) for f in feedback] == [
        (t.source, t.event) for t in transitions
    ]
    assert [f.expected for f in feedback] == [t.target for t in transitions]
    for step, f in zip(scenario.steps, feedback, strict=True):
        assert step.why in f.explanation


def test_a_scenario_quiz_may_stop_early_but_not_run_past_its_steps():
    assert len(play(Quiz(scenario="active-close", length=2))) == 2
    with pytest.raises(QuizError, match=r"from 1 to 6"):
        Quiz(scenario="active-close", length=7)


def test_a_scenario_the_table_lacks_is_refused_up_front():
    with pytest.raises(QuizError, match=r"connection-refused.*extended table"):
        Quiz(tcp_table(), scenario="connection-refused")


def test_quiz_errors_are_tcpviz_errors():
    assert issubclass(QuizError, TcpvizError) and issubclass(QuizError, ValueError)
    assert issubclass(QuizFinished, TcpvizError)


# -- the page -------------------------------------------------------------------------------


def test_payload_is_json_and_hides_the_answer():
    quiz = Quiz(seed=9, length=2)
    payload = quiz.payload()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["score"] == [0, 0] and payload["total"] == 2 and not payload["finished"]
    assert payload["last"] is None
    assert payload["question"] == quiz.question.as_dict()
    assert set(payload["question"]) == {
        "state",
        "event",
        "event_words",
        "choices",
        "number",
        "total",
        "entered_from",
    }
    quiz.answer(quiz.expected)
    quiz.answer("CLOSED")
    payload = quiz.payload()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["finished"] and payload["question"] is None
    assert payload["last"]["number"] == 2
    assert payload["last"]["expected"] == quiz.history[-1].expected


# -- other tables ---------------------------------------------------------------------------


def test_a_self_loop_is_not_asked_twice_in_a_row():
    table = Table(
        [
            Transition("A", "tick", "A"),
            Transition("A", "go", "B"),
            Transition("B", "back", "A"),
        ]
    )
    for seed in range(10):
        asked = [(f.question.state, f.question.event) for f in play(Quiz(table, seed=seed))]
        assert all(a != b for a, b in itertools.pairwise(asked)), asked


def test_a_custom_table_explains_with_its_notes():
    table = Table(
        [
            Transition("idle", "coin", "ready", note="a coin unlocks the turnstile"),
            Transition("ready", "push", "idle", sent="click"),
        ]
    )
    quiz = Quiz(table, seed=0, length=2)
    first = quiz.answer("idle")
    assert first.explanation.startswith("Not idle: the connection does not stay in idle on coin.")
    assert "A coin unlocks the turnstile." in first.explanation
    second = quiz.answer("idle")
    assert second.explanation == (
        'Right. In ready, the arrow is "push / snd click": this end sends click and goes to idle.'
    )


def test_a_dead_end_starts_a_new_connection():
    table = Table([Transition("A", "go", "B")])
    quiz = Quiz(table, seed=0, length=3)
    feedback = play(quiz)
    assert [(f.question.state, f.expected) for f in feedback] == [("A", "B")] * 3
    # Only two states: the answer and one wrong choice.
    assert all(sorted(f.question.choices) == ["A", "B"] for f in feedback)


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    extended=st.booleans(),
    length=st.integers(min_value=1, max_value=40),
    picks=st.lists(st.integers(min_value=0, max_value=3), min_size=40, max_size=40),
)
def test_every_question_is_fair(seed, extended, length, picks):
    """For any seed: the right answer is the table's target, it is among distinct choices."""
    quiz = Quiz(seed=seed, extended=extended, length=length)
    table = quiz.table
    right = 0
    for number in range(1, length + 1):
        question = quiz.question
        assert question is not None and question.number == number
        enabled = table.enabled(question.state, question.entered_from)
        targets = [t.target for t in enabled if t.event == question.event]
        assert len(targets) == 1
        assert quiz.expected == targets[0]
        assert targets[0] in question.choices
        assert len(set(question.choices)) == len(question.choices) == 4
        assert set(question.choices) <= set(table.states)
        pick = question.choices[picks[number - 1]]
        feedback = quiz.answer(pick)
        right += feedback.correct
        assert feedback.correct == (pick == targets[0])
        assert targets[0] in feedback.explanation
        # Every built-in arrow comes with its reason, read in the context it was reached in.
        assert why(feedback.transition, question.entered_from) in feedback.explanation
        assert quiz.score == (right, number)
    assert quiz.finished


def test_grade_says_what_an_answer_would_get_and_changes_nothing():
    quiz = Quiz(seed=3, length=3)
    question = quiz.question
    wrong = next(s for s in question.choices if s != quiz.expected)
    assert quiz.grade(wrong).correct is False
    assert quiz.grade(quiz.expected).correct is True
    assert quiz.question == question and quiz.score == (0, 0)
    assert quiz.answer(wrong).explanation == Quiz(seed=3, length=3).grade(wrong).explanation


def test_a_quiz_played_out_in_advance_is_the_quiz_and_leaves_it_where_it_was():
    quiz = Quiz(seed=5, length=4)
    quiz.answer(quiz.expected)
    script = quiz.played_out()
    assert quiz.score == (1, 1)  # untouched
    fresh = Quiz(seed=5, length=4)
    for played in script:
        assert played["question"] == fresh.question.as_dict()
        assert played["right"] == fresh.grade(fresh.expected).explanation
        fresh.answer(fresh.expected)
    assert fresh.finished and len(script) == 4


def test_notebook_03_prints_no_answer_of_the_class_quiz_above_it():
    """The plain-Python example prints explanations: it must use another quiz than the class's."""
    import json
    import re
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / "03-explore-the-state-machine.ipynb"
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    code = "\n".join(cells)
    (class_seed,) = re.findall(r"start_quiz\(seed=(\d+)\)", code)
    (printed_seed,) = re.findall(r"\bQuiz\(seed=(\d+)", code)
    assert class_seed != printed_seed
    printed = [q["question"] for q in Quiz(seed=int(printed_seed), length=3).played_out()]
    asked = [q["question"] for q in Quiz(seed=int(class_seed), length=3).played_out()]
    assert printed[:2] != asked[:2]  # other questions, other choices: nothing given away
