"""The benchmark's own topics: unique names, created up front, deleted at the end.

The alerts topic stores the broker's append time as each record's timestamp
(``message.timestamp.type=LogAppendTime``): that is the moment an alert
appeared on the topic, stamped by the broker, which is what the latency
phase measures against the time each event was sent.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.kafka_client import kafka_python_kwargs
from streams.settings import TopicNames

PARTITIONS = 4


def bench_topics(run_id: str, label: str) -> TopicNames:
    """Topic names for one consumer under test, unique to this run."""
    prefix = f"bench-{run_id}-{label}"
    return TopicNames(
        events=f"{prefix}.search-events",
        dlq=f"{prefix}.search-events.dlq",
        certifications=f"{prefix}.certifications",
        alerts=f"{prefix}.alerts",
        webhook_dlq=f"{prefix}.alerts.webhook-dlq",
        triage=f"{prefix}.triage",
    )


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


class TopicAdmin:
    """Creates topics and remembers them, so the run deletes exactly what it made."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_kwargs())
        self.created: list[str] = []

    def create(self, name: str, *, compact: bool = False, append_time: bool = False) -> str:
        configs: dict[str, str] = {}
        if compact:
            configs["cleanup.policy"] = "compact"
        if append_time:
            configs["message.timestamp.type"] = "LogAppendTime"
        topic = NewTopic(name, num_partitions=PARTITIONS, replication_factor=1,
                         topic_configs=configs)  # fmt: skip
        with contextlib.suppress(TopicAlreadyExistsError):
            self.admin.create_topics([topic])
        self.created.append(name)
        return name

    def create_worker_topics(self, topics: TopicNames) -> None:
        """Input, certifications (compacted) and alerts (append time) before a worker starts."""
        self.create(topics.events)
        self.create(topics.certifications, compact=True)
        self.create(topics.alerts, append_time=True)
        self.create(topics.dlq)

    def forget(self, names: Iterable[str]) -> None:
        """Also delete these (topics a consumer created, e.g. changelogs) at the end."""
        self.created.extend(names)

    def delete_all(self) -> list[str]:
        """Delete every remembered topic that exists; return the names that could not be."""
        failed: list[str] = []
        existing = set(self.admin.list_topics())
        names = sorted({n for n in self.created if n in existing})
        for name in names:
            try:
                self.admin.delete_topics([name])
            except KafkaError:
                failed.append(name)
        return failed

    def topics_with_prefix(self, prefix: str) -> list[str]:
        return sorted(n for n in self.admin.list_topics() if n.startswith(prefix))

    def close(self) -> None:
        self.admin.close()
