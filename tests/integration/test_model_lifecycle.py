"""The behaviour model's life cycle on the real broker.

A worker started on a new topic with no model warms up (rule detectors only), its
trainer trains a first model from the topic once it holds enough history and
publishes it to the models topic, and the worker loads it without a restart and
flags behaviour with it. A tampered record on the models topic is refused and the
version in force stays; a second version published by hand takes over from its
event time. A replay of the whole range, reading the same models topic, uses each
version where it applies and equals the live run, model versions included.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kafka import KafkaProducer

from models.dataset import read_events_file
from streams.contract.event import parse_timestamp
from streams.settings import TopicNames
from streams.simulate import SimulationConfig, simulate
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import FRTWATCH, latest_alerts, read_topic, wait_drained

SPLIT = parse_timestamp("2026-03-10T02:00:00Z")  # the first cutoff is 03-10 00:00
SECOND = parse_timestamp("2026-03-13T00:00:00Z")  # the hand-published version's start


def _policy(tmp_path: Path, world: Path) -> Path:
    data = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text(encoding="utf-8"))
    behaviour = data["detectors"]["behavior_anomaly"]
    behaviour["model"] = str(tmp_path / "no-model-yet.skops")  # a fresh deployment
    behaviour["training"] = {"min_history": "7d", "min_users": 20, "lead": "1h"}
    data["certifications"]["csv"] = str(world / "certifications.csv")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _deployment(
    tmp_path: Path, bootstrap: str, topics: TopicNames
) -> tuple[Path, list[Any], Path, dict[str, str]]:
    """A simulated world (200 users, 14 days from 2026-03-02), its events in time order,
    a policy with no model file yet, and the environment of frtwatch commands on it."""
    world = tmp_path / "world"
    simulate(SimulationConfig(users=200, days=14, seed=11, start=date(2026, 3, 2)), world)
    events = sorted(read_events_file(world / "events.jsonl").events, key=lambda e: e.ts)
    policy = _policy(tmp_path, world)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(FRTWATCH_BOOTSTRAP=bootstrap, FRTWATCH_POLICY=str(policy),
               FRTWATCH_TOPIC_EVENTS=topics.events, FRTWATCH_TOPIC_MODELS=topics.models)  # fmt: skip
    return world, events, policy, env


def _produce(bootstrap: str, topic: str, events: list[Any]) -> None:
    """Send events keyed by agency and stamped with their event time, as shippers do."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        for event in events:
            producer.send(topic, key=event.agency.encode(), value=event.to_json(),
                          timestamp_ms=int(event.ts * 1000))  # fmt: skip
        producer.flush(60)
    finally:
        producer.close(10)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(FRTWATCH), *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, f"frtwatch {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _wait_for(predicate: Any, what: str, worker: Any, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s:\n{worker.output()[-6000:]}")


def _versions(env: dict[str, str]) -> list[dict[str, Any]]:
    return json.loads(_cli(env, "model", "versions", "--json"))


def _tampered(value: bytes) -> bytes:
    record = json.loads(value)
    data = bytearray(zlib.decompress(base64.b64decode(record["artifact"]["data"])))
    data[len(data) // 2] ^= 0x01
    record["artifact"]["data"] = base64.b64encode(zlib.compress(bytes(data))).decode()
    record["version"] = record["card"]["model_version"] = "tampered"
    record["applies_from"] = "2026-03-11T00:00:00Z"
    return json.dumps(record).encode()


@pytest.mark.timeout(900)
def test_a_worker_trains_its_own_model_and_replay_uses_each_version_where_it_applies(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    world, events, policy, env = _deployment(tmp_path, kafka_bootstrap, topic_names)

    worker = worker_factory(
        policy, extra_env={"FRTWATCH_TRAINER": "on", "FRTWATCH_TRAINER_EVERY": "1"}
    )
    assert "warming up" in worker.output()
    first = [e for e in events if e.ts < SPLIT]
    _produce(kafka_bootstrap, topic_names.events, first)
    wait_drained(worker, kafka_bootstrap, len(first))

    # The trainer publishes a first version; the worker loads it without a restart.
    _wait_for(lambda: "models topic: version" in worker.output(),
              "the worker loaded no trained version", worker)  # fmt: skip
    (trained,) = _versions(env)
    assert trained["role"] == "active" and trained["loads"]
    assert trained["cutoff"] == "2026-03-10T00:00:00Z"
    assert parse_timestamp(trained["applies_from"]) > first[-1].ts  # ahead of the stream

    # A tampered record is refused by the worker; the trained version stays in force.
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all",
                             max_request_size=64 * 1024 * 1024)  # fmt: skip
    key, value = trained["version"].encode(), None
    for record in read_topic(kafka_bootstrap, topic_names.models):
        if record.key == key:
            value = record.value
    assert value is not None
    producer.send(topic_names.models, key=b"tampered", value=_tampered(value)).get(30)
    producer.close(10)
    _wait_for(lambda: "version tampered refused" in worker.output(),
              "the worker did not refuse the tampered version", worker)  # fmt: skip

    # A second version, trained by hand with a low bar, takes over from SECOND.
    loud = tmp_path / "loud" / "behavior.skops"
    _cli(env, "model", "train", "--from-file", str(world / "events.jsonl"), "--to",
         "2026-03-10", "--target-fp", "0.3", "--seed", "3", "--out", str(loud))  # fmt: skip
    _cli(env, "model", "publish", "--model", str(loud), "--applies-from",
         "2026-03-13T00:00:00Z", "--version", "loud")  # fmt: skip
    _wait_for(lambda: "models topic: version loud" in worker.output(),
              "the worker did not load the second version", worker)  # fmt: skip

    rest = [e for e in events if e.ts >= SPLIT]
    _produce(kafka_bootstrap, topic_names.events, rest)
    wait_drained(worker, kafka_bootstrap, len(events))
    live = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    assert worker.stop() == 0

    behaviour = [a for a in live.values() if a["detector"] == "behavior_anomaly"]
    named = {v for a in behaviour for v in a["details"]["model_versions"]}
    assert named == {trained["version"], "loud"}, named
    start = parse_timestamp(trained["applies_from"])
    for alert in behaviour:
        versions = alert["details"]["model_versions"]
        assert alert["details"]["model_version"] == versions[-1]  # its latest score's
        first_scored_by = versions[0]
        scored_from = SECOND if first_scored_by == "loud" else start
        assert parse_timestamp(alert["first_seen"]) >= scored_from, alert
    # Alerts the trained version opened before the second one took over.
    assert [a for a in behaviour if a["details"]["model_versions"][0] == trained["version"]]

    out = tmp_path / "replay"
    _cli(env, "replay", "--out", str(out), "--quiet", "--no-report",
         "--certifications", str(world / "certifications.csv"),
         "--no-certifications-topic", "--no-exceptions-topic")  # fmt: skip
    replayed = {
        r["alert_id"]: r
        for r in map(orjson.loads, (out / "alerts.jsonl").read_bytes().splitlines())
    }

    def view(alerts: dict[str, Any]) -> dict[str, Any]:
        return {i: (a["event_ids"], a["details"].get("model_versions")) for i, a in alerts.items()}

    assert view(replayed) == view(live)
    manifest = orjson.loads((out / "run.json").read_bytes())
    versions = manifest["model_versions"]
    assert [v["version"] for v in versions["versions"]] == [trained["version"], "loud"]
    assert "tampered" in versions["refused"]


def test_the_trainer_retrains_on_schedule_shadows_and_promotes_within_limits(
    kafka_bootstrap: str, topic_names: TopicNames, create_topics: Any, tmp_path: Path
) -> None:
    """The trainer alone, one step at a time (``frtwatch model trainer --once``): the first
    model, a retrained version in its shadow period, its promotion by comparison."""
    world, events, policy, env = _deployment(tmp_path, kafka_bootstrap, topic_names)
    data = yaml.safe_load(policy.read_text(encoding="utf-8"))
    data["detectors"]["behavior_anomaly"]["training"].update(retrain_every="3d", shadow="1d")
    policy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    create_topics([topic_names.events], partitions=4)
    sent = 0

    def produce_until(text: str) -> None:
        nonlocal sent
        until = parse_timestamp(text)
        batch = [e for e in events[sent:] if e.ts < until]
        _produce(kafka_bootstrap, topic_names.events, batch)
        sent += len(batch)

    def step() -> str:
        return _cli(env, "model", "trainer", "--once").strip()

    produce_until("2026-03-05T00:00:00Z")
    assert step().startswith("waiting: 7 days of history before the first model")
    produce_until("2026-03-10T02:00:00Z")
    said = step()
    assert said.startswith("published version 2026-03-10-") and "(active," in said, said
    assert step().startswith("waiting: next version at cutoff 2026-03-13T00:00:00Z")

    produce_until("2026-03-13T08:00:00Z")
    said = step()
    assert "(shadow, applies from 2026-03-13T0" in said, said
    first, shadow = _versions(env)
    assert (first["role"], shadow["role"]) == ("active", "shadow")
    assert shadow["cutoff"] == "2026-03-13T00:00:00Z"
    assert step().startswith(f"waiting: version {shadow['version']} in its shadow period")

    produce_until("2026-03-14T14:00:00Z")
    said = step()
    assert said.startswith(f"version {shadow['version']} is now active from 2026-03-14T"), said
    assert "promoted: within limits" in said
    promoted = {v["version"]: v for v in _versions(env)}[shadow["version"]]
    assert promoted["role"] == "active" and promoted["loads"]
    shadowed_until = parse_timestamp(shadow["applies_from"]) + 86400
    assert parse_timestamp(promoted["applies_from"]) > shadowed_until

    # A replay scores with the first version until the promotion, the second after it;
    # the shadow period raised nothing.
    produce_until("2026-03-17T00:00:00Z")
    out = tmp_path / "replay"
    _cli(env, "replay", "--out", str(out), "--quiet", "--no-report",
         "--certifications", str(world / "certifications.csv"),
         "--no-certifications-topic", "--no-exceptions-topic")  # fmt: skip
    behaviour = [
        r for r in map(orjson.loads, (out / "alerts.jsonl").read_bytes().splitlines())
        if r["detector"] == "behavior_anomaly"
    ]  # fmt: skip
    assert behaviour
    switch = parse_timestamp(promoted["applies_from"])
    for alert in behaviour:
        if shadow["version"] in alert["details"]["model_versions"]:
            assert parse_timestamp(alert["last_seen"]) >= switch, alert
