"""The scenario generator behind ``frtwatch simulate`` (contract: notes in README).

>>> from streams.simulate import SimulationConfig
>>> SimulationConfig().users, SimulationConfig().days
(400, 14)
"""

from streams.simulate.generate import SimulationResult, generate_scenario, simulate
from streams.simulate.output import CERTIFICATIONS_FILE, EVENTS_FILE, TRUTH_FILE, TRUTH_SCHEMA
from streams.simulate.world import SimulationConfig, SimulationError

__all__ = [
    "CERTIFICATIONS_FILE",
    "EVENTS_FILE",
    "TRUTH_FILE",
    "TRUTH_SCHEMA",
    "SimulationConfig",
    "SimulationError",
    "SimulationResult",
    "generate_scenario",
    "simulate",
]
