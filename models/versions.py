"""Model versions by event time: which behaviour model scores an event.

A deployment's behaviour model changes over time (a first model once enough
history exists, a new one on each retraining). Each version *applies from* an
event time, and an event is scored by the **active** version with the latest
``applies_from`` at or before the event's own time. Nothing else decides it: not
when a worker learnt of the version, nor whether it is live or a replay. So a
replay of last month uses last month's versions and raises the alerts the SOC saw.

A **shadow** version scores beside the active one from its ``applies_from`` and
raises no alert; its scores only feed the comparison (``frtwatch model compare``)
that decides its promotion. A promotion is the same version published again as
active, from a later event time.

A model file given by hand (``--model``, the policy's ``behavior_anomaly.model``)
is one active version that applies from the beginning of time.

>>> from types import SimpleNamespace
>>> def version(name, start, role=ACTIVE):
...     return ModelVersion(name, start, role, SimpleNamespace(version=name))
>>> timeline = ModelTimeline([version("v1", 100.0), version("v2", 200.0),
...                           version("v3", 150.0, SHADOW)])
>>> [getattr(timeline.active_at(ts), "version", None) for ts in (99.0, 100.0, 199.9, 200.0)]
[None, 'v1', 'v1', 'v2']
>>> [v.version for v in timeline.shadows_at(160.0)], timeline.shadows_at(250.0)
(['v3'], [])
>>> timeline.put(version("v3", 300.0))  # promoted: active from 300
>>> timeline.active_at(301.0).version, timeline.shadows_at(160.0)
('v3', [])
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.contract.alert import format_ts

if TYPE_CHECKING:
    from models.scoring import BehaviorModel

ACTIVE = "active"
SHADOW = "shadow"
REJECTED = "rejected"
"""A shadow version that failed its comparison: kept on the topic, never scores."""
ROLES = (ACTIVE, SHADOW, REJECTED)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of the behaviour model and the event time it applies from."""

    version: str
    applies_from: float
    """Epoch seconds; ``-inf`` for a model file given by hand."""
    role: str
    """:data:`ACTIVE` (raises alerts) or :data:`SHADOW` (scores beside, raises none)."""
    model: BehaviorModel

    def describe(self) -> dict[str, Any]:
        start = None if math.isinf(self.applies_from) else format_ts(self.applies_from)
        return {
            "version": self.version,
            "role": self.role,
            "applies_from": start,
            "threshold": round(float(getattr(self.model, "threshold", math.nan)), 6),
        }


class ModelTimeline:
    """The versions known, by event time (see the module doc).

    Kept sorted by ``(applies_from, version)``; :meth:`put` replaces a version of the
    same name (a promotion, or the same record read again).
    """

    def __init__(self, versions: Iterable[ModelVersion] = ()) -> None:
        self._by_name: dict[str, ModelVersion] = {}
        self._active: list[ModelVersion] = []
        self._starts: list[float] = []
        self._shadows: list[ModelVersion] = []
        for version in versions:
            self.put(version)

    @classmethod
    def single(cls, model: BehaviorModel | None) -> ModelTimeline:
        """One model for all time (a file), or no model at all."""
        if model is None:
            return cls()
        return cls([ModelVersion(model.version, -math.inf, ACTIVE, model)])

    def put(self, version: ModelVersion) -> None:
        self._by_name[version.version] = version
        self._rebuild()

    def remove(self, name: str) -> bool:
        """Forget a version (a tombstone on the models topic); whether it was known."""
        if self._by_name.pop(name, None) is None:
            return False
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        ordered = sorted(self._by_name.values(), key=lambda v: (v.applies_from, v.version))
        self._active = [v for v in ordered if v.role == ACTIVE]
        self._starts = [v.applies_from for v in self._active]
        self._shadows = [v for v in ordered if v.role == SHADOW]

    def active_at(self, ts: float) -> ModelVersion | None:
        """The version that scores an event of time ``ts``, or None (warm-up)."""
        index = bisect.bisect_right(self._starts, ts) - 1
        return self._active[index] if index >= 0 else None

    def shadows_at(self, ts: float) -> list[ModelVersion]:
        """The shadow versions scoring beside the active one at ``ts``: each from its
        ``applies_from`` until an active version starts after it."""
        return [
            s for s in self._shadows
            if s.applies_from <= ts and not any(s.applies_from < a <= ts for a in self._starts)
        ]  # fmt: skip

    def get(self, name: str) -> ModelVersion | None:
        return self._by_name.get(name)

    @property
    def versions(self) -> list[ModelVersion]:
        """Every version known, in ``(applies_from, version)`` order."""
        return sorted(self._by_name.values(), key=lambda v: (v.applies_from, v.version))

    @property
    def has_shadows(self) -> bool:
        return bool(self._shadows)

    def __len__(self) -> int:
        return len(self._by_name)

    def __bool__(self) -> bool:
        return bool(self._by_name)
