"""Simulated worlds shared by the simulator tests (generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.contract import SearchEvent, parse_event
from streams.policy import CertificateRegistry, Policy, load_certificates_csv, load_policy
from streams.settings import DEFAULT_POLICY
from streams.simulate import SimulationConfig, simulate


@dataclass
class WrittenWorld:
    out: Path
    lines: list[bytes]
    events: list[SearchEvent]
    truth: dict[str, Any]
    policy: Policy
    certificates: CertificateRegistry

    @property
    def by_id(self) -> dict[str, SearchEvent]:
        return {e.event_id: e for e in self.events}

    def incident_ids(self) -> set[str]:
        return {eid for inc in self.truth["incidents"] for eid in inc["event_ids"]}


def write_world(out: Path, **config: Any) -> WrittenWorld:
    simulate(SimulationConfig(policy_path=DEFAULT_POLICY, **config), out)
    lines = (out / "events.jsonl").read_bytes().splitlines()
    return WrittenWorld(
        out=out,
        lines=lines,
        events=[parse_event(line) for line in lines],
        truth=orjson.loads((out / "truth.json").read_bytes()),
        policy=load_policy(DEFAULT_POLICY),
        certificates=load_certificates_csv(out / "certifications.csv"),
    )


@pytest.fixture(scope="session")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> WrittenWorld:
    """The world ``frtwatch simulate`` writes with default arguments."""
    return write_world(tmp_path_factory.mktemp("default-world"))


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> WrittenWorld:
    """The smallest world the simulator accepts."""
    return write_world(tmp_path_factory.mktemp("small-world"), users=60, days=3, seed=3)
