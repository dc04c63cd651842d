"""Every read of a private attribute of faust-streaming or aiokafka, in one place.

Each function reads one private part that has no public equivalent, checked
against faust-streaming 0.15.3 and aiokafka 0.14.0 (``pyproject.toml`` pins
both minors); ``tests/unit/worker/workarounds/test_private.py`` fails
loudly when one of them is gone. Delete a function once upstream offers the
public call its docstring names.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


def committed_offsets(consumer: Any) -> Mapping[Any, int]:
    """Faust's consumer's last committed offset per partition (``Consumer._committed_offset``).

    Faust has no public read of it; the detection stage needs it to tell a
    record read again after a rewind from a new one (faust-streaming issue
    #596, records lost between the fetcher and the streams)."""
    offsets: Mapping[Any, int] = consumer._committed_offset
    return offsets


def paused_partitions(consumer: Any) -> Container[Any]:
    """The partitions Faust's consumer has paused (``Consumer._paused_partitions``), for logs."""
    paused: Container[Any] = consumer._paused_partitions
    return paused


async def add_gap(consumer: Any, tp: Any, first: int, last: int) -> None:
    """Tell Faust's commit logic that offsets ``first..last`` are done (``Consumer._add_gap``).

    Records Faust never delivered (issue #596) are read from the broker and
    judged here; without the gap its commits would stop below them (the
    commit-offset logic of faust-streaming issue #606)."""
    await consumer._add_gap(tp, first, last)


def known_position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The consumer's position in ``tp`` if it has one, without waiting for it.

    aiokafka's public ``position`` waits for a position to be fetched; the
    subscription state (``_subscription``) answers at once."""
    try:
        state: Any = consumer._subscription.subscription.assignment.state_value(tp)
        return int(state.position) if state is not None and state.has_valid_position else None
    except Exception:
        return None


async def fetch_all_metadata(consumer: AIOKafkaConsumer) -> Any:
    """The whole cluster's metadata (``_client.fetch_all_metadata``): a consumer outside
    any group only tracks topics it reads, and aiokafka has no public call for it."""
    return await consumer._client.fetch_all_metadata()


def aiokafka_producer(faust_producer: Any) -> Any:
    """The aiokafka producer inside Faust's producer (``Producer._producer``), or None.

    Faust sends one record at a time and its flush does not report failed
    deliveries (faust-streaming issue #393, messages reported sent that never
    reached the broker); the worker sends confirmed batches through aiokafka
    directly."""
    producer: Any = getattr(faust_producer, "_producer", None)
    return producer if hasattr(producer, "send_batch") else None


async def wait_on_metadata(producer: Any, topic: str) -> None:
    """Wait until the aiokafka producer knows ``topic``'s partitions (``client._wait_on_metadata``)."""
    await producer.client._wait_on_metadata(topic)


def partition_for(producer: Any, topic: str, key: bytes | None) -> int:
    """The partition aiokafka's own partitioner gives ``key`` (``_partition``), so a batch
    sent with ``send_batch`` lands where a single send would."""
    partition: int = producer._partition(topic, None, None, None, key, None)
    return partition


def compression_type(producer: Any) -> Any:
    """The producer's compression (``_message_accumulator._compression_type``), for batches
    built with ``BatchBuilder``."""
    return producer._message_accumulator._compression_type


def recovery_started_at(recovery: Any) -> float | None:
    """When the running table recovery began, by ``time.monotonic``
    (``Recovery._recovery_started_at``), for :mod:`streams.worker.workarounds.stalled_recovery`;
    Faust logs it but has no public read."""
    started: float | None = recovery._recovery_started_at
    return started


def recovery_events_received_at(recovery: Any) -> Mapping[Any, float]:
    """When the running recovery last received a record of each active changelog
    partition, by ``time.monotonic`` (``Recovery._active_events_received_at``)."""
    received: Mapping[Any, float] = recovery._active_events_received_at
    return received
