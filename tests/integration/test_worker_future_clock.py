"""One event dated 2099 changes nothing: live, in a replay of the topic, and against no such event.

A user's first message claims to be from 2099; then the same user runs 60 searches in
40 minutes. The record timestamps are the shipper's send times (the searches' own
times; the 2099 event was sent a minute before the burst). The event-time bound
(``FRTWATCH_MAX_CLOCK_SKEW``, :mod:`streams.contract.event_time`) must keep the 2099
event from moving the user's clock: the live worker dead-letters it with its reason,
``frtwatch replay`` of the topic skips and counts it, and both raise exactly the alerts
(burst included, same ids, same counts) that the burst alone raises. A replay of the
topic without the bound is the control: there the 2099 event is judged and no burst fires.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import orjson

from streams.contract.event import parse_timestamp
from streams.replay.alert_store import read_alert_records
from streams.replay.sources import AHEAD_OF_RECORD
from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    ENDPOINT,
    FRTWATCH,
    dumps,
    frtwatch,
    latest_alerts,
    read_topic,
    wait_drained,
)

AGENCY = "FUT"
USER = "fut-0042"
BURST_START = parse_timestamp("2026-03-02T14:00:00Z")
FUTURE_TS = "2099-01-01T00:00:00Z"


def _rfc3339(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _search(event_id: str, ts: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "ts": ts,
        "agency": AGENCY,
        "user": USER,
        "endpoint": ENDPOINT,
        "case_number": f"{AGENCY}-2026-000001",
        "purpose": "investigation",
        "source": "audit-log",
    }


def burst() -> list[dict[str, Any]]:
    """60 searches 40 s apart: 14:00:00 to 14:39:20."""
    return [_search(f"burst-{i:02d}", _rfc3339(BURST_START + 40 * i)) for i in range(60)]


def future_event() -> dict[str, Any]:
    return _search("from-2099", FUTURE_TS)


def _produce_as_shipper(bootstrap: str, topic: str, events: list[dict[str, Any]], ms: list[int]):
    """One partition, in this order, each record stamped with its send time ``ms``."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        futures = [
            producer.send(topic, key=f"{AGENCY}/{USER}".encode(), value=dumps(event),
                          partition=0, timestamp_ms=stamp)
            for event, stamp in zip(events, ms, strict=True)
        ]  # fmt: skip
        producer.flush(30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(10)


def _summary(alerts: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        alert_id: (a["detector"], a["event_count"], a["first_seen"], tuple(a["event_ids"]))
        for alert_id, a in alerts.items()
    }


def test_an_event_dated_2099_neither_blinds_the_burst_live_nor_in_replay(
    worker_factory: WorkerFactory,
    rules_policy: Path,
    kafka_bootstrap: str,
    topic_names: TopicNames,
    tmp_path: Path,
) -> None:
    searches = burst()
    events = [future_event(), *searches]
    stamps = [int((BURST_START - 60) * 1000)] + [
        int(parse_timestamp(e["ts"]) * 1000) for e in searches
    ]

    worker = worker_factory(rules_policy)  # creates the topics
    _produce_as_shipper(kafka_bootstrap, topic_names.events, events, stamps)
    wait_drained(worker, kafka_bootstrap, expected_input=len(events), timeout=120)

    # Live: the 2099 event is a dead letter, its original bytes and the reason kept.
    letters = read_topic(kafka_bootstrap, topic_names.dlq, until=lambda r: len(r) >= 1)
    assert len(letters) == 1
    letter = letters[0]
    assert letter.value == dumps(future_event())
    headers = dict(letter.headers)
    assert headers["frt-dlq-source-partition"] == b"0"
    assert headers["frt-dlq-source-offset"] == b"0"
    reason = headers["frt-dlq-reason"].decode()
    assert reason.startswith(f"event time {FUTURE_TS} is ")
    assert "ahead of its Kafka record timestamp 2026-03-02T13:59:00Z" in reason
    assert "FRTWATCH_MAX_CLOCK_SKEW" in reason

    # Every input and internal record is committed, so every alert is on the topic.
    live = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    bursts = [a for a in live.values() if a["detector"] == "burst"]
    assert len(bursts) == 1, bursts
    (fired,) = bursts
    assert (fired["agency"], fired["user"]) == (AGENCY, USER)
    assert fired["details"]["young_watch"] is True and fired["details"]["window_count"] >= 45
    assert set(fired["event_ids"]) <= {e["event_id"] for e in searches}
    assert "from-2099" not in {i for a in live.values() for i in a["event_ids"]}

    # The same topic, replayed from the burst's day to its end: the 2099 event is in the
    # range, and is skipped by the bound and counted, not judged.
    out = tmp_path / "replay-topic"
    replay_topic = (
        "replay", "--topic", topic_names.events, "--bootstrap", kafka_bootstrap,
        "--from", "2026-03-02", "--policy", str(rules_policy), "--no-model",
        "--no-certifications-topic", "--no-report", "--quiet",
    )  # fmt: skip
    frtwatch(*replay_topic, "--out", str(out))
    manifest = orjson.loads((out / "run.json").read_bytes())
    assert manifest["read"]["invalid_messages"] == 1
    assert manifest["read"]["invalid_reasons"] == {AHEAD_OF_RECORD: 1}
    assert manifest["read"]["events_in_range"] == len(searches)
    assert manifest["processed"]["events"] == len(searches)
    replayed = {a["alert_id"]: a for a in read_alert_records(out)}

    # The burst alone (no 2099 event at all), replayed from a file.
    clean = tmp_path / "burst-only.jsonl"
    clean.write_bytes(b"".join(dumps(e) + b"\n" for e in searches))
    out_clean = tmp_path / "replay-clean"
    frtwatch(
        "replay", "--from-file", str(clean), "--policy", str(rules_policy), "--no-model",
        "--out", str(out_clean), "--no-report", "--quiet",
    )  # fmt: skip
    alone = {a["alert_id"]: a for a in read_alert_records(out_clean)}

    assert fired["alert_id"] in alone
    assert _summary(live) == _summary(replayed) == _summary(alone)

    # The control: without the bound, the 2099 event is judged and blinds the burst.
    unbounded = tmp_path / "replay-unbounded"
    env = {**os.environ, "FRTWATCH_MAX_CLOCK_SKEW": "1e12"}
    done = subprocess.run(
        [str(FRTWATCH), *replay_topic, "--out", str(unbounded)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    blinded = read_alert_records(unbounded)
    assert "from-2099" in {i for a in blinded for i in a["event_ids"]}
    assert not [a for a in blinded if a["detector"] == "burst"]
