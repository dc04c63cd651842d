"""The behaviour model as the stream uses it: batch scores (higher = more anomalous) and reasons.

scikit-learn's ``score_samples`` is lower for more abnormal rows; it is
negated here, once, so everything downstream (thresholds, alerts, the
console) reads "higher is worse". Scores are computed by
:class:`~models.forest_scorer.ForestScorer` (scikit-learn's numbers without
its per-call overhead). A call still costs about a millisecond whatever the
batch size, so drivers collect rows and call :meth:`BehaviorModel.score`
once per micro-batch, never once per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from models.artifact import load_forest
from models.explain import explain_row
from models.features import FEATURE_NAMES, FEATURE_VERSION
from models.forest_scorer import ForestScorer
from streams.errors import ModelError


class BehaviorModel:
    """A verified isolation forest, its alert threshold and its model card."""

    def __init__(self, forest: IsolationForest, card: Mapping[str, Any]) -> None:
        self._scorer = ForestScorer(forest)
        probe = np.random.default_rng(0).normal(scale=5.0, size=(64, self._scorer.n_features))
        self._scorer.check(forest, probe)  # the same scores as scikit-learn's, or no model
        self.card: dict[str, Any] = dict(card)
        self.feature_names: tuple[str, ...] = tuple(card["features"])
        try:
            self.threshold: float = float(card["threshold"])
            self._quantiles: dict[str, dict[str, float]] = {
                name: {k: float(v) for k, v in q.items()}
                for name, q in card["feature_quantiles"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"model card lacks a usable threshold or quantiles: {exc}") from None

    def score(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores of a batch of rows (``FEATURE_NAMES`` order), shape ``(n,)``."""
        rows = np.asarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(self.feature_names):
            raise ModelError(
                f"expected rows of {len(self.feature_names)} features, got shape {rows.shape}"
            )
        if rows.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        return -self._scorer.score_samples(rows)

    def explain(self, x: Sequence[float]) -> list[str]:
        """Plain-words reasons for one row, most important first (see :mod:`models.explain`)."""
        return explain_row(dict(zip(self.feature_names, x, strict=True)), self._quantiles)


def load_model(path: str | Path) -> BehaviorModel:
    """Load a model safely (hash, version and type checks in :mod:`models.artifact`)."""
    forest, card = load_forest(path)
    if tuple(card.get("features", ())) != FEATURE_NAMES:
        raise ModelError(f"{path}: the model's features do not match this version")
    if card.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{path}: trained on features of version {card.get('feature_version', 'before 3')}, "
            f"this version computes version {FEATURE_VERSION}; train it again "
            "(frtwatch model train)"
        )
    return BehaviorModel(forest, card)
