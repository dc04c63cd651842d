"""Fit the isolation forest on replayed history, calibrate its threshold, write artifact and card.

The forest: 200 trees, each grown on 2,048 rows and half of the features
(``max_features=0.5``). Seeing half the features per tree lets a feature
that departs strongly (most searches off-hours) shorten many trees' paths
instead of being one choice in eight at every split; larger samples
resolve the normal region better; 200 trees rather than 100 halve the
seed-to-seed spread of the threshold. All three were chosen on simulated
worlds (``frtwatch model eval``); scoring cost grows with the trees
(``python -m models.bench``).

Dithering: an isolation forest can only split on a feature that varies in
its sample. Some features are the same for nearly every normal row (no
off-hours searches, no other agency), so a user who suddenly departs from
them would never be isolated along them. The fitting copy of the rows gets
seeded Gaussian noise of about one unit of each feature's resolution
(:data:`DITHER`: one percentage point for shares); calibration, the card
and scoring use the exact rows.

Threshold calibration: see :mod:`models.calibration` (a Gumbel law fitted to
users' weekly maximum scores, read at the target share of users over 14
days). Its parameters and the resulting threshold are written to the card.

Why a behaviour alert can still come a day or more after a change began:
the shares of :mod:`models.features` remember ~10 searches, so a change
shows once several of a user's searches have changed, which takes days for
a user who searches a few times a day (with ~20 searches the first alert
came after 11 to 33 changed searches; ``RECENT_SEARCHES`` has the figures of
the change to 10). Beyond that, an isolation forest draws every split
between the smallest and the largest value its node holds, so a row beyond
the training range on a feature is isolated no faster than the training row
at that edge: a row whose searches are all off-hours scores about the same
as one at the edge of the training rows, and a changed user is flagged once
several features sit at their edges at once. Scoring past the edge was
measured against this (each node's split drawn over its training range
widened to hold the row, which isolates a far-out row early): on three
1,800-user, 21-day worlds of seeds 11-13 the median delay fell but the
normal users flagged rose from 9/12/41 to 57/96/178, and at thresholds that
flag as many normal users as the forest's own, the delays were no shorter.
Other ``max_features``, a uniform background in the fitting sample and a
lower target share either left the slowest incidents as slow or flagged
many more users of an agency-wide surge.

Features of version 5 (docs/BEHAVIOUR.md) work around that saturation rather
than through it: the ``*_rise`` features compare a user's recent shares with
their own long-run shares, so a changed user departs on more features at once,
and the recent shares fade in event time, so a behaviour that stopped stops
being flagged. On four 400-user, 21-day worlds (``python -m models.separation
--seeds 11 12 13 21``) the median time to the first alert fell from 0.39 to
0.07 days and the normal users flagged from 20 to 8; the margins over the
threshold stayed about 0.1.

Everything random is seeded: the same events and seed give the same forest,
threshold and scores.
"""

from __future__ import annotations

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
from models.calibration import DAY_S, HORIZON_S, block_maxima, fit_gumbel
from models.dataset import EventBatch, FeatureRows, replay_features, user_max
from models.features import FEATURE_NAMES, FEATURE_VERSION, MIN_EVENTS, UTC_HOURS, LocalHours
from streams.contract.alert import format_ts
from streams.errors import ModelError

DEFAULT_SEED = 7
DEFAULT_TARGET_USER_FP_RATE = 0.005
"""Nominal share of normal users flagged in 14 days: half of the 1% a SOC can carry.

The margin is there because a training history rarely holds the agency-wide
events that later raise many normal users' scores at once (a major incident
sending a whole agency to the search system, a new memorandum of
understanding). On simulated worlds trained on their first week, this
default flagged 0-0.8% of normal users over the full 14 days (five forest
seeds, four worlds); a 1% target flagged up to 2.5%.
"""
N_ESTIMATORS = 200
MAX_SAMPLES = 2048
MAX_FEATURES = 0.5
# Standard deviation of the fitting noise per feature (about one unit of resolution).
DITHER: dict[str, float] = {
    "rate_vs_baseline": 0.05,
    "off_hours_share": 0.01,
    "distinct_probe_share": 0.01,
    "zero_result_share": 0.01,
    "no_case_share": 0.01,
    "other_agency_share": 0.01,
    "distinct_endpoints": 0.1,
    "gap_irregularity": 0.05,
    "off_hours_rise": 0.01,
    "distinct_probe_rise": 0.01,
    "zero_result_rise": 0.01,
}
MIN_USERS = 5
MIN_ROWS = 50
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0)


@dataclass(frozen=True, slots=True)
class TrainingResult:
    forest: IsolationForest
    card: dict[str, Any]
    rows: FeatureRows
    scores: np.ndarray


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
    hours: LocalHours = UTC_HOURS,
) -> TrainingResult:
    """Fit and calibrate on a batch of events; returns the forest and its (unsaved) card.

    ``hours``: the agencies' time zones (the policy's), recorded in the card as
    ``timezones``; the worker refuses a model whose zones differ from its policy's.
    """
    if not 0.0 < target_user_fp_rate < 0.5:
        raise ModelError("the target share of flagged users must be between 0 and 0.5")
    rows = replay_features(batch.events, hours)
    n_users_with_rows = len(np.unique(rows.user_index))
    if len(rows.X) < MIN_ROWS or n_users_with_rows < MIN_USERS:
        raise ModelError(
            f"not enough history to train: {rows.event_count} events gave {len(rows.X)} rows "
            f"from {n_users_with_rows} users (need {MIN_ROWS} rows from {MIN_USERS} users, "
            f"each user {MIN_EVENTS}+ events)"
        )
    rng = np.random.default_rng(seed)
    noise = np.array([DITHER[name] for name in FEATURE_NAMES])
    dithered = rows.X + rng.standard_normal(rows.X.shape) * noise
    forest = IsolationForest(
        n_estimators=N_ESTIMATORS,
        max_samples=min(MAX_SAMPLES, len(rows.X)),
        max_features=MAX_FEATURES,
        contamination="auto",
        random_state=seed,
    )
    forest.fit(dithered)
    scores = -forest.score_samples(rows.X)
    maxima, block_s = block_maxima(scores, rows.user_index, rows.ts)
    law = fit_gumbel(maxima, block_s)
    threshold = law.threshold(target_user_fp_rate, HORIZON_S)
    users_max = user_max(scores, rows.user_index, len(rows.users))
    users_max = users_max[np.isfinite(users_max)]
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
        "feature_version": FEATURE_VERSION,
        "timezones": hours.describe(),
        "params": {
            "n_estimators": N_ESTIMATORS,
            "max_samples": forest.max_samples,
            "max_features": MAX_FEATURES,
            "contamination": "auto",
            "random_state": seed,
            "dither": DITHER,
        },
        "contamination": "auto (not used for alerting: the threshold below decides)",
        "threshold": threshold,
        "threshold_calibration": {
            "method": "Gumbel law fitted to the 75th and 95th percentiles of per-user "
            "block maxima, shifted to the horizon (max-stability), read at 1 - target",
            "target_user_fp_rate": target_user_fp_rate,
            "horizon_days": HORIZON_S / DAY_S,
            "block_days": round(block_s / DAY_S, 4),
            "block_maxima": law.maxima,
            "gumbel_mu": law.mu,
            "gumbel_beta": law.beta,
            "training_users_at_or_above": int(np.count_nonzero(users_max >= threshold)),
            "training_users_scored": len(users_max),
            "score": "higher = more anomalous (negated score_samples)",
        },
        "score_distribution": {
            "rows": _quantile_map(scores),
            "user_max": _quantile_map(users_max),
            "block_max": _quantile_map(maxima),
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
    hours: LocalHours = UTC_HOURS,
) -> dict[str, Any]:
    """Fit, calibrate and save artifact + card; return the card as written."""
    result = fit(
        batch,
        seed=seed,
        target_user_fp_rate=target_user_fp_rate,
        range_from=range_from,
        range_to=range_to,
        hours=hours,
    )
    return save_artifact(result.forest, out, result.card)
