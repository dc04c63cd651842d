"""The pure detection core: no Kafka, no Faust, event time only.

Drivers (the live worker, replay) call :class:`Engine` and store the
:class:`UserState` / :class:`AgencyState` records it returns.
"""

from streams.detectors.engine import Engine, Outcome, ScoreRequest
from streams.detectors.state import AgencyState, StateFormatError, UserState

__all__ = ["AgencyState", "Engine", "Outcome", "ScoreRequest", "StateFormatError", "UserState"]
