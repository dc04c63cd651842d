"""Kafka readers that keep the console's stores current: alerts and search events.

Alerts are read in the console's own consumer group (one per instance, so no
two consoles split the topic between them), always from the beginning: the
store lives in memory and is rebuilt on every start. Events are read from a
look-back point in time only, since only recent activity is shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from streams.console.activity import ActivityStore
from streams.console.alert_store import AlertFormatError, AlertStore, StoredAlert, parse_alert
from streams.console.topics import topic_partitions
from streams.contract.event import parse_event
from streams.errors import ContractError
from streams.kafka_client import aiokafka_kwargs

log = logging.getLogger("frtwatch.console")

_POLL_MS = 250


async def _caught_up(consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> bool:
    for tp, end in targets.items():
        try:
            if await consumer.position(tp) < end:
                return False
        except (KafkaError, AssertionError, ValueError):
            return False
    return True


class _SeekToStart(ConsumerRebalanceListener):
    """On every assignment: read from the start and note where "caught up" is."""

    def __init__(self, reader: AlertReader) -> None:
        self.reader = reader

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.reader.consumer
        if consumer is None or not assigned:
            return
        await consumer.seek_to_beginning(*assigned)
        self.reader.targets = dict(await consumer.end_offsets(list(assigned)))


class AlertReader:
    """Feeds :class:`AlertStore` from the alert topic and reports each change."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        store: AlertStore,
        on_change: Callable[[StoredAlert], None],
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.store = store
        self.on_change = on_change
        self.ready = asyncio.Event()
        self.consumer: AIOKafkaConsumer | None = None
        self.targets: dict[TopicPartition, int] = {}

    async def run(self) -> None:
        self.consumer = consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            **aiokafka_kwargs(),
            group_id=self.group_id,
            client_id=f"{self.group_id}-alerts",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        consumer.subscribe([self.topic], listener=_SeekToStart(self))
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=_POLL_MS, max_records=5000)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        self.handle(record.value, now)
                waiting = not self.ready.is_set() and consumer.assignment() and self.targets
                if waiting and await _caught_up(consumer, self.targets):
                    log.info("alerts loaded: %d alerts from %s", len(self.store), self.topic)
                    self.ready.set()
        finally:
            await consumer.stop()

    def handle(self, value: bytes | None, now: float) -> None:
        try:
            alert = parse_alert(value)
        except AlertFormatError as exc:
            self.store.rejected += 1
            log.warning("skipped a message on %s: %s", self.topic, exc)
            return
        stored = self.store.upsert(alert, received_at=now)
        if stored is not None:
            self.on_change(stored)


class EventReader:
    """Feeds :class:`ActivityStore` from the search-event topic, starting ``lookback_s`` ago."""

    def __init__(self, bootstrap: str, topic: str, store: ActivityStore, lookback_s: float) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.store = store
        self.lookback_s = lookback_s
        self.ready = asyncio.Event()
        self.rejected = 0
        # Where to resume after a restart of this reader, so nothing is counted twice.
        self._resume: dict[TopicPartition, int] = {}

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            **aiokafka_kwargs(),
            group_id=None,
            client_id="frtwatch-console-events",
            enable_auto_commit=False,
            fetch_max_wait_ms=200,
        )
        await consumer.start()
        try:
            partitions = await topic_partitions(self.bootstrap, self.topic)
            consumer.assign(partitions)
            since_ms = int((time.time() - self.lookback_s) * 1000)
            starts = await consumer.offsets_for_times(dict.fromkeys(partitions, max(0, since_ms)))
            targets = dict(await consumer.end_offsets(partitions))
            for tp in partitions:
                found = starts.get(tp)
                start = found.offset if found is not None else targets[tp]
                consumer.seek(tp, self._resume.get(tp, start))
            while True:
                batches = await consumer.getmany(timeout_ms=_POLL_MS, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        self.handle(record.value)
                    if records:
                        self._resume[tp] = records[-1].offset + 1
                if not self.ready.is_set() and await _caught_up(consumer, targets):
                    log.info("recent activity loaded: %d events", self.store.events_seen)
                    self.ready.set()
        finally:
            await consumer.stop()

    def handle(self, value: bytes | None) -> None:
        try:
            event = parse_event(value)
        except ContractError:
            self.rejected += 1  # the worker sends these to the dead-letter topic
            return
        self.store.add(event)
