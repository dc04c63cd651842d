"""The worker's Kafka topics, all with raw bytes for keys and values.

Every topic is declared with ``key_serializer``/``value_serializer`` ``raw``:
Faust acknowledges a message whose value fails to decode *before* any handler
runs, so decoding is ours (:mod:`streams.worker.ingest.triage`), never Faust's.

``events_by_agency`` is the worker's own repartition topic,
``<app_id>-events-by-agency``: valid events re-keyed by agency, so one
partition holds every event of an agency (its users and their peers).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import faust
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka_admin import create_missing, wait_for_leaders
from streams.kafka_client import aiokafka_kwargs
from streams.retention import topic_configs
from streams.settings import Settings

RAW = "raw"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerTopics:
    """The topics one worker reads and writes."""

    events: faust.TopicT
    dlq: faust.TopicT
    events_by_agency: faust.TopicT
    alerts: faust.TopicT
    certifications: faust.TopicT


async def ensure_topics(settings: Settings, *, retry_s: float = 2.0) -> None:
    """Create the worker's own topics where missing and wait until the broker serves them.

    Run before the worker's consumers subscribe: a topic subscribed to before
    the broker's metadata lists it is left out of the group's assignment until
    the next metadata refresh (minutes), and an output topic missing at the
    first alert would be auto-created with the broker's defaults (or not at
    all). An existing topic is never changed. Waits for the broker, never
    crashes over it.
    """
    names = settings.topics
    count, replicas = settings.partitions, settings.replication_factor
    configs = topic_configs(settings)  # retention: streams/retention.py
    wanted = [
        NewTopic(name, count, replicas, topic_configs=configs[name])
        for name in (names.events, names.dlq, by_agency_topic_name(settings), names.alerts,
                     names.certifications, names.exceptions, names.models)
    ]  # fmt: skip
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap,
            **aiokafka_kwargs(settings.kafka),
            client_id=f"{settings.app_id}-topics",
        )
        try:
            await admin.start()
            await create_missing(admin, wanted, log)
            await wait_for_leaders(admin, [t.name for t in wanted])
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker not reachable yet: wait
            log.warning("cannot check the worker's topics yet: %r", exc)
            await asyncio.sleep(retry_s)
        finally:
            await admin.close()


def by_agency_topic_name(settings: Settings) -> str:
    """Name of the internal repartition topic for an app id."""
    return f"{settings.app_id}-events-by-agency"


def declare_topics(app: faust.App, settings: Settings) -> WorkerTopics:
    """Define the worker's topics on ``app`` (no broker I/O happens here)."""
    names = settings.topics
    partitions = settings.partitions
    replicas = settings.replication_factor

    def topic(name: str, *, internal: bool = False, compacting: bool | None = None) -> faust.TopicT:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer=RAW,
            value_serializer=RAW,
            partitions=partitions,
            replicas=replicas,
            internal=internal,
            compacting=compacting,
        )

    return WorkerTopics(
        # ensure_topics creates every topic; internal=True is kept on the one the
        # Faust agent reads, so Faust's own declare would use our partition count.
        events=topic(names.events),
        dlq=topic(names.dlq),
        events_by_agency=topic(by_agency_topic_name(settings), internal=True),
        alerts=topic(names.alerts),
        certifications=topic(names.certifications, compacting=True),
    )
