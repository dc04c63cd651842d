"""The ingest stage's event-time merge, on the real broker, against producers' skew.

A producer writes its batches for different partitions one after another, and
not always in event-time order: in a bulk load of old events, the batch
holding the earliest events can reach the broker a few hundred milliseconds
after a batch of later ones on another partition (seen in CI with
``frtwatch produce --key null``: the earliest 2,072 events, 1.3 days of event
time, sent on after events up to 4.3 days later; late events are not counted in
rates, and burst alerts fire on users without incidents).
The partition of the earliest events is caught up, with nothing on the broker,
when the later ones arrive; the merge must still wait for it, briefly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    dumps,
    events_behind,
    produce,
    search,
    wait_drained,
)

SKEW_S = 0.3
"""How much later the earlier batch reaches the broker (the merge waits up to 1 s)."""


def test_an_earlier_batch_reaching_the_broker_later_is_merged_in_order(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
    create_topics: Callable[..., None],
) -> None:
    create_topics([topic_names.events], partitions=2)
    app_id = f"frtwatch-merge-{uuid.uuid4().hex[:8]}"
    worker = worker_factory(rules_policy, app_id=app_id)
    # Two days of one agency's searches, ten minutes apart, by five users.
    lines = []
    for n in range(288):
        day, minute = divmod(n * 10, 24 * 60)
        ts = f"2026-03-{2 + day:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"
        lines.append(dumps(search(f"mpd-{n % 5:04d}", "MPD", 0, ts=ts)))
    earlier, later = lines[:144], lines[144:]

    produce(kafka_bootstrap, topic_names.events, [(None, line) for line in later], partition=0)
    time.sleep(SKEW_S)
    produce(kafka_bootstrap, topic_names.events, [(None, line) for line in earlier], partition=1)
    wait_drained(worker, kafka_bootstrap, len(lines))

    assert events_behind(kafka_bootstrap, app_id, lateness_s=0) == {}
    assert worker.stop() == 0
