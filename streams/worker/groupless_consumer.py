"""A Kafka consumer outside any group: it reads what it is told and commits nothing.

The worker reads a few things beside its consumer groups (the certificate
topic, holes Faust left, end offsets); they all want the same client.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from streams.kafka_client import aiokafka_kwargs


def groupless_consumer(
    bootstrap: str, client_id: str, *, max_partition_fetch_bytes: int = 1024 * 1024
) -> AIOKafkaConsumer:
    """A consumer with no group and no commits that reads from the earliest record
    (``bootstrap`` may list several ``host:port``)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        **aiokafka_kwargs(),
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=max_partition_fetch_bytes,
    )
