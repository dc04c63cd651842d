"""Batch boundaries decide nothing: a simulated world judged in batches of 1 to 10,000
events gives the same alerts, ids and final counts, behaviour alerts included, and
closes the same alerts with the same final counts (silent users' too)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from models.dataset import EventBatch, read_events_file
from models.scoring import BehaviorModel, load_model
from models.train import train_to_file
from streams.contract import SearchEvent
from streams.detectors import Engine
from streams.judge.batch import BatchItem, ByteStates, Judge, ObjectStates
from streams.policy import CertificateRegistry, load_certificates_csv, load_policy
from streams.settings import DEFAULT_POLICY
from streams.simulate import SimulationConfig, simulate
from tests.unit.detectors.factories import at, make_event
from tests.unit.judge.test_redelivery import _AlwaysAnomalous

DAY = 86_400.0


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[SearchEvent], BehaviorModel]:
    out = tmp_path_factory.mktemp("batch-world")
    simulate(SimulationConfig(users=90, days=12, seed=11, start=date(2026, 3, 2)), out)
    events = read_events_file(out / "events.jsonl").events
    events.sort(key=lambda e: e.ts)  # the watermark's order for an in-order topic
    first = events[0].ts
    model_path = out / "behavior.skops"
    baseline = [e for e in events if e.ts < first + 7 * DAY]
    train_to_file(EventBatch(baseline, rejected=0, source="baseline"), model_path, seed=7)
    model = load_model(model_path)
    # A threshold low enough that the model alerts often: the test is about batching.
    engine = Engine(load_policy(DEFAULT_POLICY), load_certificates_csv(out / "certifications.csv"))
    scores = Judge(engine, model).run([BatchItem(e, None) for e in events], ObjectStates()).scores
    model.threshold = sorted(scores)[int(len(scores) * 0.97)]
    return out, events, model


def _alerts(world: tuple[Path, list[SearchEvent], BehaviorModel], size: int, byte_states: bool):
    out, events, model = world
    policy = load_policy(DEFAULT_POLICY)
    judge = Judge(Engine(policy, load_certificates_csv(out / "certifications.csv")), model)
    states = ByteStates({}, {}) if byte_states else ObjectStates()
    published: list[tuple[str, str, int, float, float, str]] = []
    for start in range(0, len(events), size):
        items = [BatchItem(e, None) for e in events[start : start + size]]
        result = judge.run(items, states)
        assert not result.failures
        published += [(a.alert_id, a.detector, a.event_count, a.first_seen, a.last_seen,
                       a.status) for a in result.alerts]  # fmt: skip
    return sorted(published)  # every version published; the order within a batch may differ


@pytest.fixture(scope="module")
def one_at_a_time(world) -> list[tuple[str, str, int, float, float, str]]:
    return _alerts(world, 1, byte_states=False)


@pytest.mark.parametrize("size", [7, 500, 2_000, 10_000])
def test_every_batch_size_gives_the_alerts_of_one_event_at_a_time(
    world, one_at_a_time, size: int
) -> None:
    detectors = {detector for _, detector, *_ in one_at_a_time}
    assert {"behavior_anomaly", "burst", "prohibited_endpoint"} <= detectors
    closed = {detector for _, detector, *_, status in one_at_a_time if status == "closed"}
    assert {"behavior_anomaly", "prohibited_endpoint", "uncertified_user"} <= closed
    assert _alerts(world, size, byte_states=False) == one_at_a_time


def test_the_workers_byte_tables_judge_like_replays_objects(world) -> None:
    assert _alerts(world, 500, byte_states=True) == _alerts(world, 500, byte_states=False)


def test_many_open_alerts_close_alike_in_any_batch_size() -> None:
    """A user with more open rule alerts than the cap, and behaviour scores all the while:
    which alert is closed to make room must not depend on when the batch's scores are
    applied (behaviour and rule alerts are capped apart)."""
    events = [
        make_event(at(0, 8) + i * 120.0, user="mpd-0001",
                   endpoint=f"https://frt-{i % 20}.vendor-{i % 20}.example/")
        for i in range(120)
    ]  # fmt: skip

    def alerts(batch: int) -> list[tuple[str, int, float, float, str]]:
        """Every version published, in any order (a closed alert reopened would publish
        its count from 1 again)."""
        engine = Engine(load_policy(DEFAULT_POLICY), CertificateRegistry())
        judge = Judge(engine, _AlwaysAnomalous())  # type: ignore[arg-type]
        states = ObjectStates()
        published = []
        for start in range(0, len(events), batch):
            items = [BatchItem(e, None) for e in events[start : start + batch]]
            published += [(a.alert_id, a.event_count, a.first_seen, a.last_seen, a.status)
                          for a in judge.run(items, states).alerts]  # fmt: skip
        return sorted(published)

    one_at_a_time = alerts(1)
    assert len({alert_id for alert_id, *_ in one_at_a_time}) > 20
    for size in (7, 40, 120):
        assert alerts(size) == one_at_a_time
