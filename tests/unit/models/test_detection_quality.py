"""The model finds the simulator's behaviour-only anomalies and leaves normal users alone.

The model is trained, as ``make demo`` does, on the history phase of one
simulated world (the days before any incident) and judged at user level on
the whole of that world and of a fresh one (another seed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.dataset import EventBatch, read_events_file
from models.evaluate import Evaluation, evaluate, read_truth
from models.scoring import BehaviorModel
from models.train import fit
from streams.contract.event import parse_timestamp
from streams.simulate import SimulationConfig, simulate
from tests.conftest import ROOT

DAY = 86_400


def _world(tmp: Path, seed: int) -> tuple[EventBatch, Path, float]:
    """A default-sized simulated world (400 users, 14 days): events, truth file, start time."""
    config = SimulationConfig(seed=seed, policy_path=ROOT / "config" / "policy.yaml")
    result = simulate(config, tmp / f"world-{seed}")
    start = parse_timestamp(result.truth["start"])
    return read_events_file(result.out_dir / "events.jsonl"), result.out_dir / "truth.json", start


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Evaluation]:
    tmp = tmp_path_factory.mktemp("worlds")
    events, truth, start = _world(tmp, seed=7)
    history_end = start + 7 * DAY  # the simulator's incidents start after half its 14 days
    history = EventBatch([e for e in events.events if e.ts < history_end], 0, "history")
    result = fit(history, seed=7)
    model = BehaviorModel(result.forest, result.card)
    fresh_events, fresh_truth, _ = _world(tmp, seed=8)
    return {
        "same world": evaluate(model, events, *read_truth(truth)),
        "fresh world": evaluate(model, fresh_events, *read_truth(fresh_truth)),
    }


@pytest.mark.parametrize("world", ["same world", "fresh world"])
def test_roc_auc_on_behaviour_only_anomalies(figures: dict[str, Evaluation], world: str) -> None:
    assert figures[world].positives >= 3
    assert figures[world].roc_auc >= 0.9
    assert figures[world].roc_auc_scored >= 0.9


@pytest.mark.parametrize("world", ["same world", "fresh world"])
def test_at_most_one_percent_of_normal_users_flagged(
    figures: dict[str, Evaluation], world: str
) -> None:
    assert figures[world].negatives >= 300
    assert figures[world].normal_flagged_share <= 0.01


@pytest.mark.parametrize("world", ["same world", "fresh world"])
def test_finds_most_anomalous_users(figures: dict[str, Evaluation], world: str) -> None:
    assert figures[world].recall >= 0.5
    assert figures[world].precision >= 0.5
