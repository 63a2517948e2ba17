"""Teaching: named scenarios with a reason for every step, and the quiz."""

from .quiz import DEFAULT_LENGTH, MAX_LENGTH, Feedback, Question, Quiz, QuizError, QuizFinished
from .scenarios import (
    SCENARIOS,
    STEP_SIDES,
    Scenario,
    Step,
    UnknownScenario,
    get_scenario,
    scenario_payload,
    why,
)

__all__ = [
    "DEFAULT_LENGTH",
    "MAX_LENGTH",
    "SCENARIOS",
    "STEP_SIDES",
    "Feedback",
    "Question",
    "Quiz",
    "QuizError",
    "QuizFinished",
    "Scenario",
    "Step",
    "UnknownScenario",
    "get_scenario",
    "scenario_payload",
    "why",
]
