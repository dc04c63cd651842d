"""The webhook dispatcher: its own consumer group on the alert topic, delivering to routes.

Delivery guarantees, in the order they matter to a SOC:

1. Nothing is lost. An offset is committed only after its message was
   delivered to every route that wants it or dead-lettered (written to the
   webhook DLQ topic and acknowledged by Kafka). A crash or kill therefore
   re-delivers at most the messages that were in flight, and a re-delivery
   carries the same ``webhook-id``, so receivers can drop the duplicate.
2. Updates of one alert arrive in order. Messages with the same
   ``alert_id`` are delivered one after another (messages of different
   alerts run concurrently, bounded by ``max_in_flight``).
3. Detection is never slowed: the dispatcher is a separate process and a
   separate consumer group; a dead receiver only makes *its* route retry.

When ``max_in_flight`` messages are in flight the consumer pauses its
partitions but keeps polling, so a long receiver outage does not get the
dispatcher thrown out of its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError

from streams import metrics
from streams.errors import BrokerError
from streams.kafka_client import aiokafka_kwargs
from streams.settings import Settings
from streams.webhooks.alert_message import AlertMessage, InvalidAlertError, parse_alert_message
from streams.webhooks.dead_letters import (
    MAX_RECORD_BYTES,
    MIN_RECORD_BYTES,
    dead_letter,
    dead_letter_key,
    encode,
)
from streams.webhooks.routes import WebhookConfig
from streams.webhooks.seen_alerts import SeenAlerts
from streams.webhooks.sender import RouteSender
from streams.worker.ingest.offset_tracker import OffsetTracker

log = logging.getLogger("frtwatch.webhooks")


@dataclass(frozen=True, slots=True)
class DispatcherOptions:
    """How the dispatcher consumes; every field has a CLI flag in ``frtwatch webhooks``."""

    group_id: str
    start_from: str = "earliest"
    max_in_flight: int = 256
    session_timeout_s: float = 10.0
    drain_timeout_s: float = 30.0
    seen_lookback_s: float = 86400.0
    seen_capacity: int = 200_000
    commit_interval_s: float = 1.0


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._dispatcher.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._dispatcher.partitions_assigned(assigned)


class Dispatcher:
    """Consume alerts, deliver them to every matching route, commit what is done."""

    def __init__(
        self, config: WebhookConfig, settings: Settings, options: DispatcherOptions
    ) -> None:
        if options.start_from not in ("earliest", "latest"):
            raise ValueError("start_from must be earliest or latest")
        self.config = config
        self.settings = settings
        self.options = options
        self._senders = [RouteSender(route) for route in config.routes]
        self._tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self._seen = SeenAlerts(options.seen_capacity)
        self._tasks: set[asyncio.Task[None]] = set()
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._commit_wanted = asyncio.Event()
        self._commit_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        # Set once the assigned partitions' history has been re-read (see
        # partitions_assigned); records are not started before that.
        self._ready = asyncio.Event()
        self._fatal: BaseException | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    @property
    def ready(self) -> bool:
        """Partitions are assigned and their history re-read: deliveries are under way."""
        return self._ready.is_set()

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set (or a fatal error); then drain, commit and close."""
        external = stop or asyncio.Event()
        watcher = asyncio.create_task(self._relay_stop(external))
        topic = self.settings.topics.alerts
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            **aiokafka_kwargs(self.settings.kafka),
            client_id=f"{self.options.group_id}-dlq",
            acks="all",
            enable_idempotence=True,
        )
        session_ms = int(self.options.session_timeout_s * 1000)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap,
            **aiokafka_kwargs(self.settings.kafka),
            group_id=self.options.group_id,
            client_id=self.options.group_id,
            enable_auto_commit=False,
            auto_offset_reset=self.options.start_from,
            isolation_level="read_committed",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 3),
        )
        try:
            for sender in self._senders:
                await sender.start()
            try:
                await self._producer.start()
                self._consumer.subscribe([topic], listener=_Rebalance(self))
                await self._consumer.start()
            except KafkaError as exc:
                raise BrokerError(
                    f"cannot reach Kafka at {self.settings.bootstrap}: {exc}"
                ) from exc
            await self._check_topics()
            log.info(
                "delivering alerts from %s (group %s) to %d route(s): %s",
                topic,
                self.options.group_id,
                len(self._senders),
                ", ".join(
                    f"{s.route.name}={s.route.format}@{s.route.target}" for s in self._senders
                ),
            )
            committer = asyncio.create_task(self._commit_loop())
            try:
                await self._consume()
            finally:
                await self._drain()
                committer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await committer
                await self._commit_now()
        finally:
            watcher.cancel()
            # Stopping a client that never started is harmless; one left open warns.
            for client in (self._consumer, self._producer):
                with contextlib.suppress(Exception):
                    await client.stop()
            for sender in self._senders:
                await sender.close()
        if self._fatal is not None:
            raise self._fatal

    async def _relay_stop(self, external: asyncio.Event) -> None:
        await external.wait()
        self._stop.set()

    async def _check_topics(self) -> None:
        assert self._consumer is not None
        existing = await self._consumer.topics()
        for name in (self.settings.topics.alerts, self.settings.topics.webhook_dlq):
            if name not in existing:
                log.warning(
                    "topic %s does not exist yet (the broker may create it on first use)", name
                )

    async def _drain(self) -> None:
        """Let in-flight deliveries finish for a while; cancel (not commit) the rest."""
        if not self._tasks:
            return
        log.info(
            "waiting up to %.0fs for %d delivery(ies)",
            self.options.drain_timeout_s,
            len(self._tasks),
        )
        _, pending = await asyncio.wait(set(self._tasks), timeout=self.options.drain_timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "%d delivery(ies) unfinished; they will be redelivered on restart", len(pending)
            )
            await asyncio.gather(*pending, return_exceptions=True)

    # --- consuming ------------------------------------------------------------------------

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stop.is_set():
            room = self.options.max_in_flight - len(self._tasks)
            assigned = consumer.assignment()
            if room <= 0:
                consumer.pause(*assigned)
            elif consumer.paused():
                consumer.resume(*consumer.paused())
            # A short poll keeps the stop latency low and the group membership alive.
            batches = await consumer.getmany(timeout_ms=250, max_records=max(1, room))
            if batches and not await self._wait_ready():
                break
            for records in batches.values():
                for record in records:
                    self._start(record)

    async def _wait_ready(self) -> bool:
        """Wait for a rebalance to finish re-reading history; False if stopping instead."""
        if self._ready.is_set():
            return True
        ready = asyncio.create_task(self._ready.wait())
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({ready, stop}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stop.cancel()
        return self._ready.is_set() and not self._stop.is_set()

    def _start(self, record: ConsumerRecord[Any, Any]) -> None:
        tp = TopicPartition(record.topic, record.partition)
        assert self._consumer is not None
        if tp not in self._consumer.assignment():
            return  # fetched before a rebalance took the partition away; its new owner reads it
        self._tracker.started(tp, record.offset)
        alert_id: str | None = None
        coro: Coroutine[Any, Any, None]
        try:
            alert = parse_alert_message(record.value)
        except InvalidAlertError as exc:
            coro = self._reject(record, str(exc))
        else:
            alert_id = alert.alert_id
            first = self._seen.observe(alert_id)
            coro = self._process(record, alert, first, self._chains.get(alert_id))
        task = asyncio.create_task(
            coro, name=f"deliver {record.topic}/{record.partition}@{record.offset}"
        )
        self._tasks.add(task)
        if alert_id is not None:
            self._chains[alert_id] = task
        metrics.set_webhook_in_flight(len(self._tasks))
        task.add_done_callback(functools.partial(self._finished, tp, record.offset, alert_id))

    def _finished(
        self, tp: TopicPartition, offset: int, alert_id: str | None, task: asyncio.Task[None]
    ) -> None:
        self._tasks.discard(task)
        metrics.set_webhook_in_flight(len(self._tasks))
        if alert_id is not None and self._chains.get(alert_id) is task:
            del self._chains[alert_id]
        if task.cancelled():
            return  # shutting down: not done, so not committed
        error = task.exception()
        if error is not None:
            log.error("delivery of %s@%d failed unexpectedly; stopping", tp, offset, exc_info=error)
            self._fatal = self._fatal or error
            self._stop.set()
            return
        self._tracker.finished(tp, offset)
        self._commit_wanted.set()

    async def _process(
        self,
        record: ConsumerRecord[Any, Any],
        alert: AlertMessage,
        first: bool,
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # keep one alert's messages in order
        senders = [s for s in self._senders if s.route.wants(alert, first=first)]
        results = await asyncio.gather(*(s.deliver(alert, first=first) for s in senders))
        source = (record.topic, record.partition, record.offset)
        for sender, result in zip(senders, results, strict=True):
            if result.delivered:
                continue
            await self._dead_letter(
                dead_letter(
                    alert=alert,
                    raw=record.value,
                    source=source,
                    route=sender.route.name,
                    target=sender.route.target,
                    reason=result.reason or "failed",
                    error=result.error or "failed",
                    attempts=result.attempts,
                    status=result.status,
                ),
                key=alert.alert_id.encode("utf-8"),
            )

    async def _reject(self, record: ConsumerRecord[Any, Any], error: str) -> None:
        metrics.record_webhook_invalid_alert()
        log.warning(
            "%s/%d@%d is not a valid alert: %s",
            record.topic,
            record.partition,
            record.offset,
            error,
        )
        await self._dead_letter(
            dead_letter(
                alert=None,
                raw=record.value,
                source=(record.topic, record.partition, record.offset),
                route=None,
                target=None,
                reason="invalid_alert",
                error=error,
                attempts=0,
                status=None,
            ),
            key=record.key,
        )

    async def _dead_letter(self, record: dict[str, Any], key: bytes | None) -> None:
        """Write to the webhook DLQ; keep trying while Kafka is unavailable (never drop)."""
        assert self._producer is not None
        limit = MAX_RECORD_BYTES
        key = dead_letter_key(key)
        while True:
            value = encode(record, limit)
            try:
                await self._producer.send_and_wait(self.settings.topics.webhook_dlq, value, key=key)
                return
            except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
                if limit <= MIN_RECORD_BYTES:
                    raise
                # The topic takes less than we thought (max.message.bytes): cut further.
                limit = max(MIN_RECORD_BYTES, limit // 4)
                log.warning(
                    "%s refused a dead letter as too large (%s); cutting it to %d bytes",
                    self.settings.topics.webhook_dlq,
                    exc,
                    limit,
                )
            except KafkaError as exc:
                log.error(
                    "cannot write to %s (%s); retrying", self.settings.topics.webhook_dlq, exc
                )
                await asyncio.sleep(1.0)

    # --- offsets --------------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._commit_wanted.wait(), timeout=self.options.commit_interval_s
                )
            self._commit_wanted.clear()
            await self._commit_now()
            self._publish_lag()

    async def _commit_now(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        async with self._commit_lock:
            offsets = {
                tp: off
                for tp, off in self._tracker.commits().items()
                if tp in consumer.assignment()
            }
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:  # a rebalance is in progress; the next round retries
                log.warning("commit failed, will retry: %s", exc)
                return
            self._tracker.mark_committed(offsets)

    def _publish_lag(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            done = self._tracker.safe_offset(tp)
            if high is not None and done is not None:
                metrics.set_consumer_lag(self.options.group_id, tp.topic, tp.partition, high - done)

    # --- rebalances -----------------------------------------------------------------------

    async def partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Commit what is done, then forget the partitions (their in-flight work may repeat)."""
        self._ready.clear()
        await self._commit_now()
        self._tracker.forget(revoked)

    async def partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Re-learn which alerts were already seen, so 'first message' survives restarts.

        Reads each newly assigned partition from the look-back point up to the
        group's committed offset (the part already handled) before any new
        record of it is started.
        """
        self._ready.clear()
        self._tracker.forget(assigned)  # start clean from the committed offsets
        try:
            await self._remember_history(assigned)
        finally:
            self._ready.set()

    async def _remember_history(self, assigned: list[TopicPartition]) -> None:
        if self.options.seen_lookback_s <= 0 or not assigned:
            return
        assert self._consumer is not None
        ends: dict[TopicPartition, int] = {}
        for tp in assigned:
            committed = await self._consumer.committed(tp)
            if committed:
                ends[tp] = committed
        if ends:
            count = await self._warm_seen(ends)
            log.info("re-read %d earlier alert message(s) from %d partition(s)", count, len(ends))

    async def _warm_seen(self, ends: dict[TopicPartition, int]) -> int:
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap,
            **aiokafka_kwargs(self.settings.kafka),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await reader.start()
        count = 0
        try:
            reader.assign(list(ends))
            since = int((time.time() - self.options.seen_lookback_s) * 1000)
            starts = await reader.offsets_for_times(dict.fromkeys(ends, since))
            remaining = set()
            for tp, end in ends.items():
                found = starts.get(tp)
                if found is not None and found.offset < end:
                    reader.seek(tp, found.offset)
                    remaining.add(tp)
            while remaining:
                batches = await reader.getmany(*remaining, timeout_ms=500)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            break
                        with contextlib.suppress(InvalidAlertError):
                            self._seen.observe(parse_alert_message(record.value).alert_id)
                            count += 1
                for tp in list(remaining):
                    if await reader.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        finally:
            await reader.stop()
        return count
