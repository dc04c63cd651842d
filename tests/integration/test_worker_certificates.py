"""Certificates: the CSV, the compacted topic at start-up, and live updates without a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    dumps,
    latest_alerts,
    produce,
    read_topic,
    search,
    wait_drained,
)

CERT = {"certified_on": "2025-06-01", "expires_on": "2027-05-31"}


def uncertified_users(alerts: dict[str, dict[str, Any]]) -> set[str]:
    return {
        f"{a['agency']}/{a['user']}" for a in alerts.values() if a["detector"] == "uncertified_user"
    }


def test_certificate_updates_apply_without_a_restart(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
    create_topics: Any,
) -> None:
    # On the topic before the worker starts: a certificate for a user the CSV
    # does not know, and a revocation of one it does.
    create_topics([topic_names.certifications], partitions=4, compact=True)
    produce(kafka_bootstrap, topic_names.certifications, [
        (b"CSO/cso-0050", orjson.dumps(CERT)),
        (b"TPD/tpd-0001", None),
    ])  # fmt: skip
    worker = worker_factory(rules_policy)
    assert "2 certificate update(s) applied" in worker.output()

    first = [
        search("cso-0050", "CSO", 1),  # certified by the topic
        search("tpd-0001", "TPD", 1),  # revoked by the topic
        search("mpd-0001", "MPD", 1),  # certified by the CSV
        search("mpd-0077", "MPD", 1),  # nowhere
    ]
    produce(kafka_bootstrap, topic_names.events, [(None, dumps(e)) for e in first])
    wait_drained(worker, kafka_bootstrap, len(first))
    alerts = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    assert uncertified_users(alerts) == {"TPD/tpd-0001", "MPD/mpd-0077"}

    # Live: revoke mpd-0001, certify mpd-0077; later events are judged by that.
    produce(kafka_bootstrap, topic_names.certifications, [
        (b"MPD/mpd-0001", None),
        (b"MPD/mpd-0077", orjson.dumps(CERT)),
        (b"junk-without-slash", b"{}"),
    ])  # fmt: skip
    second = [search("mpd-0001", "MPD", 40), search("mpd-0077", "MPD", 40)]
    produce(kafka_bootstrap, topic_names.events, [(None, dumps(e)) for e in second])
    wait_drained(worker, kafka_bootstrap, len(first) + len(second))
    alerts = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    late = {
        f"{a['agency']}/{a['user']}"
        for a in alerts.values()
        if a["detector"] == "uncertified_user" and a["last_seen"] == second[0]["ts"]
    }
    assert late == {"MPD/mpd-0001"}
    assert worker.alive()
    assert worker.stop() == 0


def test_a_slash_in_a_name_keeps_two_users_apart_in_the_worker(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
    create_topics: Any,
) -> None:
    """Agency "A/B" user "c" and agency "A" user "B/c" were one key, "A/B/c": one state and
    one certificate. The certificate now names one of them only (its key escaped), and each
    has a state of its own in the worker's changelog."""
    from streams.contract.keys import user_key

    create_topics([topic_names.certifications], partitions=4, compact=True)
    produce(kafka_bootstrap, topic_names.certifications,
            [(user_key("A/B", "c").encode(), orjson.dumps(CERT))])  # fmt: skip
    worker = worker_factory(rules_policy)
    events = [search("c", "A/B", n) for n in (1, 2, 3)] + [search("B/c", "A", n) for n in (4, 5)]
    produce(kafka_bootstrap, topic_names.events,
            [(user_key(e["agency"], e["user"]).encode(), dumps(e)) for e in events])  # fmt: skip
    wait_drained(worker, kafka_bootstrap, len(events))

    alerts = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    flagged = [a for a in alerts.values() if a["detector"] == "uncertified_user"]
    assert {(a["agency"], a["user"]) for a in flagged} == {("A", "B/c")}
    assert {i for a in flagged for i in a["event_ids"]} == {e["event_id"] for e in events[3:]}
    # Changelog keys are JSON strings of the escaped keys (what a restart rebuilds from).
    changelog = read_topic(kafka_bootstrap, f"{worker.app_id}-user-state-changelog")
    assert {orjson.loads(r.key) for r in changelog} == {"A%2FB/c", "A/B%2Fc"}
    agencies = read_topic(kafka_bootstrap, f"{worker.app_id}-agency-state-changelog")
    assert {orjson.loads(r.key) for r in agencies} == {"A%2FB", "A"}
    assert worker.stop() == 0
