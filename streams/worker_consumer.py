"""The Faust consumer of the detection stage: where it starts, and how it fetches.

Two changes to faust-streaming's aiokafka consumer (0.15.3, aiokafka 0.14).

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
before is recognised by the states' marks (:mod:`streams.progress_marks`).
Changelog partitions are left to Faust's recovery.

**A fetch waits for a little data, not one record.** With Kafka's default
``fetch.min.bytes`` of 1 the broker answers a fetch as soon as one record is
there, so at live rates a consumer sends a request for every few events, and
each request costs the worker a socket write, a response to decode and a turn
of the event loop. Measured at 2,000 events/s offered, the worker spent 0.79
cores, a third of it fetching. Asking for ``FETCH_MIN_BYTES`` with a wait of
at most ``FETCH_MAX_WAIT_MS`` lets the broker gather a few milliseconds of
records into one answer (16 KiB is about 50 events; at 2,000 events/s a fetch
returns after some 25 ms); a bulk backlog still fills every answer at once.
The wait is what an event may lose at low rates, and what an idle worker
polls at: 100 ms keeps the idle cost small (a wait of 25 ms cost an idle
worker 4 % of a core more). The ingest stage passes the same settings to its
own ``AIOKafkaConsumer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, TransportT

FETCH_MIN_BYTES = 16 * 1024
FETCH_MAX_WAIT_MS = 100
"""The most a fetch adds to an event's way through each of the worker's two consumers."""


class _FetchingThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class WorkerConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, starting and fetching as described above."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _FetchingThread(self, loop=self.loop, beacon=self.beacon)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        app: Any = self.app
        changelogs = set(app.tables.changelog_topics)
        fresh = [
            tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
        ]
        if fresh:
            earliest = await self.earliest_offsets(*fresh)
            for tp in fresh:
                start = earliest.get(tp)
                if start is not None:
                    self.log.info("%s:%s has no commit: reading it from offset %s",
                                  tp.topic, tp.partition, start)  # fmt: skip
                    await self._seek(tp, start)
        return committed


def use_worker_consumer(transport: TransportT) -> TransportT:
    """Make the consumer ``transport`` creates a :class:`WorkerConsumer`."""
    transport.Consumer = WorkerConsumer  # type: ignore[misc]  # per transport, not the class
    return transport
