"""The floor under every Faust number: a bare aiokafka consume loop.

Faust reads through aiokafka, so an aiokafka loop that only counts records
(no group, ``assign`` + ``seek_to_beginning``, ``getmany`` until the end
offsets) is the most any agent on this machine can read.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka_client import aiokafka_kwargs, kafka_python_kwargs

FETCH_RECORDS = 10_000


async def _read_all(bootstrap: str, topic: str, partitions: list[int]) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **aiokafka_kwargs(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        records = 0
        began = time.perf_counter()
        while remaining:
            batches = await consumer.getmany(timeout_ms=500, max_records=FETCH_RECORDS)
            for tp, batch in batches.items():
                records += len(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records, time.perf_counter() - began
    finally:
        await consumer.stop()


def raw_aiokafka_loop(bootstrap: str, topic: str) -> tuple[int, float]:
    """``(records, seconds)`` to read ``topic`` from the beginning to its end offsets."""
    from kafka import KafkaConsumer

    lookup = KafkaConsumer(bootstrap_servers=bootstrap, **kafka_python_kwargs())
    try:
        partitions = sorted(lookup.partitions_for_topic(topic) or ())
    finally:
        lookup.close()
    if not partitions:
        raise RuntimeError(f"topic {topic} does not exist")
    return asyncio.run(_read_all(bootstrap, topic, partitions))
