"""``behavior_anomaly``: the behaviour model scored a user's recent searches as unusual.

The model is scored in batches outside the engine; this module only turns one
scored row into the alert's words. Higher scores are more anomalous.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.features import FEATURE_NAMES

MAX_REASONS = 5


def describe_score(
    agency: str,
    user: str,
    score: float,
    threshold: float,
    reasons: Sequence[str],
    features: Sequence[float],
    *,
    model_version: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """One-sentence summary and details for a behaviour score at or above its threshold;
    ``details.model_version`` names the model that scored it."""
    lead = " ".join(reasons[0].split()).rstrip(".") if reasons else ""
    because = f": {lead}" if lead else ""
    summary = (
        f"{agency} user {user}'s recent searches look unusual for them "
        f"(anomaly score {score:.2f}, threshold {threshold:.2f}){because}."
    )
    return summary, {
        "model_version": model_version,
        "score": round(float(score), 4),
        "threshold": round(float(threshold), 4),
        "reasons": [str(r) for r in reasons[:MAX_REASONS]],
        "features": {
            name: round(float(value), 4)
            for name, value in zip(FEATURE_NAMES, features, strict=False)
        },
    }
