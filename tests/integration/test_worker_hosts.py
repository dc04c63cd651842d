"""Endpoint hosts through a real worker: disguised prohibited hosts raise critical alerts,
and an endpoint without a host is judged (unknown_endpoint), not only dead-lettered."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import dumps, latest_alerts, produce, read_topic, search

pytestmark = pytest.mark.integration

DISGUISED = {
    "mpd-0001": "https://clearview%2eai/search",
    "mpd-0002": "https://clearview.ai\\@frt.county.example.gov/",
    "mpd-0003": "https:/clearview.ai/x",
    "mpd-0004": "https://\uff43learview.ai/",
}
UNPARSEABLE = "clearview.ai:443:1"


def test_hosts_are_judged_as_a_browser_reads_them(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    per_user_policy: Path,
) -> None:
    worker = worker_factory(per_user_policy)  # an alert per disguise, to check each one
    events = [search(user, "MPD", 1, endpoint=endpoint) for user, endpoint in DISGUISED.items()]
    events.append(search("mpd-0005", "MPD", 1, endpoint=UNPARSEABLE))
    produce(kafka_bootstrap, topic_names.events, [(None, dumps(e)) for e in events])

    def endpoint_alerts(records: list) -> dict[str, dict]:
        return {
            a["user"]: a
            for a in latest_alerts(records).values()
            if a["detector"] in ("prohibited_endpoint", "unknown_endpoint")
        }

    records = read_topic(
        kafka_bootstrap,
        topic_names.alerts,
        until=lambda r: len(endpoint_alerts(r)) >= len(events),
        timeout=90,
    )
    alerts = endpoint_alerts(records)
    for user, endpoint in DISGUISED.items():
        alert = alerts[user]
        assert alert["detector"] == "prohibited_endpoint" and alert["severity"] == "critical"
        assert alert["details"]["host"] == "clearview.ai"
        assert alert["details"]["endpoint"] == endpoint
    unknown = alerts["mpd-0005"]
    assert unknown["detector"] == "unknown_endpoint"
    assert unknown["details"]["host"] == UNPARSEABLE == unknown["details"]["endpoint"]
    assert read_topic(kafka_bootstrap, topic_names.dlq) == []  # nothing was only dead-lettered
    assert worker.alive()
    assert worker.stop() == 0
