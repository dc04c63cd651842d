"""Live certificate updates: the whole compacted certifications topic, on every worker.

Events are partitioned by agency and certificates are keyed by user, so a
worker judging an agency's events may need any user's certificate. A
consumer-group agent would give each worker only some partitions; instead
every worker runs this reader, which is assigned *all* partitions of the
topic, with no consumer group and no committed offsets, and reads it from the
beginning into the detection engine's :class:`CertificateRegistry`.

Semantics (also in the README):

* Start-up: the registry starts from the policy's CSV (or
  ``FRTWATCH_CERTIFICATIONS``); then the whole topic is applied on top, in
  offset order per key, **before the first event is judged**.
* Record: key ``<agency>/<user>``; value a JSON object with ``certified_on``
  and ``expires_on`` replaces that user's certificates; a null value (a
  tombstone) revokes them. A record that is not valid is logged and skipped.
* Live: before each batch of events is judged, :meth:`CertificateFeed.catch_up`
  reads the topic up to the end offsets it has *at that moment* (waiting at
  most a couple of seconds if the broker is slow). So an update written to
  the topic before a batch starts is applied before that batch is judged; an
  update written while a batch is being judged applies from the next batch.
  Validity itself is judged at each event's own time.

The exceptions topic (``frt.exceptions``: :mod:`streams.exceptions.records`) is read the
same way by a :class:`CompactedFeed` of its own: the policy's exceptions file first, the
whole topic on top before the first event is judged, caught up before each batch; each
change replaces the engine's (immutable) ``exceptions``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.policy import CertificateRegistry
from streams.policy.certificate_records import CertificateRecords
from streams.worker.groupless_consumer import groupless_consumer
from streams.worker.workarounds import private

log = logging.getLogger(__name__)

_POLL_MS = 200
_RETRY_S = 1.0


class TopicRecords(Protocol):
    """What a feed hands its records to (:class:`CertificateRecords`, and the exceptions
    topic's :class:`~streams.exceptions.records.ExceptionRecords`)."""

    applied: int
    rejected: int

    def apply(self, key: bytes | None, value: bytes | None) -> bool: ...

    def apply_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None: ...


class CompactedFeed:
    """Reads a whole compacted topic into ``records``: at start-up to its end (``loaded``),
    then following it; :meth:`catch_up` before each batch (see the module doc)."""

    def __init__(
        self,
        records: TopicRecords,
        topic: str,
        bootstrap: str,
        *,
        client_id: str,
        label: str,
        max_record_bytes: int = 1024 * 1024,
    ) -> None:
        self.max_record_bytes = max_record_bytes
        self.topic = topic
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.label = label
        self.records = records
        self.loaded = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        # End offsets come from a client of their own: on the reader's connection a
        # ListOffsets request queues behind the reader's long-polling fetch (up to
        # half a second when the topic is quiet), once per batch of events.
        self._offsets: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._progress = asyncio.Event()
        self._load_task: asyncio.Future[None] | None = None

    @property
    def applied(self) -> int:
        return self.records.applied

    @property
    def rejected(self) -> int:
        return self.records.rejected

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        return self.records.apply(key, value)

    def apply_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        self.records.apply_all(records)

    async def run(self) -> None:
        """Read the topic forever; restart the consumer after errors."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s: reader failed, restarting: %r", self.label, exc)
                await asyncio.sleep(_RETRY_S)

    async def _run_once(self) -> None:
        consumer = groupless_consumer(self.bootstrap, self.client_id,
                                      max_partition_fetch_bytes=self.max_record_bytes)  # fmt: skip
        offsets = groupless_consumer(self.bootstrap, f"{self.client_id}-offsets")
        log.info("%s: reading %r from %s", self.label, self.topic, self.bootstrap)
        await consumer.start()
        try:
            await offsets.start()
            self._partitions = await self._wait_for_partitions(consumer)
            consumer.assign(self._partitions)
            await consumer.seek_to_beginning(*self._partitions)
            self._offsets = offsets
            self._consumer = consumer
            if not self.loaded.is_set() and self._load_task is None:
                self._load_task = asyncio.ensure_future(self._initial_load())
            while True:
                batches = await consumer.getmany(timeout_ms=_POLL_MS)
                for records in batches.values():
                    self.apply_all((r.key, r.value) for r in records)
                self._progress.set()
        finally:
            self._consumer = None
            self._offsets = None
            await consumer.stop()
            await offsets.stop()

    async def _wait_for_partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            # A group-less consumer only tracks metadata of topics it reads, so
            # ask for the whole cluster's (aiokafka has no public call for it).
            cluster = await private.fetch_all_metadata(consumer)
            found = cluster.partitions_for_topic(self.topic)
            if found:
                return [TopicPartition(self.topic, p) for p in sorted(found)]
            log.warning("%s: topic %r not found yet, waiting", self.label, self.topic)
            await asyncio.sleep(_RETRY_S)

    async def _initial_load(self) -> None:
        while not await self.catch_up(timeout=30.0):
            log.warning("%s: still loading %r", self.label, self.topic)
        self.loaded.set()
        log.info(
            "%s: %d record(s) applied from %r (%d skipped)",
            self.label,
            self.applied,
            self.topic,
            self.rejected,
        )

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    async def catch_up(self, timeout: float = 2.0) -> bool:
        """Wait until every record on the topic *now* is applied (True), or give up (False)."""
        current, offsets = self._consumer, self._offsets
        if current is None or offsets is None:
            return False
        consumer: AIOKafkaConsumer = current
        deadline = time.monotonic() + timeout
        try:
            ends = await asyncio.wait_for(
                offsets.end_offsets(self._partitions), timeout=max(timeout, 0.1)
            )
            while True:
                if consumer is not self._consumer:
                    return False
                if await self._caught_up(consumer, ends):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.clear()
                try:
                    await asyncio.wait_for(self._progress.wait(), timeout=remaining)
                except TimeoutError:
                    return False
        except (KafkaError, TimeoutError) as exc:
            log.warning("%s: could not catch up: %r", self.label, exc)
            return False
        except Exception:  # e.g. the reader restarting under us; judge with what we have
            log.exception("%s: catching up failed", self.label)
            return False


class CertificateFeed(CompactedFeed):
    """Keeps ``registry`` in step with the certifications topic."""

    def __init__(
        self,
        registry: CertificateRegistry,
        topic: str,
        bootstrap: str,
        *,
        client_id: str = "frtwatch-certificates",
    ) -> None:
        super().__init__(
            CertificateRecords(registry), topic, bootstrap, client_id=client_id,
            label="certifications",
        )  # fmt: skip
        self.registry = registry
