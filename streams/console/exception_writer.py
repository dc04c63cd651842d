"""Exceptions made in the console, written to the compacted exceptions topic.

The console writes; the worker follows the topic and ``frtwatch replay`` reads it
(:mod:`streams.exceptions.records`). Only leads and admins may write (:mod:`.api`).
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from streams.exceptions import ExceptionRecord
from streams.kafka_client import aiokafka_kwargs

EXCEPTION_ROLES = frozenset({"lead", "admin"})
"""The roles that may make exceptions."""

SUBJECT_FIELDS = {
    "prohibited_endpoint": "host",
    "unknown_endpoint": "host",
    "outside_agency": "requesting_agency",
}
"""Where an alert's ``details`` name its subject, per detector (others have none)."""


def alert_subject(detector: str, details: dict[str, Any]) -> str | None:
    """The subject of an alert (None: the detector's alerts have no subject)."""
    name = SUBJECT_FIELDS.get(detector)
    if name is None:
        return None
    value = details.get(name)
    return value if isinstance(value, str) and value else None


class ExceptionWriter:
    """One idempotent producer for the exceptions topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            **aiokafka_kwargs(),
            client_id="frtwatch-console-exceptions",
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=15_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, record: ExceptionRecord) -> None:
        """Write ``record`` (key: its id) and wait until the broker has it."""
        if self._producer is None:
            raise RuntimeError("the exceptions writer is not started")
        await self._producer.send_and_wait(
            self.topic, key=record.id.encode("utf-8"), value=record.to_json()
        )
