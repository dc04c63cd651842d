"""Triage kept in Kafka: an append-only action log and a compacted current-state topic.

* ``<triage>.history`` (delete policy, unlimited retention, one partition,
  key ``alert_id``) holds every action ever taken, in one total order. It is
  the audit trail and the source of truth: every console instance reads it
  from the beginning on start and keeps following it, so they share state and
  a restart loses nothing.
* ``<triage>`` (compacted, key ``alert_id``) holds each alert's latest state
  and last action, for tools that only want the current picture. The instance
  that wrote an action publishes the state once it has read the action back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.console.topics import topic_partitions
from streams.console.triage import TriageAction, TriageError, TriageState
from streams.console.triage_book import TriageBook
from streams.kafka_client import aiokafka_kwargs

log = logging.getLogger("frtwatch.console")

STATE_SCHEMA = "frt.triage-state.v1"
_WRITE_TIMEOUT_S = 10.0


def state_record(state: TriageState, last: TriageAction) -> bytes:
    """The compacted topic's value for one alert."""
    return orjson.dumps({"schema": STATE_SCHEMA, **state.to_dict(), "last_action": last.to_dict()})


class TriageLog:
    """Writes analysts' actions to Kafka and folds the log into a :class:`TriageBook`."""

    def __init__(
        self,
        bootstrap: str,
        history_topic: str,
        state_topic: str,
        book: TriageBook,
        on_change: Callable[[str], None],
    ) -> None:
        self.bootstrap = bootstrap
        self.history_topic = history_topic
        self.state_topic = state_topic
        self.book = book
        self.on_change = on_change
        self.ready = asyncio.Event()
        self.rejected = 0
        self._producer: AIOKafkaProducer | None = None
        self._mine: set[str] = set()

    async def start_producer(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            **aiokafka_kwargs(),
            client_id="frtwatch-console-triage",
            acks="all",
            enable_idempotence=True,
        )
        await self._producer.start()

    async def stop_producer(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def submit(self, action: TriageAction) -> TriageState:
        """Append ``action`` to the log and return the state once it has been read back."""
        if self._producer is None or not self.ready.is_set():
            raise TriageError("the triage log is still loading; try again in a moment")
        waiter = self.book.expect(action.action_id)
        self._mine.add(action.action_id)
        try:
            await self._producer.send_and_wait(
                self.history_topic,
                key=action.alert_id.encode("utf-8"),
                value=orjson.dumps(action.to_dict()),
            )
            return await asyncio.wait_for(waiter, timeout=_WRITE_TIMEOUT_S)
        except TimeoutError:
            raise TriageError("the action was written but not yet read back; reload") from None
        finally:
            self.book.forget_wait(action.action_id)

    async def run(self) -> None:
        """Read the whole log, then follow it."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            **aiokafka_kwargs(),
            group_id=None,
            client_id="frtwatch-console-triage-reader",
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        try:
            partitions = await topic_partitions(self.bootstrap, self.history_topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            targets = dict(await consumer.end_offsets(partitions))
            while True:
                batches = await consumer.getmany(timeout_ms=250, max_records=5000)
                for records in batches.values():
                    for record in records:
                        await self.handle(record.value)
                if not self.ready.is_set():
                    positions = [await consumer.position(tp) for tp in partitions]
                    if all(
                        pos >= targets[tp] for pos, tp in zip(positions, partitions, strict=True)
                    ):
                        log.info("triage loaded: %d alerts with actions", len(self.book))
                        self.ready.set()
        finally:
            await consumer.stop()

    async def handle(self, value: bytes | None) -> None:
        try:
            action = TriageAction.from_dict(orjson.loads(value or b"null"))
        except (orjson.JSONDecodeError, TriageError) as exc:
            self.rejected += 1
            log.warning("skipped a record on %s: %s", self.history_topic, exc)
            return
        state = self.book.apply(action)
        if state is None:
            return
        self.on_change(action.alert_id)
        if action.action_id in self._mine and self._producer is not None:
            self._mine.discard(action.action_id)
            try:
                await self._producer.send(
                    self.state_topic,
                    key=action.alert_id.encode("utf-8"),
                    value=state_record(state, action),
                )
            except Exception as exc:  # the log already holds the action; the snapshot can lag
                log.warning("could not publish triage state for %s: %s", action.alert_id, exc)
