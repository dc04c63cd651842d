"""Bytes of state per user, as stored: the latest value per key in the user-table changelog.

The changelog is what a restarted worker reads back and what the broker
keeps (compacted: one record per key in the end), so its value sizes are
the honest measure of per-user state. Keys are ``"<agency>/<user>"`` as
JSON; values are ``UserState.to_bytes()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.kafka_client import kafka_python_kwargs


@dataclass(frozen=True, slots=True)
class StateSizes:
    users: int
    mean: float
    p50: int
    p99: int
    max: int
    key_mean: float
    records_read: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "mean_bytes": round(self.mean, 1),
            "p50_bytes": self.p50,
            "p99_bytes": self.p99,
            "max_bytes": self.max,
            "key_mean_bytes": round(self.key_mean, 1),
            "changelog_records_read": self.records_read,
        }


def read_latest_sizes(
    bootstrap: str, topic: str, keep: Callable[[bytes], bool] = lambda key: True
) -> tuple[dict[bytes, int], int]:
    """``({key: latest value size}, records read)`` for the whole changelog topic."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        **kafka_python_kwargs(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        max_poll_records=50_000,
    )
    sizes: dict[bytes, int] = {}
    read = 0
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            raise RuntimeError(f"no changelog topic {topic}")
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + 600
        while remaining and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                read += len(batch)
                for record in batch:
                    if record.key is not None and keep(record.key):
                        if record.value is None:
                            sizes.pop(record.key, None)
                        else:
                            sizes[record.key] = len(record.value)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        consumer.close()
    return sizes, read


def summarise(sizes: dict[bytes, int], read: int) -> StateSizes:
    values = sorted(sizes.values())
    if not values:
        return StateSizes(0, 0.0, 0, 0, 0, 0.0, read)
    n = len(values)
    return StateSizes(
        users=n,
        mean=sum(values) / n,
        p50=values[n // 2],
        p99=values[min(n - 1, int(n * 0.99))],
        max=values[-1],
        key_mean=sum(len(k) for k in sizes) / n,
        records_read=read,
    )
