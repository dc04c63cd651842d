"""Parity: replaying the range a live worker processed gives exactly its set of alert ids.

A simulated world is produced to a fresh 4-partition topic; a real
``frtwatch worker`` subprocess (its own app id, data directory and topics)
judges it and writes its alerts topic; then ``frtwatch replay`` reads the same
range from the same topic, with no consumer group, and must name exactly the
same alerts. Both use the same policy file and certificates (the CSV, plus the
certifications topic, empty here), once with the rule detectors only and once
with a behaviour model trained on the world.

The events are keyed by agency, so the worker meets each agency's events in
event-time order, the order the replay judges them in.

What this proves: the replay drives the same detection core with the same
inputs and settings as the worker (validation, dedupe, per-user and
per-agency state, folding, certificates, the model's batch scores folded
back into the user's state), so an alert id in a backtest or an annual
report is the id the SOC saw, and an id missing from one of them is a real
difference, not an artefact of the driver: micro-batches of a few hundred
events versus slices of 20,000 and model batches of 10,000, Faust tables of
serialised states versus plain dicts, a repartition topic versus a time merge
of the input partitions all give the same ids. It does not prove that every
arrival order gives the same ids: with user keys spread over partitions, a
worker's burst verdicts depend on the order colleagues' searches arrive in.
"""

from __future__ import annotations

import bisect
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.policy import load_policy
from streams.settings import TopicNames
from streams.simulate import SimulationConfig, simulate
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    latest_alerts,
    policy_with_model,
    policy_without_behavior,
    produce,
    read_topic,
    wait_drained,
)

FRTWATCH = Path(sys.executable).with_name("frtwatch")
RULES = {
    "prohibited_endpoint", "unknown_endpoint", "outside_agency",
    "uncertified_user", "missing_case_number", "burst",
}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parity-world")
    simulate(SimulationConfig(users=100, days=7, seed=5, start=date(2026, 3, 2)), out)
    return out


def _frtwatch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    return subprocess.run(
        [str(FRTWATCH), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def live_then_replay(
    world: Path,
    policy: Path,
    bootstrap: str,
    topics: TopicNames,
    worker_factory: WorkerFactory,
    out: Path,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """Alerts of the live worker (latest message per id) and of the replay of the same range,
    and the replay's manifest."""
    truth = orjson.loads((world / "truth.json").read_bytes())
    worker = worker_factory(policy)
    # Keyed by agency: each agency's events reach the worker in event-time order, as they
    # reach the replay's detectors. (With other keys the worker sees colleagues' searches
    # in the interleaving its partitions happen to arrive in, and burst verdicts, which
    # compare a user with the colleagues seen so far, can differ; see docs/REPLAY.md.)
    lines = (world / "events.jsonl").read_bytes().splitlines()
    produce(bootstrap, topics.events, [(orjson.loads(line)["agency"].encode(), line)
                                       for line in lines])  # fmt: skip
    wait_drained(worker, bootstrap, truth["event_count"], timeout=180)
    messages = read_topic(bootstrap, topics.alerts)
    live = latest_alerts(messages)
    assert worker.stop() == 0

    done = _frtwatch(
        "replay",
        "--topic", topics.events,
        "--from", truth["start"], "--to", truth["end"],
        "--bootstrap", bootstrap,
        "--policy", str(policy),
        "--certifications-topic", topics.certifications,
        "--out", str(out),
        "--quiet", "--no-report",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = orjson.loads((out / "run.json").read_bytes())
    assert manifest["processed"]["events"] == truth["event_count"]
    assert manifest["certifications"]["topic"]["found"] is True
    return live, _alerts(out), manifest


def _alerts(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        record["alert_id"]: record
        for record in map(orjson.loads, (run_dir / "alerts.jsonl").read_bytes().splitlines())
    }


def _differences(
    live: dict[str, dict[str, Any]], replayed: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str]]:
    only_live = sorted(f"{live[i]['detector']} {live[i]['user']}" for i in live.keys() - replayed)
    only_replay = sorted(
        f"{replayed[i]['detector']} {replayed[i]['user']}" for i in replayed.keys() - live
    )
    return only_live, only_replay


def test_rule_alerts_of_a_replay_are_exactly_the_live_workers(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    world: Path,
    tmp_path: Path,
) -> None:
    policy = policy_without_behavior(
        ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml", world / "certifications.csv"
    )
    live, replayed, _ = live_then_replay(
        world, policy, kafka_bootstrap, topic_names, worker_factory, tmp_path / "replay"
    )
    by_detector = Counter(a["detector"] for a in live.values())
    print(f"\nlive worker: {len(live)} alerts {dict(sorted(by_detector.items()))}")
    assert set(by_detector) == RULES  # every rule detector is exercised
    assert _differences(live, replayed) == ([], [])
    assert set(replayed) == set(live)

    # A later sub-range, with a warm-up from the world's start: the alerts the worker
    # emitted while judging that sub-range's events are exactly the sub-range replay's
    # alerts. An open version is made by its latest evidence (its last_seen); a closed
    # one by the agency's first event past last_seen + the session gap.
    truth = orjson.loads((world / "truth.json").read_bytes())
    start = datetime.fromisoformat(truth["start"])
    middle = (start + timedelta(days=5)).timestamp()  # the second half, where incidents are
    gap = load_policy(policy).session_gap_s
    clocks: dict[str, list[float]] = defaultdict(list)
    for line in (world / "events.jsonl").read_bytes().splitlines():
        event = orjson.loads(line)
        clocks[event["agency"]].append(datetime.fromisoformat(event["ts"]).timestamp())
    for times in clocks.values():
        times.sort()

    def made_at(alert: dict[str, Any]) -> float:
        last_seen = datetime.fromisoformat(alert["last_seen"]).timestamp()
        if alert.get("status") != "closed":
            return last_seen
        times = clocks[alert["agency"]]
        return times[bisect.bisect_right(times, last_seen + gap)]

    messages = read_topic(kafka_bootstrap, topic_names.alerts)
    emitted_later = {
        alert["alert_id"]
        for alert in map(orjson.loads, (m.value for m in messages))
        if made_at(alert) >= middle
    }
    middle_text = datetime.fromtimestamp(middle, tz=UTC).isoformat()
    done = _frtwatch(
        "replay", "--topic", topic_names.events,
        "--from", middle_text, "--to", truth["end"], "--warmup", "5d",
        "--bootstrap", kafka_bootstrap, "--policy", str(policy),
        "--certifications-topic", topic_names.certifications,
        "--out", str(tmp_path / "later"), "--quiet", "--no-report",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    later = _alerts(tmp_path / "later")
    assert 0 < len(later) < len(live)
    assert set(later) == emitted_later


def test_behaviour_alerts_of_a_replay_are_exactly_the_live_workers(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    world: Path,
    tmp_path: Path,
) -> None:
    model = tmp_path / "model" / "behavior.skops"
    trained = _frtwatch(
        "model", "train", "--from-file", str(world / "events.jsonl"),
        "--target-fp", "0.05", "--out", str(model),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    policy = policy_with_model(
        ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml", model,
        world / "certifications.csv",
    )  # fmt: skip
    live, replayed, manifest = live_then_replay(
        world, policy, kafka_bootstrap, topic_names, worker_factory, tmp_path / "replay"
    )
    by_detector = Counter(a["detector"] for a in live.values())
    print(f"\nlive worker: {len(live)} alerts {dict(sorted(by_detector.items()))}")
    assert by_detector["behavior_anomaly"] > 0
    assert manifest["processed"]["scored"] > 0
    assert manifest["model"]["path"] == str(model)
    assert _differences(live, replayed) == ([], [])
    assert set(replayed) == set(live)
