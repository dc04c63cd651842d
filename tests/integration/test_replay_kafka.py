"""Replay from the real broker: time seeks on every partition, truth, bulk-loaded topics, publish.

A small simulated world (``streams.simulate``) goes to a fresh 4-partition
topic. Replays read it back without a consumer group and are checked against
the events in the file (exact counts), the simulator's ground truth, and a
replay of the same file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaProducer

from streams.contract.event import parse_timestamp
from streams.producing import produce_file
from streams.replay import ReplayOptions, TimeRange, run_replay
from streams.replay.alert_store import read_alert_records
from streams.settings import DEFAULT_POLICY, TopicNames
from streams.simulate import SimulationConfig, simulate
from tests.integration.worker_harness import latest_alerts, read_topic

RULE_DETECTORS = {
    "prohibited_endpoint", "unknown_endpoint", "outside_agency",
    "uncertified_user", "missing_case_number", "burst",
}  # fmt: skip
RANGE = ("2026-03-07", "2026-03-11")  # four days in the second half, where incidents are


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    simulate(SimulationConfig(users=120, days=10, seed=11, start=date(2026, 3, 2)), out)
    return out


def _lines(world: Path) -> list[bytes]:
    return (world / "events.jsonl").read_bytes().splitlines()


def produce_with_event_times(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    """Like a live shipper: each message's timestamp is its search's time, key agency/user."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50,
                             batch_size=512 * 1024, metrics_enabled=False)  # fmt: skip
    try:
        for line in lines:
            event = orjson.loads(line)
            producer.send(
                topic,
                value=line,
                key=f"{event['agency']}/{event['user']}".encode(),
                timestamp_ms=int(parse_timestamp(event["ts"]) * 1000),
            )
        producer.flush(60)
    finally:
        producer.close(10)


def _options(world: Path, out: Path, **changes: Any) -> ReplayOptions:
    options = ReplayOptions(
        out_dir=out,
        time_range=TimeRange.parse(*RANGE),
        policy_path=DEFAULT_POLICY,
        certifications=world / "certifications.csv",
        progress=False,
        report=False,
    )
    for name, value in changes.items():
        setattr(options, name, value)
    return options


def _in_range(world: Path, time_range: TimeRange) -> int:
    return sum(
        1
        for line in _lines(world)
        if time_range.contains(parse_timestamp(orjson.loads(line)["ts"]))
    )


def _groups_with_offsets_for(admin: KafkaAdminClient, topic: str) -> list[str]:
    """Consumer groups (of all on the broker) that hold committed offsets on ``topic``."""
    group_ids = [g["group_id"] for g in admin.list_groups()]
    offsets = admin.list_group_offsets(group_ids) if group_ids else {}
    return sorted(g for g, tps in offsets.items() if any(tp.topic == topic for tp in tps))


def test_time_range_read_from_every_partition_matches_the_file(
    kafka_bootstrap: str,
    kafka_admin: KafkaAdminClient,
    topic_names: TopicNames,
    create_topics: Callable[..., None],
    world: Path,
    tmp_path: Path,
) -> None:
    create_topics([topic_names.events], partitions=4)
    produce_with_event_times(kafka_bootstrap, topic_names.events, _lines(world))

    result = run_replay(
        _options(world, tmp_path / "kafka", topic=topic_names.events, bootstrap=kafka_bootstrap)
    )
    manifest = result.manifest
    partitions = manifest["source"]["partitions"]
    assert sorted(partitions) == ["0", "1", "2", "3"]
    assert {p["method"] for p in partitions.values()} == {"time"}
    # The seek skipped the first days on every partition instead of reading them.
    assert all(p["start"] > 0 for p in partitions.values())
    expected = _in_range(world, TimeRange.parse(*RANGE))
    assert manifest["read"]["events_in_range"] == expected
    assert manifest["processed"]["events"] == expected
    assert manifest["read"]["messages"] < len(_lines(world))
    assert manifest["status"] == "complete" and manifest["warnings"] == [
        "no behaviour model given (--model) and no version on the models topic: "
        "behavior_anomaly was not scored"
    ]
    assert _groups_with_offsets_for(kafka_admin, topic_names.events) == []

    # The same range replayed from the file gives the same alerts.
    run_replay(_options(world, tmp_path / "file", from_file=world / "events.jsonl"))
    # Record for record (counts, status, evidence, wording), not only ids and counts.
    from_kafka = {a["alert_id"]: a for a in read_alert_records(tmp_path / "kafka")}
    from_file = {a["alert_id"]: a for a in read_alert_records(tmp_path / "file")}
    assert from_kafka == from_file
    # One alert per user (per agency for the endpoint detectors), detector and subject
    # while it lasts: 8 in this range.
    assert len(from_kafka) >= 8
    assert {a["status"] for a in from_kafka.values()} == {"open", "closed"}


def test_a_bulk_loaded_topic_is_scanned_and_alerts_match_the_truth(
    kafka_bootstrap: str,
    kafka_admin: KafkaAdminClient,
    topic_names: TopicNames,
    create_topics: Callable[..., None],
    world: Path,
    tmp_path: Path,
) -> None:
    # frtwatch produce / simulate --produce: message times are when it ran, not event times.
    create_topics([topic_names.events, topic_names.alerts], partitions=4)
    produce_file(world / "events.jsonl", topic_names.events, kafka_bootstrap, "agency-user")
    truth = orjson.loads((world / "truth.json").read_bytes())

    result = run_replay(
        _options(
            world,
            tmp_path / "run",
            time_range=TimeRange.parse(truth["start"], truth["end"]),
            topic=topic_names.events,
            bootstrap=kafka_bootstrap,
            publish_topic=topic_names.alerts,
            report=True,
        )
    )
    manifest = result.manifest
    assert {p["method"] for p in manifest["source"]["partitions"].values()} == {"scan"}
    assert any("were read whole" in w for w in manifest["warnings"])
    assert manifest["processed"]["events"] == truth["event_count"]

    alerts = read_alert_records(tmp_path / "run")
    missed = []
    for incident in truth["incidents"]:
        if incident["detector"] not in RULE_DETECTORS:
            continue
        evidence = set(incident["event_ids"])
        if not any(
            a["detector"] == incident["detector"]
            and a["agency"] == incident["agency"]
            and a["user"] in incident["users"]
            and evidence & set(a["event_ids"])
            for a in alerts
        ):
            missed.append(f"{incident['id']} {incident['detector']} {incident['kind']}")
    assert missed == []
    assert {i["detector"] for i in truth["incidents"]} >= RULE_DETECTORS
    noisy = [
        f"{d['id']} {a['detector']} {a['user']}"
        for d in truth["decoys"]
        for a in alerts
        if a["detector"] in d["must_not_fire"]
        and a["agency"] == d["agency"]
        and a["user"] in d["users"]
        and d["start"] <= a["first_seen"] <= d["end"]
    ]
    assert noisy == []

    # --publish: the alert topic holds exactly the run's alerts, keyed by alert_id.
    published = latest_alerts(
        read_topic(kafka_bootstrap, topic_names.alerts, until=lambda r: len(r) >= len(alerts))
    )
    assert set(published) == {a["alert_id"] for a in alerts}
    assert manifest["published"] == {"topic": topic_names.alerts, "alerts": len(alerts)}
    assert _groups_with_offsets_for(kafka_admin, topic_names.events) == []
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "Compliance rollup" in html and "data:image/png;base64," in html


def test_a_missing_topic_is_one_line_and_is_not_created(
    kafka_bootstrap: str,
    kafka_admin: KafkaAdminClient,
    topic_names: TopicNames,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from streams.cli import main

    code = main(["replay", "--topic", topic_names.events, "--bootstrap", kafka_bootstrap,
                 "--no-certifications-topic", "--out", str(tmp_path / "o"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"error: topic {topic_names.events!r} does not exist on {kafka_bootstrap}\n"
    assert topic_names.events not in kafka_admin.list_topics()
