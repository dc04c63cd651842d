"""``models.compare``: two models on the same events, and where they disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.artifact import card_path
from models.compare import compare_models
from models.scoring import load_model
from tests.unit.models.synthetic_world import World


def test_a_model_agrees_with_itself(trained_model: Path, world: World) -> None:
    model = load_model(trained_model)
    result = compare_models(model, model, world.events)
    assert result.rows > 0 and result.users > 0
    assert result.current_only == result.candidate_only == []
    assert result.flagged_both, "the synthetic world's anomalies are flagged"
    assert result.agreement == 1.0
    assert result.row_pearson == pytest.approx(1.0) and result.user_spearman == pytest.approx(1.0)


def test_a_lower_threshold_flags_more_users_and_says_which(
    model_copy: Path, trained_model: Path, world: World
) -> None:
    card = json.loads(card_path(model_copy).read_text())
    card["threshold"] = card["threshold"] * 0.8
    card["model_version"] = "candidate"
    card_path(model_copy).write_text(json.dumps(card))
    current, candidate = load_model(trained_model), load_model(model_copy)
    result = compare_models(current, candidate, world.events)
    assert result.candidate == "candidate" and result.current.startswith("sha256:")
    assert result.candidate_only and not result.current_only
    assert set(result.flagged_both) == set(
        compare_models(current, current, world.events).flagged_both
    )
    assert 0.0 < result.agreement < 1.0
    # The same forest: the scores agree exactly though the verdicts do not.
    assert result.row_pearson == pytest.approx(1.0)
    assert json.loads(json.dumps(result.to_dict()))["candidate_only"] == result.candidate_only
