"""The worker's models-topic records: a version that passes every check joins the
timeline; a tampered one is refused and the versions in force stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from models.features import LocalHours
from models.version_record import encode
from models.versions import ACTIVE, ModelTimeline
from streams.contract.event import parse_timestamp
from streams.worker.model_feed import ModelRecords
from tests.unit.models.synthetic_world import make_world


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.dataset import EventBatch
    from models.train import train_to_file

    path = tmp_path_factory.mktemp("model") / "behavior.skops"
    world = make_world(seed=7, users=200)
    train_to_file(EventBatch(world.events, rejected=0, source="synthetic"), path, seed=7)
    return path


T1 = parse_timestamp("2026-03-09T01:00:00Z")
T2 = parse_timestamp("2026-03-16T01:00:00Z")


def _count(outcome: str) -> float:
    return REGISTRY.get_sample_value("frtwatch_model_versions_total", {"outcome": outcome}) or 0.0


def test_versions_load_tampered_ones_are_refused_and_tombstones_withdraw(
    trained_model: Path,
) -> None:
    timeline = ModelTimeline()
    changes: list[int] = []
    records = ModelRecords(timeline, LocalHours(), on_change=lambda t: changes.append(len(t)))
    records.apply(*encode(trained_model, role=ACTIVE, applies_from=T1, version="v1"))
    assert timeline.active_at(T1 + 1).version == "v1"

    refused = _count("refused")
    key, value = encode(trained_model, role=ACTIVE, applies_from=T2, version="v2")
    record = json.loads(value)
    record["card"]["artifact_sha256"] = "0" * 64  # the artifact no longer matches
    assert not records.apply(key, json.dumps(record).encode())
    assert _count("refused") == refused + 1
    assert records.rejected == 1
    assert timeline.active_at(T2 + 1).version == "v1"  # the previous version stays

    assert records.apply(b"v1", None)
    assert timeline.active_at(T2 + 1) is None
    assert changes == [1, 0]


def test_a_version_arriving_after_events_it_applies_to_is_counted_late(
    trained_model: Path,
) -> None:
    late = _count("late")
    records = ModelRecords(ModelTimeline(), LocalHours(), judged_until=lambda: T1 + 60)
    records.apply(*encode(trained_model, role=ACTIVE, applies_from=T1, version="v1"))
    assert _count("late") == late + 1
