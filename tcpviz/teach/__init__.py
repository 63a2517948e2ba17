"""Teaching: named scenarios with a reason for every step (one end, and both ends), the quiz,
and the player that steps every view (a machine, a simulated connection, a recording)."""

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr
from .player import (
    ConnectionTrack,
    HistoryWindow,
    MachineTrack,
    Player,
    RecordedTrack,
    ScenarioPlayer,
    Script,
    Track,
    connection_player,
    lead_in,
    playable,
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
    "ConnectionTrack",
    "Feedback",
    "HistoryWindow",
    "MachineTrack",
    "Player",
    "Question",
    "Quiz",
    "QuizError",
    "QuizFinished",
    "RecordedTrack",
    "Scenario",
    "ScenarioPlayer",
    "Script",
    "Step",
    "Track",
    "UnknownScenario",
    "connection_player",
    "get_connection_scenario",
    "get_scenario",
    "lead_in",
    "playable",
    "scenario_payload",
    "why",
]
