"""What a worker does about the behaviour model at start-up: score, warm up, or refuse.

No model configured, or no file at its path, is a fresh deployment: the worker starts
with behaviour detection warming up (no behaviour alerts, rule detectors as always). A
file that is there but fails its checks stops start-up. The state is published in the
metrics and on ``/status``; and the rule alerts do not depend on whether a model is
loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from models.scoring import load_model
from streams.contract import SearchEvent
from streams.detectors import Engine
from streams.errors import ModelError
from streams.judge.batch import BatchItem, Judge, ObjectStates
from streams.policy import CertificateRegistry, load_policy
from streams.settings import DEFAULT_POLICY, Settings
from streams.worker import observability
from streams.worker.runtime import BehaviorStatus, load_behavior_model, load_runtime
from tests.unit.models.synthetic_world import World


def _policy(tmp_path: Path, *, enabled: bool = True, model: Path | None = None) -> Path:
    data = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    behavior = data["detectors"]["behavior_anomaly"]
    behavior["enabled"] = enabled
    behavior.pop("model", None)
    if model is not None:
        behavior["model"] = str(model)
    data["certifications"]["csv"] = str(DEFAULT_POLICY.parent / data["certifications"]["csv"])
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _decide(policy: Path, model: Path | None = None) -> tuple[object, Path | None, BehaviorStatus]:
    settings = Settings(policy_path=policy, model_path=model)
    return load_behavior_model(settings, load_policy(policy))


def test_disabled_detector_needs_no_model(tmp_path: Path) -> None:
    model, path, status = _decide(_policy(tmp_path, enabled=False, model=tmp_path / "x.skops"))
    assert (model, path, status.state) == (None, None, "disabled")


def test_no_model_configured_is_warm_up(tmp_path: Path) -> None:
    model, path, status = _decide(_policy(tmp_path))
    assert (model, path, status.state) == (None, None, "warmup")
    assert "no behaviour alerts" in status.detail
    assert "frtwatch model train" in status.detail


def test_no_file_at_the_models_path_is_warm_up(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "behavior.skops"
    model, path, status = _decide(_policy(tmp_path, model=missing))
    assert (model, path, status.state) == (None, missing, "warmup")
    assert str(missing) in status.detail and "frtwatch model train" in status.detail


def test_the_shipped_policy_starts_in_warm_up_on_a_fresh_clone(tmp_path: Path) -> None:
    """The shipped policy names models/artifacts/behavior.skops, which git does not hold."""
    shipped = load_policy(DEFAULT_POLICY).behavior_anomaly.model_path
    assert shipped is not None
    if shipped.exists():  # a model trained on this machine: point at where none is
        runtime = load_runtime(Settings(model_path=tmp_path / "none.skops"))
    else:
        runtime = load_runtime(Settings())
    assert runtime.model is None and runtime.behavior.state == "warmup"
    assert dict(runtime.describe())["model"] == runtime.behavior.detail


def test_a_model_file_is_loaded_and_scores(tmp_path: Path, model_copy: Path) -> None:
    model, path, status = _decide(_policy(tmp_path, model=model_copy))
    assert model is not None and path == model_copy and status.state == "scoring"
    assert str(model_copy) in status.detail


def test_the_environment_model_path_wins(tmp_path: Path, model_copy: Path) -> None:
    model, path, status = _decide(_policy(tmp_path, model=tmp_path / "no.skops"), model_copy)
    assert model is not None
    assert status.state == "scoring" and path == model_copy


def test_a_model_file_that_fails_its_checks_stops_start_up(
    tmp_path: Path, model_copy: Path
) -> None:
    model_copy.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"^cannot start: behavior_anomaly is enabled in .*"):
        _decide(_policy(tmp_path, model=model_copy))


def _gauge(state: str) -> float | None:
    return REGISTRY.get_sample_value("frtwatch_model_state", {"state": state})


def test_the_state_is_in_the_metrics_and_the_status_endpoint() -> None:
    try:
        observability.publish_behavior(BehaviorStatus("warmup", "none yet"))
        assert [_gauge(s) for s in ("warmup", "scoring", "disabled")] == [1.0, 0.0, 0.0]
        assert observability.HEALTH.status["behavior"] == {"state": "warmup", "detail": "none yet"}
        observability.publish_behavior(BehaviorStatus("scoring", "m.skops"))
        assert [_gauge(s) for s in ("warmup", "scoring", "disabled")] == [0.0, 1.0, 0.0]
    finally:
        observability.HEALTH.status.pop("behavior", None)


def _judge_all(events: list[SearchEvent], model_path: Path | None) -> list[dict[str, object]]:
    policy = load_policy(DEFAULT_POLICY)
    hours = policy.local_hours()
    model = load_model(model_path, hours) if model_path is not None else None
    judge = Judge(Engine(policy, CertificateRegistry()), model)
    states = ObjectStates()
    ordered = sorted(events, key=lambda e: (e.ts, e.event_id))
    published: list[dict[str, object]] = []
    for start in range(0, len(ordered), 500):
        items = [BatchItem(e, None) for e in ordered[start : start + 500]]
        published += [a.to_dict() for a in judge.run(items, states).alerts]
    return published


def test_without_a_model_the_rule_alerts_are_the_same_and_no_behaviour_alert(
    world: World, trained_model: Path
) -> None:
    # Some prohibited searches too; the empty registry makes every user uncertified.
    sample = world.events[::7][:3000]
    events = sample + [
        dataclasses.replace(e, event_id=f"{e.event_id}-cv", host="app.clearview.ai")
        for e in sample[::50]
    ]
    warm = _judge_all(events, None)
    scoring = _judge_all(events, trained_model)
    assert not [a for a in warm if a["detector"] == "behavior_anomaly"]
    assert [a for a in scoring if a["detector"] == "behavior_anomaly"], "the model flags some"
    rules = [a for a in scoring if a["detector"] != "behavior_anomaly"]
    assert {a["detector"] for a in rules} >= {"prohibited_endpoint", "uncertified_user"}
    assert warm == rules
