"""The version in force at each event's own time scores it: not when the judge learnt of
the version, not where a batch ends. Shadow versions score beside and raise nothing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from models.versions import ACTIVE, SHADOW, ModelTimeline, ModelVersion
from streams.detectors import Engine
from streams.judge.batch import BatchItem, Judge, ObjectStates
from streams.policy import CertificateRegistry, load_policy
from streams.settings import DEFAULT_POLICY
from tests.unit.detectors.factories import HOUR, at, make_event


class _Constant:
    """Stands in for a behaviour model: every row scores ``value``."""

    threshold = 0.5

    def __init__(self, version: str, value: float) -> None:
        self.version = version
        self.value = value
        self.calls = 0

    def score(self, rows: Any) -> Any:
        self.calls += 1
        return np.full(len(rows), self.value)

    def explain(self, features: Any) -> list[str]:
        return ["unusual"]


CHANGE = at(2, 0)
EVENTS = [make_event(at(0, 8) + i * 1.5 * HOUR, user="mpd-0001") for i in range(60)]


def _timeline(*extra: ModelVersion) -> ModelTimeline:
    quiet = _Constant("quiet", 0.1)
    loud = _Constant("loud", 0.9)
    return ModelTimeline([
        ModelVersion("quiet", -math.inf, ACTIVE, quiet),  # type: ignore[arg-type]
        ModelVersion("loud", CHANGE, ACTIVE, loud),  # type: ignore[arg-type]
        *extra,
    ])  # fmt: skip


def _run(timeline: ModelTimeline, size: int) -> list[Any]:
    judge = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()), timeline)
    states = ObjectStates()
    alerts = []
    for start in range(0, len(EVENTS), size):
        result = judge.run([BatchItem(e, None) for e in EVENTS[start : start + size]], states)
        assert not result.failures
        alerts += result.alerts
    return alerts


def _behaviour(alerts: list[Any]) -> list[Any]:
    return [a for a in alerts if a.detector == "behavior_anomaly"]


def test_each_event_is_scored_by_the_version_in_force_at_its_time() -> None:
    found = _behaviour(_run(_timeline(), 1000))
    assert found, "the loud version alerts on the events after the change"
    assert min(a.first_seen for a in found) >= CHANGE  # the quiet version before it
    assert {a.details["model_version"] for a in found} == {"loud"}


def test_batch_boundaries_across_a_version_change_change_nothing() -> None:
    def key(alerts: list[Any]) -> list[tuple[Any, ...]]:
        return sorted((a.alert_id, a.event_count, a.first_seen, a.last_seen, a.status)
                      for a in alerts)  # fmt: skip

    whole = key(_run(_timeline(), 1000))
    for size in (1, 7, 31):
        assert key(_run(_timeline(), size)) == whole


def test_no_version_in_force_is_warm_up() -> None:
    late = _Constant("late", 0.9)
    timeline = ModelTimeline([ModelVersion("late", at(100), ACTIVE, late)])  # type: ignore[arg-type]
    assert not _behaviour(_run(timeline, 50))
    assert late.calls == 0


def test_a_shadow_version_scores_beside_and_raises_no_alert() -> None:
    shadow = _Constant("candidate", 0.99)
    timeline = ModelTimeline([
        ModelVersion("quiet", -math.inf, ACTIVE, _Constant("quiet", 0.1)),  # type: ignore[arg-type]
        ModelVersion("candidate", at(1), SHADOW, shadow),  # type: ignore[arg-type]
    ])  # fmt: skip
    judge = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()), timeline)
    result = judge.run([BatchItem(e, None) for e in EVENTS], ObjectStates())
    assert not _behaviour(result.alerts)
    tally = result.shadow["candidate"]
    assert tally.rows > 0 and tally.flagged == tally.rows  # it would have flagged them all
    assert shadow.calls == 1  # one model call for the whole batch
