"""How two behaviour models disagree on the same events: the check before a new version
replaces the one in force.

Both models score the rows the stream itself would score (:func:`models.dataset.replay_features`,
the one feature implementation), in batches. A user is flagged by a model when any of
their rows scores at or above that model's threshold, as the worker would alert. The
comparison reports the users flagged by both, by one only, and how the scores agree:
Pearson and Spearman correlation over every row and over each user's highest score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.dataset import replay_features, user_max
from models.features import UTC_HOURS, LocalHours
from models.scoring import BehaviorModel
from streams.contract import SearchEvent

SCORE_BATCH = 50_000
"""Rows scored per call: the forest's batch cost without a copy of every row at once."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """The disagreement between a model in force (``current``) and a ``candidate``."""

    current: str
    candidate: str
    rows: int
    users: int
    flagged_both: list[str] = field(default_factory=list)
    current_only: list[str] = field(default_factory=list)
    candidate_only: list[str] = field(default_factory=list)
    row_pearson: float = float("nan")
    row_spearman: float = float("nan")
    user_pearson: float = float("nan")
    user_spearman: float = float("nan")

    @property
    def agreement(self) -> float:
        """Users flagged by both over users flagged by either (1.0 when neither flags any)."""
        either = len(self.flagged_both) + len(self.current_only) + len(self.candidate_only)
        return 1.0 if either == 0 else len(self.flagged_both) / either

    def to_dict(self) -> dict[str, Any]:
        def num(value: float) -> float | None:
            return None if np.isnan(value) else round(float(value), 4)

        return {
            "current": self.current,
            "candidate": self.candidate,
            "rows": self.rows,
            "users": self.users,
            "flagged_both": self.flagged_both,
            "current_only": self.current_only,
            "candidate_only": self.candidate_only,
            "agreement": round(self.agreement, 4),
            "row_pearson": num(self.row_pearson),
            "row_spearman": num(self.row_spearman),
            "user_pearson": num(self.user_pearson),
            "user_spearman": num(self.user_spearman),
        }


def _scores(model: BehaviorModel, X: np.ndarray) -> np.ndarray:
    parts = [model.score(X[i : i + SCORE_BATCH]) for i in range(0, len(X), SCORE_BATCH)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), for Spearman's coefficient."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    uniques, inverse = np.unique(values, return_inverse=True)
    if len(uniques) < len(values):
        sums = np.bincount(inverse, weights=ranks)
        counts = np.bincount(inverse)
        ranks = (sums / counts)[inverse]
    return ranks


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def compare_models(
    current: BehaviorModel,
    candidate: BehaviorModel,
    events: Iterable[SearchEvent],
    hours: LocalHours = UTC_HOURS,
    *,
    score_from: float | None = None,
) -> Comparison:
    """Score ``events`` with both models and say where they disagree.

    ``score_from``: compare only the rows of events at or after this time; the earlier
    events only build the users' feature windows, as a live worker's history does.
    """
    rows = replay_features(events, hours)
    X, owners = rows.X, rows.user_index
    if score_from is not None:
        keep = rows.ts >= score_from
        X, owners = X[keep], owners[keep]
    a, b = _scores(current, X), _scores(candidate, X)
    n_users = len(rows.users)
    top_a = user_max(a, owners, n_users)
    top_b = user_max(b, owners, n_users)
    scored = np.isfinite(top_a) & np.isfinite(top_b)
    flag_a = top_a >= current.threshold
    flag_b = top_b >= candidate.threshold
    users = rows.users
    return Comparison(
        current=current.version,
        candidate=candidate.version,
        rows=len(a),
        users=int(scored.sum()),
        flagged_both=sorted(users[i] for i in np.flatnonzero(flag_a & flag_b)),
        current_only=sorted(users[i] for i in np.flatnonzero(flag_a & ~flag_b)),
        candidate_only=sorted(users[i] for i in np.flatnonzero(~flag_a & flag_b)),
        row_pearson=_pearson(a, b),
        row_spearman=_pearson(_ranks(a), _ranks(b)),
        user_pearson=_pearson(top_a[scored], top_b[scored]),
        user_spearman=_pearson(_ranks(top_a[scored]), _ranks(top_b[scored])),
    )
