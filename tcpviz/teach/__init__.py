"""Teaching: named scenarios with a reason for every step (one end, and both ends), and the quiz."""

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr
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

if TYPE_CHECKING:
    from .connection_scenarios import (
        CONNECTION_SCENARIOS,
        ConnectionScenario,
        ConnectionStep,
        get_connection_scenario,
    )

# Loaded on first use: they bring in the connection simulator, which a diagram does not need
# (and `tcpviz export` should not pay for).
_LAZY = {
    "CONNECTION_SCENARIOS": "connection_scenarios",
    "ConnectionScenario": "connection_scenarios",
    "ConnectionStep": "connection_scenarios",
    "get_connection_scenario": "connection_scenarios",
}


if not TYPE_CHECKING:  # a type checker sees the imports above, and a misspelt name is an error
    __getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
