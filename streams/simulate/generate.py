"""Building a whole scenario: people, decoys, incidents, then everyone's ordinary work.

The order matters only for determinism and for who is free to take part:
analysts are set aside as steady decoys first, the surge's agency and hours
are fixed before bursts (which avoid that agency), the early burst comes after
every other story (it takes nobody another story would pick), the surge's members are
whoever is left in the agency at the end, and ordinary searches are
generated last so blackouts and tags planned by the stories apply to them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.policy import load_policy
from streams.simulate.anomalies import behaviour_anomalies
from streams.simulate.decoys import mou_requests, plan_surge, run_surge, steady_analysts
from streams.simulate.incidents import early_burst, plan_rule_incidents
from streams.simulate.output import prepare_out_dir, write_scenario
from streams.simulate.routine import generate_routine
from streams.simulate.scenario import Scenario
from streams.simulate.world import SimulationConfig, World, build_world


def generate_scenario(config: SimulationConfig) -> tuple[World, Scenario]:
    """The world and all its searches (unsorted, without ids), in memory."""
    config.validate()
    policy = load_policy(config.policy_path)
    world = build_world(config, policy)
    sc = Scenario(world)
    steady_analysts(sc)
    surge = plan_surge(sc)
    plan_rule_incidents(sc, surge.label.agency)
    behaviour_anomalies(sc)
    mou_requests(sc)
    early_burst(sc, (surge.label.agency,))
    run_surge(sc, surge)
    for user in world.users:
        generate_routine(world, user, sc.sink)
    return world, sc


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What was written, and how fast."""

    out_dir: Path
    event_count: int
    user_count: int
    truth: dict[str, Any]
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.event_count / self.seconds if self.seconds > 0 else float("inf")


def simulate(config: SimulationConfig, out_dir: str | Path) -> SimulationResult:
    """Generate the scenario for ``config`` and write it into ``out_dir``."""
    out = Path(out_dir)
    config.validate()
    prepare_out_dir(out)  # fail before the work, not after it
    began = time.perf_counter()
    world, sc = generate_scenario(config)
    truth = write_scenario(world, sc, out)
    return SimulationResult(
        out_dir=out,
        event_count=truth["event_count"],
        user_count=len(world.users),
        truth=truth,
        seconds=time.perf_counter() - began,
    )
