"""BehaviorModel: one batch call, higher = more anomalous, reasons in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.dataset import replay_features
from models.features import FEATURE_NAMES
from models.scoring import load_model
from streams.errors import ModelError
from tests.unit.models.synthetic_world import World


def _row(**values: float) -> list[float]:
    plain = {"rate_vs_baseline": 1.0, "off_hours_share": 0.0, "distinct_probe_share": 0.8,
             "zero_result_share": 0.25, "no_case_share": 0.0, "other_agency_share": 0.0,
             "distinct_endpoints": 1.0, "gap_irregularity": 1.5, "off_hours_rise": 0.0,
             "distinct_probe_rise": 0.0, "zero_result_rise": 0.0}  # fmt: skip
    plain.update(values)
    return [plain[name] for name in FEATURE_NAMES]


def test_higher_score_means_more_anomalous(trained_model: Path) -> None:
    model = load_model(trained_model)
    usual = _row()
    odd = _row(off_hours_share=0.9, zero_result_share=0.95, distinct_probe_share=1.0,
               rate_vs_baseline=4.0, gap_irregularity=4.0, off_hours_rise=0.9,
               zero_result_rise=0.7, distinct_probe_rise=0.2)  # fmt: skip
    scores = model.score(np.array([usual, odd]))
    assert scores.shape == (2,)
    assert scores[1] > model.threshold > scores[0]


def test_batch_equals_rows_scored_alone(trained_model: Path, world: World) -> None:
    model = load_model(trained_model)
    X = replay_features(world.events).X[:64]
    together = model.score(X)
    alone = np.array([model.score(X[i : i + 1])[0] for i in range(len(X))])
    np.testing.assert_allclose(together, alone)


def test_empty_batch_and_wrong_shape(trained_model: Path) -> None:
    model = load_model(trained_model)
    assert model.score(np.empty((0, len(FEATURE_NAMES)))).shape == (0,)
    with pytest.raises(ModelError, match="expected rows of 11 features"):
        model.score(np.zeros((3, 5)))


def test_explain_names_the_features_that_stand_out(trained_model: Path) -> None:
    model = load_model(trained_model)
    # The synthetic world has night-shift users: 1% of its rows are 86% off-hours or more.
    reasons = model.explain(_row(off_hours_share=0.99))
    assert reasons[0].startswith("99% of recent searches off-hours")
    assert "(normal: " in reasons[0]


def test_explain_orders_by_how_far_out(trained_model: Path) -> None:
    model = load_model(trained_model)
    reasons = model.explain(_row(other_agency_share=0.9, zero_result_share=0.5))
    assert reasons[0].startswith("90% of recent searches were for another agency")
    assert len(reasons) <= 3


def test_explain_a_usual_row(trained_model: Path) -> None:
    reasons = load_model(trained_model).explain(_row())
    assert reasons == ["no single feature stands out; the combination of features is unusual"]
