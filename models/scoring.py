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
from models.features import FEATURE_NAMES, FEATURE_VERSION, LocalHours
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

    @property
    def version(self) -> str:
        """The model's version as alerts name it: the card's ``model_version`` if it has
        one, else ``sha256:`` and the first 16 hex digits of the artifact's hash (the card
        records it, and loading checks it)."""
        named = self.card.get("model_version")
        if isinstance(named, str) and named:
            return named
        return f"sha256:{str(self.card.get('artifact_sha256', ''))[:16]}"

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


def load_model(path: str | Path, hours: LocalHours | None = None) -> BehaviorModel:
    """Load a model safely (hash, version and type checks in :mod:`models.artifact`).

    With ``hours`` (the policy's time zones), a model trained with another zone for
    any agency is refused: its ``off_hours_share`` would mean other hours.
    """
    forest, card = load_forest(path)
    if tuple(card.get("features", ())) != FEATURE_NAMES:
        raise ModelError(f"{path}: the model's features do not match this version")
    if card.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{path}: trained on features of version {card.get('feature_version', 'before 3')}, "
            f"this version computes version {FEATURE_VERSION}; train it again "
            "(frtwatch model train)"
        )
    if hours is not None:
        _check_timezones(path, card, hours)
    return BehaviorModel(forest, card)


def _check_timezones(path: str | Path, card: Mapping[str, Any], hours: LocalHours) -> None:
    """Refuse a model whose card reads any agency's hours in another zone than ``hours``."""
    zones = card.get("timezones")
    if not isinstance(zones, Mapping) or not isinstance(zones.get("agencies"), Mapping):
        raise ModelError(f"{path}: the model card does not say which time zones it was trained in")
    default = zones.get("default")
    trained = dict(zones["agencies"])
    for agency in sorted(trained.keys() | hours.zones.keys()):
        then = trained.get(agency, default)
        now = hours.zone_of(agency)
        if then != now:
            raise ModelError(
                f"{path}: trained with agency {agency} on {then}, the policy puts it on {now}; "
                "train it again with this policy (frtwatch model train)"
            )
    if default != hours.default:
        raise ModelError(
            f"{path}: trained with default_timezone {default}, the policy's is "
            f"{hours.default}; train it again with this policy (frtwatch model train)"
        )
