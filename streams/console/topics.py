"""Make sure the topics the console reads and writes exist before it uses them.

The triage topics belong to the console and are created with the settings
their role needs: the action log keeps everything for ever (it is the audit
trail), the state topic is compacted (latest state per alert). The alert and
event topics belong to the pipeline; the console only creates them, with the
pipeline's partition count, when it starts first, so it can subscribe at once.
"""

from __future__ import annotations

import logging

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from streams.console.config import ConsoleConfig
from streams.errors import BrokerError
from streams.kafka_admin import create_missing, wait_for_leaders
from streams.kafka_client import aiokafka_kwargs

log = logging.getLogger("frtwatch.console")


def _delete(retention_ms: int) -> dict[str, str]:
    return {"cleanup.policy": "delete", "retention.ms": str(retention_ms)}


def wanted_topics(config: ConsoleConfig) -> list[NewTopic]:
    """Every topic the console touches, with how it should be created."""
    topics = config.topics
    return [
        NewTopic(
            topics.alerts, config.partitions, 1, topic_configs=_delete(config.retention.alerts_ms)
        ),
        NewTopic(
            topics.events, config.partitions, 1, topic_configs=_delete(config.retention.events_ms)
        ),
        NewTopic(
            config.history_topic,
            1,
            1,
            topic_configs={
                "cleanup.policy": "delete",
                "retention.ms": "-1",
                "retention.bytes": "-1",
            },
        ),
        NewTopic(
            topics.triage,
            1,
            1,
            topic_configs={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"},
        ),
        # The pipeline's (the worker creates it too); made here when the console starts
        # first, so an exception made on an alert page has somewhere to go.
        NewTopic(topics.exceptions, 1, 1, topic_configs={"cleanup.policy": "compact"}),
    ]


async def ensure_topics(config: ConsoleConfig) -> list[str]:
    """Create the missing topics; returns the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap, **aiokafka_kwargs(), client_id="frtwatch-console"
    )
    try:
        await admin.start()
    except KafkaError as exc:
        await admin.close()
        raise BrokerError(
            f"cannot reach Kafka at {config.bootstrap} ({exc}); is it running? "
            "(frtwatch kafka status)"
        ) from None
    try:
        return await create_missing(admin, wanted_topics(config), log)
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions of an existing topic, once each has a leader (fresh topics take a moment)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **aiokafka_kwargs(), client_id="frtwatch-console"
    )
    await admin.start()
    try:
        partitions = (await wait_for_leaders(admin, [topic], every_s=0.5))[topic]
        return [TopicPartition(topic, p) for p in partitions]
    finally:
        await admin.close()
