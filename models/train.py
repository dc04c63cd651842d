"""Fit the isolation forest on replayed history, calibrate its threshold, write artifact and card.

Threshold calibration (recorded in the card): the stream raises an alert
when *any* of a user's rows scores at or above the threshold, so the
threshold is set on users, not rows, from each training user's highest
score. A plain 99th percentile of those maxima would be set by whatever
misuse the history holds (a few percent of anomalous users would take the
top percent and hide their peers). The maxima of many scores follow an
extreme-value (Gumbel) law, so the threshold is that law fitted to the
robust middle of the maxima (their median and 90th percentile, which a
minority of anomalous users barely moves) and read at ``1 - target``:

    threshold = q50 + k * (q90 - q50),  k = (g(1 - target) - g(0.5)) / (g(0.9) - g(0.5)),
    g(p) = -ln(-ln p)          (k = 2.247 for the default target of 1% of users)

Everything random is seeded: the same events and seed give the same forest,
threshold and scores.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
from sklearn.ensemble import IsolationForest

from models.artifact import save_artifact
from models.dataset import EventBatch, FeatureRows, replay_features, user_max
from models.features import FEATURE_NAMES, MIN_EVENTS
from streams.contract.alert import format_ts
from streams.errors import ModelError

DEFAULT_SEED = 7
DEFAULT_TARGET_USER_FP_RATE = 0.01
N_ESTIMATORS = 100
MAX_SAMPLES = 256
MIN_USERS = 5
MIN_ROWS = 50
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0)


@dataclass(frozen=True, slots=True)
class TrainingResult:
    forest: IsolationForest
    card: dict[str, Any]
    rows: FeatureRows
    scores: np.ndarray


def _gumbel(p: float) -> float:
    return -math.log(-math.log(p))


def _gumbel_k(target: float) -> float:
    return (_gumbel(1.0 - target) - _gumbel(0.5)) / (_gumbel(0.9) - _gumbel(0.5))


def gumbel_threshold(maxima: np.ndarray, target: float) -> float:
    """The score a share ``target`` of users' maxima exceed, from a Gumbel fit (module doc).

    >>> rng = np.random.default_rng(7)
    >>> maxima = rng.gumbel(0.5, 0.02, size=20_000)
    >>> round(gumbel_threshold(maxima, 0.01), 3), round(float(np.quantile(maxima, 0.99)), 3)
    (0.591, 0.589)
    """
    q50, q90 = np.quantile(maxima, [0.5, 0.9])
    return float(q50 + _gumbel_k(target) * (q90 - q50))


def _quantile_map(values: np.ndarray) -> dict[str, float]:
    """``{"q00": min, "q01": ..., "q100": max}`` rounded for a readable card."""
    qs = np.quantile(values, QUANTILES) if len(values) else np.zeros(len(QUANTILES))
    return {_qname(p): round(float(v), 6) for p, v in zip(QUANTILES, qs, strict=True)}


def _qname(p: float) -> str:
    """0.01 -> "q01", 0.5 -> "q50", 0.999 -> "q999", 1.0 -> "q100"."""
    text = f"{p * 100:g}".replace(".", "")
    return "q" + (text if len(text) > 1 else "0" + text)


def fit(
    batch: EventBatch,
    *,
    seed: int = DEFAULT_SEED,
    target_user_fp_rate: float = DEFAULT_TARGET_USER_FP_RATE,
    range_from: float | None = None,
    range_to: float | None = None,
) -> TrainingResult:
    """Fit and calibrate on a batch of events; returns the forest and its (unsaved) card."""
    if not 0.0 < target_user_fp_rate < 0.5:
        raise ModelError("the target share of flagged users must be between 0 and 0.5")
    rows = replay_features(batch.events)
    n_users_with_rows = len(np.unique(rows.user_index))
    if len(rows.X) < MIN_ROWS or n_users_with_rows < MIN_USERS:
        raise ModelError(
            f"not enough history to train: {rows.event_count} events gave {len(rows.X)} rows "
            f"from {n_users_with_rows} users (need {MIN_ROWS} rows from {MIN_USERS} users, "
            f"each user {MIN_EVENTS}+ events)"
        )
    forest = IsolationForest(
        n_estimators=N_ESTIMATORS,
        max_samples=min(MAX_SAMPLES, len(rows.X)),
        contamination="auto",
        random_state=seed,
    )
    forest.fit(rows.X)
    scores = -forest.score_samples(rows.X)
    maxima = user_max(scores, rows.user_index, len(rows.users))
    maxima = maxima[np.isfinite(maxima)]
    threshold = gumbel_threshold(maxima, target_user_fp_rate)
    flagged = int(np.count_nonzero(maxima >= threshold))
    card: dict[str, Any] = {
        "model": "IsolationForest",
        "created_at": format_ts(round(datetime.now(UTC).timestamp())),
        "seed": seed,
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "training": {
            "source": batch.source,
            "range_from": format_ts(range_from) if range_from is not None else None,
            "range_to": format_ts(range_to) if range_to is not None else None,
            "first_event": format_ts(rows.first_ts) if rows.first_ts is not None else None,
            "last_event": format_ts(rows.last_ts) if rows.last_ts is not None else None,
            "event_count": rows.event_count,
            "rejected_count": batch.rejected,
            "duplicate_count": rows.duplicates,
            "user_count": len(rows.users),
            "row_count": len(rows.X),
            "min_events_per_user": MIN_EVENTS,
        },
        "features": list(FEATURE_NAMES),
        "params": {
            "n_estimators": N_ESTIMATORS,
            "max_samples": forest.max_samples,
            "contamination": "auto",
            "random_state": seed,
        },
        "contamination": "auto (not used for alerting: the threshold below decides)",
        "threshold": threshold,
        "threshold_calibration": {
            "method": "Gumbel law fitted to the median and 90th percentile of per-user "
            "maximum scores, read at 1 - target",
            "target_user_fp_rate": target_user_fp_rate,
            "k": round(_gumbel_k(target_user_fp_rate), 6),
            "empirical_quantile_of_user_max": float(np.quantile(maxima, 1.0 - target_user_fp_rate)),
            "users_calibrated": len(maxima),
            "training_users_at_or_above": flagged,
            "score": "higher = more anomalous (negated score_samples)",
        },
        "score_distribution": {
            "rows": _quantile_map(scores),
            "user_max": _quantile_map(maxima),
        },
        "feature_quantiles": {
            name: _quantile_map(rows.X[:, i]) for i, name in enumerate(FEATURE_NAMES)
        },
    }
    return TrainingResult(forest=forest, card=card, rows=rows, scores=scores)


def train_to_file(
    batch: EventBatch,
    out: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    target_user_fp_rate: float = DEFAULT_TARGET_USER_FP_RATE,
    range_from: float | None = None,
    range_to: float | None = None,
) -> dict[str, Any]:
    """Fit, calibrate and save artifact + card; return the card as written."""
    result = fit(
        batch,
        seed=seed,
        target_user_fp_rate=target_user_fp_rate,
        range_from=range_from,
        range_to=range_to,
    )
    return save_artifact(result.forest, out, result.card)
