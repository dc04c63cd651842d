"""User-level evaluation of a behaviour model against a simulated world's ``truth.json``.

Positives are the users of incidents whose expected detector is
``behavior_anomaly``; negatives are users with no incident at all (users of
other incidents are left out: their rule-breaking is not this model's job).
A user's score is their highest row score over the replayed events, and a
user is flagged when it reaches the model's threshold, which is exactly when
the stream would raise at least one ``behavior_anomaly`` alert for them.
Users with too little history to be scored count as not flagged, and rank
lowest in ``roc_auc``; ``roc_auc_scored`` leaves them out, which is the
harder figure (the model's ranking among users it did score).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from models.dataset import EventBatch, replay_features, user_max
from models.scoring import BehaviorModel
from streams.errors import ModelError

DETECTOR = "behavior_anomaly"


@dataclass(frozen=True, slots=True)
class Evaluation:
    threshold: float
    positives: int
    negatives: int
    unscored_positives: int
    unscored_negatives: int
    true_positives: int
    false_positives: int
    precision: float
    recall: float
    roc_auc: float
    roc_auc_scored: float
    normal_flagged_share: float
    missed: list[str]
    false_alarms: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_truth(path: str | Path) -> tuple[set[str], set[str]]:
    """(behaviour-anomaly user keys, user keys of any incident) from ``truth.json``."""
    file = Path(path)
    try:
        truth = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read truth file {file}: {exc}") from None
    if not isinstance(truth, dict) or not isinstance(truth.get("incidents"), list):
        raise ModelError(f"{file} is not a frtwatch.truth.v1 file (no 'incidents' list)")
    anomalous: set[str] = set()
    involved: set[str] = set()
    for incident in truth["incidents"]:
        keys = {f"{incident['agency']}/{user}" for user in incident.get("users", ())}
        involved |= keys
        if incident.get("detector") == DETECTOR:
            anomalous |= keys
    return anomalous, involved


def evaluate(
    model: BehaviorModel, batch: EventBatch, anomalous: set[str], involved: set[str]
) -> Evaluation:
    """Score every user of ``batch`` and compare with the truth (see the module doc)."""
    rows = replay_features(batch.events)
    scores = model.score(rows.X)
    maxima = dict(zip(rows.users, user_max(scores, rows.user_index, len(rows.users)), strict=True))
    every_user = {e.user_key for e in batch.events} | anomalous
    positives = sorted(anomalous)
    negatives = sorted(every_user - involved)
    if not positives or not negatives:
        raise ModelError(
            f"the truth has {len(positives)} {DETECTOR} users and {len(negatives)} users "
            "without incidents; both are needed to evaluate"
        )
    floor = min((v for v in maxima.values() if np.isfinite(v)), default=0.0) - 1.0
    pos = np.array([maxima.get(u, -np.inf) for u in positives])
    neg = np.array([maxima.get(u, -np.inf) for u in negatives])
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    values = np.where(np.isfinite(np.r_[pos, neg]), np.r_[pos, neg], floor)
    tp = int(np.count_nonzero(pos >= model.threshold))
    fp = int(np.count_nonzero(neg >= model.threshold))
    return Evaluation(
        threshold=model.threshold,
        positives=len(pos),
        negatives=len(neg),
        unscored_positives=int(np.count_nonzero(~np.isfinite(pos))),
        unscored_negatives=int(np.count_nonzero(~np.isfinite(neg))),
        true_positives=tp,
        false_positives=fp,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / len(pos),
        roc_auc=float(roc_auc_score(labels, values)),
        roc_auc_scored=_auc_scored(pos, neg),
        normal_flagged_share=fp / len(neg),
        missed=[u for u, v in zip(positives, pos, strict=True) if not v >= model.threshold],
        false_alarms=[u for u, v in zip(negatives, neg, strict=True) if v >= model.threshold],
    )


def _auc_scored(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC over users with at least one scored row (NaN when a class has none)."""
    p, n = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if not len(p) or not len(n):
        return float("nan")
    labels = np.r_[np.ones(len(p)), np.zeros(len(n))]
    return float(roc_auc_score(labels, np.r_[p, n]))
