"""The Faust consumer of the detection stage: where it starts.

A change to faust-streaming's aiokafka consumer (0.15.3, aiokafka 0.14).

**A partition never committed starts at its beginning.** After a rebalance,
and after its tables are recovered, Faust seeks every assigned partition to
its committed offset (``Consumer.perform_seek``). aiokafka seeks only
partitions with a committed offset above zero
(``AIOKafkaConsumer.seek_to_committed``); the others stay where the fetcher
has got to. Records of those partitions fetched while their tables were
still being recovered are dropped by Faust (it hands on only records of
active partitions), so a partition of the internal topic that had never been
committed went on from *after* them: they were never judged, and with nothing
acked below them Faust's commits passed them too. Seen in the fault tests: a
worker killed before its first commit of one partition (its successor skipped
22 records), and a worker taking over such a partition from a killed one
(nothing of it read at all). :class:`WorkerConsumer` completes the seek: a
stream partition without a committed offset is sought to its earliest offset,
where ``auto_offset_reset="earliest"`` meant it to start. What was judged
before is recognised by the states' marks (:mod:`streams.judge.progress_marks`).
Changelog partitions are left to Faust's recovery.

The consumer fetches with Kafka's defaults (an answer as soon as one record is
there): only the ingest stage's consumer asks for more per fetch
(:mod:`streams.worker.ingest.stage`), since Faust's recovery of the tables reads
through this one (one takeover fault-test run in CI had a recovery that never
received the changelog records of a partition it took over while this consumer
waited for 16 KiB per fetch; not reproduced, not ruled out; it recurred with the
defaults, and :mod:`.stalled_recovery` now starts such a recovery again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, TransportT


class WorkerConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, starting as described above."""

    uncommitted_starts: Mapping[TP, int] = {}
    """Where each stream partition without a commit was started at the last seek (the
    detection stage expects its first record there: :mod:`streams.worker.workarounds.partition_order`)."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        app: Any = self.app
        changelogs = set(app.tables.changelog_topics)
        fresh = [
            tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
        ]
        earliest = await self.earliest_offsets(*fresh) if fresh else {}
        starts = {tp: earliest[tp] for tp in fresh if earliest.get(tp) is not None}
        for tp, start in starts.items():
            self.log.info("%s:%s has no commit: reading it from offset %s",
                          tp.topic, tp.partition, start)  # fmt: skip
            await self._seek(tp, start)
        self.uncommitted_starts = starts
        return committed


def use_worker_consumer(transport: TransportT) -> TransportT:
    """Make the consumer ``transport`` creates a :class:`WorkerConsumer`."""
    transport.Consumer = WorkerConsumer  # type: ignore[misc]  # per transport, not the class
    return transport
