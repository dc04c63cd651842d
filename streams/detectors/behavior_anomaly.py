"""``behavior_anomaly``: the behaviour model scored a user's recent searches as unusual.

The model is scored in batches outside the engine; this module only turns one
scored row into the alert's words. Higher scores are more anomalous.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.features import FEATURE_NAMES

MAX_REASONS = 5
MAX_VERSIONS = 8
"""An alert names at most this many model versions (the latest ones)."""


def describe_score(
    agency: str,
    user: str,
    score: float,
    threshold: float,
    reasons: Sequence[str],
    features: Sequence[float],
    *,
    model_version: str | None = None,
    earlier: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """One-sentence summary and details for a behaviour score at or above its threshold.

    ``details.model_version`` names the model version that scored it;
    ``details.model_versions`` every version that scored the alert's published versions
    (``earlier``: the details the alert was last published with), oldest first.

    >>> _, first = describe_score("MPD", "u1", 0.8, 0.6, [], [], model_version="v1")
    >>> _, later = describe_score("MPD", "u1", 0.9, 0.6, [], [], model_version="v2",
    ...                           earlier=first)
    >>> later["model_version"], later["model_versions"]
    ('v2', ['v1', 'v2'])
    """
    versions = [str(v) for v in (earlier or {}).get("model_versions", ())]
    if model_version is not None and model_version not in versions:
        versions = [*versions, model_version][-MAX_VERSIONS:]
    lead = " ".join(reasons[0].split()).rstrip(".") if reasons else ""
    because = f": {lead}" if lead else ""
    summary = (
        f"{agency} user {user}'s recent searches look unusual for them "
        f"(anomaly score {score:.2f}, threshold {threshold:.2f}){because}."
    )
    return summary, {
        "model_version": model_version,
        "model_versions": versions,
        "score": round(float(score), 4),
        "threshold": round(float(threshold), 4),
        "reasons": [str(r) for r in reasons[:MAX_REASONS]],
        "features": {
            name: round(float(value), 4)
            for name, value in zip(FEATURE_NAMES, features, strict=False)
        },
    }
