"""The fast scorer gives scikit-learn's isolation-forest scores exactly, for any batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from models.artifact import load_forest
from models.forest_scorer import ForestScorer
from streams.errors import ModelError


def _rows(n: int, features: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.normal(scale=4.0, size=(n, features))
    rows[:, 0] = np.round(rows[:, 0])  # ties with split thresholds are likely on integers
    return rows


@pytest.mark.parametrize("max_features", [1.0, 0.5])
@pytest.mark.parametrize("n", [1, 3, 257, 5000])
def test_scores_equal_scikit_learns_bit_for_bit(max_features: float, n: int) -> None:
    forest = IsolationForest(n_estimators=40, max_samples=128, max_features=max_features,
                             random_state=3).fit(_rows(2000, 6, seed=1))  # fmt: skip
    rows = _rows(n, 6)
    assert np.array_equal(ForestScorer(forest).score_samples(rows), forest.score_samples(rows))


def test_the_trained_model_scores_the_same(trained_model: Path) -> None:
    forest, _ = load_forest(trained_model)
    rows = _rows(1000, forest.n_features_in_)
    assert np.array_equal(ForestScorer(forest).score_samples(rows), forest.score_samples(rows))


def test_a_disagreement_is_refused_not_used() -> None:
    forest = IsolationForest(n_estimators=10, random_state=0).fit(_rows(300, 4))
    scorer = ForestScorer(forest)
    tree, leaf_depth = scorer._trees[0]
    scorer._trees[0] = (tree, leaf_depth + 1e-9)  # one tree off by a hair
    with pytest.raises(ModelError, match="disagrees with scikit-learn"):
        scorer.check(forest, _rows(50, 4))


def test_an_unfitted_forest_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="cannot be scored"):
        ForestScorer(IsolationForest())


def test_the_private_parts_read_are_still_there() -> None:
    """Fails loudly when scikit-learn renames or reshapes what ForestScorer reads."""
    import sklearn
    from sklearn.ensemble import _iforest

    from tests.conftest import ROOT

    forest = IsolationForest(n_estimators=5, max_samples=64, max_features=0.5, random_state=1)
    forest.fit(_rows(300, 4))
    assert callable(_iforest._average_path_length)
    assert float(_iforest._average_path_length([64])[0]) > 0
    assert isinstance(forest._max_features, int) and forest._max_features == 2
    assert isinstance(forest._max_samples, int) and forest._max_samples == 64
    for estimator, path, average in zip(
        forest.estimators_,
        forest._decision_path_lengths,
        forest._average_path_length_per_tree,
        strict=True,
    ):
        assert path.shape == average.shape == (estimator.tree_.node_count,)
        # A tree's nodes, rewritten to read whole rows (models.forest_scorer._full_width).
        nodes = estimator.tree_.__getstate__()["nodes"]
        assert {"left_child", "feature", "threshold"} <= set(nodes.dtype.names)
    # The range pinned in pyproject.toml is the one this test was written against.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"scikit-learn>=1.9,<1.10"' in pyproject
    assert sklearn.__version__.split(".")[:2] == ["1", "9"]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_scores_do_not_depend_on_the_threads(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from models import forest_scorer

    monkeypatch.setattr(forest_scorer, "THREADS", threads)
    monkeypatch.setattr(forest_scorer, "_POOL", None)
    forest = IsolationForest(n_estimators=41, max_samples=128, max_features=0.5,
                             random_state=5).fit(_rows(2000, 6, seed=2))  # fmt: skip
    rows = _rows(forest_scorer.THREADED_ROWS + 7, 6)
    assert np.array_equal(ForestScorer(forest).score_samples(rows), forest.score_samples(rows))
    assert (forest_scorer._POOL is not None) == (threads > 1)
