"""The compacted models topic (``frt.models``) from the command line, the trainer and replay.

Records are :mod:`models.version_record`'s. Writing creates the topic when it is
missing, compacted and taking records of up to
:data:`~streams.retention.MODEL_RECORD_MAX_BYTES` (a version is a few MiB; Kafka's
default largest record is 1 MiB). Reading takes every record up to the end offsets
at the start, with no consumer group (the worker follows the topic with
:class:`~streams.worker.model_feed.ModelRecords` instead).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from models.version_record import decode, header
from models.versions import ModelTimeline
from streams.contract.event import parse_timestamp
from streams.errors import BrokerError, ContractError, ModelError
from streams.kafka_client import kafka_python_kwargs
from streams.replay.compacted_topic import read_compacted_topic
from streams.retention import MODEL_RECORD_MAX_BYTES

if TYPE_CHECKING:
    from models.features import LocalHours
    from models.schedule import Published
    from streams.settings import Settings

log = logging.getLogger(__name__)


def ensure_models_topic(settings: Settings) -> None:
    """Create the models topic (compacted, large records) unless it exists."""
    name = settings.topics.models
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap.split(","),
            **kafka_python_kwargs(settings.kafka),
            client_id=f"{settings.app_id}-models-admin",
            request_timeout_ms=15_000,
        )
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {settings.bootstrap}") from None
    try:
        if name in set(admin.list_topics()):
            return
        from streams.retention import topic_configs

        topic = NewTopic(name, 1, settings.replication_factor,
                         topic_configs=topic_configs(settings)[name])  # fmt: skip
        try:
            admin.create_topics([topic])
            log.info("created the models topic %s", name)
        except TopicAlreadyExistsError:
            pass
    except KafkaError as exc:
        raise BrokerError(f"cannot create the models topic {name!r}: {exc}") from None
    finally:
        admin.close()


def publish_record(settings: Settings, key: bytes, value: bytes | None) -> None:
    """Send one record to the models topic and wait until the broker has it."""
    ensure_models_topic(settings)
    try:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap.split(","),
            **kafka_python_kwargs(settings.kafka),
            client_id=f"{settings.app_id}-models-publish",
            acks="all",
            max_request_size=MODEL_RECORD_MAX_BYTES,
            max_block_ms=15_000,
        )
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {settings.bootstrap}") from None
    try:
        producer.send(settings.topics.models, key=key, value=value).get(timeout=60)
    except KafkaError as exc:
        raise BrokerError(f"publishing to {settings.topics.models!r} failed: {exc}") from None
    finally:
        producer.close(timeout=10)


@dataclass(slots=True)
class TopicVersions:
    """The models topic as read: the latest value of each version, in key order."""

    values: dict[str, bytes] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    """Versions whose record was refused, with the reason (filled by :meth:`timeline`)."""
    found: bool = True
    """Whether the topic exists."""

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            log.warning("a record of the models topic has no key: skipped")
            return
        name = key.decode("utf-8", "replace")
        if value is None:
            self.values.pop(name, None)
        else:
            self.values[name] = value

    def headers(self) -> list[dict[str, Any]]:
        """Each version's record without its artifact (unreadable ones left out)."""
        out = []
        for name, value in sorted(self.values.items()):
            try:
                out.append(header(value))
            except ModelError as exc:
                log.warning("models topic: version %s is unreadable: %s", name, exc)
        return out

    def published(self) -> list[Published]:
        """The versions as :func:`models.schedule.next_step` sees them."""
        from models.schedule import Published

        out = []
        for record in self.headers():
            try:
                applies_from = parse_timestamp(str(record.get("applies_from")))
            except ContractError:
                continue
            cutoff_text = record.get("card", {}).get("training", {}).get("cutoff")
            try:
                cutoff = parse_timestamp(cutoff_text) if cutoff_text else None
            except ContractError:
                cutoff = None
            out.append(Published(str(record.get("version")), str(record.get("role")),
                                 applies_from, cutoff))  # fmt: skip
        return out

    def timeline(
        self, hours: LocalHours | None, base: ModelTimeline | None = None
    ) -> ModelTimeline:
        """Every version that passes the checks, on top of ``base`` (a model file's)."""
        timeline = base if base is not None else ModelTimeline()
        for name, value in sorted(self.values.items()):
            try:
                timeline.put(decode(name.encode("utf-8"), value, hours))
            except ModelError as exc:
                self.refused[name] = str(exc)
                log.error("models topic: version %s refused: %s", name, exc)
        return timeline


def read_versions(
    settings: Settings, *, client_id: str = "frtwatch-models", timeout_s: float = 120.0
) -> TopicVersions:
    """Every record of the settings' models topic now (an absent topic holds none)."""
    return read_topic_versions(settings.bootstrap, settings.topics.models,
                               client_id=client_id, timeout_s=timeout_s)  # fmt: skip


def read_topic_versions(
    bootstrap: str, topic: str, *, client_id: str = "frtwatch-models", timeout_s: float = 120.0
) -> TopicVersions:
    """Every record of ``topic`` now (an absent topic holds none)."""
    versions = TopicVersions()
    apply: Callable[[bytes | None, bytes | None], object] = versions.apply
    found, _ = read_compacted_topic(apply, bootstrap, topic, client_id=client_id,
                                    timeout_s=timeout_s, what="models topic")  # fmt: skip
    versions.found = found
    return versions
