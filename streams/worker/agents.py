"""The worker's stages wired into the Faust app. Wiring only; the work is in
:mod:`streams.worker.ingest.stage`, :mod:`streams.worker.detect.stage` and :mod:`streams.worker.delivery`.

The ingest stage (:mod:`streams.worker.ingest.stage`, a service of the app with a
plain aiokafka consumer) reads the input topic as raw bytes, validates each
message (:mod:`streams.worker.ingest.triage`) and either dead-letters it or re-keys it by
agency onto ``<app_id>-events-by-agency``, merging the input partitions by
event time on the way (:mod:`streams.worker.ingest.watermark`). The ``detect``
agent reads that internal topic in micro-batches (``stream.take_events``),
runs them through the detection core and the behaviour model
(:mod:`streams.judge.batch`) with per-user and per-agency state in
changelogged tables, and sends alerts.

Acknowledgement and commits (checked against faust-streaming 0.15.3):
the consumer commits only acked offsets, contiguous per partition, and
flushes the producer before committing; but a flush does not report failed
deliveries, and Faust acks an event in a ``finally`` even when the handler
raised or was cancelled. So every send here is awaited until the broker has
confirmed it (``acks=all``), retrying with back-off for as long as it takes,
before its input counts as done, and no exception escapes a stage's loop:

* the ingest stage commits an input offset once every record up to it has
  its dead letter or re-keyed copy confirmed;
* ``detect`` sends a batch's alerts and dead letters, waits for the broker,
  only then writes the new states to the tables (a state that has seen an
  event must never be durable before that event's alerts), and acks the
  batch; Faust's commit timer (every ``COMMIT_INTERVAL_S``) then commits
  what is acked, after flushing the producer.

At-least-once delivery, exactly-once effect on state: whatever a crash makes
the worker read again is recognised by the marks stored with every state
(:mod:`streams.judge.progress_marks`), and records Faust drops around rebalances
are read from the broker and handled in order (:mod:`streams.worker.workarounds.partition_order`,
:mod:`streams.worker.workarounds.hole_filler`); alert ids are deterministic.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from contextlib import suppress
from typing import Any, cast

import faust
from faust.types import StreamT
from mode import Service

from streams.worker import gc_pauses, observability
from streams.worker.certificates_feed import CertificateFeed, CompactedFeed
from streams.worker.delivery import deliver
from streams.worker.detect.stage import Detection
from streams.worker.ingest.stage import Ingest
from streams.worker.model_feed import ModelRecords
from streams.worker.runtime import WorkerRuntime
from streams.worker.tables import WorkerTables
from streams.worker.topics import WorkerTopics
from streams.worker.workarounds import private
from streams.worker.workarounds.stalled_commits import StallWatch, consumer_acks
from streams.worker.workarounds.stalled_recovery import RecoveryWatch, restart_stalled_recovery

log = logging.getLogger("frtwatch.worker")

STALL_CHECK_S = 5.0
STALL_CHECKS = 2
"""A commit gap must persist this many checks (about 10 s) before a partition is re-read."""


STAGES = ("both", "ingest", "detect")
"""What one worker process runs (``frtwatch worker --stage``): both stages, or one."""
INGEST_READY = "frtwatch worker ready: ingest stage"


def install_ingest(
    app: faust.App, runtime: WorkerRuntime, topics: WorkerTopics, *, announce: bool = False
) -> None:
    """Register the ingest stage on ``app``; ``announce``: print :data:`INGEST_READY` once
    it runs (a process that runs this stage alone)."""
    settings = runtime.settings
    conf: Any = app.conf  # the same commit and group timing as the Faust consumer's
    ingest = Ingest(
        settings,
        topics,
        commit_interval_s=float(conf.broker_commit_interval),
        session_timeout_s=float(conf.broker_session_timeout),
        heartbeat_s=float(conf.broker_heartbeat_interval),
    )

    class IngestService(Service):
        """Runs the ingest stage from the app's start to its stop; at the stop
        (before Faust's producer stops) it sends what it holds and commits. If
        the stage fails, the worker stops with an error rather than go on
        judging nothing."""

        _task: asyncio.Future[None] | None = None

        async def on_start(self) -> None:
            self._task = asyncio.ensure_future(self._run())
            if announce:
                observability.now_ready()
                print(INGEST_READY, file=sys.stdout, flush=True)

        async def _run(self) -> None:
            try:
                await ingest.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("the ingest stage failed; stopping the worker")
                await app.crash(exc)

        async def on_stop(self) -> None:
            if self._task is not None:
                self._task.cancel()
                with suppress(asyncio.CancelledError):
                    await self._task

    app.service(IngestService)
    if announce:
        observability.install_beat(app)


def install_detect(
    app: faust.App,
    runtime: WorkerRuntime,
    topics: WorkerTopics,
    tables: WorkerTables,
    feed: CertificateFeed,
    exceptions: CompactedFeed | None = None,
    models: CompactedFeed | None = None,
) -> None:
    """Register the detection stage (the ``detect`` agent), the certificate, exceptions
    and models readers and the readiness line on ``app``."""
    settings = runtime.settings
    observability.publish_behavior(runtime.behavior)
    detection = Detection(runtime, topics, tables)
    feeds = [f for f in (feed, exceptions, models) if f is not None]
    if models is not None and isinstance(models.records, ModelRecords):
        models.records.judged_until = lambda: detection.judged_until
    observability.install(app, tables)
    # Up to batch_size records are taken (at live rates a record may hold one event),
    # and judged in batches of about batch_size events (a backlog's records hold many).
    size, within = settings.batch_size, settings.batch_within_s

    async def detect(agent_stream: StreamT) -> None:
        stream = cast(faust.Stream, agent_stream)
        for each in feeds:
            await each.loaded.wait()
        async for batch in stream.take_events(size, within=within):
            await asyncio.gather(*(each.catch_up() for each in feeds))
            consumer: Any = app.consumer
            fresh = await detection.in_order(consumer, batch)
            for judged in detection.batches(fresh.records, size):
                await deliver(judged.outgoing)
                observability.count_alerts(judged.result.alerts)
                await detection.store(judged)
            for event in batch:  # take_events acks them again later: a no-op
                await stream.ack(event)
            for tp, first, last in fresh.holes:  # done: let Faust's commits pass them
                await private.add_gap(consumer, tp, first, last)

    app.agent(topics.events_by_agency, name="frtwatch.detect")(detect)
    for each in feeds:
        app.task(each.run)

    stall_watch: StallWatch[Any] = StallWatch(checks=STALL_CHECKS)
    sources = (topics.events_by_agency.get_topic_name(),)

    async def rewind_stalled_partitions() -> None:
        """Re-read partitions whose commit is stuck behind records Faust lost (see
        :mod:`streams.worker.workarounds.stalled_commits`)."""
        if app.rebalancing:
            return
        consumer: Any = app.consumer  # Faust's private bookkeeping is read below
        try:
            stalled = stall_watch.observe(consumer_acks(consumer, sources))
            for tp in stalled:
                committed = private.committed_offsets(consumer).get(tp)
                log.warning(
                    "commit of %s:%s is stuck at offset %s behind records that were never "
                    "processed (end %s%s); reading the partition again from there",
                    tp.topic, tp.partition, committed, consumer.highwater(tp),
                    ", paused" if tp in private.paused_partitions(consumer) else "",
                )  # fmt: skip
                await consumer.seek(tp, committed)
        except Exception:
            log.exception("checking for stalled commits failed")

    app.timer(STALL_CHECK_S, name="frtwatch.rewind_stalled_partitions")(rewind_stalled_partitions)

    recovery_watch: RecoveryWatch[Any] = RecoveryWatch()

    async def restart_stalled_recoveries() -> None:
        """Start a table recovery again that no longer receives a changelog partition's
        records (see :mod:`streams.worker.workarounds.stalled_recovery`)."""
        try:
            tables: Any = app.tables  # TableManagerT does not declare its recovery service
            restart_stalled_recovery(tables.recovery, recovery_watch)
        except Exception:
            log.exception("checking the table recovery failed")

    app.timer(STALL_CHECK_S, name="frtwatch.restart_stalled_recoveries")(restart_stalled_recoveries)

    async def forget_partitions(sender: Any, partitions: Any = None, **kwargs: Any) -> None:
        """Revoked or newly assigned partitions are read from their committed offsets."""
        tps = set(partitions or ())
        detection.order.forget(tps)

    # mode types receivers with mypy_extensions.NamedArg, which no plain def matches.
    app.on_partitions_revoked.connect(forget_partitions)  # type: ignore[arg-type]
    app.on_partitions_assigned.connect(forget_partitions)  # type: ignore[arg-type]

    announcements: set[asyncio.Future[None]] = set()

    async def announce(sender: faust.App) -> None:
        for each in feeds:
            await each.loaded.wait()
        # Everything loaded so far (policy, model, certificates, Faust) lives as long as
        # the worker: keep it out of the collector's full passes, which otherwise pause
        # the event loop for longer the more was loaded (latency tail).
        gc.freeze()
        gc_pauses.now_serving()
        observability.now_ready()
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in sender.consumer.assignment())
        print(
            f"frtwatch worker ready: {len(assigned)} partition(s) assigned; "
            f"{feed.applied} certificate update(s) applied; "
            f"{len(runtime.engine.exceptions)} exception(s) known; "
            f"{len(runtime.models)} model version(s)",
            file=sys.stdout,
            flush=True,
        )

    async def announce_ready(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        # Recovery awaits this receiver before the app counts as started (and
        # before app tasks such as the certificate reader run): never block it.
        task = asyncio.ensure_future(announce(sender))
        announcements.add(task)
        task.add_done_callback(announcements.discard)

    # mode types receivers with mypy_extensions.NamedArg, which no plain def matches.
    app.on_rebalance_complete.connect(announce_ready)  # type: ignore[arg-type]
