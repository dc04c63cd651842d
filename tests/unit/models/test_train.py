"""Training: deterministic for a seed, calibrated, and described fully by its card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sklearn

from models.artifact import card_path, sha256_file
from models.dataset import EventBatch
from models.features import FEATURE_NAMES
from models.scoring import load_model
from models.train import fit
from streams.errors import ModelError
from tests.unit.models.synthetic_world import World


def _batch(world: World) -> EventBatch:
    return EventBatch(world.events, rejected=0, source="synthetic")


def test_same_seed_same_model(world: World) -> None:
    first, second = fit(_batch(world), seed=3), fit(_batch(world), seed=3)
    assert first.card["threshold"] == second.card["threshold"]
    np.testing.assert_array_equal(first.scores, second.scores)


def test_other_seed_other_forest(world: World) -> None:
    first, second = fit(_batch(world), seed=3), fit(_batch(world), seed=4)
    assert not np.array_equal(first.scores, second.scores)


def test_loaded_model_scores_like_the_trained_one(world: World, tmp_path: Path) -> None:
    result = fit(_batch(world), seed=7)
    from models.artifact import save_artifact

    save_artifact(result.forest, tmp_path / "m.skops", result.card)
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_allclose(loaded.score(result.rows.X[:500]), result.scores[:500])


def test_card_describes_the_training(trained_model: Path, world: World) -> None:
    card = json.loads(card_path(trained_model).read_text())
    assert card["artifact_sha256"] == sha256_file(trained_model)
    assert card["sklearn_version"] == sklearn.__version__
    assert card["seed"] == 7
    assert card["features"] == list(FEATURE_NAMES)
    assert card["training"]["event_count"] == len(world.events)
    assert card["training"]["user_count"] == len(world.anomalous | world.normal)
    assert card["training"]["first_event"].startswith("2026-03-02T")
    assert card["contamination"].startswith("auto")
    calibration = card["threshold_calibration"]
    assert calibration["target_user_fp_rate"] == 0.005
    assert calibration["horizon_days"] == 14
    assert 6 < calibration["block_days"] <= 7
    assert calibration["gumbel_beta"] > 0
    assert card["params"]["max_features"] == 0.5
    rows = card["score_distribution"]["rows"]
    assert rows["q00"] <= rows["q50"] <= rows["q99"] <= rows["q100"]
    assert rows["q50"] < card["threshold"]
    assert set(card["feature_quantiles"]) == set(FEATURE_NAMES)
    assert card["created_at"].endswith("Z")


def test_too_little_history_is_refused(world: World) -> None:
    with pytest.raises(ModelError, match="not enough history"):
        fit(EventBatch(world.events[:40], rejected=0, source="tiny"))


def test_threshold_follows_the_target(world: World) -> None:
    strict = fit(_batch(world), target_user_fp_rate=0.001).card["threshold"]
    loose = fit(_batch(world), target_user_fp_rate=0.05).card["threshold"]
    assert strict > loose
