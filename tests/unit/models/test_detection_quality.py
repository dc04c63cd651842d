"""The model finds behaviour-only anomalies and leaves normal users alone (user level)."""

from __future__ import annotations

from models.dataset import EventBatch
from models.evaluate import evaluate
from models.scoring import BehaviorModel
from models.train import fit
from tests.unit.models.synthetic_world import make_world


def test_auc_and_false_positive_share_on_a_fresh_world() -> None:
    history = make_world(seed=7, users=300)
    result = fit(EventBatch(history.events, rejected=0, source="history"), seed=7)
    model = BehaviorModel(result.forest, result.card)
    fresh = make_world(seed=8, users=300)
    figures = evaluate(
        model, EventBatch(fresh.events, 0, "fresh"), fresh.anomalous, fresh.anomalous
    )
    assert figures.roc_auc >= 0.9
    assert figures.normal_flagged_share <= 0.01
    assert figures.recall >= 0.5
