"""Teaching: named scenarios with a reason for every step (one end, and both ends), and the quiz."""

from .connection_scenarios import (
    CONNECTION_SCENARIOS,
    ConnectionScenario,
    ConnectionStep,
    get_connection_scenario,
)
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
    "CONNECTION_SCENARIOS",
    "DEFAULT_LENGTH",
    "MAX_LENGTH",
    "SCENARIOS",
    "STEP_SIDES",
    "ConnectionScenario",
    "ConnectionStep",
    "Feedback",
    "Question",
    "Quiz",
    "QuizError",
    "QuizFinished",
    "Scenario",
    "Step",
    "UnknownScenario",
    "get_connection_scenario",
    "get_scenario",
    "scenario_payload",
    "why",
]
