"""Shared fixtures. Integration fixtures talk to the real broker that ``make test`` starts."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.settings import TopicNames

ROOT = Path(__file__).resolve().parent.parent
FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The broker's address. Fails (never skips) when no broker answers."""
    from streams.localbroker import wait_ready

    bootstrap = os.environ.get("FRTWATCH_BOOTSTRAP", "127.0.0.1:9092")
    wait_ready(bootstrap, timeout=30)
    return bootstrap


@pytest.fixture
def kafka_admin(kafka_bootstrap: str) -> Iterator[object]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    yield admin
    admin.close()


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix so tests never share topics or consumer groups."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def topic_names(unique_name: str) -> TopicNames:
    """Topic names no other test uses."""
    p = f"t{unique_name}"
    return TopicNames(
        events=f"{p}.frt.search-events",
        dlq=f"{p}.frt.search-events.dlq",
        certifications=f"{p}.frt.certifications",
        alerts=f"{p}.frt.alerts",
        webhook_dlq=f"{p}.frt.alerts.webhook-dlq",
        triage=f"{p}.frt.triage",
        exceptions=f"{p}.frt.exceptions",
        models=f"{p}.frt.models",
    )


@pytest.fixture
def create_topics(kafka_admin: object) -> Callable[..., None]:
    """Create topics (idempotent): ``create_topics(names, partitions=4, compact=False)``."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    def create(names: list[str], partitions: int = 4, compact: bool = False) -> None:
        configs = {"cleanup.policy": "compact"} if compact else {}
        topics = [NewTopic(n, num_partitions=partitions, replication_factor=1, topic_configs=configs)
                  for n in names]  # fmt: skip
        with contextlib.suppress(TopicAlreadyExistsError):
            kafka_admin.create_topics(topics)  # type: ignore[attr-defined]

    return create
