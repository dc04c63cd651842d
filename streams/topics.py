"""The worker's Kafka topics, all with raw bytes for keys and values.

Every topic is declared with ``key_serializer``/``value_serializer`` ``raw``:
Faust acknowledges a message whose value fails to decode *before* any handler
runs, so decoding is ours (:mod:`streams.ingest`), never Faust's.

``events_by_agency`` is the worker's own repartition topic,
``<app_id>-events-by-agency``: valid events re-keyed by agency, so one
partition holds every event of an agency (its users and their peers).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import faust

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

    async def declare_outputs(self) -> None:
        """Create the topics the worker writes to, if they do not exist yet.

        Faust only creates *internal* topics by itself; without this, the
        first dead letter or alert would make the broker auto-create its
        topic with the broker's default partition count (or fail where
        auto-creation is off). An existing topic is never changed.
        """
        for topic in (self.dlq, self.alerts, self.certifications):
            while True:
                try:
                    await topic.maybe_declare()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker not reachable yet: wait, never crash
                    log.warning("cannot create topic %s yet: %r", topic.get_topic_name(), exc)
                    await asyncio.sleep(2.0)


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
        # internal=True only means "Faust creates it with our partition count
        # if missing": shippers may start after the worker.
        events=topic(names.events, internal=True),
        dlq=topic(names.dlq),
        events_by_agency=topic(by_agency_topic_name(settings), internal=True),
        alerts=topic(names.alerts),
        certifications=topic(names.certifications, compacting=True),
    )
