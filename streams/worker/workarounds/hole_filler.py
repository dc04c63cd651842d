"""Reading records Faust skipped straight from the broker.

When a stage sees a partition's offsets jump (:mod:`streams.worker.workarounds.partition_order`),
the records in between were either never there (transaction markers,
compaction: the input topic may have such holes) or were fetched and lost
on their way to the stream (faust-streaming 0.15, around rebalances). Rather
than seeking the Faust consumer back (a seek races with records already on
their way through Faust, which then drops the re-read ones), the stage reads
the hole itself with a consumer of its own (no group, no commits) and
handles what it finds before the record that revealed the hole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.worker.groupless_consumer import groupless_consumer

log = logging.getLogger("frtwatch.worker")

RETRY_S = 1.0


class HoleFiller:
    """Fetches offset ranges of single partitions on demand (one at a time)."""

    def __init__(self, bootstrap: str, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self.filled = 0
        """Records found in holes so far."""

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = groupless_consumer(self.bootstrap, self.client_id)
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def fetch(
        self, topic: str, partition: int, first: int, last: int, timeout_s: float = 60.0
    ) -> list[Any]:
        """Records of ``topic``/``partition`` with offsets ``first..last`` that exist.

        Retries through broker trouble for up to ``timeout_s``; returns what it
        has then (the caller's stall watch re-reads the partition later).
        """
        async with self._lock:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    records = await self._fetch(TopicPartition(topic, partition), first, last)
                    self.filled += len(records)
                    return records
                except Exception as exc:
                    if time.monotonic() > deadline:
                        log.error("could not read %s:%s %s..%s: %r", topic, partition,
                                  first, last, exc)  # fmt: skip
                        return []
                    log.warning("reading %s:%s %s..%s failed (%r); retrying", topic, partition,
                                first, last, exc)  # fmt: skip
                    await self.stop()
                    await asyncio.sleep(RETRY_S)

    async def _fetch(self, tp: TopicPartition, first: int, last: int) -> list[Any]:
        consumer = await self._started()
        consumer.assign([tp])
        consumer.seek(tp, first)
        end = (await consumer.end_offsets([tp]))[tp]
        stop = min(last + 1, end)
        found: list[Any] = []
        while await consumer.position(tp) < stop:
            batches = await consumer.getmany(tp, timeout_ms=500)
            for record in batches.get(tp, ()):
                if first <= record.offset <= last:
                    found.append(record)
        return found
