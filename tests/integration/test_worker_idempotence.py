"""Redelivered events change nothing, and the producer's key does not change the alerts."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from streams.settings import TopicNames
from streams.worker.tables import USER_TABLE
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    dumps,
    latest_alerts,
    latest_by_key,
    produce,
    read_topic,
    search,
    wait_drained,
)

DAY1 = "2026-03-02"
DAY2 = "2026-03-03"


def at(day: str, hour: int, minute: int) -> str:
    return f"{day}T{hour:02d}:{minute:02d}:00Z"


def mixed_world(seed: int = 11) -> list[dict[str, Any]]:
    """Normal traffic plus one incident of every rule detector and a burst.

    Certified users come from config/certifications.csv; ``upd-0009`` has no
    certificate; ``mpd-0001`` searches about once an hour on day 1 and then
    runs 25 searches in 45 minutes on day 2.
    """
    rng = random.Random(seed)
    users = [("MPD", "mpd-0001"), ("MPD", "mpd-0002"), ("CSO", "cso-0001"),
             ("TPD", "tpd-0001"), ("SPD", "spd-0001"), ("UPD", "upd-0001")]  # fmt: skip
    events: list[dict[str, Any]] = []

    def add(agency: str, user: str, ts: str, **fields: Any) -> None:
        event = search(user, agency, 0, ts=ts, **fields)
        event["event_id"] = f"{user}-{ts}-{uuid.uuid4().hex[:6]}"
        events.append(event)

    for agency, user in users:
        endpoint = "https://faces.state.example.gov/q" if agency == "SPD" else None
        for hour in range(8, 18):
            extra = {"endpoint": endpoint} if endpoint else {}
            add(agency, user, at(DAY1, hour, rng.randrange(60)), **extra)
    add("MPD", "mpd-0002", at(DAY1, 10, 5), endpoint="https://app.clearview.ai/search")
    add("MPD", "mpd-0002", at(DAY1, 10, 20), endpoint="https://app.clearview.ai/search")
    add("MPD", "mpd-0002", at(DAY1, 11, 30), endpoint="clearview.ai")
    add("TPD", "tpd-0001", at(DAY1, 13, 1), endpoint="https://faces.state.example.gov/q")
    add("TPD", "tpd-0001", at(DAY1, 13, 9), endpoint="https://faces.state.example.gov/q")
    add("CSO", "cso-0001", at(DAY1, 14, 2), on_behalf_of="SPD")
    for minute in (3, 17, 41):
        add("UPD", "upd-0009", at(DAY1, 15, minute))
    add("SPD", "spd-0001", at(DAY1, 16, 12), case_number=None, purpose="curiosity",
        endpoint="https://faces.state.example.gov/q")  # fmt: skip
    for i in range(25):
        add("MPD", "mpd-0001", at(DAY2, 14, i * 45 // 25))
    events.sort(key=lambda e: e["ts"])
    return events


def test_redelivered_duplicates_change_nothing(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
) -> None:
    worker = worker_factory(rules_policy)
    events = [search("mpd-0002", "MPD", n) for n in range(12)]
    # Four pieces of evidence: the engine emits an alert at 1, 2, 4, 8, ... events.
    events += [search("mpd-0002", "MPD", 20 + n, endpoint="https://app.clearview.ai/s")
               for n in range(4)]  # fmt: skip
    produce(kafka_bootstrap, topic_names.events, [(b"MPD/mpd-0002", dumps(e)) for e in events])
    wait_drained(worker, kafka_bootstrap, len(events))

    changelog = f"{worker.app_id}-{USER_TABLE}-changelog"
    before_state = read_topic(kafka_bootstrap, changelog)
    before_alerts = read_topic(kafka_bootstrap, topic_names.alerts)
    alerts = latest_alerts(before_alerts)
    assert [(a["detector"], a["event_count"]) for a in alerts.values()] == [
        ("prohibited_endpoint", 4)
    ]

    # Redeliver every event, with other keys (so from other input partitions).
    again = [(None if i % 2 else uuid.uuid4().hex.encode(), dumps(e)) for i, e in enumerate(events)]
    produce(kafka_bootstrap, topic_names.events, again)
    wait_drained(worker, kafka_bootstrap, 2 * len(events))

    after_state = read_topic(kafka_bootstrap, changelog)
    after_alerts = read_topic(kafka_bootstrap, topic_names.alerts)
    assert len(after_alerts) == len(before_alerts), "a duplicate produced an alert update"
    assert latest_by_key(after_state)[b'"MPD/mpd-0002"'].value == (
        latest_by_key(before_state)[b'"MPD/mpd-0002"'].value
    ), "a duplicate changed the user's state"
    assert worker.stop() == 0


def test_random_keys_give_the_same_alerts_as_agency_keys(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
) -> None:
    other = TopicNames(**{
        field: f"{getattr(topic_names, field)}.random-keys"
        for field in ("events", "dlq", "certifications", "alerts", "webhook_dlq", "triage")
    })  # fmt: skip
    by_agency = worker_factory(rules_policy)
    by_random = worker_factory(rules_policy, topics=other)
    events = mixed_world()
    produce(kafka_bootstrap, topic_names.events, [(e["agency"].encode(), dumps(e)) for e in events])
    produce(kafka_bootstrap, other.events, [(uuid.uuid4().bytes, dumps(e)) for e in events])
    wait_drained(by_agency, kafka_bootstrap, len(events))
    wait_drained(by_random, kafka_bootstrap, len(events))

    expected = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    got = latest_alerts(read_topic(kafka_bootstrap, other.alerts))
    detectors = Counter(a["detector"] for a in expected.values())
    print(f"\nalerts with agency keys: {len(expected)} {dict(sorted(detectors.items()))}")
    assert set(detectors) == {
        "prohibited_endpoint", "unknown_endpoint", "outside_agency",
        "uncertified_user", "missing_case_number", "burst",
    }  # fmt: skip
    assert set(got) == set(expected)
    assert {k: a["event_count"] for k, a in got.items()} == {
        k: a["event_count"] for k, a in expected.items()
    }
    assert by_agency.stop() == 0
    assert by_random.stop() == 0
